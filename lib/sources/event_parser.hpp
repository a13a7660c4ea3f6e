// Event schema v1 (DESIGN §3): JSON text -> validated ts::event. Pure.
// Every rejection names the offending field, so a producer can fix its output
// from the `.reason` file alone.
#pragma once

#include "core/event.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::intake {

struct event_error {
  std::string field;    ///< offending field ("" when the document itself is bad, e.g. not JSON)
  std::string message;  ///< what is wrong with it

  /// `field 'severity': must be one of critical, high, medium, low, info`, or just
  /// the message when there is no field.
  std::string to_string() const;
};

using event_result = boost::system::result<event, event_error>;

/// Throws std::invalid_argument(e.to_string()). This is the overload that
/// event_result::value() finds, by argument-dependent lookup; the one in
/// boost::system below is declared after <boost/system/result.hpp>, too late for
/// its templates to see it.
[[noreturn]] void throw_exception_from_error(const event_error& e, const boost::source_location& loc);

/// Parses and validates one event. Rules:
///  - the document is a JSON object in valid UTF-8, with no raw NUL byte anywhere
///    (a NUL is named with its position, even after the object);
///  - required: source, tenant, issue_id, state, severity, title, updated_at (strings);
///  - source, tenant, issue_id: 1..200 bytes, no control characters;
///  - state in {open, resolved}; severity in {critical, high, medium, low, info};
///  - title: non-empty, one line (no CR/LF), at most 1,000 bytes;
///  - description, category, asset, url: strings when present (null = absent);
///  - tags: array of strings when present; attributes: object when present;
///  - updated_at: RFC 3339 with a time zone;
///  - unknown top-level fields are kept in event::extra.
event_result parse_event(std::string_view json_text);

/// Why a batch (the body of POST /v1/events) was refused.
struct batch_error {
  std::optional<std::size_t> index;  ///< the array element at fault; none for the document itself
  event_error error;

  /// `event [3]: field 'severity': ...`, or the event error alone.
  std::string to_string() const;
};

/// Throws std::invalid_argument(e.to_string()) (found by argument-dependent lookup).
[[noreturn]] void throw_exception_from_error(const batch_error& e, const boost::source_location& loc);

/// One event (a JSON object) or a JSON array of 1..max_events events, each
/// validated by parse_event. All or nothing: the first invalid event refuses
/// the batch. On success, the text of each event to store (an object body as
/// given; array elements re-serialized).
boost::system::result<std::vector<std::string>, batch_error> parse_event_batch(std::string_view body,
                                                                               std::size_t max_events);

}  // namespace ts::intake

namespace boost::system {
// Lets result<event, event_error>::value() throw a meaningful exception.
[[noreturn]] void throw_exception_from_error(const ts::intake::event_error& e, const boost::source_location& loc);
}  // namespace boost::system
