// Ingest (sync/ingest.hpp) without a store: an event and a snapshot in, the
// decision and the batch of writes out. What explain prints is this.
#include "sync/ingest.hpp"

#include "core/issue_key.hpp"
#include "sources/event_parser.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace {

using ts::op_kind;
using ts::sync::ingest_snapshot;
using ts::sync::issue_ref;
namespace wr = ts::sync::wr;

const ts::sys_ms now0 = ts::from_unix_ms(1'800'000'000'000);

ts::config::config base_config(int storm_cap = 0) {
  ts::config::config cfg;
  cfg.companies.tenants = {{"acme", "AcmeCorp"}};
  cfg.companies.unmapped = ts::config::unmapped_policy::hold;
  cfg.ticket.board = "Security Incidents";
  cfg.ticket.status = "New";
  for (auto s :
       {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low, ts::severity::info})
    cfg.ticket.priority[s] = "Priority 2 - Quick Response";
  cfg.storm.max_new_tickets_per_hour = storm_cap;
  return cfg;
}

std::string body(const std::string& tenant, const std::string& state, const std::string& title,
                 const std::string& at = "2026-11-01T10:00:00Z") {
  return nlohmann::json{{"source", "wazuh"},  {"tenant", tenant}, {"issue_id", "i-1"}, {"state", state},
                        {"severity", "high"}, {"title", title},   {"updated_at", at}}
      .dump();
}

struct run {
  ts::sync::ingest_result res;
  template <class W>
  std::vector<W> all() const {
    std::vector<W> out;
    for (const auto& w : res.writes)
      if (const auto* x = std::get_if<W>(&w)) out.push_back(*x);
    return out;
  }
};

run ingest(const ts::config::config& cfg, const std::string& text, const ingest_snapshot& snap = {}) {
  const ts::rules::ruleset rules(std::make_shared<const ts::config::config>(cfg));
  const auto ev = ts::intake::parse_event(text).value();
  ts::sync::engine_stats stats;
  return {ts::sync::ingest({ev, text, 42, "spool:f", now0}, snap, rules, now0, stats)};
}

/// The stored issue after a first event, as the next event's snapshot sees it.
ts::issue_record stored(const ts::config::config& cfg, const std::string& text) {
  auto r = ingest(cfg, text);
  auto rec = r.all<wr::save_issue>().at(0).rec;
  rec.id = 5;
  return rec;
}

TEST(Ingest, ANewOpenIssueIsStoredWithItsDecisionAndACreate) {
  const auto r = ingest(base_config(), body("acme", "open", "v1"));
  EXPECT_EQ(r.res.reason, "new issue");
  EXPECT_EQ(r.res.ops, (std::vector<std::string>{"create"}));
  const auto saves = r.all<wr::save_issue>();
  ASSERT_EQ(saves.size(), 1u);
  EXPECT_EQ(saves[0].rec.id, 0);
  EXPECT_EQ(saves[0].rec.phase, ts::ticket_phase::open);
  EXPECT_EQ(saves[0].rec.desired.company_identifier, "AcmeCorp");
  EXPECT_EQ(saves[0].rec.correlation_key, ts::correlation_key({"wazuh", "acme", "i-1"}));
  EXPECT_EQ(saves[0].rec.event_json, body("acme", "open", "v1"));
  const auto ops = r.all<wr::add_operation>();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, op_kind::create);
  EXPECT_EQ(ops[0].issue.of, issue_ref::which::self);
  EXPECT_EQ(ops[0].payload.generation, 1);
  ASSERT_EQ(r.all<wr::history>().size(), 1u);
  EXPECT_EQ(r.all<wr::history>()[0].kind, "decision");
}

TEST(Ingest, AnUnmappedTenantIsHeldAndNothingElseIsWritten) {
  const auto r = ingest(base_config(), body("newco", "open", "v1"));
  EXPECT_TRUE(r.res.held);
  ASSERT_EQ(r.res.writes.size(), 1u);
  const auto held = r.all<wr::hold_event>().at(0);
  EXPECT_EQ(held.inbox_id, 42);
  EXPECT_EQ(held.tenant, "newco");
  EXPECT_EQ(held.origin, "spool:f");
}

TEST(Ingest, AnEventNotNewerThanTheAppliedOneChangesNothing) {
  const auto cfg = base_config();
  ingest_snapshot snap;
  snap.issue = stored(cfg, body("acme", "open", "v1", "2026-11-01T10:05:00Z"));
  const auto r = ingest(cfg, body("acme", "resolved", "v0", "2026-11-01T10:00:00Z"), snap);
  EXPECT_EQ(r.res.reason, "not newer than the applied event");
  EXPECT_TRUE(r.res.writes.empty());
}

TEST(Ingest, AnUpdateIsFoldedIntoAQueuedCreateUnlessItIsRunning) {
  const auto cfg = base_config();
  ingest_snapshot snap;
  snap.issue = stored(cfg, body("acme", "open", "v1"));
  snap.newest_op = ts::operation_record{};
  snap.newest_op->id = 9;
  snap.newest_op->kind = op_kind::create;
  const std::string update = body("acme", "open", "v2", "2026-11-01T10:01:00Z");
  auto r = ingest(cfg, update, snap);
  EXPECT_TRUE(r.all<wr::add_operation>().empty()) << "the create sends what is wanted when it runs";
  EXPECT_EQ(r.all<wr::save_issue>().at(0).rec.desired.summary, "[high] v2");
  snap.newest_op_in_flight = true;
  r = ingest(cfg, update, snap);
  ASSERT_EQ(r.all<wr::add_operation>().size(), 1u);
  EXPECT_EQ(r.all<wr::add_operation>()[0].kind, op_kind::update);
}

TEST(Ingest, PastTheStormCapANewIssueBecomesANoteOnANewDigestTicket) {
  const auto cfg = base_config(2);
  ingest_snapshot snap;
  snap.tenant_creates_last_hour = 2;
  const auto r = ingest(cfg, body("acme", "open", "v1"), snap);
  EXPECT_TRUE(r.res.digested);
  EXPECT_EQ(r.res.ops, (std::vector<std::string>{"digest_note"}));
  const auto saves = r.all<wr::save_issue>();
  ASSERT_EQ(saves.size(), 2u);
  EXPECT_EQ(saves[0].as, issue_ref::which::digest);
  EXPECT_EQ(saves[0].rec.identity.source, ts::digest_source);
  EXPECT_EQ(saves[1].as, issue_ref::which::self);
  ASSERT_TRUE(saves[1].digest_of);
  EXPECT_EQ(saves[1].digest_of->of, issue_ref::which::digest);
  EXPECT_EQ(saves[1].rec.phase, ts::ticket_phase::none);
  const auto ops = r.all<wr::add_operation>();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].kind, op_kind::create);  // the digest's own ticket
  EXPECT_EQ(ops[0].issue.of, issue_ref::which::digest);
  EXPECT_EQ(ops[1].kind, op_kind::note);
  EXPECT_EQ(ops[1].payload.note, ts::note_kind::digest);
  EXPECT_EQ(ops[1].issue.of, issue_ref::which::digest);
  ASSERT_TRUE(ops[1].member);
  EXPECT_EQ(ops[1].member->of, issue_ref::which::self);
  EXPECT_NE(ops[1].payload.text.find("v1"), std::string::npos);
}

TEST(Ingest, UnderTheCapOrWithTheDigestStoredNoNewDigestIsMade) {
  const auto cfg = base_config(2);
  ingest_snapshot snap;
  snap.tenant_creates_last_hour = 1;
  EXPECT_FALSE(ingest(cfg, body("acme", "open", "v1"), snap).res.digested);
  snap.tenant_creates_last_hour = 5;
  snap.digest_issue = ts::issue_record{};
  snap.digest_issue->id = 77;
  const auto r = ingest(cfg, body("acme", "open", "v1"), snap);
  EXPECT_TRUE(r.res.digested);
  ASSERT_EQ(r.all<wr::save_issue>().size(), 1u);
  const auto ops = r.all<wr::add_operation>();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].issue.of, issue_ref::which::id);
  EXPECT_EQ(ops[0].issue.id, 77);
}

TEST(Ingest, ADigestMemberNotesOnlyChangesOfState) {
  const auto cfg = base_config(2);
  ingest_snapshot snap;
  snap.issue = stored(cfg, body("acme", "open", "v1"));
  snap.issue->digest = 77;
  auto r = ingest(cfg, body("acme", "open", "v2", "2026-11-01T10:01:00Z"), snap);
  EXPECT_EQ(r.all<wr::save_issue>().size(), 1u);
  EXPECT_TRUE(r.all<wr::add_operation>().empty());
  r = ingest(cfg, body("acme", "resolved", "v2", "2026-11-01T10:02:00Z"), snap);
  ASSERT_EQ(r.all<wr::add_operation>().size(), 1u);
  EXPECT_EQ(r.all<wr::add_operation>()[0].issue.id, 77);
}

TEST(Ingest, ATemplateErrorStoresTheEventAndDeadLettersTheOperation) {
  auto cfg = base_config();
  cfg.ticket.summary_template = "{{#unclosed}}";
  const auto r = ingest(cfg, body("acme", "open", "v1"));
  const auto ops = r.all<wr::add_operation>();
  ASSERT_EQ(ops.size(), 1u);
  ASSERT_TRUE(ops[0].dead);
  EXPECT_NE(ops[0].dead->error.find("mapping:"), std::string::npos) << ops[0].dead->error;
  EXPECT_EQ(r.all<wr::save_issue>().size(), 1u);
}

TEST(Ingest, TheStormCountIsReadOnlyWhenACreateCanBeCapped) {
  const auto ev = ts::intake::parse_event(body("acme", "open", "v1")).value();
  EXPECT_FALSE(ts::sync::reads_for(ev, std::nullopt, base_config(0), now0).storm);
  const auto with_cap = ts::sync::reads_for(ev, std::nullopt, base_config(5), now0);
  EXPECT_TRUE(with_cap.storm);
  EXPECT_EQ(with_cap.digest, ts::sync::digest_identity("acme", now0));
  ts::issue_record open;
  open.phase = ts::ticket_phase::open;
  EXPECT_FALSE(ts::sync::reads_for(ev, open, base_config(5), now0).storm);
  ts::issue_record closed;
  closed.phase = ts::ticket_phase::closed;
  EXPECT_TRUE(ts::sync::reads_for(ev, closed, base_config(5), now0).storm) << "it may come back as a new ticket";
}

TEST(Ingest, ARerenderUsesTheMappingInEffectOrSaysWhyItCannot) {
  auto cfg = base_config();
  auto rec = stored(cfg, body("acme", "open", "v1"));
  ts::operation_record op;
  op.id = 3;
  op.kind = op_kind::create;
  cfg.ticket.summary_template = "fixed: {{title}}";
  const ts::rules::ruleset rules(std::make_shared<const ts::config::config>(cfg));
  auto rr = ts::sync::rerender(op, rec, rules, now0);
  EXPECT_FALSE(rr.error);
  EXPECT_EQ(rr.issue.desired.summary, "fixed: v1");
  EXPECT_EQ(rr.issue.phase, ts::ticket_phase::open);
  ASSERT_FALSE(rr.writes.empty());
  EXPECT_TRUE(std::holds_alternative<wr::clear_rerender>(rr.writes.front()));

  rec.event_json = "{not json";
  rr = ts::sync::rerender(op, rec, rules, now0);
  ASSERT_TRUE(rr.error);
  EXPECT_NE(rr.error->find("no longer validates"), std::string::npos);
}

}  // namespace
