// What the operator commands share (daemon/operator_commands.cpp,
// daemon/state_commands.cpp): loading the configuration, naming an issue on
// the command line, and printing history entries and JSON the same way.
#pragma once

#include "config/config.hpp"
#include "store/store.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace ts::daemon {

/// Loads the configuration; every problem is printed to stderr.
std::optional<config::config> load_quiet_or_report(const std::string& path);

/// Pretty JSON, invalid UTF-8 replaced.
std::string dump(const nlohmann::json& j, int indent = 2);

/// The issue a command-line KEY names: `source/tenant/issue_id`, or a
/// correlation key `ts1:...` (a `#generation` suffix is ignored).
struct issue_lookup {
  std::optional<store::issue_record> issue;
  bool malformed = false;  ///< KEY has neither form (a usage error)
};
issue_lookup find_issue_by_key(store::store& st, const std::string& key);

/// One history entry: {at, kind, operation, detail (parsed)}.
nlohmann::json history_json(const store::history_entry& e);
/// One history entry as `history` prints it: `AT  KIND [op=N] key=value...`.
std::string history_line(const store::history_entry& e);

}  // namespace ts::daemon
