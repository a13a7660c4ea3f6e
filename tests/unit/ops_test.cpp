// Unit tests of the pure parts of ops/: the Prometheus registry and text
// format, and the structure read out of log messages for JSON lines.
#include "ops/admin_routes.hpp"
#include "ops/logging.hpp"
#include "ops/metrics.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace {

using ts::ops::metrics;

TEST(Metrics, RendersHelpTypeAndSeriesSortedByLabels) {
  metrics m;
  m.declare("ts_ops_total", metrics::type::counter, "Operations.");
  m.declare("ts_depth", metrics::type::gauge, "Depth.");
  m.add("ts_ops_total", {{"kind", "note"}, {"outcome", "done"}});
  m.add("ts_ops_total", {{"kind", "create"}, {"outcome", "done"}}, 2);
  m.add("ts_ops_total", {{"kind", "create"}, {"outcome", "done"}});
  m.set("ts_depth", 7);
  EXPECT_EQ(m.render(),
            "# HELP ts_depth Depth.\n"
            "# TYPE ts_depth gauge\n"
            "ts_depth 7\n"
            "# HELP ts_ops_total Operations.\n"
            "# TYPE ts_ops_total counter\n"
            "ts_ops_total{kind=\"create\",outcome=\"done\"} 3\n"
            "ts_ops_total{kind=\"note\",outcome=\"done\"} 1\n");
  EXPECT_EQ(m.value("ts_ops_total", {{"kind", "create"}, {"outcome", "done"}}), 3);
  EXPECT_EQ(m.value("ts_ops_total", {{"kind", "close"}, {"outcome", "done"}}), 0);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  metrics m;
  m.declare("ts_latency_seconds", metrics::type::histogram, "Latency.", {0.1, 1});
  for (double v : {0.05, 0.1, 0.5, 3.0}) m.observe("ts_latency_seconds", {{"endpoint", "/t"}}, v);
  EXPECT_EQ(m.render(),
            "# HELP ts_latency_seconds Latency.\n"
            "# TYPE ts_latency_seconds histogram\n"
            "ts_latency_seconds_bucket{endpoint=\"/t\",le=\"0.1\"} 2\n"
            "ts_latency_seconds_bucket{endpoint=\"/t\",le=\"1\"} 3\n"
            "ts_latency_seconds_bucket{endpoint=\"/t\",le=\"+Inf\"} 4\n"
            "ts_latency_seconds_sum{endpoint=\"/t\"} 3.65\n"
            "ts_latency_seconds_count{endpoint=\"/t\"} 4\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  metrics m;
  m.declare("ts_x_total", metrics::type::counter, "Back\\slash and\nnewline.");
  m.add("ts_x_total", {{"v", "a\"b\\c\nd"}});
  EXPECT_EQ(m.render(),
            "# HELP ts_x_total Back\\\\slash and\\nnewline.\n"
            "# TYPE ts_x_total counter\n"
            "ts_x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, ProgrammingErrorsThrow) {
  metrics m;
  m.declare("ts_a_total", metrics::type::counter, "A.");
  m.declare("ts_g", metrics::type::gauge, "G.");
  EXPECT_THROW(m.declare("ts_a_total", metrics::type::counter, "again"), std::logic_error);
  EXPECT_THROW(m.declare("ts_no_suffix", metrics::type::counter, "x"), std::logic_error);
  EXPECT_THROW(m.declare("1bad", metrics::type::gauge, "x"), std::logic_error);
  EXPECT_THROW(m.declare("ts_h", metrics::type::histogram, "x", {1, 1}), std::logic_error);
  EXPECT_THROW(m.declare("ts_h", metrics::type::histogram, "x", {}), std::logic_error);
  EXPECT_THROW(m.add("ts_undeclared_total"), std::logic_error);
  EXPECT_THROW(m.add("ts_g"), std::logic_error);  // a gauge is not a counter
  EXPECT_THROW(m.add("ts_a_total", {}, -1), std::logic_error);
  EXPECT_THROW(m.observe("ts_a_total", {}, 1), std::logic_error);
  EXPECT_THROW(m.add("ts_a_total", {{"bad-label", "x"}}), std::logic_error);
  EXPECT_THROW(m.add("ts_a_total", {{"__reserved", "x"}}), std::logic_error);
  m.set("ts_a_total", {}, 5);  // a counter may mirror a count kept elsewhere
  EXPECT_EQ(m.value("ts_a_total"), 5);
}

TEST(Metrics, ValuesRenderAsTheFormatWritesThem) {
  const struct {
    double v;
    const char* want;
  } cases[] = {
      {0, "0"},
      {42, "42"},
      {-3, "-3"},
      {0.25, "0.25"},
      {1e14, "100000000000000"},
      {1.5e15, "1.5e+15"},
      {1e300, "1e+300"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::nan(""), "NaN"},
  };
  for (const auto& c : cases) EXPECT_EQ(ts::ops::render_value(c.v), c.want) << c.v;
}

TEST(Metrics, TheDaemonCatalogueDeclaresEveryFamilyTheIssueNames) {
  metrics m;
  ts::ops::declare_ticketsync_metrics(m);
  const std::string out = m.render();
  for (const char* name :
       {"ticketsync_events_received_total", "ticketsync_events_rejected_total", "ticketsync_inbox_depth",
        "ticketsync_outbox_pending", "ticketsync_operations_total", "ticketsync_psa_requests_total",
        "ticketsync_psa_request_duration_seconds", "ticketsync_retries_total", "ticketsync_rate_limit_waits_total",
        "ticketsync_dead_letters", "ticketsync_psa_connected", "ticketsync_psa_last_success_timestamp_seconds",
        "ticketsync_config_reloads_total"})
    EXPECT_NE(out.find("# TYPE " + std::string(name) + " "), std::string::npos) << name;
}

//------------------------------------------------------------------------------
// Log messages -> JSON lines

TEST(LogMessage, EventNameAndFieldsAreReadOut) {
  const struct {
    const char* message;
    const char* event;
    std::vector<std::pair<std::string, std::string>> fields;
  } cases[] = {
      {"ticket.created issue=wazuh/acme/1 ticket=42", "ticket.created", {{"issue", "wazuh/acme/1"}, {"ticket", "42"}}},
      {"op.retry issue=k op=3 error=\"500: boom \\\"x\\\"\" attempt=2",
       "op.retry",
       {{"issue", "k"}, {"op", "3"}, {"error", "500: boom \"x\""}, {"attempt", "2"}}},
      {"psa.blocked ConnectWise answered 403 for close (issue=a/b/c): sending paused", "psa.blocked", {}},
      {"daemon.ready", "daemon.ready", {}},
      {"plain words key=v", "", {{"key", "v"}}},
      {"Not.an.event x=1", "", {{"x", "1"}}},
      {"trailing. x=1", "", {{"x", "1"}}},
      {"a.b \"quoted words x=1\" y=2", "a.b", {{"y", "2"}}},
      {"a.b unterminated=\"abc", "a.b", {{"unterminated", "abc"}}},
      {"a.b empty= next=1", "a.b", {{"empty", ""}, {"next", "1"}}},
      {"", "", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    const auto f = ts::ops::parse_message(c.message);
    EXPECT_EQ(f.event, c.event);
    EXPECT_EQ(f.fields, c.fields);
  }
}

TEST(LogMessage, JsonLineIsOneObjectWithEnvelopeFirst) {
  const std::string line = ts::ops::json_line("2026-11-22T10:00:00.000Z", "warn", "ticketsyncd",
                                              "psa.throttled issue=k ticket=7 level=spoof retry_after_ms=1000");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(j["level"], "warn");  // a field named like the envelope does not replace it
  EXPECT_EQ(j["event"], "psa.throttled");
  EXPECT_EQ(j["issue"], "k");
  EXPECT_EQ(j["ticket"], "7");
  EXPECT_EQ(j["retry_after_ms"], "1000");
  EXPECT_EQ(j["message"], "psa.throttled issue=k ticket=7 level=spoof retry_after_ms=1000");
  EXPECT_EQ(line.rfind("{\"time\":", 0), 0u);
}

TEST(LogMessage, InvalidUtf8StaysOneValidJsonLine) {
  const std::string line = ts::ops::json_line("t", "info", "l", "intake.rejected file=\xff\xfe reason=\"bad\"");
  const auto j = nlohmann::json::parse(line);  // throws on invalid UTF-8
  EXPECT_EQ(j["event"], "intake.rejected");
  EXPECT_EQ(j["reason"], "bad");
}

}  // namespace

//------------------------------------------------------------------------------
// admin routes (ops/admin_routes.hpp): without sockets

namespace {

ts::ops::admin_request request(std::string method, std::string target) {
  ts::ops::admin_request r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

}  // namespace

TEST(AdminRoutes, EachEndpointIsRoutedAndEverythingElseAnsweredAsItIs) {
  using ts::ops::admin_route;
  const struct {
    const char* method;
    const char* target;
    std::optional<admin_route> route;
    unsigned status;  // when not routed
    const char* allow;
  } cases[] = {
      {"POST", "/v1/events", admin_route::events, 0, ""},
      {"POST", "/v1/events?x=1", admin_route::events, 0, ""},
      {"GET", "/v1/events", std::nullopt, 405, "POST"},
      {"GET", "/metrics", admin_route::metrics, 0, ""},
      {"HEAD", "/metrics", admin_route::metrics, 0, ""},
      {"GET", "/healthz", admin_route::healthz, 0, ""},
      {"GET", "/readyz?verbose", admin_route::readyz, 0, ""},
      {"POST", "/metrics", std::nullopt, 405, "GET, HEAD"},
      {"DELETE", "/readyz", std::nullopt, 405, "GET, HEAD"},
      {"GET", "/", std::nullopt, 404, ""},
      {"POST", "/v1/event", std::nullopt, 404, ""},
      {"GET", "/metricsx", std::nullopt, 404, ""},
      {"BREW", "/coffee", std::nullopt, 405, "GET, HEAD, POST"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    const auto r = ts::ops::route_admin(request(c.method, c.target));
    EXPECT_EQ(r.route, c.route);
    if (c.route) continue;
    EXPECT_EQ(r.reply.status, c.status);
    EXPECT_EQ(r.reply.content_type, "application/json");
    const std::string allow = r.reply.headers.empty() ? "" : r.reply.headers.front().second;
    EXPECT_EQ(allow, c.allow);
  }
}

TEST(AdminRoutes, ReadinessNeedsTheStoreAndAConnectedPsa) {
  ts::ops::readiness r;
  r.psa_state = "connected";
  auto reply = ts::ops::readiness_reply(r);
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(reply.body)["checks"]["store"], "ok");
  r.psa_state = "blocked";
  r.psa_error = "HTTP 401 Unauthorized";
  reply = ts::ops::readiness_reply(r);
  EXPECT_EQ(reply.status, 503u);
  const auto j = nlohmann::json::parse(reply.body);
  EXPECT_EQ(j["ready"], false);
  EXPECT_EQ(j["checks"]["psa"], "blocked");
  EXPECT_EQ(j["checks"]["psa_error"], "HTTP 401 Unauthorized");
  r.psa_state = "connected";
  r.store_error = "disk I/O error";
  reply = ts::ops::readiness_reply(r);
  EXPECT_EQ(reply.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(reply.body)["checks"]["store"], "failed: disk I/O error");
  EXPECT_EQ(ts::ops::healthz_reply().body, "ok\n");
  EXPECT_EQ(ts::ops::metrics_reply("x 1\n").content_type, "text/plain; version=0.0.4; charset=utf-8");
}
