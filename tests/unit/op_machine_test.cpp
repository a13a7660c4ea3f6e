// The operation machine (sync/op_machine.hpp) driven directly, without IO:
// each test scripts the answers and checks the requests the machine asks
// for, the maybe-sent marks, the writes and the outcome. Table-driven where
// the cases are many (failures, technician-close policies).
#include "sync/op_machine.hpp"

#include "core/issue_key.hpp"
#include "support/enum_tables.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ts::op_kind;
using ts::psa::name_list;
using ts::sync::next_step;
using ts::sync::op_machine;
namespace psa = ts::psa;
namespace wr = ts::sync::wr;

const ts::sys_ms now0 = ts::from_unix_ms(1'800'000'000'000);

class fixed_random final : public ts::random_source {
 public:
  double value = 0.5;
  double unit() override { return value; }
};

psa::named_ref ref(std::int64_t id, std::string name, bool closed = false) {
  psa::named_ref r;
  r.id = id;
  r.name = std::move(name);
  r.closed_status = closed;
  return r;
}

/// The ConnectWise names of the tests: one board and its statuses, four priorities.
void warm(ts::sync::name_cache& names, ts::sys_ms at) {
  names.put(name_list::boards, 0, {ref(1, "Security Incidents")}, at);
  names.put(name_list::statuses, 1,
            {ref(101, "New"), ref(102, "In Progress"), ref(105, "Closed", true), ref(106, "Reopened")}, at);
  names.put(name_list::priorities, 0,
            {ref(15, "Priority 1 - Emergency Response"), ref(16, "Priority 2 - Quick Response"),
             ref(17, "Priority 3 - Normal Response")},
            at);
}

ts::config::config base_config() {
  ts::config::config cfg;
  cfg.companies.tenants = {{"acme", "AcmeCorp"}};
  cfg.ticket.board = "Security Incidents";
  cfg.ticket.status = "New";
  cfg.ticket.closed_status = "Closed";
  cfg.ticket.reopen_status = "Reopened";
  for (auto s :
       {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low, ts::severity::info})
    cfg.ticket.priority[s] = "Priority 2 - Quick Response";
  return cfg;
}

ts::desired_ticket desired(std::string summary = "[high] v1", std::string priority = "Priority 2 - Quick Response") {
  ts::desired_ticket d;
  d.rule = "default";
  d.company_identifier = "AcmeCorp";
  d.board = "Security Incidents";
  d.status = "New";
  d.closed_status = "Closed";
  d.reopen_status = "Reopened";
  d.priority = std::move(priority);
  d.cw_severity = "High";
  d.cw_impact = "Medium";
  d.summary = std::move(summary);
  d.description = "desc";
  return d;
}

ts::issue_record issue_with_ticket(std::optional<std::int64_t> ticket = 7001) {
  ts::issue_record i;
  i.id = 3;
  i.identity = {"wazuh", "acme", "i-1"};
  i.correlation_key = ts::correlation_key(i.identity);
  i.event_json = R"({"source":"wazuh","tenant":"acme","issue_id":"i-1","state":"open","severity":"high",)"
                 R"("title":"v1","updated_at":"2026-11-01T10:00:00Z"})";
  i.desired = desired();
  i.ticket_id = ticket;
  i.ticket = ticket ? ts::ticket_state::open : ts::ticket_state::none;
  i.phase = ts::ticket_phase::open;
  if (ticket) i.applied = {i.desired.fields(), 1};
  return i;
}

ts::operation_record op(op_kind k) {
  ts::operation_record o;
  o.id = 11;
  o.issue = 3;
  o.kind = k;
  return o;
}

psa::ticket_info ticket_info(std::int64_t id, bool closed = false) {
  psa::ticket_info t;
  t.id = id;
  t.summary = "[high] v1";
  t.priority_id = 16;
  t.severity = "High";
  t.impact = "Medium";
  t.closed = closed;
  return t;
}

psa::psa_failure failure(psa::psa_failure::kind k, int http = 0, bool maybe_applied = false) {
  psa::psa_failure f;
  f.what = k;
  f.http_status = http;
  f.detail = "boom";
  f.maybe_applied = maybe_applied;
  f.retry_after = 7s;
  return f;
}

/// A machine and everything it works with.
struct rig {
  explicit rig(ts::config::config cfg = base_config())
      : rules(std::make_shared<const ts::config::config>(std::move(cfg))) {}
  ts::rules::ruleset rules;
  ts::sync::name_cache names;
  ts::sync::engine_stats stats;
  fixed_random random;

  /// What one run asked for and wrote.
  struct run {
    std::vector<std::string> requests;
    std::vector<psa::request> sent;
    std::vector<bool> marked;  ///< per request: a maybe-sent mark came with it
    std::vector<ts::sync::write> writes;
    std::vector<std::string> notices;
    op_machine::state end = op_machine::state::idle;

    template <class W>
    std::vector<W> all() const {
      std::vector<W> out;
      for (const auto& w : writes)
        if (const auto* x = std::get_if<W>(&w)) out.push_back(*x);
      return out;
    }
    template <class W>
    bool has() const {
      return !all<W>().empty();
    }
    bool notice(std::string_view prefix) const {
      for (const auto& n : notices)
        if (n.rfind(prefix, 0) == 0) return true;
      return false;
    }
  };

  /// Runs the machine to its end; `answer` answers each request.
  run drive(ts::operation_record o, ts::issue_record i, const std::function<psa::answer(const psa::request&)>& answer) {
    op_machine m(std::move(o), std::move(i), ts::sync::machine_env{rules, names, stats, random, {}});
    run r;
    next_step n = m.start(now0);
    for (int guard = 0; guard < 50; ++guard) {
      r.writes.insert(r.writes.end(), n.writes.begin(), n.writes.end());
      for (const auto& x : n.notices) r.notices.push_back(x.text);
      if (!n.request) break;
      r.requests.push_back(psa::describe(*n.request));
      r.sent.push_back(*n.request);
      r.marked.push_back(n.mark.has_value());
      EXPECT_EQ(n.mark.has_value(), psa::repeat_unsafe(*n.request)) << r.requests.back();
      n = m.resume(answer(*n.request), now0 + 1s);
    }
    r.end = m.status();
    EXPECT_EQ(r.end, op_machine::state::finished);
    return r;
  }
};

/// Answers every request as a healthy ConnectWise would, from the rig's lists.
psa::answer healthy(const psa::request& r) {
  if (std::holds_alternative<psa::req::create_ticket>(r)) return psa::reply{ticket_info(7001)};
  if (std::holds_alternative<psa::req::find_ticket>(r)) return psa::reply{std::optional<psa::ticket_info>{}};
  if (std::holds_alternative<psa::req::get_ticket>(r)) return psa::reply{ticket_info(7001)};
  if (std::holds_alternative<psa::req::patch_ticket>(r)) return psa::reply{ticket_info(7001)};
  if (std::holds_alternative<psa::req::post_note>(r)) return psa::reply{psa::note_info{1, "x"}};
  if (std::holds_alternative<psa::req::list_notes>(r)) return psa::reply{std::vector<psa::note_info>{}};
  const auto& l = std::get<psa::req::list_names>(r);
  switch (l.list) {
    case name_list::boards: return psa::reply{std::vector{ref(1, "Security Incidents")}};
    case name_list::statuses:
      return psa::reply{std::vector{ref(101, "New"), ref(105, "Closed", true), ref(106, "Reopened")}};
    case name_list::priorities:
      return psa::reply{
          std::vector{ref(15, "Priority 1 - Emergency Response"), ref(16, "Priority 2 - Quick Response")}};
    default: return psa::reply{std::vector<psa::named_ref>{}};
  }
}

//------------------------------------------------------------------------------
// create

TEST(OpMachine, ACreateOnAColdCacheFetchesTheNamesItNeedsThenPostsMarkedSent) {
  rig r;
  const auto run = r.drive(op(op_kind::create), issue_with_ticket(std::nullopt), healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"GET /service/boards", "GET /service/boards/{id}/statuses",
                                                    "GET /service/priorities", "POST /service/tickets"}));
  EXPECT_EQ(run.marked, (std::vector<bool>{false, false, false, true}));
  const auto& body = std::get<psa::req::create_ticket>(run.sent.back()).body;
  EXPECT_EQ(body.board_id, 1);
  EXPECT_EQ(body.status_id, 101);
  EXPECT_EQ(body.priority_id, 16);
  EXPECT_EQ(body.external_xref, ts::correlation_key({"wazuh", "acme", "i-1"}));
  EXPECT_EQ(body.company_identifier, "AcmeCorp");
  EXPECT_EQ(run.all<wr::put_directory>().size(), 3u) << "each list fetched is kept for the next start";
  ASSERT_TRUE(run.has<wr::set_ticket>());
  EXPECT_EQ(run.all<wr::set_ticket>().front().ticket, 7001);
  EXPECT_EQ(run.all<wr::set_applied>().front().applied.fields, desired().fields());
  EXPECT_TRUE(run.has<wr::complete>());
  EXPECT_FALSE(run.has<wr::add_operation>()) << "nothing left to update";
  EXPECT_TRUE(run.notice("ticket.created"));
  EXPECT_EQ(r.stats.tickets_created, 1u);
}

TEST(OpMachine, ACreateWithTheNamesCachedPostsAtOnce) {
  rig r;
  warm(r.names, now0);
  const auto run = r.drive(op(op_kind::create), issue_with_ticket(std::nullopt), healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"POST /service/tickets"}));
}

TEST(OpMachine, AnUncertainCreateIsLookedUpAndAdoptedNotSentAgain) {
  rig r;
  warm(r.names, now0);
  auto o = op(op_kind::create);
  o.sent = true;
  o.cause = ts::sent_cause::transport;
  auto i = issue_with_ticket(std::nullopt);
  i.desired = desired("[critical] v2", "Priority 1 - Emergency Response");  // newer than what was sent
  const auto run = r.drive(o, i, [](const psa::request& q) -> psa::answer {
    if (std::holds_alternative<psa::req::find_ticket>(q)) return psa::reply{std::optional(ticket_info(7009))};
    return healthy(q);
  });
  EXPECT_EQ(run.requests, (std::vector<std::string>{"GET /service/tickets?externalXRef"}));
  EXPECT_EQ(std::get<psa::req::find_ticket>(run.sent[0]).xref, ts::correlation_key({"wazuh", "acme", "i-1"}));
  EXPECT_EQ(run.all<wr::set_ticket>().front().ticket, 7009);
  // What it holds is what the earlier attempt sent; the difference gets an update.
  EXPECT_EQ(run.all<wr::set_applied>().front().applied.fields.priority, "Priority 2 - Quick Response");
  ASSERT_EQ(run.all<wr::add_operation>().size(), 1u);
  EXPECT_EQ(run.all<wr::add_operation>().front().kind, op_kind::update);
  EXPECT_EQ(r.stats.recovery_lookups.at("transport"), 1u);
  EXPECT_TRUE(run.notice("ticket.adopted"));
}

TEST(OpMachine, AnUncertainCreateNotFoundIsSentAgainForTheSameGeneration) {
  rig r;
  warm(r.names, now0);
  auto o = op(op_kind::create);
  o.sent = true;
  o.payload.generation = 2;
  const auto run = r.drive(o, issue_with_ticket(std::nullopt), healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"GET /service/tickets?externalXRef", "POST /service/tickets"}));
  const std::string key = ts::correlation_key({"wazuh", "acme", "i-1"});
  EXPECT_EQ(std::get<psa::req::find_ticket>(run.sent[0]).xref, key + "#2");
  EXPECT_EQ(std::get<psa::req::create_ticket>(run.sent[1]).body.external_xref, key + "#2");
}

TEST(OpMachine, ANameThatDoesNotExistIsLookedUpOnceMoreThenDeadLetteredWithTheClosestNames) {
  rig r;
  warm(r.names, now0 - 5min);  // fresh, but old enough that a missing name justifies one refresh
  auto i = issue_with_ticket(std::nullopt);
  i.desired.board = "Security Incident";
  const auto run = r.drive(op(op_kind::create), i, healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"GET /service/boards"}));
  ASSERT_TRUE(run.has<wr::dead_letter>());
  const auto info = run.all<wr::dead_letter>().front().info;
  EXPECT_EQ(info.http_status, 0);
  EXPECT_NE(info.error.find("board 'Security Incident' does not exist in ConnectWise; closest: 'Security Incidents'"),
            std::string::npos)
      << info.error;
  EXPECT_FALSE(run.has<wr::mark_sent>());
}

//------------------------------------------------------------------------------
// update, close, reopen, note

TEST(OpMachine, AnUpdateChecksTheTicketNotesWhatChangedThenPatches) {
  rig r;
  warm(r.names, now0);
  auto i = issue_with_ticket();
  i.desired = desired("[critical] v2", "Priority 1 - Emergency Response");
  const auto run = r.drive(op(op_kind::update), i, healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"GET /service/tickets/{id}", "POST /service/tickets/{id}/notes",
                                                    "PATCH /service/tickets/{id}"}));
  const auto& note = std::get<psa::req::post_note>(run.sent[1]);
  EXPECT_NE(note.text.find("- summary: [high] v1 \u2192 [critical] v2"), std::string::npos) << note.text;
  EXPECT_NE(note.text.find("- priority: Priority 2 - Quick Response \u2192 Priority 1 - Emergency Response"),
            std::string::npos);
  ASSERT_EQ(run.all<wr::advance_step>().size(), 1u);
  EXPECT_EQ(run.all<wr::advance_step>().front().step, 1);
  const auto& patch = std::get<psa::req::patch_ticket>(run.sent[2]);
  ASSERT_EQ(patch.ops.size(), 2u);  // summary, priority (severity and impact are unchanged)
  EXPECT_EQ(patch.ops[1].path, "priority");
  EXPECT_EQ(patch.ops[1].value_json, R"({"id":15})");
  EXPECT_EQ(run.all<wr::set_applied>().back().applied.fields, i.desired.fields());
}

TEST(OpMachine, AnUpdateWithNothingLeftToChangeIsSkippedWithoutARequest) {
  rig r;
  const auto run = r.drive(op(op_kind::update), issue_with_ticket(), healthy);
  EXPECT_TRUE(run.requests.empty());
  EXPECT_TRUE(run.has<wr::complete>());
  EXPECT_EQ((r.stats.operations[{"update", "skipped"}]), 1u);
}

TEST(OpMachine, AnUncertainNoteIsLookedForAmongTheTicketsNotesBeforeItIsSentAgain) {
  rig r;
  warm(r.names, now0);
  auto i = issue_with_ticket();
  i.desired = desired("[critical] v2");
  auto o = op(op_kind::update);
  o.sent = true;
  o.payload.note_text = "the text sent before";
  const auto found = r.drive(o, i, [](const psa::request& q) -> psa::answer {
    if (std::holds_alternative<psa::req::list_notes>(q))
      return psa::reply{std::vector<psa::note_info>{{4, "other"}, {3, "the text sent before"}}};
    return healthy(q);
  });
  EXPECT_EQ(found.requests,
            (std::vector<std::string>{"GET /service/tickets/{id}/notes", "PATCH /service/tickets/{id}"}))
      << "found: not posted again, and no technician check for a started operation";
  const auto missing = r.drive(o, i, healthy);
  EXPECT_EQ(missing.requests,
            (std::vector<std::string>{"GET /service/tickets/{id}/notes", "POST /service/tickets/{id}/notes",
                                      "PATCH /service/tickets/{id}"}));
  EXPECT_EQ(std::get<psa::req::post_note>(missing.sent[1]).text, "the text sent before") << "repeated identically";
}

TEST(OpMachine, ACloseNotesTheResolutionThenMovesToTheClosedStatus) {
  rig r;
  warm(r.names, now0);
  const auto run = r.drive(op(op_kind::close), issue_with_ticket(), [](const psa::request& q) -> psa::answer {
    if (std::holds_alternative<psa::req::patch_ticket>(q)) return psa::reply{ticket_info(7001, true)};
    return healthy(q);
  });
  EXPECT_EQ(run.requests,
            (std::vector<std::string>{"POST /service/tickets/{id}/notes", "PATCH /service/tickets/{id}"}));
  EXPECT_EQ(std::get<psa::req::post_note>(run.sent[0]).area, psa::note_area::resolution);
  EXPECT_EQ(std::get<psa::req::patch_ticket>(run.sent[1]).ops.back().value_json, R"({"id":105})");
  EXPECT_EQ(run.all<wr::set_ticket>().back().state, ts::ticket_state::closed);
}

TEST(OpMachine, AClosedStatusThatIsNotClosedIsADeadLetterNamingTheClosedOnes) {
  rig r;
  warm(r.names, now0);
  auto i = issue_with_ticket();
  i.desired.closed_status = "In Progress";
  const auto run = r.drive(op(op_kind::close), i, healthy);
  ASSERT_TRUE(run.has<wr::dead_letter>());
  const auto error = run.all<wr::dead_letter>().front().info.error;
  EXPECT_NE(error.find("'In Progress' on board 'Security Incidents' is not a closed status"), std::string::npos);
  EXPECT_NE(error.find("closed statuses: 'Closed'"), std::string::npos) << error;
  EXPECT_TRUE(run.all<wr::update_issue>().back().phase_from_ticket) << "planning starts again from the truth";
}

TEST(OpMachine, ADigestNoteIsPostedAsPlannedWithoutATechnicianCheck) {
  rig r;
  auto o = op(op_kind::note);
  o.payload.note = ts::note_kind::digest;
  o.payload.text = "[low] line of the digest";
  const auto run = r.drive(o, issue_with_ticket(), healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"POST /service/tickets/{id}/notes"}));
  EXPECT_EQ(std::get<psa::req::post_note>(run.sent[0]).text, "[low] line of the digest");
}

TEST(OpMachine, AnEmptyResolveTemplatePostsNoNote) {
  auto cfg = base_config();
  cfg.ticket.resolve_note_template = "";
  rig r(cfg);
  warm(r.names, now0);
  const auto run = r.drive(op(op_kind::close), issue_with_ticket(), healthy);
  EXPECT_EQ(run.requests, (std::vector<std::string>{"PATCH /service/tickets/{id}"}));
}

// What an operation does on a ticket a technician closed, per policy.
TEST(OpMachine, ATicketClosedByATechnicianIsHandledByTheRulesPolicy) {
  using policy = ts::config::technician_close_policy;
  const struct {
    policy p;
    std::vector<std::string> requests;
    bool new_create;
    bool reopened;
  } cases[] = {
      {policy::respect, {"GET /service/tickets/{id}"}, false, false},
      {policy::new_ticket, {"GET /service/tickets/{id}"}, true, false},
      {policy::note, {"GET /service/tickets/{id}", "POST /service/tickets/{id}/notes"}, false, false},
      {policy::reopen,
       {"GET /service/tickets/{id}", "POST /service/tickets/{id}/notes", "PATCH /service/tickets/{id}"},
       false,
       true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(ts::to_text(c.p)));
    auto cfg = base_config();
    cfg.ticket.lifecycle.on_technician_close = c.p;
    rig r(cfg);
    warm(r.names, now0);
    auto i = issue_with_ticket();
    i.desired = desired("[critical] v2");
    const auto run = r.drive(op(op_kind::update), i, [](const psa::request& q) -> psa::answer {
      if (std::holds_alternative<psa::req::get_ticket>(q)) return psa::reply{ticket_info(7001, true)};
      return healthy(q);
    });
    EXPECT_EQ(run.requests, c.requests);
    EXPECT_TRUE(run.notice("ticket.closed_by_technician"));
    const auto updates = run.all<wr::update_issue>();
    ASSERT_FALSE(updates.empty());
    EXPECT_EQ(updates.front().tech_closed, true);  // the mark, whatever follows
    const auto creates = run.all<wr::add_operation>();
    EXPECT_EQ(!creates.empty(), c.new_create);
    if (c.new_create) {
      EXPECT_EQ(creates.front().kind, op_kind::create);
      EXPECT_EQ(creates.front().payload.generation, 2);
    }
    EXPECT_EQ(updates.back().phase == ts::ticket_phase::open && updates.back().tech_closed == false,
              c.reopened || c.new_create);
  }
}

//------------------------------------------------------------------------------
// failures

TEST(OpMachine, EachFailureKindIsRetriedOrGivenUpAsItShouldBe) {
  using kind = psa::psa_failure::kind;
  const struct {
    const char* name;
    psa::psa_failure f;
    bool dead;
    bool counts;
    bool clear_sent;
    std::optional<ts::sent_cause> cause;
    std::chrono::milliseconds min_wait, max_wait;
  } cases[] = {
      {"400", failure(kind::rejected, 400), true, false, false, std::nullopt, 0s, 0s},
      {"401", failure(kind::auth, 401), false, false, true, std::nullopt, 30s, 30s},
      {"429", failure(kind::throttled, 429), false, false, true, std::nullopt, 7s, 7s},
      {"500 maybe applied", failure(kind::server, 500, true), false, true, false, ts::sent_cause::server, 0s, 1s},
      {"500 not applied", failure(kind::server, 500, false), false, true, true, std::nullopt, 0s, 1s},
      {"timeout", failure(kind::transport, 0, true), false, true, false, ts::sent_cause::transport, 0s, 1s},
      {"reset before sending", failure(kind::transport, 0, false), false, true, true, std::nullopt, 0s, 1s},
      {"unreadable", failure(kind::protocol, 201, true), false, true, false, ts::sent_cause::protocol, 0s, 1s},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    rig r;
    warm(r.names, now0);
    const auto run =
        r.drive(op(op_kind::create), issue_with_ticket(std::nullopt), [&](const psa::request& q) -> psa::answer {
          if (std::holds_alternative<psa::req::create_ticket>(q)) return c.f;
          return healthy(q);
        });
    EXPECT_EQ(run.has<wr::dead_letter>(), c.dead);
    if (c.dead) {
      EXPECT_EQ(run.all<wr::dead_letter>().front().info.http_status, 400);
      continue;
    }
    ASSERT_TRUE(run.has<wr::retry>());
    const auto retry = run.all<wr::retry>().front();
    EXPECT_EQ(retry.counts, c.counts);
    EXPECT_EQ(retry.clear_sent, c.clear_sent);
    EXPECT_EQ(retry.cause, c.cause);
    EXPECT_GE(retry.next - (now0 + 1s), c.min_wait);
    EXPECT_LE(retry.next - (now0 + 1s), c.max_wait);
  }
}

TEST(OpMachine, TheBackoffDoublesPerAttemptWithFullJitterUpToItsCap) {
  const struct {
    int attempts_before;
    double draw;
    std::chrono::milliseconds wait;
  } cases[] = {{0, 0.999, 999ms}, {1, 0.5, 1000ms}, {2, 0.5, 2000ms}, {3, 0.0, 0ms}, {20, 0.5, 150s}, {200, 1.0, 300s}};
  for (const auto& c : cases) {
    rig r;
    warm(r.names, now0);
    r.random.value = c.draw;
    auto o = op(op_kind::create);
    o.attempts = c.attempts_before;
    const auto run = r.drive(o, issue_with_ticket(std::nullopt), [](const psa::request& q) -> psa::answer {
      if (std::holds_alternative<psa::req::create_ticket>(q)) return failure(psa::psa_failure::kind::server, 503);
      return healthy(q);
    });
    EXPECT_EQ(run.all<wr::retry>().front().next - (now0 + 1s), c.wait) << c.attempts_before;
  }
}

TEST(OpMachine, StatesHaveNames) { ts::test::expect_bijective_table<op_machine::state>(10); }

}  // namespace
