// Unit tests for sync/planner, the pure core of the issue lifecycle. They pin:
// plan_event's decision for every transition its header and code describe
// (never seen; stale at equal and 1 ms older timestamps against 1 ms newer; no
// ticket, open ticket and closed ticket, under every on_update / on_resolve
// policy; the inclusive reopen-window boundary, the window measured from
// resolved_at, and a zero window) including the phase the ticket will have,
// the issue's resolved_at afterwards (carried, set or cleared) and whether a
// new ticket generation starts; diff_fields and describe_changes (fields,
// fixed order, "- field: old → new" lines); the ConnectWise severity/impact
// mapping; the steps of every op_kind under every on_update policy with and
// without a resolution note; the persisted op_kind / note_kind names; and the
// retry backoff (clamped attempts, doubling, cap, jitter range). Events are
// built field by field and timed with ts::parse_rfc3339.
#include "sync/planner.hpp"
#include "config/config.hpp"
#include "core/event.hpp"
#include "core/time.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace sync = ts::sync;
namespace config = ts::config;
using namespace std::chrono_literals;
using config::on_resolve_policy;
using config::on_update_policy;
using sync::note_kind;
using sync::op_kind;
using sync::planned_op;
using sync::step_kind;
using sync::ticket_phase;
using ts::issue_state;

ts::sys_ms at(const char* rfc3339) { return ts::parse_rfc3339(rfc3339).value(); }

ts::event make_event(issue_state state, const char* updated_at) {
  ts::event ev;
  ev.source = "wazuh";
  ev.tenant = "acme-prod";
  ev.issue_id = "alert-42";
  ev.state = state;
  ev.severity = ts::severity::high;
  ev.title = "Disk full on srv01";
  ev.updated_at = at(updated_at);
  ev.updated_at_text = updated_at;
  return ev;
}

// --- readable renderings for failure messages ------------------------------

std::string show(ticket_phase p) {
  switch (p) {
    case ticket_phase::none: return "none";
    case ticket_phase::open: return "open";
    case ticket_phase::closed: return "closed";
  }
  return "?";
}

std::string show(const std::optional<ts::sys_ms>& t) { return t ? ts::format_rfc3339(*t) : "none"; }

std::string show(const std::vector<planned_op>& ops) {
  std::string out = "[";
  for (const auto& op : ops) {
    if (out.size() > 1) out += ", ";
    out += std::string(ts::to_text(op.kind));
    if (op.kind == op_kind::note) out += "(" + std::string(ts::to_text(op.note)) + ")";
  }
  return out + "]";
}

std::string show(step_kind s) {
  switch (s) {
    case step_kind::post_ticket: return "post_ticket";
    case step_kind::patch_fields: return "patch_fields";
    case step_kind::patch_status: return "patch_status";
    case step_kind::post_note: return "post_note";
  }
  return "?";
}

std::string show(const std::vector<step_kind>& steps) {
  std::string out = "[";
  for (step_kind s : steps) {
    if (out.size() > 1) out += ", ";
    out += show(s);
  }
  return out + "]";
}

// ---------------------------------------------------------------------------
// plan_event
//
// Every seen issue's newest applied event is at `applied`. Snapshots that are
// resolved record the resolving event's time in `resolved_at`.

constexpr const char* applied = "2026-03-01T12:00:00.000Z";
constexpr const char* one_ms_older = "2026-03-01T11:59:59.999Z";
constexpr const char* one_ms_newer = "2026-03-01T12:00:00.001Z";
constexpr const char* day_older = "2026-02-28T12:00:00.000Z";
constexpr const char* day_newer = "2026-03-02T12:00:00.000Z";
constexpr const char* day_newer_less_1ms = "2026-03-02T11:59:59.999Z";
constexpr const char* day_newer_plus_1ms = "2026-03-02T12:00:00.001Z";
constexpr const char* week_newer = "2026-03-08T12:00:00.000Z";
constexpr const char* week_newer_plus_1ms = "2026-03-08T12:00:00.001Z";
constexpr const char* year_newer = "2027-03-01T12:00:00.000Z";

const sync::ticket_fields base_fields{"[high] Disk full on srv01", "High", "High", "Medium"};
const sync::ticket_fields changed_fields{"[critical] Disk full on srv01", "Critical", "High", "High"};

struct known {
  issue_state state;
  ticket_phase phase;
  const char* resolved_at;  // nullptr: none
};

sync::issue_snapshot snapshot(const known& k) {
  sync::issue_snapshot s;
  s.state = k.state;
  s.last_event_at = at(applied);
  s.phase = k.phase;
  if (k.resolved_at) s.resolved_at = at(k.resolved_at);
  s.fields = base_fields;
  return s;
}

// The snapshots the table starts from.
constexpr known none_open{issue_state::open, ticket_phase::none, nullptr};
constexpr known none_resolved{issue_state::resolved, ticket_phase::none, applied};  // born resolved
constexpr known none_resolved_earlier{issue_state::resolved, ticket_phase::none,
                                      day_older};  // resolved, then a later resolved event
constexpr known open_open{issue_state::open, ticket_phase::open, nullptr};
constexpr known open_resolved{issue_state::resolved, ticket_phase::open, applied};  // resolve left the ticket open
constexpr known open_resolved_earlier{issue_state::resolved, ticket_phase::open, day_older};
constexpr known open_resolved_unrecorded{issue_state::resolved, ticket_phase::open, nullptr};
constexpr known closed_resolved{issue_state::resolved, ticket_phase::closed, applied};
constexpr known closed_resolved_earlier{issue_state::resolved, ticket_phase::closed, day_older};
constexpr known closed_unrecorded{issue_state::resolved, ticket_phase::closed, nullptr};

config::lifecycle_config policy(on_update_policy u, on_resolve_policy r,
                                std::chrono::milliseconds window = std::chrono::hours{24 * 7}) {
  config::lifecycle_config p;
  p.on_update = u;
  p.on_resolve = r;
  p.reopen_window = window;
  return p;
}

const config::lifecycle_config defaults = policy(on_update_policy::patch, on_resolve_policy::close);
const config::lifecycle_config patch_close = defaults;
const config::lifecycle_config patch_note = policy(on_update_policy::patch, on_resolve_policy::note);
const config::lifecycle_config patch_ignore = policy(on_update_policy::patch, on_resolve_policy::ignore);
const config::lifecycle_config note_close = policy(on_update_policy::note, on_resolve_policy::close);
const config::lifecycle_config note_note = policy(on_update_policy::note, on_resolve_policy::note);
const config::lifecycle_config ignore_close = policy(on_update_policy::ignore, on_resolve_policy::close);
const config::lifecycle_config ignore_note = policy(on_update_policy::ignore, on_resolve_policy::note);
const config::lifecycle_config ignore_ignore = policy(on_update_policy::ignore, on_resolve_policy::ignore);
const config::lifecycle_config day_window = policy(on_update_policy::patch, on_resolve_policy::close, 24h);
const config::lifecycle_config two_day_window = policy(on_update_policy::patch, on_resolve_policy::close, 48h);
const config::lifecycle_config no_window = policy(on_update_policy::patch, on_resolve_policy::close, 0ms);
const config::lifecycle_config negative_window = policy(on_update_policy::patch, on_resolve_policy::close, -24h);

const planned_op create{op_kind::create};
const planned_op update{op_kind::update};
const planned_op close_op{op_kind::close};
const planned_op reopen{op_kind::reopen};
const planned_op resolve_note{op_kind::note, note_kind::resolve};
const planned_op reopen_note{op_kind::note, note_kind::reopen};
const std::vector<planned_op> no_ops{};

constexpr bool changed = true;
constexpr bool same = false;

struct plan_case {
  const char* name;
  // given
  std::optional<known> current;  // nullopt: never seen
  config::lifecycle_config policy;
  // when
  issue_state event_state;
  const char* event_at;
  bool fields_changed;
  // then
  bool apply;
  std::vector<planned_op> ops;
  ticket_phase phase_after;
  const char* resolved_at;  // nullptr: none
  bool new_generation;
};

void PrintTo(const plan_case& c, std::ostream* os) { *os << c.name; }

class PlanEvent : public testing::TestWithParam<plan_case> {};

TEST_P(PlanEvent, Table) {
  const plan_case& c = GetParam();
  std::optional<sync::issue_snapshot> current;
  if (c.current) current = snapshot(*c.current);
  const sync::plan p = sync::plan_event(current, make_event(c.event_state, c.event_at),
                                        c.fields_changed ? changed_fields : base_fields, c.policy);
  EXPECT_EQ(p.apply, c.apply);
  EXPECT_EQ(p.ops, c.ops) << "got " << show(p.ops) << ", want " << show(c.ops);
  EXPECT_EQ(show(p.phase_after), show(c.phase_after));
  const std::optional<ts::sys_ms> want_resolved_at =
      c.resolved_at ? std::optional<ts::sys_ms>(at(c.resolved_at)) : std::nullopt;
  EXPECT_EQ(show(p.resolved_at), show(want_resolved_at));
  EXPECT_EQ(p.new_generation, c.new_generation);
  EXPECT_FALSE(p.reason.empty());
}

std::string row_name(const testing::TestParamInfo<plan_case>& info) { return info.param.name; }

// clang-format off
INSTANTIATE_TEST_SUITE_P(NeverSeen, PlanEvent, testing::Values(
    // name                                   current       policy         event                                     apply  ops          phase_after           resolved_at   new_gen
    plan_case{"open_creates",                  std::nullopt, defaults,      issue_state::open,     applied, same,     true,  {create},    ticket_phase::open,   nullptr,      false},
    plan_case{"open_creates_whatever_policy",  std::nullopt, ignore_ignore, issue_state::open,     applied, changed,  true,  {create},    ticket_phase::open,   nullptr,      false},
    plan_case{"open_with_epoch_timestamp",     std::nullopt, defaults,      issue_state::open,     "1970-01-01T00:00:00Z", same, true, {create}, ticket_phase::open, nullptr,  false},
    plan_case{"resolved_is_recorded_only",     std::nullopt, defaults,      issue_state::resolved, applied, same,     true,  no_ops,      ticket_phase::none,   applied,      false},
    plan_case{"resolved_under_note_policy",    std::nullopt, patch_note,    issue_state::resolved, day_newer, same,   true,  no_ops,      ticket_phase::none,   day_newer,    false}),
    row_name);

// Not newer than the applied event: nothing, and the snapshot's phase and
// resolved_at are handed back unchanged. Each row would act if it were newer
// (compare the OneMsNewer rows).
INSTANTIATE_TEST_SUITE_P(Stale, PlanEvent, testing::Values(
    plan_case{"equal_open_no_ticket",          none_open,       defaults,   issue_state::open,     applied,      same,    false, no_ops, ticket_phase::none,   nullptr, false},
    plan_case{"older_open_no_ticket",          none_open,       defaults,   issue_state::open,     one_ms_older, same,    false, no_ops, ticket_phase::none,   nullptr, false},
    plan_case{"equal_open_born_resolved",      none_resolved,   defaults,   issue_state::open,     applied,      same,    false, no_ops, ticket_phase::none,   applied, false},
    plan_case{"equal_update",                  open_open,       defaults,   issue_state::open,     applied,      changed, false, no_ops, ticket_phase::open,   nullptr, false},
    plan_case{"older_update",                  open_open,       defaults,   issue_state::open,     one_ms_older, changed, false, no_ops, ticket_phase::open,   nullptr, false},
    plan_case{"day_older_update",              open_open,       defaults,   issue_state::open,     day_older,    changed, false, no_ops, ticket_phase::open,   nullptr, false},
    plan_case{"equal_resolve",                 open_open,       defaults,   issue_state::resolved, applied,      same,    false, no_ops, ticket_phase::open,   nullptr, false},
    plan_case{"older_resolve",                 open_open,       defaults,   issue_state::resolved, one_ms_older, same,    false, no_ops, ticket_phase::open,   nullptr, false},
    plan_case{"equal_open_again_ticket_open",  open_resolved,   patch_note, issue_state::open,     applied,      changed, false, no_ops, ticket_phase::open,   applied, false},
    plan_case{"older_open_again_ticket_open",  open_resolved,   patch_note, issue_state::open,     one_ms_older, changed, false, no_ops, ticket_phase::open,   applied, false},
    plan_case{"equal_open_ticket_closed",      closed_resolved, defaults,   issue_state::open,     applied,      same,    false, no_ops, ticket_phase::closed, applied, false},
    plan_case{"older_open_ticket_closed",      closed_resolved, defaults,   issue_state::open,     one_ms_older, same,    false, no_ops, ticket_phase::closed, applied, false},
    plan_case{"older_open_after_no_window",    closed_resolved, no_window,  issue_state::open,     one_ms_older, same,    false, no_ops, ticket_phase::closed, applied, false}),
    row_name);

// The same situations 1 ms later: applied.
INSTANTIATE_TEST_SUITE_P(OneMsNewer, PlanEvent, testing::Values(
    plan_case{"open_no_ticket_creates",        none_open,       defaults,   issue_state::open,     one_ms_newer, same,    true,  {create},              ticket_phase::open,   nullptr,      false},
    plan_case{"update",                        open_open,       defaults,   issue_state::open,     one_ms_newer, changed, true,  {update},              ticket_phase::open,   nullptr,      false},
    plan_case{"resolve_closes",                open_open,       defaults,   issue_state::resolved, one_ms_newer, same,    true,  {close_op},            ticket_phase::closed, one_ms_newer, false},
    plan_case{"open_again_ticket_open",        open_resolved,   patch_note, issue_state::open,     one_ms_newer, changed, true,  {reopen_note, update}, ticket_phase::open,   nullptr,      false},
    plan_case{"open_ticket_closed_reopens",    closed_resolved, defaults,   issue_state::open,     one_ms_newer, same,    true,  {reopen},              ticket_phase::open,   nullptr,      false},
    plan_case{"open_after_no_window_creates",  closed_resolved, no_window,  issue_state::open,     one_ms_newer, same,    true,  {create},              ticket_phase::open,   nullptr,      true}),
    row_name);

// No ticket (phase none): open creates one (not a new generation); resolved
// records the resolution and has nothing to close, whatever the policy.
INSTANTIATE_TEST_SUITE_P(PhaseNone, PlanEvent, testing::Values(
    plan_case{"open_creates",                      none_open,             defaults,      issue_state::open,     day_newer, same,    true, {create}, ticket_phase::open, nullptr,   false},
    plan_case{"open_creates_under_ignore",         none_open,             ignore_ignore, issue_state::open,     day_newer, changed, true, {create}, ticket_phase::open, nullptr,   false},
    plan_case{"resolved_sets_resolved_at",         none_open,             defaults,      issue_state::resolved, day_newer, same,    true, no_ops,   ticket_phase::none, day_newer, false},
    plan_case{"resolved_under_note_policy",        none_open,             patch_note,    issue_state::resolved, day_newer, same,    true, no_ops,   ticket_phase::none, day_newer, false},
    plan_case{"resolved_again_keeps_resolved_at",  none_resolved_earlier, defaults,      issue_state::resolved, day_newer, same,    true, no_ops,   ticket_phase::none, day_older, false},
    // Header: resolved_at is "updated_at of the event that resolved the issue";
    // an issue open again has none (the open- and closed-ticket paths clear it).
    // The code carries the old resolved_at through this create. See
    // PlanEventPhaseNone.OpenAfterBornResolvedCreates for the rest of this case.
    plan_case{"open_after_born_resolved_clears_resolved_at",
                                                   none_resolved,         defaults,      issue_state::open,     day_newer, same,    true, {create}, ticket_phase::open, nullptr,   false}),
    row_name);

// Open ticket, issue open: update when the rendered fields changed, per on_update.
INSTANTIATE_TEST_SUITE_P(PhaseOpenUpdate, PlanEvent, testing::Values(
    plan_case{"changed_patch",                 open_open, patch_close,   issue_state::open, day_newer, changed, true, {update}, ticket_phase::open, nullptr, false},
    plan_case{"changed_note",                  open_open, note_close,    issue_state::open, day_newer, changed, true, {update}, ticket_phase::open, nullptr, false},
    plan_case{"changed_ignore",                open_open, ignore_close,  issue_state::open, day_newer, changed, true, no_ops,   ticket_phase::open, nullptr, false},
    plan_case{"changed_patch_resolve_ignore",  open_open, patch_ignore,  issue_state::open, day_newer, changed, true, {update}, ticket_phase::open, nullptr, false},
    plan_case{"same_patch",                    open_open, patch_close,   issue_state::open, day_newer, same,    true, no_ops,   ticket_phase::open, nullptr, false},
    plan_case{"same_note",                     open_open, note_close,    issue_state::open, day_newer, same,    true, no_ops,   ticket_phase::open, nullptr, false},
    plan_case{"same_ignore",                   open_open, ignore_ignore, issue_state::open, day_newer, same,    true, no_ops,   ticket_phase::open, nullptr, false},
    plan_case{"changed_a_year_later",          open_open, patch_close,   issue_state::open, year_newer, changed, true, {update}, ticket_phase::open, nullptr, false}),
    row_name);

// Open ticket, issue resolved: per on_resolve; resolved_at becomes the event's time.
INSTANTIATE_TEST_SUITE_P(PhaseOpenResolve, PlanEvent, testing::Values(
    plan_case{"close",                         open_open, patch_close,   issue_state::resolved, day_newer, same,    true, {close_op},     ticket_phase::closed, day_newer, false},
    plan_case{"close_ignores_changed_fields",  open_open, patch_close,   issue_state::resolved, day_newer, changed, true, {close_op},     ticket_phase::closed, day_newer, false},
    plan_case{"close_under_update_ignore",     open_open, ignore_close,  issue_state::resolved, day_newer, changed, true, {close_op},     ticket_phase::closed, day_newer, false},
    plan_case{"note",                          open_open, patch_note,    issue_state::resolved, day_newer, same,    true, {resolve_note}, ticket_phase::open,   day_newer, false},
    plan_case{"note_ignores_changed_fields",   open_open, note_note,     issue_state::resolved, day_newer, changed, true, {resolve_note}, ticket_phase::open,   day_newer, false},
    plan_case{"ignore",                        open_open, patch_ignore,  issue_state::resolved, day_newer, same,    true, no_ops,         ticket_phase::open,   day_newer, false},
    plan_case{"ignore_ignore",                 open_open, ignore_ignore, issue_state::resolved, day_newer, changed, true, no_ops,         ticket_phase::open,   day_newer, false},
    // Already resolved (the resolve left the ticket open): nothing, resolved_at kept.
    plan_case{"again_close",                   open_resolved_earlier, patch_close,  issue_state::resolved, day_newer, same,    true, no_ops, ticket_phase::open, day_older, false},
    plan_case{"again_note",                    open_resolved_earlier, patch_note,   issue_state::resolved, day_newer, changed, true, no_ops, ticket_phase::open, day_older, false},
    plan_case{"again_ignore",                  open_resolved_earlier, patch_ignore, issue_state::resolved, day_newer, same,    true, no_ops, ticket_phase::open, day_older, false},
    plan_case{"again_without_resolved_at_sets_it", open_resolved_unrecorded, patch_note, issue_state::resolved, day_newer, same, true, no_ops, ticket_phase::open, day_newer, false}),
    row_name);

// Open ticket, issue back after a resolve that left the ticket open: reopen
// note under on_resolve note, then an update when the fields changed (per
// on_update); resolved_at is cleared. The reopen window plays no part.
INSTANTIATE_TEST_SUITE_P(PhaseOpenBackAgain, PlanEvent, testing::Values(
    plan_case{"note_same",                     open_resolved, patch_note,    issue_state::open, day_newer,  same,    true, {reopen_note},         ticket_phase::open, nullptr, false},
    plan_case{"note_changed_patch",            open_resolved, patch_note,    issue_state::open, day_newer,  changed, true, {reopen_note, update}, ticket_phase::open, nullptr, false},
    plan_case{"note_changed_note",             open_resolved, note_note,     issue_state::open, day_newer,  changed, true, {reopen_note, update}, ticket_phase::open, nullptr, false},
    plan_case{"note_changed_ignore",           open_resolved, ignore_note,   issue_state::open, day_newer,  changed, true, {reopen_note},         ticket_phase::open, nullptr, false},
    plan_case{"note_after_the_window",         open_resolved, patch_note,    issue_state::open, year_newer, same,    true, {reopen_note},         ticket_phase::open, nullptr, false},
    plan_case{"note_zero_window",              open_resolved, policy(on_update_policy::patch, on_resolve_policy::note, 0ms),
                                                                             issue_state::open, day_newer,  same,    true, {reopen_note},         ticket_phase::open, nullptr, false},
    plan_case{"ignore_same",                   open_resolved, patch_ignore,  issue_state::open, day_newer,  same,    true, no_ops,                ticket_phase::open, nullptr, false},
    plan_case{"ignore_changed_patch",          open_resolved, patch_ignore,  issue_state::open, day_newer,  changed, true, {update},              ticket_phase::open, nullptr, false},
    plan_case{"ignore_changed_ignore",         open_resolved, ignore_ignore, issue_state::open, day_newer,  changed, true, no_ops,                ticket_phase::open, nullptr, false},
    // on_resolve is close now, but the ticket was left open earlier: no reopen note.
    plan_case{"close_now_same",                open_resolved, patch_close,   issue_state::open, day_newer,  same,    true, no_ops,                ticket_phase::open, nullptr, false},
    plan_case{"close_now_changed",             open_resolved, patch_close,   issue_state::open, day_newer,  changed, true, {update},              ticket_phase::open, nullptr, false}),
    row_name);

// Closed ticket: open within reopen_window of resolved_at (inclusive) reopens;
// later, or with a zero window, a new ticket of a new generation; resolved
// again: nothing. resolved_at is cleared when the issue is back, kept otherwise.
INSTANTIATE_TEST_SUITE_P(PhaseClosed, PlanEvent, testing::Values(
    plan_case{"within_window_reopens",            closed_resolved, day_window, issue_state::open, one_ms_newer,        same,    true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"1ms_before_boundary_reopens",      closed_resolved, day_window, issue_state::open, day_newer_less_1ms,  same,    true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"at_boundary_reopens",              closed_resolved, day_window, issue_state::open, day_newer,           same,    true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"1ms_after_boundary_creates",       closed_resolved, day_window, issue_state::open, day_newer_plus_1ms,  same,    true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"default_window_at_boundary",       closed_resolved, defaults,   issue_state::open, week_newer,          same,    true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"default_window_1ms_after",         closed_resolved, defaults,   issue_state::open, week_newer_plus_1ms, same,    true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"reopen_carries_changed_fields",    closed_resolved, defaults,   issue_state::open, day_newer,           changed, true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"new_ticket_with_changed_fields",   closed_resolved, defaults,   issue_state::open, year_newer,          changed, true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"reopen_whatever_on_resolve",       closed_resolved, patch_note, issue_state::open, day_newer,           same,    true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"reopen_whatever_on_update",        closed_resolved, ignore_ignore, issue_state::open, day_newer,        changed, true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"zero_window_creates_1ms_later",    closed_resolved, no_window,  issue_state::open, one_ms_newer,        same,    true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"zero_window_creates_a_day_later",  closed_resolved, no_window,  issue_state::open, day_newer,           same,    true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"negative_window_creates",          closed_resolved, negative_window, issue_state::open, one_ms_newer,   same,    true, {create}, ticket_phase::open, nullptr, true},
    // The window runs from resolved_at, not from the newest applied event.
    // resolved_at is a day before the newest applied event.
    plan_case{"window_from_resolved_at_outside",  closed_resolved_earlier, day_window, issue_state::open, one_ms_newer,  same,    true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"window_from_resolved_at_boundary", closed_resolved_earlier, two_day_window, issue_state::open, day_newer, same,   true, {reopen}, ticket_phase::open, nullptr, false},
    plan_case{"window_from_resolved_at_after",    closed_resolved_earlier, two_day_window, issue_state::open, day_newer_plus_1ms, same, true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"no_resolved_at_creates",           closed_unrecorded, defaults, issue_state::open, one_ms_newer,        same,    true, {create}, ticket_phase::open, nullptr, true},
    plan_case{"resolved_again_nothing",           closed_resolved, defaults,   issue_state::resolved, one_ms_newer,    same,    true, no_ops,   ticket_phase::closed, applied,   false},
    plan_case{"resolved_again_keeps_first",       closed_resolved_earlier, defaults, issue_state::resolved, year_newer, changed, true, no_ops,  ticket_phase::closed, day_older, false},
    plan_case{"resolved_again_note_policy",       closed_resolved, patch_note, issue_state::resolved, day_newer,       same,    true, no_ops,   ticket_phase::closed, applied,   false}),
    row_name);
// clang-format on

// The rest of the  row above: everything but resolved_at is as documented.
TEST(PlanEventPhaseNone, OpenAfterBornResolvedCreates) {
  const sync::plan p =
      sync::plan_event(snapshot(none_resolved), make_event(issue_state::open, day_newer), base_fields, defaults);
  EXPECT_TRUE(p.apply);
  EXPECT_EQ(p.ops, std::vector<planned_op>{create}) << show(p.ops);
  EXPECT_EQ(show(p.phase_after), "open");
  EXPECT_FALSE(p.new_generation);
}

// Its ticket was deleted in ConnectWise under on_ticket_deleted: forget: no
// new ticket while the issue stays open, whatever changes; resolving ends it,
// and the issue's return gets a ticket. (Under recreate the phase-none rows
// above apply: the next open event creates.)
TEST(PlanEventPhaseNone, AForgottenTicketStaysGoneUntilTheIssueComesBack) {
  sync::issue_snapshot s = snapshot(none_open);
  s.ticket_forgotten = true;
  for (const bool fields_changed : {false, true}) {
    const sync::plan p = sync::plan_event(s, make_event(issue_state::open, day_newer),
                                          fields_changed ? changed_fields : base_fields, defaults);
    EXPECT_TRUE(p.apply) << "the event is recorded";
    EXPECT_TRUE(p.ops.empty()) << show(p.ops);
    EXPECT_FALSE(p.clear_forgotten);
    EXPECT_EQ(show(p.phase_after), "none");
  }
  const sync::plan resolved = sync::plan_event(s, make_event(issue_state::resolved, day_newer), base_fields, defaults);
  EXPECT_TRUE(resolved.ops.empty());
  EXPECT_TRUE(resolved.clear_forgotten);
  s.ticket_forgotten = false;  // what clear_forgotten leads to
  s.state = issue_state::resolved;
  const sync::plan back = sync::plan_event(s, make_event(issue_state::open, day_newer), base_fields, defaults);
  EXPECT_EQ(back.ops, std::vector<planned_op>{create}) << show(back.ops);
}

TEST(PlanEventOrdering, OnlyTheTimestampDecidesStaleness) {
  // A different content at the same instant is still not newer.
  const std::optional<sync::issue_snapshot> current = snapshot(open_open);
  ts::event ev = make_event(issue_state::open, applied);
  ev.title = "A different title";
  ev.severity = ts::severity::critical;
  EXPECT_FALSE(sync::plan_event(current, ev, changed_fields, defaults).apply);
  // The same instant written with an offset is the same instant.
  ev = make_event(issue_state::open, "2026-03-01T13:00:00+01:00");
  EXPECT_FALSE(sync::plan_event(current, ev, changed_fields, defaults).apply);
  ev = make_event(issue_state::open, "2026-03-01T13:00:00.001+01:00");
  EXPECT_TRUE(sync::plan_event(current, ev, changed_fields, defaults).apply);
}

TEST(PlanEventOrdering, ChangesAreJudgedOnTheRenderedFieldsNotTheEvent) {
  // The event differs wildly from before, but it renders the same fields: no update.
  const std::optional<sync::issue_snapshot> current = snapshot(open_open);
  ts::event ev = make_event(issue_state::open, day_newer);
  ev.title = "Something else entirely";
  ev.severity = ts::severity::critical;
  const sync::plan p = sync::plan_event(current, ev, base_fields, defaults);
  EXPECT_TRUE(p.apply);
  EXPECT_TRUE(p.ops.empty()) << show(p.ops);
  // Each field alone is a change.
  for (auto member : {&sync::ticket_fields::summary, &sync::ticket_fields::priority, &sync::ticket_fields::severity,
                      &sync::ticket_fields::impact}) {
    sync::ticket_fields f = base_fields;
    f.*member += "!";
    EXPECT_EQ(sync::plan_event(current, ev, f, defaults).ops, std::vector<planned_op>{update}) << f.*member;
  }
}

// A whole life, feeding each plan back as the store would: open, update,
// resolve (close), back within the window (reopen), resolve again, back after
// the window (new ticket).
TEST(PlanEventLifecycle, PlansChainThroughAWholeLife) {
  struct step {
    issue_state state;
    const char* at;
    const sync::ticket_fields* fields;
    std::vector<planned_op> ops;
    ticket_phase phase;
    const char* resolved_at;
    bool new_generation;
  };
  const std::vector<step> life = {
      {issue_state::open, "2026-03-01T00:00:00Z", &base_fields, {create}, ticket_phase::open, nullptr, false},
      {issue_state::open, "2026-03-01T01:00:00Z", &changed_fields, {update}, ticket_phase::open, nullptr, false},
      {issue_state::open, "2026-03-01T02:00:00Z", &changed_fields, {}, ticket_phase::open, nullptr, false},
      {issue_state::resolved,
       "2026-03-02T00:00:00Z",
       &changed_fields,
       {close_op},
       ticket_phase::closed,
       "2026-03-02T00:00:00Z",
       false},
      {issue_state::resolved,
       "2026-03-03T00:00:00Z",
       &changed_fields,
       {},
       ticket_phase::closed,
       "2026-03-02T00:00:00Z",
       false},
      {issue_state::open, "2026-03-09T00:00:00Z", &base_fields, {reopen}, ticket_phase::open, nullptr, false},
      {issue_state::resolved,
       "2026-03-10T00:00:00Z",
       &base_fields,
       {close_op},
       ticket_phase::closed,
       "2026-03-10T00:00:00Z",
       false},
      {issue_state::open, "2026-03-17T00:00:00.001Z", &base_fields, {create}, ticket_phase::open, nullptr, true},
  };
  std::optional<sync::issue_snapshot> current;
  for (const step& s : life) {
    SCOPED_TRACE(s.at);
    const sync::plan p = sync::plan_event(current, make_event(s.state, s.at), *s.fields, defaults);
    ASSERT_TRUE(p.apply);
    EXPECT_EQ(p.ops, s.ops) << show(p.ops);
    EXPECT_EQ(show(p.phase_after), show(s.phase));
    EXPECT_EQ(show(p.resolved_at), show(s.resolved_at ? std::optional<ts::sys_ms>(at(s.resolved_at)) : std::nullopt));
    EXPECT_EQ(p.new_generation, s.new_generation);
    current = sync::issue_snapshot{s.state, at(s.at), p.phase_after, p.resolved_at, *s.fields};
  }
}

// ---------------------------------------------------------------------------
// diff_fields and describe_changes

using sync::field_change;

struct diff_case {
  const char* name;
  sync::ticket_fields desired;
  std::vector<field_change> changes;
};

void PrintTo(const diff_case& c, std::ostream* os) { *os << c.name; }

class DiffFields : public testing::TestWithParam<diff_case> {};

TEST_P(DiffFields, Table) {
  const diff_case& c = GetParam();
  const auto got = sync::diff_fields(base_fields, c.desired);
  ASSERT_EQ(got.size(), c.changes.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].field, c.changes[i].field) << i;
    EXPECT_EQ(got[i].from, c.changes[i].from) << i;
    EXPECT_EQ(got[i].to, c.changes[i].to) << i;
  }
}

// base_fields: {"[high] Disk full on srv01", "High", "High", "Medium"}
INSTANTIATE_TEST_SUITE_P(
    Fields, DiffFields,
    testing::Values(
        diff_case{"none", base_fields, {}},
        diff_case{"summary",
                  {"[critical] Disk full", "High", "High", "Medium"},
                  {{"summary", "[high] Disk full on srv01", "[critical] Disk full"}}},
        diff_case{"priority",
                  {"[high] Disk full on srv01", "Critical", "High", "Medium"},
                  {{"priority", "High", "Critical"}}},
        diff_case{"severity", {"[high] Disk full on srv01", "High", "Low", "Medium"}, {{"severity", "High", "Low"}}},
        diff_case{"impact", {"[high] Disk full on srv01", "High", "High", "High"}, {{"impact", "Medium", "High"}}},
        diff_case{
            "case_matters", {"[high] Disk full on srv01", "high", "High", "Medium"}, {{"priority", "High", "high"}}},
        diff_case{"to_empty", {"[high] Disk full on srv01", "", "High", "Medium"}, {{"priority", "High", ""}}},
        // All four, in the fixed order summary, priority, severity, impact.
        diff_case{"all_in_order",
                  {"s2", "p2", "Low", "Low"},
                  {{"summary", "[high] Disk full on srv01", "s2"},
                   {"priority", "High", "p2"},
                   {"severity", "High", "Low"},
                   {"impact", "Medium", "Low"}}},
        diff_case{"impact_and_summary_in_order",
                  {"s2", "High", "High", "Low"},
                  {{"summary", "[high] Disk full on srv01", "s2"}, {"impact", "Medium", "Low"}}},
        diff_case{"severity_and_priority_in_order",
                  {"[high] Disk full on srv01", "p2", "Low", "Medium"},
                  {{"priority", "High", "p2"}, {"severity", "High", "Low"}}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DiffFieldsDirection, FromIsAppliedAndToIsDesired) {
  const auto forward = sync::diff_fields(base_fields, changed_fields);
  const auto backward = sync::diff_fields(changed_fields, base_fields);
  ASSERT_EQ(forward.size(), backward.size());
  for (std::size_t i = 0; i < forward.size(); ++i) {
    EXPECT_EQ(forward[i].field, backward[i].field);
    EXPECT_EQ(forward[i].from, backward[i].to);
    EXPECT_EQ(forward[i].to, backward[i].from);
    EXPECT_NE(forward[i].from, forward[i].to);
  }
  EXPECT_TRUE(sync::diff_fields(changed_fields, changed_fields).empty());
  EXPECT_TRUE(sync::diff_fields({}, {}).empty());
}

TEST(DescribeChanges, NoneIsEmpty) { EXPECT_EQ(sync::describe_changes({}), ""); }

TEST(DescribeChanges, OneLineWithoutTrailingNewline) {
  EXPECT_EQ(sync::describe_changes({{"summary", "old", "new"}}), "- summary: old \u2192 new");
}

TEST(DescribeChanges, LinesAreNewlineSeparatedInGivenOrder) {
  EXPECT_EQ(sync::describe_changes({{"impact", "Medium", "High"}, {"priority", "High", "Critical"}}),
            "- impact: Medium \u2192 High\n- priority: High \u2192 Critical");
}

TEST(DescribeChanges, ValuesAreVerbatimIncludingEmpty) {
  EXPECT_EQ(sync::describe_changes({{"priority", "", "P1 - Critical"}}), "- priority:  \u2192 P1 - Critical");
  EXPECT_EQ(sync::describe_changes({{"summary", "a: b", "c\u2192d"}}), "- summary: a: b \u2192 c\u2192d");
}

TEST(DescribeChanges, OfADiff) {
  EXPECT_EQ(sync::describe_changes(sync::diff_fields(base_fields, changed_fields)),
            "- summary: [high] Disk full on srv01 \u2192 [critical] Disk full on srv01\n"
            "- priority: High \u2192 Critical\n"
            "- impact: Medium \u2192 High");
  EXPECT_EQ(sync::describe_changes(sync::diff_fields(base_fields, base_fields)), "");
}

// ---------------------------------------------------------------------------
// cw_severity_impact

TEST(CwSeverityImpact, EverySeverity) {
  const std::tuple<ts::severity, const char*, const char*> table[] = {
      {ts::severity::critical, "High", "High"},   {ts::severity::high, "High", "Medium"},
      {ts::severity::medium, "Medium", "Medium"}, {ts::severity::low, "Low", "Low"},
      {ts::severity::info, "Low", "Low"},
  };
  for (const auto& [sev, severity, impact] : table) {
    const auto [got_severity, got_impact] = sync::cw_severity_impact(sev);
    EXPECT_EQ(got_severity, severity) << ts::to_text(sev);
    EXPECT_EQ(got_impact, impact) << ts::to_text(sev);
  }
}

// ---------------------------------------------------------------------------
// steps_of: every op_kind x on_update x resolve_note

const op_kind all_op_kinds[] = {op_kind::create, op_kind::update, op_kind::close, op_kind::reopen, op_kind::note};
const note_kind all_note_kinds[] = {note_kind::update, note_kind::resolve, note_kind::reopen};
const on_update_policy all_on_update[] = {on_update_policy::patch, on_update_policy::note, on_update_policy::ignore};

struct steps_case {
  op_kind kind;
  on_update_policy on_update;
  bool resolve_note;
  std::vector<step_kind> steps;
};

constexpr auto post_ticket = step_kind::post_ticket;
constexpr auto patch_fields = step_kind::patch_fields;
constexpr auto patch_status = step_kind::patch_status;
constexpr auto post_note = step_kind::post_note;
constexpr auto u_patch = on_update_policy::patch;
constexpr auto u_note = on_update_policy::note;
constexpr auto u_ignore = on_update_policy::ignore;

// clang-format off
const std::vector<steps_case> steps_table = {
    {op_kind::create, u_patch,  false, {post_ticket}},
    {op_kind::create, u_patch,  true,  {post_ticket}},
    {op_kind::create, u_note,   false, {post_ticket}},
    {op_kind::create, u_note,   true,  {post_ticket}},
    {op_kind::create, u_ignore, false, {post_ticket}},
    {op_kind::create, u_ignore, true,  {post_ticket}},
    // The note is written from the fields the ticket still holds, then the patch.
    {op_kind::update, u_patch,  false, {post_note, patch_fields}},
    {op_kind::update, u_patch,  true,  {post_note, patch_fields}},
    {op_kind::update, u_note,   false, {post_note}},
    {op_kind::update, u_note,   true,  {post_note}},
    // Never planned under ignore; an update queued before the policy changed does nothing.
    {op_kind::update, u_ignore, false, {}},
    {op_kind::update, u_ignore, true,  {}},
    {op_kind::close,  u_patch,  false, {patch_status}},
    {op_kind::close,  u_patch,  true,  {post_note, patch_status}},
    {op_kind::close,  u_note,   false, {patch_status}},
    {op_kind::close,  u_note,   true,  {post_note, patch_status}},
    {op_kind::close,  u_ignore, false, {patch_status}},
    {op_kind::close,  u_ignore, true,  {post_note, patch_status}},
    {op_kind::reopen, u_patch,  false, {post_note, patch_status}},
    {op_kind::reopen, u_patch,  true,  {post_note, patch_status}},
    {op_kind::reopen, u_note,   false, {post_note, patch_status}},
    {op_kind::reopen, u_note,   true,  {post_note, patch_status}},
    {op_kind::reopen, u_ignore, false, {post_note, patch_status}},
    {op_kind::reopen, u_ignore, true,  {post_note, patch_status}},
    {op_kind::note,   u_patch,  false, {post_note}},
    {op_kind::note,   u_patch,  true,  {post_note}},
    {op_kind::note,   u_note,   false, {post_note}},
    {op_kind::note,   u_note,   true,  {post_note}},
    {op_kind::note,   u_ignore, false, {post_note}},
    {op_kind::note,   u_ignore, true,  {post_note}},
};
// clang-format on

TEST(StepsOf, EveryKindPolicyAndResolveNote) {
  for (const auto& c : steps_table) {
    const auto got = sync::steps_of(c.kind, c.on_update, c.resolve_note);
    EXPECT_EQ(got, c.steps) << ts::to_text(c.kind) << " on_update=" << static_cast<int>(c.on_update)
                            << " resolve_note=" << c.resolve_note << ": got " << show(got) << ", want "
                            << show(c.steps);
  }
}

TEST(StepsOf, TheTableCoversEveryCombinationOnce) {
  std::set<std::tuple<op_kind, on_update_policy, bool>> seen;
  for (const auto& c : steps_table) EXPECT_TRUE(seen.insert({c.kind, c.on_update, c.resolve_note}).second);
  EXPECT_EQ(seen.size(), std::size(all_op_kinds) * std::size(all_on_update) * 2);
  for (op_kind k : all_op_kinds)
    for (on_update_policy u : all_on_update)
      for (bool rn : {false, true}) EXPECT_TRUE(seen.count({k, u, rn})) << ts::to_text(k);
}

TEST(StepsOf, NotesComeBeforeThePatchesTheyDescribeAndNoStepRepeats) {
  for (op_kind k : all_op_kinds)
    for (on_update_policy u : all_on_update)
      for (bool rn : {false, true}) {
        const auto steps = sync::steps_of(k, u, rn);
        const auto last_note = std::find(steps.rbegin(), steps.rend(), post_note);
        for (auto it = last_note; it != steps.rend(); ++it)
          EXPECT_TRUE(*it != patch_fields && *it != patch_status) << show(steps);
        std::set<step_kind> distinct(steps.begin(), steps.end());
        EXPECT_EQ(distinct.size(), steps.size()) << show(steps);
      }
}

// ---------------------------------------------------------------------------
// op_kind and note_kind names (persisted in the store: changing one orphans queued work)

TEST(OpKind, NamesAreStable) {
  const std::pair<op_kind, const char*> table[] = {{op_kind::create, "create"},
                                                   {op_kind::update, "update"},
                                                   {op_kind::close, "close"},
                                                   {op_kind::reopen, "reopen"},
                                                   {op_kind::note, "note"}};
  for (const auto& [kind, name] : table) {
    EXPECT_EQ(ts::to_text(kind), name);
    EXPECT_EQ(ts::from_text<sync::op_kind>(name), kind) << name;
  }
}

TEST(OpKind, NamesRoundTripAndAreDistinct) {
  std::set<std::string_view> names;
  for (op_kind k : all_op_kinds) {
    EXPECT_EQ(ts::from_text<sync::op_kind>(ts::to_text(k)), k) << ts::to_text(k);
    names.insert(ts::to_text(k));
  }
  EXPECT_EQ(names.size(), std::size(all_op_kinds));
}

TEST(OpKind, UnknownNamesAreRejected) {
  for (const char* s : {"", "c", "Create", "CREATE", "create ", " create", "create\n", "creat", "updates", "Close",
                        "re-open", "reopen\t", "note:resolve", "resolve", "no-such-op"})
    EXPECT_EQ(ts::from_text<sync::op_kind>(s), std::nullopt) << '"' << s << '"';
  EXPECT_EQ(ts::from_text<sync::op_kind>(std::string_view("close\0", 6)), std::nullopt);
}

TEST(NoteKind, NamesAreStable) {
  const std::pair<note_kind, const char*> table[] = {
      {note_kind::update, "update"}, {note_kind::resolve, "resolve"}, {note_kind::reopen, "reopen"}};
  for (const auto& [kind, name] : table) {
    EXPECT_EQ(ts::to_text(kind), name);
    EXPECT_EQ(ts::from_text<sync::note_kind>(name), kind) << name;
  }
}

TEST(NoteKind, NamesRoundTripAndAreDistinct) {
  std::set<std::string_view> names;
  for (note_kind k : all_note_kinds) {
    EXPECT_EQ(ts::from_text<sync::note_kind>(ts::to_text(k)), k) << ts::to_text(k);
    names.insert(ts::to_text(k));
  }
  EXPECT_EQ(names.size(), std::size(all_note_kinds));
}

TEST(NoteKind, UnknownNamesAreRejected) {
  for (const char* s : {"", "u", "Update", "RESOLVE", "resolve ", " reopen", "resolved", "reopened", "close", "create",
                        "note", "no-such-note"})
    EXPECT_EQ(ts::from_text<sync::note_kind>(s), std::nullopt) << '"' << s << '"';
}

// ---------------------------------------------------------------------------
// backoff_delay

const sync::backoff_policy default_backoff{};  // base 1 s, cap 300 s
const double almost_one = std::nextafter(1.0, 0.0);

TEST(BackoffDelay, DefaultsAreOneSecondAndFiveMinutes) {
  EXPECT_EQ(default_backoff.base, 1s);
  EXPECT_EQ(default_backoff.cap, 300s);
}

TEST(BackoffDelay, FirstAttemptStaysWithinBase) {
  EXPECT_EQ(sync::backoff_delay(default_backoff, 1, 0.0), 0ms);
  EXPECT_EQ(sync::backoff_delay(default_backoff, 1, 0.5), 500ms);
  const auto top = sync::backoff_delay(default_backoff, 1, almost_one);
  EXPECT_LE(top, 1000ms);
  EXPECT_GE(top, 999ms);
}

TEST(BackoffDelay, CeilingDoublesPerAttemptUntilTheCap) {
  // At unit_random 0.5 the delay is half the ceiling min(cap, base * 2^(n-1)).
  const std::pair<int, std::chrono::milliseconds> expected[] = {
      {1, 500ms},     {2, 1000ms},    {3, 2000ms},  {4, 4000ms},   {5, 8000ms},
      {6, 16000ms},   {7, 32000ms},   {8, 64000ms}, {9, 128000ms}, {10, 150000ms},  // 512 s capped to 300 s
      {11, 150000ms}, {20, 150000ms},
  };
  for (auto [attempt, delay] : expected)
    EXPECT_EQ(sync::backoff_delay(default_backoff, attempt, 0.5), delay) << attempt;
}

TEST(BackoffDelay, UnitRandomZeroIsZeroAndNearOneIsNearTheCeiling) {
  for (int attempt : {1, 2, 5, 9, 10, 50}) {
    EXPECT_EQ(sync::backoff_delay(default_backoff, attempt, 0.0), 0ms) << attempt;
    const auto ceiling = std::min<std::chrono::milliseconds>(300s, 1s * (1LL << std::min(attempt - 1, 20)));
    const auto top = sync::backoff_delay(default_backoff, attempt, almost_one);
    EXPECT_LE(top, ceiling) << attempt;
    EXPECT_GE(top, ceiling - 1ms) << attempt;
  }
}

TEST(BackoffDelay, CapIsNeverExceeded) {
  for (int attempt : {1, 9, 10, 11, 30, 31, 32, 63, 64, 1000, INT_MAX - 1, INT_MAX})
    for (double r : {0.0, 0.25, 0.5, 0.75, almost_one}) {
      const auto d = sync::backoff_delay(default_backoff, attempt, r);
      EXPECT_LE(d, default_backoff.cap) << attempt << " " << r;
      EXPECT_GE(d, 0ms) << attempt << " " << r;
    }
}

TEST(BackoffDelay, HugeAttemptsSaturateAtTheCapWithoutOverflow) {
  for (int attempt : {31, 64, 1'000'000, INT_MAX}) {
    EXPECT_EQ(sync::backoff_delay(default_backoff, attempt, 0.5), 150s) << attempt;
    EXPECT_GE(sync::backoff_delay(default_backoff, attempt, almost_one), 300s - 1ms) << attempt;
  }
  // A day-long cap over an hour-long base: base * 2^(n-1) would overflow int64 ms
  // for large n if computed in integers.
  const sync::backoff_policy long_policy{1h, 24h};
  EXPECT_EQ(sync::backoff_delay(long_policy, INT_MAX, 0.5), 12h);
  EXPECT_EQ(sync::backoff_delay(long_policy, 2, 0.5), 1h);
}

// Header: attempt n waits up to min(cap, base * 2^(n-1)). The code stops
// doubling at attempt 31 (2^30), so a cap more than 2^30 times the base is
// never reached: base 1 ms, cap 2^40 ms, attempt 41 gives a ceiling of 2^30 ms.
TEST(BackoffDelay, CapFarAboveBaseIsReachedByDoubling) {
  const sync::backoff_policy p{1ms, std::chrono::milliseconds{1LL << 40}};
  EXPECT_EQ(sync::backoff_delay(p, 41, 0.5), std::chrono::milliseconds{1LL << 39});
  EXPECT_EQ(sync::backoff_delay(p, 36, 0.5), std::chrono::milliseconds{1LL << 34});
}

TEST(BackoffDelay, ZeroAndNegativeAttemptsCountAsTheFirst) {
  for (int attempt : {0, -1, -2, -1000, INT_MIN + 1}) {
    EXPECT_EQ(sync::backoff_delay(default_backoff, attempt, 0.5), 500ms) << attempt;
    EXPECT_LE(sync::backoff_delay(default_backoff, attempt, almost_one), 1s) << attempt;
  }
}

// attempt - 1 overflows for INT_MIN; the documented clamp to attempt 1 must still hold.
TEST(BackoffDelay, MostNegativeAttemptCountsAsTheFirst) {
  EXPECT_EQ(sync::backoff_delay(default_backoff, INT_MIN, 0.5), 500ms);
  EXPECT_EQ(sync::backoff_delay(default_backoff, INT_MIN, 0.0), 0ms);
  EXPECT_LE(sync::backoff_delay(default_backoff, INT_MIN, almost_one), 1s);
}

TEST(BackoffDelay, OutOfRangeRandomStaysWithinZeroAndTheCeiling) {
  EXPECT_EQ(sync::backoff_delay(default_backoff, 3, -0.5), 0ms);
  EXPECT_LE(sync::backoff_delay(default_backoff, 3, 1.5), 4s);
  EXPECT_LE(sync::backoff_delay(default_backoff, 3, 1.0), 4s);
}

TEST(BackoffDelay, CapBelowBaseBoundsEvenTheFirstAttempt) {
  const sync::backoff_policy p{10s, 2s};
  EXPECT_LE(sync::backoff_delay(p, 1, almost_one), 2s);
  EXPECT_EQ(sync::backoff_delay(p, 1, 0.5), 1s);
}

TEST(BackoffDelay, DocumentedCwAdviceShape) {
  // connectwise-api.md §9: base 200-500 ms, cap 30-60 s.
  const sync::backoff_policy p{250ms, 30s};
  EXPECT_EQ(sync::backoff_delay(p, 1, 0.5), 125ms);
  EXPECT_EQ(sync::backoff_delay(p, 7, 0.5), 8000ms);   // 250 ms * 64 = 16 s
  EXPECT_EQ(sync::backoff_delay(p, 8, 0.5), 15000ms);  // 32 s capped to 30 s
}

}  // namespace
