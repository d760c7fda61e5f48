#include "durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "statewatch/state/crc32c.h"

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

namespace {

// Writes all of `data` to `fd`; IOError naming `path`.
Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError(ErrnoMessage("cannot write", path));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

// Creates `path`.inprogress, lets `fill` write it, fsyncs, closes and renames it over `path`;
// removes the temporary file on any error.
template <typename Fill>
Status WriteViaTemporary(const std::string& path, Fill&& fill) {
  const std::string temp = path + ".inprogress";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Status::IOError(ErrnoMessage("cannot create", temp));
  Status status = fill(fd, temp);
  if (status.ok() && ::fsync(fd) != 0) status = Status::IOError(ErrnoMessage("cannot sync", temp));
  if (::close(fd) != 0 && status.ok()) status = Status::IOError(ErrnoMessage("cannot close", temp));
  if (status.ok()) status = RenameDurably(temp, path);
  if (!status.ok()) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
  }
  return status;
}

}  // namespace

Status WriteFileDurably(const std::string& path, std::string_view contents) {
  return WriteViaTemporary(
      path, [&](int fd, const std::string& temp) { return WriteAll(fd, contents, temp); });
}

bool CreatePrivateDirectory(const std::string& dir, std::error_code& ec) {
  ec.clear();
  if (::mkdir(dir.c_str(), 0750) == 0) return true;
  const int err = errno;
  std::error_code exists;
  if (err == EEXIST && std::filesystem::is_directory(dir, exists)) return false;
  ec = std::error_code(err, std::generic_category());
  return false;
}

Status CopyFileDurably(const std::string& from, const std::string& to, uint64_t* size,
                       uint32_t* crc32c) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::IOError(ErrnoMessage("cannot open", from));
  *size = 0;
  *crc32c = 0;
  Status status = WriteViaTemporary(to, [&](int out, const std::string& temp) {
    std::string buf(1 << 20, '\0');
    for (;;) {
      const ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IOError(ErrnoMessage("cannot read", from));
      if (n == 0) return Status::OK();
      const std::string_view chunk(buf.data(), static_cast<size_t>(n));
      *crc32c = Crc32c(chunk, *crc32c);
      *size += chunk.size();
      SW_RETURN_IF_ERROR(WriteAll(out, chunk, temp));
    }
  });
  ::close(in);
  return status;
}

}  // namespace statewatch::internal
