// Rules (first slice): event + configuration -> the ticket ticketsync wants to
// exist. Pure: names are resolved to ids later, by the PSA directory.
#pragma once

#include "config/config.hpp"
#include "core/event.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace ts::rules {

/// The ticket an issue should have, with board/status/priority still by name.
struct desired_ticket {
  std::string company_identifier;  ///< ConnectWise company identifier
  std::string board;
  std::string status;
  std::string priority;
  std::string summary;             ///< rendered, cut to <= 100 UTF-16 units on a code-point boundary
  std::string description;         ///< rendered initialDescription
  std::string external_xref;       ///< the issue's correlation key

  friend bool operator==(const desired_ticket&, const desired_ticket&) = default;
};

struct mapping_error {
  std::string what;  ///< e.g. "tenant 'acme' has no company mapping and companies.default is not set"
};

using mapping_result = boost::system::result<desired_ticket, mapping_error>;

/// Throws std::invalid_argument(e.what); found by mapping_result::value()
/// through argument-dependent lookup (see intake/event_parser.hpp).
[[noreturn]] void throw_exception_from_error(const mapping_error& e, const boost::source_location& loc);

/// Picks the company (companies.tenants, else companies.default) and renders
/// the ticket templates over `ev.to_json()`.
mapping_result map_event(const ts::event& ev, const config::config& cfg);

/// Renders a mustache template over `context`. Errors (unclosed sections,
/// bad tags) come back as mapping_error naming the template.
boost::system::result<std::string, mapping_error> render_template(std::string_view name, std::string_view tmpl,
                                                                  const nlohmann::json& context);

/// Cuts `s` to at most `max_units` UTF-16 code units (how ConnectWise counts),
/// never splitting a code point; when cut, the last kept character is "…".
std::string truncate_utf16(std::string_view s, std::size_t max_units);

/// The number of UTF-16 code units of valid UTF-8 `s`.
std::size_t utf16_length(std::string_view s) noexcept;

}  // namespace ts::rules

namespace boost::system {
[[noreturn]] void throw_exception_from_error(const ts::rules::mapping_error& e, const boost::source_location& loc);
}  // namespace boost::system
