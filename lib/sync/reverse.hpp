// What a change heard from ConnectWise means (pure): the ConnectWise →
// ticketsync direction's decisions. A ticket read by the polling sweep, a
// callback's re-read, or an existence check that found it gone is compared
// with what ticketsync last wrote or saw of it (issue_record::seen) and with
// where ticketsync is driving it (the issue's phase), and turned into store
// writes, history rows and log lines:
//
//   - closed by someone else while the issue is open -> the rule's
//     on_technician_close policy, now: respect and note mark the issue
//     technician-closed; reopen queues a reopen; new_ticket queues the next
//     generation's create. Closed while the issue is resolved (on_resolve
//     left it open) -> recorded; nothing follows.
//   - reopened by someone else -> tracked (a later resolve closes it again);
//   - merged into another ticket -> the issue follows the parent ticket; its
//     operations write to the parent from then on, never to the child;
//   - deleted -> on_ticket_deleted: recreate (the next event creates a new
//     ticket) or forget (no ticket until the issue resolves and comes back);
//   - moved to another board or company, priority changed -> recorded; under
//     priority_owner: person ticketsync stops writing the priority;
//   - ticketsync's own writes are echoes and change nothing: a state equal to
//     what ticketsync wrote or is driving the ticket to is not a change, an
//     observation older than the last state seen is stale, and while an
//     operation of the issue is in flight a state stamped by ticketsync's own
//     member is left to that operation's answer. Who wrote last is not
//     enough on its own: a person's change followed by a ticketsync write
//     still differs from what ticketsync last saw.
#pragma once

#include "config/config.hpp"
#include "core/records.hpp"
#include "core/time.hpp"
#include "psa/cw_codec.hpp"
#include "sync/effects.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ts::sync {

/// Where a change was heard.
enum class heard_from {
  sweep,
  callback,
  existence_check,
  write_answer,  ///< the answer to ticketsync's own patch: what it did not write is news
};

/// A ticket as ConnectWise showed it, or that it is gone (a 404 to its id).
struct observation {
  observation() = default;
  observation(std::int64_t t, std::optional<psa::ticket_info> s, heard_from f,
              std::optional<std::string> echo = std::nullopt)
      : ticket(t), state(std::move(s)), from(f), echo_of(std::move(echo)) {}

  std::int64_t ticket = 0;
  std::optional<psa::ticket_info> state;  ///< nullopt (and no echo_of): the ticket does not exist
  heard_from from = heard_from::sweep;
  /// A callback not read again because its MemberId is the member ticketsync
  /// writes as: the echo of its own write. It only says the ticket was heard
  /// from (freshness); nothing is decided on it. (A person's change after it
  /// comes with a callback of its own.)
  std::optional<std::string> echo_of;
};

/// What a change meant, in the order found (one observation may carry several).
enum class change {
  none,           ///< nothing new (an echo, or a repeat)
  stale,          ///< older than what was already seen
  in_progress,    ///< stamped by ticketsync while its operation runs: left to that operation
  other_ticket,   ///< not the issue's current ticket
  closed,         ///< closed by someone else
  reopened,       ///< reopened by someone else
  merged,         ///< merged into another ticket
  deleted,        ///< deleted in ConnectWise
  moved_board,    ///< moved to another board
  moved_company,  ///< moved to another company
  priority,       ///< priority changed by someone else
};

struct reverse_result {
  std::vector<write> writes;
  std::vector<notice> notices;
  std::vector<change> changes;  ///< what was decided (for tests and counters)
};

/// Decides what `o` means for `issue` (whose ticket it is believed to be)
/// under `policy` (the lifecycle of the issue's rule). `busy`: an operation of
/// the issue is in flight. `now` stamps seen.observed_at.
reverse_result observe(const issue_record& issue, bool busy, const observation& o,
                       const config::lifecycle_config& policy, sys_ms now);

/// The ticket view after ticketsync's own write whose answer is `t`: the new
/// baseline, keeping what persons decided earlier.
ticket_view view_after_write(const ticket_view& before, const psa::ticket_info& t, sys_ms now);

/// Whether what ticketsync knows of the ticket is fresh enough to write
/// without reading it first: heard from since ticketsync's last write while
/// callbacks are delivered (`callbacks_live`: a callback arrived lately), or
/// heard from within `sweep_bound` with no write since.
bool view_is_fresh(const ticket_view& seen, bool callbacks_live, sys_ms now,
                   std::chrono::milliseconds sweep_bound = std::chrono::seconds{30});

/// The answer `t` to ticketsync's own PATCH of the issue's ticket: the
/// fields it did not write (the status, unless `wrote_status`; the priority,
/// unless `wrote_priority`) are compared like any observation, so a person's
/// close or priority change just before the patch is noticed; the new
/// baseline is view_after_write().
reverse_result observe_write_answer(const issue_record& issue, const psa::ticket_info& t, bool wrote_status,
                                    bool wrote_priority, const config::lifecycle_config& policy, sys_ms now);

/// `d` with the fields a person owns taken from what the ticket holds
/// (`applied`), so no patch or note changes them.
desired_ticket with_ownership(desired_ticket d, const issue_record& issue);

}  // namespace ts::sync

template <>
struct ts::enum_text<ts::sync::heard_from> {
  static constexpr std::array<std::pair<ts::sync::heard_from, std::string_view>, 4> names{{
      {ts::sync::heard_from::sweep, "sweep"},
      {ts::sync::heard_from::callback, "callback"},
      {ts::sync::heard_from::existence_check, "existence_check"},
      {ts::sync::heard_from::write_answer, "write_answer"},
  }};
};

template <>
struct ts::enum_text<ts::sync::change> {
  using c = ts::sync::change;
  static constexpr std::array<std::pair<c, std::string_view>, 11> names{{
      {c::none, "none"},
      {c::stale, "stale"},
      {c::in_progress, "in_progress"},
      {c::other_ticket, "other_ticket"},
      {c::closed, "closed"},
      {c::reopened, "reopened"},
      {c::merged, "merged"},
      {c::deleted, "deleted"},
      {c::moved_board, "moved_board"},
      {c::moved_company, "moved_company"},
      {c::priority, "priority"},
  }};
};
