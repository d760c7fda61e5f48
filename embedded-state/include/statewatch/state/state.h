// The keyed state types a task reads and writes: Value, List, Map, Reducing, Aggregating.
//
// Each call works on the backend's *current key* (KeyedStateBackend::SetCurrentKey) and on this
// state's *current namespace* (void unless SetCurrentNamespace was called; windows use it).
// A missing value — or one whose TTL has expired, with kNeverReturnExpired — reads as NotFound.
// A List with no elements reads as an empty vector, a Map without entries as empty.
//
// Thread-safety: a state handle belongs to the task thread that drives its backend; it is not
// safe to use from two threads at once. Handles live as long as their backend.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "statewatch/state/serializer.h"
#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/status.h"

namespace statewatch {

class State {
 public:
  virtual ~State() = default;

  // Removes this state's value for the current key and namespace.
  virtual Status Clear() = 0;

  // Namespaces scope a state further than the key (e.g. one value per key and window).
  template <typename N>
  void SetCurrentNamespace(const N& ns) {
    namespace_.clear();
    Serializer<N>::Serialize(ns, &namespace_);
  }
  void SetVoidNamespace() { namespace_.clear(); }
  const std::string& current_namespace() const { return namespace_; }

 protected:
  std::string namespace_;  // serialized; empty = Flink's VoidNamespace
};

template <typename T>
class ValueState : public State {
 public:
  virtual Result<T> Value() = 0;
  virtual Status Update(const T& value) = 0;
};

template <typename T>
class ListState : public State {
 public:
  // All live elements in insertion order (empty when none).
  virtual Result<std::vector<T>> Get() = 0;
  virtual Status Add(const T& value) = 0;
  virtual Status AddAll(const std::vector<T>& values) = 0;
  // Replaces the whole list (an empty vector clears it).
  virtual Status Update(const std::vector<T>& values) = 0;
};

template <typename K, typename V>
class MapState : public State {
 public:
  virtual Result<V> Get(const K& key) = 0;
  virtual Status Put(const K& key, const V& value) = 0;
  virtual Status PutAll(const std::vector<std::pair<K, V>>& entries) = 0;
  virtual Status Remove(const K& key) = 0;
  // True when Get(key) would return a value (TTL visibility included).
  Result<bool> Contains(const K& key) {
    Result<V> v = Get(key);
    if (v.ok()) return true;
    if (v.status().IsNotFound()) return false;
    return v.status();
  }
  virtual Result<bool> IsEmpty() = 0;
  // Visits live entries (RocksDB: in serialized-key order; heap: unspecified). The visitor
  // returns false to stop early.
  virtual Status ForEach(const std::function<bool(const K&, const V&)>& visitor) = 0;

  Result<std::vector<std::pair<K, V>>> Entries() {
    std::vector<std::pair<K, V>> out;
    Status s = ForEach([&](const K& k, const V& v) {
      out.emplace_back(k, v);
      return true;
    });
    if (!s.ok()) return s;
    return out;
  }
  Result<std::vector<K>> Keys() {
    std::vector<K> out;
    Status s = ForEach([&](const K& k, const V&) {
      out.push_back(k);
      return true;
    });
    if (!s.ok()) return s;
    return out;
  }
};

template <typename T>
class ReducingState : public State {
 public:
  virtual Result<T> Get() = 0;
  // state = reduce(state, value), or value when there was none.
  virtual Status Add(const T& value) = 0;
};

template <typename IN, typename OUT>
class AggregatingState : public State {
 public:
  virtual Result<OUT> Get() = 0;
  virtual Status Add(const IN& value) = 0;
};

}  // namespace statewatch
