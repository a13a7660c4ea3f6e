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
              std::string::npos) << n.text;
    EXPECT_NE(n.text.find("- priority: Priority 2 - Quick Response \u2192 Priority 1 - Emergency Response"),
              std::string::npos) << n.text;
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
