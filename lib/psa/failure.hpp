// How a PSA request failed, in terms the sync engine can act on without
// knowing HTTP: retry later, retry after a pause, give up, or stop sending
// until the credentials are fixed. The one error type of the PSA boundary.
// Pure: the classification of an HTTP answer is a function of its status,
// body and headers.
#pragma once

#include "core/enum_text.hpp"
#include "core/time.hpp"
#include "psa/cw_codec.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace ts::psa {

struct psa_failure {
  enum class kind {
    transport,  ///< no answer (connect/TLS/timeout/reset): retry with backoff
    throttled,  ///< 429: retry after `retry_after`
    server,     ///< 5xx: retry with backoff
    rejected,   ///< 400/404/409/other 4xx: permanent for this request
    auth,       ///< 401/403: credentials or role permission; stop sending until fixed
    protocol,   ///< an answer we cannot interpret
  };
  kind what = kind::transport;
  int http_status = 0;
  cw_error cw;                 ///< for HTTP answers
  std::string detail;          ///< human-readable, never contains secrets
  bool maybe_applied = false;  ///< the server may have acted on the request
  std::chrono::milliseconds retry_after{0};

  std::string to_string() const;
  bool retryable() const noexcept { return what != kind::rejected; }
};

template <class T>
using psa_result = boost::system::result<T, psa_failure>;

/// The failure for an HTTP answer outside 2xx: 429 throttled (waiting
/// `Retry-After`, seconds or an HTTP date relative to `now`, 30 s when absent
/// or unreadable), 401/403 auth, 5xx server (maybe applied unless the request
/// is idempotent: a proxy may time out after the server acted), any other
/// status rejected. `cw` holds the parsed error body.
psa_failure classify_http(int status, std::string_view body, std::string_view retry_after, sys_ms now, bool idempotent);

/// A failure that is not an HTTP answer: a request that got no (usable)
/// answer, or a name that does not resolve.
psa_failure transport_error(std::string detail, bool maybe_applied);
psa_failure protocol_error(int http_status, std::string detail, bool maybe_applied = false);
psa_failure rejected_error(std::string detail);

/// Throws std::runtime_error(e.to_string()); what psa_result<T>::value() finds
/// by argument-dependent lookup.
[[noreturn]] void throw_exception_from_error(const psa_failure& e, const boost::source_location& loc);

}  // namespace ts::psa

template <>
struct ts::enum_text<ts::psa::psa_failure::kind> {
  using kind = psa::psa_failure::kind;
  static constexpr std::array<std::pair<kind, std::string_view>, 6> names{{
      {kind::transport, "transport"},
      {kind::throttled, "throttled"},
      {kind::server, "server"},
      {kind::rejected, "rejected"},
      {kind::auth, "auth"},
      {kind::protocol, "protocol"},
  }};
};
