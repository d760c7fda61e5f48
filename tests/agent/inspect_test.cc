// `statewatch inspect` as a library: classification (missing, empty, unknown), real RocksDB
// directories written by the engine (TTL filter per column family, planted LOG stalls), one
// held open by a writer in another process (its pid named, nothing in the directory changed),
// checkpoint roots written by the engine and built in Flink's layout, and the rules on
// synthetic reports.
#include "statewatch/agent/inspect.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "agent/inspect_fixtures.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/checkpoint_dir.h"
#include "statewatch/state/checkpoint.h"

namespace statewatch::agent {
namespace {

namespace fs = std::filesystem;
using statewatch::testing::kWriterVariable;
using statewatch::testing::MakeBackend;
using statewatch::testing::MakeEngineDatabase;
using statewatch::testing::RunWriter;
using statewatch::testing::SetMtime;
using statewatch::testing::Snapshot;
using statewatch::testing::TempDir;
using statewatch::testing::TestOptions;
using statewatch::testing::WriteFile;
using statewatch::testing::WriterProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kT0 = 1'767'225'600;  // 2026-01-01T00:00:00Z

InspectReport MustInspect(const std::string& path, const InspectOptions& options = {}) {
  Result<InspectReport> r = Inspect(path, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : InspectReport{};
}

const ColumnFamilyReport* Cf(const InspectReport& r, const std::string& name) {
  if (!r.rocksdb) return nullptr;
  for (const ColumnFamilyReport& cf : r.rocksdb->column_families) {
    if (cf.name == name) return &cf;
  }
  return nullptr;
}

std::vector<const Finding*> FindingsOf(const InspectReport& r, const std::string& rule) {
  std::vector<const Finding*> out;
  for (const Finding& f : r.findings) {
    if (f.rule == rule) out.push_back(&f);
  }
  return out;
}

TEST(InspectTest, MissingPathIsNotFoundAndNamesIt) {
  TempDir dir;
  const Result<InspectReport> r = Inspect(dir.Sub("no-such-dir"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_EQ(r.status().message(),
            "inspect: " + dir.Sub("no-such-dir") + ": No such file or directory");
  std::ofstream(dir.Sub("plain-file")) << "x";
  const Result<InspectReport> file = Inspect(dir.Sub("plain-file"));
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("plain-file: Not a directory"));
}

TEST(InspectTest, EmptyAndUnknownDirectoriesAreNotInspected) {
  TempDir dir;
  const InspectReport empty = MustInspect(dir.path().string());
  EXPECT_EQ(empty.kind, InspectKind::kEmpty);
  EXPECT_THAT(empty.description, HasSubstr("empty directory"));
  EXPECT_EQ(empty.verdict, "not_inspected");
  EXPECT_EQ(ExitCode(empty), 2);

  WriteFile(dir.path() / "notes.txt", 10, kT0);
  WriteFile(dir.path() / "OPTIONS-000007", 10, kT0);
  fs::create_directories(dir.path() / "logs");
  WriteFile(dir.path() / "nested" / "db" / "CURRENT", 16, kT0);
  const InspectReport unknown = MustInspect(dir.path().string());
  EXPECT_EQ(unknown.kind, InspectKind::kUnknown);
  EXPECT_STREQ(KindName(unknown.kind), "unknown");
  EXPECT_THAT(unknown.description,
              HasSubstr("not a RocksDB directory or checkpoint root: 2 files, 2 directories"));
  EXPECT_THAT(unknown.description, HasSubstr("it has OPTIONS-000007 but no CURRENT"));
  EXPECT_THAT(unknown.description, Not(HasSubstr("RocksDB directories below it")))
      << "nested/db is two levels down";
  WriteFile(dir.path() / "logs" / "CURRENT", 16, kT0);
  EXPECT_THAT(MustInspect(dir.path().string()).description,
              HasSubstr("RocksDB directories below it: logs/"));
  EXPECT_EQ(ExitCode(unknown), 2);
  EXPECT_TRUE(unknown.findings.empty());
}

TEST(InspectTest, ClosedEngineDatabaseSaysWhichColumnFamilyHasATtlFilter) {
  TempDir dir;
  const std::string db = MakeEngineDatabase(dir);
  const auto before = Snapshot(db);
  const InspectReport r = MustInspect(db);
  EXPECT_EQ(Snapshot(db), before) << "inspect wrote into the directory";

  EXPECT_EQ(r.kind, InspectKind::kRocksDb);
  ASSERT_TRUE(r.rocksdb);
  EXPECT_FALSE(r.rocksdb->in_use);
  EXPECT_FALSE(r.rocksdb->in_use_by_pid);
  EXPECT_THAT(r.rocksdb->rocksdb_version, ::testing::StartsWith("7."));
  EXPECT_THAT(r.rocksdb->options_file, ::testing::StartsWith("OPTIONS-"));
  const ColumnFamilyReport* orders = Cf(r, "orders");
  const ColumnFamilyReport* seen = Cf(r, "seen");
  ASSERT_TRUE(orders && seen);
  EXPECT_EQ(orders->ttl_compaction_filter, true);
  EXPECT_EQ(orders->compaction_filter_factory, "statewatch.TtlCompactionFilterFactory");
  EXPECT_EQ(seen->ttl_compaction_filter, false);
  EXPECT_EQ(seen->compaction_filter_factory, "");
  EXPECT_EQ(orders->estimated_keys, 3000u);  // fresh keys, flushed: the estimate is exact
  EXPECT_EQ(seen->estimated_keys, 3000u);
  EXPECT_GT(seen->sst_bytes, 0u);
  EXPECT_GE(seen->sst_files, 1u);
  ASSERT_FALSE(seen->levels.empty());
  EXPECT_EQ(seen->levels.front().level, 0);
  EXPECT_EQ(seen->options.at("level0_slowdown_writes_trigger"), 20u);  // RocksDB's default
  EXPECT_TRUE(r.rocksdb->log.present);
  EXPECT_EQ(r.rocksdb->log.delayed_count + r.rocksdb->log.stopped_count, 0u);

  // Rule (a) for the column family without a TTL only; "default" is empty.
  const auto missing = FindingsOf(r, "missing_ttl_compaction_filter");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_THAT(missing[0]->message, HasSubstr("column family 'seen' has no TTL compaction filter"));
  EXPECT_THAT(missing[0]->suggestion, HasSubstr("cleanupInRocksdbCompactFilter"));
  EXPECT_EQ(missing[0]->severity, Severity::kInfo);
  EXPECT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.verdict, "advice");
  EXPECT_EQ(ExitCode(r), 0);

  const std::string text = RenderText(r);
  EXPECT_THAT(text, HasSubstr("in use:    no"));
  EXPECT_THAT(text, HasSubstr("TTL filter          yes (statewatch.TtlCompactionFilterFactory)"));
  EXPECT_THAT(text, HasSubstr("~3000 (estimate)"));
}

TEST(InspectTest, PlantedStallLinesAreListedVerbatimAndDiagnosed) {
  TempDir dir;
  const std::string db = MakeEngineDatabase(dir);
  std::vector<std::string> planted;
  for (int i = 0; i < 12; ++i) {
    const std::string time = "2026/01/01-10:00:" + std::string(i < 10 ? "0" : "") +
                             std::to_string(i) + ".000000 7f3a2b1c0700";
    if (i == 4 || i == 9) {
      planted.push_back(time +
                        " [WARN] [db/column_family.cc:950] [orders] Stopping writes "
                        "because we have 36 level-0 files");
    } else if (i == 2 || i == 6) {
      planted.push_back(time +
                        " [WARN] [db/column_family.cc:1001] [seen] Stalling writes because "
                        "we have 4 immutable memtables (waiting for flush), "
                        "max_write_buffer_number is set to 4 rate 8388608");
    } else {
      planted.push_back(time +
                        " [WARN] [db/column_family.cc:1001] [orders] Stalling writes "
                        "because we have 20 level-0 files rate 13421772");
    }
  }
  {
    std::ofstream log(fs::path(db) / "LOG", std::ios::app);
    for (const std::string& line : planted) log << line << "\n";
    log << "2026/01/01-10:01:00.000000 7f3a2b1c0700 [db/db_impl/db_impl.cc:1000] unrelated\n";
  }
  InspectOptions options;
  options.log_lines = 10;
  const InspectReport r = MustInspect(db, options);
  ASSERT_TRUE(r.rocksdb);
  const LogReport& log = r.rocksdb->log;
  EXPECT_EQ(log.delayed_count, 10u);
  EXPECT_EQ(log.stopped_count, 2u);
  ASSERT_EQ(log.stalls.size(), 10u);
  EXPECT_EQ(log.stalls.front().line, planted[2]) << "the last ten, oldest first";
  EXPECT_EQ(log.stalls.back().line, planted[11]);
  EXPECT_EQ(log.stalls.back().timestamp, "2026/01/01-10:00:11.000000");
  EXPECT_EQ(log.stalls.back().cause, "we have 20 level-0 files");
  EXPECT_EQ(log.stalls.back().rate, 13421772u);
  EXPECT_EQ(log.stalls[7].cf, "orders");
  EXPECT_TRUE(log.stalls[7].stopped);

  const auto stalls = FindingsOf(r, "write_stalls");
  ASSERT_EQ(stalls.size(), 2u);
  const Finding& l0 = *stalls[0];  // (orders, level0_files) sorts before (seen, memtables)
  EXPECT_EQ(l0.severity, Severity::kCritical) << "writes were stopped";
  EXPECT_THAT(l0.message, HasSubstr("column family 'orders': writes delayed 8 times and stopped "
                                    "2 times in the LOG (last at 2026/01/01-10:00:11.000000)"));
  EXPECT_THAT(l0.message, HasSubstr("because we have 20 level-0 files"));
  EXPECT_THAT(l0.suggestion, HasSubstr("level0_slowdown_writes_trigger (now 20)"));
  EXPECT_THAT(l0.suggestion, HasSubstr("max_background_jobs (now "));
  const Finding& mem = *stalls[1];
  EXPECT_EQ(mem.severity, Severity::kWarning);
  EXPECT_THAT(mem.message, HasSubstr("column family 'seen': writes delayed 2 times"));
  EXPECT_THAT(mem.suggestion, HasSubstr("max_write_buffer_number (now 2)"));
  EXPECT_EQ(r.verdict, "critical");
  EXPECT_EQ(ExitCode(r), 1);
  EXPECT_THAT(RenderText(r), HasSubstr("  " + planted[11] + "\n"));
}

// --- A database held open by a writer in another process ---

TEST(InspectTest, DatabaseHeldOpenByAWriterInAnotherProcess) {
  if (const char* writer_dir = std::getenv(kWriterVariable)) RunWriter(writer_dir);

  TempDir dir;
  const std::string db = dir.Sub("db");
  WriterProcess writer(db);
  ASSERT_GT(writer.pid(), 0);
  ASSERT_EQ(writer.WaitReady(std::chrono::seconds(60)), 5000) << "the writer did not start";

  EXPECT_EQ(LockHolder(db), writer.pid());
  const auto before = Snapshot(db);
  const InspectReport r = MustInspect(db);
  EXPECT_EQ(Snapshot(db), before) << "inspect wrote into a live database's directory";
  ASSERT_TRUE(r.rocksdb);
  EXPECT_TRUE(r.rocksdb->in_use);
  EXPECT_EQ(r.rocksdb->in_use_by_pid, writer.pid());
  const ColumnFamilyReport* events = Cf(r, "events");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->estimated_keys, 5000u);
  EXPECT_EQ(events->ttl_compaction_filter, false);
  EXPECT_THAT(RenderText(r), HasSubstr("in use by pid " + std::to_string(writer.pid())));
  const auto json = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(json["in_use_by_pid"], writer.pid());
  EXPECT_EQ(FindingsOf(r, "missing_ttl_compaction_filter").size(), 1u);

  // Once the writer is gone the lock goes with it.
  ::kill(writer.pid(), SIGKILL);
  ::waitpid(writer.pid(), nullptr, 0);
  EXPECT_EQ(LockHolder(db), std::nullopt);
}

// --- Checkpoint roots ---

double LeastSquaresSlope(const std::vector<std::pair<double, double>>& points) {
  double mx = 0, my = 0;
  for (const auto& [x, y] : points) {
    mx += x;
    my += y;
  }
  mx /= static_cast<double>(points.size());
  my /= static_cast<double>(points.size());
  double sxy = 0, sxx = 0;
  for (const auto& [x, y] : points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
  }
  return sxy / sxx;
}

TEST(InspectTest, StatewatchCheckpointRootHistoryAndGrowth) {
  TempDir dir;
  ManualClock clock(1'000'000);
  BackendOptions o = TestOptions("rocksdb", &clock, dir);
  auto backend = MakeBackend(o);
  auto* s = *backend->GetValueState(ValueStateDescriptor<std::string>("orders"));
  CheckpointOptions co;
  co.root = dir.Sub("checkpoints");
  co.incremental = true;
  co.retained = 3;
  auto coordinator = *CheckpointCoordinator::Open(backend.get(), co);
  for (int round = 0; round < 4; ++round) {
    for (int k = 0; k < 2000; ++k) {  // new keys every round: the state grows
      ASSERT_SW_OK(backend->SetCurrentKey(round * 2000 + k));
      ASSERT_SW_OK(s->Update(std::string(64, 'v')));
    }
    Result<CheckpointMetadata> c = coordinator->Trigger();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    // Completed an hour apart, as far as anyone reading the directory can tell.
    SetMtime(fs::path(co.root) / ("chk-" + std::to_string(c->id)) / "_metadata",
             kT0 + 3600.0 * round);
  }
  const CheckpointRecord last = *coordinator->Stats().last_completed;

  const auto before = Snapshot(co.root);
  const InspectReport r = MustInspect(co.root);
  EXPECT_EQ(Snapshot(co.root), before);
  EXPECT_EQ(r.kind, InspectKind::kCheckpointRoot);
  EXPECT_EQ(r.description, "checkpoint root (statewatch)");
  ASSERT_EQ(r.checkpoints.size(), 1u);
  const CheckpointJobReport& job = r.checkpoints[0];
  EXPECT_EQ(job.format, "statewatch");
  EXPECT_EQ(job.listing.job_id, "");
  ASSERT_EQ(job.listing.complete.size(), 3u) << "retained 3 of 4";
  std::vector<uint64_t> ids;
  std::vector<std::pair<double, double>> points;
  for (const collectors::CompletedCheckpoint& c : job.listing.complete) {
    ids.push_back(c.id);
    EXPECT_TRUE(c.from_metadata);
    ASSERT_TRUE(c.completed_seconds);
    points.emplace_back((*c.completed_seconds - kT0) / 3600,
                        static_cast<double>(c.full_size_bytes));
  }
  EXPECT_THAT(ids, ElementsAre(2, 3, 4));
  EXPECT_LT(points[0].second, points[1].second);
  EXPECT_LT(points[1].second, points[2].second);
  EXPECT_EQ(job.listing.complete.back().full_size_bytes, last.full_size_bytes);
  EXPECT_EQ(job.listing.complete.back().delta_size_bytes, last.delta_size_bytes);
  EXPECT_TRUE(job.listing.incomplete.empty());
  EXPECT_GT(job.listing.shared_bytes, 0u);

  ASSERT_TRUE(job.growth);
  EXPECT_EQ(job.growth->checkpoints, 3u);
  EXPECT_DOUBLE_EQ(job.growth->span_seconds, 7200);
  const double slope = LeastSquaresSlope(points);
  EXPECT_GT(job.growth->bytes_per_hour, 0);
  EXPECT_NEAR(job.growth->bytes_per_hour, slope, 1e-6 * slope);
  EXPECT_THAT(job.growth->method, HasSubstr("least-squares"));

  const auto growth = FindingsOf(r, "checkpoint_growth");
  ASSERT_EQ(growth.size(), 1u);
  EXPECT_THAT(growth[0]->message, HasSubstr("checkpoint full size grows by"));
  EXPECT_THAT(growth[0]->message, HasSubstr("least squares over 3 retained checkpoints"));
  EXPECT_EQ(r.verdict, "warning");
  EXPECT_EQ(ExitCode(r), 1);
  EXPECT_THAT(RenderText(r), HasSubstr("2026-01-01T02:00:00Z"));
}

TEST(InspectTest, FlinkCheckpointsDirSizesFromStatOneSectionPerJob) {
  TempDir dir;
  const fs::path a = dir.path() / "a1";
  WriteFile(a / "shared" / "s1", 1000, kT0 - 10);
  WriteFile(a / "chk-1" / "_metadata", 10, kT0);
  WriteFile(a / "shared" / "s2", 2000, kT0 + 3600 - 10);
  WriteFile(a / "chk-2" / "_metadata", 10, kT0 + 3600);
  WriteFile(a / "shared" / "s3", 3000, kT0 + 7200 - 10);
  WriteFile(a / "chk-3" / "_metadata", 10, kT0 + 7200);
  WriteFile(a / "shared" / "s4", 500, kT0 + 7300);  // uploaded for chk-4, still in progress
  WriteFile(a / "chk-4" / "op-state", 5, kT0 + 7300);
  fs::create_directories(a / "chk-5");
  WriteFile(dir.path() / "b2" / "chk-7" / "_metadata", 20, kT0);
  WriteFile(dir.path() / "b2" / "shared" / "x", 5, kT0 - 1);
  WriteFile(dir.path() / "logs" / "jobmanager.log", 100, kT0);  // not a job

  const InspectReport r = MustInspect(dir.path().string());
  EXPECT_EQ(r.kind, InspectKind::kCheckpointRoot);
  EXPECT_THAT(r.description, HasSubstr("2 jobs (flink)"));
  ASSERT_EQ(r.checkpoints.size(), 2u);
  const CheckpointJobReport& ja = r.checkpoints[0];
  const CheckpointJobReport& jb = r.checkpoints[1];
  EXPECT_EQ(ja.listing.job_id, "a1");
  EXPECT_EQ(jb.listing.job_id, "b2");
  EXPECT_EQ(ja.format, "flink");
  ASSERT_EQ(ja.listing.complete.size(), 3u);
  std::vector<uint64_t> full, delta;
  for (const auto& c : ja.listing.complete) {
    full.push_back(c.full_size_bytes);
    delta.push_back(c.delta_size_bytes);
    EXPECT_FALSE(c.from_metadata);
  }
  // Own files plus the shared files written before each completed.
  EXPECT_THAT(full, ElementsAre(1010, 3010, 6010));
  EXPECT_THAT(delta, ElementsAre(1010, 2010, 3010));
  EXPECT_THAT(ja.listing.incomplete, ElementsAre(4, 5));
  EXPECT_EQ(ja.listing.shared_bytes, 6500u);
  ASSERT_TRUE(ja.growth);
  EXPECT_NEAR(ja.growth->bytes_per_hour, 2500, 1e-6);  // (6010 − 1010) / 2 h, least squares
  EXPECT_EQ(jb.listing.complete.size(), 1u);
  EXPECT_EQ(jb.listing.complete[0].full_size_bytes, 25u);
  EXPECT_FALSE(jb.growth) << "one checkpoint: no rate";

  const auto growth = FindingsOf(r, "checkpoint_growth");
  ASSERT_EQ(growth.size(), 1u);
  EXPECT_THAT(growth[0]->message, HasSubstr("job 'a1': checkpoint full size grows by 2.4 KiB/h"));
  const auto incomplete = FindingsOf(r, "incomplete_checkpoints");
  ASSERT_EQ(incomplete.size(), 1u);
  EXPECT_THAT(incomplete[0]->message,
              HasSubstr("job 'a1': 2 incomplete checkpoints (chk-4, chk-5) without _metadata"));
  EXPECT_EQ(r.verdict, "warning");

  // The collector reads the same walk: its latest full size leaves chk-4's upload out.
  collectors::CheckpointDirCollector collector("job", "chk", a.string());
  std::vector<rules::Sample> samples;
  ASSERT_SW_OK(collector.Collect(0, &samples));
  bool seen = false;
  for (const rules::Sample& s : samples) {
    if (s.series != "statewatch_checkpoint_full_size_bytes") continue;
    EXPECT_EQ(s.value, 6010.0);
    seen = true;
  }
  EXPECT_TRUE(seen);
}

TEST(InspectTest, SteadyCheckpointsAndOneInProgressAreHealthy) {
  TempDir dir;
  for (int i = 1; i <= 4; ++i) {
    WriteFile(dir.path() / ("chk-" + std::to_string(i)) / "_metadata", 100, kT0 + 3600.0 * i);
  }
  fs::create_directories(dir.path() / "chk-5");
  fs::create_directories(dir.path() / "shared");
  const InspectReport r = MustInspect(dir.path().string());
  ASSERT_EQ(r.checkpoints.size(), 1u);
  ASSERT_TRUE(r.checkpoints[0].growth);
  EXPECT_EQ(r.checkpoints[0].growth->bytes_per_hour, 0);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.verdict, "healthy");
  EXPECT_EQ(ExitCode(r), 0);
  EXPECT_THAT(RenderText(r), HasSubstr("findings:  none — no rule fired"));
}

// --- The rules on synthetic reports ---

InspectReport OneColumnFamily(uint64_t pending, std::map<std::string, uint64_t> options = {}) {
  InspectReport r;
  r.kind = InspectKind::kRocksDb;
  r.rocksdb.emplace();
  ColumnFamilyReport cf;
  cf.name = "orders";
  cf.pending_compaction_bytes = pending;
  cf.ttl_compaction_filter = true;
  cf.options = std::move(options);
  r.rocksdb->column_families.push_back(cf);
  r.rocksdb->db_options["max_background_jobs"] = 2;
  return r;
}

TEST(InspectTest, PendingCompactionRuleMeasuresAgainstTheSoftLimit) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  EXPECT_TRUE(Diagnose(OneColumnFamily(31 * kGiB)).empty()) << "below half of 64 GiB";
  const auto warn = Diagnose(OneColumnFamily(40 * kGiB));
  ASSERT_EQ(warn.size(), 1u);
  EXPECT_EQ(warn[0].rule, "pending_compaction_bytes");
  EXPECT_EQ(warn[0].severity, Severity::kWarning);
  EXPECT_THAT(warn[0].message, HasSubstr("40.0 GiB of compaction pending, 62% of the 64.0 GiB"));
  EXPECT_THAT(warn[0].suggestion, HasSubstr("max_background_jobs (now 2)"));
  EXPECT_EQ(VerdictOf(InspectKind::kRocksDb, warn), "warning");
  const auto critical = Diagnose(OneColumnFamily(70 * kGiB));
  ASSERT_EQ(critical.size(), 1u);
  EXPECT_EQ(critical[0].severity, Severity::kCritical);
  EXPECT_EQ(VerdictOf(InspectKind::kRocksDb, critical), "critical");
  // A configured soft limit is the measure; 0 means "none", judged against the default.
  EXPECT_EQ(
      Diagnose(OneColumnFamily(6 * kGiB, {{"soft_pending_compaction_bytes_limit", 10 * kGiB}}))
          .size(),
      1u);
  EXPECT_TRUE(
      Diagnose(OneColumnFamily(6 * kGiB, {{"soft_pending_compaction_bytes_limit", 0}})).empty());

  InspectReport healthy = OneColumnFamily(0);
  healthy.findings = Diagnose(healthy);
  healthy.verdict = VerdictOf(healthy.kind, healthy.findings);
  EXPECT_EQ(healthy.verdict, "healthy");
  EXPECT_EQ(ExitCode(healthy), 0);
  EXPECT_EQ(VerdictOf(InspectKind::kEmpty, {}), "not_inspected");
}

TEST(InspectTest, JsonHasTheDocumentedFields) {
  TempDir dir;
  const std::string db = MakeEngineDatabase(dir);
  const nlohmann::json j = nlohmann::json::parse(RenderJson(MustInspect(db)));
  for (const char* field :
       {"kind", "path", "description", "in_use", "in_use_by_pid", "rocksdb_version", "options_file",
        "column_families", "log", "checkpoints", "findings", "verdict", "exit_code"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["kind"], "rocksdb");
  EXPECT_EQ(j["path"], db);
  EXPECT_TRUE(j["in_use_by_pid"].is_null());
  EXPECT_TRUE(j["checkpoints"].is_null());
  EXPECT_EQ(j["verdict"], "advice");
  EXPECT_EQ(j["exit_code"], 0);
  const nlohmann::json& cfs = j["column_families"];
  ASSERT_TRUE(cfs.is_array());
  ASSERT_EQ(cfs.size(), 3u);  // default, orders, seen
  const nlohmann::json& orders = cfs[1];
  EXPECT_EQ(orders["name"], "orders");
  EXPECT_EQ(orders["estimated_keys"], 3000);
  EXPECT_EQ(orders["estimated_keys_is_estimate"], true);
  EXPECT_EQ(orders["ttl_compaction_filter"], true);
  EXPECT_EQ(orders["compaction_filter_factory"], "statewatch.TtlCompactionFilterFactory");
  for (const char* field : {"sst_files", "sst_bytes", "levels", "pending_compaction_bytes",
                            "live_data_bytes", "memtable_bytes", "compaction_filter", "options"}) {
    EXPECT_TRUE(orders.contains(field)) << field;
  }
  EXPECT_EQ(cfs[2]["ttl_compaction_filter"], false);
  const nlohmann::json& log = j["log"];
  EXPECT_EQ(log["present"], true);
  EXPECT_TRUE(log["stalls"].is_array());
  EXPECT_TRUE(log["causes"].is_array());
  const nlohmann::json& findings = j["findings"];
  ASSERT_EQ(findings.size(), 1u);
  const nlohmann::json& finding = findings[0];
  EXPECT_EQ(finding["rule"], "missing_ttl_compaction_filter");
  EXPECT_EQ(finding["severity"], "info");
  for (const char* field : {"condition", "message", "suggestion"}) {
    EXPECT_TRUE(finding[field].is_string()) << field;
  }
}

}  // namespace
}  // namespace statewatch::agent
