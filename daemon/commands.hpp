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
/// planner would queue given the issue's stored state. Changes nothing.
int cmd_explain(const std::string& config_path, const std::string& event_file, bool as_json, bool offline);

/// `doctor -c FILE`: live checks against the PSA with a fix hint for each
/// failure; exit 0 only when every check passes.
int cmd_doctor(const std::string& config_path);

/// `history -c FILE KEY`: an issue's decisions and operations, in order.
int cmd_history(const std::string& config_path, const std::string& key, bool as_json);

/// `callbacks register|list|remove -c FILE [--json]` (daemon/callbacks_command.cpp):
/// ticketsync's ConnectWise callback entries, one per board it writes to, at
/// reverse.callback_url. `register` adds what is missing and removes its
/// stale entries (exit 2 without reverse.callback_url or with a board name
/// that does not resolve); `list` shows its entries and counts the others;
/// `remove` deletes its entries. Entries of others are never changed.
int cmd_callbacks(const std::string& config_path, const std::string& action, bool as_json);

// ---- over the state database, while the daemon runs (daemon/state_commands.cpp) ----
// Human-readable aligned text, or stable JSON with --json.

/// `status -c FILE [--json]`: inbox depth and age, held events, the outbox
/// (due, waiting to retry, in flight or uncertain), dead letters, issues and
/// tickets, the daemon's pid and whether it runs, the PSA connection as the
/// daemon recorded it, the last reload, the 5 newest errors of pending operations.
int cmd_status(const std::string& config_path, bool as_json);

/// `deadletter list -c FILE [--json] [--limit N]`: newest first.
int cmd_deadletter_list(const std::string& config_path, int limit, bool as_json);

/// `deadletter show -c FILE ID [--json]`: what failed and why (HTTP status,
/// ConnectWise code, message and field), the issue, its ticket, the
/// operation's payload and the issue's recent history.
int cmd_deadletter_show(const std::string& config_path, const std::string& id, bool as_json);

/// `deadletter retry -c FILE ID... [--reason TEXT]`: each operation becomes
/// pending again and runs with the mapping in effect (re-rendered by the
/// daemon); recorded in the issue's history with who and when. Exit 1 when any
/// id does not exist or its operation is not dead.
int cmd_deadletter_retry(const std::string& config_path, const std::vector<std::string>& ids,
                         const std::string& reason);

/// `deadletter drop -c FILE ID... --reason TEXT`: the dead letter goes, the
/// operation stays dead; recorded in the issue's history with who, when and why.
int cmd_deadletter_drop(const std::string& config_path, const std::vector<std::string>& ids, const std::string& reason);

/// `issue show -c FILE KEY [--json]`: the issue's state, ticket, rule, desired
/// against applied fields, operations, dead letters and last 10 history entries.
int cmd_issue_show(const std::string& config_path, const std::string& key, bool as_json);

}  // namespace ts::daemon
