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

/// `explain -c FILE [--json] [--offline] EVENT.json`: which rule matches and
/// why, the company, the ticket that would be sent (names resolved through the
/// PSA with read-only requests unless --offline) and the operations the
/// planner would queue given the stored state. Changes nothing.
int cmd_explain(const std::string& config_path, const std::string& event_file, bool as_json, bool offline);

/// `doctor -c FILE`: live checks against the PSA with a fix hint for each
/// failure; exit 0 only when every check passes.
int cmd_doctor(const std::string& config_path);

/// `history -c FILE KEY`: an issue's decisions and operations, in order.
int cmd_history(const std::string& config_path, const std::string& key, bool as_json);

}  // namespace ts::daemon
