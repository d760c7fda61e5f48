// SystemdNotifier: statewatchd's side of systemd's Type=notify protocol (sd_notify(3)).
//
// READY=1 once the agent has collected every source once (what /-/ready reports), so
// `systemctl start` returns when the agent really watches something; WATCHDOG=1 heartbeats when
// the unit sets WatchdogSec= (sent from the scheduler's evaluation strand, so a wedged loop
// stops them and systemd restarts the service); RELOADING=1 … READY=1 around a SIGHUP reload;
// STOPPING=1 when shutdown begins. STATUS= carries one line for `systemctl status`.
//
// Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

namespace statewatch::agent {

class SystemdNotifier {
 public:
  SystemdNotifier();

  // True when NOTIFY_SOCKET is set: the service manager listens.
  bool enabled() const { return enabled_; }
  // How often to send WATCHDOG=1 — half of WatchdogSec=, as sd_watchdog_enabled(3) advises —
  // or nullopt when no watchdog is armed for this process.
  std::optional<std::chrono::microseconds> WatchdogInterval() const { return watchdog_; }

  // READY=1 the first time it is called; later calls do nothing (Reloaded re-announces).
  void Ready(const std::string& status);
  void Watchdog();
  void Reloading();
  void Reloaded(const std::string& status);
  void Stopping();

 private:
  void Send(const std::string& state);

  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
  std::atomic<bool> ready_sent_{false};
};

}  // namespace statewatch::agent
