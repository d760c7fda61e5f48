#include "filesystem.h"

#include <sys/statvfs.h>

#include "statewatch/collectors/collector.h"

namespace statewatch::collectors::internal {

void AppendFilesystemSamples(const std::string& path, const rules::Labels& labels,
                             int64_t now_millis, std::vector<rules::Sample>* out) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return;
  rules::Labels with_path = labels;
  with_path.emplace_back("path", path);
  const double block = static_cast<double>(fs.f_frsize);
  out->push_back(MakeSample("statewatch_filesystem_avail_bytes", with_path, now_millis,
                            static_cast<double>(fs.f_bavail) * block));
  out->push_back(MakeSample("statewatch_filesystem_size_bytes", with_path, now_millis,
                            static_cast<double>(fs.f_blocks) * block));
}

}  // namespace statewatch::collectors::internal
