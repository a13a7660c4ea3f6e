// The in-process failure sweep: every PSA call position of a lifecycle that
// runs every operation kind, times every fault kind the fake ConnectWise
// knows (429, 5xx before and after applying, timeout, reset, an answer lost
// after the change was applied, 400, 401, and the process dying before the
// request leaves or after it was applied). Each run ends with exactly one
// ticket per issue, one note per fact, the right final state, and nothing
// lost or left pending; a 400 dead-letters exactly the operation it hit.
#include "inprocess/scenario.hpp"

#include <gtest/gtest.h>

#include <cctype>

#include <functional>
#include <iostream>

namespace ts::test {
namespace {

struct expectation {
  std::string status;
  std::string summary;
  std::string priority;
  std::map<std::string, int> notes;  ///< prefix -> count
};

struct scenario {
  std::string name;
  std::string sections;             ///< configuration
  std::vector<std::string> events;  ///< submitted one at a time, each settled
  expectation end;
};

std::vector<scenario> scenarios() {
  const std::string id = "sweep";
  return {
      {"patch-close-reopen",
       "",
       {event(id, "open", "high", "v1", 0), event(id, "open", "critical", "v2", 1),
        event(id, "resolved", "critical", "v2", 2), event(id, "open", "critical", "v2", 3),
        event(id, "resolved", "critical", "v2", 4)},
       {"Closed",
        "[critical] v2",
        "Priority 1 - Emergency Response",
        {{"Updated by", 1}, {"Resolved in", 2}, {"The issue is open again", 1}}}},
      {"notes-only",
       "ticket:\n"
       "  board: Security Incidents\n"
       "  status: New\n"
       "  summary: \"[{{severity}}] {{title}}\"\n"
       "  priority: Priority 2 - Quick Response\n"
       "  lifecycle: {on_update: note, on_resolve: note}\n",
       {event(id, "open", "high", "v1", 0), event(id, "resolved", "high", "v1", 1),
        event(id, "open", "critical", "v2", 2)},
       {"New",
        "[high] v1",
        "Priority 2 - Quick Response",
        {{"Updated by", 1}, {"Resolved in", 1}, {"The issue is open again", 1}}}},
  };
}

/// Runs the scenario; `arm` injects faults before the first event.
void run(engine_rig& rig, const scenario& s, const std::function<void(fake_psa&)>& arm) {
  arm(rig.psa);
  for (const auto& e : s.events) {
    rig.submit(e);
    ASSERT_TRUE(rig.settle(std::chrono::hours{6})) << "did not settle\n" << rig.log();
  }
}

// One test per fault kind, so the sweep's runs spread over ctest's jobs.
class FailureSweep : public ::testing::TestWithParam<fake_psa::fault> {};

TEST_P(FailureSweep, EveryCallPositionOfEveryScenario) {
  const fake_psa::fault f = GetParam();
  int cases = 0;
  for (const scenario& s : scenarios()) {
    // The fault-free run counts the calls a lifecycle makes.
    std::size_t positions = 0;
    {
      engine_rig rig(s.sections);
      run(rig, s, [](fake_psa&) {});
      positions = rig.psa.calls().size();
      ASSERT_GE(positions, s.events.size());
    }
    {
      for (std::size_t pos = 1; pos <= positions; ++pos) {
        SCOPED_TRACE(s.name + ": " + std::string(fake_psa::name(f)) + " at call " + std::to_string(pos));
        ++cases;
        engine_rig rig(s.sections);
        run(rig, s, [&](fake_psa& p) { p.fail_call(static_cast<int>(pos), f); });
        if (HasFatalFailure()) return;
        const auto& calls = rig.psa.calls();
        ASSERT_GE(calls.size(), pos);
        EXPECT_EQ(calls[pos - 1].injected, f) << "the fault never fired";

        // Nothing lost, nothing left half done, at most one ticket, every note once.
        const auto c = rig.store().get_counts();
        EXPECT_EQ(c.inbox, 0);
        EXPECT_EQ(c.pending, 0);
        const auto tickets = rig.psa.with_xref(xref("sweep"));
        ASSERT_LE(tickets.size(), 1u) << "duplicate ticket";
        for (const auto& [id, t] : rig.psa.tickets()) expect_no_duplicate_notes(t);
        const auto dead = rig.store().dead_letters(10);

        if (f == fake_psa::fault::rejected) {
          // A 400 is permanent: the operation it hit is given up, with the answer.
          ASSERT_LE(dead.size(), 1u);
          if (!dead.empty()) {
            EXPECT_EQ(dead.front().info.http_status, 400);
          }
          continue;
        }
        EXPECT_TRUE(dead.empty()) << (dead.empty() ? "" : dead.front().info.error) << "\n" << rig.log();
        ASSERT_EQ(tickets.size(), 1u) << rig.log();
        const fake_psa::ticket& t = *tickets.front();
        EXPECT_EQ(rig.psa.status_name(t), s.end.status);
        EXPECT_EQ(t.summary, s.end.summary);
        EXPECT_EQ(rig.psa.priority_name(t), s.end.priority);
        for (const auto& [prefix, n] : s.end.notes)
          EXPECT_EQ(notes_starting(t, prefix), n) << prefix << "\n" << rig.log();
        if (f == fake_psa::fault::die_before || f == fake_psa::fault::die_after) {
          EXPECT_EQ(rig.crashes(), 1);
        }
      }
    }
  }
  std::cout << "[sweep] " << fake_psa::name(f) << ": " << cases << " runs\n";
}

INSTANTIATE_TEST_SUITE_P(EveryFaultKind, FailureSweep, ::testing::ValuesIn(fake_psa::all_faults()),
                         [](const ::testing::TestParamInfo<fake_psa::fault>& i) {
                           std::string n(fake_psa::name(i.param));
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return "fault_" + n;
                         });

}  // namespace
}  // namespace ts::test
