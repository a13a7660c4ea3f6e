// systemd notification (sd_notify): READY=1 once the daemon can accept work,
// STOPPING=1 on shutdown, STATUS= for `systemctl status`. No-ops when not
// started by systemd (NOTIFY_SOCKET unset).
#pragma once

#include <string_view>

namespace ts::ops {

void notify_ready();
/// RELOADING=1 (with MONOTONIC_USEC); follow with notify_ready() when done.
void notify_reloading();
void notify_stopping();
void notify_status(std::string_view status);

}  // namespace ts::ops
