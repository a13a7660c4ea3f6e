// systemd notification (sd_notify): READY=1 once the daemon can accept work,
// STOPPING=1 on shutdown, STATUS= for `systemctl status`, WATCHDOG=1 pings. No-ops when not
// started by systemd (NOTIFY_SOCKET unset).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace ts::ops {

void notify_ready();
/// RELOADING=1 (with MONOTONIC_USEC); follow with notify_ready() when done.
void notify_reloading();
void notify_stopping();
void notify_status(std::string_view status);
/// WATCHDOG=1: the event loop is alive.
void notify_watchdog();
/// The watchdog interval systemd expects pings within (WatchdogSec=, passed
/// as WATCHDOG_USEC for this process); nullopt when there is no watchdog.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace ts::ops
