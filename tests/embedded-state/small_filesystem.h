// A small tmpfs mounted on a fresh directory for the length of a test, to fill a disk for real
// (ENOSPC from the kernel, not a mock). Mounting needs root and CAP_SYS_ADMIN; where that is not
// allowed, mounted() is false and error() says why, so the test can skip saying so.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace statewatch::testing {

class SmallFilesystem {
 public:
  SmallFilesystem(const std::string& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  // Grows or shrinks the filesystem in place (what is stored stays).
  bool Resize(const std::string& size) {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  const std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace statewatch::testing
