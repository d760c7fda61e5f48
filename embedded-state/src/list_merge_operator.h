// Internal: the merge operator of List state column families: appending is concatenation.
//
// A list value is a sequence of length-prefixed elements (encoding.h), so appending elements is
// appending bytes: ListState::Add is a RocksDB Merge of the new elements, with no read of the
// existing list (Flink does the same with its StringAppendOperator). Operands are well-formed
// element sequences written by RocksListState; the operator does not parse them.
//
// Thread-safety: stateless; one instance serves every compaction and read thread.
#pragma once

#include <rocksdb/merge_operator.h>

#include <deque>
#include <memory>
#include <string>

namespace statewatch::internal {

inline constexpr char kListAppendOperatorName[] = "statewatch.ListAppendOperator";

// Set as the merge_operator of List state column families (see the file comment).
class ListAppendOperator final : public rocksdb::MergeOperator {
 public:
  // existing value (if any) followed by every operand, in order.
  bool FullMergeV2(const MergeOperationInput& merge_in,
                   MergeOperationOutput* merge_out) const override;
  // Operands concatenated into one operand: appending it equals appending each in turn.
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operand_list,
                         std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return kListAppendOperatorName; }
};

std::shared_ptr<rocksdb::MergeOperator> NewListAppendOperator();

}  // namespace statewatch::internal
