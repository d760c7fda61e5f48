// SampleStore: the sample history in one SQLite file (samples.db).
//
// Tables: `series` (id, name, labels as Prometheus-notation text, unique together); `head` (time
// in ms, series id, value; clustered by (time, series id)) for the last quarter to hour and a
// quarter; `samples` (series id, time, value; clustered by (series id, time)) for everything
// older; `meta` (where `head` ends and how far downsampling has gone); `schema_version` (one
// row). One row per series and time in either table: a later write for the same time replaces
// the earlier. The SQLite header carries application_id 'SWSM' so that another store's file is
// never taken for this one.
//
// Why two tables: a scrape writes one sample to each of thousands of series. Clustered by
// series, every sample lands on its own series' last page, so a 10 000-series scrape rewrote
// ~10 000 pages (~8 KiB written per sample, WAL and checkpoint counted). Clustered by time, the
// scrape fills a few pages at the end of `head` (~50 for 10 000 samples). ApplyRetention then
// moves what is older than 15 minutes to `samples`, sorted by series on a second connection so
// that each series' leaf is written once per move (~160 bytes written per sample moved, at
// 10 000 series and an hour of 1-minute samples); there per-series reads (Query, thinning,
// ForEachSample) are one seek each. Per series, every sample in `samples` is older than every
// one in `head` (while a move runs, the two may also hold the same sample); a sample older than
// that boundary is written to `samples` directly. A move a crash interrupted is finished by
// the next Open.
//
// Durability: WAL journal mode with synchronous=NORMAL. A commit is in the WAL file when Append
// returns, so a kill -9 of the process loses at most the batch being written, never one that
// was committed; only a power cut can lose the last few commits (no fsync per commit), which
// costs a few seconds of history — cheap to lose, expensive to fsync every scrape. Readers never
// block the writer. NaN is stored as NULL (SQLite has no NaN) and read back as NaN.
//
// Versions: a database written by a newer statewatch (higher schema version) is refused, never
// rewritten. Older versions are migrated in one transaction when opened (v1 → v2 adds `meta`;
// v2 → v3 adds `head`, with everything already stored counted as older than it).
//
// Thread-safety: all methods may be called from any thread; calls are serialized internally.
// ApplyRetention releases the lock between its chunks, so appends interleave with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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

// How long history is kept and at what resolution. REQUIRES retention > downsample_after > 0 and
// resolution > 0 (ApplyRetention returns InvalidArgument otherwise).
struct RetentionPolicy {
  // Samples older than now - retention are deleted. 15 days: Prometheus' default.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 15);
  // Samples older than now - downsample_after are thinned to one per `resolution`. Keep this
  // longer than the longest rule window (trend rules default to 24 h) plus the replay the daemon
  // does after a restart, so rules always see full-resolution data.
  std::chrono::milliseconds downsample_after = std::chrono::hours(48);
  // Width of a downsampling bucket; buckets are aligned to multiples of it since the epoch.
  std::chrono::milliseconds resolution = std::chrono::minutes(5);
};

struct RetentionStats {
  int64_t deleted = 0;         // samples removed because they were older than the retention
  int64_t downsampled = 0;     // samples removed by thinning (the kept one per bucket not counted)
  int64_t series_removed = 0;  // series left without samples, removed
  int64_t sealed = 0;          // samples moved from `head` (recent) to `samples` (older)
  int64_t chunks = 0;          // transactions the work was split into
};

class SampleStore {
 public:
  static constexpr int kSchemaVersion = 3;

  // Opens or creates the database file at `path` (its directory must exist). IOError naming
  // the path when it cannot be opened; Corruption naming the path when the file is not a
  // statewatch sample database (not SQLite, another store's file, another program's tables);
  // FailedPrecondition for a newer schema version. Nothing is written before these checks pass.
  static Result<std::unique_ptr<SampleStore>> Open(const std::string& path);
  ~SampleStore();
  SampleStore(const SampleStore&) = delete;
  SampleStore& operator=(const SampleStore&) = delete;

  // Stores samples in one transaction: all or none. Samples may come in any order and mix any
  // series; new series are created on the way. Built for scrape-sized batches (~10 000 samples):
  // statements are prepared once per store and series ids are cached in memory.
  Status Append(const std::vector<rules::Sample>& samples);

  // Points of one series (exact name and label set) with from <= t <= to, in time order.
  // An unknown series gives an empty vector.
  Result<std::vector<rules::Point>> Query(const std::string& series, const rules::Labels& labels,
                                          int64_t from_millis, int64_t to_millis);

  // Calls `visit` for every stored sample with from <= t <= to, each series' samples in time
  // order: first the older samples grouped by series (series in the order they were first
  // stored), then the recent ones (`head`) in time order, series interleaved. For replaying
  // history into the rule engine after a restart, and for export. Reads one consistent snapshot
  // with the store's lock held: `visit` must not call back into this store; appends from other
  // threads wait until it is done, and it waits for a running ApplyRetention.
  // The Sample passed to `visit` is only valid during the call.
  Status ForEachSample(int64_t from_millis, int64_t to_millis,
                       const std::function<void(const rules::Sample&)>& visit);

  // Every stored series with its sample count and time span, sorted by name then labels.
  // Counting reads every stored sample: for tools and tests, not per request.
  Result<std::vector<SeriesInfo>> ListSeries();

  // The stored series sorted by name then labels, without counting (samples, first_millis and
  // last_millis are 0): one read of the series table, for listings and selectors. A non-empty
  // `name` keeps only the series of that name.
  Result<std::vector<SeriesInfo>> ListSeriesLabels(const std::string& name = "");

  // Applies `policy` as of `now_millis`:
  //  - moves samples older than now - 15 minutes (and anything the steps below touch) from
  //    `head` to `samples`;
  //  - deletes samples with t < now - retention;
  //  - thins samples with t < now - downsample_after (rounded down to a bucket boundary, so
  //    only whole buckets are thinned) to the LAST sample of each `resolution` bucket per
  //    series. The last rather than the mean: a counter (statewatch_state_expired_total) stays
  //    a valid counter — its increase over any kept interval is exact — and a gauge keeps a real
  //    observed value, which is what trend fits and forecasts expect;
  //  - removes series with no samples left.
  // Incremental: the `meta` table records how far thinning has gone, and each call only thins
  // newer buckets. Samples written later with timestamps behind that mark are not thinned.
  // Changing the resolution restarts thinning from the oldest sample (once).
  // The work is split into transactions of a few thousand rows each, with the store's lock
  // released in between, so no call holds SQLite's write lock (or delays Append) for long.
  // On error, what was committed stays (each chunk is consistent on its own) and the next call
  // picks up the rest. InvalidArgument for an invalid policy.
  Result<RetentionStats> ApplyRetention(int64_t now_millis, const RetentionPolicy& policy);

  // Size of the database file: page_count × page_size (free pages included; the -wal file,
  // bounded by checkpointing, is not). For the agent's own metrics.
  Result<int64_t> SizeBytes();

  const std::string& path() const;

 private:
  struct Impl;
  explicit SampleStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace statewatch::storage
