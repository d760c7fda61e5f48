// The "hashmap" backend: keyed state as objects in per-key-group hash maps (heap_state.h).
#include <memory>

#include "backends.h"

namespace statewatch::internal {
namespace {

// Everything lives in the typed heap states; the backend only names itself.
class HeapKeyedStateBackend final : public KeyedStateBackend {
 public:
  explicit HeapKeyedStateBackend(const BackendOptions& options)
      : KeyedStateBackend(options, /*raw_store=*/nullptr) {}
  std::string_view backend_name() const override { return "hashmap"; }
};

}  // namespace

Result<std::unique_ptr<KeyedStateBackend>> NewHeapKeyedStateBackend(const BackendOptions& options) {
  return std::unique_ptr<KeyedStateBackend>(std::make_unique<HeapKeyedStateBackend>(options));
}

}  // namespace statewatch::internal
