// Operator and broadcast state: the backend's registration and restore logic, the snapshot
// encoding, and redistribution on rescale. The typed heap states live in the header.
#include "statewatch/state/operator_state.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statewatch {
namespace {

constexpr std::string_view kMagic = "SWOP";
constexpr uint8_t kFormatVersion = 1;

bool IsKnownMode(OperatorStateMode mode) {
  return mode == OperatorStateMode::kSplitDistribute || mode == OperatorStateMode::kUnion ||
         mode == OperatorStateMode::kBroadcast;
}

// "split-distribute list<i64>" / "broadcast map<str, i64>": the parts a registration is compared
// by, so that a conflict message names both sides completely.
std::string Describe(OperatorStateMode mode, std::string_view value_serializer,
                     std::string_view key_serializer) {
  std::string out = OperatorStateModeName(mode);
  if (mode == OperatorStateMode::kBroadcast) {
    out += " map<";
    out += key_serializer;
    out += ", ";
  } else {
    out += " list<";
  }
  out += value_serializer;
  out += ">";
  return out;
}
std::string Describe(const internal::OperatorStateImpl& impl) {
  return Describe(impl.mode(), impl.value_serializer(), impl.key_serializer());
}
std::string Describe(const NamedOperatorState& state) {
  return Describe(state.mode, state.value_serializer, state.key_serializer);
}

bool SameShape(const NamedOperatorState& a, OperatorStateMode mode,
               std::string_view value_serializer, std::string_view key_serializer) {
  return a.mode == mode && a.value_serializer == value_serializer &&
         a.key_serializer == key_serializer;
}

// Checks the invariants documented on OperatorStateSnapshot. Snapshots come from storage (or from
// another process), so a violation is Corruption, prefixed with `context`.
Status ValidateSnapshot(const OperatorStateSnapshot& snapshot, std::string_view context) {
  auto fail = [&](const std::string& what) {
    return Status::Corruption(std::string(context) + ": " + what);
  };
  for (size_t i = 0; i < snapshot.states.size(); ++i) {
    const NamedOperatorState& s = snapshot.states[i];
    const std::string label = "operator state '" + s.name + "'";
    if (s.name.empty()) return fail("operator state #" + std::to_string(i) + " has no name");
    if (i > 0 && !(snapshot.states[i - 1].name < s.name)) {
      return fail(label + " is duplicated or out of name order");
    }
    if (!IsKnownMode(s.mode)) return fail(label + " has " + OperatorStateModeName(s.mode));
    if (s.value_serializer.empty()) return fail(label + " has no value serializer id");
    if (s.mode == OperatorStateMode::kBroadcast) {
      if (s.key_serializer.empty()) return fail(label + " (broadcast) has no key serializer id");
      if (!s.elements.empty()) return fail(label + " (broadcast) has list elements");
      for (size_t j = 1; j < s.entries.size(); ++j) {
        if (!(s.entries[j - 1].first < s.entries[j].first)) {
          return fail(label + ": entry " + std::to_string(j) +
                      " is not in strictly increasing key-byte order");
        }
      }
    } else {
      if (!s.key_serializer.empty()) return fail(label + " (list) has a key serializer id");
      if (!s.entries.empty()) return fail(label + " (list) has map entries");
    }
  }
  return Status::OK();
}

// --- Encoding ---

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutLengthPrefixed(std::string* out, std::string_view bytes) {
  PutVarint64(out, bytes.size());
  out->append(bytes);
}

// Reads the encoding front to back and knows its offset, so every error can say where it is.
class Decoder {
 public:
  explicit Decoder(std::string_view input) : input_(input), rest_(input) {}

  size_t offset() const { return input_.size() - rest_.size(); }
  size_t remaining() const { return rest_.size(); }

  bool ReadByte(uint8_t* out) {
    if (rest_.empty()) return false;
    *out = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return true;
  }
  // LEB128, at most 10 bytes; false on truncation or a value beyond 64 bits.
  bool ReadVarint64(uint64_t* out) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      uint8_t byte = 0;
      if (!ReadByte(&byte)) return false;
      if (shift == 63 && byte > 1) return false;
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *out = result;
        return true;
      }
    }
    return false;
  }
  bool ReadLengthPrefixed(std::string_view* out) {
    uint64_t size = 0;
    if (!ReadVarint64(&size) || size > rest_.size()) return false;
    *out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }
  // A count of items that each take at least one byte: anything larger than what is left is
  // corrupt, which also bounds what the caller allocates for them.
  bool ReadCount(uint64_t* out) { return ReadVarint64(out) && *out <= rest_.size(); }

  static Status Error(size_t at, const std::string& what) {
    return Status::Corruption("operator state snapshot: " + what + " at byte " +
                              std::to_string(at));
  }

 private:
  std::string_view input_;
  std::string_view rest_;
};

Status DecodeState(Decoder* in, size_t index, const std::string* previous_name,
                   NamedOperatorState* out) {
  size_t at = in->offset();
  std::string_view bytes;
  if (!in->ReadLengthPrefixed(&bytes)) {
    return Decoder::Error(at, "truncated name of state #" + std::to_string(index));
  }
  if (bytes.empty()) return Decoder::Error(at, "empty name of state #" + std::to_string(index));
  out->name.assign(bytes);
  const std::string label = "state '" + out->name + "'";
  if (previous_name != nullptr && !(*previous_name < out->name)) {
    return Decoder::Error(at, label + " duplicated or out of name order");
  }

  at = in->offset();
  uint8_t mode = 0;
  if (!in->ReadByte(&mode)) return Decoder::Error(at, "truncated mode of " + label);
  out->mode = static_cast<OperatorStateMode>(mode);
  if (!IsKnownMode(out->mode)) {
    return Decoder::Error(at, "unknown mode " + std::to_string(mode) + " of " + label);
  }

  at = in->offset();
  if (!in->ReadLengthPrefixed(&bytes) || bytes.empty()) {
    return Decoder::Error(at, "truncated or empty value serializer id of " + label);
  }
  out->value_serializer.assign(bytes);

  if (out->mode == OperatorStateMode::kBroadcast) {
    at = in->offset();
    if (!in->ReadLengthPrefixed(&bytes) || bytes.empty()) {
      return Decoder::Error(at, "truncated or empty key serializer id of " + label);
    }
    out->key_serializer.assign(bytes);
    at = in->offset();
    uint64_t count = 0;
    if (!in->ReadCount(&count)) return Decoder::Error(at, "bad entry count of " + label);
    for (uint64_t i = 0; i < count; ++i) {
      at = in->offset();
      std::string_view key, value;
      if (!in->ReadLengthPrefixed(&key) || !in->ReadLengthPrefixed(&value)) {
        return Decoder::Error(at, "truncated entry " + std::to_string(i) + " of " + label);
      }
      if (!out->entries.empty() && !(std::string_view(out->entries.back().first) < key)) {
        return Decoder::Error(at, "entry " + std::to_string(i) + " of " + label +
                                      " not in strictly increasing key order");
      }
      out->entries.emplace_back(std::string(key), std::string(value));
    }
  } else {
    at = in->offset();
    uint64_t count = 0;
    if (!in->ReadCount(&count)) return Decoder::Error(at, "bad element count of " + label);
    for (uint64_t i = 0; i < count; ++i) {
      at = in->offset();
      if (!in->ReadLengthPrefixed(&bytes)) {
        return Decoder::Error(at, "truncated element " + std::to_string(i) + " of " + label);
      }
      out->elements.emplace_back(bytes);
    }
  }
  return Status::OK();
}

// --- Redistribution ---

// One state as seen across the old instances: its shape (from the first instance having it) and
// its contents per old instance (nullptr where the instance does not have it).
struct StateAcrossInstances {
  const NamedOperatorState* shape = nullptr;
  size_t shape_instance = 0;
  std::vector<const NamedOperatorState*> per_instance;
};

void AppendElements(const StateAcrossInstances& state, std::vector<std::string>* out) {
  for (const NamedOperatorState* s : state.per_instance) {
    if (s != nullptr) out->insert(out->end(), s->elements.begin(), s->elements.end());
  }
}

}  // namespace

std::string OperatorStateModeName(OperatorStateMode mode) {
  switch (mode) {
    case OperatorStateMode::kSplitDistribute:
      return "split-distribute";
    case OperatorStateMode::kUnion:
      return "union";
    case OperatorStateMode::kBroadcast:
      return "broadcast";
  }
  return "unknown(" + std::to_string(static_cast<int>(mode)) + ")";
}

namespace internal {
Status UndecodableOperatorState(std::string_view state, std::string_view what, size_t index,
                                size_t count, std::string_view serializer) {
  return Status::Corruption("operator state '" + std::string(state) + "': " + std::string(what) +
                            " " + std::to_string(index) + " of " + std::to_string(count) +
                            " is undecodable by serializer '" + std::string(serializer) + "'");
}
}  // namespace internal

std::string EncodeOperatorStateSnapshot(const OperatorStateSnapshot& snapshot) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kFormatVersion));
  PutVarint64(&out, snapshot.states.size());
  for (const NamedOperatorState& s : snapshot.states) {
    PutLengthPrefixed(&out, s.name);
    out.push_back(static_cast<char>(s.mode));
    PutLengthPrefixed(&out, s.value_serializer);
    if (s.mode == OperatorStateMode::kBroadcast) {
      PutLengthPrefixed(&out, s.key_serializer);
      PutVarint64(&out, s.entries.size());
      for (const auto& [key, value] : s.entries) {
        PutLengthPrefixed(&out, key);
        PutLengthPrefixed(&out, value);
      }
    } else {
      PutVarint64(&out, s.elements.size());
      for (const std::string& element : s.elements) PutLengthPrefixed(&out, element);
    }
  }
  return out;
}

Result<OperatorStateSnapshot> DecodeOperatorStateSnapshot(std::string_view bytes) {
  Decoder in(bytes);
  for (char expected : kMagic) {
    const size_t at = in.offset();
    uint8_t byte = 0;
    if (!in.ReadByte(&byte)) return Decoder::Error(at, "truncated header");
    if (byte != static_cast<uint8_t>(expected)) {
      return Decoder::Error(at, "bad magic (not an operator state snapshot)");
    }
  }
  const size_t version_at = in.offset();
  uint8_t version = 0;
  if (!in.ReadByte(&version)) return Decoder::Error(version_at, "truncated header");
  if (version != kFormatVersion) {
    return Status::NotSupported("operator state snapshot: format version " +
                                std::to_string(version) + " at byte " + std::to_string(version_at) +
                                "; this build reads version " + std::to_string(kFormatVersion));
  }

  OperatorStateSnapshot snapshot;
  const size_t count_at = in.offset();
  uint64_t count = 0;
  if (!in.ReadCount(&count)) return Decoder::Error(count_at, "bad state count");
  for (uint64_t i = 0; i < count; ++i) {
    const std::string* previous = snapshot.states.empty() ? nullptr : &snapshot.states.back().name;
    NamedOperatorState state;
    SW_RETURN_IF_ERROR(DecodeState(&in, i, previous, &state));
    snapshot.states.push_back(std::move(state));
  }
  if (in.remaining() != 0) {
    return Decoder::Error(in.offset(), std::to_string(in.remaining()) + " trailing bytes");
  }
  return snapshot;
}

Result<std::vector<OperatorStateSnapshot>> RedistributeOperatorState(
    const std::vector<OperatorStateSnapshot>& old_instances, int new_parallelism) {
  if (new_parallelism <= 0) {
    return Status::InvalidArgument(
        "redistributing operator state: new parallelism must be > 0, got " +
        std::to_string(new_parallelism));
  }
  const size_t old_parallelism = old_instances.size();
  std::map<std::string_view, StateAcrossInstances> states;
  for (size_t i = 0; i < old_parallelism; ++i) {
    SW_RETURN_IF_ERROR(
        ValidateSnapshot(old_instances[i], "old instance " + std::to_string(i) + " snapshot"));
    for (const NamedOperatorState& s : old_instances[i].states) {
      StateAcrossInstances& across = states[s.name];
      if (across.shape == nullptr) {
        across.shape = &s;
        across.shape_instance = i;
        across.per_instance.assign(old_parallelism, nullptr);
      } else if (!SameShape(*across.shape, s.mode, s.value_serializer, s.key_serializer)) {
        return Status::Corruption("operator state '" + s.name + "' is " + Describe(*across.shape) +
                                  " in old instance " + std::to_string(across.shape_instance) +
                                  " but " + Describe(s) + " in old instance " + std::to_string(i));
      }
      across.per_instance[i] = &s;
    }
  }

  const auto parallelism = static_cast<size_t>(new_parallelism);
  std::vector<OperatorStateSnapshot> result(parallelism);
  // `states` iterates in name order, so every result snapshot comes out sorted by name.
  for (const auto& [name, across] : states) {
    NamedOperatorState empty;
    empty.name = std::string(name);
    empty.mode = across.shape->mode;
    empty.value_serializer = across.shape->value_serializer;
    empty.key_serializer = across.shape->key_serializer;
    for (OperatorStateSnapshot& r : result) r.states.push_back(empty);

    switch (across.shape->mode) {
      case OperatorStateMode::kSplitDistribute: {
        std::vector<std::string> all;
        AppendElements(across, &all);
        // Contiguous chunks; the first `extra` instances take one element more, so sizes differ
        // by at most one and the concatenation of the chunks is the old order.
        const size_t base = all.size() / parallelism;
        const size_t extra = all.size() % parallelism;
        auto next = all.begin();
        for (size_t i = 0; i < parallelism; ++i) {
          const auto take = static_cast<std::ptrdiff_t>(base + (i < extra ? 1 : 0));
          std::vector<std::string>& chunk = result[i].states.back().elements;
          chunk.assign(std::make_move_iterator(next), std::make_move_iterator(next + take));
          next += take;
        }
        break;
      }
      case OperatorStateMode::kUnion: {
        std::vector<std::string> all;
        AppendElements(across, &all);
        for (OperatorStateSnapshot& r : result) r.states.back().elements = all;
        break;
      }
      case OperatorStateMode::kBroadcast: {
        // An instance without the state counts as holding an empty map: it may simply not have
        // requested it yet, which is only consistent if nobody has entries either.
        static const std::vector<std::pair<std::string, std::string>> kNone;
        // An init-capture, not `across` itself: clang before 16 cannot capture a structured
        // binding.
        auto entries_of = [&per_instance = across.per_instance](
                              size_t i) -> const std::vector<std::pair<std::string, std::string>>& {
          return per_instance[i] != nullptr ? per_instance[i]->entries : kNone;
        };
        const auto& reference = entries_of(0);
        for (size_t i = 1; i < old_parallelism; ++i) {
          if (entries_of(i) != reference) {
            return Status::FailedPrecondition(
                "broadcast state '" + std::string(name) + "' differs between old instance 0 (" +
                std::to_string(reference.size()) + " entries) and old instance " +
                std::to_string(i) + " (" + std::to_string(entries_of(i).size()) +
                " entries); broadcast state must be identical on every instance");
          }
        }
        for (OperatorStateSnapshot& r : result) r.states.back().entries = reference;
        break;
      }
    }
  }
  return result;
}

// --- OperatorStateBackend ---

OperatorStateBackend::OperatorStateBackend() = default;
OperatorStateBackend::~OperatorStateBackend() = default;

Result<internal::OperatorStateImpl*> OperatorStateBackend::FindOrRegister(
    const std::string& name, OperatorStateMode mode, std::string_view value_serializer,
    std::string_view key_serializer, const Factory& make) {
  if (name.empty()) return Status::InvalidArgument("operator state name must not be empty");
  const std::string requested = Describe(mode, value_serializer, key_serializer);

  if (auto it = states_.find(name); it != states_.end()) {
    const internal::OperatorStateImpl& registered = *it->second;
    if (registered.mode() != mode || registered.value_serializer() != value_serializer ||
        registered.key_serializer() != key_serializer) {
      return Status::InvalidArgument("operator state '" + name + "' is registered as " +
                                     Describe(registered) + ", requested as " + requested);
    }
    return it->second.get();
  }

  std::unique_ptr<internal::OperatorStateImpl> impl = make();
  if (auto pending = pending_.find(name); pending != pending_.end()) {
    const NamedOperatorState& restored = pending->second;
    if (!SameShape(restored, mode, value_serializer, key_serializer)) {
      return Status::InvalidArgument("operator state '" + name + "': the restored snapshot has " +
                                     Describe(restored) + ", requested as " + requested);
    }
    Status s = impl->StageRestore(restored);
    if (!s.ok()) return s;  // stays pending: the bytes are still what the checkpoint holds
    impl->CommitRestore();
    pending_.erase(pending);
  }
  internal::OperatorStateImpl* raw = impl.get();
  states_.emplace(name, std::move(impl));
  return raw;
}

Status OperatorStateBackend::TypeMismatch(const internal::OperatorStateImpl& registered) {
  return Status::InvalidArgument("operator state '" + registered.name() + "' is registered as " +
                                 Describe(registered) +
                                 " with another C++ type sharing these serializer ids");
}

std::vector<std::string> OperatorStateBackend::StateNames() const {
  std::vector<std::string> names;
  names.reserve(states_.size());
  for (const auto& entry : states_) names.push_back(entry.first);
  return names;
}

Result<OperatorStateSnapshot> OperatorStateBackend::Snapshot() const {
  OperatorStateSnapshot snapshot;
  snapshot.states.reserve(states_.size() + pending_.size());
  for (const auto& [name, impl] : states_) {
    NamedOperatorState& s = snapshot.states.emplace_back();
    s.name = name;
    s.mode = impl->mode();
    s.value_serializer = impl->value_serializer();
    s.key_serializer = impl->key_serializer();
    impl->SnapshotContents(&s);
  }
  for (const auto& entry : pending_) snapshot.states.push_back(entry.second);
  // Both maps are sorted and their names disjoint; merge them into one name order.
  std::sort(
      snapshot.states.begin(), snapshot.states.end(),
      [](const NamedOperatorState& a, const NamedOperatorState& b) { return a.name < b.name; });
  return snapshot;
}

Status OperatorStateBackend::Restore(const OperatorStateSnapshot& snapshot) {
  SW_RETURN_IF_ERROR(ValidateSnapshot(snapshot, "restoring operator state"));

  // Stage every requested state first; commit only if all of them decoded.
  std::vector<internal::OperatorStateImpl*> staged;
  std::map<std::string, NamedOperatorState, std::less<>> pending;
  std::set<std::string_view> in_snapshot;
  Status failure;
  for (const NamedOperatorState& s : snapshot.states) {
    in_snapshot.insert(s.name);
    auto it = states_.find(s.name);
    if (it == states_.end()) {
      pending.emplace(s.name, s);
      continue;
    }
    internal::OperatorStateImpl* impl = it->second.get();
    if (!SameShape(s, impl->mode(), impl->value_serializer(), impl->key_serializer())) {
      failure =
          Status::InvalidArgument("operator state '" + s.name + "': the restored snapshot has " +
                                  Describe(s) + ", registered as " + Describe(*impl));
      break;
    }
    failure = impl->StageRestore(s);
    if (!failure.ok()) break;
    staged.push_back(impl);
  }
  if (!failure.ok()) {
    for (internal::OperatorStateImpl* impl : staged) impl->AbortRestore();
    return failure;
  }

  for (internal::OperatorStateImpl* impl : staged) impl->CommitRestore();
  for (const auto& [name, impl] : states_) {
    if (!in_snapshot.contains(name)) impl->ClearContents();
  }
  pending_ = std::move(pending);
  return Status::OK();
}

}  // namespace statewatch
