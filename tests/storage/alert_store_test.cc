// AlertStore on real SQLite files: the alert log, active alerts, the outbox (idempotent
// enqueue, due order, reschedule/deliver/drop), kill -9 with items queued, schema versions and
// files that are not alert stores.
#include "statewatch/storage/alert_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <thread>

#include "embedded-state/test_util.h"
#include "statewatch/storage/sample_store.h"
#include "storage/kill_child.h"
#include "storage/raw_sqlite.h"

namespace statewatch::storage {
namespace {

using statewatch::testing::JournalMode;
using statewatch::testing::RawExec;
using statewatch::testing::RawQuery;
using statewatch::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

class AlertStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto store = AlertStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  int64_t Enqueue(const std::string& receiver, const std::string& key, const std::string& payload,
                  int64_t now) {
    auto id = store_->Enqueue(receiver, key, payload, now);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.value_or(-1);
  }
  std::vector<std::string> DueKeys(int64_t now, size_t limit = 100) {
    auto due = store_->Due(now, limit);
    EXPECT_TRUE(due.ok()) << due.status().ToString();
    std::vector<std::string> keys;
    for (const OutboxItem& item : due.value_or({})) keys.push_back(item.dedup_key);
    return keys;
  }

  TempDir dir_;
  const std::string path_ = dir_.Sub("alerts.db");
  std::unique_ptr<AlertStore> store_;
};

AlertLogEntry Transition(int64_t t, const std::string& fingerprint, const std::string& from,
                         const std::string& to) {
  AlertLogEntry e;
  e.t_millis = t;
  e.alertname = "StateGrowsWithoutBound";
  e.labels = R"({job="cdc",state="orders"})";
  e.fingerprint = fingerprint;
  e.from_state = from;
  e.to_state = to;
  e.value = 1.5;
  e.annotations_json = R"({"summary":"orders grows"})";
  return e;
}

TEST_F(AlertStoreTest, LogsTransitionsNewestFirstAndPrunes) {
  ASSERT_SW_OK(store_->LogTransitions({Transition(1000, "f1", "inactive", "pending")}));
  AlertLogEntry nan = Transition(2000, "f2", "inactive", "pending");
  nan.value = NAN;
  // One evaluation's transitions in one call, kept in their order.
  ASSERT_SW_OK(store_->LogTransitions({Transition(2000, "f1", "pending", "firing"), nan}));
  ASSERT_SW_OK(store_->LogTransitions({}));
  ASSERT_SW_OK(store_->LogTransitions({Transition(3000, "f1", "firing", "inactive")}));
  Reopen();

  auto all = store_->Transitions(0, 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].t_millis, 3000);
  EXPECT_EQ((*all)[1].fingerprint, "f2");  // same time: the later logged comes first
  EXPECT_TRUE(std::isnan((*all)[1].value));
  const AlertLogEntry& e = (*all)[2];
  EXPECT_EQ(e.alertname, "StateGrowsWithoutBound");
  EXPECT_EQ(e.labels, R"({job="cdc",state="orders"})");
  EXPECT_EQ(e.from_state, "pending");
  EXPECT_EQ(e.to_state, "firing");
  EXPECT_EQ(e.value, 1.5);
  EXPECT_EQ(e.annotations_json, R"({"summary":"orders grows"})");

  EXPECT_EQ(store_->Transitions(2000, 100)->size(), 3u);
  EXPECT_EQ(store_->Transitions(0, 1)->size(), 1u);
  ASSERT_SW_OK(store_->PruneLog(2000));
  auto left = store_->Transitions(0, 100);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 3u);
  EXPECT_EQ(left->back().t_millis, 2000);
}

ActiveAlertRecord Active(const std::string& fingerprint, const std::string& state) {
  ActiveAlertRecord a;
  a.fingerprint = fingerprint;
  a.alertname = "MissingTtl";
  a.labels = R"({state=")" + fingerprint + R"("})";
  a.state = state;
  a.active_at_millis = 100;
  a.fired_at_millis = state == "firing" ? 200 : 0;
  a.last_active_millis = 300;
  a.value = 42.5;
  a.annotations_json = R"({"description":"no TTL"})";
  return a;
}

TEST_F(AlertStoreTest, ReplacesActiveAlertsAsAWholeAndKeepsThemAcrossReopen) {
  ASSERT_SW_OK(store_->ReplaceActiveAlerts(
      {Active("b", "firing"), Active("a", "pending"), Active("c", "pending")}));
  Reopen();
  auto active = store_->ActiveAlerts();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_EQ(active->size(), 3u);
  const ActiveAlertRecord& b = (*active)[1];
  EXPECT_EQ(b.fingerprint, "b");
  EXPECT_EQ(b.alertname, "MissingTtl");
  EXPECT_EQ(b.labels, R"({state="b"})");
  EXPECT_EQ(b.state, "firing");
  EXPECT_EQ(b.active_at_millis, 100);
  EXPECT_EQ(b.fired_at_millis, 200);
  EXPECT_EQ(b.last_active_millis, 300);
  EXPECT_EQ(b.value, 42.5);
  EXPECT_EQ(b.annotations_json, R"({"description":"no TTL"})");

  ASSERT_SW_OK(store_->ReplaceActiveAlerts({Active("c", "firing")}));
  active = store_->ActiveAlerts();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].state, "firing");

  // Two records with one fingerprint: refused, and nothing changed.
  const Status dup = store_->ReplaceActiveAlerts({Active("x", "pending"), Active("x", "firing")});
  EXPECT_TRUE(dup.IsInvalidArgument()) << dup.ToString();
  active = store_->ActiveAlerts();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].fingerprint, "c");

  ASSERT_SW_OK(store_->ReplaceActiveAlerts({}));
  EXPECT_TRUE(store_->ActiveAlerts()->empty());
}

// An evaluation's notifications, log entries and active set land together or not at all: a
// failure in the last write (here an injected fault on the active set) leaves the outbox and
// the log as they were, and a retry of the same evaluation stores each once.
TEST_F(AlertStoreTest, CommitEvaluationStoresAllOrNothing) {
  const std::vector<QueuedNotification> notifications = {{"ops", "a|firing|200|0", "{}"},
                                                         {"pager", "a|firing|200|0", "{}"}};
  const std::vector<AlertLogEntry> log = {Transition(200, "a", "pending", "firing")};
  ASSERT_SW_OK(store_->CommitEvaluation({}, {Transition(100, "a", "inactive", "pending")},
                                        {Active("a", "pending")}, 100));

  RawExec(path_,
          "CREATE TRIGGER fault BEFORE INSERT ON active_alerts WHEN NEW.state = 'firing' "
          "BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
  const Status failed = store_->CommitEvaluation(notifications, log, {Active("a", "firing")}, 200);
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(failed.ToString(), HasSubstr("injected fault"));
  EXPECT_EQ(store_->QueuedCount().value(), 0u);
  EXPECT_EQ(store_->Transitions(0, 10).value().size(), 1u);
  EXPECT_EQ(store_->ActiveAlerts().value()[0].state, "pending");
  // Duplicate fingerprints are refused before anything is written.
  EXPECT_TRUE(store_
                  ->CommitEvaluation(notifications, log,
                                     {Active("b", "pending"), Active("b", "pending")}, 200)
                  .IsInvalidArgument());
  EXPECT_EQ(store_->QueuedCount().value(), 0u);

  RawExec(path_, "DROP TRIGGER fault");
  ASSERT_SW_OK(store_->CommitEvaluation(notifications, log, {Active("a", "firing")}, 200));
  // The same notifications again (a retry): still one item per receiver and key.
  ASSERT_SW_OK(store_->CommitEvaluation(notifications, {}, {Active("a", "firing")}, 250));
  Reopen();
  EXPECT_EQ(store_->QueuedCount().value(), 2u);
  EXPECT_EQ(store_->Transitions(0, 10).value().size(), 2u);
  EXPECT_EQ(store_->ActiveAlerts().value()[0].state, "firing");
}

TEST_F(AlertStoreTest, EnqueueIsIdempotentPerReceiverAndKeyWhileQueued) {
  const int64_t id = Enqueue("ops", "fp|firing|t0", "body-1", 1000);
  EXPECT_EQ(Enqueue("ops", "fp|firing|t0", "body-2", 2000), id);  // same item, unchanged
  EXPECT_EQ(*store_->QueuedCount(), 1u);
  auto due = store_->Due(kForever, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].payload, "body-1");
  EXPECT_EQ((*due)[0].created_millis, 1000);
  EXPECT_EQ((*due)[0].next_attempt_millis, 1000);
  EXPECT_EQ((*due)[0].attempts, 0);

  const int64_t other = Enqueue("audit", "fp|firing|t0", "body-1", 1000);  // another receiver
  EXPECT_NE(other, id);
  EXPECT_EQ(*store_->QueuedCount(), 2u);

  // Delivered: the key may be queued again, under a new id (ids are never reused).
  ASSERT_SW_OK(store_->MarkDelivered(id));
  ASSERT_SW_OK(store_->MarkDelivered(other));
  const int64_t again = Enqueue("ops", "fp|firing|t0", "body-3", 3000);
  EXPECT_GT(again, other);
}

TEST_F(AlertStoreTest, DueListsItemsWhoseTimeHasComeOldestFirst) {
  Enqueue("ops", "a", "A", 100);
  const int64_t b = Enqueue("ops", "b", "B", 200);
  Enqueue("ops", "c", "C", 300);
  EXPECT_THAT(DueKeys(50), ElementsAre());
  EXPECT_THAT(DueKeys(250), ElementsAre("a", "b"));
  EXPECT_THAT(DueKeys(kForever, 2), ElementsAre("a", "b"));
  EXPECT_EQ(*store_->NextAttemptMillis(), std::optional<int64_t>(100));

  // b failed and waits until 1000; a (enqueued before it) is still listed first.
  ASSERT_SW_OK(store_->Reschedule(b, 1000, "HTTP 503"));
  EXPECT_THAT(DueKeys(400), ElementsAre("a", "c"));
  EXPECT_THAT(DueKeys(1000), ElementsAre("a", "b", "c"));
  auto due = store_->Due(1000, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ((*due)[1].attempts, 1);
  EXPECT_EQ((*due)[1].last_error, "HTTP 503");
  EXPECT_EQ((*due)[1].next_attempt_millis, 1000);
}

TEST_F(AlertStoreTest, ReschedulesDeliversAndDropsByIdAndRecordsDrops) {
  const int64_t a = Enqueue("ops", "a", "A", 100);
  const int64_t b = Enqueue("ops", "b", "B", 200);
  const int64_t c = Enqueue("ops", "c", "C", 300);
  ASSERT_SW_OK(store_->Reschedule(a, 5000, "timeout"));
  ASSERT_SW_OK(store_->Reschedule(a, 9000, "HTTP 502"));
  EXPECT_EQ(*store_->NextAttemptMillis(), std::optional<int64_t>(200));

  ASSERT_SW_OK(store_->MarkDelivered(b));
  EXPECT_TRUE(store_->MarkDelivered(b).IsNotFound());
  EXPECT_TRUE(store_->Reschedule(b, 1, "x").IsNotFound());
  EXPECT_TRUE(store_->Drop(b, "x", 1).IsNotFound());

  ASSERT_SW_OK(store_->Drop(a, "HTTP 400: bad payload", 9500));
  ASSERT_SW_OK(store_->Drop(c, "HTTP 404", 9600));
  EXPECT_EQ(*store_->QueuedCount(), 0u);
  EXPECT_EQ(*store_->NextAttemptMillis(), std::nullopt);
  EXPECT_TRUE(store_->Due(kForever, 10)->empty());

  Reopen();
  auto dropped = store_->Dropped(10);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  ASSERT_EQ(dropped->size(), 2u);
  EXPECT_EQ((*dropped)[0].id, c);  // most recently dropped first
  const OutboxItem& first = (*dropped)[1];
  EXPECT_EQ(first.id, a);
  EXPECT_EQ(first.receiver, "ops");
  EXPECT_EQ(first.dedup_key, "a");
  EXPECT_EQ(first.payload, "A");
  EXPECT_EQ(first.attempts, 2);
  EXPECT_EQ(first.created_millis, 100);
  EXPECT_EQ(first.next_attempt_millis, 9500);  // when it was dropped
  EXPECT_EQ(first.last_error, "HTTP 400: bad payload");
  EXPECT_EQ(store_->Dropped(1)->size(), 1u);

  // A dropped key may be queued again; the log retention also prunes drop records.
  EXPECT_GT(Enqueue("ops", "a", "A2", 10'000), c);
  ASSERT_SW_OK(store_->PruneLog(9550));
  ASSERT_EQ(store_->Dropped(10)->size(), 1u);
  EXPECT_EQ((*store_->Dropped(10))[0].id, c);
}

TEST_F(AlertStoreTest, IsSafeToUseFromManyThreads) {
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([this, i] {
      for (int j = 0; j < kEach; ++j) {
        // Every thread also enqueues the shared keys: exactly one item each must result.
        EXPECT_TRUE(
            store_->Enqueue("ops", "t" + std::to_string(i) + "-" + std::to_string(j), "p", j).ok());
        EXPECT_TRUE(store_->Enqueue("ops", "shared-" + std::to_string(j), "p", j).ok());
        EXPECT_TRUE(store_->LogTransitions({Transition(j, "f", "pending", "firing")}).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(*store_->QueuedCount(), static_cast<size_t>(kThreads * kEach + kEach));
  EXPECT_EQ(store_->Transitions(0, 10'000)->size(), static_cast<size_t>(kThreads * kEach));
}

// kill -9 with notifications being queued: every id the child saw returned is there after
// reopening, with its payload. (synchronous=FULL also covers a power cut; kill -9 is what a test
// can do.)
TEST(AlertStoreCrashTest, SurvivesKill9WithEveryReportedItemQueued) {
  TempDir dir;
  const std::string path = dir.Sub("alerts.db");
  const std::vector<int64_t> reported = testing::RunChildAndKill(
      [&](const testing::ReportFn& report) {
        auto store = AlertStore::Open(path);
        if (!store.ok()) ::_exit(4);
        for (int64_t i = 0; i < 1'000'000; ++i) {
          auto id = (*store)->Enqueue("ops", "key-" + std::to_string(i),
                                      "payload-" + std::to_string(i), i);
          if (!id.ok()) ::_exit(5);
          // Pack (id, i) into one report: ids are small here.
          report(*id * 10'000'000 + i);
        }
      },
      /*kill_after=*/20);
  ASSERT_GE(reported.size(), 20u);

  auto store = AlertStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto items = (*store)->Due(kForever, 10'000'000);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  std::map<int64_t, OutboxItem> by_id;
  for (OutboxItem& item : *items) by_id[item.id] = std::move(item);
  for (int64_t r : reported) {
    const int64_t id = r / 10'000'000;
    const int64_t i = r % 10'000'000;
    auto it = by_id.find(id);
    ASSERT_NE(it, by_id.end()) << "reported item " << id << " is missing";
    EXPECT_EQ(it->second.dedup_key, "key-" + std::to_string(i));
    EXPECT_EQ(it->second.payload, "payload-" + std::to_string(i));
  }
  EXPECT_LE(by_id.size(), reported.size() + 1);  // at most one committed but unreported
}

TEST(AlertStoreOpenTest, RefusesANewerSchemaWithoutTouchingIt) {
  TempDir dir;
  const std::string path = dir.Sub("alerts.db");
  { ASSERT_TRUE(AlertStore::Open(path).ok()); }
  RawExec(path, "INSERT INTO schema_version VALUES (9); PRAGMA journal_mode=DELETE");
  auto store = AlertStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsFailedPrecondition()) << store.status().ToString();
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 9"));
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_EQ(JournalMode(path), "delete");
}

TEST(AlertStoreOpenTest, NamesTheFileWhenItIsNotAnAlertStoreOrCannotBeOpened) {
  TempDir dir;
  const std::string garbage = dir.Sub("garbage.db");
  std::ofstream(garbage) << std::string(4096, 'x');
  auto store = AlertStore::Open(garbage);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
  EXPECT_THAT(store.status().message(), HasSubstr(garbage));

  const std::string samples = dir.Sub("samples.db");
  { ASSERT_TRUE(SampleStore::Open(samples).ok()); }
  auto wrong = AlertStore::Open(samples);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.status().IsCorruption()) << wrong.status().ToString();
  EXPECT_THAT(wrong.status().message(), HasSubstr(samples));
  EXPECT_EQ(RawQuery(samples, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"), "0");

  const std::string missing = dir.Sub("no/such/dir/alerts.db");
  auto absent = AlertStore::Open(missing);
  ASSERT_FALSE(absent.ok());
  EXPECT_TRUE(absent.status().IsIOError()) << absent.status().ToString();
  EXPECT_THAT(absent.status().message(), HasSubstr(missing));
}

TEST(AlertStoreOpenTest, UsesWriteAheadLogging) {
  TempDir dir;
  const std::string path = dir.Sub("alerts.db");
  ASSERT_TRUE(AlertStore::Open(path).ok());
  EXPECT_EQ(JournalMode(path), "wal");
}

}  // namespace
}  // namespace statewatch::storage
