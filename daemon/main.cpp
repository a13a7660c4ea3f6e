// ticketsyncd: the ticketsync daemon and its operator commands. Parses the
// command line and hands over to daemon/commands.cpp.
#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <utility>
#include <vector>

int main(int argc, char** argv) try {
  CLI::App app{"ticketsyncd: security issues to ConnectWise PSA tickets"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ticketsyncd 0.1.0");
  std::string config = ts::daemon::default_config_path;

  auto* run = app.add_subcommand("run", "Run the daemon");
  run->add_option("-c,--config", config, "Configuration file")->capture_default_str();

  auto* check = app.add_subcommand("check-config", "Validate a configuration file offline; exit 0 only when clean");
  check->add_option("-c,--config", config, "Configuration file")->capture_default_str();

  std::vector<std::string> files;
  bool no_validate = false;
  auto* submit = app.add_subcommand("submit", "Write event files into the spool (works while the daemon is down)");
  submit->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  submit->add_flag("--no-validate", no_validate, "Spool files as they are; the daemon rejects invalid ones");
  submit->add_option("files", files, "Event JSON files ('-' for standard input)")->required();

  std::string event_file;
  bool as_json = false;
  bool offline = false;
  auto* explain = app.add_subcommand("explain", "Show what an event would do: rule, company, ticket, operations");
  explain->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  explain->add_flag("--json", as_json, "Machine-readable output");
  explain->add_flag("--offline", offline, "Do not contact the PSA (names stay unresolved)");
  explain->add_option("event", event_file, "Event JSON file")->required();

  auto* doctor = app.add_subcommand("doctor", "Check the PSA side live: connection, permissions, names in the rules");
  doctor->add_option("-c,--config", config, "Configuration file")->capture_default_str();

  std::string key;
  auto* history = app.add_subcommand("history", "Show an issue's decisions and operations in order");
  history->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  history->add_flag("--json", as_json, "Machine-readable output");
  history->add_option("key", key, "source/tenant/issue_id, or the correlation key (ts1:...)")->required();

  auto* status = app.add_subcommand("status", "Show queue depths, the PSA connection and recent errors");
  status->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  status->add_flag("--json", as_json, "Machine-readable output");

  std::vector<std::string> ids;
  std::string reason;
  int limit = 100;
  auto* deadletter = app.add_subcommand("deadletter", "List, show, retry or drop operations that failed for good");
  deadletter->require_subcommand(1);
  auto* dl_list = deadletter->add_subcommand("list", "Dead letters, newest first");
  dl_list->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  dl_list->add_flag("--json", as_json, "Machine-readable output");
  dl_list->add_option("--limit", limit, "At most this many")->capture_default_str()->check(CLI::NonNegativeNumber);
  auto* dl_show = deadletter->add_subcommand("show", "What failed, ConnectWise's answer, the issue and its history");
  dl_show->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  dl_show->add_flag("--json", as_json, "Machine-readable output");
  dl_show->add_option("id", key, "Dead letter id")->required();
  auto* dl_retry = deadletter->add_subcommand("retry", "Run the operations again, with the mapping now in effect");
  dl_retry->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  dl_retry->add_option("--reason", reason, "Why (recorded in the issue's history)");
  dl_retry->add_option("ids", ids, "Dead letter ids")->required();
  auto* dl_drop = deadletter->add_subcommand("drop", "Give the operations up for good; recorded with who and why");
  dl_drop->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  dl_drop->add_option("--reason", reason, "Why (recorded in the issue's history)")->required();
  dl_drop->add_option("ids", ids, "Dead letter ids")->required();

  auto* issue = app.add_subcommand("issue", "Look at one issue");
  issue->require_subcommand(1);
  auto* issue_show = issue->add_subcommand("show", "An issue's ticket, fields, operations, dead letters and history");
  issue_show->add_option("-c,--config", config, "Configuration file")->capture_default_str();
  issue_show->add_flag("--json", as_json, "Machine-readable output");
  issue_show->add_option("key", key, "source/tenant/issue_id, or the correlation key (ts1:...)")->required();

  auto* callbacks = app.add_subcommand("callbacks", "Register, list or remove ticketsync's ConnectWise callbacks");
  callbacks->require_subcommand(1);
  std::vector<CLI::App*> cb_actions;
  for (const auto& [name, what] :
       {std::pair{"register", "One callback per board ticketsync writes to, at reverse.callback_url"},
        std::pair{"list", "ticketsync's callbacks (others' are counted)"},
        std::pair{"remove", "Delete ticketsync's callbacks (never others')"}}) {
    auto* a = callbacks->add_subcommand(name, what);
    a->add_option("-c,--config", config, "Configuration file")->capture_default_str();
    a->add_flag("--json", as_json, "Machine-readable output");
    cb_actions.push_back(a);
  }

  CLI11_PARSE(app, argc, argv);
  if (*status) return ts::daemon::cmd_status(config, as_json);
  if (*dl_list) return ts::daemon::cmd_deadletter_list(config, limit, as_json);
  if (*dl_show) return ts::daemon::cmd_deadletter_show(config, key, as_json);
  if (*dl_retry) return ts::daemon::cmd_deadletter_retry(config, ids, reason);
  if (*dl_drop) return ts::daemon::cmd_deadletter_drop(config, ids, reason);
  if (*issue_show) return ts::daemon::cmd_issue_show(config, key, as_json);
  if (*explain) return ts::daemon::cmd_explain(config, event_file, as_json, offline);
  if (*doctor) return ts::daemon::cmd_doctor(config);
  for (auto* a : cb_actions)
    if (*a) return ts::daemon::cmd_callbacks(config, a->get_name(), as_json);
  if (*history) return ts::daemon::cmd_history(config, key, as_json);
  if (*run) return ts::daemon::cmd_run(config);
  if (*check) return ts::daemon::cmd_check_config(config);
  if (*submit) return ts::daemon::cmd_submit(config, files, !no_validate);
  return 2;
} catch (const std::exception& e) {
  std::cerr << "ticketsyncd: " << e.what() << "\n";
  return 1;
}
