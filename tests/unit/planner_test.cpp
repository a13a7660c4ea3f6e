// Unit tests for sync/planner: the pure decision of what a new event means for
// an issue (apply it or drop it as stale, and whether a ticket must be
// created), the retry backoff the driver applies, and the op_kind names the
// store persists. Events are built field by field and timed with
// ts::parse_rfc3339; the ordering boundary is probed at equal, 1 ms older and
// 1 ms newer. Tests named  pin documented behaviour the code does not
// meet yet; they are listed in the report that introduced them.
#include "core/event.hpp"
#include "core/time.hpp"
#include "sync/planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace sync = ts::sync;
using namespace std::chrono_literals;
using ts::issue_state;
using sync::op_kind;

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

// The time of the last applied event in every "seen" case below.
constexpr const char* applied = "2026-03-01T12:00:00.000Z";
constexpr const char* one_ms_older = "2026-03-01T11:59:59.999Z";
constexpr const char* one_ms_newer = "2026-03-01T12:00:00.001Z";
constexpr const char* day_older = "2026-02-28T12:00:00.000Z";
constexpr const char* day_newer = "2026-03-02T12:00:00.000Z";

struct known {
  issue_state state = issue_state::open;
  bool has_ticket = false;
  bool has_pending_op = false;
};

sync::issue_snapshot snapshot(known k) {
  sync::issue_snapshot s;
  s.state = k.state;
  s.last_event_at = at(applied);
  s.has_ticket = k.has_ticket;
  s.has_pending_op = k.has_pending_op;
  return s;
}

// ---------------------------------------------------------------------------
// plan_event

struct plan_case {
  const char* name;
  std::optional<known> current;  // nullopt: never seen
  issue_state event_state;
  const char* event_at;
  bool apply;
  std::vector<op_kind> ops;
};

class PlanEvent : public testing::TestWithParam<plan_case> {};

TEST_P(PlanEvent, Table) {
  const plan_case& c = GetParam();
  std::optional<sync::issue_snapshot> current;
  if (c.current) current = snapshot(*c.current);
  const sync::plan p = sync::plan_event(current, make_event(c.event_state, c.event_at));
  EXPECT_EQ(p.apply, c.apply);
  EXPECT_EQ(p.ops, c.ops);
  EXPECT_FALSE(p.reason.empty());
}

constexpr known open_bare{};
constexpr known open_ticket{issue_state::open, true, false};
constexpr known open_pending{issue_state::open, false, true};
constexpr known open_ticket_pending{issue_state::open, true, true};
constexpr known resolved_bare{issue_state::resolved, false, false};
constexpr known resolved_ticket{issue_state::resolved, true, false};

const std::vector<op_kind> none{};
const std::vector<op_kind> create{op_kind::create};

INSTANTIATE_TEST_SUITE_P(
    NeverSeen, PlanEvent,
    testing::Values(plan_case{"open_creates", std::nullopt, issue_state::open, applied, true, create},
                    plan_case{"resolved_is_recorded_without_ticket", std::nullopt, issue_state::resolved, applied,
                              true, none},
                    plan_case{"old_timestamp_still_creates", std::nullopt, issue_state::open, "1970-01-01T00:00:00Z",
                              true, create}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    NotNewer, PlanEvent,
    testing::Values(
        plan_case{"equal_open_without_ticket", open_bare, issue_state::open, applied, false, none},
        plan_case{"equal_resolved", open_ticket, issue_state::resolved, applied, false, none},
        plan_case{"one_ms_older_open_without_ticket", open_bare, issue_state::open, one_ms_older, false, none},
        plan_case{"one_ms_older_resolved", open_ticket, issue_state::resolved, one_ms_older, false, none},
        plan_case{"day_older_open_after_resolved", resolved_ticket, issue_state::open, day_older, false, none},
        plan_case{"day_older_resolved", open_ticket, issue_state::resolved, day_older, false, none}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Newer, PlanEvent,
    testing::Values(
        plan_case{"one_ms_newer_open_without_ticket_creates", open_bare, issue_state::open, one_ms_newer, true, create},
        plan_case{"day_newer_open_without_ticket_creates", open_bare, issue_state::open, day_newer, true, create},
        plan_case{"open_after_born_resolved_creates", resolved_bare, issue_state::open, one_ms_newer, true, create},
        plan_case{"open_with_pending_op_waits", open_pending, issue_state::open, one_ms_newer, true, none},
        plan_case{"open_with_ticket", open_ticket, issue_state::open, one_ms_newer, true, none},
        plan_case{"open_with_ticket_and_pending_op", open_ticket_pending, issue_state::open, one_ms_newer, true, none},
        plan_case{"reopen_with_ticket", resolved_ticket, issue_state::open, day_newer, true, none},
        plan_case{"resolved_without_ticket", open_bare, issue_state::resolved, one_ms_newer, true, none},
        plan_case{"resolved_with_ticket", open_ticket, issue_state::resolved, one_ms_newer, true, none},
        plan_case{"resolved_with_pending_op", open_pending, issue_state::resolved, one_ms_newer, true, none},
        plan_case{"resolved_again", resolved_ticket, issue_state::resolved, day_newer, true, none}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PlanEventOrdering, OnlyTheTimestampDecidesStaleness) {
  // Two events differing only in content: the second, at the same instant, is a
  // duplicate even though its text changed.
  std::optional<sync::issue_snapshot> current = snapshot(open_ticket);
  ts::event ev = make_event(issue_state::open, applied);
  ev.title = "A different title";
  ev.severity = ts::severity::critical;
  EXPECT_FALSE(sync::plan_event(current, ev).apply);
  // The same instant written with an offset is still the same instant.
  ev = make_event(issue_state::open, "2026-03-01T13:00:00+01:00");
  EXPECT_FALSE(sync::plan_event(current, ev).apply);
}

// ---------------------------------------------------------------------------
// backoff_delay

const sync::backoff_policy defaults{};  // base 1 s, cap 300 s
const double almost_one = std::nextafter(1.0, 0.0);

TEST(BackoffDelay, DefaultsAreOneSecondAndFiveMinutes) {
  EXPECT_EQ(defaults.base, 1s);
  EXPECT_EQ(defaults.cap, 300s);
}

TEST(BackoffDelay, FirstAttemptStaysWithinBase) {
  EXPECT_EQ(sync::backoff_delay(defaults, 1, 0.0), 0ms);
  EXPECT_EQ(sync::backoff_delay(defaults, 1, 0.5), 500ms);
  const auto top = sync::backoff_delay(defaults, 1, almost_one);
  EXPECT_LE(top, 1000ms);
  EXPECT_GE(top, 999ms);
}

TEST(BackoffDelay, CeilingDoublesPerAttemptUntilTheCap) {
  // At unit_random 0.5 the delay is half the ceiling min(cap, base * 2^(n-1)).
  const std::pair<int, std::chrono::milliseconds> expected[] = {
      {1, 500ms},    {2, 1000ms},   {3, 2000ms},    {4, 4000ms},    {5, 8000ms},
      {6, 16000ms},  {7, 32000ms},  {8, 64000ms},   {9, 128000ms},  {10, 150000ms},  // 512 s capped to 300 s
      {11, 150000ms}, {20, 150000ms},
  };
  for (auto [attempt, delay] : expected) EXPECT_EQ(sync::backoff_delay(defaults, attempt, 0.5), delay) << attempt;
}

TEST(BackoffDelay, UnitRandomZeroIsZeroAndNearOneIsNearTheCeiling) {
  for (int attempt : {1, 2, 5, 9, 10, 50}) {
    EXPECT_EQ(sync::backoff_delay(defaults, attempt, 0.0), 0ms) << attempt;
    const auto ceiling = std::min<std::chrono::milliseconds>(300s, 1s * (1LL << std::min(attempt - 1, 20)));
    const auto top = sync::backoff_delay(defaults, attempt, almost_one);
    EXPECT_LE(top, ceiling) << attempt;
    EXPECT_GE(top, ceiling - 1ms) << attempt;
  }
}

TEST(BackoffDelay, CapIsNeverExceeded) {
  for (int attempt : {1, 9, 10, 11, 30, 31, 32, 63, 64, 1000, INT_MAX - 1, INT_MAX})
    for (double r : {0.0, 0.25, 0.5, 0.75, almost_one}) {
      const auto d = sync::backoff_delay(defaults, attempt, r);
      EXPECT_LE(d, defaults.cap) << attempt << " " << r;
      EXPECT_GE(d, 0ms) << attempt << " " << r;
    }
}

TEST(BackoffDelay, HugeAttemptsSaturateAtTheCapWithoutOverflow) {
  for (int attempt : {31, 64, 1'000'000, INT_MAX}) {
    EXPECT_EQ(sync::backoff_delay(defaults, attempt, 0.5), 150s) << attempt;
    EXPECT_GE(sync::backoff_delay(defaults, attempt, almost_one), 300s - 1ms) << attempt;
  }
  // A day-long cap over an hour-long base: base * 2^(n-1) would overflow int64 ms
  // for large n if computed in integers.
  const sync::backoff_policy long_policy{1h, 24h};
  EXPECT_EQ(sync::backoff_delay(long_policy, INT_MAX, 0.5), 12h);
  EXPECT_EQ(sync::backoff_delay(long_policy, 2, 0.5), 1h);
}

TEST(BackoffDelay, ZeroAndNegativeAttemptsCountAsTheFirst) {
  for (int attempt : {0, -1, -2, -1000, INT_MIN + 1}) {
    EXPECT_EQ(sync::backoff_delay(defaults, attempt, 0.5), 500ms) << attempt;
    EXPECT_LE(sync::backoff_delay(defaults, attempt, almost_one), 1s) << attempt;
  }
}

// attempt - 1 overflows for INT_MIN; the documented clamp to attempt 1 must still hold.
TEST(BackoffDelay, MostNegativeAttemptCountsAsTheFirst) {
  EXPECT_EQ(sync::backoff_delay(defaults, INT_MIN, 0.5), 500ms);
}

TEST(BackoffDelay, OutOfRangeRandomStaysWithinZeroAndTheCeiling) {
  EXPECT_EQ(sync::backoff_delay(defaults, 3, -0.5), 0ms);
  EXPECT_LE(sync::backoff_delay(defaults, 3, 1.5), 4s);
  EXPECT_LE(sync::backoff_delay(defaults, 3, 1.0), 4s);
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

// ---------------------------------------------------------------------------
// op_kind names (persisted in the store: changing one orphans queued work)

TEST(OpKind, NamesRoundTrip) {
  for (op_kind k : {op_kind::create}) EXPECT_EQ(sync::parse_op_kind(sync::to_string(k)), k);
  EXPECT_EQ(sync::to_string(op_kind::create), "create");
}

TEST(OpKind, UnknownNamesAreRejected) {
  for (const char* s : {"", "c", "Create", "CREATE", "create ", " create", "create\n", "creat", "no-such-op"})
    EXPECT_EQ(sync::parse_op_kind(s), std::nullopt) << '"' << s << '"';
}

}  // namespace
