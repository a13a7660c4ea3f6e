#include "ops/sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

#include <time.h>

namespace ts::ops {

void notify_ready() { ::sd_notify(0, "READY=1"); }
void notify_reloading() {
  // MONOTONIC_USEC lets systemd (Type=notify-reload, v253+) match the reload.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1'000ULL;
  ::sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec)).c_str());
}
void notify_stopping() { ::sd_notify(0, "STOPPING=1"); }
void notify_status(std::string_view status) { ::sd_notify(0, ("STATUS=" + std::string(status)).c_str()); }
void notify_watchdog() { ::sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds{usec};
}

}  // namespace ts::ops
