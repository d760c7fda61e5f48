// Serializer<T>: how a type becomes bytes for the RocksDB backend, savepoints and key hashing.
//
// The heap backend keeps objects as they are and serializes only keys (for key-group hashing),
// snapshots and stats. To store your own type, specialise the trait:
//
//   template <> struct statewatch::Serializer<Order> {
//     static constexpr std::string_view kId = "acme.Order/v1";  // stable; recorded per state
//     static void Serialize(const Order& o, std::string* out);  // append bytes to *out
//     static bool Deserialize(std::string_view in, Order* out); // all of `in`; false = corrupt
//   };
//
// kId names the format: a state re-registered with a serializer of another id is an error, and
// savepoints record it. Change the id when the byte format changes.
//
// Integers are written big-endian with the sign bit flipped so that byte order equals numeric
// order (MapState iteration in RocksDB then visits keys in numeric order, as Flink's does).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace statewatch {

// Opaque bytes, for states that hold pre-serialized data.
using Bytes = std::vector<std::uint8_t>;

template <typename T, typename Enable = void>
struct Serializer;  // Not defined: specialise it for your type (see above).

namespace internal {
template <typename U>
inline void AppendBigEndian(U v, std::string* out) {
  char buf[sizeof(U)];
  for (size_t i = 0; i < sizeof(U); ++i) {
    buf[i] = static_cast<char>(static_cast<std::uint8_t>(v >> (8 * (sizeof(U) - 1 - i))));
  }
  out->append(buf, sizeof(U));
}
template <typename U>
inline U ReadBigEndian(const char* p) {
  U v = 0;
  for (size_t i = 0; i < sizeof(U); ++i)
    v = static_cast<U>((v << 8) | static_cast<std::uint8_t>(p[i]));
  return v;
}
template <typename T>
constexpr std::string_view IntegerId() {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_signed_v<T>) {
    if constexpr (sizeof(T) == 1)
      return "i8";
    else if constexpr (sizeof(T) == 2)
      return "i16";
    else if constexpr (sizeof(T) == 4)
      return "i32";
    else
      return "i64";
  } else {
    if constexpr (sizeof(T) == 1)
      return "u8";
    else if constexpr (sizeof(T) == 2)
      return "u16";
    else if constexpr (sizeof(T) == 4)
      return "u32";
    else
      return "u64";
  }
}
}  // namespace internal

template <typename T>
struct Serializer<T, std::enable_if_t<std::is_integral_v<T>>> {
  using U = std::make_unsigned_t<T>;
  static constexpr std::string_view kId = internal::IntegerId<T>();
  static constexpr U kSignFlip = std::is_signed_v<T> ? (U{1} << (sizeof(T) * 8 - 1)) : U{0};
  static void Serialize(const T& v, std::string* out) {
    internal::AppendBigEndian<U>(static_cast<U>(static_cast<U>(v) ^ kSignFlip), out);
  }
  static bool Deserialize(std::string_view in, T* out) {
    if (in.size() != sizeof(T)) return false;
    *out = static_cast<T>(internal::ReadBigEndian<U>(in.data()) ^ kSignFlip);
    return true;
  }
};

template <typename T>
struct Serializer<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "float and double only");
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static constexpr std::string_view kId = sizeof(T) == 4 ? "f32" : "f64";
  static void Serialize(const T& v, std::string* out) {
    internal::AppendBigEndian<U>(std::bit_cast<U>(v), out);
  }
  static bool Deserialize(std::string_view in, T* out) {
    if (in.size() != sizeof(T)) return false;
    *out = std::bit_cast<T>(internal::ReadBigEndian<U>(in.data()));
    return true;
  }
};

template <>
struct Serializer<std::string> {
  static constexpr std::string_view kId = "str";
  static void Serialize(const std::string& v, std::string* out) { out->append(v); }
  static bool Deserialize(std::string_view in, std::string* out) {
    out->assign(in.data(), in.size());
    return true;
  }
};

template <>
struct Serializer<Bytes> {
  static constexpr std::string_view kId = "bytes";
  static void Serialize(const Bytes& v, std::string* out) {
    out->append(reinterpret_cast<const char*>(v.data()), v.size());
  }
  static bool Deserialize(std::string_view in, Bytes* out) {
    out->assign(reinterpret_cast<const std::uint8_t*>(in.data()),
                reinterpret_cast<const std::uint8_t*>(in.data()) + in.size());
    return true;
  }
};

// Serializes into a fresh string; convenience for cold paths.
template <typename T>
std::string SerializeToString(const T& v) {
  std::string out;
  Serializer<T>::Serialize(v, &out);
  return out;
}

}  // namespace statewatch
