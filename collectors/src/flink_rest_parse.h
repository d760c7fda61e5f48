// Internal: FlinkRestCollector's work with the HTTP left out — the requests it makes, answered
// by a function, and the JSON → samples step — so the parsing can be fed answers directly
// (tests/fuzz/flink_rest_fuzz.cc). flink_rest.cc answers with BoundedGet.
//
// Thread-safety: a pure function of what `get` answers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bounded_get.h"
#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::collectors::internal {

// Answers GET `url` (any HTTP status is an answer), or the error of a request that got none
// (as BoundedGet: Unavailable, ResourceExhausted).
using FlinkRestGet = std::function<Result<HttpResponse>(const std::string& url)>;

// One collection of the REST API at `url` (the base; trailing slashes dropped before the paths
// of flink_rest.h are appended), with the labels job and source: the samples are appended to
// *out only when every request and field was good. Errors as FlinkRestCollector::Collect
// (flink_rest.h), each naming the URL; JSON of an unexpected shape is InvalidArgument. Never
// throws.
Status CollectFlinkRest(const FlinkRestGet& get, const std::string& url, const std::string& job,
                        const std::string& source, int64_t now_millis,
                        std::vector<rules::Sample>* out);

}  // namespace statewatch::collectors::internal
