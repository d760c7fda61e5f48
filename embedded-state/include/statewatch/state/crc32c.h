// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected), the checksum of statewatch's snapshot
// and checkpoint files — the one RocksDB and iSCSI use, so a file's checksum can be checked with
// common tools. SSE 4.2's CRC32 instruction where the CPU has it (checked at run time), else a
// table, byte by byte.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace statewatch {

// CRC-32C of `data`, continuing from `crc` (the CRC of the bytes before; 0 to start).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

namespace internal {
// The table version, whatever the CPU: for testing that both agree.
uint32_t Crc32cPortable(std::string_view data, uint32_t crc = 0);
}  // namespace internal

}  // namespace statewatch
