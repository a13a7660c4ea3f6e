// Operator commands and mapping over real processes: `doctor` against cwsim
// (healthy, and with one permission area denied), `explain --json` compared
// with what the daemon then sends, SIGHUP reload (a broken file keeps the old
// mapping; a fixed one releases held issues), storm protection (the cap turns
// further issues into notes on one digest ticket), and `history`.
#include "support/harness.hpp"

#include "core/issue_key.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace ts::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

int seq = 0;
void spool(const daemon_setup& d, const std::string& content) {
  d.spool_raw("map-" + std::to_string(++seq) + ".json", content);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

const std::string cross = "\u2717";

std::vector<std::string> cross_lines(const std::string& out) {
  std::vector<std::string> r;
  for (const auto& l : lines_of(out))
    if (starts_with(l, cross)) r.push_back(l);
  return r;
}

setup_options doctor_options() {
  setup_options o;
  o.ticket_extra = "  closed_status: Closed\n";  // lets doctor probe Close Service Tickets
  return o;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

//------------------------------------------------------------------------------

TEST(Doctor, AllChecksPassAgainstAHealthySim) {
  temp_dir tmp("ts-doctor-ok");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim, doctor_options());
  std::string out;
  EXPECT_EQ(d.run_command({"doctor", "-c", d.config_path()}, &out), 0) << out;
  EXPECT_NE(out.find("all checks passed"), std::string::npos) << out;
  EXPECT_EQ(out.find(cross), std::string::npos) << out;
  // Every permission was actually probed (a skipped one prints "- ").
  for (const char* p : {"Companies > Company Maintenance: Inquire", "Service Desk > Service Tickets: Inquire",
                        "Service Desk > Service Tickets: Add", "Service Desk > Service Tickets: Edit",
                        "Service Desk > Close Service Tickets", "System > Table Setup: Inquire"})
    EXPECT_NE(out.find("\u2713 permission " + std::string(p) + "\n"), std::string::npos) << p << "\n" << out;
  EXPECT_NE(out.find("\u2713 company 'AcmeCorp' exists"), std::string::npos) << out;
}

TEST(Doctor, DeniedPermissionShowsExactlyThatCross) {
  temp_dir tmp("ts-doctor-deny");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim, doctor_options());
  struct area_case {
    std::string area;
    std::string permission;
    bool only_cross;
  };
  const std::vector<area_case> cases{
      {"tickets.close", "Service Desk > Close Service Tickets", true},
      {"companies", "Companies > Company Maintenance: Inquire", true},
      {"tickets.add", "Service Desk > Service Tickets: Add", true},
      {"tickets.edit", "Service Desk > Service Tickets: Edit", false},
      {"table_setup", "System > Table Setup: Inquire", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("deny " + c.area);
    sim.post("/__sim/faults", {{"deny", json::array({c.area})}});
    std::string out;
    EXPECT_EQ(d.run_command({"doctor", "-c", d.config_path()}, &out), 1) << out;
    const auto lines = lines_of(out);
    const std::string want = cross + " permission " + c.permission;
    std::size_t at = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (lines[i] == want) at = i;
    ASSERT_LT(at, lines.size()) << "no line '" << want << "' in:\n" << out;
    // The detail line (if any) then the fix.
    bool fix = false;
    for (std::size_t i = at + 1; i < lines.size() && i <= at + 2; ++i)
      if (starts_with(lines[i], "    fix: ")) fix = true;
    EXPECT_TRUE(fix) << out;
    if (c.only_cross) {
      EXPECT_EQ(cross_lines(out), std::vector<std::string>{want}) << out;
      EXPECT_NE(out.find("1 check(s) failed"), std::string::npos) << out;
    }
    if (c.area == "companies") {
      // The companies cannot be looked up: shown as not checked, not as missing.
      for (const char* company : {"MSPInternal", "AcmeCorp", "Globex", "Initech"})
        EXPECT_NE(out.find("- company '" + std::string(company) + "' exists"), std::string::npos) << out;
    }
  }
  sim.post("/__sim/faults", {{"deny", json::array()}});
  std::string out;
  EXPECT_EQ(d.run_command({"doctor", "-c", d.config_path()}, &out), 0) << out;
}

//------------------------------------------------------------------------------

TEST(Explain, JsonTicketIsWhatTheDaemonSends) {
  temp_dir tmp("ts-explain");
  cwsim_process sim(tmp.path() / "sim");
  setup_options o;
  o.top_extra =
      "storm:\n  max_new_tickets_per_hour: 0\n"
      "rules:\n"
      "  - name: crowdstrike-only\n"
      "    match:\n"
      "      source: crowdstrike\n"
      "    ticket:\n"
      "      priority: Priority 1 - Emergency Response\n"
      "  - name: wazuh-acme\n"
      "    match:\n"
      "      source: wazuh\n"
      "      tenant: \"acme-*\"\n"
      "    ticket:\n"
      "      priority: Priority 3 - Normal Response\n"
      "      type: Incident\n";
  daemon_setup d(tmp.path() / "daemon", sim, o);
  const std::string ev_file = (tmp.path() / "event.json").string();
  write_file(ev_file, make_event("wazuh", "acme-prod", "exp-1", "open", "critical", "Ransom note found"));

  std::string out;
  ASSERT_EQ(d.run_command({"explain", "-c", d.config_path(), "--json", ev_file}, &out), 0) << out;
  const json doc = json::parse(out);
  EXPECT_EQ(doc["rule"], "wazuh-acme") << out;
  ASSERT_EQ(doc["rules"].size(), 2u) << out;
  EXPECT_EQ(doc["rules"][0]["rule"], "crowdstrike-only");
  EXPECT_EQ(doc["rules"][0]["matched"], false);
  EXPECT_EQ(doc["rules"][1]["rule"], "wazuh-acme");
  EXPECT_EQ(doc["rules"][1]["matched"], true);
  EXPECT_EQ(doc["company"]["identifier"], "AcmeCorp");
  EXPECT_EQ(doc["plan"]["ops"], json::array({"create"})) << out;
  EXPECT_TRUE(doc["stored"].is_null());
  EXPECT_FALSE(doc.contains("ticket_note")) << out;  // names resolved to ids
  EXPECT_FALSE(doc.contains("unresolved")) << out;
  const json& explained = doc["ticket"];
  const std::string xref = correlation_key({"wazuh", "acme-prod", "exp-1"});
  EXPECT_EQ(explained["externalXRef"], xref);

  sim.post("/__sim/reset", json::object());  // the request log holds only the daemon's requests
  auto daemon = d.start();
  d.wait_until_ready();
  std::string submit_out;
  ASSERT_EQ(d.submit({ev_file}, &submit_out), 0) << submit_out;
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return !ticket_by_xref(ts, xref).is_null(); }, 30s))
      << d.log();

  // The body of the daemon's POST /service/tickets, as the simulator received it.
  const json requests = sim.get("/__sim/requests?limit=20000");
  json sent;
  int posts = 0;
  for (const auto& r : requests) {
    const std::string target = r.value("target", "");
    if (r.value("method", "") == "POST" && target.size() >= 16 &&
        target.substr(target.size() - 16) == "/service/tickets") {
      sent = r["body"];
      ++posts;
    }
  }
  ASSERT_EQ(posts, 1) << requests.dump(2);
  EXPECT_EQ(sent, explained) << "explain:\n" << explained.dump(2) << "\ndaemon sent:\n" << sent.dump(2);

  // And the ticket as ConnectWise stored it agrees with explain.
  const json t = ticket_by_xref(sim.tickets(), xref);
  EXPECT_EQ(t["summary"], explained["summary"]);
  EXPECT_EQ(t["summary"], "[critical] Ransom note found");
  EXPECT_EQ(t["company"]["identifier"], "AcmeCorp");
  if (explained["company"].contains("identifier")) {
    EXPECT_EQ(explained["company"]["identifier"], "AcmeCorp");
  }
  EXPECT_EQ(t["board"]["id"], explained["board"]["id"]);
  EXPECT_EQ(t["status"]["id"], explained["status"]["id"]);
  EXPECT_EQ(t["priority"]["id"], explained["priority"]["id"]);
  EXPECT_EQ(t["priority"]["name"], "Priority 3 - Normal Response");
  EXPECT_EQ(t["type"]["name"], "Incident");
  EXPECT_EQ(t["severity"], explained["severity"]);
  EXPECT_EQ(t["impact"], explained["impact"]);
  if (explained.contains("initialDescription")) {
    bool found = false;
    for (const auto& n : t["notes"])
      found = found || (n.value("detailDescriptionFlag", false) && n["text"] == explained["initialDescription"]);
    EXPECT_TRUE(found) << t.dump(2);
  }
}

//------------------------------------------------------------------------------

TEST(Reload, BrokenFileKeepsOldMappingFixedOneReleasesHeld) {
  temp_dir tmp("ts-reload");
  cwsim_process sim(tmp.path() / "sim");
  setup_options o;
  o.companies = "  unmapped: hold\n  tenants:\n    acme-prod: AcmeCorp\n";
  daemon_setup d(tmp.path() / "daemon", sim, o);
  const std::string original = read_file(d.config_path());
  auto daemon = d.start();
  d.wait_until_ready();

  const std::string newco = correlation_key({"wazuh", "newco", "n-1"});
  const std::string acme1 = correlation_key({"wazuh", "acme-prod", "a-1"});
  const std::string acme2 = correlation_key({"wazuh", "acme-prod", "a-2"});
  spool(d, make_event("wazuh", "newco", "n-1"));
  spool(d, make_event("wazuh", "acme-prod", "a-1"));
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return !ticket_by_xref(ts, acme1).is_null(); }, 30s))
      << d.log();
  ASSERT_TRUE(wait_until([&] { return d.log().find("issue.held") != std::string::npos; }, 5s)) << d.log();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(ticket_by_xref(sim.tickets(), newco).is_null());

  // A broken file: the reload fails, the running mapping stays.
  write_file(d.config_path(), original + "ticket: [unclosed\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return d.log().find("config.reload_failed") != std::string::npos; }, 10s)) << d.log();
  EXPECT_TRUE(daemon->running());
  spool(d, make_event("wazuh", "acme-prod", "a-2"));
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return !ticket_by_xref(ts, acme2).is_null(); }, 30s))
      << d.log();
  EXPECT_EQ(ticket_by_xref(sim.tickets(), acme2)["company"]["identifier"], "AcmeCorp");
  EXPECT_TRUE(ticket_by_xref(sim.tickets(), newco).is_null());

  // A fixed file mapping newco: the held issue is released.
  std::string fixed = original;
  const std::string line = "    acme-prod: AcmeCorp\n";
  const auto pos = fixed.find(line);
  ASSERT_NE(pos, std::string::npos) << fixed;
  fixed.insert(pos + line.size(), "    newco: Globex\n");
  write_file(d.config_path(), fixed);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return d.log().find("config.reloaded") != std::string::npos; }, 10s)) << d.log();
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return !ticket_by_xref(ts, newco).is_null(); }, 30s))
      << d.log();
  const json t = ticket_by_xref(sim.tickets(), newco);
  EXPECT_EQ(t["company"]["identifier"], "Globex") << t.dump(2);
  EXPECT_NE(d.log().find("held_released=1"), std::string::npos) << d.log();

  // Every setting is either applied or named: a new API version needs a
  // restart (and says so), a new log level applies at once.
  std::string next = fixed;
  const auto psa = next.find("psa:\n");
  ASSERT_NE(psa, std::string::npos);
  next.insert(psa + 5, "  api_version: \"2025.1\"\n");
  const auto level = next.find("  level: info\n");
  ASSERT_NE(level, std::string::npos) << next;
  next.replace(level, 14, "  level: debug\n");
  write_file(d.config_path(), next);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return d.log().find("config.restart_needed section=psa key=psa.api_version") != std::string::npos; }, 10s))
      << d.log();
  EXPECT_NE(d.log().find("applied=\"logging.level\""), std::string::npos) << d.log();
  spool(d, make_event("wazuh", "acme-prod", "a-3"));
  ASSERT_TRUE(
      wait_until([&] { return d.log().find("event.planned issue=wazuh/acme-prod/a-3") != std::string::npos; }, 10s))
      << "debug lines after the reload\n"
      << d.log();
}

//------------------------------------------------------------------------------

TEST(Storm, CapTurnsFurtherIssuesIntoNotesOnOneDigestTicket) {
  temp_dir tmp("ts-storm");
  cwsim_process sim(tmp.path() / "sim");
  setup_options o;
  o.top_extra = "storm:\n  max_new_tickets_per_hour: 3\n";
  daemon_setup d(tmp.path() / "daemon", sim, o);
  auto daemon = d.start();
  d.wait_until_ready();
  for (int i = 1; i <= 6; ++i)
    spool(d,
          make_event("wazuh", "acme-prod", "storm-" + std::to_string(i), "open", "high", "Alert " + std::to_string(i)));

  auto for_acme = [](const json& ts) {
    json r = json::array();
    for (const auto& t : ts)
      if (t["company"]["identifier"] == "AcmeCorp") r.push_back(t);
    return r;
  };
  auto digest_of = [](const json& ts) -> json {
    for (const auto& t : ts)
      if (starts_with(t.value("summary", ""), "[storm]")) return t;
    return nullptr;
  };
  auto member_notes = [](const json& t) {
    int n = 0;
    for (const auto& note : t.value("notes", json::array()))
      n += !starts_with(note.value("text", ""), "Storm protection");
    return n;
  };
  const bool settled = wait_for(
      sim,
      [&](const json& ts) {
        const json acme = for_acme(ts);
        const json dg = digest_of(acme);
        return acme.size() >= 4 && !dg.is_null() && member_notes(dg) >= 3;
      },
      30s);
  ASSERT_TRUE(settled) << sim.tickets().dump(2) << "\n" << d.log();
  std::this_thread::sleep_for(1500ms);
  const json acme = for_acme(sim.tickets());
  EXPECT_EQ(acme.size(), 4u) << acme.dump(2);
  const json dg = digest_of(acme);
  ASSERT_FALSE(dg.is_null());
  EXPECT_EQ(member_notes(dg), 3) << dg.dump(2);
  EXPECT_EQ(dg["summary"], "[storm] acme-prod: more than 3 new issues in an hour");
  const std::string xref = dg.value("externalXRef", "");
  EXPECT_TRUE(starts_with(xref, "ts1:")) << xref;
  // The three capped issues got no ticket of their own.
  int own = 0;
  for (int i = 1; i <= 6; ++i)
    own += !ticket_by_xref(acme, correlation_key({"wazuh", "acme-prod", "storm-" + std::to_string(i)})).is_null();
  EXPECT_EQ(own, 3);
  EXPECT_NE(d.log().find("storm.started"), std::string::npos) << d.log();
}

//------------------------------------------------------------------------------

TEST(History, ShowsDecisionAndOperation) {
  temp_dir tmp("ts-history");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "daemon", sim);
  auto daemon = d.start();
  d.wait_until_ready();
  const std::string xref = correlation_key({"wazuh", "acme-prod", "h-1"});
  spool(d, make_event("wazuh", "acme-prod", "h-1"));
  ASSERT_TRUE(wait_for(
      sim, [&](const json& ts) { return !ticket_by_xref(ts, xref).is_null(); }, 30s))
      << d.log();
  const auto ticket_id = ticket_by_xref(sim.tickets(), xref)["id"];

  json doc;
  bool done = false;
  // The outcome is recorded just after the ticket exists: poll briefly.
  wait_until(
      [&] {
        std::string out;
        if (d.run_command({"history", "-c", d.config_path(), "wazuh/acme-prod/h-1", "--json"}, &out) != 0) return false;
        doc = json::parse(out, nullptr, false);
        if (!doc.is_object()) return false;
        for (const auto& e : doc["entries"])
          if (e["kind"] == "operation" && e["detail"].value("outcome", "") == "done") done = true;
        return done;
      },
      10s);
  std::string out;
  ASSERT_EQ(d.run_command({"history", "-c", d.config_path(), "wazuh/acme-prod/h-1", "--json"}, &out), 0) << out;
  doc = json::parse(out);
  EXPECT_EQ(doc["ticket"], ticket_id) << out;
  EXPECT_EQ(doc["correlation_key"], xref);
  bool decision = false, op_done = false;
  for (const auto& e : doc["entries"]) {
    if (e["kind"] == "decision" && e["detail"].is_object()) {
      decision = true;
      EXPECT_EQ(e["detail"]["rule"], "default") << out;
      EXPECT_EQ(e["detail"]["company"], "AcmeCorp") << out;
    }
    if (e["kind"] == "operation" && e["detail"].is_object() && e["detail"].value("outcome", "") == "done") {
      op_done = true;
      EXPECT_EQ(e["detail"]["kind"], "create") << out;
      EXPECT_EQ(e["detail"]["ticket"], ticket_id) << out;
    }
  }
  EXPECT_TRUE(decision) << out;
  EXPECT_TRUE(op_done) << out;
  // The correlation key works as KEY too.
  std::string by_key;
  EXPECT_EQ(d.run_command({"history", "-c", d.config_path(), xref}, &by_key), 0) << by_key;
  EXPECT_NE(by_key.find("decision"), std::string::npos) << by_key;
}

}  // namespace
}  // namespace ts::test
