#include "embedded-state/test_util.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "list_merge_operator.h"

namespace statewatch::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  path_ = root / ("statewatch-test-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

BackendOptions TestOptions(const std::string& backend, const Clock* clock, const TempDir& dir) {
  BackendOptions o;
  o.backend = backend;
  o.clock = clock;
  o.rocksdb.local_directory = dir.Sub("db");
  o.rocksdb.block_cache_bytes = 8u << 20;
  o.rocksdb.write_buffer_bytes = 4u << 20;
  return o;
}

std::unique_ptr<KeyedStateBackend> MakeBackend(const BackendOptions& options) {
  auto backend = NewKeyedStateBackend(options);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  return backend.ok() ? std::move(*backend) : nullptr;
}

namespace {
struct RawDb {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;
  ~RawDb() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
  rocksdb::ColumnFamilyHandle* Find(const std::string& cf) const {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == cf) return handles[i];
    }
    return nullptr;
  }
};

bool OpenRaw(const std::string& dir, RawDb* raw) {
  rocksdb::Options options;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, dir, &raw->names);
  if (!s.ok()) {
    ADD_FAILURE() << "ListColumnFamilies(" << dir << "): " << s.ToString();
    return false;
  }
  // The merge operator lets the raw reader resolve list appends not yet compacted.
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.merge_operator = internal::NewListAppendOperator();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : raw->names) cfs.emplace_back(n, cf_options);
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::OpenForReadOnly(options, dir, cfs, &raw->handles, &db);
  if (!s.ok()) {
    ADD_FAILURE() << "OpenForReadOnly(" << dir << "): " << s.ToString();
    return false;
  }
  raw->db.reset(db);
  return true;
}
}  // namespace

int64_t CountRawKeys(const std::string& dir, const std::string& cf) {
  RawDb raw;
  if (!OpenRaw(dir, &raw)) return -1;
  rocksdb::ColumnFamilyHandle* h = raw.Find(cf);
  if (h == nullptr) {
    ADD_FAILURE() << "no column family " << cf << " in " << dir;
    return -1;
  }
  std::unique_ptr<rocksdb::Iterator> it(raw.db->NewIterator(rocksdb::ReadOptions(), h));
  int64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return n;
}

std::string RawValueOfOnlyKey(const std::string& dir, const std::string& cf) {
  RawDb raw;
  if (!OpenRaw(dir, &raw)) return {};
  rocksdb::ColumnFamilyHandle* h = raw.Find(cf);
  if (h == nullptr) return {};
  std::unique_ptr<rocksdb::Iterator> it(raw.db->NewIterator(rocksdb::ReadOptions(), h));
  it->SeekToFirst();
  if (!it->Valid()) return {};
  std::string v = it->value().ToString();
  it->Next();
  EXPECT_FALSE(it->Valid()) << "more than one key in " << cf;
  return v;
}

}  // namespace statewatch::testing
