// Ingest (pure): one event, parsed once, and what the store holds about its
// issue -> the mapping decision, the plan, and one batch of store writes (the
// issue's new state, the operations to queue, the history rows). The daemon
// runs it for every inbox row; `ticketsyncd explain` runs exactly this code
// on a read-only snapshot, so what explain prints is what the daemon would do.
//
// The snapshot is read first (sync/snapshot.hpp reads it from the store), so
// deciding never goes back to the store: reads_for() says what to read beyond
// the issue itself.
#pragma once

#include "core/event.hpp"
#include "core/records.hpp"
#include "core/time.hpp"
#include "rules/ruleset.hpp"
#include "sync/effects.hpp"
#include "sync/planner.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::sync {

/// What ingest must see beyond the event's issue (storm protection).
struct ingest_reads {
  bool storm = false;     ///< the tenant's creates in the last hour and its digest issue of this hour
  issue_identity digest;  ///< that digest issue's identity (when storm)
};

/// What the store holds that an event is decided on.
struct ingest_snapshot {
  std::optional<issue_record> issue;          ///< the event's issue, if seen before
  std::optional<operation_record> newest_op;  ///< its newest pending operation (for coalescing)
  bool newest_op_in_flight = false;           ///< ... which is executing now (cannot take more)
  std::int64_t tenant_creates_last_hour = 0;  ///< when reads.storm
  std::optional<issue_record> digest_issue;   ///< when reads.storm: the tenant's digest issue of this hour
};

/// What to read for `ev` given its issue as stored (nullopt: never seen).
ingest_reads reads_for(const event& ev, const std::optional<issue_record>& issue, const config::config& cfg,
                       sys_ms now);

/// An inbox row, its event parsed once.
struct ingest_input {
  const event& ev;
  std::string_view body;  ///< the event's JSON as received (stored with the issue)
  std::int64_t inbox_id = 0;
  std::string_view origin;  ///< e.g. "spool:NAME"
  sys_ms received_at{};
};

struct ingest_result {
  rules::decision decision;
  std::optional<plan> planned;  ///< unset when held
  /// What happened, for explain: "new issue", "storm: ...", "held: ...".
  std::string reason;
  /// The operations queued, in order, as explain shows them ("create",
  /// "update", "digest_note", ...); coalesced ones are not listed.
  std::vector<std::string> ops;
  bool held = false;
  bool digested = false;  ///< folded into the tenant's storm digest
  std::vector<write> writes;
  std::vector<notice> notices;
};

/// Decides what the event means. `stats` gets held/digested/dead counts.
ingest_result ingest(const ingest_input& in, const ingest_snapshot& snap, const rules::ruleset& rules, sys_ms now,
                     engine_stats& stats);

/// An operator retried a dead operation (`deadletter retry`): the issue's
/// ticket rendered anew from its stored event with the mapping in effect.
struct rerender_result {
  std::optional<std::string> error;  ///< why it cannot be rendered (the operation goes back to the dead letters)
  issue_record issue;                ///< the issue as the operation should now see it
  std::vector<write> writes;
};
rerender_result rerender(const operation_record& op, const issue_record& issue, const rules::ruleset& rules,
                         sys_ms now);

}  // namespace ts::sync
