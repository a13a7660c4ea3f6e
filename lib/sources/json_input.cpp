// The hostile-JSON front of lib/sources (json_input.hpp). Messages are
// short, valid UTF-8 and free of control characters (offending values are
// quoted JSON-escaped and cut), so they can go straight into a `.reason` file,
// an HTTP answer or a log line.
#include "sources/json_input.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace ts::intake {
namespace {

using json = nlohmann::json;

// "line L, column C (byte B)" for a 0-based byte offset; columns count bytes.
std::string position_of(std::string_view text, std::size_t offset) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1) + " (byte " +
         std::to_string(offset) + ")";
}

// Only printable ASCII survives: nlohmann quotes raw input in its messages.
std::string printable_ascii(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  return out;
}

// Turns nlohmann's parse_error into "not valid JSON: <reason> at line L, column C (byte B)".
event_error syntax_error(std::string_view text, const json::parse_error& e) {
  // e.byte is 1-based and points one past the end when the input ran out.
  const std::size_t offset = e.byte == 0 ? 0 : static_cast<std::size_t>(e.byte - 1);
  if (offset >= text.size()) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
      return document_error("not valid JSON: empty document");
    return document_error("not valid JSON: unexpected end of input at " + position_of(text, text.size()) +
                          "; the document looks truncated");
  }
  // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax
  // error while parsing value - invalid literal; last read: '<raw input>';
  // expected <token>". Keep the lexer's reason and the expected token; drop
  // the raw input, which can be anything and of any length.
  std::string_view what = e.what();
  if (auto dash = what.find(" - "); dash != std::string_view::npos) what.remove_prefix(dash + 3);
  std::string reason(what.substr(0, what.find("; last read:")));
  // nlohmann's token names (lexer::token_type_name): the only things that can
  // follow "; expected ".
  static constexpr std::string_view tokens[] = {"'[', '{', or a literal",
                                                "end of input",
                                                "string literal",
                                                "number literal",
                                                "true literal",
                                                "false literal",
                                                "null literal",
                                                "'['",
                                                "'{'",
                                                "']'",
                                                "'}'",
                                                "':'",
                                                "','"};
  for (std::string_view token : tokens) {
    const std::string suffix = "; expected " + std::string(token);
    if (what.ends_with(suffix)) {
      if (!std::string_view(reason).ends_with(suffix)) reason += suffix;
      break;
    }
  }
  constexpr std::size_t max_reason_bytes = 200;  // reasons are short fixed texts; this is a backstop
  if (reason.size() > max_reason_bytes) reason.resize(max_reason_bytes);
  return document_error("not valid JSON: " + printable_ascii(reason) + " at " + position_of(text, offset));
}

// Parser callback state: rejects over-deep nesting while parsing, so a deep
// document is never materialised, and remembers which top-level field it was in.
struct depth_guard {
  bool too_deep = false;
  std::string field;    ///< top-level field being parsed when too_deep was set
  std::string current;  ///< top-level field being parsed now

  bool operator()(int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1 && parsed.is_string()) current = parsed.get<std::string>();
    if ((ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) && depth > max_depth) {
      if (!too_deep) field = current;
      too_deep = true;
      return false;  // discard: nothing below this level is built
    }
    return true;
  }
};

}  // namespace

event_error field_error(std::string field, std::string message) {
  return event_error{std::move(field), std::move(message)};
}

event_error document_error(std::string message) { return event_error{std::string{}, std::move(message)}; }

// Checks the whole document up front so that invalid UTF-8 or a raw NUL
// byte anywhere (inside or outside strings) gets one clear message instead of
// a JSON syntax error. NUL must be caught here: nlohmann's lexer takes it for
// the end of the input, so a document followed by a NUL and anything at all
// would be accepted.
std::optional<event_error> check_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\0') return document_error("not valid JSON: NUL byte (0x00) at " + position_of(text, i));
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      static constexpr char hex[] = "0123456789ABCDEF";
      const auto b = static_cast<unsigned char>(text[i]);
      std::string byte = "0x";
      byte += hex[b >> 4];
      byte += hex[b & 0xF];
      return document_error("not valid JSON: invalid UTF-8 (byte " + byte + ") at " + position_of(text, i));
    }
    i += len;
  }
  return std::nullopt;
}

boost::system::result<json, event_error> parse_document(std::string_view text) {
  using boost::system::in_place_error;
  if (auto bad = check_utf8(text)) return {in_place_error, std::move(*bad)};

  const char* first = text.data();
  const char* last = text.data() + text.size();
  depth_guard guard;
  json doc = json::parse(first, last, std::ref(guard), /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again, throwing, only to learn where and why: the non-throwing
    // form reports nothing but "discarded".
    depth_guard again;
    try {
      [[maybe_unused]] const json unexpected = json::parse(first, last, std::ref(again));
    } catch (const json::parse_error& e) {
      return {in_place_error, syntax_error(text, e)};
    } catch (const json::out_of_range&) {
      // 406: a number beyond double's range (1e999). nlohmann gives no position
      // and quotes the whole literal, so name the top-level field instead.
      const std::string msg = "number out of range (beyond a double)";
      if (again.current.empty()) return {in_place_error, document_error("not valid JSON: " + msg)};
      return {in_place_error, field_error(printable_key(again.current), msg)};
    } catch (const json::exception&) {
      // Only parse_error and out_of_range are documented for parsing.
    }
    return {in_place_error, document_error("not valid JSON")};
  }
  if (guard.too_deep) return {in_place_error, too_deep_error(guard.field)};
  return {boost::system::in_place_value, std::move(doc)};
}

// parse_event and parse_event_batch both word it here, so a spool file and
// POST /v1/events say the same about the same event.
event_error too_deep_error(const std::string& field) {
  const std::string msg = "nested deeper than " + std::to_string(max_depth) + " levels";
  if (field.empty()) return document_error("not valid JSON: " + msg);
  return field_error(printable_key(field), msg);
}

// `"value"` as a JSON string, cut to max_quoted_bytes on a code-point
// boundary, with every control character escaped (JSON itself leaves DEL and
// the C1 controls raw).
std::string quote_value(const std::string& s) {
  std::string value = s;
  if (value.size() > max_quoted_bytes) {
    std::size_t cut = max_quoted_bytes;
    while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
    value = value.substr(0, cut) + "\u2026";
  }
  // Invalid UTF-8 becomes U+FFFD: a message must never throw (the event
  // parser checks UTF-8 first; check_key_url and other callers may not).
  const std::string dumped = json(value).dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    const auto b = static_cast<unsigned char>(dumped[i]);
    unsigned cp = 0;
    if (b == 0x7F) {
      cp = b;
    } else if (b == 0xC2 && i + 1 < dumped.size() && static_cast<unsigned char>(dumped[i + 1]) <= 0x9F) {
      cp = static_cast<unsigned char>(dumped[++i]);  // C2 80..9F encodes U+0080..U+009F
    } else {
      out.push_back(dumped[i]);
      continue;
    }
    out += "\\u00";
    out.push_back(hex[cp >> 4]);
    out.push_back(hex[cp & 0xF]);
  }
  return out;
}

// An unknown top-level key as it may appear in a message: unchanged when it
// is short and free of control characters, else JSON-escaped and cut.
std::string printable_key(const std::string& key) {
  const bool plain = key.size() <= max_quoted_bytes && std::none_of(key.begin(), key.end(), [](char c) {
                       return static_cast<unsigned char>(c) < 0x20 || c == 0x7F || c == '\'' || c == '\\';
                     });
  if (plain) return key;
  const std::string q = quote_value(key);
  return q.substr(1, q.size() - 2);
}

const json* find_field(const json& doc, const char* name) {
  auto it = doc.find(name);
  return it == doc.end() || it->is_null() ? nullptr : &*it;
}

event_error wrong_type(const char* field, const char* expected, const json& got) {
  return field_error(field, std::string("must be ") + expected + " (got " + got.type_name() + ")");
}

// Required string: present, not null, a string.
boost::system::result<std::string, event_error> required_string(const json& doc, const char* name) {
  const json* v = find_field(doc, name);
  if (v == nullptr) return field_error(name, "is required");
  if (!v->is_string()) return wrong_type(name, "a string", *v);
  // in_place_value: event_error is constructible from a string too.
  return {boost::system::in_place_value, v->get<std::string>()};
}

// Optional string: absent or null -> nullopt. An empty string is treated as
// absent too, so templates' `{{#url}}...{{/url}}` sections behave.
boost::system::result<std::optional<std::string>, event_error> optional_string(const json& doc, const char* name) {
  const json* v = find_field(doc, name);
  if (v == nullptr) return std::optional<std::string>{};
  if (!v->is_string()) return wrong_type(name, "a string", *v);
  std::string s = v->get<std::string>();
  if (s.empty()) return std::optional<std::string>{};
  return std::optional<std::string>{std::move(s)};
}

std::string unicode_name(std::uint32_t cp) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "U+";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(hex[(cp >> shift) & 0xF]);
  return out;
}

}  // namespace ts::intake
