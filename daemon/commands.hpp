// ticketsyncd subcommands. Each returns the process exit code:
// 0 success, 1 failure at run time, 2 bad usage or configuration.
#pragma once

#include <string>
#include <vector>

namespace ts::daemon {

constexpr const char* default_config_path = "/etc/ticketsync/ticketsync.yaml";

/// `run -c FILE`: the daemon.
int cmd_run(const std::string& config_path);

/// `submit -c FILE [--no-validate] EVENT...`: writes each event file ('-' =
/// stdin) into the spool atomically. Invalid events are reported and skipped
/// unless --no-validate.
int cmd_submit(const std::string& config_path, const std::vector<std::string>& files, bool validate);

/// `check-config -c FILE`: prints every problem with file:line:col.
int cmd_check_config(const std::string& config_path);

}  // namespace ts::daemon
