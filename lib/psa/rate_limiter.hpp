// A token bucket (pure): `rate` requests per second on average, bursts up to
// `burst`. Time is a parameter; the caller sleeps for what reserve() returns.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace ts::psa {

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

}  // namespace ts::psa
