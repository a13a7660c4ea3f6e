// The planner (pure): given what the store knows about an issue and a new
// event, decides whether the event is news and which PSA operations follow;
// and, at send time, which steps an operation takes and what it changes
// (field diffs, note texts). Also the retry policy (backoff). No IO, no clocks.
//
// Operations are intents (create, update, close, reopen, note) whose content
// is computed when they are sent, from what the ticket is known to hold
// (`applied`) and what it should hold (`desired`, rendered from the newest
// event). A burst of updates therefore becomes one patch, and an operation
// retried after a crash sends what is wanted now, not what was wanted then.
#pragma once

#include "config/config.hpp"
#include "core/event.hpp"
#include "core/issue_key.hpp"
#include "core/time.hpp"
#include "psa/cw_codec.hpp"
#include "rules/mapping.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::sync {

enum class op_kind {
  create,  ///< POST a ticket (a new generation's when the issue came back after the reopen window)
  update,  ///< note what changed, then patch the changed fields (policy on_update: note = note only)
  close,   ///< resolution note (optional), then patch the closed status
  reopen,  ///< note, then patch the reopen status (and changed fields)
  note,    ///< a note only (resolved or reopened while the ticket stays open)
};

/// Which note a `note` operation posts.
enum class note_kind { update, resolve, reopen };

/// Where the ticket stands, or will stand once the queued operations succeed.
enum class ticket_phase { none, open, closed };

/// The ticket fields ticketsync keeps in step with the issue.
struct ticket_fields {
  std::string summary;
  std::string priority;  ///< priority name
  std::string severity;  ///< ConnectWise severity: Low | Medium | High
  std::string impact;    ///< ConnectWise impact: Low | Medium | High
  friend bool operator==(const ticket_fields&, const ticket_fields&) = default;
};

/// ConnectWise severity and impact for an event severity (critical: High/High,
/// high: High/Medium, medium: Medium/Medium, low: Low/Low, info: Low/Low).
std::pair<std::string, std::string> cw_severity_impact(ts::severity s) noexcept;

/// What the store knows about an issue, as far as planning is concerned.
struct issue_snapshot {
  issue_state state = issue_state::open;  ///< of the newest applied event
  sys_ms last_event_at{};                 ///< updated_at of the newest applied event
  ticket_phase phase = ticket_phase::none;  ///< after the queued operations
  std::optional<sys_ms> resolved_at;      ///< updated_at of the event that resolved the issue
  ticket_fields fields;                   ///< desired fields as of the newest applied event
  bool technician_closed = false;         ///< the ticket was found closed while the issue was open
};

struct planned_op {
  op_kind kind = op_kind::create;
  note_kind note = note_kind::update;  ///< for op_kind::note
  friend bool operator==(const planned_op&, const planned_op&) = default;
};

struct plan {
  bool apply = false;              ///< the event is newer than anything applied: store it
  std::vector<planned_op> ops;     ///< to queue, in order
  ticket_phase phase_after = ticket_phase::none;  ///< the ticket's phase once they succeed
  std::optional<sys_ms> resolved_at;              ///< the issue's resolved_at after this event
  bool new_generation = false;     ///< the create opens a new ticket for a returning issue
  bool clear_technician_closed = false;  ///< the issue's technician_closed mark no longer applies
  std::string_view reason;         ///< why, for logs and `explain`
};

/// Decides what `ev` (whose rendered fields are `fields`) means for an issue in
/// state `current` (nullopt: never seen), under `policy`:
///  - not newer than the newest applied event -> nothing (never regress)
///  - no ticket: open -> create; resolved -> record only
///  - open ticket: open with changed fields -> update (on_update patch|note; ignore: none);
///                 issue back after a resolve that left the ticket open -> reopen note (on_resolve note);
///                 resolved -> close | resolve note | nothing (on_resolve)
///  - closed ticket: open within reopen_window of resolved_at (inclusive) -> reopen;
///                   open after it -> create a new ticket (new generation); resolved -> nothing
///  - ticket closed by a technician while the issue is open (technician_closed):
///                   open with changes -> on_technician_close: respect nothing, note a note,
///                   reopen a reopen, new_ticket a create (new generation);
///                   resolved -> recorded (the mark is cleared)
plan plan_event(const std::optional<issue_snapshot>& current, const event& ev, const ticket_fields& fields,
                const config::lifecycle_config& policy);

/// What an operation does when it finds the issue's ticket closed in
/// ConnectWise while ticketsync believed it open (closed by a technician).
enum class technician_closed_action {
  stop,        ///< respect: send nothing; the ticket stays closed
  note_only,   ///< note: post the operation's note, patch nothing
  reopen,      ///< reopen: run as a reopen (note, reopen status)
  new_ticket,  ///< new_ticket: queue a create of the next generation
};
technician_closed_action on_technician_closed(config::technician_close_policy p) noexcept;

/// Storm protection: whether a tenant that queued `creates_in_window` new
/// tickets in the last hour is over `cap` (0 = no cap).
bool storm_capped(int cap, std::int64_t creates_in_window) noexcept;

/// The synthetic issue whose ticket collects a tenant's overflow during the
/// clock hour (UTC) of `now`: source ts::digest_source, issue_id "storm-YYYY-MM-DDTHH".
issue_identity digest_identity(std::string_view tenant, sys_ms now);

/// The fields of a rendered ticket ticketsync keeps in step.
ticket_fields fields_of(const rules::desired_ticket& t);

/// The stored form of what an issue's ticket should be (issues.desired):
/// rule, company, board, statuses, optional names, custom fields, description
/// and the kept-in-step fields. The driver adds "xref" (per generation).
nlohmann::json desired_document(const rules::desired_ticket& t);

/// The name-independent part of a create body, from a desired document:
/// summary, company, description, severity, impact and `xref`. Ids (board,
/// status, priority, type, ...) are resolved by the caller. The daemon and
/// `explain` both build their bodies with it, so they cannot drift apart.
void fill_ticket_body(psa::ticket_create& body, const nlohmann::json& desired, std::string xref);

/// One changed field, for patches and notes.
struct field_change {
  std::string field;  ///< ConnectWise field: summary, priority, severity, impact
  std::string from;
  std::string to;
  friend bool operator==(const field_change&, const field_change&) = default;
};

/// The fields of `desired` that differ from `applied`, in a fixed order.
std::vector<field_change> diff_fields(const ticket_fields& applied, const ticket_fields& desired);

/// `- summary: old → new` lines, one per change (the {{changes}} of note templates).
std::string describe_changes(const std::vector<field_change>& changes);

/// The steps of an operation, in order; the driver persists the index of the
/// next step so a retry never repeats a finished one. A note comes before the
/// patch it describes, so its text is computed from the fields the ticket still
/// holds; patches set absolute values and may be repeated.
///   create: post_ticket          update: post_note, patch_fields (on_update note: post_note)
///   close:  [post_note,] patch_status       reopen: post_note, patch_status
///   note:   post_note                        update under on_update ignore: none
enum class step_kind {
  post_ticket,      ///< POST /service/tickets
  patch_fields,     ///< PATCH changed fields (skipped when nothing changed)
  patch_status,     ///< PATCH status (close / reopen), with changed fields for reopen
  post_note,        ///< POST /service/tickets/{id}/notes
};
std::vector<step_kind> steps_of(op_kind kind, config::on_update_policy on_update, bool resolve_note);

/// Retry policy: exponential backoff with full jitter. attempt 1 waits up to
/// `base`, attempt n up to min(cap, base * 2^(n-1)); `unit_random` in [0, 1)
/// picks the point in that range.
struct backoff_policy {
  std::chrono::milliseconds base{1'000};
  std::chrono::milliseconds cap{300'000};
};
std::chrono::milliseconds backoff_delay(const backoff_policy& p, int attempt, double unit_random) noexcept;

}  // namespace ts::sync

template <>
struct ts::enum_text<ts::sync::op_kind> {
  static constexpr std::array<std::pair<sync::op_kind, std::string_view>, 5> names{{
      {sync::op_kind::create, "create"},
      {sync::op_kind::update, "update"},
      {sync::op_kind::close, "close"},
      {sync::op_kind::reopen, "reopen"},
      {sync::op_kind::note, "note"},
  }};
};

template <>
struct ts::enum_text<ts::sync::note_kind> {
  static constexpr std::array<std::pair<sync::note_kind, std::string_view>, 3> names{{
      {sync::note_kind::update, "update"},
      {sync::note_kind::resolve, "resolve"},
      {sync::note_kind::reopen, "reopen"},
  }};
};

template <>
struct ts::enum_text<ts::sync::ticket_phase> {
  static constexpr std::array<std::pair<sync::ticket_phase, std::string_view>, 3> names{{
      {sync::ticket_phase::none, "none"},
      {sync::ticket_phase::open, "open"},
      {sync::ticket_phase::closed, "closed"},
  }};
};
