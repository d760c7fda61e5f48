// Labels as text in Prometheus notation — `{cf="orders",job="cdc"}` — the key under which a
// series is stored, exported and replayed. Sorted by name, values escaped (\\, \", \n).
#pragma once

#include <string>
#include <string_view>

#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::storage {

// "{}" for no labels. Sorts a copy of `labels` first, so equal label sets give equal text.
std::string LabelsToText(rules::Labels labels);
// Appends LabelsToText(labels) to *out; copies `labels` only when they are not sorted already
// (the hot path of SampleStore::Append, once per sample).
void AppendLabelsText(const rules::Labels& labels, std::string* out);
// The inverse; InvalidArgument naming the offset of the first malformed character.
Result<rules::Labels> LabelsFromText(std::string_view text);

}  // namespace statewatch::storage
