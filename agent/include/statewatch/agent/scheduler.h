// Scheduler: runs an Agent on Boost.Asio timers — each source on its own interval, rule
// evaluation on global.evaluation_interval, outbox delivery when something is due, retention
// hourly — and handles the signals a daemon must: SIGTERM/SIGINT stop gracefully (every cycle
// in progress finishes; nothing new starts), SIGHUP reloads the config.
//
// Each source and each stage runs on its own strand: one collector never overlaps itself, slow
// sources do not delay others, and evaluation never waits for a collection.
//
// Thread-safety: Run blocks the calling thread (plus `threads - 1` helpers); Shutdown may be
// called from any thread, any number of times.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "statewatch/agent/agent.h"

namespace statewatch::agent {

class Scheduler {
 public:
  // What a service manager wants to hear (systemd_notify.h). Every member may be empty; set
  // them before Run.
  struct Hooks {
    std::function<void()> after_collection;  // after each source's cycle, on its strand
    std::function<void()> reloading;         // SIGHUP received, before the reload
    std::function<void()> reloaded;          // after it, whether it succeeded or not
    std::function<void()> stopping;          // once, when shutdown begins
    // Called every heartbeat_interval on the evaluation strand: when rule evaluation wedges,
    // the heartbeats stop (a watchdog's cue).
    std::chrono::microseconds heartbeat_interval{0};
    std::function<void()> heartbeat;
  };

  explicit Scheduler(Agent* agent, int threads = 2);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs until Shutdown() (or a SIGTERM/SIGINT when handle_signals). Returns once every
  // in-flight cycle has finished.
  void Run(bool handle_signals);
  // Takes SIGTERM, SIGINT and SIGHUP over now (Run(true) does it too): call it before the
  // process announces itself, so a signal sent at once is handled, not fatal.
  void CatchSignals();
  void Shutdown();
  void SetHooks(Hooks hooks);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace statewatch::agent
