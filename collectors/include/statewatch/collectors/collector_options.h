// OptionReader: how every collector factory reads its `options:` map, so that required keys,
// unknown keys, byte sizes and booleans are checked — and reported — the same way everywhere.
//
//   OptionReader r(params.source, "rocksdb_dir", params.options);
//   Result<std::string> path = r.Required("path");
//   std::string log = r.Optional("log_file", "");
//   SW_RETURN_IF_ERROR(r.Finish());   // unknown keys
//
// Every error is InvalidArgument and starts with "source '<source>': option '<key>'", so the
// daemon's config error points at the right line. Finish() must be called after all keys were
// read: any key no call asked for is an unknown option, listed together with the known ones.
//
// Thread-safety: a value used by one thread (a factory call).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "statewatch/state/status.h"

namespace statewatch::collectors {

class OptionReader {
 public:
  // `options` must outlive the reader.
  OptionReader(std::string source, std::string type,
               const std::map<std::string, std::string>& options);

  // The value of `key`; InvalidArgument when it is absent or empty.
  Result<std::string> Required(std::string_view key);
  // The value of `key`, or `fallback` when absent.
  std::string Optional(std::string_view key, std::string fallback);
  // True when `key` is present (marks it as known).
  bool Has(std::string_view key);
  // A byte size ("4096", "64MiB", "1g"); `fallback` when absent.
  Result<uint64_t> Bytes(std::string_view key, uint64_t fallback);
  // true/false (also yes/no, on/off, 1/0, any case); `fallback` when absent.
  Result<bool> Bool(std::string_view key, bool fallback);
  // A positive duration in one unit, as Prometheus writes them: 500ms, 10s, 5m, 1h.
  Result<std::chrono::milliseconds> Duration(std::string_view key,
                                             std::chrono::milliseconds fallback);

  // InvalidArgument naming the first unknown key and the known ones; OK otherwise.
  Status Finish() const;

  // "source '<source>': option '<key>' <what>" as InvalidArgument, for checks a factory makes
  // itself (a value out of range, two options that exclude each other).
  Status Error(std::string_view key, std::string_view what) const;
  // "source '<source>': <what>" as InvalidArgument.
  Status SourceError(std::string_view what) const;

 private:
  const std::string* Find(std::string_view key);

  std::string source_;
  std::string type_;
  const std::map<std::string, std::string>& options_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace statewatch::collectors
