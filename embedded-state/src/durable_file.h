// Internal: file writes that survive a crash whole or not at all (temp name, fsync, rename,
// directory fsync), shared by snapshots and checkpoint metadata.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "statewatch/state/status.h"

namespace statewatch::internal {

// "what path: strerror(errno)".
std::string ErrnoMessage(const std::string& what, const std::string& path);

// fsyncs the directory holding `path`, so a rename or create in it is durable.
Status SyncParentDirectory(const std::string& path);

// Renames `from` over `to` and fsyncs the directory: the step that makes a finished temporary
// file the real one. IOError naming both.
Status RenameDurably(const std::string& from, const std::string& to);

// Writes `contents` to `path`.inprogress, fsyncs it, renames it over `path` and fsyncs the
// directory. IOError naming the file; the temporary file is removed on error.
Status WriteFileDurably(const std::string& path, std::string_view contents);

// Files written here are created 0640 and directories made by CreatePrivateDirectory 0750
// (less with a stricter umask): checkpoints hold the job's data, which is nobody else's business.
// The hard links of a RocksDB checkpoint keep RocksDB's modes, but live in such a directory.

// Creates the directory `dir` with mode 0750: true when it made it, false when it existed
// (as std::filesystem::create_directory; `ec` set on any other error).
bool CreatePrivateDirectory(const std::string& dir, std::error_code& ec);

// Copies `from` to `to` the same way (`to`.inprogress, fsync, rename, directory fsync),
// returning the bytes copied and their CRC-32C in one pass. IOError naming the file.
Status CopyFileDurably(const std::string& from, const std::string& to, uint64_t* size,
                       uint32_t* crc32c);

}  // namespace statewatch::internal
