// The admin endpoints as a pure request -> response handler: HTTP request and
// reply values (the admin server's socket side speaks them), where a request
// goes (/metrics, /healthz, /readyz, POST /v1/events) or the answer it gets
// without going anywhere (404, 405 with Allow), and the answers built from
// plain values. Tested without sockets; the daemon's handler is a switch.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::ops {

struct admin_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< path and query, e.g. "/metrics"
  std::string body;
  std::string authorization;  ///< the Authorization header, if any (never logged)
  std::string content_type;
  std::string content_signature;  ///< x-content-signature (ConnectWise callbacks), if any (never logged)
  bool over_tcp = false;          ///< false: the unix socket (access by file permissions)
  std::string peer;               ///< "tcp:127.0.0.1:50312" or "unix"
};

struct admin_reply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (Retry-After, ...)
};

/// A reply with a JSON body `{"error": message}`.
admin_reply json_error(unsigned status, std::string_view message);

enum class admin_route { events, metrics, healthz, readyz };

/// Where `req` goes, or (route unset) the reply it gets as it is.
struct routed {
  std::optional<admin_route> route;
  admin_reply reply;
};
routed route_admin(const admin_request& req);

/// What /readyz reports: ready when the store answers and ConnectWise is
/// reachable and accepts the credentials.
struct readiness {
  std::optional<std::string> store_error;  ///< unset: the store answered
  std::string psa_state;                   ///< connecting | connected | unreachable | blocked
  std::string psa_error;                   ///< the last failed PSA request, if any
};
admin_reply readiness_reply(const readiness& r);

/// Requests per second per client address (a token bucket each, holding one
/// second's worth), for the public listener. Pure: time is a parameter.
/// Remembers at most max_clients addresses (the idlest are forgotten).
class client_rate_limit {
 public:
  explicit client_rate_limit(int per_second) : rate_(per_second > 0 ? per_second : 1) {}
  /// Whether a request from `client` at `now` is within its rate (and counts it).
  bool allow(const std::string& client, std::chrono::steady_clock::time_point now);
  std::size_t clients() const noexcept { return buckets_.size(); }
  static constexpr std::size_t max_clients = 4096;

 private:
  struct bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at{};
  };
  double rate_;
  std::map<std::string, bucket> buckets_;
};
admin_reply metrics_reply(std::string text);
admin_reply healthz_reply();

}  // namespace ts::ops
