// The time and randomness seams: code asks a clock for `now` and a random
// source for a draw, and passes the values into pure code. Abstract so tests
// run on controlled time and fixed draws; nothing else reads the system
// clocks or a random device.
#pragma once

#include "core/time.hpp"

#include <chrono>
#include <cstdint>
#include <random>

namespace ts {

using steady_time = std::chrono::steady_clock::time_point;

class clock {
 public:
  virtual ~clock() = default;
  /// Wall-clock time (stored, logged, compared with event times).
  virtual sys_ms now() const = 0;
  /// Monotonic time (deadlines, pacing, ages).
  virtual steady_time steady_now() const = 0;
};

/// The real clocks.
class system_clock final : public clock {
 public:
  sys_ms now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
  steady_time steady_now() const override { return std::chrono::steady_clock::now(); }
};

class random_source {
 public:
  virtual ~random_source() = default;
  /// A uniform draw in [0, 1).
  virtual double unit() = 0;
};

/// A pseudo-random generator seeded from the system's random device.
class system_random final : public random_source {
 public:
  system_random() : rng_(std::random_device{}()) {}
  double unit() override { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

 private:
  std::mt19937_64 rng_;
};

}  // namespace ts
