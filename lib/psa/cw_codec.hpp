// The ConnectWise PSA codec: builds request targets and bodies and parses
// responses and CW error bodies. Pure (no sockets, no clocks), so every byte
// ticketsync sends or interprets is unit-tested. The dialect is described in
// shared/reference/connectwise-api.md.
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"

#include <chrono>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::psa {

/// One entry of a CW error body's `errors[]`.
struct cw_validation_error {
  std::string code;
  std::string message;
  std::string resource;
  std::string field;
};

/// A ConnectWise error answer (`{"code","message","errors":[...]}`), typed.
struct cw_error {
  int http_status = 0;
  std::string code;     ///< e.g. "InvalidObject", "Unauthorized", "TooManyRequests"
  std::string message;  ///< e.g. "ticket object is invalid"
  std::vector<cw_validation_error> errors;

  /// `HTTP 400 InvalidObject: ticket object is invalid [summary: The summary field is required.]`
  std::string to_string() const;
  /// The first field named by errors[], or "" when none.
  std::string field() const;
};

/// Parses an error body. Tolerates the 429 variant that says `error` instead
/// of `code`, `errors: null`, and non-JSON bodies (an HTML page from a proxy):
/// then `code` is empty and `message` holds the start of the body with control
/// characters replaced, at most 200 bytes.
cw_error parse_cw_error(int http_status, std::string_view body);

/// Where the API lives.
struct endpoint {
  std::string host;  ///< e.g. "api-na.myconnectwise.net"
  std::string port = "443";
  bool cloud = true;  ///< cloud region (api- host) vs on-premise URL
};

/// Maps a configured site to its endpoint: na, eu, au, aus, za and staging to
/// ConnectWise's `api-` hosts (au is taken as aus, the documented Australian
/// host); an https:// URL (on-premise or a simulator) to its host and port.
/// Anything else is errc::invalid_config.
result<endpoint> site_endpoint(std::string_view site);

/// The codebase in a `/login/companyinfo/{id}` answer (`"Codebase":"v2025_1/"`),
/// normalised to end with '/'. nullopt for the body `null` (unknown company)
/// or a body without a usable Codebase.
std::optional<std::string> parse_codebase(std::string_view body);

/// `/` + codebase + `apis/3.0`, e.g. "/v2025_1/apis/3.0".
std::string api_prefix(std::string_view codebase);

/// `Basic base64(companyId+publicKey:privateKey)`.
std::string basic_auth(std::string_view company_id, std::string_view public_key, std::string_view private_key);

/// The pinned media type, e.g. `application/vnd.connectwise.com+json; version=2025.8`.
std::string accept_header(std::string_view api_version);

/// The Host header value for a request to `host`:`port` over https (RFC 9110
/// §7.2: the URI's authority without userinfo): "host" for the default port
/// (443, or an empty port), else "host:port"; an IPv6 literal is bracketed,
/// "[::1]:8443". `host` is a name, an IPv4 literal or an IPv6 literal with or
/// without brackets, as site_endpoint returns it.
std::string host_header(std::string_view host, std::string_view port);

/// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view s);

/// A request target as a metrics label: the API prefix (/vNNNN_N/apis/3.0),
/// the query and the company id dropped, and numeric path segments replaced
/// by {id}: "/service/tickets/{id}/notes". Bounded cardinality.
std::string endpoint_label(std::string_view target);

/// A string literal for a `conditions` expression: "value" — or 'value' when
/// the value contains a double quote. nullopt when it contains both quote
/// kinds (ConnectWise documents no escape).
std::optional<std::string> condition_literal(std::string_view value);

/// One value of a ticket custom field, as sent on create (`CustomFieldValue`).
struct custom_field_value {
  std::int64_t id = 0;  ///< the field definition's id (see parse_custom_field_defs)
  std::string caption;  ///< informational (read-only in CW); omitted when empty
  std::string value;    ///< sent as a JSON string
};

/// What ticketsync sends to create a ticket (ids already resolved).
struct ticket_create {
  std::string summary;
  std::string company_identifier;
  std::int64_t board_id = 0;
  std::int64_t status_id = 0;
  std::int64_t priority_id = 0;
  std::string initial_description;
  std::string external_xref;
  std::string severity;                           ///< Low | Medium | High; omitted when empty
  std::string impact;                             ///< Low | Medium | High; omitted when empty
  std::optional<std::int64_t> type_id;            ///< `type` (board type); omitted when unset
  std::optional<std::int64_t> subtype_id;         ///< `subType`; omitted when unset
  std::optional<std::int64_t> item_id;            ///< `item`; omitted when unset
  std::optional<std::int64_t> team_id;            ///< `team` (board team); omitted when unset
  std::optional<std::int64_t> source_id;          ///< `source`; omitted when unset
  std::vector<custom_field_value> custom_fields;  ///< `customFields`; omitted when empty
};

/// JSON body of POST /service/tickets. References are `{"id":N}`, the company
/// `{"identifier":"X"}`; optional references and `customFields`
/// (`[{"id":N,"caption":"...","value":"..."}]`) only when set.
std::string encode_ticket_create(const ticket_create& t);

/// The ticket fields ticketsync reads back.
struct ticket_info {
  std::int64_t id = 0;
  std::string summary;
  std::string external_xref;
  std::string company_identifier;
  std::int64_t board_id = 0;
  std::int64_t status_id = 0;
  std::int64_t priority_id = 0;
  std::string severity;  ///< Low | Medium | High, "" when absent
  std::string impact;    ///< Low | Medium | High, "" when absent
  bool closed = false;
  std::optional<sys_ms> last_updated;       ///< `_info.lastUpdated`, when present and well-formed
  std::string updated_by;                   ///< `_info.updatedBy`, "" when absent
  std::optional<std::int64_t> merged_into;  ///< `mergedParentTicket.id`: the ticket this one was merged into
};

/// Parses one ticket object. errc::psa_protocol when the body is not an object
/// with an integer `id`.
result<ticket_info> parse_ticket(std::string_view body);
/// Parses a JSON array of tickets.
result<std::vector<ticket_info>> parse_ticket_list(std::string_view body);

/// Target of the lookup that finds a ticket by its correlation key:
/// `{prefix}/service/tickets?conditions=externalXRef="..."&pageSize=2`.
std::string ticket_by_xref_target(std::string_view prefix, std::string_view xref);

/// An item of a lookup list (board, board status, priority, ...).
struct named_ref {
  std::int64_t id = 0;
  std::string name;
  bool closed_status = false;          ///< board statuses: closedStatus
  bool inactive = false;               ///< inactive / inactiveFlag
  bool default_flag = false;           ///< defaultFlag
  std::vector<std::int64_t> type_ids;  ///< board subtypes: typeAssociationIds (the types it may go with)
};

/// Parses a JSON array of objects with `id` and `name` (and, when present,
/// closedStatus, inactive/inactiveFlag, defaultFlag, typeAssociationIds).
result<std::vector<named_ref>> parse_named_list(std::string_view body);

/// The ticket custom field definitions in a ticket list's `customFields`
/// arrays (`[{"id":1,"customFields":[{"id":7,"caption":"Source Product",...}]}]`):
/// one named_ref per field id (name = caption), in order of first appearance.
/// Tickets without `customFields` contribute nothing. errc::psa_protocol when
/// the body is not an array of objects or an entry lacks a positive id.
result<std::vector<named_ref>> parse_custom_field_defs(std::string_view body);

/// Target of the company lookup by identifier:
/// `{prefix}/company/companies?conditions=identifier="X"&fields=id,identifier,name`.
/// nullopt when the identifier contains both quote kinds (see condition_literal).
std::optional<std::string> company_by_identifier_target(std::string_view prefix, std::string_view identifier);

/// Parses a JSON array of companies (`id`, `identifier`) into named_refs whose
/// name is the identifier.
result<std::vector<named_ref>> parse_company_list(std::string_view body);

/// Finds `name` in `items` (active ones only): an exact match, else a unique
/// case-insensitive match. errc::psa_not_found otherwise.
result<named_ref> resolve_name(const std::vector<named_ref>& items, std::string_view name);

/// Up to `max` names from `items` closest to `name` (edit distance), for "did you mean".
std::vector<std::string> closest_names(const std::vector<named_ref>& items, std::string_view name, std::size_t max = 3);

/// One JSON Patch operation as ConnectWise takes it: `{"op":"replace","path":"summary","value":...}`.
/// Reference fields are replaced as whole objects (`{"id":N}`), never by a path into them.
struct patch_op {
  std::string path;        ///< top-level field, no leading slash (CW's documented form)
  std::string value_json;  ///< the value, as JSON text
};
patch_op replace_string(std::string_view path, std::string_view value);
patch_op replace_reference(std::string_view path, std::int64_t id);
/// JSON body of PATCH /service/tickets/{id}: an array of replace operations.
std::string encode_patch(const std::vector<patch_op>& ops);

/// Where a note shows in ConnectWise (at least one must be set).
enum class note_area { internal_analysis, resolution, discussion };
/// JSON body of POST /service/tickets/{id}/notes; processNotifications false
/// (ticketsync's notes send no e-mail).
std::string encode_note(std::string_view text, note_area area);

struct note_info {
  std::int64_t id = 0;
  std::string text;
};
/// Parses a JSON array of notes (id, text).
result<std::vector<note_info>> parse_note_list(std::string_view body);
/// Parses one created note.
result<note_info> parse_note(std::string_view body);

/// A security-role right ticketsync needs, as `doctor` checks it.
enum class permission {
  company_inquire,      ///< read companies
  tickets_inquire,      ///< read tickets
  tickets_add,          ///< create tickets
  tickets_edit,         ///< update tickets and add notes
  tickets_close,        ///< move tickets to a closed status
  table_setup_inquire,  ///< read boards, statuses, types, priorities, sources
};

/// Every permission, in the order doctor reports them.
inline constexpr permission all_permissions[] = {permission::company_inquire, permission::tickets_inquire,
                                                 permission::tickets_add,     permission::tickets_edit,
                                                 permission::tickets_close,   permission::table_setup_inquire};

/// Where the right lives in ConnectWise's security role editor, e.g.
/// "Service Desk > Service Tickets: Add".
std::string_view describe(permission p);

/// One line telling the operator what to tick in the API member's security role.
std::string_view fix_hint(permission p);

/// The outcome of a permission probe.
struct permission_check {
  permission which = permission::company_inquire;
  bool ok = false;      ///< the role let the request through (meaningful when probed)
  bool probed = false;  ///< false: no verdict (transport failure, throttled, probe not possible)
  std::string detail;   ///< the HTTP status and CW message, or why there is no verdict; never secrets
};

/// The id the ticket edit/close probes use: a ticket that should not exist
/// (probes check it answers 404 first, so nothing is ever changed).
inline constexpr std::int64_t probe_ticket_id = 2147483000;

/// Judges a probe's HTTP answer (`answer.http_status`, and for errors CW's
/// code and message, see parse_cw_error): 401/403 → probed, not ok (the role
/// refuses); 429, 5xx and anything below 100 → not probed (no sign the
/// request reached the permission check); any other status (2xx, 400, 404, ...) → probed and ok
/// (the role let the request through). `detail` is answer.to_string().
permission_check judge_probe(permission p, const cw_error& answer);

/// Parses Retry-After: delta-seconds or an HTTP date (IMF-fixdate), relative to
/// `now`. A date in the past gives zero; waits are capped at 24 hours (a longer
/// pause is an outage, retried daily). nullopt when absent or unparseable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, sys_ms now);

/// An HTTP date (IMF-fixdate, "Thu, 03 Dec 2026 10:00:00 GMT"); nullopt for any other form.
std::optional<sys_ms> parse_http_date(std::string_view value);

}  // namespace ts::psa
