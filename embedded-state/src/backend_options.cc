#include "statewatch/state/backend_options.h"

#include <cctype>
#include <charconv>
#include <functional>
#include <string>

namespace statewatch {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

Status Bad(const std::string& key, const std::string& value, const std::string& expected) {
  return Status::InvalidArgument("state backend option '" + key + "': got '" + value +
                                 "', expected " + expected);
}

Result<int64_t> ParseInt(const std::string& key, const std::string& value, int64_t min,
                         int64_t max) {
  int64_t v = 0;
  const std::string t = Trim(value);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty() || v < min || v > max) {
    return Bad(key, value,
               "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

Result<double> ParseDouble(const std::string& key, const std::string& value, double min,
                           double max) {
  const std::string t = Trim(value);
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty() || !(v >= min && v <= max)) {
    return Bad(key, value,
               "a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

Result<bool> ParseBool(const std::string& key, const std::string& value) {
  const std::string t = Lower(Trim(value));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return Bad(key, value, "true or false");
}

Result<size_t> ParseSize(const std::string& key, const std::string& value) {
  Result<uint64_t> v = ParseByteSize(value);
  if (!v.ok()) return Bad(key, value, "a byte size such as 67108864, 64MiB or 1GiB");
  return static_cast<size_t>(*v);
}

}  // namespace

Result<uint64_t> ParseByteSize(const std::string& text) {
  const std::string t = Lower(Trim(text));
  uint64_t number = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), number);
  if (ec != std::errc() || ptr == t.data()) {
    return Status::InvalidArgument("'" + text + "' is not a byte size");
  }
  std::string unit = Trim(std::string(ptr, t.data() + t.size()));
  uint64_t multiplier = 0;
  if (unit.empty() || unit == "b")
    multiplier = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    multiplier = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    multiplier = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    multiplier = 1ull << 30;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    multiplier = 1ull << 40;
  else
    return Status::InvalidArgument("'" + text + "' has an unknown size unit '" + unit + "'");
  if (number > UINT64_MAX / multiplier) {
    return Status::InvalidArgument("'" + text + "' is too large");
  }
  return number * multiplier;
}

Result<BackendOptions> ParseBackendOptions(const std::map<std::string, std::string>& config) {
  BackendOptions o;
  RocksDbOptions& r = o.rocksdb;
  using Setter = std::function<Status(const std::string& key, const std::string& value)>;
  auto size_field = [](size_t* field) -> Setter {
    return [field](const std::string& k, const std::string& v) {
      Result<size_t> s = ParseSize(k, v);
      if (!s.ok()) return s.status();
      *field = *s;
      return Status::OK();
    };
  };
  auto int_field = [](int* field, int64_t min, int64_t max) -> Setter {
    return [=](const std::string& k, const std::string& v) {
      Result<int64_t> i = ParseInt(k, v, min, max);
      if (!i.ok()) return i.status();
      *field = static_cast<int>(*i);
      return Status::OK();
    };
  };
  auto double_field = [](double* field, double min, double max) -> Setter {
    return [=](const std::string& k, const std::string& v) {
      Result<double> d = ParseDouble(k, v, min, max);
      if (!d.ok()) return d.status();
      *field = *d;
      return Status::OK();
    };
  };
  auto bool_field = [](bool* field) -> Setter {
    return [=](const std::string& k, const std::string& v) {
      Result<bool> b = ParseBool(k, v);
      if (!b.ok()) return b.status();
      *field = *b;
      return Status::OK();
    };
  };
  const std::map<std::string, Setter, std::less<>> setters = {
      {"backend",
       [&](const std::string& k, const std::string& v) {
         const std::string t = Lower(Trim(v));
         if (t != "hashmap" && t != "rocksdb") return Bad(k, v, "'hashmap' or 'rocksdb'");
         o.backend = t;
         return Status::OK();
       }},
      {"max_parallelism", int_field(&o.max_parallelism, 1, kUpperBoundMaxParallelism)},
      {"key_group_range",
       [&](const std::string& k, const std::string& v) {
         const std::string t = Trim(v);
         size_t dash = t.find('-');
         if (dash == std::string::npos) return Bad(k, v, "'start-end', e.g. '0-63'");
         Result<int64_t> a = ParseInt(k, t.substr(0, dash), 0, kUpperBoundMaxParallelism - 1);
         Result<int64_t> b = ParseInt(k, t.substr(dash + 1), 0, kUpperBoundMaxParallelism - 1);
         if (!a.ok() || !b.ok() || *b < *a) return Bad(k, v, "'start-end' with start <= end");
         o.key_group_range = {static_cast<int>(*a), static_cast<int>(*b)};
         return Status::OK();
       }},
      {"max_key_bytes", size_field(&o.max_key_bytes)},
      {"rocksdb.local_directory",
       [&](const std::string&, const std::string& v) {
         r.local_directory = Trim(v);
         return Status::OK();
       }},
      {"rocksdb.block_cache_size", size_field(&r.block_cache_bytes)},
      {"rocksdb.write_buffer_size", size_field(&r.write_buffer_bytes)},
      {"rocksdb.max_write_buffer_number", int_field(&r.max_write_buffer_number, 1, 64)},
      {"rocksdb.memory_budget", size_field(&r.memory_budget_bytes)},
      {"rocksdb.write_buffer_ratio", double_field(&r.write_buffer_ratio, 0.01, 0.99)},
      {"rocksdb.high_priority_pool_ratio", double_field(&r.high_priority_pool_ratio, 0.0, 0.99)},
      {"rocksdb.bloom_filter_bits_per_key", double_field(&r.bloom_filter_bits_per_key, 0, 64)},
      {"rocksdb.max_background_jobs", int_field(&r.max_background_jobs, 1, 256)},
      {"rocksdb.enable_statistics", bool_field(&r.enable_statistics)},
      {"rocksdb.disable_wal", bool_field(&r.disable_wal)},
  };
  for (const auto& [key, value] : config) {
    auto it = setters.find(key);
    if (it == setters.end()) {
      std::string known;
      for (const auto& [name, setter] : setters) known += (known.empty() ? "" : ", ") + name;
      return Status::InvalidArgument("unknown state backend option '" + key + "'; known: " + known);
    }
    SW_RETURN_IF_ERROR(it->second(key, value));
  }
  if (o.backend == "rocksdb" && r.local_directory.empty()) {
    return Status::InvalidArgument(
        "state backend option 'rocksdb.local_directory' is required for backend 'rocksdb'");
  }
  return o;
}

}  // namespace statewatch
