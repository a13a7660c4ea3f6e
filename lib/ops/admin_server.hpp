// The admin listener: a small HTTP/1.1 server (Beast) on a unix socket and/or
// a TCP address, serving whatever its handler answers (the daemon routes
// /metrics, /healthz, /readyz and POST /v1/events). It owns the transport
// rules: keep-alive, a header and body size limit (413 before the body is
// read past the limit), read and idle deadlines, a cap on concurrent
// connections, and a 400 for requests that are not HTTP. Handlers run on the
// same executor, one request at a time per connection.
#pragma once

#include "config/config.hpp"
#include "ops/admin_routes.hpp"
#include "sync/timer.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ts::ops {

using admin_handler = std::function<boost::asio::awaitable<admin_reply>(admin_request)>;

class admin_server {
 public:
  admin_server(boost::asio::any_io_executor ex, const config::admin_config& cfg, admin_handler handler,
               spdlog::logger& log, sync::timer_source& timers);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// Binds the configured socket and/or address. A stale socket file (no one
  /// listening) is replaced. Throws std::runtime_error naming the address or
  /// path when it cannot listen.
  void open();
  /// Accepts until stop(); connections finish their current request.
  boost::asio::awaitable<void> run();
  void stop();

  /// The bound TCP address ("127.0.0.1:34567"), after open(); empty without TCP.
  std::string tcp_address() const;

  /// How long a connection may take to send a request (or stay idle between
  /// requests), and to take its answer.
  static constexpr std::chrono::seconds request_deadline{30};

 private:
  friend class public_server;
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// The public listener (config public:): everything arriving from outside,
/// apart from the admin listener. The same transport rules, one TCP address,
/// TLS with the certificate of load_certificate() (plain HTTP without one:
/// on loopback, behind a proxy), and public.requests_per_second per client
/// address (429 past it).
class public_server {
 public:
  public_server(boost::asio::any_io_executor ex, const config::public_config& cfg, admin_handler handler,
                spdlog::logger& log, sync::timer_source& timers);
  ~public_server();
  public_server(const public_server&) = delete;
  public_server& operator=(const public_server&) = delete;

  /// Reads the certificate chain and key (PEM). New connections use them;
  /// on failure the previous ones stay and the reason is returned. Call it
  /// before run() for TLS; a reload calls it again.
  std::optional<std::string> load_certificate(const std::string& cert_file, const std::string& key_file);
  void open();
  boost::asio::awaitable<void> run();
  void stop();
  std::string tcp_address() const;

 private:
  std::shared_ptr<admin_server::impl> impl_;
};

}  // namespace ts::ops
