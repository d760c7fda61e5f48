#include "durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace statewatch::internal {

std::string ErrnoMessage(const std::string& what, const std::string& path) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on the + chain.
  std::string out = what;
  out.append(" ").append(path).append(": ").append(std::strerror(errno));
  return out;
}

Status SyncParentDirectory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(1, '.') : parent.string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(ErrnoMessage("cannot open directory", dir));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError(ErrnoMessage("cannot sync directory", dir));
  return Status::OK();
}

Status RenameDurably(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return Status::IOError(ErrnoMessage("cannot rename " + from + " to", to));
  }
  return SyncParentDirectory(to);
}

Status WriteFileDurably(const std::string& path, std::string_view contents) {
  const std::string temp = path + ".inprogress";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(ErrnoMessage("cannot create", temp));
  Status status;
  std::string_view rest = contents;
  while (!rest.empty() && status.ok()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = Status::IOError(ErrnoMessage("cannot write", temp));
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (status.ok() && ::fsync(fd) != 0) status = Status::IOError(ErrnoMessage("cannot sync", temp));
  if (::close(fd) != 0 && status.ok()) status = Status::IOError(ErrnoMessage("cannot close", temp));
  if (status.ok()) status = RenameDurably(temp, path);
  if (!status.ok()) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
  }
  return status;
}

}  // namespace statewatch::internal
