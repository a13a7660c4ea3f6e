// The engine's view of its ConnectWise connection (sync/link.hpp): every
// transition, from connect outcomes and from the answers of operations.
#include "sync/link.hpp"

#include "support/enum_tables.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using namespace std::chrono_literals;
using ts::sync::link_state;
using ts::sync::psa_link;
using kind = ts::psa::psa_failure::kind;

const ts::sys_ms wall0 = ts::from_unix_ms(1'800'000'000'000);
const ts::steady_time t0{std::chrono::hours{5}};

ts::psa::psa_failure failure(kind k, int http = 0) {
  ts::psa::psa_failure f;
  f.what = k;
  f.http_status = http;
  f.detail = "boom";
  return f;
}

/// The runtime row `key` among the update's writes, if any.
std::optional<std::string> row(const ts::sync::link_update& u, const std::string& key) {
  for (const auto& w : u.writes)
    if (const auto* r = std::get_if<ts::sync::wr::runtime>(&w); r && r->key == key) return r->value;
  return std::nullopt;
}

TEST(Link, StartsConnectingAndRecordsIt) {
  psa_link l(wall0);
  EXPECT_EQ(l.status().state, link_state::connecting);
  EXPECT_FALSE(l.ready(false));
  EXPECT_TRUE(l.ready(true));
  EXPECT_TRUE(l.connect_due(false, t0));
  EXPECT_FALSE(l.connect_due(true, t0));
  const auto rows = l.started_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(std::get<ts::sync::wr::runtime>(rows[0]).value, "connecting");
  ts::test::expect_bijective_table<link_state>(4);
}

TEST(Link, AFailedConnectBacksOffWithJitterAndAnAuthFailureBlocks) {
  psa_link l(wall0);
  auto u = l.connect_failed(failure(kind::transport), t0, wall0, 0.0);
  EXPECT_EQ(l.status().state, link_state::unreachable);
  EXPECT_EQ(row(u, "psa.state"), "unreachable");
  EXPECT_EQ(row(u, "psa.last_error"), "boom");
  EXPECT_EQ(l.next_attempt() - t0, 500ms);  // first failure: half of the 1 s base at the lowest draw
  EXPECT_FALSE(l.connect_due(false, t0 + 499ms));
  EXPECT_TRUE(l.connect_due(false, t0 + 500ms));
  l.connect_failed(failure(kind::transport), t0, wall0, 0.999);
  EXPECT_LE(l.next_attempt() - t0, 2s);  // second: up to 2 s
  EXPECT_GE(l.next_attempt() - t0, 1s);

  u = l.connect_failed(failure(kind::auth, 401), t0, wall0 + 1s, 0.5);
  EXPECT_EQ(l.status().state, link_state::blocked);
  EXPECT_EQ(l.next_attempt() - t0, psa_link::auth_probe_interval);
  EXPECT_FALSE(l.ready(true)) << "blocked: nothing is sent, connected or not";
  ASSERT_FALSE(u.notices.empty());
  EXPECT_EQ(u.notices.front().text.rfind("psa.blocked", 0), 0u);

  u = l.connected(t0 + 30s, wall0 + 30s);
  EXPECT_EQ(l.status().state, link_state::connected);
  EXPECT_TRUE(l.ready(true));
  ASSERT_FALSE(u.notices.empty());
  EXPECT_EQ(u.notices.front().text.rfind("psa.unblocked", 0), 0u);
}

TEST(Link, AnswersMoveTheStateToConnectedAndAnAuthAnswerBlocks) {
  psa_link l(wall0);
  l.connect_failed(failure(kind::server, 500), t0, wall0, 0.5);  // the warm-up failed
  ASSERT_EQ(l.status().state, link_state::unreachable);
  auto u = l.observed(nullptr, t0 + 1s, wall0 + 1s);
  EXPECT_EQ(l.status().state, link_state::connected);
  EXPECT_EQ(row(u, "psa.state"), "connected");
  EXPECT_EQ(l.status().last_success, wall0 + 1s);

  // A failing request while connected leaves the state and shows as the last error.
  const auto f = failure(kind::transport);
  u = l.observed(&f, t0 + 2s, wall0 + 2s);
  EXPECT_EQ(l.status().state, link_state::connected);
  EXPECT_EQ(row(u, "psa.last_error"), "boom");
  // A name that does not resolve is the mapping's failure, not ConnectWise's.
  const auto name = failure(kind::rejected, 0);
  u = l.observed(&name, t0 + 3s, wall0 + 3s);
  EXPECT_FALSE(row(u, "psa.last_error"));

  const auto auth = failure(kind::auth, 403);
  u = l.observed(&auth, t0 + 4s, wall0 + 4s);
  EXPECT_EQ(l.status().state, link_state::blocked);
  EXPECT_FALSE(l.ready(true));
  EXPECT_TRUE(l.connect_due(true, t0 + 34s));
  // No answer unblocks: only a probe (a connect) does.
  l.observed(nullptr, t0 + 5s, wall0 + 5s);
  EXPECT_EQ(l.status().state, link_state::blocked);
}

TEST(Link, TheLastSuccessIsWrittenAtMostEveryTenSeconds) {
  psa_link l(wall0);
  int writes = 0;
  for (int s = 0; s < 25; ++s)
    writes +=
        row(l.observed(nullptr, t0 + std::chrono::seconds{s}, wall0 + std::chrono::seconds{s}), "psa.last_success_at")
            .has_value();
  EXPECT_EQ(writes, 3);  // at 0, 10 and 20 s
  EXPECT_EQ(l.status().last_success, wall0 + 24s);
}

}  // namespace
