// Defects found by outside checks (hostile inputs and a long chaos run),
// each reproduced in-process: each of these tests failed before its fix.
#include "inprocess/scenario.hpp"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

namespace ts::test {
namespace {

constexpr const char* find_by_xref = "GET /service/tickets?externalXRef";

// A create whose answer was lost, found again after a restart whose name
// cache is cold (the warm-up failed: a 500 on GET /service/boards). The
// adopted ticket's priority must be read from ConnectWise's list, not taken
// as unknown: no "Updated by" note, no PATCH.
TEST(Defects, AColdCacheNeverMakesAnAdoptedTicketLookChanged) {
  engine_rig rig;
  rig.psa.fail_matching("POST /service/tickets", fake_psa::fault::die_after);
  rig.submit(event("cold-1", "open", "high", "v1", 0));
  ASSERT_TRUE(rig.run_until([&] { return rig.crashes() == 1; })) << rig.log();
  ASSERT_EQ(rig.psa.tickets().size(), 1u);  // created; the answer never came back
  // The next process starts without the names (a database of the previous
  // release has none), and its warm-up fails.
  rig.store().db().exec("DELETE FROM directory");
  rig.psa.fail_matching("GET /service/boards", fake_psa::fault::server_error);
  ASSERT_TRUE(rig.settle()) << rig.log();

  const fake_psa::ticket* t = only_ticket(rig.psa, xref("cold-1"));
  ASSERT_TRUE(t);
  EXPECT_EQ(rig.psa.count(find_by_xref), 1u) << "the create was looked up";
  EXPECT_EQ(notes_starting(*t, "Updated by"), 0) << "a spurious update note";
  EXPECT_EQ(rig.psa.count("PATCH"), 0u) << "a needless patch";
  const auto issue = rig.store().find_issue({"wazuh", "acme-prod", "cold-1"});
  ASSERT_TRUE(issue);
  EXPECT_EQ(issue->applied.fields.priority, "Priority 2 - Quick Response");
}

// After that same warm-up failure, tickets are created: the connection is
// connected, not stuck at unreachable.
TEST(Defects, TheConnectionStateFollowsTheAnswersAfterAFailedWarmUp) {
  engine_rig rig;
  rig.psa.fail_matching("GET /service/boards", fake_psa::fault::server_error);
  rig.submit(event("warm-1", "open", "high", "v1", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  ASSERT_EQ(rig.psa.tickets().size(), 1u);
  EXPECT_EQ(rig.engine().connection().state, sync::link_state::connected);
  EXPECT_EQ(rig.store().runtime().at("psa.state").value, "connected");
}

// Operations waiting for the rate budget are not maybe-sent: after a crash
// only the request that could actually leave is looked up again.
TEST(Defects, OnlyARequestThatCanLeaveIsMarkedMaybeSent) {
  engine_rig rig(
      "psa:\n"
      "  site: https://psa.invalid\n"
      "  company_id: demo\n"
      "  public_key: demo-public-key\n"
      "  private_key: {env: TS_TEST_PRIVATE_KEY}\n"
      "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n"
      "  requests_per_minute: 60\n"
      "  max_connections: 4\n");
  // Names cached first, so that the creates queue for the budget together.
  rig.submit(event("warm", "open", "high", "v0", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  rig.psa.fail_matching("POST /service/tickets", fake_psa::fault::die_before);
  for (int i = 0; i < 4; ++i) rig.submit(event("queued-" + std::to_string(i), "open", "high", "v1", 1));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.crashes(), 1);
  EXPECT_EQ(rig.psa.tickets().size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(only_ticket(rig.psa, xref("queued-" + std::to_string(i))));
  // The create that died at the wire is looked up; the three behind it in
  // the budget never left, so they are not.
  EXPECT_EQ(rig.psa.count(find_by_xref), 1u) << rig.log();
  EXPECT_EQ(rig.engine().stats().recovery_lookups.at("interrupted"), 1u);
}

// A 429 is not a failed attempt: the backoff after a later 5xx starts from
// the first attempt, whatever throttling came before.
TEST(Defects, ThrottlingDoesNotInflateTheBackoff) {
  engine_rig rig;
  rig.submit(event("warm", "open", "high", "v0", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  rig.psa.fail_matching("POST /service/tickets", fake_psa::fault::throttle, 6);
  rig.submit(event("t-1", "open", "high", "v1", 1));
  ASSERT_TRUE(rig.run_until([&] { return rig.psa.count("POST /service/tickets") == 7; })) << rig.log();
  rig.psa.fail_matching("POST /service/tickets", fake_psa::fault::server_error);
  const auto before = rig.time.now();
  ASSERT_TRUE(rig.run_until([&] {
    const auto issue = rig.store().find_issue({"wazuh", "acme-prod", "t-1"});
    if (!issue) return false;
    const auto ops = rig.store().operations_of(issue->id);
    return !ops.empty() && ops.back().last_error.find("HTTP 500") != std::string::npos;
  })) << rig.log();
  const auto issue = rig.store().find_issue({"wazuh", "acme-prod", "t-1"});
  const auto op = rig.store().operations_of(issue->id).back();
  EXPECT_EQ(op.attempts, 1) << "six 429s counted as failed attempts";
  // Attempt 1 waits at most the base (1 s) after the 500.
  EXPECT_LE(op.next_attempt_at - before, std::chrono::seconds{8} + std::chrono::seconds{1});
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_TRUE(only_ticket(rig.psa, xref("t-1")));
}

}  // namespace
}  // namespace ts::test
