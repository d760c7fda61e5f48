// FilesystemCollector ("filesystem"): the disk under a directory, for the DiskWillFillUp
// forecast where no other source watches it — statewatchd's own storage in the default config,
// a Flink TaskManager's RocksDB local directory, a checkpoint volume. The rocksdb_dir,
// checkpoint_dir and engine sources report the same series for their own directories.
//
// Samples (labels job, source, path):
//   statewatch_filesystem_avail_bytes   what an unprivileged writer may still use (statvfs
//                                       f_bavail; root's reserved blocks are not counted)
//   statewatch_filesystem_size_bytes    the filesystem's size
// As node_exporter's node_filesystem_avail_bytes / _size_bytes, for one directory.
//
// A missing directory is NotFound naming it; the next Collect tries again.
//
// Thread-safety: one Collect at a time (collector.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "statewatch/collectors/collector.h"

namespace statewatch::collectors {

class CollectorRegistry;

class FilesystemCollector final : public Collector {
 public:
  FilesystemCollector(std::string job, std::string source, std::string path);

  std::string_view name() const override { return "filesystem"; }
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

 private:
  const std::string job_;
  const std::string source_;
  const std::string path_;
};

// Registers type "filesystem": option path (required).
Status RegisterFilesystemCollector(CollectorRegistry& registry);

}  // namespace statewatch::collectors
