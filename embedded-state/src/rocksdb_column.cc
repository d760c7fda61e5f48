#include "rocksdb_column.h"

#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

namespace statewatch::internal {

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNotSupported()) return Status::NotSupported(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsNoSpace() || s.IsMemoryLimit()) return Status::ResourceExhausted(msg);
  if (s.IsShutdownInProgress()) return Status::FailedPrecondition(msg);
  return Status::IOError(msg);
}

namespace {

// A RocksDB iterator over [lower, upper) of one column family. Owns the bound strings that
// ReadOptions points to, so they live exactly as long as the iterator.
// Thread-safety: one thread at a time; must be destroyed before the database.
class RocksDbIterator final : public RawIterator {
 public:
  RocksDbIterator(const RocksDbColumn* column, std::string_view lower, std::string_view upper)
      : column_(column), lower_(lower), upper_(upper), lower_slice_(lower_), upper_slice_(upper_) {
    rocksdb::ReadOptions options;
    if (!lower_.empty()) options.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) options.iterate_upper_bound = &upper_slice_;
    it_.reset(column->db()->NewIterator(options, column->handle()));
  }
  RocksDbIterator(const RocksDbIterator&) = delete;
  RocksDbIterator& operator=(const RocksDbIterator&) = delete;

  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return ToView(it_->key()); }
  std::string_view value() const override { return ToView(it_->value()); }
  Status status() const override {
    const rocksdb::Status s = it_->status();
    return s.ok() ? Status::OK() : column_->Error("iteration", s);
  }

 private:
  const RocksDbColumn* column_;
  const std::string lower_;
  const std::string upper_;
  const rocksdb::Slice lower_slice_;
  const rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<RawIterator> RocksDbColumn::NewIterator(std::string_view lower,
                                                        std::string_view upper) {
  return std::make_unique<RocksDbIterator>(this, lower, upper);
}

}  // namespace statewatch::internal
