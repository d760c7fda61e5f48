// SampleStore: the sample history in one SQLite file.
//
// Tables: `series` (id, name, labels as Prometheus-notation text, unique together), `samples`
// (series id, time in ms, value; one row per series and time — a later write for the same time
// replaces the earlier), `schema_version` (one row). WAL journal mode with synchronous=NORMAL:
// a kill -9 loses at most the last uncommitted batch, never what was committed before it, and
// readers never block the writer. NaN is stored as NULL (SQLite has no NaN) and read back as NaN.
//
// A database written by a newer statewatch (higher schema version) is refused, never rewritten.
//
// Thread-safety: all methods may be called from any thread; calls are serialized internally.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "statewatch/rules/sample.h"
#include "statewatch/state/status.h"

namespace statewatch::storage {

struct SeriesInfo {
  std::string name;
  rules::Labels labels;
  int64_t samples = 0;
  int64_t first_millis = 0;
  int64_t last_millis = 0;
};

class SampleStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the database file at `path` (its directory must exist). IOError naming
  // the path when it cannot be opened; Corruption when the file is not a statewatch database;
  // FailedPrecondition for a newer schema version.
  static Result<std::unique_ptr<SampleStore>> Open(const std::string& path);
  ~SampleStore();
  SampleStore(const SampleStore&) = delete;
  SampleStore& operator=(const SampleStore&) = delete;

  // Stores samples in one transaction: all or none.
  Status Append(const std::vector<rules::Sample>& samples);

  // Points of one series (exact name and label set) with from <= t <= to, in time order.
  // An unknown series gives an empty vector.
  Result<std::vector<rules::Point>> Query(const std::string& series, const rules::Labels& labels,
                                          int64_t from_millis, int64_t to_millis);

  // Every stored series with its sample count and time span, sorted by name then labels.
  Result<std::vector<SeriesInfo>> ListSeries();

  const std::string& path() const;

 private:
  struct Impl;
  explicit SampleStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace statewatch::storage
