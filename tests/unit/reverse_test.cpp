// What a change heard from ConnectWise means (sync/reverse.hpp), without IO:
// a table of issues (what ticketsync wrote or saw, where it drives the
// ticket), observations and policies, each with the changes decided and the
// writes that follow; then the echo rules and the write-answer comparison.
#include "sync/reverse.hpp"

#include "core/overloaded.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using ts::sync::change;
using ts::sync::heard_from;
using ts::sync::observation;
namespace wr = ts::sync::wr;
namespace psa = ts::psa;
using policy_t = ts::config::technician_close_policy;
using deleted_t = ts::config::ticket_deleted_policy;

const ts::sys_ms t0 = ts::from_unix_ms(1'800'000'000'000);
const ts::sys_ms later = t0 + std::chrono::seconds{60};

constexpr std::int64_t ticket = 1001;
constexpr std::int64_t open_status = 101, closed_status = 105, board = 1, prio = 16;

/// An open issue whose open ticket ticketsync created at t0.
ts::issue_record open_issue() {
  ts::issue_record r;
  r.id = 7;
  r.identity = {"guardz", "acme", "i-1"};
  r.correlation_key = "ts1:abc";
  r.state = ts::issue_state::open;
  r.ticket_id = ticket;
  r.ticket = ts::ticket_state::open;
  r.phase = ts::ticket_phase::open;
  r.applied.fields = {"Malware on host", "Priority 2 - Quick Response", "High", "Medium"};
  r.seen.known = true;
  r.seen.closed = false;
  r.seen.status_id = open_status;
  r.seen.board_id = board;
  r.seen.priority_id = prio;
  r.seen.company = "AcmeCorp";
  r.seen.last_updated = t0;
  r.seen.updated_by = "TicketSyncAPI";
  r.seen.written_by = "TicketSyncAPI";
  return r;
}

/// The ticket as ConnectWise shows it: what open_issue() saw, changed by tech1 later.
psa::ticket_info shown(bool closed = false) {
  psa::ticket_info t;
  t.id = ticket;
  t.closed = closed;
  t.status_id = closed ? closed_status : open_status;
  t.board_id = board;
  t.priority_id = prio;
  t.company_identifier = "AcmeCorp";
  t.last_updated = later;
  t.updated_by = "tech1";
  return t;
}

template <class W>
std::vector<W> all(const ts::sync::reverse_result& r) {
  std::vector<W> out;
  for (const auto& w : r.writes)
    if (const auto* x = std::get_if<W>(&w)) out.push_back(*x);
  return out;
}

std::vector<ts::op_kind> ops_of(const ts::sync::reverse_result& r) {
  std::vector<ts::op_kind> out;
  for (const auto& a : all<wr::add_operation>(r)) out.push_back(a.kind);
  return out;
}

std::optional<ts::ticket_state> ticket_state_of(const ts::sync::reverse_result& r) {
  const auto v = all<wr::set_ticket>(r);
  if (v.empty()) return std::nullopt;
  return v.back().state;
}

std::optional<ts::ticket_phase> phase_of(const ts::sync::reverse_result& r) {
  std::optional<ts::ticket_phase> p;
  for (const auto& u : all<wr::update_issue>(r))
    if (u.phase) p = u.phase;
  return p;
}

std::optional<bool> tech_closed_of(const ts::sync::reverse_result& r) {
  std::optional<bool> p;
  for (const auto& u : all<wr::update_issue>(r))
    if (u.tech_closed) p = u.tech_closed;
  return p;
}

//------------------------------------------------------------------------------
// A person closes the ticket: each technician-close policy, now.

struct close_row {
  const char* name;
  policy_t policy;
  ts::ticket_phase phase_after;
  bool tech_closed;
  std::vector<ts::op_kind> ops;
  int generation_after;  // 0: unchanged
};

void PrintTo(const close_row& r, std::ostream* os) { *os << r.name; }

class PersonCloses : public ::testing::TestWithParam<close_row> {};

TEST_P(PersonCloses, TheRulesPolicyIsAppliedWhenItIsHeard) {
  const close_row& row = GetParam();
  ts::config::lifecycle_config policy;
  policy.on_technician_close = row.policy;
  const auto r =
      ts::sync::observe(open_issue(), false, observation{ticket, shown(true), heard_from::sweep}, policy, later);
  ASSERT_EQ(r.changes, std::vector<change>{change::closed});
  EXPECT_EQ(ticket_state_of(r), ts::ticket_state::closed);
  EXPECT_EQ(phase_of(r), row.phase_after);
  EXPECT_EQ(tech_closed_of(r), row.tech_closed);
  EXPECT_EQ(ops_of(r), row.ops);
  if (row.generation_after) {
    const auto adds = all<wr::add_operation>(r);
    ASSERT_EQ(adds.size(), 1u);
    EXPECT_EQ(adds[0].payload.generation, row.generation_after);
  }
  const auto hist = all<wr::history>(r);
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].kind, "ticket");
  const auto detail = nlohmann::json::parse(hist[0].detail);
  EXPECT_EQ(detail["change"], "closed");
  EXPECT_EQ(detail["by"], "tech1");
  EXPECT_EQ(detail["policy"], ts::to_text(row.policy));
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_NE(r.notices[0].text.find("ticket.closed_by_technician"), std::string::npos) << r.notices[0].text;
  // The new baseline is what was seen.
  const auto seen = all<wr::set_seen>(r);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].seen.closed);
  EXPECT_EQ(seen[0].seen.last_updated, later);
  EXPECT_EQ(seen[0].seen.written_by, "TicketSyncAPI") << "ticketsync's identity is kept";
  EXPECT_EQ(seen[0].seen.observed_at, later);
}

INSTANTIATE_TEST_SUITE_P(
    Policies, PersonCloses,
    ::testing::Values(close_row{"respect", policy_t::respect, ts::ticket_phase::closed, true, {}, 0},
                      close_row{"note", policy_t::note, ts::ticket_phase::closed, true, {}, 0},
                      close_row{"reopen", policy_t::reopen, ts::ticket_phase::open, false, {ts::op_kind::reopen}, 0},
                      close_row{
                          "new_ticket", policy_t::new_ticket, ts::ticket_phase::open, false, {ts::op_kind::create}, 2}),
    [](const auto& info) { return std::string(info.param.name); });

//------------------------------------------------------------------------------
// The whole table: issue situations x observations.

struct row {
  const char* name;
  std::function<void(ts::issue_record&)> issue;
  std::function<void(psa::ticket_info&)> ticket;  // applied to shown()
  bool busy = false;
  std::vector<change> changes;
  std::optional<ts::ticket_state> ticket_after;  // set_ticket's state, nullopt: no set_ticket
  std::optional<ts::ticket_phase> phase_after;
  bool writes_seen = true;
};

void nothing(ts::issue_record&) {}
void same(psa::ticket_info&) {}

void PrintTo(const row& r, std::ostream* os) { *os << r.name; }

class Observations : public ::testing::TestWithParam<row> {};

TEST_P(Observations, DecideAsTheTableSays) {
  const row& r = GetParam();
  ts::issue_record issue = open_issue();
  r.issue(issue);
  psa::ticket_info t = shown();
  r.ticket(t);
  const auto res = ts::sync::observe(issue, r.busy, observation{ticket, t, heard_from::callback}, {}, later);
  EXPECT_EQ(res.changes, r.changes);
  EXPECT_EQ(ticket_state_of(res), r.ticket_after);
  EXPECT_EQ(phase_of(res), r.phase_after);
  EXPECT_EQ(!all<wr::set_seen>(res).empty(), r.writes_seen);
  // A change is always recorded in the history; nothing else is.
  std::size_t news = 0;
  for (change c : res.changes)
    news += c != change::none && c != change::stale && c != change::in_progress && c != change::other_ticket;
  EXPECT_EQ(all<wr::history>(res).size(), news);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Observations,
    ::testing::Values(
        row{"NothingChanged", nothing, [](psa::ticket_info& t) { t.updated_by = "TicketSyncAPI"; }, false,
            {change::none}, std::nullopt, std::nullopt},
        row{"APersonTouchedNothingThatMatters", nothing, same, false, {change::none}, std::nullopt, std::nullopt},
        row{"OlderThanWhatWasSeenIsStale", nothing,
            [](psa::ticket_info& t) {
              t.closed = true;
              t.last_updated = t0 - std::chrono::seconds{1};
            },
            false, {change::stale}, std::nullopt, std::nullopt, false},
        row{"ItsOwnCloseIsAnEcho", [](ts::issue_record& i) { i.phase = ts::ticket_phase::closed; },
            [](psa::ticket_info& t) {
              t.closed = true;
              t.updated_by = "TicketSyncAPI";
            },
            false, {change::none}, std::nullopt, std::nullopt},
        row{"ItsOwnCloseSeenByAPersonsNameIsStillAnEcho",
            [](ts::issue_record& i) { i.phase = ts::ticket_phase::closed; },
            [](psa::ticket_info& t) { t.closed = true; }, false, {change::none}, std::nullopt, std::nullopt},
        row{"ItsOwnWriteInFlightIsLeftToTheOperation", nothing,
            [](psa::ticket_info& t) {
              t.priority_id = 15;
              t.updated_by = "TicketSyncAPI";
            },
            true, {change::in_progress}, std::nullopt, std::nullopt, false},
        row{"ItsOwnWriteWhoseAnswerWasLostIsNotAPersonsChoice", nothing,
            [](psa::ticket_info& t) {
              t.priority_id = 15;
              t.board_id = 2;
              t.updated_by = "TicketSyncAPI";
            },
            false, {change::none}, std::nullopt, std::nullopt},
        row{"APersonsChangeWhileAnOperationRunsIsStillNews", nothing, [](psa::ticket_info& t) { t.closed = true; },
            true, {change::closed}, ts::ticket_state::closed, ts::ticket_phase::closed},
        row{"ClosedAfterTheIssueResolvedIsRecorded",
            [](ts::issue_record& i) { i.state = ts::issue_state::resolved; },
            [](psa::ticket_info& t) { t.closed = true; }, false, {change::closed}, ts::ticket_state::closed,
            ts::ticket_phase::closed},
        row{"ReopenedByAPersonIsTracked",
            [](ts::issue_record& i) {
              i.state = ts::issue_state::resolved;
              i.ticket = ts::ticket_state::closed;
              i.phase = ts::ticket_phase::closed;
              i.seen.closed = true;
            },
            same, false, {change::reopened}, ts::ticket_state::open, ts::ticket_phase::open},
        row{"ItsOwnReopenIsAnEcho",
            [](ts::issue_record& i) {
              i.ticket = ts::ticket_state::closed;
              i.seen.closed = true;
            },
            same, false, {change::none}, std::nullopt, std::nullopt},
        row{"AnOlderRowWithNothingSeenUsesTheTicketState",
            [](ts::issue_record& i) { i.seen = {}; },
            [](psa::ticket_info& t) { t.closed = true; }, false, {change::closed}, ts::ticket_state::closed,
            ts::ticket_phase::closed},
        row{"MovedToAnotherBoard", nothing, [](psa::ticket_info& t) { t.board_id = 2; }, false, {change::moved_board},
            std::nullopt, std::nullopt},
        row{"MovedToAnotherCompany", nothing, [](psa::ticket_info& t) { t.company_identifier = "Globex"; }, false,
            {change::moved_company}, std::nullopt, std::nullopt},
        row{"CompanyIdentifiersCompareWithoutCase", nothing,
            [](psa::ticket_info& t) { t.company_identifier = "acmecorp"; }, false, {change::none}, std::nullopt,
            std::nullopt},
        row{"PriorityChangedByAPerson", nothing, [](psa::ticket_info& t) { t.priority_id = 15; }, false,
            {change::priority}, std::nullopt, std::nullopt},
        row{"ClosedAndReprioritisedAtOnce", nothing,
            [](psa::ticket_info& t) {
              t.closed = true;
              t.priority_id = 15;
            },
            false, {change::closed, change::priority}, ts::ticket_state::closed, ts::ticket_phase::closed},
        row{"NotTheIssuesTicket", [](ts::issue_record& i) { i.ticket_id = 999; }, same, false, {change::other_ticket},
            std::nullopt, std::nullopt, false},
        row{"MergedIntoAnother", nothing, [](psa::ticket_info& t) { t.merged_into = 2002; }, false, {change::merged},
            ts::ticket_state::open, ts::ticket_phase::open}),
    [](const auto& info) { return std::string(info.param.name); });

//------------------------------------------------------------------------------

TEST(Reverse, AMergedTicketsIssueFollowsTheParent) {
  psa::ticket_info t = shown(true);
  t.merged_into = 2002;
  const auto r = ts::sync::observe(open_issue(), false, observation{ticket, t, heard_from::sweep}, {}, later);
  ASSERT_EQ(r.changes, std::vector<change>{change::merged});
  const auto set = all<wr::set_ticket>(r);
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].ticket, 2002) << "writes go to the parent from now on";
  const auto seen = all<wr::set_seen>(r);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].seen.merged_from, ticket);
  EXPECT_FALSE(seen[0].seen.known) << "what the parent holds is not known yet";
  EXPECT_TRUE(ops_of(r).empty()) << "no new ticket, no write to the child";
  // The parent heard from later is the issue's ticket.
  ts::issue_record after = open_issue();
  after.ticket_id = 2002;
  after.seen = seen[0].seen;
  psa::ticket_info parent = shown();
  parent.id = 2002;
  const auto r2 = ts::sync::observe(after, false, observation{2002, parent, heard_from::sweep}, {}, later);
  EXPECT_EQ(r2.changes, std::vector<change>{change::none});
  // ...and the child, still carrying ticketsync's externalXRef, is not.
  const auto r3 = ts::sync::observe(after, false, observation{ticket, t, heard_from::sweep}, {}, later);
  EXPECT_EQ(r3.changes, std::vector<change>{change::other_ticket});
}

TEST(Reverse, ADeletedTicketIsRecreatedOnTheNextEventOrForgotten) {
  for (const deleted_t p : {deleted_t::recreate, deleted_t::forget}) {
    SCOPED_TRACE(std::string(ts::to_text(p)));
    ts::config::lifecycle_config policy;
    policy.on_ticket_deleted = p;
    const auto r = ts::sync::observe(open_issue(), false,
                                     observation{ticket, std::nullopt, heard_from::existence_check}, policy, later);
    ASSERT_EQ(r.changes, std::vector<change>{change::deleted});
    const auto set = all<wr::set_ticket>(r);
    ASSERT_EQ(set.size(), 1u);
    EXPECT_FALSE(set[0].ticket.has_value());
    EXPECT_EQ(set[0].state, ts::ticket_state::none);
    EXPECT_EQ(phase_of(r), ts::ticket_phase::none);
    EXPECT_TRUE(ops_of(r).empty()) << "nothing now: the next event decides";
    std::optional<int> gen;
    for (const auto& u : all<wr::update_issue>(r))
      if (u.generation) gen = u.generation;
    EXPECT_EQ(gen, 2) << "the deleted ticket's externalXRef is never looked up again";
    const auto seen = all<wr::set_seen>(r);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].seen.deleted);
    EXPECT_EQ(seen[0].seen.forgotten, p == deleted_t::forget);
    // Heard again (another check): nothing more.
    ts::issue_record after = open_issue();
    after.seen = seen[0].seen;
    EXPECT_EQ(
        ts::sync::observe(after, false, observation{ticket, std::nullopt, heard_from::callback}, policy, later).changes,
        std::vector<change>{change::none});
  }
}

TEST(Reverse, PriorityOwnership) {
  psa::ticket_info t = shown();
  t.priority_id = 15;
  {
    ts::config::lifecycle_config policy;  // person (default)
    const auto r = ts::sync::observe(open_issue(), false, observation{ticket, t, heard_from::sweep}, policy, later);
    const auto seen = all<wr::set_seen>(r);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].seen.person_priority);
    EXPECT_TRUE(all<wr::set_applied>(r).empty());
    ts::issue_record issue = open_issue();
    issue.seen = seen[0].seen;
    ts::desired_ticket d;
    d.priority = "Priority 1 - Emergency Response";
    EXPECT_EQ(ts::sync::with_ownership(d, issue).priority, "Priority 2 - Quick Response")
        << "the ticket keeps what it holds; no patch changes it";
  }
  {
    ts::config::lifecycle_config policy;
    policy.priority_owner = ts::config::field_owner::ticketsync;
    const auto r = ts::sync::observe(open_issue(), false, observation{ticket, t, heard_from::sweep}, policy, later);
    const auto seen = all<wr::set_seen>(r);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].seen.person_priority);
    const auto applied = all<wr::set_applied>(r);
    ASSERT_EQ(applied.size(), 1u);
    EXPECT_EQ(applied[0].applied.fields.priority, "") << "unknown now: the next update writes the rule's priority";
    EXPECT_EQ(applied[0].applied.fields.summary, "Malware on host");
    ts::desired_ticket d;
    d.priority = "Priority 1 - Emergency Response";
    EXPECT_EQ(ts::sync::with_ownership(d, open_issue()).priority, "Priority 1 - Emergency Response");
  }
}

TEST(Reverse, TheAnswerToItsOwnPatchRevealsAPersonsEarlierChange) {
  // A person closed the ticket and changed its priority; then ticketsync
  // patched the summary (without reading first). The answer shows both.
  psa::ticket_info answer = shown(true);
  answer.priority_id = 15;
  answer.updated_by = "TicketSyncAPI";
  const auto r = ts::sync::observe_write_answer(open_issue(), answer, false, false, {}, later);
  EXPECT_EQ(r.changes, (std::vector<change>{change::closed, change::priority}));
  EXPECT_EQ(ticket_state_of(r), ts::ticket_state::closed);
  // What it wrote itself is no news.
  const auto own = ts::sync::observe_write_answer(open_issue(), answer, true, true, {}, later);
  EXPECT_TRUE(own.changes.empty());
  const auto seen = all<wr::set_seen>(own);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].seen.priority_id, 15) << "the new baseline is the answer";
  EXPECT_TRUE(seen[0].seen.closed);
  EXPECT_EQ(seen[0].seen.written_by, "TicketSyncAPI");
  EXPECT_FALSE(seen[0].seen.observed_at) << "a write answer is not news heard from ConnectWise";
}

TEST(Reverse, TheStoredViewRoundTrips) {
  ts::ticket_view v = open_issue().seen;
  v.observed_at = later;
  v.person_priority = true;
  v.merged_from = 55;
  EXPECT_EQ(ts::decode_seen(ts::encode_seen(v)), v);
  ts::ticket_view gone;
  gone.deleted = true;
  gone.forgotten = true;
  EXPECT_EQ(ts::decode_seen(ts::encode_seen(gone)), gone);
  EXPECT_EQ(ts::encode_seen({}), "{}");
  EXPECT_EQ(ts::decode_seen("{}"), ts::ticket_view{});
  EXPECT_EQ(ts::decode_seen("not json"), ts::ticket_view{});
  EXPECT_EQ(ts::decode_seen(R"({"c":"yes","s":"x"})").status_id, 0) << "mistyped keys take their defaults";
  EXPECT_LT(ts::encode_seen(v).size(), 200u) << "kept per issue: short";
}

}  // namespace

namespace {

TEST(Reverse, AViewIsFreshOnlyWhenHeardFromSinceTheLastWrite) {
  ts::ticket_view v = open_issue().seen;
  EXPECT_FALSE(ts::sync::view_is_fresh(v, true, later)) << "never heard from";
  v.written_at = t0;
  v.observed_at = t0 + std::chrono::seconds{1};
  EXPECT_TRUE(ts::sync::view_is_fresh(v, true, later)) << "heard since its write, callbacks delivered";
  EXPECT_FALSE(ts::sync::view_is_fresh(v, false, later)) << "without callbacks: heard a minute ago is stale";
  EXPECT_TRUE(ts::sync::view_is_fresh(v, false, t0 + std::chrono::seconds{20})) << "within the sweep bound";
  v.written_at = t0 + std::chrono::seconds{2};
  EXPECT_FALSE(ts::sync::view_is_fresh(v, true, later)) << "written since: its echo not heard yet";
  v.known = false;
  v.written_at = t0;
  EXPECT_FALSE(ts::sync::view_is_fresh(v, true, later));
}

TEST(Reverse, AnEchoOfItsOwnWriteOnlyMarksTheTicketHeardFrom) {
  ts::issue_record issue = open_issue();
  const auto r = ts::sync::observe(issue, true,
                                   observation{ticket, std::nullopt, heard_from::callback, "TicketSyncAPI"}, {}, later);
  EXPECT_EQ(r.changes, std::vector<change>{change::none});
  const auto seen = all<wr::set_seen>(r);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].seen.observed_at, later);
  EXPECT_TRUE(all<wr::set_ticket>(r).empty()) << "not a deletion";
  const auto other =
      ts::sync::observe(issue, false, observation{ticket, std::nullopt, heard_from::callback, "tech1"}, {}, later);
  EXPECT_TRUE(all<wr::set_seen>(other).empty()) << "only ticketsync's own member makes an echo";
}

}  // namespace
