#include <string>

#include "statewatch/state/state_descriptor.h"
#include "statewatch/state/ttl_config.h"

namespace statewatch {
namespace {
std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  struct Unit {
    int64_t ms;
    const char* suffix;
  };
  for (Unit u : {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms >= u.ms && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}
}  // namespace

std::string_view StateKindName(StateKind kind) {
  switch (kind) {
    case StateKind::kValue:
      return "ValueState";
    case StateKind::kList:
      return "ListState";
    case StateKind::kMap:
      return "MapState";
    case StateKind::kReducing:
      return "ReducingState";
    case StateKind::kAggregating:
      return "AggregatingState";
  }
  return "UnknownState";
}

std::string TtlConfig::ToString() const {
  if (!enabled()) return "ttl=none";
  std::string s = "ttl=" + FormatDuration(ttl);
  s += update_type == TtlUpdateType::kOnReadAndWrite ? " OnReadAndWrite" : " OnCreateAndWrite";
  s += visibility == TtlVisibility::kNeverReturnExpired ? " NeverReturnExpired"
                                                        : " ReturnExpiredIfNotCleanedUp";
  if (cleanup_full_snapshot) s += " cleanup=full-snapshot";
  if (cleanup_incremental) {
    s += " cleanup=incremental(" + std::to_string(incremental_cleanup_size) +
         (incremental_cleanup_every_record ? ",every-record)" : ")");
  }
  if (cleanup_compaction_filter) {
    s += " cleanup=compaction-filter(" + std::to_string(compaction_query_time_after) + ")";
  }
  return s;
}

std::string StateMeta::ToString() const {
  std::string s(StateKindName(kind));
  s += "<";
  if (kind == StateKind::kMap) s += user_key_serializer + ", ";
  s += value_serializer + "> '" + name + "' " + ttl.ToString();
  return s;
}

}  // namespace statewatch
