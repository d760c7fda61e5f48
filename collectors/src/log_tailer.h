// LogTailer: follows a log file another process appends to, handing out each complete line
// once, across rotation and truncation.
//
// - Incremental: remembers the offset of the first byte not yet handed out; a partial last
//   line waits until its newline arrives.
// - Rotation: when the path's (device, inode) changes, the old file — still open — is read to
//   its end first (no lines lost between the last read and the rename), then the new file is
//   read from its start.
// - Truncation: a file shorter than the offset is read again from its start.
// - History: Start() marks what the file already holds; those lines are handed out with
//   history=true (bounded to the last kHistoryBytes, so a huge old LOG is not read whole).
//   Lines of files that appear later are all new.
//
// Thread-safety: one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace statewatch::collectors::internal {

class LogTailer {
 public:
  // How much of the history Start() finds is read (enough for the last statistics dumps).
  static constexpr uint64_t kHistoryBytes = 4u << 20;
  // A "line" longer than this without a newline is dropped: the file is not a text log.
  static constexpr size_t kMaxLineBytes = 1u << 20;

  using LineFn = std::function<void(std::string_view line, bool history)>;

  explicit LogTailer(std::string path);
  ~LogTailer();
  LogTailer(const LogTailer&) = delete;
  LogTailer& operator=(const LogTailer&) = delete;

  const std::string& path() const { return path_; }

  // Marks the file's current content (if it exists) as history. Call once, before Read.
  void Start();
  // Hands every new complete line to `fn`. False when the file does not exist (after handing
  // out what the last open file still had).
  bool Read(const LineFn& fn);

 private:
  // Reads from fd_ at offset_ to its end; `flush_partial` hands out a last unterminated line.
  void Drain(const LineFn& fn, bool flush_partial);
  void Close();

  std::string path_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  uint64_t offset_ = 0;           // next byte of fd_ to read
  std::string partial_;           // bytes after the last newline read, waiting for theirs
  bool skip_to_newline_ = false;  // started mid-file: drop the first, partial, line

  // History marked by Start(): bytes [0, history_end_) of the file (history_dev_, history_ino_).
  bool have_history_ = false;
  dev_t history_dev_ = 0;
  ino_t history_ino_ = 0;
  uint64_t history_end_ = 0;
};

}  // namespace statewatch::collectors::internal
