// What the parsers of lib/sources do with a document from outside before they
// look at its fields: one JSON value from hostile bytes, and the wording of
// every rejection (so the event parser and the ConnectWise callback parser
// say the same about the same fault). Pure.
#pragma once

#include "sources/event_parser.hpp"

#include <nlohmann/json.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ts::intake {

/// Containers nested deeper than this (the top-level value is depth 0) are
/// rejected. nlohmann parses iteratively, but copying, dumping and template
/// rendering recurse; the bound keeps all of them far from the stack limit.
inline constexpr int max_depth = 64;

/// Offending values quoted in messages are cut to this many bytes.
inline constexpr std::size_t max_quoted_bytes = 64;

event_error field_error(std::string field, std::string message);
event_error document_error(std::string message);

/// Invalid UTF-8 or a raw NUL byte anywhere in `text` (inside or outside
/// strings), with its position; nullopt when there is none.
std::optional<event_error> check_utf8(std::string_view text);

/// One JSON value from `text`: valid UTF-8 without NUL (check_utf8), nested
/// at most max_depth levels (a deeper document is never materialised), every
/// number within a double's range. Rejections name the position, or the
/// top-level field they happened in.
boost::system::result<nlohmann::json, event_error> parse_document(std::string_view text);

/// The rejection of a document nested deeper than max_depth, naming the
/// top-level field it happened in ("" when not inside one).
event_error too_deep_error(const std::string& field);

/// `"value"` as a JSON string, cut to max_quoted_bytes on a code-point
/// boundary, with every control character escaped.
std::string quote_value(const std::string& s);

/// A key as it may appear in a message: unchanged when it is short and free of
/// control characters, else JSON-escaped and cut.
std::string printable_key(const std::string& key);

/// The member `name` of object `doc`; nullptr when absent or null.
const nlohmann::json* find_field(const nlohmann::json& doc, const char* name);

/// `field 'F': must be <expected> (got <type>)`.
event_error wrong_type(const char* field, const char* expected, const nlohmann::json& got);

/// Required string: present, not null, a string.
boost::system::result<std::string, event_error> required_string(const nlohmann::json& doc, const char* name);

/// Optional string: absent or null -> nullopt. An empty string counts as
/// absent too.
boost::system::result<std::optional<std::string>, event_error> optional_string(const nlohmann::json& doc,
                                                                               const char* name);

/// "U+001B" for a code point.
std::string unicode_name(std::uint32_t cp);

/// The first control character (C0, DEL, C1) in valid UTF-8 `s` that
/// `allowed(code point)` does not accept, with its byte offset.
template <class Allowed>
std::optional<std::pair<std::uint32_t, std::size_t>> find_control(std::string_view s, Allowed allowed) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = 0xFFFFFFFF;
    if (b < 0x20 || b == 0x7F) {
      cp = b;
    } else if (b == 0xC2 && i + 1 < s.size()) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      if (b1 >= 0x80 && b1 <= 0x9F) cp = b1;
    }
    if (cp != 0xFFFFFFFF && !allowed(cp)) return std::pair{cp, i};
  }
  return std::nullopt;
}

}  // namespace ts::intake
