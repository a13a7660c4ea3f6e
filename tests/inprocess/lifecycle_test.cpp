// The issue lifecycle in-process: the real engine and store against the fake
// ConnectWise on virtual time.
#include "inprocess/scenario.hpp"

#include <gtest/gtest.h>

namespace ts::test {
namespace {

TEST(EngineLifecycle, TheTicketFollowsTheIssueThroughUpdateResolveReopenAndReturn) {
  engine_rig rig;
  const std::string x = xref("life-1");

  rig.submit(event("life-1", "open", "high", "SSH brute force", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const fake_psa::ticket* t = only_ticket(rig.psa, x);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->summary, "[high] SSH brute force");
  EXPECT_EQ(rig.psa.priority_name(*t), "Priority 2 - Quick Response");
  EXPECT_EQ(t->severity, "High");
  EXPECT_EQ(t->impact, "Medium");
  EXPECT_EQ(t->company, "AcmeCorp");
  const std::int64_t first = t->id;

  // Update: a note with what changed, then a patch.
  rig.submit(event("life-1", "open", "critical", "SSH brute force, 40 hosts", 10));
  ASSERT_TRUE(rig.settle()) << rig.log();
  t = only_ticket(rig.psa, x);
  EXPECT_EQ(t->summary, "[critical] SSH brute force, 40 hosts");
  EXPECT_EQ(rig.psa.priority_name(*t), "Priority 1 - Emergency Response");
  ASSERT_EQ(notes_starting(*t, "Updated by wazuh"), 1);
  for (const auto& n : t->notes) {
    if (n.text.rfind("Updated by", 0) != 0) continue;
    EXPECT_NE(n.text.find("- summary: [high] SSH brute force \u2192 [critical] SSH brute force, 40 hosts"),
              std::string::npos)
        << n.text;
    EXPECT_NE(n.text.find("- priority: Priority 2 - Quick Response \u2192 Priority 1 - Emergency Response"),
              std::string::npos)
        << n.text;
  }

  // An older event changes nothing and costs no PSA call.
  const std::size_t calls = rig.psa.calls().size();
  rig.submit(event("life-1", "resolved", "low", "stale", 5));
  ASSERT_TRUE(rig.settle());
  EXPECT_EQ(rig.psa.calls().size(), calls);

  // Resolve: resolution note, then the closed status.
  rig.submit(event("life-1", "resolved", "critical", "SSH brute force, 40 hosts", 20));
  ASSERT_TRUE(rig.settle()) << rig.log();
  t = only_ticket(rig.psa, x);
  EXPECT_EQ(rig.psa.status_name(*t), "Closed");
  EXPECT_EQ(notes_starting(*t, "Resolved in wazuh"), 1);

  // Back within the window: the same ticket reopens.
  rig.submit(event("life-1", "open", "high", "SSH brute force again", 60));
  ASSERT_TRUE(rig.settle()) << rig.log();
  t = only_ticket(rig.psa, x);
  EXPECT_EQ(t->id, first);
  EXPECT_EQ(rig.psa.status_name(*t), "Reopened");
  EXPECT_EQ(t->summary, "[high] SSH brute force again");
  EXPECT_EQ(notes_starting(*t, "The issue is open again"), 1);

  // Resolved again, then back after the 7-day window: a new ticket.
  rig.submit(event("life-1", "resolved", "high", "SSH brute force again", 70));
  ASSERT_TRUE(rig.settle());
  rig.submit(event("life-1", "open", "medium", "SSH brute force, months later", 70 + 8 * 24 * 60));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.psa.tickets().size(), 2u);
  EXPECT_TRUE(rig.psa.is_closed(*only_ticket(rig.psa, x)));
  const fake_psa::ticket* second = only_ticket(rig.psa, x + "#2");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->summary, "[medium] SSH brute force, months later");
  for (const auto& [id, tk] : rig.psa.tickets()) expect_no_duplicate_notes(tk);
}

}  // namespace
}  // namespace ts::test

namespace ts::test {
namespace {

std::string psa_with(const std::string& lines) {
  return "psa:\n"
         "  site: https://psa.invalid\n"
         "  company_id: demo\n"
         "  public_key: demo-public-key\n"
         "  private_key: {env: TS_TEST_PRIVATE_KEY}\n"
         "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n" +
         lines;
}

// A reload applies the PSA budget and the mapping at once.
TEST(EngineReload, TheBudgetAndTheMappingApplyLive) {
  engine_rig rig(psa_with("  requests_per_minute: 6\n"));  // one request every 10 s
  rig.submit(event("slow-1", "open", "high", "v1", 0));
  auto start = rig.time.steady_now();
  ASSERT_TRUE(rig.settle()) << rig.log();
  const auto slow = rig.time.steady_now() - start;
  EXPECT_GE(slow, std::chrono::seconds{30}) << "5 requests at one per 10 s";

  rig.reload(psa_with("  requests_per_minute: 6000\n") +
             "ticket:\n"
             "  board: Security Incidents\n"
             "  status: New\n"
             "  summary: \"[{{severity}}] {{title}} (reloaded)\"\n"
             "  priority: Priority 3 - Normal Response\n");
  rig.submit(event("fast-1", "open", "high", "v1", 1));
  start = rig.time.steady_now();
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_LT(rig.time.steady_now() - start, std::chrono::seconds{3}) << "the new budget applies at once";
  const fake_psa::ticket* t = only_ticket(rig.psa, xref("fast-1"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->summary, "[high] v1 (reloaded)");
  EXPECT_EQ(rig.psa.priority_name(*t), "Priority 3 - Normal Response");
}

}  // namespace
}  // namespace ts::test
