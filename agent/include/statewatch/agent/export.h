// `statewatch export`: the daemon's stored sample history as the CSV `statewatch backtest`
// reads (backtest.h), so that a real incident can be replayed through the rules.
//
//   statewatch export --storage.path DIR [--from TIME] [--to TIME] > FILE.csv
//
// DIR is statewatchd's --storage.path; its samples.db is opened (SampleStore; safe while the
// daemon runs: SQLite's WAL lets this reader and the daemon's writer proceed together) and read
// in one snapshot (held until the last row is written: while a long export runs, the daemon's
// WAL file cannot be checkpointed past it and grows). TIME is unix seconds or RFC 3339
// (ParseApiTime, as the HTTP API takes it); the range is inclusive, and without --from / --to it is
// open on that side.
//
// Output: the header `timestamp,series,value`, then one row per stored sample in the store's order
// (SampleStore::ForEachSample): older samples grouped by series, then the recent ones in time
// order; per series always in time order (backtest sorts). `timestamp` is unix seconds, with up to
// three decimals when the sample has milliseconds; `series` is `name{labels}` (LabelsToText:
// sorted, Prometheus escapes; no braces without labels), quoted with doubled quotes when it holds a
// quote or comma; `value` the shortest text that reads back to the same double, `NaN`, `+Inf`,
// `-Inf`. Written in blocks of 1 MiB: memory does not grow with the history.
//
// Thread-safety: functions are reentrant.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "statewatch/state/status.h"
#include "statewatch/storage/sample_store.h"

namespace statewatch::agent {

// The flags of `statewatch export`, as given.
struct ExportOptions {
  std::string storage_path;  // --storage.path: the directory holding samples.db
  std::string from;          // --from: unix seconds or RFC 3339; empty: from the oldest sample
  std::string to;            // --to: likewise; empty: up to the newest sample
};

// Writes the CSV of the samples with from ≤ t ≤ to to `out`; *rows (when given) gets the number
// of samples written. IOError when `out` fails, the store's error when reading fails.
Status ExportCsv(storage::SampleStore& store, int64_t from_millis, int64_t to_millis,
                 std::ostream& out, uint64_t* rows = nullptr);

// The CSV spellings of one row's fields (also what backtest reads).
std::string CsvTimestamp(int64_t millis);     // 1767225600000 → "1767225600"; 1500 → "1.5"
std::string CsvValue(double value);           // shortest round trip; "NaN", "+Inf", "-Inf"
std::string CsvField(std::string_view text);  // quoted ("" for ") only when it must be

// The whole subcommand: the CSV to `out`, errors to `err`. Exit code 0, or 1 on any error (a
// bad time, from after to, no samples.db in the directory, a store that cannot be read).
int RunExport(const ExportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace statewatch::agent
