// Internal: constructors of the concrete backends, called by NewKeyedStateBackend.
#pragma once

#include <memory>

#include "statewatch/state/keyed_state_backend.h"

namespace statewatch::internal {

// REQUIRES: options validated by NewKeyedStateBackend (clock set, range set and valid).
Result<std::unique_ptr<KeyedStateBackend>> NewHeapKeyedStateBackend(const BackendOptions& options);
Result<std::unique_ptr<KeyedStateBackend>> NewRocksDbKeyedStateBackend(
    const BackendOptions& options);

}  // namespace statewatch::internal
