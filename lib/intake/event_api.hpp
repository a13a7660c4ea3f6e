// POST /v1/events: the webhook intake, for tools that cannot write the spool.
// A request carries one event or an array of them; all are validated, then
// committed to the inbox in one group commit (one fsync shared by concurrent
// requests and with the daemon's other writes of the same loop turn), and
// only then answered 202. The answers:
//   202 {"accepted": N}             committed; the events will be ticketed
//   400 {"error", "index", "field"} the first invalid event (nothing stored)
//   401                             TCP without the right bearer token
//   413                             body over admin.max_body_size (the server)
//   503 + Retry-After               the inbox is over admin.max_inbox_depth,
//                                   the store failed (e.g. disk full), or the
//                                   daemon is stopping: nothing was stored
// A client that gets no answer (timeout, reset) sends the request again: an
// event stored twice is planned once (same issue and updated_at).
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "ops/admin_server.hpp"
#include "ops/metrics.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

namespace ts::intake {

class event_api {
 public:
  /// `token` is the bearer token TCP requests must carry (empty: TCP refused).
  /// Events are stored through `commits` (the daemon's group commit, on the
  /// same store). `on_committed` runs after each commit (the sync engine's notify).
  event_api(const config::admin_config& cfg, std::string token, store::store& st, store::group_commit& commits,
            ops::metrics& m, spdlog::logger& log, const ts::clock& clk, std::function<void()> on_committed);

  boost::asio::awaitable<ops::admin_reply> post(ops::admin_request req);

  /// A reload: the new inbox depth limit and TCP token.
  void reconfigure(const config::admin_config& cfg, std::string token) {
    cfg_ = cfg;
    token_ = std::move(token);
  }
  /// Events committed, and events refused, so far (for the daemon.stopped line).
  std::uint64_t accepted() const noexcept { return accepted_; }
  std::uint64_t rejected() const noexcept { return rejected_; }
  /// After this, requests get 503 (the daemon is stopping).
  void stop() { stopping_ = true; }

  /// Largest number of events in one request.
  static constexpr std::size_t max_batch = 1000;
  /// Seconds a client is asked to wait on 503.
  static constexpr int retry_after_seconds = 5;

 private:
  bool authorized(const ops::admin_request& req) const;
  void reject(std::string_view reason, double n = 1);
  std::int64_t inbox_depth();

  config::admin_config cfg_;
  std::string token_;
  store::store& store_;
  store::group_commit& commit_;
  ops::metrics& metrics_;
  spdlog::logger& log_;
  const ts::clock& clock_;
  std::function<void()> on_committed_;
  bool stopping_ = false;
  std::uint64_t accepted_ = 0;
  std::uint64_t rejected_ = 0;
  std::int64_t depth_ = 0;  // inbox depth, as last counted plus what was added since
  std::chrono::steady_clock::time_point depth_at_{};
};

}  // namespace ts::intake
