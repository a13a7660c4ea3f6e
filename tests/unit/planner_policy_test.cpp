// Unit tests for the planner's operator policies: what a change of an issue
// does once a technician has closed its ticket (every on_technician_close
// value, open and resolved events, with and without changed fields), the
// action an operation takes when it finds the ticket closed, the storm cap
// (both sides of the cap, cap 0 = off) and the digest issue's identity.
#include "config/config.hpp"
#include "core/event.hpp"
#include "core/issue_key.hpp"
#include "core/time.hpp"
#include "sync/planner.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace sync = ts::sync;
namespace config = ts::config;
using config::technician_close_policy;
using sync::note_kind;
using sync::op_kind;
using sync::planned_op;
using sync::ticket_phase;
using ts::issue_state;

ts::sys_ms at(const char* t) { return ts::parse_rfc3339(t).value(); }

ts::event event_at(issue_state state, const char* updated_at) {
  ts::event ev;
  ev.source = "defender";
  ev.tenant = "acme-prod";
  ev.issue_id = "inc-7";
  ev.state = state;
  ev.severity = ts::severity::high;
  ev.title = "Suspicious sign-in";
  ev.updated_at = at(updated_at);
  ev.updated_at_text = updated_at;
  return ev;
}

const sync::ticket_fields stored{"[high] Suspicious sign-in", "P2", "High", "Medium"};
const sync::ticket_fields changed{"[critical] Suspicious sign-in", "P1", "High", "High"};

sync::issue_snapshot closed_by_technician() {
  sync::issue_snapshot s;
  s.state = issue_state::open;
  s.last_event_at = at("2026-11-01T10:00:00Z");
  s.phase = ticket_phase::closed;
  s.fields = stored;
  s.technician_closed = true;
  return s;
}

struct tech_case {
  const char* name;
  technician_close_policy policy;
  issue_state state;
  bool fields_changed;
  std::vector<planned_op> ops;
  ticket_phase phase_after;
  bool new_generation;
  bool clears_mark;
};

class TechnicianClosed : public testing::TestWithParam<tech_case> {};

TEST_P(TechnicianClosed, Table) {
  const tech_case& c = GetParam();
  config::lifecycle_config policy;
  policy.on_technician_close = c.policy;
  const auto p = sync::plan_event(closed_by_technician(), event_at(c.state, "2026-11-01T11:00:00Z"),
                                  c.fields_changed ? changed : stored, policy);
  EXPECT_TRUE(p.apply) << c.name;
  EXPECT_EQ(p.ops, c.ops) << c.name;
  EXPECT_EQ(p.phase_after, c.phase_after) << c.name;
  EXPECT_EQ(p.new_generation, c.new_generation) << c.name;
  EXPECT_EQ(p.clear_technician_closed, c.clears_mark) << c.name;
  EXPECT_FALSE(p.reason.empty()) << c.name;
}

const planned_op create{op_kind::create};
const planned_op reopen{op_kind::reopen};
const planned_op update_note{op_kind::note, note_kind::update};

INSTANTIATE_TEST_SUITE_P(EveryPolicy, TechnicianClosed,
                         testing::Values(tech_case{"respect, change",
                                                   technician_close_policy::respect,
                                                   issue_state::open,
                                                   true,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   false},
                                         tech_case{"respect, same fields",
                                                   technician_close_policy::respect,
                                                   issue_state::open,
                                                   false,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   false},
                                         tech_case{"note, change",
                                                   technician_close_policy::note,
                                                   issue_state::open,
                                                   true,
                                                   {update_note},
                                                   ticket_phase::closed,
                                                   false,
                                                   false},
                                         tech_case{"note, same fields",
                                                   technician_close_policy::note,
                                                   issue_state::open,
                                                   false,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   false},
                                         tech_case{"reopen, change",
                                                   technician_close_policy::reopen,
                                                   issue_state::open,
                                                   true,
                                                   {reopen},
                                                   ticket_phase::open,
                                                   false,
                                                   true},
                                         tech_case{"reopen, same fields",
                                                   technician_close_policy::reopen,
                                                   issue_state::open,
                                                   false,
                                                   {reopen},
                                                   ticket_phase::open,
                                                   false,
                                                   true},
                                         tech_case{"new_ticket, change",
                                                   technician_close_policy::new_ticket,
                                                   issue_state::open,
                                                   true,
                                                   {create},
                                                   ticket_phase::open,
                                                   true,
                                                   true},
                                         tech_case{"respect, resolved",
                                                   technician_close_policy::respect,
                                                   issue_state::resolved,
                                                   true,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   true},
                                         tech_case{"reopen, resolved",
                                                   technician_close_policy::reopen,
                                                   issue_state::resolved,
                                                   false,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   true},
                                         tech_case{"new_ticket, resolved",
                                                   technician_close_policy::new_ticket,
                                                   issue_state::resolved,
                                                   true,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   true},
                                         tech_case{"note, resolved",
                                                   technician_close_policy::note,
                                                   issue_state::resolved,
                                                   true,
                                                   {},
                                                   ticket_phase::closed,
                                                   false,
                                                   true}),
                         [](const testing::TestParamInfo<tech_case>& info) {
                           std::string n;
                           for (const char* p = info.param.name; *p; ++p)
                             n += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
                           return n;
                         });

TEST(TechnicianClosed, ResolvedRecordsWhenAndALaterComebackFollowsTheReopenWindow) {
  config::lifecycle_config policy;
  policy.on_technician_close = technician_close_policy::respect;
  auto p =
      sync::plan_event(closed_by_technician(), event_at(issue_state::resolved, "2026-11-01T11:00:00Z"), stored, policy);
  ASSERT_TRUE(p.resolved_at);
  EXPECT_EQ(*p.resolved_at, at("2026-11-01T11:00:00Z"));
  // Once resolved (mark cleared), coming back within the window reopens.
  sync::issue_snapshot after = closed_by_technician();
  after.state = issue_state::resolved;
  after.last_event_at = at("2026-11-01T11:00:00Z");
  after.resolved_at = p.resolved_at;
  after.technician_closed = false;
  p = sync::plan_event(after, event_at(issue_state::open, "2026-11-02T11:00:00Z"), stored, policy);
  EXPECT_EQ(p.ops, std::vector<planned_op>{reopen});
}

TEST(TechnicianClosed, StaleEventsAreStillIgnored) {
  const auto p =
      sync::plan_event(closed_by_technician(), event_at(issue_state::open, "2026-11-01T10:00:00Z"), changed, {});
  EXPECT_FALSE(p.apply);
  EXPECT_TRUE(p.ops.empty());
}

TEST(TechnicianClosedAction, EveryPolicyMapsToItsAction) {
  using sync::technician_closed_action;
  EXPECT_EQ(sync::on_technician_closed(technician_close_policy::respect), technician_closed_action::stop);
  EXPECT_EQ(sync::on_technician_closed(technician_close_policy::note), technician_closed_action::note_only);
  EXPECT_EQ(sync::on_technician_closed(technician_close_policy::reopen), technician_closed_action::reopen);
  EXPECT_EQ(sync::on_technician_closed(technician_close_policy::new_ticket), technician_closed_action::new_ticket);
}

TEST(TechnicianClosed, DefaultPolicyIsRespect) {
  EXPECT_EQ(config::lifecycle_config{}.on_technician_close, technician_close_policy::respect);
}

struct storm_case {
  int cap;
  std::int64_t creates;
  bool capped;
};

class StormCap : public testing::TestWithParam<storm_case> {};

TEST_P(StormCap, Table) {
  const auto& c = GetParam();
  EXPECT_EQ(sync::storm_capped(c.cap, c.creates), c.capped) << "cap " << c.cap << ", creates " << c.creates;
}

INSTANTIATE_TEST_SUITE_P(BothSidesOfTheCap, StormCap,
                         testing::Values(storm_case{0, 0, false}, storm_case{0, 1'000'000, false},
                                         storm_case{1, 0, false}, storm_case{1, 1, true}, storm_case{3, 2, false},
                                         storm_case{3, 3, true}, storm_case{3, 4, true}, storm_case{100, 99, false},
                                         storm_case{100, 100, true}));

TEST(StormDigest, OneIdentityPerTenantAndUtcHour) {
  const auto a = sync::digest_identity("acme-prod", at("2026-11-22T18:00:00Z"));
  EXPECT_EQ(a.source, std::string(ts::digest_source));
  EXPECT_EQ(a.tenant, "acme-prod");
  EXPECT_EQ(a.issue_id, "storm-2026-11-22T18");
  EXPECT_EQ(sync::digest_identity("acme-prod", at("2026-11-22T18:59:59.999Z")), a);
  EXPECT_NE(sync::digest_identity("acme-prod", at("2026-11-22T19:00:00Z")), a);
  EXPECT_NE(sync::digest_identity("globex", at("2026-11-22T18:30:00Z")), a);
  EXPECT_NE(ts::correlation_key(a), ts::correlation_key(sync::digest_identity("globex", at("2026-11-22T18:30:00Z"))));
}

}  // namespace
