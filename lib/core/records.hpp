// What ticketsync remembers about an issue and its PSA operations (the rows
// of the store's issues and operations tables), typed. The store reads and
// writes these; ingest and the operation machine decide on them. Pure data.
#pragma once

#include "core/enum_text.hpp"
#include "core/event.hpp"
#include "core/issue_key.hpp"
#include "core/ticket.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ts {

/// A PSA operation: an intent whose content (fields, note text) is computed
/// when it runs, from what the ticket holds and what the newest event wants.
enum class op_kind {
  create,  ///< POST a ticket (a new generation's when the issue came back after the reopen window)
  update,  ///< note what changed, then patch the changed fields (policy on_update: note = note only)
  close,   ///< resolution note (optional), then patch the closed status
  reopen,  ///< note, then patch the reopen status (and changed fields)
  note,    ///< a note only (resolved or reopened while the ticket stays open; a storm digest line)
};

/// Which note a `note` operation posts.
enum class note_kind {
  update,
  resolve,
  reopen,
  digest,  ///< a line on a storm digest ticket, rendered when planned (op_payload::text)
};

/// What is known to be true of the issue's ticket.
enum class ticket_state { none, creating, open, closed };

/// Where the ticket stands, or will stand once the queued operations succeed
/// (what planning works on).
enum class ticket_phase { none, open, closed };

enum class op_status { pending, done, dead };

/// Why an operation marked sent may have reached the PSA unanswered: what the
/// next attempt's lookup (externalXRef search, notes read) recovers from.
enum class sent_cause {
  interrupted,  ///< the daemon stopped or died with the request in flight
  transport,    ///< no answer: timeout, reset, connection lost after the request was written
  server,       ///< a 5xx, which may come after the server acted
  protocol,     ///< an answer that could not be read
};

/// An operation's parameters and what it must repeat identically.
struct op_payload {
  note_kind note = note_kind::update;    ///< for op_kind::note
  int generation = 1;                    ///< for op_kind::create
  std::optional<std::int64_t> member;    ///< a digest note: the issue it is about
  std::string text;                      ///< a digest note: its text, rendered when planned
  std::optional<std::string> note_text;  ///< a note sent once: the text any retry must repeat
  friend bool operator==(const op_payload&, const op_payload&) = default;
};

struct operation_record {
  std::int64_t id = 0;
  std::int64_t issue = 0;
  op_kind kind = op_kind::create;
  op_payload payload;
  op_status status = op_status::pending;
  int attempts = 0;                            ///< failed attempts so far (drives the backoff)
  bool sent = false;                           ///< a request may have reached the PSA unanswered
  sent_cause cause = sent_cause::interrupted;  ///< why, when sent
  sys_ms next_attempt_at{};
  std::string last_error;
  int step = 0;           ///< index of the next step to run
  bool rerender = false;  ///< retried by an operator: render the issue's ticket anew before running
};

/// The issue's ticket as ticketsync last wrote or saw it in ConnectWise
/// (issues.seen): what each change heard from ConnectWise is compared with.
/// Ids are ConnectWise's; times are the server's, but observed_at and written_at.
struct ticket_view {
  bool known = false;  ///< something was written or seen since this was kept (false on older rows)
  bool closed = false;
  std::int64_t status_id = 0;
  std::int64_t board_id = 0;
  std::int64_t priority_id = 0;
  std::string company;                      ///< company identifier
  std::optional<sys_ms> last_updated;       ///< `_info.lastUpdated` of that state
  std::string updated_by;                   ///< `_info.updatedBy` of that state
  std::string written_by;                   ///< the member ticketsync's own writes were stamped with
  std::optional<sys_ms> observed_at;        ///< local time it was last heard from ConnectWise (not a write answer)
  std::optional<sys_ms> written_at;         ///< local time of ticketsync's last write answer
  bool deleted = false;                     ///< the ticket was deleted in ConnectWise
  bool forgotten = false;                   ///< ...under on_delete: forget: no ticket until the issue comes back
  bool person_priority = false;             ///< a person set the priority: ticketsync leaves it (field ownership)
  std::optional<std::int64_t> merged_from;  ///< the ticket the issue had before it was merged into ticket_id
  friend bool operator==(const ticket_view&, const ticket_view&) = default;
};

struct issue_record {
  std::int64_t id = 0;  ///< 0 before insertion
  issue_identity identity;
  std::string correlation_key;
  issue_state state = issue_state::open;
  ts::severity severity = ts::severity::info;
  sys_ms last_event_at{};
  std::string event_json;  ///< the newest applied event, as received
  std::optional<std::int64_t> ticket_id;
  ticket_state ticket = ticket_state::none;  ///< known to be true
  int generation = 1;                        ///< ticket generation (new ticket after the reopen window)
  ticket_phase phase = ticket_phase::none;   ///< once queued operations succeed
  std::optional<sys_ms> resolved_at;         ///< updated_at of the resolving event
  desired_ticket desired;                    ///< the ticket as the newest event wants it
  applied_ticket applied;                    ///< what the ticket is known to hold
  std::string rule;                          ///< rule that decided the ticket (newest event)
  bool tech_closed = false;                  ///< ticket found closed by a person while the issue was open
  std::optional<std::int64_t> digest;        ///< storm digest issue this issue was folded into
  ticket_view seen;                          ///< the ticket as last written or seen in ConnectWise

  /// externalXRef of the issue's current ticket generation.
  std::string xref() const { return xref_for(correlation_key, generation); }
};

/// Why an operation was given up, as ConnectWise said it.
struct dead_letter_info {
  int http_status = 0;  ///< 0 when no HTTP answer was involved (e.g. a name that does not resolve)
  std::string cw_code;
  std::string cw_message;
  std::string cw_field;
  std::string error;  ///< the whole story, human-readable
};

// The stored forms (JSON text in the store's columns). Decoding is lenient:
// a missing or mistyped key takes its default, so rows written by earlier
// releases read back (their desired ticket may also hold an "xref", which is
// derived now and ignored).

/// issues.desired
std::string encode_desired(const desired_ticket& d);
desired_ticket decode_desired(std::string_view text);
/// issues.applied ({} = nothing known yet)
std::string encode_applied(const applied_ticket& a);
applied_ticket decode_applied(std::string_view text);
/// issues.seen ({} = nothing seen yet)
std::string encode_seen(const ticket_view& v);
ticket_view decode_seen(std::string_view text);
/// operations.payload
std::string encode_payload(const op_payload& p);
op_payload decode_payload(std::string_view text);

/// The phase a ticket in state `t` stands in, with nothing queued.
constexpr ticket_phase phase_of(ticket_state t) noexcept {
  return t == ticket_state::open     ? ticket_phase::open
         : t == ticket_state::closed ? ticket_phase::closed
                                     : ticket_phase::none;
}

template <>
struct enum_text<op_kind> {
  static constexpr std::array<std::pair<op_kind, std::string_view>, 5> names{{
      {op_kind::create, "create"},
      {op_kind::update, "update"},
      {op_kind::close, "close"},
      {op_kind::reopen, "reopen"},
      {op_kind::note, "note"},
  }};
};

template <>
struct enum_text<note_kind> {
  static constexpr std::array<std::pair<note_kind, std::string_view>, 4> names{{
      {note_kind::update, "update"},
      {note_kind::resolve, "resolve"},
      {note_kind::reopen, "reopen"},
      {note_kind::digest, "digest"},
  }};
};

// ticket_state, op_status: as in the CHECK constraints of migrations/0001_init.sql.
template <>
struct enum_text<ticket_state> {
  static constexpr std::array<std::pair<ticket_state, std::string_view>, 4> names{{
      {ticket_state::none, "none"},
      {ticket_state::creating, "creating"},
      {ticket_state::open, "open"},
      {ticket_state::closed, "closed"},
  }};
};

template <>
struct enum_text<ticket_phase> {
  static constexpr std::array<std::pair<ticket_phase, std::string_view>, 3> names{{
      {ticket_phase::none, "none"},
      {ticket_phase::open, "open"},
      {ticket_phase::closed, "closed"},
  }};
};

template <>
struct enum_text<op_status> {
  static constexpr std::array<std::pair<op_status, std::string_view>, 3> names{{
      {op_status::pending, "pending"},
      {op_status::done, "done"},
      {op_status::dead, "dead"},
  }};
};

template <>
struct enum_text<sent_cause> {
  static constexpr std::array<std::pair<sent_cause, std::string_view>, 4> names{{
      {sent_cause::interrupted, "interrupted"},
      {sent_cause::transport, "transport"},
      {sent_cause::server, "server"},
      {sent_cause::protocol, "protocol"},
  }};
};

}  // namespace ts
