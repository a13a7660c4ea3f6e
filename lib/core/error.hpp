// Error policy for ticketsync (one place, applied everywhere):
//  (a) programmer errors            -> assert
//  (b) expected, input-dependent    -> boost::system::result<T> carrying ts::errc
//                                      (bad event, bad config, PSA 4xx, not found)
//  (c) environmental failures       -> exceptions (SQLite, OpenSSL context, disk);
//                                      caught only at task boundaries and logged.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace ts {

enum class errc {
  ok = 0,
  invalid_event = 1,       ///< event JSON failed schema v1 validation
  event_too_large,         ///< event larger than the configured limit
  invalid_config,          ///< configuration file has errors
  store_too_new,           ///< the database was written by a newer ticketsyncd
  unmapped_tenant,         ///< no company for the event's tenant and no default
  template_error,          ///< a ticket template failed to render
  psa_transport,           ///< connect/TLS/read/write failed or timed out
  psa_http,                ///< ConnectWise answered with an error status
  psa_protocol,            ///< ConnectWise answered something we cannot parse
  psa_not_found,           ///< a looked-up name or record does not exist
};

const boost::system::error_category& ts_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), ts_category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace ts

template <>
struct boost::system::is_error_code_enum<ts::errc> : std::true_type {};
