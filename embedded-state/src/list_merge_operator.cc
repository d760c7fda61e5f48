#include "list_merge_operator.h"

namespace statewatch::internal {

bool ListAppendOperator::FullMergeV2(const MergeOperationInput& merge_in,
                                     MergeOperationOutput* merge_out) const {
  const auto& operands = merge_in.operand_list;
  if (merge_in.existing_value == nullptr && operands.size() == 1) {
    // A single operand on nothing is the result as it is: point at it, no copy.
    merge_out->existing_operand = operands.front();
    return true;
  }
  size_t total = merge_in.existing_value != nullptr ? merge_in.existing_value->size() : 0;
  for (const rocksdb::Slice& op : operands) total += op.size();
  std::string& out = merge_out->new_value;
  out.clear();
  out.reserve(total);
  if (merge_in.existing_value != nullptr) {
    out.append(merge_in.existing_value->data(), merge_in.existing_value->size());
  }
  for (const rocksdb::Slice& op : operands) out.append(op.data(), op.size());
  return true;
}

bool ListAppendOperator::PartialMergeMulti(const rocksdb::Slice& /*key*/,
                                           const std::deque<rocksdb::Slice>& operand_list,
                                           std::string* new_value,
                                           rocksdb::Logger* /*logger*/) const {
  size_t total = 0;
  for (const rocksdb::Slice& op : operand_list) total += op.size();
  new_value->clear();
  new_value->reserve(total);
  for (const rocksdb::Slice& op : operand_list) new_value->append(op.data(), op.size());
  return true;
}

std::shared_ptr<rocksdb::MergeOperator> NewListAppendOperator() {
  return std::make_shared<ListAppendOperator>();
}

}  // namespace statewatch::internal
