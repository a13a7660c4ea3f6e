// Tests of POST /v1/events (intake/event_api) over a real SQLite store on
// disk, without sockets: each answer, that 202 comes only with the events
// committed, and that a refusal stores nothing; and that neither intake path
// acts on a commit (answers, removes a spool file) before the sync thread has
// made it durable.
#include "intake/event_api.hpp"
#include "intake/spool.hpp"
#include "intake/spool_watcher.hpp"

#include "ops/logging.hpp"
#include "ops/metrics.hpp"
#include "store/wal_sync.hpp"
#include "support/sync_gate.hpp"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using nlohmann::json;

std::string event(const std::string& id, const std::string& severity = "high") {
  return json{{"source", "wazuh"},
              {"tenant", "acme"},
              {"issue_id", id},
              {"state", "open"},
              {"severity", severity},
              {"title", "Brute force"},
              {"updated_at", "2026-11-01T10:00:00Z"}}
      .dump();
}

struct fixture {
  fixture() {
    char tmpl[] = "/tmp/ts-event-api-XXXXXX";
    dir = ::mkdtemp(tmpl);
    st.emplace((dir / "state.db").string());
    metrics.emplace();
    ts::ops::declare_ticketsync_metrics(*metrics);
    cfg.max_inbox_depth = 5;
    commit.emplace(ioc.get_executor(), *st);
    api.emplace(cfg, "t0ken", *st, *commit, *metrics, *log, clk, [this] { ++commits; });
  }
  ~fixture() {
    api.reset();
    commit.reset();
    st.reset();
    fs::remove_all(dir);
  }

  ts::ops::admin_reply post(std::string body, bool tcp = true, std::string auth = "Bearer t0ken") {
    ts::ops::admin_request r;
    r.method = "POST";
    r.target = "/v1/events";
    r.body = std::move(body);
    r.over_tcp = tcp;
    r.authorization = std::move(auth);
    r.peer = tcp ? "tcp:127.0.0.1:1" : "unix";
    auto f = net::co_spawn(ioc, api->post(std::move(r)), net::use_future);
    ioc.restart();
    ioc.run();
    return f.get();
  }
  std::int64_t rejected(const std::string& reason) const {
    return static_cast<std::int64_t>(
        metrics->value("ticketsync_events_rejected_total", {{"via", "api"}, {"reason", reason}}));
  }

  fs::path dir;
  net::io_context ioc;
  ts::system_clock clk;
  ts::config::admin_config cfg;
  std::shared_ptr<spdlog::logger> log = ts::ops::make_logger("test", spdlog::level::off);
  std::optional<ts::store::store> st;
  std::optional<ts::ops::metrics> metrics;
  std::optional<ts::store::group_commit> commit;
  std::optional<ts::intake::event_api> api;
  int commits = 0;
};

TEST(EventApi, AcceptedEventsAreCommittedBeforeThe202) {
  fixture f;
  auto r = f.post(event("a-1"));
  EXPECT_EQ(r.status, 202u);
  EXPECT_EQ(json::parse(r.body), (json{{"accepted", 1}}));
  r = f.post("[" + event("a-2") + "," + event("a-3") + "]", false, "");  // unix socket: no token needed
  EXPECT_EQ(r.status, 202u);
  EXPECT_EQ(json::parse(r.body), (json{{"accepted", 2}}));
  EXPECT_EQ(f.st->inbox_depth(), 3);
  const auto rows = f.st->inbox_peek(10);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(json::parse(rows[0].body)["issue_id"], "a-1");
  EXPECT_EQ(rows[0].origin, "api:tcp:127.0.0.1:1");
  EXPECT_EQ(rows[2].origin, "api:unix");
  EXPECT_EQ(f.commits, 2);
  EXPECT_EQ(f.metrics->value("ticketsync_events_received_total", {{"via", "api"}}), 3);
}

TEST(EventApi, TcpNeedsTheBearerToken) {
  fixture f;
  for (const std::string auth :
       {"", "Bearer", "Bearer wrong", "Bearer t0ken2", "bearer t0ken", "Basic t0ken", "Bearer t0ke"}) {
    SCOPED_TRACE(auth);
    const auto r = f.post(event("a-1"), true, auth);
    EXPECT_EQ(r.status, 401u);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(r.body.find("t0ken"), std::string::npos);
  }
  EXPECT_EQ(f.st->inbox_depth(), 0);
  EXPECT_EQ(f.rejected("unauthorized"), 7);
}

TEST(EventApi, AnInvalidEventRefusesTheWholeBatchNamingIt) {
  fixture f;
  const auto r = f.post("[" + event("a-1") + "," + event("a-2", "urgent") + "]");
  EXPECT_EQ(r.status, 400u);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["index"], 1);
  EXPECT_EQ(body["field"], "severity");
  EXPECT_NE(body["error"].get<std::string>().find("event [1]: field 'severity'"), std::string::npos);
  EXPECT_EQ(f.post("{not json").status, 400u);
  EXPECT_EQ(f.st->inbox_depth(), 0);
  EXPECT_EQ(f.rejected("invalid_field"), 1);
  EXPECT_EQ(f.rejected("invalid_json"), 1);
}

TEST(EventApi, ARawNulByteRefusesTheBodyNamingIt) {
  fixture f;
  const std::string garbage("\0garbage", 8);
  for (const std::string& body : {event("n-1") + garbage, "[" + event("n-2") + "]" + garbage}) {
    SCOPED_TRACE(body.size());
    const auto r = f.post(body);
    EXPECT_EQ(r.status, 400u);
    const json answer = json::parse(r.body);
    EXPECT_NE(answer["error"].get<std::string>().find("NUL byte (0x00) at line 1"), std::string::npos) << r.body;
    EXPECT_FALSE(answer.contains("index"));
  }
  EXPECT_EQ(f.st->inbox_depth(), 0);
  EXPECT_EQ(f.rejected("invalid_json"), 2);
}

TEST(EventApi, BackpressureAnswers503WithRetryAfterAndStoresNothing) {
  fixture f;
  std::string five = "[";
  for (int i = 0; i < 5; ++i) five += (i ? "," : "") + event("b-" + std::to_string(i));
  EXPECT_EQ(f.post(five + "]").status, 202u);
  const auto r = f.post(event("b-5"));
  EXPECT_EQ(r.status, 503u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Retry-After", "5"}));
  EXPECT_EQ(f.st->inbox_depth(), 5);
  EXPECT_EQ(f.rejected("backpressure"), 1);
}

TEST(EventApi, AStoreFailureIs503AndNothingHalfStored) {
  fixture f;
  f.st->db().exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.body LIKE '%c-2%' "
      "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END");
  const auto r = f.post("[" + event("c-1") + "," + event("c-2") + "]");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(f.st->inbox_depth(), 0);  // c-1 rolled back with c-2
  EXPECT_EQ(f.rejected("store_error"), 1);
  EXPECT_EQ(f.post(event("c-3")).status, 202u);  // and the next request is fine
}

TEST(EventApi, StoppingAnswers503) {
  fixture f;
  f.api->stop();
  const auto r = f.post(event("d-1"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(f.st->inbox_depth(), 0);
}

}  // namespace

namespace {

// The group commit under the API: writers of one loop turn share a
// transaction, and a writer that throws loses only its own changes.
// A plain function: GCC 12 mishandles coroutine lambdas' by-value parameters.
TEST(SpoolWatcher, FilesLeaveTheSpoolOnlyOnceTheirCommitIsSynced) {
  fixture f;
  ts::test::sync_gate gate;
  ts::store::wal_sync ws(*f.st, gate.options());
  f.commit->sync_with(&ws);
  ts::config::intake_config icfg;
  icfg.spool_dir = (f.dir / "spool").string();
  int notified = 0;
  ts::sync::real_timers timers(f.clk);
  ts::intake::spool_watcher watcher(f.ioc.get_executor(), icfg, *f.st, *f.commit, *f.log, timers, [&] { ++notified; });
  watcher.prepare();
  const auto paths = ts::intake::spool_paths::under(icfg.spool_dir);
  ts::system_random random;
  const std::string name = ts::intake::spool_write(paths, event("w-1"), f.clk, random);
  auto done = net::co_spawn(f.ioc, watcher.process_batch(), net::use_future);
  f.ioc.restart();
  f.ioc.poll();
  gate.wait_entered(1);
  f.ioc.poll();
  EXPECT_EQ(f.st->inbox_depth(), 1);
  EXPECT_TRUE(fs::exists(paths.fresh / name)) << "the file went before its event was durable";
  EXPECT_EQ(notified, 0);
  gate.open();
  f.ioc.run();
  EXPECT_EQ(done.get(), 1u);
  EXPECT_FALSE(fs::exists(paths.fresh / name));
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(watcher.stats().accepted, 1u);
  f.commit->sync_with(nullptr);
}

}  // namespace
