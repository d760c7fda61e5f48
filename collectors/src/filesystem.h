// The filesystem a watched directory lives on, as node_exporter reports it
// (node_filesystem_avail_bytes / _size_bytes), so a rule can forecast when the disk fills.
//
// Thread-safety: pure function (one statvfs call).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "statewatch/rules/sample.h"

namespace statewatch::collectors::internal {

// Appends, with `labels` plus path=`path`:
//   statewatch_filesystem_avail_bytes   bytes an unprivileged writer may still use (f_bavail)
//   statewatch_filesystem_size_bytes    the filesystem's size
// Nothing when statvfs fails (the directory is missing: the collector reports that itself).
void AppendFilesystemSamples(const std::string& path, const rules::Labels& labels,
                             int64_t now_millis, std::vector<rules::Sample>* out);

}  // namespace statewatch::collectors::internal
