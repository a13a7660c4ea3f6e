// A small HTTPS/1.1 client over Boost.Beast for one server: TLS 1.2+, peer and
// host-name verification always on (optionally with an extra CA file), SNI,
// keep-alive connections reused across requests, a deadline on every stage
// (connect, handshake, request) and a response size limit.
//
// Concurrency: any number of send() calls may be in progress at once on the
// client's (single-threaded) executor; each uses its own connection, taken from
// the idle set or newly opened. The caller bounds concurrency.
#pragma once

#include "core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ts::psa {

struct http_request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;  ///< origin-form, e.g. "/v2025_1/apis/3.0/service/tickets"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< sent with Content-Type: application/json when non-empty
};

struct http_response {
  unsigned status = 0;
  std::string body;
  std::string retry_after;  ///< Retry-After header, if any
  std::string link;         ///< Link header, if any
  std::string date;         ///< Date header, if any (the server's clock)
};

/// Why no response was received.
struct transport_failure {
  boost::system::error_code ec;
  std::string stage;        ///< "resolve", "connect", "handshake", "write", "read"
  bool maybe_sent = false;  ///< the request may have reached the server (write started)
  std::string to_string() const;
};

struct client_options {
  std::string host;
  std::string port = "443";
  std::string ca_file;  ///< extra trust anchors (PEM); the system store is always loaded too
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::size_t max_response_bytes = 8u << 20;
  /// Idle connections older than this are closed instead of reused.
  std::chrono::milliseconds idle_timeout{20'000};
};

/// Builds the TLS client context: TLS >= 1.2, verify_peer, system trust store
/// plus `ca_file`. Throws std::runtime_error naming ca_file when it cannot be loaded.
boost::asio::ssl::context make_tls_context(const std::string& ca_file);

class https_client {
 public:
  https_client(boost::asio::any_io_executor ex, client_options opts, const ts::clock& clk);
  ~https_client();
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  using send_result = boost::system::result<http_response, transport_failure>;

  /// Sends `req` and reads the whole response. Host, User-Agent and
  /// Content-Length are set here. Never throws for network conditions.
  boost::asio::awaitable<send_result> send(http_request req);

  /// New deadlines and response size limit (a reload), for the requests
  /// that start from now on. The server and CA file stay.
  void set_options(const client_options& opts);

  /// Closes idle connections.
  void close_idle();

  /// Connections opened so far (for tests and metrics).
  std::size_t connections_opened() const noexcept { return opened_; }

 private:
  struct connection;
  boost::asio::awaitable<boost::system::result<std::unique_ptr<connection>, transport_failure>> open();

  boost::asio::any_io_executor ex_;
  client_options opts_;
  const ts::clock& clock_;
  boost::asio::ssl::context tls_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t opened_ = 0;
};

}  // namespace ts::psa

namespace boost::system {
[[noreturn]] void throw_exception_from_error(const ts::psa::transport_failure& e, const boost::source_location& loc);
}  // namespace boost::system
