// End to end over real sockets: events go into the spool, ticketsyncd (a
// separate process) turns them into tickets in cwsim (a separate process
// speaking ConnectWise over TLS). Invariants checked against what the
// simulator holds: every accepted event is exactly one ticket, with the
// expected company, board, priority and externalXRef — also across SIGKILLs.
#include "support/harness.hpp"

#include "core/issue_key.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace ts::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::vector<std::pair<std::string, std::string>> tenants = {
    {"acme-prod", "AcmeCorp"}, {"globex", "Globex"}, {"initech", "Initech"}, {"unmapped-tenant", "MSPInternal"}};

struct expected_ticket {
  std::string company;
  std::string summary;
};

/// Writes `n` event files into `dir` and returns their paths, filling `expect`
/// by correlation key.
std::vector<std::string> write_events(const fs::path& dir, int n, std::map<std::string, expected_ticket>& expect,
                                      const std::string& prefix = "evt") {
  fs::create_directories(dir);
  std::vector<std::string> files;
  for (int i = 0; i < n; ++i) {
    const auto& [tenant, company] = tenants[i % tenants.size()];
    const std::string id = prefix + "-" + std::to_string(i);
    const std::string title = "Suspicious login " + id;
    const fs::path f = dir / (id + ".json");
    std::ofstream(f) << make_event("wazuh", tenant, id, "open", "high", title);
    files.push_back(f.string());
    expect[correlation_key({"wazuh", tenant, id})] = {company, "[high] " + title};
  }
  return files;
}

/// Asserts the simulator holds exactly the expected tickets, one each.
void expect_exactly(const json& tickets, const std::map<std::string, expected_ticket>& expect) {
  std::map<std::string, int> seen;
  for (const auto& t : tickets) {
    const std::string xref = t.value("externalXRef", "");
    ++seen[xref];
    auto it = expect.find(xref);
    ASSERT_NE(it, expect.end()) << "unexpected ticket " << t.dump();
    EXPECT_EQ(t["company"]["identifier"], it->second.company) << xref;
    EXPECT_EQ(t["summary"], it->second.summary) << xref;
    EXPECT_EQ(t["board"]["name"], "Security Incidents") << xref;
    EXPECT_EQ(t["priority"]["name"], "Priority 2 - Quick Response") << xref;
    EXPECT_EQ(t["status"]["name"], "New") << xref;
  }
  for (const auto& [xref, n] : seen) EXPECT_EQ(n, 1) << "duplicate tickets for " << xref;
  for (const auto& [xref, e] : expect) EXPECT_TRUE(seen.contains(xref)) << "no ticket for " << xref;
  EXPECT_EQ(tickets.size(), expect.size());
}

bool wait_for_tickets(const cwsim_process& sim, std::size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (sim.get("/__sim/tickets").size() >= n) return true;
    std::this_thread::sleep_for(250ms);
  }
  return sim.get("/__sim/tickets").size() >= n;
}

void wait_ready(const daemon_setup& d) {
  ASSERT_TRUE(wait_until([&] { return d.log().find("daemon.ready") != std::string::npos; }, 30s)) << d.log();
}

int stop(child_process& p) {
  p.signal(SIGTERM);
  return p.wait(30s).value_or(-1);
}

TEST(EndToEnd, ThousandEventsSubmittedWhileRunningBecomeExactlyThousandTickets) {
  temp_dir tmp("ts-e2e");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim);
  auto daemon = d.start();
  wait_ready(d);

  std::map<std::string, expected_ticket> expect;
  const auto files = write_events(tmp.path() / "events", 1000, expect);
  std::string out;
  ASSERT_EQ(d.submit(files, &out), 0) << out;

  ASSERT_TRUE(wait_for_tickets(sim, 1000, 180s)) << d.log();
  std::this_thread::sleep_for(500ms);  // anything extra would show up now
  expect_exactly(sim.tickets(), expect);
  EXPECT_EQ(stop(*daemon), 0) << d.log();
  EXPECT_TRUE(fs::is_empty(d.spool() / "new"));
  EXPECT_TRUE(fs::is_empty(d.spool() / "rejected"));
  // The minimum: one POST per issue, no lookups when nothing failed.
  const json stats = sim.stats();
  EXPECT_EQ(stats["requests"].value("POST /service/tickets", 0), 1000) << stats.dump();
}

TEST(EndToEnd, EventsSubmittedWhileStoppedAreProcessedAfterStart) {
  temp_dir tmp("ts-e2e");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim);

  std::map<std::string, expected_ticket> expect;
  const auto files = write_events(tmp.path() / "events", 40, expect, "offline");
  std::string out;
  ASSERT_EQ(d.submit(files, &out), 0) << out;
  std::size_t spooled = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.spool() / "new")) ++spooled;
  EXPECT_EQ(spooled, 40u);
  EXPECT_TRUE(sim.tickets().empty());

  auto daemon = d.start();
  ASSERT_TRUE(wait_for_tickets(sim, 40, 60s)) << d.log();
  std::this_thread::sleep_for(300ms);
  expect_exactly(sim.tickets(), expect);
  EXPECT_EQ(stop(*daemon), 0);
  // Every request named the simulator's non-default port in Host (RFC 9110 §7.2).
  const json stats = sim.stats();
  std::int64_t requests = 0;
  for (const auto& n : stats["requests"]) requests += n.get<std::int64_t>();
  EXPECT_EQ(stats["hosts"], (json{{"localhost:" + std::to_string(sim.port()), requests}})) << stats.dump();
}

TEST(EndToEnd, SubmitRefusesAnInvalidEventAndSpoolsTheValidOnes) {
  temp_dir tmp("ts-e2e");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim);
  const std::string bad = repo_path("examples/events/invalid/bad-severity.json");
  std::map<std::string, expected_ticket> expect;
  const auto good = write_events(tmp.path() / "events", 1, expect);
  std::string out;
  EXPECT_EQ(d.submit({bad, good[0]}, &out), 1);
  EXPECT_NE(out.find("severity"), std::string::npos) << out;
  std::size_t spooled = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.spool() / "new")) ++spooled;
  EXPECT_EQ(spooled, 1u);
}

TEST(Intake, MalformedTruncatedAndOversizedFilesAreRejectedWithReasonsAndOthersFlow) {
  temp_dir tmp("ts-e2e");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim);

  d.spool_raw("a-valid.json", make_event("defender", "globex", "ok-1"));
  d.spool_raw("b-bad-severity.json", read_file(repo_path("examples/events/invalid/bad-severity.json")));
  d.spool_raw("c-truncated.json", read_file(repo_path("examples/events/invalid/truncated.json")));
  json big = json::parse(make_event("defender", "globex", "big"));
  big["description"] = std::string(std::size_t{300} * 1024, 'x');
  d.spool_raw("d-oversized.json", big.dump());
  d.spool_raw("e-valid.json", make_event("defender", "initech", "ok-2"));

  auto daemon = d.start();
  ASSERT_TRUE(wait_for_tickets(sim, 2, 60s)) << d.log();
  const fs::path rejected = d.spool() / "rejected";
  ASSERT_TRUE(wait_until([&] { return fs::exists(rejected / "d-oversized.json.reason"); }, 10s)) << d.log();
  EXPECT_EQ(stop(*daemon), 0);

  auto reason = [&](const std::string& name) { return read_file((rejected / (name + ".reason")).string()); };
  EXPECT_NE(reason("b-bad-severity.json").find("severity"), std::string::npos) << reason("b-bad-severity.json");
  EXPECT_NE(reason("c-truncated.json").find("JSON"), std::string::npos) << reason("c-truncated.json");
  EXPECT_NE(reason("d-oversized.json").find("larger than"), std::string::npos) << reason("d-oversized.json");
  EXPECT_TRUE(fs::exists(rejected / "b-bad-severity.json"));
  EXPECT_TRUE(fs::exists(rejected / "c-truncated.json"));
  EXPECT_TRUE(fs::exists(rejected / "d-oversized.json"));
  EXPECT_TRUE(fs::is_empty(d.spool() / "new"));

  std::set<std::string> xrefs;
  for (const auto& t : sim.tickets()) xrefs.insert(t["externalXRef"]);
  EXPECT_EQ(xrefs, (std::set<std::string>{correlation_key({"defender", "globex", "ok-1"}),
                                          correlation_key({"defender", "initech", "ok-2"})}));
}

TEST(Crash, SigkillDuringARunLeavesEveryAcceptedEventAsExactlyOneTicket) {
  temp_dir tmp("ts-crash");
  // Latency widens the window in which a kill lands mid-request; commit-drop
  // and resets make creates whose answer never arrives.
  cwsim_process sim(tmp.path() / "sim",
                    {"--latency-ms", "3", "--p-commit-drop", "0.03", "--p-reset", "0.02", "--fault-seed", "7"});
  daemon_setup d(tmp.path() / "daemon", sim);

  std::map<std::string, expected_ticket> expect;
  const auto files = write_events(tmp.path() / "events", 1000, expect, "crash");
  std::string out;
  ASSERT_EQ(d.submit(files, &out), 0) << out;

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> pause_ms(150, 900);
  int kills = 0;
  for (int round = 0; round < 6; ++round) {
    auto daemon = d.start();
    std::this_thread::sleep_for(std::chrono::milliseconds{pause_ms(rng)});
    if (!daemon->running()) break;
    daemon->signal(SIGKILL);
    EXPECT_EQ(daemon->wait(10s).value_or(-1), 128 + SIGKILL);
    ++kills;
  }
  EXPECT_GE(kills, 3);
  auto daemon = d.start();
  ASSERT_TRUE(wait_for_tickets(sim, 1000, 240s)) << d.log();
  std::this_thread::sleep_for(1s);
  expect_exactly(sim.tickets(), expect);
  EXPECT_EQ(stop(*daemon), 0);
  const json stats = sim.stats();
  std::cout << "[crash] kills=" << kills << " sim stats: " << stats.dump() << "\n";
}

TEST(Shutdown, SigtermWhileRequestsHangExitsWithinTheDrainBoundAndLosesNothing) {
  temp_dir tmp("ts-stop");
  cwsim_process sim(tmp.path() / "sim");
  setup_options slow;
  slow.timeouts = "{connect: 2s, handshake: 2s, request: 120s}";
  daemon_setup d(tmp.path() / "daemon", sim, slow);
  auto daemon = d.start();
  wait_ready(d);
  std::map<std::string, expected_ticket> expect;
  // Connected; now every API request hangs (well past the drain bound).
  ASSERT_TRUE(wait_until([&] { return d.log().find("psa.connected") != std::string::npos; }, 30s)) << d.log();
  sim.post("/__sim/faults", {{"p_hang", 1.0}});
  const auto files = write_events(tmp.path() / "events", 3, expect, "stop");
  std::string out;
  ASSERT_EQ(d.submit(files, &out), 0) << out;
  ASSERT_TRUE(wait_until([&] { return fs::is_empty(d.spool() / "new"); }, 30s));  // committed to the inbox
  std::this_thread::sleep_for(1s);  // the creates are now waiting on hung requests
  const auto t0 = std::chrono::steady_clock::now();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(25s).value_or(-1), 0) << d.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);  // drain bound 10 s, TimeoutStopSec 30 s

  // The hung requests were never processed; after a restart all three arrive once.
  sim.post("/__sim/faults", {{"p_hang", 0.0}});
  daemon = d.start();
  ASSERT_TRUE(wait_for_tickets(sim, 3, 60s)) << d.log();
  std::this_thread::sleep_for(300ms);
  expect_exactly(sim.tickets(), expect);
  EXPECT_EQ(stop(*daemon), 0);
}

TEST(Psa, RefusedCredentialsBlockSendingAndNothingIsLostOnceFixed) {
  temp_dir tmp("ts-auth");
  cwsim_process sim(tmp.path() / "sim");
  setup_options wrong_key;
  wrong_key.private_key = "not-the-private-key";
  daemon_setup wrong(tmp.path() / "daemon", sim, wrong_key);
  std::map<std::string, expected_ticket> expect;
  const auto files = write_events(tmp.path() / "events", 5, expect, "auth");
  std::string out;
  ASSERT_EQ(wrong.submit(files, &out), 0) << out;

  auto daemon = wrong.start();
  ASSERT_TRUE(wait_until([&] { return wrong.log().find("psa.blocked") != std::string::npos; }, 30s)) << wrong.log();
  EXPECT_TRUE(sim.tickets().empty());
  EXPECT_EQ(stop(*daemon), 0);
  EXPECT_EQ(wrong.log().find("not-the-private-key"), std::string::npos) << "the key leaked into the log";

  daemon_setup fixed(tmp.path() / "daemon", sim);  // same state, right key
  daemon = fixed.start();
  ASSERT_TRUE(wait_for_tickets(sim, 5, 60s)) << fixed.log();
  std::this_thread::sleep_for(300ms);
  expect_exactly(sim.tickets(), expect);
  EXPECT_EQ(stop(*daemon), 0);
}

}  // namespace
}  // namespace ts::test
