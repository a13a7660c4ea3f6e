// `ticketsyncd callbacks register|list|remove` and doctor's callback lines,
// as real processes against cwsim's /system/callbacks: registering twice
// changes nothing, a changed reverse.callback_url replaces ticketsync's
// entries, list and remove see and touch only ticketsync's entries (another
// integration's stays), and doctor tells registered (✓), missing (✗) and
// disabled by ConnectWise (⚠) apart. No daemon runs: the commands talk to
// ConnectWise themselves.
#include "support/harness.hpp"

#include "psa/cw_codec.hpp"
#include "psa/https_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <stdexcept>

namespace ts::test {
namespace {

using nlohmann::json;
namespace net = boost::asio;
namespace http = boost::beast::http;

const std::string url_a = "https://ts-a.example.test/v1/connectwise/callback";
const std::string url_b = "https://ts-b.example.test/v1/connectwise/callback";

/// The simulator's API with the seed's credentials (what an administrator or
/// another integration would do in ConnectWise).
class sim_api {
 public:
  explicit sim_api(const cwsim_process& sim) : sim_(sim) {}

  json call(http::verb method, const std::string& path, const std::string& body = "") const {
    net::io_context ioc;
    psa::client_options o;
    o.host = "localhost";
    o.port = std::to_string(sim_.port());
    o.ca_file = sim_.ca_file();
    o.request_timeout = std::chrono::seconds{30};
    const ts::system_clock clk;
    psa::https_client client(ioc.get_executor(), o, clk);
    psa::http_request req;
    req.method = method;
    req.target = "/v2025_1/apis/3.0" + path;
    req.body = body;
    req.headers = {{"Authorization", psa::basic_auth("demo", "demo-public-key", "demo-private-key")},
                   {"clientId", "2f4b7c9e-1111-4a4a-9c9c-000000000001"},
                   {"Accept", psa::accept_header("2025.8")}};
    auto fut = net::co_spawn(ioc, client.send(req), net::use_future);
    ioc.run();
    auto res = fut.get();
    if (!res) throw std::runtime_error(path + ": " + res.error().to_string());
    if (res->status / 100 != 2)
      throw std::runtime_error(path + ": HTTP " + std::to_string(res->status) + " " + res->body);
    return res->body.empty() ? json() : json::parse(res->body);
  }

  json callbacks() const { return call(http::verb::get, "/system/callbacks?pageSize=1000"); }
  json add(const json& entry) const { return call(http::verb::post, "/system/callbacks", entry.dump()); }
  void set_inactive(std::int64_t id, bool inactive) const {
    const json ops = json::array({{{"op", "replace"}, {"path", "inactiveFlag"}, {"value", inactive}}});
    call(http::verb::patch, "/system/callbacks/" + std::to_string(id), ops.dump());
  }

 private:
  const cwsim_process& sim_;
};

/// ticketsync's entries (description starts with "ticketsync:").
json ours(const json& all) {
  json out = json::array();
  for (const auto& e : all)
    if (e.value("description", "").rfind("ticketsync:", 0) == 0) out.push_back(e);
  return out;
}

std::vector<std::int64_t> sorted_ids(const json& entries) {
  std::vector<std::int64_t> ids;
  for (const auto& e : entries) ids.push_back(e["id"].get<std::int64_t>());
  std::sort(ids.begin(), ids.end());
  return ids;
}

/// A configuration writing to both seed boards (the default ticket on
/// Security Incidents, one rule on Help Desk), with `callback_url`.
setup_options with_callbacks(const std::string& callback_url, const std::string& rule_board = "Help Desk") {
  setup_options o;
  o.top_extra =
      "storm:\n  max_new_tickets_per_hour: 0\n"
      "rules:\n"
      "  - name: helpdesk\n"
      "    match:\n"
      "      source: helpdesk\n"
      "    ticket:\n"
      "      board: " +
      rule_board +
      "\n"
      "reverse:\n"
      "  callback_url: \"" +
      callback_url + "\"\n";
  return o;
}

class CallbacksCli : public ::testing::Test {
 protected:
  /// `ticketsyncd callbacks ACTION --json -c CONFIG`, parsed; fails the test on a non-zero exit.
  json run_json(const daemon_setup& d, const std::string& action) {
    std::string out;
    const int rc = d.run_command({"callbacks", action, "--json", "-c", d.config_path()}, &out);
    EXPECT_EQ(rc, 0) << out;
    // stdout and stderr are merged: the JSON document is the first line that starts with '{'.
    const auto at = out.find('{');
    return at == std::string::npos ? json() : json::parse(out.substr(at), nullptr, false);
  }

  temp_dir tmp_{"ts-cb"};
  cwsim_process sim_{tmp_.path() / "sim"};
  sim_api api_{sim_};
};

TEST_F(CallbacksCli, RegisterTwiceIsANoOp) {
  daemon_setup d(tmp_.path() / "a", sim_, with_callbacks(url_a));
  const json first = run_json(d, "register");
  ASSERT_TRUE(first.is_object()) << first;
  EXPECT_EQ(first["ok"], true);
  EXPECT_EQ(first["added"].size(), 2u) << first;
  EXPECT_TRUE(first["removed"].empty());
  EXPECT_TRUE(first["kept"].empty());

  const json registered = ours(api_.callbacks());
  ASSERT_EQ(registered.size(), 2u) << registered;
  std::vector<std::int64_t> boards;
  for (const auto& e : registered) {
    EXPECT_EQ(e["url"], url_a);
    EXPECT_EQ(e["type"], "ticket");
    EXPECT_EQ(e["level"], "board");
    EXPECT_EQ(e["isSelfSuppressedFlag"], true);
    EXPECT_EQ(e["inactiveFlag"], false);
    boards.push_back(e["objectId"].get<std::int64_t>());
  }
  std::sort(boards.begin(), boards.end());
  EXPECT_EQ(boards, (std::vector<std::int64_t>{1, 2}));  // Security Incidents, Help Desk

  const json second = run_json(d, "register");
  EXPECT_TRUE(second["added"].empty()) << second;
  EXPECT_TRUE(second["removed"].empty()) << second;
  EXPECT_EQ(second["kept"].size(), 2u);
  EXPECT_EQ(sorted_ids(ours(api_.callbacks())), sorted_ids(registered));  // the same entries, untouched

  std::string text;
  ASSERT_EQ(d.run_command({"callbacks", "register", "-c", d.config_path()}, &text), 0) << text;
  EXPECT_NE(text.find("0 added, 0 removed, 2 kept"), std::string::npos) << text;
  EXPECT_NE(text.find("= board 'Security Incidents' (1): callback"), std::string::npos) << text;
}

TEST_F(CallbacksCli, ChangedUrlReplacesTheEntries) {
  daemon_setup a(tmp_.path() / "a", sim_, with_callbacks(url_a));
  const json first = run_json(a, "register");
  const auto old_ids = sorted_ids(first["added"]);
  ASSERT_EQ(old_ids.size(), 2u) << first;

  daemon_setup b(tmp_.path() / "b", sim_, with_callbacks(url_b));
  const json moved = run_json(b, "register");
  EXPECT_EQ(moved["added"].size(), 2u) << moved;
  ASSERT_EQ(moved["removed"].size(), 2u) << moved;
  for (const auto& r : moved["removed"]) {
    EXPECT_EQ(r["url"], url_a);
    EXPECT_EQ(r["why"], "stale URL");
  }
  EXPECT_EQ(sorted_ids(moved["removed"]), old_ids);

  const json now = ours(api_.callbacks());
  ASSERT_EQ(now.size(), 2u) << now;
  for (const auto& e : now) EXPECT_EQ(e["url"], url_b);
}

TEST_F(CallbacksCli, ListAndRemoveTouchOnlyTicketsyncsEntries) {
  const json foreign = api_.add({{"url", "https://produce8.example.test/cw?recordId="},
                                 {"objectId", 1},
                                 {"type", "Ticket"},
                                 {"level", "Board"},
                                 {"description", "Produce8 activity feed"}});
  daemon_setup d(tmp_.path() / "a", sim_, with_callbacks(url_a));
  run_json(d, "register");

  const json listed = run_json(d, "list");
  ASSERT_EQ(listed["entries"].size(), 2u) << listed;
  EXPECT_EQ(listed["others"], 1);
  for (const auto& e : listed["entries"]) {
    EXPECT_EQ(e["url"], url_a);
    EXPECT_EQ(e["active"], true);
    EXPECT_TRUE(e["board"] == "Security Incidents" || e["board"] == "Help Desk") << e;
  }
  std::string text;
  ASSERT_EQ(d.run_command({"callbacks", "list", "-c", d.config_path()}, &text), 0) << text;
  EXPECT_NE(text.find("board 'Help Desk' (2)"), std::string::npos) << text;
  EXPECT_NE(text.find("1 entry of others not shown"), std::string::npos) << text;
  EXPECT_EQ(text.find("produce8"), std::string::npos) << "another integration's entry is shown:\n" << text;

  const json removed = run_json(d, "remove");
  EXPECT_EQ(removed["removed"].size(), 2u) << removed;
  EXPECT_EQ(removed["others"], 1);
  const json left = api_.callbacks();
  ASSERT_EQ(left.size(), 1u) << left;
  EXPECT_EQ(left[0]["id"], foreign["id"]);
  EXPECT_EQ(left[0]["description"], "Produce8 activity feed");

  const json after = run_json(d, "list");
  EXPECT_TRUE(after["entries"].empty()) << after;
  EXPECT_EQ(after["others"], 1);
}

TEST_F(CallbacksCli, DoctorTellsMissingRegisteredAndDisabled) {
  daemon_setup d(tmp_.path() / "a", sim_, with_callbacks(url_a));
  const auto doctor = [&] {
    std::string out;
    d.run_command({"doctor", "-c", d.config_path()}, &out);
    return out;
  };
  const std::string ok_si = "\u2713 callback for board 'Security Incidents' registered and active";
  const std::string ok_hd = "\u2713 callback for board 'Help Desk' registered and active";

  const std::string before = doctor();
  EXPECT_NE(before.find("\u2717 callback for board 'Security Incidents' registered and active"), std::string::npos)
      << before;
  EXPECT_NE(before.find("fix: run ticketsyncd callbacks register"), std::string::npos) << before;

  run_json(d, "register");
  const std::string registered = doctor();
  EXPECT_NE(registered.find(ok_si), std::string::npos) << registered;
  EXPECT_NE(registered.find(ok_hd), std::string::npos) << registered;

  // ConnectWise disables an entry after days of failed deliveries.
  std::int64_t help_desk_entry = 0;
  for (const auto& e : ours(api_.callbacks()))
    if (e["objectId"] == 2) help_desk_entry = e["id"].get<std::int64_t>();
  ASSERT_NE(help_desk_entry, 0);
  api_.set_inactive(help_desk_entry, true);
  const std::string disabled = doctor();
  EXPECT_NE(disabled.find("\u26a0 callback for board 'Help Desk' registered and active"), std::string::npos)
      << disabled;
  EXPECT_NE(disabled.find("ConnectWise disabled it after failed deliveries (inactiveFlag)"), std::string::npos)
      << disabled;
  EXPECT_NE(disabled.find(ok_si), std::string::npos) << disabled;
  EXPECT_NE(disabled.find("warning(s)"), std::string::npos) << disabled;

  // register brings it back, as an active entry.
  const json again = run_json(d, "register");
  ASSERT_EQ(again["removed"].size(), 1u) << again;
  EXPECT_EQ(again["removed"][0]["id"], help_desk_entry);
  EXPECT_EQ(again["added"].size(), 1u) << again;
  EXPECT_NE(doctor().find(ok_hd), std::string::npos);

  // A different URL in the configuration: the entries are stale.
  daemon_setup b(tmp_.path() / "b", sim_, with_callbacks(url_b));
  std::string stale;
  b.run_command({"doctor", "-c", b.config_path()}, &stale);
  EXPECT_NE(stale.find("\u2717 callback for board 'Help Desk' registered and active"), std::string::npos) << stale;
  EXPECT_NE(stale.find("posts to " + url_a), std::string::npos) << stale;
}

TEST_F(CallbacksCli, DoctorWithoutCallbackUrlSaysTheSweepAloneHears) {
  daemon_setup d(tmp_.path() / "a", sim_);
  std::string out;
  d.run_command({"doctor", "-c", d.config_path()}, &out);
  EXPECT_NE(out.find("- callbacks off (reverse.callback_url is not set): the polling sweep alone hears changes"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("callback for board"), std::string::npos) << out;
}

TEST_F(CallbacksCli, RegisterRefusesWithoutUrlOrWithAnUnknownBoard) {
  daemon_setup no_url(tmp_.path() / "a", sim_);
  std::string out;
  EXPECT_EQ(no_url.run_command({"callbacks", "register", "-c", no_url.config_path()}, &out), 2) << out;
  EXPECT_NE(out.find("reverse.callback_url is not set"), std::string::npos) << out;

  daemon_setup bad_board(tmp_.path() / "b", sim_, with_callbacks(url_a, "Help Dsek"));
  out.clear();
  EXPECT_EQ(bad_board.run_command({"callbacks", "register", "-c", bad_board.config_path()}, &out), 2) << out;
  EXPECT_NE(out.find("rule 'helpdesk' ticket.board: board 'Help Dsek' does not exist"), std::string::npos) << out;
  EXPECT_NE(out.find("closest: 'Help Desk'"), std::string::npos) << out;
  EXPECT_TRUE(ours(api_.callbacks()).empty()) << "nothing may be registered when a board does not resolve";

  out.clear();
  EXPECT_NE(no_url.run_command({"callbacks", "frobnicate", "-c", no_url.config_path()}, &out), 0) << out;
}

}  // namespace
}  // namespace ts::test
