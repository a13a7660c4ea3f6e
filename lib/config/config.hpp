// ticketsync configuration as plain structs with documented defaults. Parsed
// once at the boundary by config_loader (yaml-cpp lives only there); components
// take the sub-struct they need. The reference of every key is
// config/ticketsync.yaml.
#pragma once

#include "core/enum_text.hpp"
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
  enum class kind {
    none,
    file,        ///< a file (path relative to the configuration file's directory)
    env,         ///< an environment variable
    credential,  ///< a systemd credential: $CREDENTIALS_DIRECTORY/NAME (LoadCredential=)
  };
  kind from = kind::none;
  std::string ref;  ///< the path, variable name or credential name

  friend bool operator==(const secret_ref&, const secret_ref&) = default;
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

/// What happens to an issue whose tenant has no company mapping.
enum class unmapped_policy {
  default_company,  ///< ticket it under companies.default
  hold,             ///< keep it, visibly, until a reload maps the tenant
};

struct companies_config {
  /// tenant -> ConnectWise company identifier, for every source.
  std::map<std::string, std::string> tenants;
  /// source -> tenant -> company identifier; wins over `tenants`.
  std::map<std::string, std::map<std::string, std::string>> by_source;
  /// Company identifier for unmapped tenants under `unmapped: default`.
  std::string default_company;
  /// Default: `default` when a default company is given, else `hold` (with
  /// `default_company` empty, default_company also holds).
  unmapped_policy unmapped = unmapped_policy::default_company;

  friend bool operator==(const companies_config&, const companies_config&) = default;
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

/// What a change of a still-open issue does when a technician has closed its ticket.
enum class technician_close_policy {
  respect,     ///< leave the ticket closed and send nothing more until the issue resolves and comes back
  reopen,      ///< move the ticket to the reopen status, with the reopen note
  new_ticket,  ///< open a new ticket (the next generation) for the issue
  note,        ///< post the update note on the closed ticket; it stays closed
};

/// What ticketsync does when the ticket is deleted in ConnectWise.
enum class ticket_deleted_policy {
  recreate,  ///< the issue's next event (that wants a ticket) creates a new one
  forget,    ///< no ticket until the issue resolves and comes back
};

/// Who decides a ticket field once a person changed it in ConnectWise.
enum class field_owner {
  person,      ///< the person's value stays; ticketsync stops writing the field
  ticketsync,  ///< ticketsync writes its value again with its next change
};

struct lifecycle_config {
  on_update_policy on_update = on_update_policy::patch;
  on_resolve_policy on_resolve = on_resolve_policy::close;
  /// An issue that comes back within this time after it was resolved reopens
  /// its ticket; later, it gets a new ticket. 0 = always a new ticket. Default: 7 days.
  std::chrono::milliseconds reopen_window{std::chrono::hours{24 * 7}};
  /// The ticket was closed in ConnectWise (a status with closedStatus) while the
  /// issue is still open. Default: respect.
  technician_close_policy on_technician_close = technician_close_policy::respect;
  /// The ticket was deleted in ConnectWise. Default: recreate.
  ticket_deleted_policy on_ticket_deleted = ticket_deleted_policy::recreate;
  /// The ticket's priority after a person changed it. Default: person.
  /// (The board is never written after the create: a person's move stays.)
  field_owner priority_owner = field_owner::person;

  friend bool operator==(const lifecycle_config&, const lifecycle_config&) = default;
};

struct ticket_config {
  std::string board;   ///< board name (resolved to an id through the PSA)
  std::string status;  ///< status name for new tickets, on that board
  /// Status a resolved issue's ticket moves to; must be a closed status
  /// (closedStatus) of the board. Default: Closed
  std::string closed_status = "Closed";
  /// Status a reopened ticket moves to; empty = `status`.
  std::string reopen_status;
  /// Priority name for each event severity (one name for all, or a map).
  std::map<ts::severity, std::string> priority;
  /// ConnectWise severity and impact (Low | Medium | High) for each event
  /// severity. Defaults: critical High/High, high High/Medium, medium
  /// Medium/Medium, low Low/Low, info Low/Low.
  std::map<ts::severity, std::string> cw_severity = {{ts::severity::critical, "High"},
                                                     {ts::severity::high, "High"},
                                                     {ts::severity::medium, "Medium"},
                                                     {ts::severity::low, "Low"},
                                                     {ts::severity::info, "Low"}};
  std::map<ts::severity, std::string> cw_impact = {{ts::severity::critical, "High"},
                                                   {ts::severity::high, "Medium"},
                                                   {ts::severity::medium, "Medium"},
                                                   {ts::severity::low, "Low"},
                                                   {ts::severity::info, "Low"}};
  /// Optional names on the board (type/subtype/item/team) and of the ticket
  /// source; empty = not sent (ConnectWise applies its defaults).
  std::string type;
  std::string subtype;
  std::string item;
  std::string team;
  std::string source;
  /// Custom fields by caption -> mustache template of the value (set on create).
  std::map<std::string, std::string> custom_fields;
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

  friend bool operator==(const ticket_config&, const ticket_config&) = default;
};

/// One condition on an event attribute, addressed by a JSON pointer.
struct attribute_match {
  enum class op { equals, in, regex };
  std::string pointer;  ///< RFC 6901, e.g. /host/os
  op what = op::equals;
  std::vector<std::string> values;  ///< equals: one; in: several (compared with the value as text)
  std::string regex;                ///< op::regex (PCRE2, unanchored)

  friend bool operator==(const attribute_match&, const attribute_match&) = default;
};

/// What a rule matches. Every given condition must hold; no condition = catch-all.
struct match_spec {
  std::vector<std::string> sources;          ///< any of (exact)
  std::vector<std::string> tenants;          ///< any of (glob: * and ?)
  std::vector<ts::severity> severities;      ///< any of
  std::optional<ts::severity> min_severity;  ///< at least this severe
  std::vector<std::string> categories;       ///< any of (glob: * and ?)
  std::vector<std::string> tags_any;         ///< at least one of these tags
  std::vector<std::string> tags_all;         ///< every one of these tags
  std::string title_regex;                   ///< PCRE2, unanchored; empty = any title
  std::vector<attribute_match> attributes;

  bool catch_all() const noexcept {
    return sources.empty() && tenants.empty() && severities.empty() && !min_severity && categories.empty() &&
           tags_any.empty() && tags_all.empty() && title_regex.empty() && attributes.empty();
  }

  friend bool operator==(const match_spec&, const match_spec&) = default;
};

/// One mapping rule: the first rule whose `match` holds decides the ticket.
struct rule {
  std::string name;
  match_spec match;
  ticket_config ticket;  ///< the top-level `ticket` with this rule's keys applied over it
  int line = 0;          ///< where the rule starts in the file (1-based; 0 = unknown)
};

/// Per-tenant protection against floods of new tickets.
struct storm_config {
  /// New tickets per tenant in any 60 minutes; past it, further new issues of
  /// that tenant become notes on one digest ticket per tenant and clock hour.
  /// 0 = no cap. Default: 100.
  int max_new_tickets_per_hour = 100;
  std::string digest_summary = "[storm] {{tenant}}: more than {{cap}} new issues in an hour";
  std::string digest_note = "[{{severity}}] {{title}}\nSource: {{source}}, issue {{issue_id}}, {{updated_at}}";

  friend bool operator==(const storm_config&, const storm_config&) = default;
};

/// The ConnectWise → ticketsync direction: how ticketsync hears what people
/// did to its tickets.
struct reverse_config {
  /// The polling sweep (always on): ticketsync's tickets changed since the
  /// last sweep, every this often. Default: 5 min.
  std::chrono::milliseconds poll_interval{5 * 60'000};
  /// Deletions never show in the sweep: tracked open tickets are checked to
  /// still exist this often. Default: 1 h.
  std::chrono::milliseconds existence_interval{60 * 60'000};
  /// Tickets per sweep page. Default: 200.
  std::size_t page_size = 200;
  /// The URL ConnectWise posts callbacks to (the public listener's
  /// callback_path as the outside sees it: https, through a proxy or not);
  /// empty = no callbacks, the sweep alone.
  std::string callback_url;
  /// Where callbacks arrive on the public listener. Default: /v1/connectwise/callback
  std::string callback_path = "/v1/connectwise/callback";
  /// Hosts a callback's Metadata.key_url may name (the signing key is fetched
  /// only from these). Default: the host of psa.site.
  std::vector<std::string> key_hosts;

  friend bool operator==(const reverse_config&, const reverse_config&) = default;
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
  /// text: one line per message (with journald priority prefixes when
  /// JOURNAL_STREAM is set); json: one JSON object per line. Default: text.
  enum class format { text, json };
  format fmt = format::text;
};

/// The admin listener: /metrics, /healthz, /readyz and POST /v1/events.
struct admin_config {
  /// Unix socket path; empty = none. Access is by the socket file's mode and group.
  std::string socket;
  /// Mode of the socket file. Default: 0660.
  unsigned socket_mode = 0660;
  /// Group of the socket file (the daemon's user must be a member); empty = the daemon's group.
  std::string socket_group;
  /// TCP listener "HOST:PORT" (loopback recommended); empty = none.
  std::string listen;
  /// Bearer token for POST /v1/events over TCP; required when `listen` is set.
  secret_ref token;
  /// Largest request body accepted (one event or an array of them). Default: 1 MiB.
  std::size_t max_body_bytes = 1u << 20;
  /// Past this inbox depth, POST /v1/events answers 503 with Retry-After. Default: 10,000.
  std::size_t max_inbox_depth = 10'000;
  /// Concurrent admin connections; more wait in the listen backlog. Default: 64.
  std::size_t max_connections = 64;

  bool enabled() const noexcept { return !socket.empty() || !listen.empty(); }
};

/// The public listener: everything arriving from outside (ConnectWise's
/// callbacks). Separate from the admin listener, which stays on loopback or a
/// unix socket.
struct public_config {
  /// "HOST:PORT"; empty = no public listener.
  std::string listen;
  /// TLS certificate chain and key (PEM), reloaded on SIGHUP. Both or neither;
  /// without them the listener speaks plain HTTP and must be on loopback
  /// (behind a reverse proxy that terminates TLS).
  std::string cert_file;
  std::string key_file;
  /// Largest request body. Default: 256 KiB.
  std::size_t max_body_bytes = 256u << 10;
  /// Concurrent connections; more wait in the listen backlog. Default: 64.
  std::size_t max_connections = 64;
  /// Requests per second from one client address before 429. Default: 50.
  int requests_per_second = 50;

  bool enabled() const noexcept { return !listen.empty(); }
  bool tls() const noexcept { return !cert_file.empty(); }
  friend bool operator==(const public_config&, const public_config&) = default;
};

struct config {
  psa_config psa;
  companies_config companies;
  /// The default ticket: what an event that no rule matches gets, and the base
  /// every rule's `ticket` keys are applied over.
  ticket_config ticket;
  /// Ordered; the first match wins; none matching = `ticket` (rule "default").
  std::vector<rule> rules;
  storm_config storm;
  reverse_config reverse;
  storage_config storage;
  intake_config intake;
  logging_config logging;
  admin_config admin;
  public_config public_listener;  ///< the `public` section
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

// The configuration's spelling of each choice.
template <>
struct ts::enum_text<ts::config::unmapped_policy> {
  static constexpr std::array<std::pair<config::unmapped_policy, std::string_view>, 2> names{{
      {config::unmapped_policy::default_company, "default"},
      {config::unmapped_policy::hold, "hold"},
  }};
};

template <>
struct ts::enum_text<ts::config::ticket_deleted_policy> {
  static constexpr std::array<std::pair<config::ticket_deleted_policy, std::string_view>, 2> names{{
      {config::ticket_deleted_policy::recreate, "recreate"},
      {config::ticket_deleted_policy::forget, "forget"},
  }};
};

template <>
struct ts::enum_text<ts::config::field_owner> {
  static constexpr std::array<std::pair<config::field_owner, std::string_view>, 2> names{{
      {config::field_owner::person, "person"},
      {config::field_owner::ticketsync, "ticketsync"},
  }};
};

template <>
struct ts::enum_text<ts::config::on_update_policy> {
  static constexpr std::array<std::pair<config::on_update_policy, std::string_view>, 3> names{{
      {config::on_update_policy::patch, "patch"},
      {config::on_update_policy::note, "note"},
      {config::on_update_policy::ignore, "ignore"},
  }};
};

template <>
struct ts::enum_text<ts::config::on_resolve_policy> {
  static constexpr std::array<std::pair<config::on_resolve_policy, std::string_view>, 3> names{{
      {config::on_resolve_policy::close, "close"},
      {config::on_resolve_policy::note, "note"},
      {config::on_resolve_policy::ignore, "ignore"},
  }};
};

template <>
struct ts::enum_text<ts::config::technician_close_policy> {
  static constexpr std::array<std::pair<config::technician_close_policy, std::string_view>, 4> names{{
      {config::technician_close_policy::respect, "respect"},
      {config::technician_close_policy::reopen, "reopen"},
      {config::technician_close_policy::new_ticket, "new_ticket"},
      {config::technician_close_policy::note, "note"},
  }};
};

template <>
struct ts::enum_text<ts::config::logging_config::format> {
  static constexpr std::array<std::pair<config::logging_config::format, std::string_view>, 2> names{{
      {config::logging_config::format::text, "text"},
      {config::logging_config::format::json, "json"},
  }};
};
