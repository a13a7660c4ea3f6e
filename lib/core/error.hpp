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

/// The codes of the ConnectWise codec's results (inside the PSA module; what
/// crosses its boundary is a psa_failure). Every other boundary has its own
/// one error type: sources intake::event_error, rules rules::mapping_error,
/// configuration config::config_error, PSA psa::psa_failure.
enum class errc {
  ok = 0,
  invalid_config = 1,  ///< a configured value (e.g. psa.site) is not valid
  psa_protocol,        ///< ConnectWise answered something we cannot parse
  psa_not_found,       ///< a looked-up name or record does not exist
};

const boost::system::error_category& ts_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), ts_category()}; }

template <class T>
using result = boost::system::result<T>;

}  // namespace ts

template <>
struct boost::system::is_error_code_enum<ts::errc> : std::true_type {};
