// Waiting on the injected clock (IO): the loop's sleeps (until the next
// operation is due, out a rate-limit pause) go through a timer_source, so
// in-process tests run the engine on virtual time; and a level-triggered
// wake-up for coroutine loops.
#pragma once

#include "core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace ts::sync {

/// The time seam of the loop. Abstract so tests can advance time themselves;
/// real_timers is the production implementation.
class timer_source {
 public:
  virtual ~timer_source() = default;
  virtual const ts::clock& clk() const noexcept = 0;
  /// Makes `t` expire at `deadline` of clk(); its waiter resumes then, or
  /// earlier when `t` is cancelled.
  virtual void arm(boost::asio::steady_timer& t, steady_time deadline) = 0;
  /// `t` is no longer waited on (it expired or was cancelled).
  virtual void disarm(boost::asio::steady_timer& t) noexcept = 0;
};

/// Timers on the real steady clock.
class real_timers final : public timer_source {
 public:
  explicit real_timers(const ts::clock& c) : clock_(c) {}
  const ts::clock& clk() const noexcept override { return clock_; }
  void arm(boost::asio::steady_timer& t, steady_time deadline) override {
    t.expires_after(deadline - clock_.steady_now());
  }
  void disarm(boost::asio::steady_timer&) noexcept override {}

 private:
  const ts::clock& clock_;
};

/// Sleeps until `deadline` of the source's clock.
boost::asio::awaitable<void> sleep_until(timer_source& timers, steady_time deadline);

/// A level-triggered wake-up for a single-threaded coroutine loop: notify()
/// from anywhere on the same executor; a wait returns at once if a
/// notification is pending, else when notified or at the deadline.
class wakeup {
 public:
  wakeup(const boost::asio::any_io_executor& ex, timer_source& timers) : timers_(timers), timer_(ex) {}
  void notify() {
    pending_ = true;
    timer_.cancel();
  }
  boost::asio::awaitable<void> wait_until(steady_time deadline);
  boost::asio::awaitable<void> wait_for(std::chrono::steady_clock::duration d) {
    return wait_until(timers_.clk().steady_now() + d);
  }

 private:
  timer_source& timers_;
  boost::asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace ts::sync
