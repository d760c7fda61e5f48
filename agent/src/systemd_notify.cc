#include "statewatch/agent/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace statewatch::agent {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
  if (enabled_ && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec / 2);
  }
}

void SystemdNotifier::Send(const std::string& state) {
  if (!enabled_) return;
  const int r = sd_notify(/*unset_environment=*/0, state.c_str());
  if (r < 0) spdlog::warn("sd_notify({}): {}", state.substr(0, state.find('\n')), strerror(-r));
}

void SystemdNotifier::Ready(const std::string& status) {
  if (ready_sent_.exchange(true)) return;
  Send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::Watchdog() {
  Send("WATCHDOG=1");
}

void SystemdNotifier::Reloading() {
  Send("RELOADING=1\nSTATUS=reloading the config");
}

void SystemdNotifier::Reloaded(const std::string& status) {
  Send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::Stopping() {
  Send("STOPPING=1\nSTATUS=shutting down");
}

}  // namespace statewatch::agent
