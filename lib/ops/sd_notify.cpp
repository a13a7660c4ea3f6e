#include "ops/sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace ts::ops {

void notify_ready() { ::sd_notify(0, "READY=1"); }
void notify_stopping() { ::sd_notify(0, "STOPPING=1"); }
void notify_status(std::string_view status) { ::sd_notify(0, ("STATUS=" + std::string(status)).c_str()); }

}  // namespace ts::ops
