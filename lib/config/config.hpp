// ticketsync configuration as plain structs with documented defaults. Parsed
// once at the boundary by config_loader (yaml-cpp lives only there); components
// take the sub-struct they need. The reference of every key is
// config/ticketsync.yaml.
#pragma once

#include "core/event.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ts::config {

/// Where a secret comes from. Secrets are never required inline.
struct secret_ref {
  enum class kind { none, file, env };
  kind from = kind::none;
  std::string ref;  ///< file path (relative to the config file's directory), or environment variable name
};

struct psa_config {
  /// Cloud region (na, eu, au, aus, za, staging) or an https:// URL (on-premise, tests).
  std::string site;
  /// ConnectWise login company id (also used for codebase discovery).
  std::string company_id;
  std::string public_key;
  secret_ref private_key;
  /// The integration's ClientId (a GUID from the ConnectWise developer portal).
  std::string client_id;
  /// Pinned API version sent in Accept. Default: 2025.8
  std::string api_version = "2025.8";
  /// Codebase override (e.g. "v4_6_release/"); empty = discover via /login/companyinfo.
  std::string codebase;
  /// Extra CA bundle (PEM) for on-premise servers and tests; empty = system store.
  std::string ca_file;
  /// Deadlines per stage. Defaults: 10 s connect (incl. DNS), 10 s TLS handshake, 30 s request.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  /// Largest response body accepted. Default: 8 MiB.
  std::size_t max_response_bytes = 8u << 20;
  /// Concurrent requests (connections) to the PSA. Default: 4.
  int max_connections = 4;
  /// Client-side request budget. Default: 600/min (ConnectWise throttles near 1,000/min).
  double requests_per_minute = 600;
};

struct companies_config {
  /// tenant -> ConnectWise company identifier.
  std::map<std::string, std::string> tenants;
  /// Company identifier for tenants not listed; empty = unmapped tenants are an error.
  std::string default_company;
};

/// What an update of an open issue does to its ticket.
enum class on_update_policy {
  patch,   ///< patch the changed fields (summary, priority, severity, impact) and note what changed
  note,    ///< only note what changed
  ignore,  ///< nothing
};

/// What resolving an issue does to its ticket.
enum class on_resolve_policy {
  close,   ///< resolution note (if its template is not empty), then move to closed_status
  note,    ///< only the resolution note; the ticket stays open for a technician
  ignore,  ///< nothing
};

struct lifecycle_config {
  on_update_policy on_update = on_update_policy::patch;
  on_resolve_policy on_resolve = on_resolve_policy::close;
  /// An issue that comes back within this time after it was resolved reopens
  /// its ticket; later, it gets a new ticket. 0 = always a new ticket. Default: 7 days.
  std::chrono::milliseconds reopen_window{std::chrono::hours{24 * 7}};
};

struct ticket_config {
  std::string board;                 ///< board name (resolved to an id through the PSA)
  std::string status;                ///< status name for new tickets, on that board
  /// Status a resolved issue's ticket moves to; must be a closed status
  /// (closedStatus) of the board. Default: Closed
  std::string closed_status = "Closed";
  /// Status a reopened ticket moves to; empty = `status`.
  std::string reopen_status;
  /// Priority name for each event severity (one name for all, or a map).
  std::map<ts::severity, std::string> priority;
  /// Mustache templates over the event (fields of DESIGN §3 plus attributes).
  std::string summary_template = "[{{severity}}] {{title}}";
  std::string description_template =
      "{{title}}\n\nSource: {{source}}\nTenant: {{tenant}}\nSeverity: {{severity}}\n"
      "{{#asset}}Asset: {{asset}}\n{{/asset}}{{#url}}Link: {{url}}\n{{/url}}"
      "{{#description}}\n{{description}}\n{{/description}}";
  /// Note templates: the event's fields, plus {{changes}} (one "- field: old → new"
  /// line per change) for updates. An empty resolve template posts no resolution note.
  std::string update_note_template = "Updated by {{source}} at {{updated_at}}:\n{{changes}}";
  std::string resolve_note_template = "Resolved in {{source}} at {{updated_at}}.";
  std::string reopen_note_template = "The issue is open again in {{source}} ({{updated_at}}).\n{{changes}}";
  lifecycle_config lifecycle;

  /// reopen_status, or status when it is empty.
  const std::string& effective_reopen_status() const { return reopen_status.empty() ? status : reopen_status; }
};

struct storage_config {
  /// SQLite database file. Default: /var/lib/ticketsync/state.db
  std::string database = "/var/lib/ticketsync/state.db";
};

struct intake_config {
  /// Spool directory with tmp/, new/ and rejected/. Default: /var/spool/ticketsync
  std::string spool_dir = "/var/spool/ticketsync";
  /// Largest event file accepted; larger files are rejected unread. Default: 256 KiB.
  std::size_t max_event_bytes = 256u << 10;
  /// Full rescan of new/ in addition to inotify. Default: 30 s.
  std::chrono::milliseconds rescan_interval{30'000};
  /// Events committed per inbox transaction. Default: 256.
  std::size_t batch_size = 256;
};

struct logging_config {
  /// trace, debug, info, warn, error. Default: info.
  std::string level = "info";
};

struct config {
  psa_config psa;
  companies_config companies;
  ticket_config ticket;
  storage_config storage;
  intake_config intake;
  logging_config logging;
  /// Path the configuration was read from (relative paths in it resolve against its directory).
  std::string source_path;
};

/// One problem in a configuration file. line/column are 1-based; 0 when unknown.
struct config_error {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  /// `file:line:col: message`
  std::string to_string() const;
};

/// Reads a secret's value. Returns nullopt and fills `why` (which never contains
/// the secret) when it cannot be read. Trailing newlines of files are dropped.
std::optional<std::string> resolve_secret(const secret_ref& ref, std::string* why);

}  // namespace ts::config
