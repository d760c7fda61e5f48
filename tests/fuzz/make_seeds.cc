// fuzz_make_seeds OUT_DIR: writes seed inputs for checkpoint_metadata_fuzz and rocksdb_key_fuzz
// from what the engine itself writes — the `_metadata` and `keyed-state` files of a heap full
// checkpoint and savepoint and of a RocksDB incremental checkpoint, and the raw keys and values
// of a RocksDB backend's column families (in rocksdb_key_fuzz's input format) — into
// OUT_DIR/checkpoint_metadata_fuzz/ and OUT_DIR/rocksdb_key_fuzz/. Run once; the results are
// in tests/fuzz/corpus/ (scripts/fuzz does not run this).
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint_metadata.h"
#include "list_merge_operator.h"
#include "snapshot_codec.h"
#include "statewatch/state/checkpoint.h"
#include "statewatch/state/clock.h"
#include "statewatch/state/crc32c.h"
#include "statewatch/state/internal/encoding.h"
#include "statewatch/state/keyed_state_backend.h"

namespace {

namespace fs = std::filesystem;
using namespace statewatch;  // NOLINT: a tool, not library code

constexpr int64_t kNow = 1'767'225'600'000;

#define CHECK_OK(expr)                                     \
  do {                                                     \
    const ::statewatch::Status s_ = (expr);                \
    if (!s_.ok()) {                                        \
      std::cerr << #expr << ": " << s_.ToString() << "\n"; \
      std::exit(1);                                        \
    }                                                      \
  } while (0)

template <typename T>
T Value(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::cerr << what << ": " << r.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(*r);
}

void Copy(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  std::cout << to.string() << " (" << fs::file_size(to) << " bytes)\n";
}

void Write(const fs::path& to, const std::string& bytes) {
  std::ofstream(to, std::ios::binary) << bytes;
  std::cout << to.string() << " (" << bytes.size() << " bytes)\n";
}

// A few keys in every state kind, with and without TTL.
void Fill(KeyedStateBackend& b, ManualClock& clock) {
  const TtlConfig ttl = TtlConfig::Of(std::chrono::hours(1))
                            .CleanupFullSnapshot()
                            .CleanupIncrementally(3)
                            .CleanupInRocksdbCompactFilter(10);
  auto* counts = Value(b.GetValueState(ValueStateDescriptor<int64_t>("counts")), "counts");
  auto* seen = Value(
      b.GetValueState(ValueStateDescriptor<std::string>("seen").EnableTimeToLive(ttl)), "seen");
  auto* events = Value(b.GetListState(ListStateDescriptor<std::string>("events")), "events");
  auto* recent =
      Value(b.GetListState(ListStateDescriptor<int64_t>("recent").EnableTimeToLive(ttl)), "recent");
  auto* orders =
      Value(b.GetMapState(MapStateDescriptor<std::string, int64_t>("orders").EnableTimeToLive(
                TtlConfig::Of(std::chrono::hours(24)))),
            "orders");
  auto* total = Value(b.GetReducingState(ReducingStateDescriptor<int64_t>(
                          "total", [](const int64_t& a, const int64_t& x) { return a + x; })),
                      "total");
  for (int k = 0; k < 3; ++k) {
    CHECK_OK(b.SetCurrentKey("customer-" + std::to_string(k)));
    CHECK_OK(counts->Update(k + 1));
    CHECK_OK(seen->Update("2026-01-0" + std::to_string(k + 1)));
    CHECK_OK(events->Add("created"));
    CHECK_OK(events->Add("paid"));
    CHECK_OK(recent->Add(100 + k));
    CHECK_OK(orders->Put("order-" + std::to_string(k), 10 * k));
    CHECK_OK(total->Add(k));
    clock.Advance(std::chrono::minutes(40));  // the first key's TTL values expire in the end
  }
}

// Version 1 of the metadata format (no format byte, no file flags), from a decoded version 2.
std::string EncodeVersion1(const CheckpointMetadata& m) {
  using namespace statewatch::internal;  // NOLINT
  std::string out("SWCHKMD1");
  PutFixed32(&out, 1);
  PutFixed64(&out, m.id);
  PutFixed64(&out, static_cast<uint64_t>(m.timestamp_millis));
  PutString(&out, m.backend);
  PutVarint32(&out, static_cast<uint32_t>(m.max_parallelism));
  PutVarint32(&out, static_cast<uint32_t>(m.key_group_range.start));
  PutVarint32(&out, static_cast<uint32_t>(m.key_group_range.end + 1));
  PutVarint32(&out, static_cast<uint32_t>(m.states.size()));
  for (const StateMeta& s : m.states) PutString(&out, EncodeStateMeta(s));
  PutVarint32(&out, static_cast<uint32_t>(m.files.size()));
  for (const CheckpointFile& f : m.files) {
    PutString(&out, f.name);
    PutFixed64(&out, f.size);
    PutFixed32(&out, f.crc32c);
  }
  PutFixed32(&out, Crc32c(out));
  return out;
}

void CheckpointSeeds(const fs::path& work, const fs::path& out) {
  fs::create_directories(out);
  {  // Heap backend: full checkpoint and savepoint (keyed snapshots).
    ManualClock clock(kNow);
    BackendOptions o;
    o.clock = &clock;
    auto b = Value(NewKeyedStateBackend(o), "heap backend");
    Fill(*b, clock);
    CheckpointOptions c;
    c.root = (work / "heap-checkpoints").string();
    auto coordinator = Value(CheckpointCoordinator::Open(b.get(), c), "coordinator");
    const CheckpointMetadata m = Value(coordinator->Trigger(), "checkpoint");
    Copy(fs::path(m.directory) / "_metadata", out / "heap_full_checkpoint_metadata");
    Copy(fs::path(m.directory) / "keyed-state", out / "heap_full_checkpoint_keyed_state");
    const std::string savepoint = (work / "savepoint").string();
    CHECK_OK(coordinator->TriggerSavepoint(savepoint).status());
    Copy(fs::path(savepoint) / "_metadata", out / "savepoint_metadata");
    Copy(fs::path(savepoint) / "keyed-state", out / "savepoint_keyed_state");

    Write(out / "version1_metadata", EncodeVersion1(m));
    const std::string bytes = internal::EncodeCheckpointMetadata(m);
    Write(out / "bad_truncated_metadata", bytes.substr(0, bytes.size() / 2));
    std::string flipped = bytes;
    flipped[flipped.size() / 2] ^= 0x20;
    Write(out / "bad_checksum_metadata", flipped);
  }
  {  // RocksDB backend: incremental (native) checkpoint, metadata naming shared SST files.
    ManualClock clock(kNow);
    BackendOptions o;
    o.backend = "rocksdb";
    o.clock = &clock;
    o.rocksdb.local_directory = (work / "rocksdb-db").string();
    auto b = Value(NewKeyedStateBackend(o), "rocksdb backend");
    Fill(*b, clock);
    CheckpointOptions c;
    c.root = (work / "rocksdb-checkpoints").string();
    c.incremental = true;
    auto coordinator = Value(CheckpointCoordinator::Open(b.get(), c), "coordinator");
    const CheckpointMetadata m = Value(coordinator->Trigger(), "checkpoint");
    Copy(fs::path(m.directory) / "_metadata", out / "rocksdb_incremental_checkpoint_metadata");
  }
}

// rocksdb_key_fuzz's input header: kind, flags, ttl, now, key-group range [0, 127].
std::string Header(StateKind kind, uint8_t flags, int64_t ttl_millis, int64_t now) {
  std::string h;
  h.push_back(static_cast<char>(static_cast<uint8_t>(kind) - 1));  // the target adds one
  h.push_back(static_cast<char>(flags));
  for (int i = 0; i < 8; ++i)
    h.push_back(static_cast<char>(static_cast<uint64_t>(ttl_millis) >> (8 * i)));
  for (int i = 0; i < 8; ++i) h.push_back(static_cast<char>(static_cast<uint64_t>(now) >> (8 * i)));
  internal::PutKeyGroup(&h, 0);
  internal::PutKeyGroup(&h, 127);
  return h;
}

void RocksDbSeeds(const fs::path& work, const fs::path& out) {
  fs::create_directories(out);
  const std::string dir = (work / "rocksdb-raw").string();
  std::vector<StateMeta> metas;
  {
    ManualClock clock(kNow);
    BackendOptions o;
    o.backend = "rocksdb";
    o.clock = &clock;
    o.rocksdb.local_directory = dir;
    auto b = Value(NewKeyedStateBackend(o), "rocksdb backend");
    Fill(*b, clock);
    for (const std::string& name : b->StateNames())
      metas.push_back(Value(b->GetStateMeta(name), "meta"));
    CHECK_OK(b->Flush());
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const StateMeta& m : metas) {
    rocksdb::ColumnFamilyOptions cf;
    if (m.kind == StateKind::kList) cf.merge_operator = internal::NewListAppendOperator();
    descriptors.emplace_back(m.name, cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    std::cerr << "open " << dir << ": " << s.ToString() << "\n";
    std::exit(1);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  const int64_t now = kNow + 2 * 3600 * 1000;  // some TTL values have expired by now
  for (size_t i = 0; i < metas.size(); ++i) {
    const StateMeta& m = metas[i];
    uint8_t flags = 0;
    if (m.ttl.enabled()) flags |= 1 | 2 | 4;
    if (m.value_serializer == "str") flags |= 32;
    std::string seed = Header(m.kind, flags, m.ttl.ttl.count(), now);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i + 1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      internal::PutVarint32(&seed, static_cast<uint32_t>(it->key().size()));
      seed.append(it->key().data(), it->key().size());
      internal::PutVarint32(&seed, static_cast<uint32_t>(it->value().size()));
      seed.append(it->value().data(), it->value().size());
    }
    Write(out / (m.name + "_" + std::string(StateKindName(m.kind))), seed);
  }
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  // Malformed: a key too short for its key group, a composite whose length runs past the key,
  // a list element too short for its timestamp.
  std::string bad = Header(StateKind::kList, 1, 3600000, now);
  for (const std::string& piece :
       {std::string("\x01", 1), std::string("x"), std::string("\x00\x05\x09k", 4), std::string("v"),
        std::string("\x00\x05\x01k\x00", 5),
        std::string("\x03"
                    "abc")}) {
    internal::PutVarint32(&bad, static_cast<uint32_t>(piece.size()));
    bad += piece;
  }
  Write(out / "bad_short_key_long_composite_short_element", bad);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds OUT_DIR\n";
    return 2;
  }
  std::string pattern = (fs::temp_directory_path() / "statewatch-seeds-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path work(pattern);
  CheckpointSeeds(work, fs::path(argv[1]) / "checkpoint_metadata_fuzz");
  RocksDbSeeds(work, fs::path(argv[1]) / "rocksdb_key_fuzz");
  fs::remove_all(work);
  return 0;
}
