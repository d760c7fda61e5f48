// RocksDbDirCollector ("rocksdb_dir"): any RocksDB directory on disk, owned by another process
// (a Flink TaskManager, another service), watched without ever blocking that owner.
//
// How it reads (DESIGN.md, "RocksDB facts worth knowing"):
//   - The database is opened with DB::OpenAsSecondary — never as primary (that would take the
//     owner's LOCK), never plain read-only on a live database (that sees a frozen, soon invalid
//     view). A secondary takes no lock and writes nothing into the owner's directory; its own
//     info log goes to `secondary_path`, or to a private temp dir removed on destruction.
//     Every column family is opened (DB::ListColumnFamilies) with max_open_files=-1, as RocksDB
//     requires of secondaries so that files the owner deletes stay readable until caught up.
//   - Collect calls TryCatchUpWithPrimary first, which follows the owner's MANIFEST: flushed
//     SST files, compactions. By default the secondary does NOT replay the owner's WAL: a
//     replay repeats every memtable insert of the owner in the collector (measured: 255 ms per
//     collection under a fillrandom load, a third of the owner's throughput on 2 cores,
//     against 5 ms without). Writes not yet flushed are then not counted — at most one
//     memtable per column family, and nothing else is lost for owners that write without a
//     WAL anyway (Flink, the statewatch engine). Option replay_wal turns it on.
//   - Column families the owner adds or drops later are picked up: RocksDB writes a new
//     OPTIONS file on every such change, so a new newest OPTIONS file triggers a
//     ListColumnFamilies (which reads the whole MANIFEST — too costly for every collection) and,
//     when the set differs, a reopen.
//   - A missing directory, or one without a CURRENT file, makes Collect fail with NotFound
//     naming the path; the next Collect tries again (the job may start later).
//
// Samples, labels job and source on all of them:
//   per column family (label cf):
//     statewatch_rocksdb_estimate_num_keys         an ESTIMATE, computed as RocksDB computes
//                                                  rocksdb.estimate-num-keys (memtable entries +
//                                                  per-file entries − 2 × deletions) but over
//                                                  the current SST files: the property itself
//                                                  never forgets compacted files, and in a 7.8
//                                                  secondary grows with every compaction.
//                                                  Overwrites not yet compacted still count once
//                                                  per copy (tests/collectors: error vs ldb)
//     statewatch_rocksdb_pending_compaction_bytes  rocksdb.estimate-pending-compaction-bytes
//     statewatch_rocksdb_live_data_bytes           rocksdb.estimate-live-data-size
//     statewatch_rocksdb_memtable_bytes            only with replay_wal: the secondary's
//                                                  rocksdb.cur-size-all-mem-tables, what it
//                                                  replayed of the owner's unflushed writes
//                                                  (0 when the owner writes without a WAL)
//     statewatch_rocksdb_sst_files{level}          files per level (GetColumnFamilyMetaData)
//     statewatch_rocksdb_sst_bytes{level}          bytes per level
//     statewatch_rocksdb_ttl_compaction_filter     1 when the column family's section of the
//                                                  newest OPTIONS file names a known TTL
//                                                  compaction filter or factory, else 0
//   from the owner's LOG (option log_file, default DIR/LOG; nothing when it is absent):
//     statewatch_rocksdb_write_stalls_total{cf,kind="delayed"|"stopped"}
//                                                  "Stalling writes" / "Stopping writes" lines
//                                                  since the collector started (lines already in
//                                                  the LOG at the first Collect are history and
//                                                  not counted)
//     statewatch_rocksdb_delayed_write_rate_bytes  the rate of the last "Stalling writes" line
//                                                  logged since the previous Collect, else 0 (a
//                                                  secondary's own write controller is idle)
//     statewatch_rocksdb_block_cache_hit_ratio     Δhit/(Δhit+Δmiss) between the last two
//                                                  periodic STATISTICS dumps (the owner needs
//                                                  statistics enabled); absent until two dumps
//                                                  were seen, after a counter reset and when the
//                                                  interval had no lookups
//
// The LOG is read incrementally from the last offset. A changed inode (the owner rolled or
// reopened its LOG) means the old file is read to its end and the new one from the start; a
// file shorter than the offset (truncated) is read again from the start.
//
// Thread-safety: one Collect at a time (collector.h); distinct collectors are independent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "statewatch/collectors/collector.h"

namespace statewatch::collectors {

class CollectorRegistry;

struct RocksDbDirOptions {
  // The database directory (the one holding CURRENT). REQUIRED.
  std::string path;
  // Directory for the secondary instance's own info log. Empty: a private directory made with
  // mkdtemp under the system temp dir, removed when the collector is destroyed.
  std::string secondary_path;
  // The owner's info LOG. Empty: `path`/LOG. Set it when the owner uses db_log_dir.
  std::string log_file;
  // Replay the owner's WAL on every catch-up, so that writes not yet flushed count in the key
  // estimate and statewatch_rocksdb_memtable_bytes is reported. Costs what the owner's own
  // memtable inserts cost, again, in the collector (and a copy of its memtables in memory).
  // Off: only flushed data is seen (as with any owner that writes without a WAL, like Flink
  // and the statewatch engine), and memtable bytes are not reported.
  bool replay_wal = false;
};

class RocksDbDirCollector final : public Collector {
 public:
  // Opens nothing yet: the first Collect does, so a directory that does not exist yet is fine.
  RocksDbDirCollector(std::string job, std::string source, RocksDbDirOptions options);
  ~RocksDbDirCollector() override;
  RocksDbDirCollector(const RocksDbDirCollector&) = delete;
  RocksDbDirCollector& operator=(const RocksDbDirCollector&) = delete;

  std::string_view name() const override { return "rocksdb_dir"; }
  // NotFound naming the path when it is missing or not a RocksDB directory; IOError naming the
  // path when the secondary cannot open or catch up. Samples are appended only on success.
  Status Collect(int64_t now_millis, std::vector<rules::Sample>* out) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Registers type "rocksdb_dir": options path (required), secondary_path, log_file, replay_wal
// (boolean, default false).
Status RegisterRocksDbDirCollector(CollectorRegistry& registry);

// The newest OPTIONS-NNNNNN file of directory `dir` by number (RocksDB's temporary .dbtmp
// files are skipped), or "" when there is none. Lists the directory; opens no file.
std::string NewestOptionsFile(const std::string& dir);

// --- Pure parsing (no I/O), used by the collector and exposed for tests ---

// Names (a filter's or a factory's Name()) that mean "this column family expires state":
//   statewatch.TtlCompactionFilterFactory   the statewatch engine (TtlConfig cleanup in compaction)
//   FlinkCompactionFilterFactory            Apache Flink's FRocksDB state TTL
//   FlinkCompactionFilter                   the same filter set directly
//   TtlCompactionFilterFactory              RocksDB's DBWithTTL (utilities/ttl), 7.x
//   TtlCompactionFilter, Delete By TTL      DBWithTTL's filter, 7.x and older names
// RocksDB's periodic-compaction option `ttl` (2592000 s by default) is NOT a state TTL and is
// not looked at.
const std::vector<std::string>& KnownTtlCompactionFilterNames();
bool IsTtlCompactionFilterName(std::string_view name);

// What one [CFOptions "name"] section of an OPTIONS file says.
struct CfOptionsSummary {
  std::string compaction_filter;          // the filter's name, or "nullptr"
  std::string compaction_filter_factory;  // the factory's name (its id), or "nullptr"
  int num_levels = 0;                     // 0 when the section has none
  // Either of the two names is a known TTL filter.
  bool has_ttl_compaction_filter() const;
};

// Parses the text of an OPTIONS-NNNNNN file: column family name → summary. A value written in
// RocksDB's customizable form "{id=Name;opt=…}" yields its id. Unparseable lines are skipped.
std::map<std::string, CfOptionsSummary> ParseOptionsFile(std::string_view text);

// Every key=value line of an OPTIONS-NNNNNN file by section: "Version", "DBOptions" and
// "CFOptions:<column family>" (the name unescaped); other sections are skipped, values are kept
// as written (trimmed). ParseOptionsFile reads its summaries from this.
using OptionsSections = std::map<std::string, std::map<std::string, std::string>>;
OptionsSections ParseOptionsSections(std::string_view text);

// One line of a RocksDB info LOG, classified. RocksDB 7.8 writes, from db/column_family.cc
// (after a "<time> <thread> [WARN] [db/column_family.cc:1001] " prefix):
//   [cf] Stalling writes because we have 20 level-0 files rate 13421772
//   [cf] Stopping writes because we have 36 level-0 files
// (also "...immutable memtables..." and "...of estimated pending compaction bytes..." causes)
// and, every stats_dump_period_sec with statistics on, from db/db_impl/db_impl.cc:
//   <time> <thread> [db/db_impl/db_impl.cc:788] STATISTICS:
//    rocksdb.block.cache.miss COUNT : 5
//   rocksdb.block.cache.hit COUNT : 17
struct LogLine {
  enum class Kind {
    kOther,
    kWritesDelayed,     // cf, value = the delayed write rate in bytes/s (0 if not logged)
    kWritesStopped,     // cf
    kStatisticsHeader,  // a STATISTICS dump starts
    kBlockCacheHit,     // value = cumulative ticker count
    kBlockCacheMiss,    // value = cumulative ticker count
  };
  Kind kind = Kind::kOther;
  std::string cf;
  uint64_t value = 0;
};
LogLine ParseLogLine(std::string_view line);

}  // namespace statewatch::collectors
