// The clock seam: IO code asks a clock for `now` and passes the value into pure
// code. Abstract so tests of IO components can run on controlled time.
#pragma once

#include "core/time.hpp"

namespace ts {

class clock {
 public:
  virtual ~clock() = default;
  virtual sys_ms now() const = 0;
};

/// The real wall clock.
class system_clock final : public clock {
 public:
  sys_ms now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
};

}  // namespace ts
