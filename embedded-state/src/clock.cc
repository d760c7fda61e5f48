#include "statewatch/state/clock.h"

#include <time.h>

namespace statewatch {

int64_t SystemClock::NowMillis() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

const Clock* SystemClock::Default() {
  static const SystemClock* const clock = new SystemClock();
  return clock;
}

}  // namespace statewatch
