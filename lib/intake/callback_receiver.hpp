// POST {reverse.callback_path} on the public listener: ConnectWise's ticket
// callbacks. A callback is checked (sources/cw_callback.hpp: the body, its
// company and type, Metadata.key_url against the allowed key hosts), its
// x-content-signature verified with the signing key fetched from key_url
// (HTTPS, verified, no redirects, size and time caps, cached per URL), and
// only then committed as a ticket hint (store ticket_hints) before it is
// answered. Nothing in its Entity is trusted: the engine re-reads the ticket.
// The answers (ConnectWise retries only 404/409/419/429, twice, within
// seconds):
//   200 {"status":"accepted"}   committed; the engine re-reads the ticket
//   200 {"status":"duplicate"}  this delivery was taken before
//   200 {"status":"ignored"}    not a ticket ticketsync tracks (nothing stored)
//   400 {"error"}               malformed (the reason names the field)
//   401 {"error"}               unsigned, or the signature does not match
//   403 {"error"}               another company, or a key_url host not allowed
//   429 + Retry-After           cannot take it now (the key could not be
//                               fetched, too many hints queued, the store
//                               failed, stopping): ConnectWise retries
// Each refusal is counted (ticketsync_callbacks_total{outcome}) and logged
// with its reason; the signature and the key are never logged.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "ops/admin_routes.hpp"
#include "ops/metrics.hpp"
#include "sources/cw_callback.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace ts::intake {

/// Fetches a signing key (IO seam: the real one speaks HTTPS; tests may serve keys from memory).
class signing_key_source {
 public:
  virtual ~signing_key_source() = default;
  struct answer {
    bool ok = false;
    std::string text;  ///< the body key_url answered, or why not (a reason for the log, without secrets)
  };
  virtual boost::asio::awaitable<answer> fetch(const key_location& where) = 0;
};

/// The real source: one HTTPS client per key host, TLS verified (psa.ca_file
/// trusted too), 5 s per stage, at most max_signing_key_answer_bytes, any
/// answer but 200 refused (so no redirect is followed).
std::unique_ptr<signing_key_source> https_key_source(boost::asio::any_io_executor ex, const config::psa_config& psa,
                                                     const ts::clock& clk);

class callback_receiver {
 public:
  /// `on_committed` runs after each hint is committed (the engine's notify).
  callback_receiver(std::shared_ptr<const config::config> cfg, store::store& st, store::group_commit& commits,
                    signing_key_source& keys, ops::metrics& m, spdlog::logger& log, const ts::clock& clk,
                    std::function<void()> on_committed);

  boost::asio::awaitable<ops::admin_reply> post(ops::admin_request req);

  void reconfigure(std::shared_ptr<const config::config> cfg) { cfg_ = std::move(cfg); }
  void stop() { stopping_ = true; }

  /// The hosts key_url may name under `cfg`: reverse.key_hosts, or the host of psa.site.
  static std::vector<std::string> key_hosts(const config::config& cfg);

  /// Most hints queued before callbacks are answered 429.
  static constexpr std::int64_t max_queued_hints = 10'000;
  /// How long a fetched signing key is used before it is fetched again.
  static constexpr std::chrono::minutes key_ttl{60};
  static constexpr int retry_after_seconds = 5;

 private:
  ops::admin_reply refuse(unsigned status, std::string_view outcome, const std::string& why, const std::string& peer);
  boost::asio::awaitable<std::optional<std::string>> signing_key(const std::string& url, const key_location& where,
                                                                 bool fresh);

  std::shared_ptr<const config::config> cfg_;
  store::store& store_;
  store::group_commit& commits_;
  signing_key_source& keys_;
  ops::metrics& metrics_;
  spdlog::logger& log_;
  const ts::clock& clock_;
  std::function<void()> on_committed_;
  bool stopping_ = false;
  struct cached_key {
    std::string key;
    steady_time fetched{};
  };
  std::map<std::string, cached_key> key_cache_;  // by key_url
};

}  // namespace ts::intake
