// The operator commands over the state database of a running daemon: a create
// that ConnectWise (cwsim) refuses with a 400 because the mapping names a
// company that does not exist becomes a dead letter; `deadletter retry` with
// the mapping still wrong fails again (a new dead letter); after the file is
// fixed and reloaded (SIGHUP) a retry creates the ticket with the fixed
// mapping. `deadletter drop` records who, when and why; `status --json`
// reports the counts and the PSA connection while the daemon runs.
#include "support/harness.hpp"

#include "core/issue_key.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include <pwd.h>
#include <unistd.h>

namespace ts::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// `ticketsyncd ARGS... --json -c CONFIG`, parsed; null when it failed.
json run_json(const daemon_setup& d, std::vector<std::string> args) {
  args.insert(args.end(), {"--json", "-c", d.config_path()});
  std::string out;
  if (d.run_command(args, &out) != 0) return nullptr;
  return json::parse(out, nullptr, false);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string login_name() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "";
}

/// Waits until `deadletter list` shows a dead letter of `issue` other than `except`; returns it.
json wait_dead_letter(const daemon_setup& d, const std::string& issue, std::int64_t except = 0) {
  json found;
  wait_until(
      [&] {
        const json doc = run_json(d, {"deadletter", "list"});
        if (!doc.is_object()) return false;
        for (const auto& l : doc["dead_letters"])
          if (l["issue"] == issue && l["id"].get<std::int64_t>() != except) found = l;
        return !found.is_null();
      },
      30s);
  return found;
}

// The company the tenant maps to, misspelt: cwsim answers the create with
// 400 InvalidObject, field company.
setup_options misspelt_company() {
  setup_options o;
  o.companies = "  default: MSPInternal\n  tenants:\n    acme-prod: AcmeCorpp\n    globex: Globex\n";
  return o;
}

/// cwsim and a running daemon whose mapping misspells acme-prod's company.
class OperatorCli : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = d_.start();
    d_.wait_until_ready();
  }

  temp_dir tmp_{"ts-ops"};
  cwsim_process sim_{tmp_.path() / "sim"};
  daemon_setup d_{tmp_.path() / "daemon", sim_, misspelt_company()};
  std::unique_ptr<child_process> daemon_;
};

//------------------------------------------------------------------------------

TEST_F(OperatorCli, RetryOfA400AfterTheMappingIsFixedCreatesTheTicket) {
  const std::string issue = "wazuh/acme-prod/dl-1";
  const std::string xref = correlation_key({"wazuh", "acme-prod", "dl-1"});
  d_.spool_raw("dl-1.json", make_event("wazuh", "acme-prod", "dl-1", "open", "high", "Suspicious login"));

  const json first = wait_dead_letter(d_, issue);
  ASSERT_FALSE(first.is_null()) << d_.log();
  EXPECT_EQ(first["kind"], "create");
  EXPECT_EQ(first["http_status"], 400) << first.dump(2);
  EXPECT_EQ(first["cw_code"], "InvalidObject") << first.dump(2);
  EXPECT_EQ(first["cw_field"], "company") << first.dump(2);
  EXPECT_TRUE(ticket_by_xref(sim_.tickets(), xref).is_null());

  // show: ConnectWise's answer, the issue, the payload, the history.
  const std::string id1 = std::to_string(first["id"].get<std::int64_t>());
  const json shown = run_json(d_, {"deadletter", "show", id1});
  ASSERT_TRUE(shown.is_object());
  EXPECT_EQ(shown["issue"], issue);
  EXPECT_EQ(shown["correlation_key"], xref);
  EXPECT_TRUE(shown["ticket"].is_null());
  EXPECT_EQ(shown["operation_record"]["status"], "dead");
  EXPECT_EQ(shown["operation_record"]["payload"]["generation"], 1);
  EXPECT_FALSE(shown["history"].empty());
  std::string text;
  ASSERT_EQ(d_.run_command({"deadletter", "show", id1, "-c", d_.config_path()}, &text), 0) << text;
  EXPECT_NE(text.find("cw field     company"), std::string::npos) << text;

  // Retried with the mapping still wrong: it fails again, as a new dead letter.
  std::string out;
  ASSERT_EQ(d_.run_command({"deadletter", "retry", id1, "-c", d_.config_path()}, &out), 0) << out;
  EXPECT_NE(out.find("dead letter " + id1 + ": retried operation"), std::string::npos) << out;
  const json second = wait_dead_letter(d_, issue, first["id"].get<std::int64_t>());
  ASSERT_FALSE(second.is_null()) << d_.log();
  EXPECT_GT(second["id"].get<std::int64_t>(), first["id"].get<std::int64_t>());
  EXPECT_EQ(second["operation"], first["operation"]);
  EXPECT_EQ(second["http_status"], 400);
  // The first one is gone: retrying it again is refused.
  EXPECT_EQ(d_.run_command({"deadletter", "retry", id1, "-c", d_.config_path()}, &out), 1) << out;
  EXPECT_NE(out.find("no dead letter " + id1), std::string::npos) << out;

  // Fix the file, reload, retry: the ticket is created with the fixed mapping.
  std::string cfg = read_file(d_.config_path());
  const auto pos = cfg.find("AcmeCorpp");
  ASSERT_NE(pos, std::string::npos);
  cfg.replace(pos, 9, "AcmeCorp");
  write_file(d_.config_path(), cfg);
  daemon_->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return d_.log().find("config.reloaded") != std::string::npos; }, 10s)) << d_.log();
  const std::string id2 = std::to_string(second["id"].get<std::int64_t>());
  ASSERT_EQ(d_.run_command({"deadletter", "retry", id2, "--reason", "company fixed", "-c", d_.config_path()}, &out), 0)
      << out;
  EXPECT_NE(out.find("by " + login_name()), std::string::npos) << out;
  ASSERT_TRUE(wait_for(
      sim_, [&](const json& ts) { return !ticket_by_xref(ts, xref).is_null(); }, 30s))
      << d_.log();
  const json t = ticket_by_xref(sim_.tickets(), xref);
  EXPECT_EQ(t["company"]["identifier"], "AcmeCorp") << t.dump(2);
  EXPECT_EQ(t["summary"], "[high] Suspicious login");
  EXPECT_EQ(sim_.tickets().size(), 1u);

  // No dead letter left; the issue shows its ticket and the retries.
  const json list = run_json(d_, {"deadletter", "list"});
  ASSERT_TRUE(list.is_object());
  EXPECT_EQ(list["total"], 0) << list.dump(2);
  json doc;
  ASSERT_TRUE(wait_until(
      [&] {
        doc = run_json(d_, {"issue", "show", xref});
        return doc.is_object() && !doc["operations"].empty() && doc["operations"][0]["status"] == "done";
      },
      10s))
      << doc.dump(2);
  EXPECT_EQ(doc["issue"], issue);
  EXPECT_EQ(doc["ticket"], t["id"]);
  EXPECT_EQ(doc["ticket_state"], "open");
  EXPECT_EQ(doc["desired"]["company"], "AcmeCorp");
  EXPECT_EQ(doc["applied"]["summary"], "[high] Suspicious login");
  EXPECT_TRUE(doc["dead_letters"].empty()) << doc.dump(2);
  EXPECT_FALSE(doc["operations"][0]["rerender"].get<bool>());

  const json history = run_json(d_, {"history", xref});
  ASSERT_TRUE(history.is_object());
  int retries = 0;
  bool rerendered = false, done = false;
  for (const auto& e : history["entries"]) {
    const json& detail = e["detail"];
    if (e["kind"] == "operator") {
      ++retries;
      EXPECT_EQ(detail["action"], "retry") << e.dump(2);
      EXPECT_NE(detail["by"].get<std::string>().find(login_name()), std::string::npos) << e.dump(2);
      EXPECT_FALSE(detail["at"].get<std::string>().empty());
      EXPECT_EQ(detail["dead_letter"]["http_status"], 400);
      EXPECT_EQ(detail["dead_letter"]["cw_field"], "company");
      if (retries == 2) {
        EXPECT_EQ(detail["reason"], "company fixed") << e.dump(2);
      }
    }
    if (e["kind"] == "decision" && detail.value("plan", "").find("retried by an operator") != std::string::npos &&
        detail["company"] == "AcmeCorp")
      rerendered = true;
    if (e["kind"] == "operation" && detail.value("outcome", "") == "done") done = true;
  }
  EXPECT_EQ(retries, 2) << history.dump(2);
  EXPECT_TRUE(rerendered) << history.dump(2);
  EXPECT_TRUE(done) << history.dump(2);
  EXPECT_NE(d_.log().find("op.rerendered"), std::string::npos) << d_.log();
}

TEST_F(OperatorCli, DropRecordsWhoAndWhyAndStatusReportsTheRunningDaemon) {
  // One ticket that works, two issues that dead-letter.
  const std::string good = correlation_key({"wazuh", "globex", "ok-1"});
  d_.spool_raw("ok-1.json", make_event("wazuh", "globex", "ok-1"));
  d_.spool_raw("dl-a.json", make_event("wazuh", "acme-prod", "dl-a"));
  d_.spool_raw("dl-b.json", make_event("wazuh", "acme-prod", "dl-b"));
  ASSERT_TRUE(wait_for(
      sim_, [&](const json& ts) { return !ticket_by_xref(ts, good).is_null(); }, 30s))
      << d_.log();
  ASSERT_FALSE(wait_dead_letter(d_, "wazuh/acme-prod/dl-a").is_null()) << d_.log();
  const json dl_b = wait_dead_letter(d_, "wazuh/acme-prod/dl-b");
  ASSERT_FALSE(dl_b.is_null()) << d_.log();

  // ConnectWise fails every request from now on: a new issue's create waits to retry.
  sim_.post("/__sim/faults", {{"p500", 1.0}});
  d_.spool_raw("ok-2.json", make_event("wazuh", "globex", "ok-2"));
  json status;
  ASSERT_TRUE(wait_until(
      [&] {
        status = run_json(d_, {"status"});
        return status.is_object() && !status["recent_errors"].empty();
      },
      30s))
      << status.dump(2) << d_.log();
  EXPECT_EQ(status["dead_letters"], 2) << status.dump(2);
  EXPECT_EQ(status["outbox"]["pending"], 1) << status.dump(2);
  EXPECT_EQ(status["outbox"]["due"].get<int>() + status["outbox"]["waiting_retry"].get<int>(), 1);
  EXPECT_EQ(status["inbox"]["depth"], 0);
  EXPECT_EQ(status["held"], 0);
  EXPECT_EQ(status["issues"], 4);
  EXPECT_EQ(status["tickets"], 1);
  EXPECT_EQ(status["daemon"]["running"], true) << status.dump(2);
  EXPECT_EQ(status["daemon"]["pid"], daemon_->pid());
  EXPECT_TRUE(status["daemon"]["started_at"].is_string());
  EXPECT_EQ(status["psa"]["state"], "connected") << status.dump(2);
  EXPECT_TRUE(status["psa"]["since"].is_string());
  EXPECT_TRUE(status["psa"]["last_success_at"].is_string()) << status.dump(2);
  ASSERT_TRUE(status["psa"]["last_error"].is_string()) << status.dump(2);
  EXPECT_NE(status["psa"]["last_error"].get<std::string>().find("500"), std::string::npos) << status.dump(2);
  const json& err = status["recent_errors"][0];
  EXPECT_EQ(err["issue"], "wazuh/globex/ok-2");
  EXPECT_EQ(err["kind"], "create");
  EXPECT_GE(err["attempts"].get<int>(), 1);
  EXPECT_NE(err["error"].get<std::string>().find("500"), std::string::npos) << err.dump(2);
  std::string text;
  ASSERT_EQ(d_.run_command({"status", "-c", d_.config_path()}, &text), 0) << text;
  EXPECT_NE(text.find("running (pid " + std::to_string(daemon_->pid())), std::string::npos) << text;
  EXPECT_NE(text.find("dead letters  2"), std::string::npos) << text;
  EXPECT_NE(text.find("wazuh/globex/ok-2"), std::string::npos) << text;

  // drop needs a reason; an unknown id is refused.
  std::string out;
  const std::string id_b = std::to_string(dl_b["id"].get<std::int64_t>());
  EXPECT_NE(d_.run_command({"deadletter", "drop", id_b, "-c", d_.config_path()}, &out), 0) << out;
  EXPECT_EQ(d_.run_command({"deadletter", "drop", "999999", "--reason", "x", "-c", d_.config_path()}, &out), 1) << out;
  EXPECT_NE(out.find("no dead letter 999999"), std::string::npos) << out;

  const std::vector<std::string> drop{"deadletter", "drop",          id_b, "--reason", "customer offboarded",
                                      "-c",         d_.config_path()};
  ASSERT_EQ(d_.run_command(drop, &out, {{"SUDO_USER", "alice-operator"}}), 0) << out;
  const std::string who =
      login_name() == "alice-operator" ? "alice-operator" : "alice-operator via sudo (" + login_name() + ")";
  EXPECT_NE(out.find("dead letter " + id_b + ": dropped"), std::string::npos) << out;
  EXPECT_NE(out.find("by " + who), std::string::npos) << out;
  EXPECT_EQ(d_.run_command({"deadletter", "drop", id_b, "--reason", "again", "-c", d_.config_path()}, &out), 1) << out;

  const json list = run_json(d_, {"deadletter", "list"});
  ASSERT_TRUE(list.is_object());
  EXPECT_EQ(list["total"], 1);
  ASSERT_EQ(list["dead_letters"].size(), 1u);
  EXPECT_EQ(list["dead_letters"][0]["issue"], "wazuh/acme-prod/dl-a");
  EXPECT_EQ(run_json(d_, {"status"})["dead_letters"], 1);

  // issue show and history: who, when and why; the operation stays dead.
  const json shown = run_json(d_, {"issue", "show", "wazuh/acme-prod/dl-b"});
  ASSERT_TRUE(shown.is_object());
  EXPECT_TRUE(shown["dead_letters"].empty());
  ASSERT_EQ(shown["operations"].size(), 1u);
  EXPECT_EQ(shown["operations"][0]["status"], "dead");
  const json& last = shown["history"].back();
  EXPECT_EQ(last["kind"], "operator") << shown.dump(2);
  EXPECT_EQ(last["detail"]["action"], "drop");
  EXPECT_EQ(last["detail"]["by"], who);
  EXPECT_EQ(last["detail"]["reason"], "customer offboarded");
  EXPECT_EQ(last["detail"]["dead_letter"]["id"], dl_b["id"]);
  EXPECT_TRUE(last["detail"]["at"].is_string());
  ASSERT_EQ(d_.run_command({"history", "-c", d_.config_path(), "wazuh/acme-prod/dl-b"}, &text), 0) << text;
  EXPECT_NE(text.find("operator op="), std::string::npos) << text;
  EXPECT_NE(text.find("action=\"drop\""), std::string::npos) << text;
  EXPECT_NE(text.find("by=\"" + who + "\""), std::string::npos) << text;
  ASSERT_EQ(d_.run_command({"issue", "show", "wazuh/acme-prod/dl-b", "-c", d_.config_path()}, &text), 0) << text;
  EXPECT_NE(text.find("reason=\"customer offboarded\""), std::string::npos) << text;

  // ConnectWise recovers: the waiting create goes through.
  sim_.post("/__sim/faults", {{"p500", 0.0}});
  const std::string ok2 = correlation_key({"wazuh", "globex", "ok-2"});
  ASSERT_TRUE(wait_for(
      sim_, [&](const json& ts) { return !ticket_by_xref(ts, ok2).is_null(); }, 30s))
      << d_.log();
  ASSERT_TRUE(wait_until(
      [&] {
        status = run_json(d_, {"status"});
        return status.is_object() && status["outbox"]["pending"] == 0;
      },
      10s))
      << status.dump(2);
  EXPECT_TRUE(status["recent_errors"].empty()) << status.dump(2);
  EXPECT_EQ(status["tickets"], 2);

  // After a clean stop, status says the daemon is not running.
  daemon_->signal(SIGTERM);
  ASSERT_TRUE(daemon_->wait(30s).has_value());
  status = run_json(d_, {"status"});
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["daemon"]["running"], false) << status.dump(2);
  EXPECT_TRUE(status["daemon"]["stopped_at"].is_string()) << status.dump(2);
}

}  // namespace
}  // namespace ts::test
