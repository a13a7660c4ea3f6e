// Chaos in-process: many lifecycles at once (open, two updates, resolve;
// every tenth comes back within the window) while the fake ConnectWise
// throttles, fails, loses answers and the process dies at random. Every
// issue ends with one ticket in its expected state and no note twice.
// TS_CHAOS_ISSUES sets the count (default 120; tests/bench/README documents
// the long run).
#include "inprocess/scenario.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

namespace ts::test {
namespace {

TEST(Chaos, ManyLifecyclesUnderRandomFaultsAndCrashes) {
  const char* env = std::getenv("TS_CHAOS_ISSUES");
  const int n = env ? std::max(10, std::atoi(env)) : 120;
  engine_rig rig(
      "psa:\n"
      "  site: https://psa.invalid\n"
      "  company_id: demo\n"
      "  public_key: demo-public-key\n"
      "  private_key: {env: TS_TEST_PRIVATE_KEY}\n"
      "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n"
      "  requests_per_minute: 600000\n"
      "  max_connections: 8\n");
  using f = fake_psa::fault;
  rig.psa.fail_randomly(2026, {{f::throttle, 0.05},
                               {f::server_error, 0.03},
                               {f::server_after, 0.02},
                               {f::timeout, 0.02},
                               {f::lost_answer, 0.03},
                               {f::reset, 0.02},
                               {f::die_before, 0.01},
                               {f::die_after, 0.01}});
  rig.psa.retry_after = std::chrono::milliseconds{0};
  auto id = [](int i) { return "chaos-" + std::to_string(i); };
  const std::vector<std::function<std::string(int)>> waves = {
      [&](int i) { return event(id(i), "open", "high", "v1", 0); },
      [&](int i) { return event(id(i), "open", "critical", "v2", 1); },
      [&](int i) { return event(id(i), "open", "critical", "v3", 2); },
      [&](int i) { return event(id(i), "resolved", "critical", "v3", 3); },
  };
  for (const auto& wave : waves) {
    for (int i = 0; i < n; ++i) rig.submit(wave(i));
    ASSERT_TRUE(rig.settle(std::chrono::hours{24})) << rig.log().substr(0, 4000);
  }
  for (int i = 0; i < n; i += 10) rig.submit(event(id(i), "open", "medium", "v4", 60));  // back within the window
  ASSERT_TRUE(rig.settle(std::chrono::hours{24}));
  // What the recovery lookups bought: each POST whose change was applied
  // while its answer was lost (a 500 after applying, no answer, a crash after)
  // is a real uncertainty; the lookups by cause are what the engine spent.
  int lookups = 0, applied_unanswered = 0;
  for (const auto& c : rig.psa.calls()) {
    if (c.what == "GET /service/tickets?externalXRef" || c.what == "GET /service/tickets/{id}/notes") ++lookups;
    if (c.what.rfind("POST ", 0) == 0 && c.injected &&
        (*c.injected == f::server_after || *c.injected == f::lost_answer || *c.injected == f::die_after))
      ++applied_unanswered;
  }
  std::cout << "[chaos] issues=" << n << " calls=" << rig.psa.calls().size() << " crashes=" << rig.crashes()
            << " lookup_calls=" << lookups << " applied_unanswered_posts=" << applied_unanswered
            << " lookups_by_cause:";
  std::uint64_t by_cause = 0;
  for (const auto& [cause, count] : rig.recovery_lookups()) {
    std::cout << " " << cause << "=" << count;
    by_cause += count;
  }
  std::cout << "\n";
  // Every uncertainty that was real had to be looked up; a lookup is counted
  // under the cause that made the operation uncertain.
  EXPECT_GE(by_cause, static_cast<std::uint64_t>(applied_unanswered));
  EXPECT_GT(rig.crashes(), 0);
  EXPECT_TRUE(rig.store().dead_letters(1).empty());
  for (int i = 0; i < n; ++i) {
    SCOPED_TRACE(id(i));
    const fake_psa::ticket* t = only_ticket(rig.psa, xref(id(i)));
    ASSERT_TRUE(t);
    const bool back = i % 10 == 0;
    EXPECT_EQ(rig.psa.status_name(*t), back ? "Reopened" : "Closed");
    EXPECT_EQ(t->summary, back ? "[medium] v4" : "[critical] v3");
    EXPECT_EQ(rig.psa.priority_name(*t), back ? "Priority 3 - Normal Response" : "Priority 1 - Emergency Response");
    EXPECT_EQ(notes_starting(*t, "Resolved in"), 1);
    expect_no_duplicate_notes(*t);
  }
}

}  // namespace
}  // namespace ts::test
