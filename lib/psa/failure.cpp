#include "psa/failure.hpp"

#include <stdexcept>
#include <utility>

namespace ts::psa {

std::string psa_failure::to_string() const {
  if (http_status != 0) return cw.to_string() + (detail.empty() ? "" : " (" + detail + ")");
  return detail;
}

psa_failure classify_http(int status, std::string_view body, std::string_view retry_after, sys_ms now,
                          bool idempotent) {
  psa_failure f;
  f.http_status = status;
  f.cw = parse_cw_error(status, body);
  if (status == 429) {
    f.what = psa_failure::kind::throttled;
    f.retry_after = parse_retry_after(retry_after, now).value_or(std::chrono::seconds{30});
  } else if (status == 401 || status == 403) {
    f.what = psa_failure::kind::auth;
  } else if (status >= 500) {
    f.what = psa_failure::kind::server;
    // A 5xx may come after the server acted (e.g. a proxy timing out).
    f.maybe_applied = !idempotent;
  } else {
    f.what = psa_failure::kind::rejected;
  }
  return f;
}

psa_failure transport_error(std::string detail, bool maybe_applied) {
  psa_failure f;
  f.what = psa_failure::kind::transport;
  f.detail = std::move(detail);
  f.maybe_applied = maybe_applied;
  return f;
}

psa_failure protocol_error(int http_status, std::string detail, bool maybe_applied) {
  psa_failure f;
  f.what = psa_failure::kind::protocol;
  f.http_status = http_status;
  f.detail = std::move(detail);
  f.maybe_applied = maybe_applied;
  return f;
}

psa_failure rejected_error(std::string detail) {
  psa_failure f;
  f.what = psa_failure::kind::rejected;
  f.detail = std::move(detail);
  return f;
}

void throw_exception_from_error(const psa_failure& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.to_string()), loc);
}

}  // namespace ts::psa
