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
#include "core/records.hpp"
#include "core/ticket.hpp"
#include "core/time.hpp"
#include "psa/cw_codec.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::sync {

// The vocabulary lives in core (records.hpp, ticket.hpp); these names keep
// the planner's callers short.
using ts::describe_changes;
using ts::diff_fields;
using ts::field_change;
using ts::note_kind;
using ts::op_kind;
using ts::ticket_fields;
using ts::ticket_phase;

/// ConnectWise severity and impact for an event severity (critical: High/High,
/// high: High/Medium, medium: Medium/Medium, low: Low/Low, info: Low/Low).
std::pair<std::string, std::string> cw_severity_impact(ts::severity s) noexcept;

/// What the store knows about an issue, as far as planning is concerned.
struct issue_snapshot {
  issue_state state = issue_state::open;    ///< of the newest applied event
  sys_ms last_event_at{};                   ///< updated_at of the newest applied event
  ticket_phase phase = ticket_phase::none;  ///< after the queued operations
  std::optional<sys_ms> resolved_at;        ///< updated_at of the event that resolved the issue
  ticket_fields fields;                     ///< desired fields as of the newest applied event
  bool technician_closed = false;           ///< the ticket was found closed while the issue was open
  bool ticket_forgotten = false;            ///< its ticket was deleted under on_ticket_deleted: forget
};

struct planned_op {
  op_kind kind = op_kind::create;
  note_kind note = note_kind::update;  ///< for op_kind::note
  friend bool operator==(const planned_op&, const planned_op&) = default;
};

struct plan {
  bool apply = false;                             ///< the event is newer than anything applied: store it
  std::vector<planned_op> ops;                    ///< to queue, in order
  ticket_phase phase_after = ticket_phase::none;  ///< the ticket's phase once they succeed
  std::optional<sys_ms> resolved_at;              ///< the issue's resolved_at after this event
  bool new_generation = false;                    ///< the create opens a new ticket for a returning issue
  bool clear_technician_closed = false;           ///< the issue's technician_closed mark no longer applies
  bool clear_forgotten = false;                   ///< the issue resolved: a deleted ticket's "forget" ends
  std::string_view reason;                        ///< why, for logs and `explain`
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

/// The name-independent part of a create body: summary, company,
/// description, severity, impact and `xref`. Ids (board, status, priority,
/// type, ...) are resolved by the operation machine.
void fill_ticket_body(psa::ticket_create& body, const desired_ticket& desired, std::string xref);

/// The steps of an operation, in order; the driver persists the index of the
/// next step so a retry never repeats a finished one. A note comes before the
/// patch it describes, so its text is computed from the fields the ticket still
/// holds; patches set absolute values and may be repeated.
///   create: post_ticket          update: post_note, patch_fields (on_update note: post_note)
///   close:  [post_note,] patch_status       reopen: post_note, patch_status
///   note:   post_note                        update under on_update ignore: none
enum class step_kind {
  post_ticket,   ///< POST /service/tickets
  patch_fields,  ///< PATCH changed fields (skipped when nothing changed)
  patch_status,  ///< PATCH status (close / reopen), with changed fields for reopen
  post_note,     ///< POST /service/tickets/{id}/notes
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
