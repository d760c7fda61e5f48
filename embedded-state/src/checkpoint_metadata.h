// Internal: the checkpoint `_metadata` codec of checkpoint.cc (layout in checkpoint.h), exposed
// so the bytes can be decoded without a checkpoint directory (tests/fuzz/checkpoint_metadata_fuzz).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "statewatch/state/checkpoint.h"
#include "statewatch/state/status.h"

namespace statewatch::internal {

// The `_metadata` bytes of `m` (current version, trailing CRC-32C). `m.directory` is not stored.
std::string EncodeCheckpointMetadata(const CheckpointMetadata& m);

// Decodes `_metadata` bytes; `path` names the file in messages. Corruption "checkpoint metadata
// PATH: why" for a bad magic, checksum, header, state record or file entry, or trailing bytes;
// NotSupported for a version this build does not read. `directory` is left empty.
Result<CheckpointMetadata> DecodeCheckpointMetadata(const std::string& path,
                                                    std::string_view bytes);

}  // namespace statewatch::internal
