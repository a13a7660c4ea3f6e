// Production operations over real processes and sockets: systemd notification
// through a fake NOTIFY_SOCKET (READY, regular WATCHDOG pings that stop while
// the event loop is blocked, STATUS, STOPPING), the admin listener on TCP and
// a unix socket (/healthz, /readyz, POST /v1/events with each answer, /metrics
// parsed by the Prometheus client library's own parser), JSON log lines, and
// a scan of everything the daemon and its commands print for the keys.
#include "core/issue_key.hpp"
#include "support/harness.hpp"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace ts::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// ---- a blocking HTTP/1.1 client (one request per connection) -----------------

struct http_answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

int connect_to(const std::string& where) {
  // "unix:/path" or "HOST:PORT" (IPv4).
  int fd = -1;
  if (where.rfind("unix:", 0) == 0) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, where.c_str() + 5, sizeof a.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
  } else {
    const auto colon = where.rfind(':');
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(where.substr(colon + 1))));
    ::inet_pton(AF_INET, where.substr(0, colon).c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

http_answer http(const std::string& where, const std::string& method, const std::string& target,
                 const std::string& body = {}, const std::string& extra_headers = {}) {
  http_answer a;
  const int fd = connect_to(where);
  if (fd < 0) return a;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n" + extra_headers;
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  std::size_t off = 0;
  while (off < req.size()) {
    const ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before reading it all
    off += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return a;
  a.status = std::stoi(raw.substr(9, 3));
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    a.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  a.body = raw.substr(head_end + 4);
  return a;
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---- a fake systemd notification socket ------------------------------------------

class notify_listener {
 public:
  explicit notify_listener(const fs::path& path) : path_(path.string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind " + path_);
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    reader_ = std::thread([this] {
      char buf[4096];
      while (!done_) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard lock(mu_);
        messages_.push_back({steady::now(), std::string(buf, static_cast<std::size_t>(n))});
      }
    });
  }
  ~notify_listener() {
    done_ = true;
    reader_.join();
    ::close(fd_);
  }
  const std::string& path() const { return path_; }

  struct message {
    steady::time_point at;
    std::string text;
  };
  std::vector<message> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  /// Arrival times of messages holding `what` (e.g. "WATCHDOG=1").
  std::vector<steady::time_point> times_of(const std::string& what) const {
    std::vector<steady::time_point> out;
    for (const auto& m : messages())
      if (m.text.find(what) != std::string::npos) out.push_back(m.at);
    return out;
  }
  bool seen(const std::string& what) const { return !times_of(what).empty(); }

 private:
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> done_{false};
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<message> messages_;
};

std::chrono::milliseconds longest_gap(const std::vector<steady::time_point>& t, steady::time_point from,
                                      steady::time_point to) {
  std::chrono::milliseconds gap{0};
  steady::time_point prev = from;
  for (auto x : t) {
    if (x < from || x > to) continue;
    gap = std::max(gap, std::chrono::duration_cast<std::chrono::milliseconds>(x - prev));
    prev = x;
  }
  return std::max(gap, std::chrono::duration_cast<std::chrono::milliseconds>(to - prev));
}

/// Adds an admin section listening on a free loopback port with `token` (in
/// dir/admin.token) plus `extra` lines; returns the TCP address.
std::string with_admin(setup_options& o, const fs::path& dir, const std::string& token, const std::string& extra = {}) {
  fs::create_directories(dir);
  std::ofstream(dir / "admin.token") << token << "\n";
  std::string tcp = "127.0.0.1:" + std::to_string(free_tcp_port());
  o.top_extra += "admin:\n  listen: " + tcp + "\n  token: {file: admin.token}\n" + extra;
  return tcp;
}

void wait_ready(const daemon_setup& d) {
  ASSERT_TRUE(wait_until([&] { return d.log().find("daemon.ready") != std::string::npos; }, 30s)) << d.log();
}

//------------------------------------------------------------------------------

TEST(Systemd, ReadyWatchdogPingsStopWhileTheLoopIsBlockedStatusAndStopping) {
  temp_dir tmp("ts-notify");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "d", sim);
  notify_listener notify(tmp.path() / "notify.sock");
  auto env = d.env();
  env["NOTIFY_SOCKET"] = notify.path();
  env["WATCHDOG_USEC"] = "1000000";  // pings every 500 ms
  child_process daemon({ticketsyncd_path(), "run", "-c", d.config_path()}, env, d.log_path());

  ASSERT_TRUE(wait_until([&] { return notify.seen("READY=1"); }, 30s)) << d.log();
  std::this_thread::sleep_for(3s);
  const auto healthy_to = steady::now();
  const auto pings = notify.times_of("WATCHDOG=1");
  const auto ready_at = notify.times_of("READY=1").front();
  // Margins for a loaded machine (and sanitizer builds): 6 expected, gaps of 500 ms.
  EXPECT_GE(std::count_if(pings.begin(), pings.end(), [&](auto t) { return t > ready_at; }), 4);
  EXPECT_LT(longest_gap(pings, ready_at, healthy_to), 1500ms);
  EXPECT_TRUE(notify.seen("STATUS=inbox 0, outbox 0")) << d.log();

  // Wedge the event loop: hold SQLite's write lock while an event arrives. The
  // intake's commit then waits in SQLite's busy handler, on the loop's thread.
  {
    SQLite::Database db(d.database().string(), SQLite::OPEN_READWRITE);
    db.exec("BEGIN IMMEDIATE");
    d.spool_raw("blocked.json", make_event("wazuh", "acme-prod", "wd-1"));
    const auto blocked_from = steady::now();
    // Under SQLite's busy_timeout (5 s), so the daemon's commit then succeeds.
    std::this_thread::sleep_for(4s);
    const auto blocked_to = steady::now();
    db.exec("ROLLBACK");
    EXPECT_GE(longest_gap(notify.times_of("WATCHDOG=1"), blocked_from, blocked_to), 3000ms)
        << "the pings went on while the loop was blocked";
  }
  // Unblocked: the pings resume, and the event that arrived meanwhile is ticketed.
  const auto released = steady::now();
  std::this_thread::sleep_for(2s);
  const auto after = notify.times_of("WATCHDOG=1");
  EXPECT_GE(std::count_if(after.begin(), after.end(), [&](auto t) { return t > released; }), 2);
  EXPECT_TRUE(wait_for(
      sim, [](const json& t) { return t.size() == 1; }, 30s))
      << d.log();

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(30s), 0) << d.log();
  EXPECT_TRUE(notify.seen("STOPPING=1"));
}

// The event loop never waits in fsync: a thread syncs the WAL (store/wal_sync).
// When that sync fails, the commits since the last good one may not be on
// disk, and a later success would prove nothing: the daemon must stop with a
// clear error instead of running on, and must not have acted on the failed
// commit. Here the disk starts failing WAL syncs (an LD_PRELOAD shim) after a
// first event was ticketed; the second event's file must still be in new/
// though its commit reached the database, and after a restart on a healthy
// disk each event has exactly one ticket.
TEST(StoreSync, AFailedWalSyncStopsTheDaemonWithoutActingOnTheUnsyncedCommit) {
  temp_dir tmp("ts-walfail");
  cwsim_process sim(tmp.path() / "sim");
  daemon_setup d(tmp.path() / "d", sim);
  const fs::path flag = tmp.path() / "disk-fails";
  const char* asan = std::getenv("ASAN_OPTIONS");
  // The shim comes before the sanitizer runtime in the library order.
  const std::string asan_options = (asan && *asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0";
  auto daemon = d.start({{"LD_PRELOAD", TS_WAL_SYNC_FAIL_SHIM},
                         {"TS_TEST_WAL_SYNC_FAIL_FLAG", flag.string()},
                         {"ASAN_OPTIONS", asan_options}});
  wait_ready(d);
  d.spool_raw("first.json", make_event("wazuh", "acme-prod", "wal-1"));
  ASSERT_TRUE(wait_for(
      sim, [](const json& t) { return t.size() == 1; }, 30s))
      << d.log();

  std::ofstream(flag) << "x";
  d.spool_raw("second.json", make_event("wazuh", "acme-prod", "wal-2"));
  EXPECT_EQ(daemon->wait(30s).value_or(-1), 1) << d.log();
  const std::string log = d.log();
  EXPECT_NE(log.find("store.sync_failed fdatasync of '" + d.database().string() + "-wal' failed: Input/output error"),
            std::string::npos)
      << log;
  {
    SQLite::Database db(d.database().string(), SQLite::OPEN_READONLY);
    const int stored = db.execAndGet(
                             "SELECT (SELECT count(*) FROM inbox WHERE body LIKE '%\"wal-2\"%') + "
                             "(SELECT count(*) FROM issues WHERE issue_id = 'wal-2')")
                           .getInt();
    EXPECT_GE(stored, 1) << "the second event was never committed, so this test proves nothing";
  }
  EXPECT_TRUE(fs::exists(d.spool() / "new" / "second.json")) << "the file went although its commit was not synced";
  EXPECT_EQ(sim.tickets().size(), 1u);

  fs::remove(flag);
  auto again = d.start();
  EXPECT_TRUE(wait_for(
      sim, [](const json& t) { return t.size() == 2; }, 30s))
      << d.log();
  const json tickets = sim.tickets();
  EXPECT_FALSE(ticket_by_xref(tickets, correlation_key({"wazuh", "acme-prod", "wal-1"})).is_null());
  EXPECT_FALSE(ticket_by_xref(tickets, correlation_key({"wazuh", "acme-prod", "wal-2"})).is_null());
  EXPECT_FALSE(fs::exists(d.spool() / "new" / "second.json"));
  again->signal(SIGTERM);
  EXPECT_EQ(again->wait(30s).value_or(-1), 0) << d.log();
  EXPECT_EQ(sim.tickets().size(), 2u) << "a ticket was created twice";
}

TEST(AdminApi, HealthReadinessEventsAndMetricsOverTcpAndUnixSocket) {
  temp_dir tmp("ts-admin");
  cwsim_process sim(tmp.path() / "sim");
  const std::string token = "adm-5e1d-token-value";
  const fs::path dir = tmp.path() / "d";
  const std::string sock = (dir / "admin.sock").string();
  setup_options o;
  const std::string tcp = with_admin(o, dir, token, "  socket: " + sock + "\n  max_body_size: 4KiB\n");
  daemon_setup d(dir, sim, o);
  auto daemon = d.start();
  wait_ready(d);
  const std::string auth = "Authorization: Bearer " + token + "\r\n";

  auto health = http(tcp, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  auto head = http(tcp, "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "3");
  EXPECT_EQ(head.body, "");
  EXPECT_TRUE(wait_until([&] { return http(tcp, "GET", "/readyz").status == 200; }, 30s)) << d.log();
  EXPECT_EQ(json::parse(http("unix:" + sock, "GET", "/readyz").body)["checks"]["psa"], "connected");

  // POST /v1/events: each answer.
  const std::string e1 = make_event("wazuh", "acme-prod", "api-1");
  EXPECT_EQ(http(tcp, "POST", "/v1/events", e1).status, 401);
  EXPECT_EQ(http(tcp, "POST", "/v1/events", e1, "Authorization: Bearer wrong\r\n").status, 401);
  auto ok = http(tcp, "POST", "/v1/events", e1, auth);
  EXPECT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["accepted"], 1);
  ok = http("unix:" + sock, "POST", "/v1/events",
            "[" + make_event("wazuh", "globex", "api-2") + "," + make_event("wazuh", "initech", "api-3") + "]");
  EXPECT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["accepted"], 2);
  auto bad = http(tcp, "POST", "/v1/events",
                  "[" + make_event("wazuh", "acme-prod", "api-4") + "," +
                      make_event("wazuh", "acme-prod", "api-5", "open", "urgent") + "]",
                  auth);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["index"], 1);
  EXPECT_EQ(json::parse(bad.body)["field"], "severity");
  auto big = http(tcp, "POST", "/v1/events", std::string(5000, ' ') + e1, auth);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(http(tcp, "GET", "/v1/events", "", auth).status, 405);
  EXPECT_EQ(http(tcp, "GET", "/nowhere").status, 404);
  auto garbage = http(tcp, "BREW", "/coffee");
  EXPECT_TRUE(garbage.status == 400 || garbage.status == 405) << garbage.status;

  // Exactly the three accepted events become tickets.
  EXPECT_TRUE(wait_for(
      sim, [](const json& t) { return t.size() == 3; }, 30s))
      << d.log();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(sim.tickets().size(), 3u);

  // /metrics, read by the Prometheus client library's parser.
  auto m = http("unix:" + sock, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  std::ofstream(tmp.path() / "metrics.txt") << m.body;
  std::string parsed;
  const int rc = run_program({"/usr/bin/python3", "-c",
                              "import json, sys\n"
                              "from prometheus_client.parser import text_string_to_metric_families\n"
                              "out = []\n"
                              "for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
                              "    for s in f.samples:\n"
                              "        out.append([f.type, s.name, s.labels, s.value])\n"
                              "print(json.dumps(out))\n",
                              (tmp.path() / "metrics.txt").string()},
                             {}, &parsed);
  ASSERT_EQ(rc, 0) << parsed;
  const json samples = json::parse(parsed);
  auto value = [&](const std::string& name, const json& labels) -> std::optional<double> {
    for (const auto& s : samples)
      if (s[1] == name && s[2] == labels) return s[3].get<double>();
    return std::nullopt;
  };
  EXPECT_EQ(value("ticketsync_events_received_total", {{"via", "api"}}), 3.0);
  EXPECT_EQ(value("ticketsync_events_rejected_total", {{"via", "api"}, {"reason", "unauthorized"}}), 2.0);
  EXPECT_EQ(value("ticketsync_events_rejected_total", {{"via", "api"}, {"reason", "invalid_field"}}), 1.0);
  EXPECT_EQ(value("ticketsync_operations_total", {{"kind", "create"}, {"outcome", "done"}}), 3.0);
  EXPECT_EQ(value("ticketsync_psa_requests_total", {{"endpoint", "/service/tickets"}, {"status", "201"}}), 3.0);
  EXPECT_EQ(
      value("ticketsync_psa_request_duration_seconds_count", {{"endpoint", "/service/tickets"}}),
      value("ticketsync_psa_requests_total", {{"endpoint", "/service/tickets"}, {"status", "201"}}).value_or(0) +
          value("ticketsync_psa_requests_total", {{"endpoint", "/service/tickets"}, {"status", "200"}}).value_or(0));
  EXPECT_EQ(value("ticketsync_psa_connected", json::object()), 1.0);
  EXPECT_EQ(value("ticketsync_inbox_depth", json::object()), 0.0);
  EXPECT_EQ(value("ticketsync_dead_letters", json::object()), 0.0);
  EXPECT_GT(value("ticketsync_psa_last_success_timestamp_seconds", json::object()).value_or(0), 1.7e9);

  // A reload is counted.
  daemon->signal(SIGHUP);
  EXPECT_TRUE(wait_until(
      [&] {
        return http(tcp, "GET", "/metrics").body.find("ticketsync_config_reloads_total{result=\"ok\"} 1") !=
               std::string::npos;
      },
      20s));

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(30s), 0) << d.log();
  EXPECT_FALSE(fs::exists(sock)) << "the socket file is removed at exit";
  // The summary counts what the API took, not only the spool.
  EXPECT_NE(d.log().find("daemon.stopped intake_accepted=3 "), std::string::npos) << d.log();
  EXPECT_NE(d.log().find(" api_accepted=3 "), std::string::npos) << d.log();
}

TEST(Secrets, NoKeyOrAuthorizationValueInAnyOutputAndLogsAreJsonLines) {
  temp_dir tmp("ts-secrets");
  cwsim_process sim(tmp.path() / "sim");
  const std::string token = "adm-77c3-token-value";
  const fs::path dir = tmp.path() / "d";
  setup_options o;
  o.logging = "  level: trace\n  format: json\n";
  const std::string tcp = with_admin(o, dir, token);
  daemon_setup d(dir, sim, o);
  auto daemon = d.start();
  wait_ready(d);

  // A whole lifecycle, a refused request, a throttled and a failing PSA.
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  std::vector<std::string> outputs;
  auto post = [&](const std::string& body, const std::string& headers) {
    auto a = http(tcp, "POST", "/v1/events", body, headers);
    outputs.push_back(a.body);
    return a.status;
  };
  EXPECT_EQ(post(make_event("wazuh", "acme-prod", "s-1"), auth), 202);
  EXPECT_EQ(post(make_event("wazuh", "acme-prod", "s-1"), "Authorization: Bearer " + token + "x\r\n"), 401);
  ASSERT_TRUE(wait_for(
      sim, [](const json& t) { return t.size() == 1; }, 30s))
      << d.log();
  sim.post("/__sim/faults", {{"retry_after", 1}, {"script", json::array({{{"at", 1}, {"kind", "429"}}})}});
  EXPECT_EQ(post(make_event("wazuh", "acme-prod", "s-1", "open", "critical", "Changed", "2026-11-01T11:00:00Z"), auth),
            202);
  EXPECT_EQ(
      post(make_event("wazuh", "acme-prod", "s-1", "resolved", "critical", "Changed", "2026-11-01T12:00:00Z"), auth),
      202);
  ASSERT_TRUE(wait_for(
      sim, [](const json& t) { return t.size() == 1 && t[0]["closedFlag"] == true; }, 30s))
      << d.log();
  outputs.push_back(http(tcp, "GET", "/metrics").body);
  outputs.push_back(http(tcp, "GET", "/readyz").body);

  // The operator commands, while the daemon runs.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"check-config"}, {"doctor"}, {"history", "wazuh/acme-prod/s-1"}, {"status"}}) {
    std::vector<std::string> argv{ticketsyncd_path(), args[0], "-c", d.config_path()};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    std::string out;
    run_program(argv, d.env(), &out);
    outputs.push_back(out);
  }
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(30s), 0);

  const std::string log = d.log();
  std::string everything = log;
  for (const auto& o2 : outputs) everything += o2;
  {
    std::ifstream db(d.database(), std::ios::binary);
    everything += std::string(std::istreambuf_iterator<char>(db), {});
  }
  const std::string basic =
      "ZGVtbytkZW1vLXB1YmxpYy1rZXk6ZGVtby1wcml2YXRlLWtleQ==";  // base64 demo+demo-public-key:demo-private-key
  for (const std::string& secret :
       {std::string("demo-private-key"), std::string("demo-public-key"), basic, basic.substr(0, 40), token}) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << "found '" << secret << "' in the output";
  }
  EXPECT_EQ(everything.find("Authorization: Basic"), std::string::npos);

  // Every log line is one JSON object with the envelope; ticket lines carry issue and ticket.
  std::istringstream lines(log);
  std::string line;
  int n = 0, created = 0;
  while (std::getline(lines, line)) {
    ++n;
    json j;
    ASSERT_NO_THROW(j = json::parse(line)) << line;
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    if (j.value("event", "") == "ticket.created") {
      ++created;
      EXPECT_EQ(j["issue"], "wazuh/acme-prod/s-1");
      EXPECT_TRUE(j.contains("ticket")) << line;
    }
  }
  EXPECT_GT(n, 5);
  EXPECT_EQ(created, 1);
  EXPECT_NE(log.find("\"event\":\"psa.throttled\""), std::string::npos) << log;
}

}  // namespace
}  // namespace ts::test
