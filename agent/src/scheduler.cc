#include "statewatch/agent/scheduler.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <csignal>
#include <thread>
#include <vector>

namespace statewatch::agent {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;

namespace {
// Retention work is cheap when there is nothing to do; hourly keeps the file bounded.
constexpr auto kRetentionEvery = std::chrono::hours(1);
// The outbox is polled at least this often, so items queued by an evaluation go out promptly
// even when no timer was armed for them.
constexpr auto kDeliveryPoll = std::chrono::seconds(5);
}  // namespace

struct Scheduler::Impl {
  Impl(Agent* a, int n)
      : agent(a),
        threads(std::max(1, n)),
        signals(io),
        evaluation(asio::make_strand(io)),
        delivery(asio::make_strand(io)),
        evaluation_timer(evaluation),
        delivery_timer(delivery),
        retention_timer(evaluation),
        heartbeat_timer(evaluation) {}

  struct SourceTimer {
    std::string name;
    std::chrono::milliseconds interval;
    Strand strand;
    asio::steady_timer timer;
    SourceTimer(std::string n, std::chrono::milliseconds i, asio::io_context& io)
        : name(std::move(n)), interval(i), strand(asio::make_strand(io)), timer(strand) {}
  };

  Agent* agent;
  int threads;
  asio::io_context io;
  asio::signal_set signals;
  Strand evaluation;
  Strand delivery;
  asio::steady_timer evaluation_timer;
  asio::steady_timer delivery_timer;
  asio::steady_timer retention_timer;
  asio::steady_timer heartbeat_timer;
  Hooks hooks;
  std::vector<std::shared_ptr<SourceTimer>> sources;  // touched only on the io thread via post
  std::atomic<bool> stopping{false};
  bool catching_signals = false;

  void ArmSources() {
    for (auto& s : sources) s->timer.cancel();
    sources.clear();
    for (const SourceConfig& sc : agent->config().sources) {
      auto timer = std::make_shared<SourceTimer>(sc.name, sc.interval, io);
      sources.push_back(timer);
      timer->timer.expires_after(std::chrono::milliseconds(0));
      WaitSource(timer);
    }
  }

  void WaitSource(const std::shared_ptr<SourceTimer>& s) {
    s->timer.async_wait([this, s](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      // Fixed rate: the next run is due one interval after this one was, not after it ended.
      (void)agent->CollectSource(s->name);  // failures are logged and exported by the agent
      if (hooks.after_collection) hooks.after_collection();
      const auto next = s->timer.expiry() + s->interval;
      s->timer.expires_at(std::max(next, asio::steady_timer::clock_type::now()));
      WaitSource(s);
    });
  }

  void WaitEvaluation() {
    evaluation_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      (void)agent->Evaluate();  // failures are logged and exported by the agent
      // Deliver at once whatever this evaluation queued — a transition, or a repeat of a
      // firing alert (an Alertmanager receiver's endsAt is only 4 repeats ahead).
      Result<std::optional<int64_t>> next = agent->NextDeliveryMillis();
      if (next.ok() && next->has_value() && **next <= agent->clock()->NowMillis()) {
        asio::post(delivery, [this] { DeliverNow(); });
      }
      evaluation_timer.expires_at(evaluation_timer.expiry() + agent->config().evaluation_interval);
      WaitEvaluation();
    });
  }

  void DeliverNow() {
    if (stopping) return;
    Result<DeliveryResult> r = agent->Deliver();
    if (!r.ok()) spdlog::error("delivering notifications: {}", r.status().ToString());
    ArmDelivery();
  }

  void ArmDelivery() {
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(kDeliveryPoll);
    Result<std::optional<int64_t>> next = agent->NextDeliveryMillis();
    if (next.ok() && next->has_value()) {
      const int64_t wait = **next - agent->clock()->NowMillis();
      delay = std::clamp(std::chrono::milliseconds(wait), std::chrono::milliseconds(0), delay);
    }
    delivery_timer.expires_after(delay);
    delivery_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      DeliverNow();
    });
  }

  void WaitRetention() {
    retention_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (Status s = agent->ApplyRetention(); !s.ok()) {
        spdlog::error("applying retention: {}", s.ToString());
      }
      retention_timer.expires_after(kRetentionEvery);
      WaitRetention();
    });
  }

  void WaitHeartbeat() {
    heartbeat_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      hooks.heartbeat();
      heartbeat_timer.expires_at(heartbeat_timer.expiry() + hooks.heartbeat_interval);
      WaitHeartbeat();
    });
  }

  void Stop() {
    if (stopping.exchange(true)) return;
    if (hooks.stopping) hooks.stopping();
    spdlog::info("shutting down: finishing the cycles in progress");
    CancelAll();
  }

  // Timers are cancelled on their own executors; handlers already running finish their cycle
  // and, seeing `stopping`, arm nothing new — then io.run() runs out of work and returns.
  void CancelAll() {
    asio::post(io, [this] {
      for (auto& s : sources) s->timer.cancel();
      signals.cancel();
    });
    asio::post(evaluation, [this] {
      evaluation_timer.cancel();
      retention_timer.cancel();
      heartbeat_timer.cancel();
    });
    asio::post(delivery, [this] { delivery_timer.cancel(); });
  }

  void WaitSignal() {
    signals.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        spdlog::info("SIGHUP: reloading the config");
        if (hooks.reloading) hooks.reloading();
        (void)agent->Reload();  // on error the agent keeps the old config and says why
        if (hooks.reloaded) hooks.reloaded();
        WaitSignal();
        return;
      }
      spdlog::info("signal {} received", signal);
      Stop();
    });
  }
};

Scheduler::Scheduler(Agent* agent, int threads) : impl_(std::make_unique<Impl>(agent, threads)) {
  impl_->agent->SetReloadListener([impl = impl_.get()] {
    asio::post(impl->io, [impl] {
      if (!impl->stopping) impl->ArmSources();
    });
  });
}

Scheduler::~Scheduler() {
  impl_->agent->SetReloadListener(nullptr);
}

void Scheduler::Run(bool handle_signals) {
  Impl& m = *impl_;
  if (handle_signals) {
    CatchSignals();
    m.WaitSignal();
  }
  asio::post(m.io, [&m] { m.ArmSources(); });
  m.evaluation_timer.expires_after(m.agent->config().evaluation_interval);
  m.WaitEvaluation();
  asio::post(m.delivery, [&m] { m.DeliverNow(); });  // what an earlier run left in the outbox
  m.retention_timer.expires_after(std::chrono::seconds(0));
  m.WaitRetention();
  if (m.hooks.heartbeat && m.hooks.heartbeat_interval.count() > 0) {
    m.hooks.heartbeat();  // at once: the first watchdog deadline runs from the start
    m.heartbeat_timer.expires_after(m.hooks.heartbeat_interval);
    m.WaitHeartbeat();
  }
  if (m.stopping) m.CancelAll();  // Shutdown() came before Run()

  std::vector<std::thread> helpers;
  for (int i = 1; i < m.threads; ++i) helpers.emplace_back([&m] { m.io.run(); });
  m.io.run();
  for (std::thread& t : helpers) t.join();
  spdlog::info("scheduler stopped");
}

void Scheduler::CatchSignals() {
  Impl& m = *impl_;
  if (m.catching_signals) return;
  m.catching_signals = true;
  // From here on the signals are queued for the signal_set instead of killing the process;
  // Run() handles what arrived in between.
  m.signals.add(SIGTERM);
  m.signals.add(SIGINT);
  m.signals.add(SIGHUP);
}

void Scheduler::Shutdown() {
  impl_->Stop();
}

void Scheduler::SetHooks(Hooks hooks) {
  impl_->hooks = std::move(hooks);
}

}  // namespace statewatch::agent
