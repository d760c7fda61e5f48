// State descriptors: the name, type, serializers and TTL of one keyed state, as in Flink.
//
// A descriptor is handed to KeyedStateBackend::Get*State(); registering the same name again with
// a different kind, serializer or TTL is an InvalidArgument error naming both registrations.
// Names are non-empty and not "default" (RocksDB's own column family, refused on both backends).
//
// Thread-safety: descriptors are values; copy freely.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "statewatch/state/serializer.h"
#include "statewatch/state/ttl_config.h"

namespace statewatch {

// On-disk values (checkpoint metadata, savepoints): do not renumber.
enum class StateKind : uint8_t {
  kValue = 1,
  kList = 2,
  kMap = 3,
  kReducing = 4,
  kAggregating = 5,
};
std::string_view StateKindName(StateKind kind);

// The type-erased description of a state: what the backend records and compares.
struct StateMeta {
  std::string name;
  StateKind kind = StateKind::kValue;
  // Serializer<T>::kId of the stored value (the accumulator for AggregatingState).
  std::string value_serializer;
  // Serializer<K>::kId of the map key; empty for other kinds.
  std::string user_key_serializer;
  TtlConfig ttl;

  std::string ToString() const;  // e.g. "MapState<str, i64> 'orders' ttl=7d OnCreateAndWrite …"
  bool operator==(const StateMeta&) const = default;
};

// Shared part of every descriptor.
class StateDescriptorBase {
 public:
  const std::string& name() const { return meta_.name; }
  const TtlConfig& ttl() const { return meta_.ttl; }
  const StateMeta& meta() const { return meta_; }

 protected:
  StateDescriptorBase(std::string name, StateKind kind, std::string_view value_serializer,
                      std::string_view user_key_serializer = {}) {
    meta_.name = std::move(name);
    meta_.kind = kind;
    meta_.value_serializer = value_serializer;
    meta_.user_key_serializer = user_key_serializer;
  }
  StateMeta meta_;
};

// CRTP mix-in for the fluent EnableTimeToLive().
template <typename Derived>
class StateDescriptor : public StateDescriptorBase {
 public:
  Derived& EnableTimeToLive(const TtlConfig& ttl) {
    meta_.ttl = ttl;
    return static_cast<Derived&>(*this);
  }

 protected:
  using StateDescriptorBase::StateDescriptorBase;
};

template <typename T>
class ValueStateDescriptor : public StateDescriptor<ValueStateDescriptor<T>> {
 public:
  explicit ValueStateDescriptor(std::string name)
      : StateDescriptor<ValueStateDescriptor<T>>(std::move(name), StateKind::kValue,
                                                 Serializer<T>::kId) {}
};

template <typename T>
class ListStateDescriptor : public StateDescriptor<ListStateDescriptor<T>> {
 public:
  explicit ListStateDescriptor(std::string name)
      : StateDescriptor<ListStateDescriptor<T>>(std::move(name), StateKind::kList,
                                                Serializer<T>::kId) {}
};

template <typename K, typename V>
class MapStateDescriptor : public StateDescriptor<MapStateDescriptor<K, V>> {
 public:
  explicit MapStateDescriptor(std::string name)
      : StateDescriptor<MapStateDescriptor<K, V>>(std::move(name), StateKind::kMap,
                                                  Serializer<V>::kId, Serializer<K>::kId) {}
};

// Combines two values into one of the same type: state = reduce(state, input).
template <typename T>
using ReduceFunction = std::function<T(const T& accumulated, const T& input)>;

template <typename T>
class ReducingStateDescriptor : public StateDescriptor<ReducingStateDescriptor<T>> {
 public:
  ReducingStateDescriptor(std::string name, ReduceFunction<T> reduce)
      : StateDescriptor<ReducingStateDescriptor<T>>(std::move(name), StateKind::kReducing,
                                                    Serializer<T>::kId),
        reduce_(std::move(reduce)) {}
  const ReduceFunction<T>& reduce_function() const { return reduce_; }

 private:
  ReduceFunction<T> reduce_;
};

// Flink's AggregateFunction: inputs are folded into an accumulator, which yields the result.
// Implementations must be stateless (one instance serves every key).
template <typename IN, typename ACC, typename OUT>
class AggregateFunction {
 public:
  virtual ~AggregateFunction() = default;
  virtual ACC CreateAccumulator() const = 0;
  virtual ACC Add(const IN& value, ACC accumulator) const = 0;
  virtual OUT GetResult(const ACC& accumulator) const = 0;
  virtual ACC Merge(ACC a, const ACC& b) const = 0;
};

template <typename IN, typename ACC, typename OUT>
class AggregatingStateDescriptor
    : public StateDescriptor<AggregatingStateDescriptor<IN, ACC, OUT>> {
 public:
  using Function = AggregateFunction<IN, ACC, OUT>;
  AggregatingStateDescriptor(std::string name, std::shared_ptr<const Function> fn)
      : StateDescriptor<AggregatingStateDescriptor<IN, ACC, OUT>>(
            std::move(name), StateKind::kAggregating, Serializer<ACC>::kId),
        fn_(std::move(fn)) {}
  const std::shared_ptr<const Function>& aggregate_function() const { return fn_; }

 private:
  std::shared_ptr<const Function> fn_;
};

}  // namespace statewatch
