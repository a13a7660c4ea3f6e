// Pacing of PSA requests (pure): a token bucket for the client-side budget
// (`rate` requests per second on average, bursts up to `burst`) and the
// connection-wide pause a 429 asks for. The loop asks for a slot before a
// request leaves and sleeps for what it is told; time is a parameter.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace ts::sync {

class token_bucket {
 public:
  using clock_point = std::chrono::steady_clock::time_point;

  token_bucket(double per_second, double burst) : rate_(per_second), burst_(std::max(1.0, burst)), tokens_(burst_) {}

  /// Takes one token and returns how long the caller must wait before using it
  /// (zero when one was available). Tokens may go negative: later callers queue
  /// behind earlier ones in reservation order.
  std::chrono::nanoseconds reserve(clock_point now) {
    refill(now);
    tokens_ -= 1.0;
    if (tokens_ >= 0) return std::chrono::nanoseconds{0};
    return std::chrono::nanoseconds{static_cast<long long>(-tokens_ / rate_ * 1e9)};
  }

  double tokens(clock_point now) {
    refill(now);
    return tokens_;
  }

  /// A new budget (a reload); the tokens in hand are kept, up to the new burst.
  void set_rate(double per_second, double burst) {
    rate_ = per_second;
    burst_ = std::max(1.0, burst);
    tokens_ = std::min(tokens_, burst_);
  }

 private:
  void refill(clock_point now) {
    if (!last_) last_ = now;
    const double dt = std::chrono::duration<double>(now - *last_).count();
    if (dt > 0) {
      tokens_ = std::min(burst_, tokens_ + dt * rate_);
      last_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  std::optional<clock_point> last_;
};

/// The budget and the 429 pause together.
class pacer {
 public:
  using clock_point = token_bucket::clock_point;

  /// `requests_per_minute` on average, bursts of one second's worth.
  explicit pacer(double requests_per_minute)
      : bucket_(requests_per_minute / 60.0, std::max(1.0, requests_per_minute / 60.0)) {}

  void set_rate(double requests_per_minute) {
    bucket_.set_rate(requests_per_minute / 60.0, std::max(1.0, requests_per_minute / 60.0));
  }

  /// Reserves the next request's slot: how long to wait before it leaves
  /// (the rest of a pause, then its turn in the budget).
  std::chrono::nanoseconds reserve(clock_point now) {
    const std::chrono::nanoseconds pause = paused_until_ > now ? paused_until_ - now : std::chrono::nanoseconds{0};
    return pause + bucket_.reserve(now + pause);
  }

  /// ConnectWise answered 429: nothing leaves before now + retry_after.
  void pause(clock_point now, std::chrono::milliseconds retry_after) {
    paused_until_ = std::max(paused_until_, now + retry_after);
  }

  clock_point paused_until() const noexcept { return paused_until_; }

 private:
  token_bucket bucket_;
  clock_point paused_until_{};
};

}  // namespace ts::sync
