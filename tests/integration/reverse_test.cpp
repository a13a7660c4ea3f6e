// ConnectWise -> ticketsync over real sockets: cwsim's technician (a second
// API member) closes, merges and deletes tickets through the ordinary API;
// ticketsyncd hears it by a signed callback on its public listener (within a
// second or two) or, with cwsim dropping every callback, by the polling sweep
// and the existence check; each policy's effect is asserted on cwsim's
// tickets. And the callback receiver's answers to forged, tampered, replayed
// and badly addressed callbacks.
#include "core/issue_key.hpp"
#include "sources/cw_callback.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

namespace ts::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string integration_member = "demo+demo-public-key:demo-private-key";

setup_options reverse_options(const std::string& poll, const std::string& existence) {
  setup_options o;
  o.ticket_extra = "  reopen_status: Reopened\n  lifecycle:\n    on_technician_close: reopen\n";
  o.top_extra = "reverse:\n  poll_interval: " + poll + "\n  existence_interval: " + existence +
                "\npublic:\n  listen: 127.0.0.1:0\n";
  return o;
}

/// The public listener's address, from the daemon.ready line.
std::string public_address(const daemon_setup& d) {
  std::smatch m;
  const std::string log = d.log();
  if (!std::regex_search(log, m, std::regex("public=([0-9.]+:[0-9]+)"))) return {};
  return m[1];
}

/// Registers a board callback on cwsim for the daemon's public listener; its id.
std::int64_t register_callback(const cwsim_process& sim, const std::string& address) {
  const json entry = {{"url", "http://" + address + "/v1/connectwise/callback"},
                      {"objectId", 1},
                      {"type", "ticket"},
                      {"level", "board"},
                      {"description", "ticketsync test"}};
  const auto a = sim.api("POST", "/system/callbacks", entry.dump(), integration_member);
  EXPECT_EQ(a.status, 201) << a.body;
  return json::parse(a.body, nullptr, false).value("id", std::int64_t{0});
}

std::string xref(const std::string& issue) { return correlation_key({"guardz", "acme", issue}); }

json ticket(const cwsim_process& sim, const std::string& x) { return ticket_by_xref(sim.tickets(), x); }

std::string status_of(const json& t) { return t.is_null() ? "" : t["status"]["name"].get<std::string>(); }

class ReverseDirection : public ::testing::Test {
 protected:
  temp_dir dir{"ts-reverse"};
};

TEST_F(ReverseDirection, ACallbackBringsATechniciansCloseWithinSecondsAndThePolicyReopens) {
  cwsim_process sim(dir.path() / "sim");
  daemon_setup d(dir.path() / "d", sim, reverse_options("1h", "1h"));  // callbacks alone
  auto proc = d.start();
  d.wait_until_ready();
  const std::string address = public_address(d);
  ASSERT_FALSE(address.empty()) << d.log();
  ASSERT_GT(register_callback(sim, address), 0);

  d.spool_raw("a.json", make_event("guardz", "acme", "cb-1", "open", "high", "Beaconing", "2026-12-01T10:00:00Z"));
  ASSERT_TRUE(wait_for(
      sim, [](const json& ts) { return !ticket_by_xref(ts, xref("cb-1")).is_null(); }, 20s))
      << d.log();
  const auto id = ticket(sim, xref("cb-1"))["id"].get<std::int64_t>();
  std::this_thread::sleep_for(1s);  // the create's own callback (an echo) comes and goes

  const auto started = std::chrono::steady_clock::now();
  const auto closed = sim.api("PATCH", "/service/tickets/" + std::to_string(id),
                              R"([{"op":"replace","path":"status","value":{"name":"Closed"}}])");
  ASSERT_EQ(closed.status, 200) << closed.body;
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return status_of(ticket_by_xref(ts, xref("cb-1"))) == "Reopened"; }, 10s))
      << d.log() << sim.log();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::cout << "[ measure ] technician close -> reopened through a callback: " << took.count() << " ms\n";
  EXPECT_LT(took, 5s) << "a callback, not the hourly sweep";
  EXPECT_NE(d.log().find("ticket.closed_by_technician"), std::string::npos);
  const json deliveries = sim.get("/__sim/callbacks/deliveries");
  EXPECT_FALSE(deliveries.empty()) << "ConnectWise's callbacks were delivered";
  std::string out;
  ASSERT_EQ(d.run_command({"history", "-c", d.config_path(), "guardz/acme/cb-1"}, &out), 0) << out;
  EXPECT_NE(out.find("  ticket by=\"tech1\" change=\"closed\""), std::string::npos) << out;
  EXPECT_NE(out.find("heard_from=\"callback\""), std::string::npos) << out;
}

TEST_F(ReverseDirection, WithEveryCallbackDroppedTheSweepAndTheExistenceCheckCatchEveryChange) {
  cwsim_process sim(dir.path() / "sim");
  daemon_setup d(dir.path() / "d", sim, reverse_options("2s", "3s"));
  auto proc = d.start();
  d.wait_until_ready();
  ASSERT_GT(register_callback(sim, public_address(d)), 0);
  sim.post("/__sim/faults", json{{"p_callback_drop", 1.0}});

  for (const char* issue : {"sw-close", "sw-child", "sw-parent", "sw-gone"})
    d.spool_raw(std::string(issue) + ".json", make_event("guardz", "acme", issue, "open", "high",
                                                         std::string("Alert ") + issue, "2026-12-01T10:00:00Z"));
  ASSERT_TRUE(wait_for(
      sim, [](const json& ts) { return ts.size() >= 4; }, 20s))
      << d.log();
  const auto id_of = [&](const char* issue) { return ticket(sim, xref(issue))["id"].get<std::int64_t>(); };

  // Closed by the technician: reopened by the policy within one interval or two.
  ASSERT_EQ(sim.api("PATCH", "/service/tickets/" + std::to_string(id_of("sw-close")),
                    R"([{"op":"replace","path":"status","value":{"name":"Closed"}}])")
                .status,
            200);
  // Merged by the technician: the child's issue follows the parent.
  const auto child = id_of("sw-child"), parent = id_of("sw-parent");
  const auto merged = sim.api("POST", "/service/tickets/" + std::to_string(parent) + "/merge",
                              json{{"mergeTicketIds", {child}}}.dump());
  ASSERT_EQ(merged.status, 200) << merged.body;
  // Deleted (by the integration member: the technician's role may not delete).
  const auto gone = id_of("sw-gone");
  ASSERT_EQ(sim.api("DELETE", "/service/tickets/" + std::to_string(gone), {}, integration_member).status, 204);

  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return status_of(ticket_by_xref(ts, xref("sw-close"))) == "Reopened"; }, 15s))
      << d.log();
  ASSERT_TRUE(wait_for(
      sim, [&](const json&) { return d.log().find("ticket.deleted_in_psa") != std::string::npos; }, 15s))
      << d.log();
  ASSERT_TRUE(wait_for(
      sim, [&](const json&) { return d.log().find("ticket.merged_in_psa") != std::string::npos; }, 15s))
      << d.log();
  for (const json& dl : sim.get("/__sim/callbacks/deliveries")) EXPECT_TRUE(dl.value("dropped", false)) << dl.dump();

  // The next events: the merged child's goes to the parent, the deleted one's gets a new ticket.
  d.spool_raw("c2.json", make_event("guardz", "acme", "sw-child", "open", "critical", "Alert sw-child, worse",
                                    "2026-12-01T10:05:00Z"));
  d.spool_raw("g2.json", make_event("guardz", "acme", "sw-gone", "open", "critical", "Alert sw-gone, worse",
                                    "2026-12-01T10:05:00Z"));
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return !ticket_by_xref(ts, xref("sw-gone") + "#2").is_null(); }, 20s))
      << d.log();
  ASSERT_TRUE(wait_for(
      sim,
      [&](const json& ts) {
        for (const json& t : ts)
          if (t["id"] == parent)
            for (const json& n : t.value("notes", json::array()))
              if (n.value("text", "").find("Alert sw-child, worse") != std::string::npos) return true;
        return false;
      },
      20s))
      << d.log();
  for (const json& t : sim.tickets()) {
    if (t["id"] != child) continue;
    for (const json& n : t.value("notes", json::array())) {
      EXPECT_EQ(n.value("text", "").find("worse"), std::string::npos) << "nothing more on the merged child";
    }
  }
}

TEST_F(ReverseDirection, ForgedTamperedReplayedAndBadlyAddressedCallbacksAreRefused) {
  cwsim_process sim(dir.path() / "sim");
  daemon_setup d(dir.path() / "d", sim, reverse_options("1h", "1h"));
  auto proc = d.start();
  d.wait_until_ready();
  const std::string address = public_address(d);
  const std::int64_t cb = register_callback(sim, address);
  ASSERT_GT(cb, 0);
  sim.post("/__sim/faults", json{{"p_callback_drop", 1.0}});  // only the test's own callbacks arrive
  d.spool_raw("a.json", make_event("guardz", "acme", "sig-1", "open", "high", "Beaconing", "2026-12-01T10:00:00Z"));
  ASSERT_TRUE(wait_for(
      sim, [](const json& ts) { return !ticket_by_xref(ts, xref("sig-1")).is_null(); }, 20s));
  const auto id = ticket(sim, xref("sig-1"))["id"].get<std::int64_t>();

  const std::string key_path = "/system/callbackkeys/" + std::to_string(cb);
  const auto key_answer = sim.api("GET", key_path);
  ASSERT_EQ(key_answer.status, 200) << key_answer.body;
  const std::string key = json::parse(key_answer.body)["signing_key"];
  const std::string key_url = sim.url() + "/v2025_1/apis/3.0" + key_path;
  const auto body_for = [&](const std::string& url, const std::string& company, const std::string& updated) {
    const json entity = {{"id", id}, {"_info", {{"lastUpdated", updated}, {"updatedBy", "tech1"}}}};
    return json{{"Action", "updated"},
                {"Type", "ticket"},
                {"ID", id},
                {"CompanyId", company},
                {"MemberId", "tech1"},
                {"FromUrl", sim.url()},
                {"Entity", entity.dump()},
                {"Metadata", {{"key_url", url}}}}
        .dump();
  };
  const auto post = [&](const std::string& body, const std::optional<std::string>& signature) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (signature) headers.emplace_back("x-content-signature", *signature);
    return http_plain(address, "POST", "/v1/connectwise/callback", body, headers);
  };

  const std::string valid = body_for(key_url, "demo", "2026-12-01T10:01:00Z");
  const auto ok = post(valid, intake::callback_signature(key, valid));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("accepted"), std::string::npos) << ok.body;
  const auto replay = post(valid, intake::callback_signature(key, valid));
  EXPECT_EQ(replay.status, 200);
  EXPECT_NE(replay.body.find("duplicate"), std::string::npos) << replay.body;

  std::string tampered = valid;
  tampered.replace(tampered.find("tech1"), 5, "tech2");
  EXPECT_EQ(post(tampered, intake::callback_signature(key, valid)).status, 401);
  EXPECT_EQ(post(valid, intake::callback_signature("not the key", valid)).status, 401);
  EXPECT_EQ(post(valid, std::nullopt).status, 401);
  const std::string elsewhere = body_for("https://keys.example.com" + key_path, "demo", "2026-12-01T10:02:00Z");
  const auto other_host = post(elsewhere, intake::callback_signature(key, elsewhere));
  EXPECT_EQ(other_host.status, 403) << other_host.body;
  const std::string company = body_for(key_url, "another", "2026-12-01T10:03:00Z");
  EXPECT_EQ(post(company, intake::callback_signature(key, company)).status, 403);
  EXPECT_EQ(post("{\"Action\":\"exploded\"}", std::string("x")).status, 400);
  // A key URL on the allowed host that answers something else than a key: retried by ConnectWise.
  const std::string not_a_key = body_for(sim.url() + "/login/companyinfo/demo", "demo", "2026-12-01T10:04:00Z");
  const auto nk = post(not_a_key, intake::callback_signature(key, not_a_key));
  EXPECT_EQ(nk.status, 429) << nk.body;
  // A slow key host: the fetch gives up within its bound, and ConnectWise is asked to retry.
  sim.post("/__sim/faults", json{{"latency_ms", 8000}, {"p_callback_drop", 1.0}});
  const std::string slow = body_for(key_url + "?fresh=1", "demo", "2026-12-01T10:05:00Z");
  const auto t0 = std::chrono::steady_clock::now();
  const auto s = post(slow, intake::callback_signature(key, slow));
  EXPECT_EQ(s.status, 429) << s.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 7s);
  sim.post("/__sim/faults", json{{"latency_ms", 0}});
  // Nothing stored but the one valid callback; the log names each refusal.
  const std::string log = d.log();
  for (const char* outcome : {"bad_signature", "unsigned", "key_url", "wrong_company", "malformed", "key_unavailable"})
    EXPECT_NE(log.find(std::string("outcome=") + outcome), std::string::npos) << outcome;
  EXPECT_EQ(log.find(key), std::string::npos) << "the signing key is never logged";
}

}  // namespace
}  // namespace ts::test

namespace ts::test {
namespace {

/// ConnectWise ticket calls so far (creates, reads, searches, patches, notes), as cwsim counted them.
long ticket_calls(const cwsim_process& sim) {
  long n = 0;
  const json stats = sim.stats();
  for (const auto& [route, count] : stats["requests"].items())
    if (route.find(" /service/tickets") != std::string::npos) n += count.get<long>();
  return n;
}

/// Runs open -> update -> update -> resolve (waiting for each to reach the
/// ticket, and a moment for its callback), then a burst of 10 updates of a
/// second issue; returns the ticket calls of each.
std::pair<long, long> lifecycle_calls(const fs::path& dir, bool callbacks) {
  cwsim_process sim(dir / "sim");
  daemon_setup d(dir / "d", sim, reverse_options("1h", "1h"));
  auto proc = d.start();
  d.wait_until_ready();
  if (callbacks) {
    EXPECT_GT(register_callback(sim, public_address(d)), 0);
  }
  std::this_thread::sleep_for(2s);  // the sweep at start
  const auto settle = [&](const std::function<bool(const json&)>& done) {
    EXPECT_TRUE(wait_for(
        sim, [&](const json& ts) { return done(ticket_by_xref(ts, xref("life"))); }, 20s))
        << d.log();
    std::this_thread::sleep_for(1500ms);  // its callback comes back
  };
  const long before = ticket_calls(sim);
  d.spool_raw("1.json", make_event("guardz", "acme", "life", "open", "high", "Beaconing", "2026-12-01T10:00:00Z"));
  settle([](const json& t) { return !t.is_null(); });
  d.spool_raw("2.json",
              make_event("guardz", "acme", "life", "open", "critical", "Beaconing, 2", "2026-12-01T10:01:00Z"));
  settle([](const json& t) { return t["summary"] == "[critical] Beaconing, 2"; });
  d.spool_raw("3.json",
              make_event("guardz", "acme", "life", "open", "critical", "Beaconing, 3", "2026-12-01T10:02:00Z"));
  settle([](const json& t) { return t["summary"] == "[critical] Beaconing, 3"; });
  d.spool_raw("4.json",
              make_event("guardz", "acme", "life", "resolved", "critical", "Beaconing, 3", "2026-12-01T10:03:00Z"));
  settle([](const json& t) { return t.value("closedFlag", false); });
  const long lifecycle = ticket_calls(sim) - before;

  d.spool_raw("b0.json", make_event("guardz", "acme", "burst", "open", "high", "Scan", "2026-12-01T11:00:00Z"));
  EXPECT_TRUE(wait_for(
      sim, [](const json& ts) { return !ticket_by_xref(ts, xref("burst")).is_null(); }, 20s));
  std::this_thread::sleep_for(1500ms);
  const long burst_before = ticket_calls(sim);
  for (int i = 1; i <= 10; ++i)
    d.spool_raw("b" + std::to_string(i) + ".json",
                make_event("guardz", "acme", "burst", "open", "high", "Scan, wave " + std::to_string(i),
                           "2026-12-01T11:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ":00Z"));
  EXPECT_TRUE(wait_for(
      sim, [](const json& ts) { return ticket_by_xref(ts, xref("burst"))["summary"] == "[high] Scan, wave 10"; }, 20s));
  std::this_thread::sleep_for(1500ms);
  return {lifecycle, ticket_calls(sim) - burst_before};
}

TEST(ReverseCalls, AFreshViewSavesTheReadBeforeEachUpdate) {
  temp_dir dir("ts-calls");
  const auto [with, with_burst] = lifecycle_calls(dir.path() / "callbacks", true);
  const auto [without, without_burst] = lifecycle_calls(dir.path() / "sweep", false);
  std::cout << "[ measure ] ticket calls, open -> update -> update -> resolve: " << with << " with callbacks, "
            << without << " with the sweep alone (minimum 7)\n"
            << "[ measure ] ticket calls, a burst of 10 updates: " << with_burst << " with callbacks, " << without_burst
            << " with the sweep alone (minimum 2)\n";
  // The minimum: the create; a note and a patch for each update; the
  // resolution note and the close.
  // 8 today, not 7: the echoes of a note and a patch made in the same second
  // share a delivery key (ID, action, lastUpdated: whole seconds), so the
  // patch's echo is dropped as a repeat and the second update reads first.
  EXPECT_LE(with, 8);
  EXPECT_GE(with, 7);
  EXPECT_EQ(without, 9) << "without callbacks each update reads the ticket first";
  EXPECT_LT(with, without);
  EXPECT_LE(with_burst, without_burst);
}

}  // namespace
}  // namespace ts::test
