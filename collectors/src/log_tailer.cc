#include "log_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace statewatch::collectors::internal {

LogTailer::LogTailer(std::string path) : path_(std::move(path)) {}

LogTailer::~LogTailer() {
  Close();
}

void LogTailer::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  partial_.clear();
  skip_to_newline_ = false;
}

void LogTailer::Start() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;
  have_history_ = true;
  history_dev_ = st.st_dev;
  history_ino_ = st.st_ino;
  history_end_ = static_cast<uint64_t>(st.st_size);
}

bool LogTailer::Read(const LineFn& fn) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (fd_ >= 0) {  // removed: what was written before still counts
      Drain(fn, /*flush_partial=*/true);
      Close();
    }
    return false;
  }
  if (fd_ >= 0 && (st.st_dev != dev_ || st.st_ino != ino_)) {  // rotated
    Drain(fn, /*flush_partial=*/true);
    Close();
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return false;
    // Identity from the descriptor, not the earlier stat: the path may have moved in between.
    if (::fstat(fd_, &st) != 0) {
      Close();
      return false;
    }
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    offset_ = 0;
    if (have_history_ && dev_ == history_dev_ && ino_ == history_ino_ &&
        history_end_ > kHistoryBytes) {
      offset_ = history_end_ - kHistoryBytes;
      char before = '\n';
      skip_to_newline_ =
          ::pread(fd_, &before, 1, static_cast<off_t>(offset_ - 1)) == 1 && before != '\n';
    }
  } else if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < offset_) {
    // Truncated in place: everything in it now is new, and the history marker is meaningless.
    offset_ = 0;
    partial_.clear();
    skip_to_newline_ = false;
    have_history_ = false;
  }
  Drain(fn, /*flush_partial=*/false);
  return true;
}

void LogTailer::Drain(const LineFn& fn, bool flush_partial) {
  const bool history_file = have_history_ && dev_ == history_dev_ && ino_ == history_ino_;
  char buf[64 << 10];
  while (true) {
    const ssize_t n = ::pread(fd_, buf, sizeof(buf), static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const std::string_view chunk(buf, static_cast<size_t>(n));
    size_t start = 0;
    while (start < chunk.size()) {
      const size_t nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) {
        partial_.append(chunk.substr(start));
        if (partial_.size() > kMaxLineBytes) {  // not a text log line: drop it
          partial_.clear();
          skip_to_newline_ = true;
        }
        break;
      }
      const uint64_t line_end = offset_ + nl + 1;
      const bool history = history_file && line_end <= history_end_;
      if (skip_to_newline_) {
        skip_to_newline_ = false;
      } else if (partial_.empty()) {
        fn(chunk.substr(start, nl - start), history);
      } else {
        partial_.append(chunk.substr(start, nl - start));
        fn(partial_, history);
      }
      partial_.clear();
      start = nl + 1;
    }
    offset_ += static_cast<uint64_t>(n);
  }
  if (flush_partial && !partial_.empty() && !skip_to_newline_) {
    fn(partial_, history_file && offset_ <= history_end_);
  }
  if (flush_partial) partial_.clear();
}

}  // namespace statewatch::collectors::internal
