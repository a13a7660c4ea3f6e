// The ConnectWise -> ticketsync direction in-process: a technician (the
// fake's second member) closes, reopens, merges, deletes and re-prioritises
// tickets; the polling sweep and the existence check hear it on virtual time,
// and each policy's effect is asserted on the fake's tickets.
#include "inprocess/scenario.hpp"

#include <gtest/gtest.h>

namespace ts::test {
namespace {

using namespace std::chrono_literals;

/// The rig's default ticket with `lifecycle` (YAML lines, indented by 4) and a
/// sweep every minute, existence checks every 10 minutes.
std::string sections(const std::string& lifecycle = {}) {
  return engine_rig::ticket_section(lifecycle) +
         "reverse:\n"
         "  poll_interval: 1m\n"
         "  existence_interval: 10m\n";
}

/// Runs until `n` more sweeps have completed.
bool sweeps(engine_rig& rig, int n = 1) {
  const auto target = rig.engine().stats().sweeps + static_cast<std::uint64_t>(n);
  return rig.run_until([&] { return rig.engine().stats().sweeps >= target; }, 30min);
}

std::vector<std::string> ticket_history(engine_rig& rig, const std::string& issue_id) {
  std::vector<std::string> out;
  const auto issue = rig.store().find_issue({"wazuh", "acme-prod", issue_id});
  if (!issue) return out;
  for (const auto& h : rig.store().history(issue->id))
    if (h.kind == "ticket") out.push_back(nlohmann::json::parse(h.detail).value("change", ""));
  return out;
}

std::int64_t ticket_of(engine_rig& rig, const std::string& issue_id) {
  const auto issue = rig.store().find_issue({"wazuh", "acme-prod", issue_id});
  return issue && issue->ticket_id ? *issue->ticket_id : 0;
}

TEST(Reverse, ATechniciansCloseIsHeardByTheSweepAndRespected) {
  engine_rig rig(sections());
  rig.submit(event("r-1", "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const std::int64_t id = ticket_of(rig, "r-1");
  ASSERT_NE(id, 0);
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  EXPECT_TRUE(ticket_history(rig, "r-1").empty()) << "ticketsync's own create is an echo";

  rig.psa.set_status(id, "Closed");
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  EXPECT_EQ(ticket_history(rig, "r-1"), std::vector<std::string>{"closed"});
  const auto issue = rig.store().find_issue({"wazuh", "acme-prod", "r-1"});
  ASSERT_TRUE(issue);
  EXPECT_TRUE(issue->tech_closed) << "known before the issue's next event";
  EXPECT_EQ(issue->ticket, ticket_state::closed);
  EXPECT_NE(rig.log().find("ticket.closed_by_technician"), std::string::npos);

  // The issue changes: respected, nothing is sent, not even a read.
  const std::size_t before = rig.psa.calls().size();
  const std::size_t sweeps_before = rig.psa.count("sweep");
  rig.submit(event("r-1", "open", "critical", "Beaconing, 3 hosts", 5));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.psa.calls().size() - before, rig.psa.count("sweep") - sweeps_before) << "only sweeps";
  EXPECT_EQ(rig.psa.tickets().at(id).summary, "[high] Beaconing");
  // Heard again by later sweeps: nothing new.
  ASSERT_TRUE(sweeps(rig, 2));
  EXPECT_EQ(ticket_history(rig, "r-1"), std::vector<std::string>{"closed"});
}

TEST(Reverse, UnderReopenATechniciansCloseIsUndoneWithoutWaitingForAnEvent) {
  engine_rig rig(sections("    on_technician_close: reopen\n"));
  rig.submit(event("r-2", "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const std::int64_t id = ticket_of(rig, "r-2");
  rig.psa.set_status(id, "Closed");
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.psa.status_name(rig.psa.tickets().at(id)), "Reopened");
  EXPECT_EQ(rig.psa.tickets().size(), 1u);
  // Its own reopen, heard by the next sweeps, is an echo.
  ASSERT_TRUE(sweeps(rig, 2));
  EXPECT_EQ(ticket_history(rig, "r-2"), std::vector<std::string>{"closed"});
  EXPECT_EQ(rig.store().get_counts().pending, 0);
}

TEST(Reverse, UnderNewTicketATechniciansCloseGetsTheNextGenerationAtOnce) {
  engine_rig rig(sections("    on_technician_close: new_ticket\n"));
  rig.submit(event("r-3", "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const std::int64_t id = ticket_of(rig, "r-3");
  rig.psa.set_status(id, "Closed");
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  ASSERT_TRUE(rig.settle()) << rig.log();
  ASSERT_TRUE(only_ticket(rig.psa, xref("r-3") + "#2"));
  EXPECT_NE(ticket_of(rig, "r-3"), id);
  EXPECT_TRUE(rig.psa.is_closed(rig.psa.tickets().at(id))) << "the closed ticket is left alone";
}

TEST(Reverse, ATechnicianReopensAndALaterResolveClosesAgain) {
  engine_rig rig(sections());
  rig.submit(event("r-4", "open", "high", "Beaconing", 0));
  rig.submit(event("r-4", "resolved", "high", "Beaconing", 1));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const std::int64_t id = ticket_of(rig, "r-4");
  ASSERT_TRUE(rig.psa.is_closed(rig.psa.tickets().at(id)));
  rig.psa.set_status(id, "In Progress");
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  EXPECT_EQ(ticket_history(rig, "r-4"), std::vector<std::string>{"reopened"});
  // The issue comes back and resolves again: the ticket is closed again.
  rig.submit(event("r-4", "open", "high", "Beaconing again", 2));
  rig.submit(event("r-4", "resolved", "high", "Beaconing again", 3));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.psa.status_name(rig.psa.tickets().at(id)), "Closed");
  EXPECT_EQ(rig.psa.tickets().size(), 1u);
}

TEST(Reverse, AMergedTicketsIssueWritesToTheParentFromThenOn) {
  engine_rig rig(sections());
  rig.submit(event("r-5a", "open", "high", "Phishing wave, user A", 0));
  rig.submit(event("r-5b", "open", "high", "Phishing wave, user B", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const std::int64_t child = ticket_of(rig, "r-5a"), parent = ticket_of(rig, "r-5b");
  rig.psa.merge(child, parent);
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  EXPECT_EQ(ticket_history(rig, "r-5a"), std::vector<std::string>{"merged"});
  EXPECT_EQ(ticket_of(rig, "r-5a"), parent);

  const auto child_notes = rig.psa.tickets().at(child).notes.size();
  rig.submit(event("r-5a", "open", "critical", "Phishing wave, user A clicked", 5));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.psa.tickets().at(child).notes.size(), child_notes) << "nothing more on the merged child";
  EXPECT_EQ(notes_starting(rig.psa.tickets().at(parent), "Updated by wazuh"), 1) << rig.log();
  EXPECT_EQ(rig.psa.tickets().size(), 2u) << "no new ticket";
  // Resolving closes the parent, which both issues now share.
  rig.submit(event("r-5a", "resolved", "critical", "Phishing wave, user A clicked", 6));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_TRUE(rig.psa.is_closed(rig.psa.tickets().at(parent)));
}

TEST(Reverse, ADeletedTicketIsFoundByTheExistenceCheckAndRecreatedWithTheNextEvent) {
  engine_rig rig(sections());
  rig.submit(event("r-6", "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const std::int64_t id = ticket_of(rig, "r-6");
  rig.psa.remove(id);
  ASSERT_TRUE(rig.run_until([&] { return !ticket_history(rig, "r-6").empty(); }, 30min)) << rig.log();
  EXPECT_EQ(ticket_history(rig, "r-6"), std::vector<std::string>{"deleted"});
  EXPECT_EQ(ticket_of(rig, "r-6"), 0);
  EXPECT_TRUE(rig.psa.tickets().empty()) << "recreate waits for the issue's next event";
  rig.submit(event("r-6", "open", "high", "Beaconing, still", 5));
  ASSERT_TRUE(rig.settle()) << rig.log();
  const fake_psa::ticket* again = only_ticket(rig.psa, xref("r-6") + "#2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->summary, "[high] Beaconing, still");
}

TEST(Reverse, UnderForgetADeletedTicketStaysGoneUntilTheIssueComesBack) {
  engine_rig rig(sections("    on_ticket_deleted: forget\n"));
  rig.submit(event("r-7", "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  rig.psa.remove(ticket_of(rig, "r-7"));
  ASSERT_TRUE(rig.run_until([&] { return !ticket_history(rig, "r-7").empty(); }, 30min)) << rig.log();
  rig.submit(event("r-7", "open", "critical", "Beaconing, worse", 5));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_TRUE(rig.psa.tickets().empty());
  rig.submit(event("r-7", "resolved", "critical", "Beaconing, worse", 6));
  rig.submit(event("r-7", "open", "high", "Beaconing is back", 7));
  ASSERT_TRUE(rig.settle()) << rig.log();
  EXPECT_EQ(rig.psa.tickets().size(), 1u) << "the issue came back: a ticket again";
}

TEST(Reverse, APersonsPriorityStaysUnlessTicketsyncOwnsIt) {
  for (const bool person : {true, false}) {
    SCOPED_TRACE(person ? "priority_owner: person" : "priority_owner: ticketsync");
    engine_rig rig(sections(person ? "" : "    priority_owner: ticketsync\n"));
    rig.submit(event("r-8", "open", "medium", "Scan", 0));
    ASSERT_TRUE(rig.settle()) << rig.log();
    const std::int64_t id = ticket_of(rig, "r-8");
    rig.psa.set_priority(id, "Priority 1 - Emergency Response");
    ASSERT_TRUE(sweeps(rig)) << rig.log();
    EXPECT_EQ(ticket_history(rig, "r-8"), std::vector<std::string>{"priority"});
    rig.submit(event("r-8", "open", "low", "Scan, narrower", 5));
    ASSERT_TRUE(rig.settle()) << rig.log();
    const auto& t = rig.psa.tickets().at(id);
    EXPECT_EQ(t.summary, "[low] Scan, narrower") << "ticketsync keeps the summary";
    EXPECT_EQ(rig.psa.priority_name(t),
              person ? "Priority 1 - Emergency Response" : "Priority 4 - Schedule Maintenance");
  }
}

TEST(Reverse, ASweepWithNothingChangedIsOneRequestAndItsOwnWritesAreEchoes) {
  engine_rig rig(sections());
  rig.submit(event("r-9", "open", "high", "Beaconing", 0));
  rig.submit(event("r-9", "open", "critical", "Beaconing, 2 hosts", 1));
  rig.submit(event("r-9", "resolved", "critical", "Beaconing, 2 hosts", 2));
  ASSERT_TRUE(rig.settle()) << rig.log();
  ASSERT_TRUE(sweeps(rig, 3)) << rig.log();
  const std::size_t calls = rig.psa.calls().size();
  ASSERT_TRUE(sweeps(rig, 5)) << rig.log();
  EXPECT_EQ(rig.psa.calls().size() - calls, 5u) << "one request per sweep";
  EXPECT_TRUE(ticket_history(rig, "r-9").empty()) << "every change the sweeps heard was ticketsync's own";
  EXPECT_EQ(rig.store().get_counts().pending, 0);
}

TEST(Reverse, AFailedSweepKeepsItsMarkAndTheNextOneHearsTheChange) {
  engine_rig rig(sections());
  rig.submit(event("r-10", "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  ASSERT_TRUE(sweeps(rig));
  const auto mark = rig.store().reverse_mark("sweep.mark");
  ASSERT_TRUE(mark);
  rig.psa.set_status(ticket_of(rig, "r-10"), "Closed");
  rig.psa.fail_matching("sweep", fake_psa::fault::server_error, 1);
  ASSERT_TRUE(rig.run_until([&] { return rig.engine().stats().sweep_failures >= 1; }, 30min)) << rig.log();
  EXPECT_EQ(rig.store().reverse_mark("sweep.mark"), mark);
  EXPECT_TRUE(ticket_history(rig, "r-10").empty());
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  EXPECT_EQ(ticket_history(rig, "r-10"), std::vector<std::string>{"closed"});
}

TEST(Reverse, TheDaemonDyingMidSweepLosesNothingAndActsOnce) {
  engine_rig rig(sections("    on_technician_close: new_ticket\n"));
  for (int i = 0; i < 5; ++i) rig.submit(event("r-11-" + std::to_string(i), "open", "high", "Beaconing", 0));
  ASSERT_TRUE(rig.settle()) << rig.log();
  ASSERT_TRUE(sweeps(rig));
  for (int i = 0; i < 5; ++i) rig.psa.set_status(ticket_of(rig, "r-11-" + std::to_string(i)), "Closed");
  // Dies just after the sweep's page was answered, before its decisions commit.
  rig.psa.fail_matching("sweep", fake_psa::fault::die_after, 1);
  ASSERT_TRUE(rig.run_until([&] { return rig.crashes() >= 1; }, 30min)) << rig.log();
  ASSERT_TRUE(sweeps(rig)) << rig.log();
  ASSERT_TRUE(rig.settle()) << rig.log();
  for (int i = 0; i < 5; ++i) {
    const std::string id = "r-11-" + std::to_string(i);
    EXPECT_EQ(ticket_history(rig, id), std::vector<std::string>{"closed"}) << id;
    EXPECT_TRUE(only_ticket(rig.psa, xref(id) + "#2")) << id << ": exactly one new ticket";
  }
}

}  // namespace
}  // namespace ts::test
