// Rendering: event + the ticket section of the rule that matched -> the
// ticket ticketsync wants to exist; and the tenant -> company choice. Pure:
// names are resolved to ids later, through the PSA directory. Rule matching is
// rules/ruleset.hpp.
#pragma once

#include "config/config.hpp"
#include "core/event.hpp"
#include "core/ticket.hpp"

#include <boost/system/result.hpp>

#include <map>
#include <string>
#include <string_view>

namespace ts::rules {

using ts::desired_ticket;  // core/ticket.hpp: the rules render it

struct mapping_error {
  std::string what;  ///< e.g. "tenant 'acme' has no company mapping and companies.default is not set"
};

using mapping_result = boost::system::result<desired_ticket, mapping_error>;

/// Throws std::invalid_argument(e.what); found by mapping_result::value()
/// through argument-dependent lookup (see sources/event_parser.hpp).
[[noreturn]] void throw_exception_from_error(const mapping_error& e, const boost::source_location& loc);

/// The company an event's ticket belongs to, and why.
struct company_choice {
  std::string identifier;  ///< empty when held
  std::string why;         ///< e.g. "companies.tenants.acme", "companies.default (tenant 'x' is not mapped)"
  bool held = false;       ///< unmapped tenant under `unmapped: hold`
};

/// companies.sources[source][tenant], else companies.tenants[tenant], else
/// the unmapped policy (default company, or held).
company_choice choose_company(const ts::event& ev, const config::companies_config& c);

/// Renders `t`'s templates over `ev.to_json()` into the desired ticket of
/// `company`, decided by rule `rule`.
mapping_result render_ticket(const ts::event& ev, const config::ticket_config& t, std::string company,
                             std::string rule);

/// The whole mapping in one call: first matching rule (rules/ruleset.hpp),
/// company, rendering. A held tenant is an error here (the engine holds).
mapping_result map_event(const ts::event& ev, const config::config& cfg);

/// Renders a mustache template over `context`. Errors (unclosed sections,
/// bad tags) come back as mapping_error naming the template.
boost::system::result<std::string, mapping_error> render_template(std::string_view name, std::string_view tmpl,
                                                                  const nlohmann::json& context);

/// Cuts `s` to at most `max_units` UTF-16 code units (how ConnectWise counts),
/// only between extended grapheme clusters (UAX #29, through ICU), so a flag,
/// an emoji with its modifier, a letter with its combining marks or a ZWJ
/// sequence is kept whole or dropped whole; when cut, the last kept character
/// is "…" (counted in `max_units`) and spaces before it are dropped. Invalid
/// UTF-8 bytes become U+FFFD, one unit each, cut or not.
std::string truncate_utf16(std::string_view s, std::size_t max_units);

/// The number of UTF-16 code units of valid UTF-8 `s`.
std::size_t utf16_length(std::string_view s) noexcept;

}  // namespace ts::rules

namespace boost::system {
[[noreturn]] void throw_exception_from_error(const ts::rules::mapping_error& e, const boost::source_location& loc);
}  // namespace boost::system
