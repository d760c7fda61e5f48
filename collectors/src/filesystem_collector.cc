#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "filesystem.h"
#include "statewatch/collectors/collector_options.h"
#include "statewatch/collectors/filesystem.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {

FilesystemCollector::FilesystemCollector(std::string job, std::string source, std::string path)
    : job_(std::move(job)), source_(std::move(source)), path_(std::move(path)) {}

Status FilesystemCollector::Collect(int64_t now_millis, std::vector<rules::Sample>* out) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    const std::string why = std::strerror(errno);
    if (errno == ENOENT) return Status::NotFound(path_ + ": " + why);
    return Status::IOError(path_ + ": " + why);
  }
  const size_t before = out->size();
  internal::AppendFilesystemSamples(path_, {{"job", job_}, {"source", source_}}, now_millis, out);
  if (out->size() == before) return Status::IOError(path_ + ": statvfs failed");
  return Status::OK();
}

namespace {

Result<std::unique_ptr<Collector>> NewFilesystemCollector(const CollectorParams& params) {
  OptionReader reader(params.source, "filesystem", params.options);
  Result<std::string> path = reader.Required("path");
  if (!path.ok()) return path.status();
  SW_RETURN_IF_ERROR(reader.Finish());
  return std::unique_ptr<Collector>(
      std::make_unique<FilesystemCollector>(params.job, params.source, *path));
}

}  // namespace

Status RegisterFilesystemCollector(CollectorRegistry& registry) {
  return registry.Register("filesystem",
                           "free and total space of the filesystem holding a directory "
                           "(option: path)",
                           NewFilesystemCollector);
}

}  // namespace statewatch::collectors
