// What the pure core of the engine hands back to the loop: store writes to
// commit (as values, applied in order by sync/engine.cpp in one savepoint of
// the group commit), log lines, and counters. Pure data.
#pragma once

#include "core/records.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ts::sync {

/// An issue row a write refers to: one that exists, or one a write earlier in
/// the same batch inserts (the event's own issue, or its tenant's new storm
/// digest issue).
struct issue_ref {
  enum class which { id, self, digest };
  which of = which::id;
  std::int64_t id = 0;  ///< for which::id

  static issue_ref existing(std::int64_t id) { return {which::id, id}; }
  static issue_ref self() { return {which::self, 0}; }
  static issue_ref new_digest() { return {which::digest, 0}; }
};

namespace wr {
/// Inserts (rec.id == 0) or updates the whole row (ingest only: it owns the
/// event columns); `as` names the row for later writes of the batch.
struct save_issue {
  issue_record rec;
  issue_ref::which as = issue_ref::which::self;
  std::optional<issue_ref> digest_of;  ///< sets rec.digest to this row's id
};
/// Changes only the fields set (store::issue_update); what operations write.
struct update_issue {
  std::int64_t issue = 0;
  std::optional<ticket_phase> phase;
  bool phase_from_ticket = false;
  std::optional<bool> tech_closed;
  std::optional<int> generation;
  std::optional<desired_ticket> desired;
  std::optional<std::string> rule;
};
struct set_ticket {
  std::int64_t issue = 0;
  std::optional<std::int64_t> ticket;
  ticket_state state = ticket_state::none;
};
struct set_applied {
  std::int64_t issue = 0;
  applied_ticket applied;
};
/// The ticket as last written or seen (issues.seen).
struct set_seen {
  std::int64_t issue = 0;
  ticket_view seen;
};
/// Callback hints that were acted on (ticket_hints).
struct remove_hints {
  std::vector<std::int64_t> ids;
};
/// A mark of the reverse direction (reverse_marks).
struct reverse_mark {
  std::string name;
  std::int64_t value = 0;
};
/// A new operation; `dead` makes it dead-lettered at once (it cannot run).
struct add_operation {
  issue_ref issue;
  op_kind kind = op_kind::create;
  op_payload payload;
  std::optional<issue_ref> member;  ///< sets payload.member to this row's id
  std::optional<dead_letter_info> dead;
};
struct mark_sent {
  std::int64_t op = 0;
  op_payload payload;
};
struct advance_step {
  std::int64_t op = 0;
  int step = 0;
};
struct complete {
  std::int64_t op = 0;
};
struct retry {
  std::int64_t op = 0;
  sys_ms next{};
  std::string error;
  bool clear_sent = false;
  bool counts = true;
  std::optional<sent_cause> cause;
};
struct dead_letter {
  std::int64_t op = 0;
  dead_letter_info info;
};
struct clear_rerender {
  std::int64_t op = 0;
};
/// A history row: kind decision | operation, detail JSON text.
struct history {
  issue_ref issue;
  std::string kind;
  std::optional<std::int64_t> op;
  std::string detail;
};
/// An event of an unmapped tenant, kept until a reload maps it.
struct hold_event {
  std::int64_t inbox_id = 0;
  sys_ms received_at{};
  std::string origin;
  std::string body;
  std::string source;
  std::string tenant;
  std::string reason;
};
/// One value of the runtime table (what the daemon records for the operator
/// commands of other processes).
struct runtime {
  std::string key;
  std::string value;
};
/// A name list fetched from the PSA, for the directory cache.
struct put_directory {
  std::string kind;
  std::int64_t scope = 0;
  std::string body;
  sys_ms fetched_at{};
};
}  // namespace wr

using write =
    std::variant<wr::save_issue, wr::update_issue, wr::set_ticket, wr::set_applied, wr::set_seen, wr::add_operation,
                 wr::mark_sent, wr::advance_step, wr::complete, wr::retry, wr::dead_letter, wr::clear_rerender,
                 wr::history, wr::hold_event, wr::runtime, wr::put_directory, wr::reverse_mark, wr::remove_hints>;

/// A log line: `text` starts with its stable event name ("ticket.created ...").
struct notice {
  enum class level { debug, info, warn, error };
  level lvl = level::info;
  std::string text;
};

/// Counters of the engine, for metrics and the daemon.stopped line.
struct engine_stats {
  std::uint64_t events_planned = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t tickets_created = 0;
  std::uint64_t tickets_adopted = 0;
  std::uint64_t notes_posted = 0;
  std::uint64_t notes_adopted = 0;
  std::uint64_t patches = 0;
  std::uint64_t retries = 0;
  std::uint64_t dead = 0;
  std::uint64_t held = 0;               ///< events held for an unmapped tenant
  std::uint64_t digested = 0;           ///< new issues folded into a storm digest ticket
  std::uint64_t technician_closed = 0;  ///< tickets found closed by a person
  /// What changes heard from ConnectWise meant, by change name (reverse.hpp).
  std::map<std::string, std::uint64_t> ticket_changes;
  std::uint64_t sweeps = 0;          ///< polling sweeps completed
  std::uint64_t sweep_failures = 0;  ///< sweeps that stopped on a failed or unreadable page
  std::uint64_t reloads = 0;
  std::uint64_t rate_waits = 0;  ///< requests held back by the budget or a 429 pause
  double rate_wait_seconds = 0;
  /// Operations by {kind, outcome}: done, skipped, retry, dead.
  std::map<std::pair<std::string, std::string>, std::uint64_t> operations;
  /// Lookups made because an earlier attempt's outcome was uncertain, by
  /// cause (sent_cause's names): what the exactly-once rule costs.
  std::map<std::string, std::uint64_t> recovery_lookups;
};

}  // namespace ts::sync
