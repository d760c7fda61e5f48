// SampleStore on real SQLite files: round trips, persistence across reopen, NaN, replacement,
// schema versions and files that are not databases.
#include "statewatch/storage/sample_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <fstream>

#include "embedded-state/test_util.h"
#include "statewatch/storage/labels_text.h"

namespace statewatch::storage {
namespace {

using statewatch::testing::TempDir;
using ::testing::HasSubstr;

// The journal mode of the SQLite file at `path`, read with a connection of its own.
std::string JournalMode(const std::string& path) {
  sqlite3* db = nullptr;
  std::string mode;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return mode;
}

rules::Sample S(const std::string& state, int64_t t, double v) {
  return rules::Sample{"statewatch_state_keys", {{"job", "cdc"}, {"state", state}}, t, v};
}

TEST(LabelsTextTest, RoundTripsWithEscapesAndSorting) {
  rules::Labels labels = {{"state", "a\"b\\c\nd"}, {"job", "cdc"}};
  const std::string text = LabelsToText(labels);
  EXPECT_EQ(text, R"({job="cdc",state="a\"b\\c\nd"})");
  auto back = LabelsFromText(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, (rules::Labels{{"job", "cdc"}, {"state", "a\"b\\c\nd"}}));
  EXPECT_EQ(LabelsToText({}), "{}");
  for (const char* bad : {"", "{", "{a}", "{a=\"x}", "{a=\"x\"", "{a=\"\\q\"}", "{}x"}) {
    EXPECT_FALSE(LabelsFromText(bad).ok()) << bad;
  }
}

TEST(SampleStoreTest, AppendsQueriesAndSurvivesReopen) {
  TempDir dir;
  const std::string path = dir.Sub("history.db");
  {
    auto store = SampleStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_SW_OK(
        (*store)->Append({S("orders", 1000, 1), S("orders", 2000, 2), S("seen", 1000, 7)}));
    ASSERT_SW_OK((*store)->Append({S("orders", 3000, NAN), S("orders", 2000, 2.5)}));
  }
  auto store = SampleStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto points =
      (*store)->Query("statewatch_state_keys", {{"state", "orders"}, {"job", "cdc"}}, 0, 10'000);
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  ASSERT_EQ(points->size(), 3u);
  EXPECT_EQ((*points)[0].value, 1);
  EXPECT_EQ((*points)[1].value, 2.5);  // the later write for t=2000 replaced the first
  EXPECT_TRUE(std::isnan((*points)[2].value));
  auto window =
      (*store)->Query("statewatch_state_keys", {{"job", "cdc"}, {"state", "orders"}}, 1500, 2500);
  EXPECT_EQ(window->size(), 1u);
  EXPECT_TRUE((*store)->Query("nope", {}, 0, 1).value().empty());
  auto series = (*store)->ListSeries();
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].samples, 3);
  EXPECT_EQ((*series)[0].first_millis, 1000);
  EXPECT_EQ((*series)[0].last_millis, 3000);
}

TEST(SampleStoreTest, UsesWriteAheadLogging) {
  TempDir dir;
  const std::string path = dir.Sub("history.db");
  auto store = SampleStore::Open(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(JournalMode(path), "wal");
}

TEST(SampleStoreTest, RefusesANewerSchemaWithoutTouchingIt) {
  TempDir dir;
  const std::string path = dir.Sub("history.db");
  { ASSERT_TRUE(SampleStore::Open(path).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (7); PRAGMA journal_mode=DELETE",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SampleStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsFailedPrecondition());
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 7"));
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_EQ(JournalMode(path), "delete");  // not even the journal mode was changed
}

TEST(SampleStoreTest, NamesTheFileWhenItIsNotADatabaseOrCannotBeOpened) {
  TempDir dir;
  const std::string garbage = dir.Sub("garbage.db");
  std::ofstream(garbage) << std::string(4096, 'x');
  auto store = SampleStore::Open(garbage);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsCorruption()) << store.status().ToString();
  EXPECT_THAT(store.status().message(), HasSubstr(garbage));

  const std::string missing_dir = dir.Sub("no/such/dir/history.db");
  auto missing = SampleStore::Open(missing_dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError()) << missing.status().ToString();
  EXPECT_THAT(missing.status().message(), HasSubstr(missing_dir));
}

}  // namespace
}  // namespace statewatch::storage
