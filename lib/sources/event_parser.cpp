// Event schema v1 parser (DESIGN §3): JSON text -> validated ts::event. Pure:
// no IO, no clock. The first problem found is reported, naming its field.
// Messages are short, valid UTF-8 and free of control characters (offending
// values are quoted JSON-escaped and cut), so they can go straight into a
// `.reason` file or a log line.
//
// Beyond the header's rules: empty optional strings count as absent; a UTF-8
// BOM is skipped; containers nested deeper than 64 levels and numbers beyond
// a double's range are rejected; for duplicate keys the last one wins.
#include "sources/event_parser.hpp"

#include "core/issue_key.hpp"
#include "core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace ts::intake {
namespace {

using json = nlohmann::json;

// Containers nested deeper than this (the top-level object is depth 0) are
// rejected. nlohmann parses iteratively, but copying, dumping and template
// rendering recurse; the bound keeps all of them far from the stack limit.
constexpr int max_depth = 64;

constexpr std::size_t max_id_bytes = 200;
constexpr std::size_t max_title_bytes = 1000;
// Offending values quoted in messages are cut to this many bytes.
constexpr std::size_t max_quoted_bytes = 64;

constexpr std::array<std::string_view, 13> known_fields = {"source", "tenant",      "issue_id",  "state", "severity",
                                                           "title",  "description", "category",  "asset", "url",
                                                           "tags",   "updated_at",  "attributes"};

event_error field_error(std::string field, std::string message) {
  return event_error{std::move(field), std::move(message)};
}

event_error document_error(std::string message) { return event_error{std::string{}, std::move(message)}; }

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
  const std::string dumped = json(value).dump();
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

std::string unicode_name(std::uint32_t cp) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "U+";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(hex[(cp >> shift) & 0xF]);
  return out;
}

// The first control character (C0, DEL, C1) in valid UTF-8 `s` that `allowed`
// does not accept, with its byte offset.
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

// source, tenant, issue_id: 1..200 bytes, no control characters.
boost::system::result<std::string, event_error> identity_part(const json& doc, const char* name) {
  auto s = required_string(doc, name);
  if (!s) return s;
  if (s->empty()) return field_error(name, "must not be empty");
  if (s->size() > max_id_bytes)
    return field_error(
        name, "must be at most " + std::to_string(max_id_bytes) + " bytes (got " + std::to_string(s->size()) + ")");
  if (auto c = find_control(*s, [](std::uint32_t) { return false; }))
    return field_error(name, "must not contain control characters (" + unicode_name(c->first) + " at byte " +
                                 std::to_string(c->second) + ")");
  return s;
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

// The rejection of an event nested deeper than max_depth, naming the
// top-level field it happened in ("" when not inside one). parse_event and
// parse_event_batch both word it here, so a spool file and POST /v1/events
// say the same about the same event.
event_error too_deep_error(const std::string& field) {
  const std::string msg = "nested deeper than " + std::to_string(max_depth) + " levels";
  if (field.empty()) return document_error("not valid JSON: " + msg);
  return field_error(printable_key(field), msg);
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

std::string event_error::to_string() const {
  if (field.empty()) return message;
  return "field '" + field + "': " + message;
}

event_result parse_event(std::string_view json_text) {
  if (auto bad = check_utf8(json_text)) return *bad;

  const char* first = json_text.data();
  const char* last = json_text.data() + json_text.size();
  depth_guard guard;
  json doc = json::parse(first, last, std::ref(guard), /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again, throwing, only to learn where and why: the non-throwing
    // form reports nothing but "discarded".
    depth_guard again;
    try {
      [[maybe_unused]] const json unexpected = json::parse(first, last, std::ref(again));
    } catch (const json::parse_error& e) {
      return syntax_error(json_text, e);
    } catch (const json::out_of_range&) {
      // 406: a number beyond double's range (1e999). nlohmann gives no position
      // and quotes the whole literal, so name the top-level field instead.
      const std::string msg = "number out of range (beyond a double)";
      if (again.current.empty()) return document_error("not valid JSON: " + msg);
      return field_error(printable_key(again.current), msg);
    } catch (const json::exception&) {
      // Only parse_error and out_of_range are documented for parsing.
    }
    return document_error("not valid JSON");
  }
  if (guard.too_deep) return too_deep_error(guard.field);
  if (!doc.is_object()) return document_error(std::string("must be a JSON object (got ") + doc.type_name() + ")");

  event ev;

  auto source = identity_part(doc, "source");
  if (!source) return source.error();
  if (*source == digest_source)
    return field_error("source",
                       "'" + std::string(digest_source) + "' is reserved for ticketsync's storm digest tickets");
  ev.source = std::move(*source);
  auto tenant = identity_part(doc, "tenant");
  if (!tenant) return tenant.error();
  ev.tenant = std::move(*tenant);
  auto issue_id = identity_part(doc, "issue_id");
  if (!issue_id) return issue_id.error();
  ev.issue_id = std::move(*issue_id);

  auto state = required_string(doc, "state");
  if (!state) return state.error();
  if (auto s = ts::from_text<ts::issue_state>(*state)) {
    ev.state = *s;
  } else {
    return field_error("state", "must be one of open, resolved (got " + quote_value(*state) + ")");
  }

  auto sev = required_string(doc, "severity");
  if (!sev) return sev.error();
  if (auto s = ts::from_text<ts::severity>(*sev)) {
    ev.severity = *s;
  } else {
    return field_error("severity", "must be one of critical, high, medium, low, info (got " + quote_value(*sev) + ")");
  }

  auto title = required_string(doc, "title");
  if (!title) return title.error();
  if (title->find_first_not_of(" \t") == std::string::npos) return field_error("title", "must not be empty or blank");
  if (title->size() > max_title_bytes)
    return field_error("title", "must be at most " + std::to_string(max_title_bytes) + " bytes (got " +
                                    std::to_string(title->size()) + ")");
  if (auto pos = title->find_first_of("\r\n"); pos != std::string::npos)
    return field_error("title", "must be one line (line break at byte " + std::to_string(pos) + ")");
  // Tabs are harmless (the summary turns them into spaces); other control
  // characters in a ticket title are always producer bugs.
  if (auto c = find_control(*title, [](std::uint32_t cp) { return cp == '\t'; }))
    return field_error("title", "must not contain control characters (" + unicode_name(c->first) + " at byte " +
                                    std::to_string(c->second) + ")");
  ev.title = std::move(*title);

  auto updated_at = required_string(doc, "updated_at");
  if (!updated_at) return updated_at.error();
  auto t = parse_rfc3339(*updated_at);
  if (!t)
    return field_error("updated_at",
                       "must be an RFC 3339 timestamp with a time zone, e.g. "
                       "2026-01-02T03:04:05Z (got " +
                           quote_value(*updated_at) + ")");
  ev.updated_at = *t;
  ev.updated_at_text = std::move(*updated_at);

  const std::pair<const char*, std::optional<std::string>*> optionals[] = {
      {"description", &ev.description}, {"category", &ev.category}, {"asset", &ev.asset}, {"url", &ev.url}};
  for (auto& [name, slot] : optionals) {
    auto v = optional_string(doc, name);
    if (!v) return v.error();
    *slot = std::move(*v);
  }

  if (const json* tags = find_field(doc, "tags")) {
    if (!tags->is_array()) return wrong_type("tags", "an array of strings", *tags);
    for (std::size_t i = 0; i < tags->size(); ++i) {
      const json& tag = (*tags)[i];
      if (!tag.is_string())
        return field_error("tags[" + std::to_string(i) + "]",
                           std::string("must be a string (got ") + tag.type_name() + ")");
      ev.tags.push_back(tag.get<std::string>());
    }
  }

  if (const json* attributes = find_field(doc, "attributes")) {
    if (!attributes->is_object()) return wrong_type("attributes", "an object", *attributes);
    ev.attributes = *attributes;
  }

  for (auto it = doc.begin(); it != doc.end(); ++it) {
    bool known = false;
    for (std::string_view k : known_fields) known = known || k == it.key();
    if (!known) ev.extra[it.key()] = *it;
  }
  return ev;
}

void throw_exception_from_error(const event_error& e, const boost::source_location&) {
  throw std::invalid_argument(e.to_string());
}

std::string batch_error::to_string() const {
  if (!index) return error.to_string();
  return "event [" + std::to_string(*index) + "]: " + error.to_string();
}

void throw_exception_from_error(const batch_error& e, const boost::source_location&) {
  throw std::invalid_argument(e.to_string());
}

boost::system::result<std::vector<std::string>, batch_error> parse_event_batch(std::string_view body,
                                                                               std::size_t max_events) {
  const auto start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || body[start] != '[') {
    auto ev = parse_event(body);
    if (!ev) return batch_error{std::nullopt, ev.error()};
    return std::vector<std::string>{std::string(body)};
  }
  if (auto bad = check_utf8(body)) return batch_error{std::nullopt, *bad};
  // One level more than an event may have: the array itself. Like
  // depth_guard, one level down: it remembers the element and its top-level
  // field, so the refusal reads as parse_event's for that element.
  struct array_guard {
    bool too_deep = false;
    std::size_t index = 0;     ///< element being parsed when too_deep was set
    std::string field;         ///< its top-level field then
    std::size_t elements = 0;  ///< elements started so far
    std::string current;       ///< top-level field of the current element
    bool operator()(int depth, json::parse_event_t ev, json& parsed) {
      const bool opens = ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start;
      if (depth == 1 && (opens || ev == json::parse_event_t::value)) {
        ++elements;
        current.clear();
      }
      if (ev == json::parse_event_t::key && depth == 2 && parsed.is_string()) current = parsed.get<std::string>();
      if (opens && depth > max_depth + 1) {
        if (!too_deep) {
          index = elements - 1;
          field = current;
        }
        too_deep = true;
        return false;
      }
      return true;
    }
  } guard;
  json doc = json::parse(body.data(), body.data() + body.size(), std::ref(guard), /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // parse_event explains where the JSON breaks (its message names the position).
    auto why = parse_event(body);
    return batch_error{std::nullopt, why ? document_error("not valid JSON") : why.error()};
  }
  if (guard.too_deep) return batch_error{guard.index, too_deep_error(guard.field)};
  if (doc.empty()) return batch_error{std::nullopt, document_error("the array holds no events")};
  if (doc.size() > max_events)
    return batch_error{std::nullopt, document_error("the array holds " + std::to_string(doc.size()) +
                                                    " events; at most " + std::to_string(max_events) + " per request")};
  std::vector<std::string> out;
  out.reserve(doc.size());
  for (std::size_t i = 0; i < doc.size(); ++i) {
    std::string text = doc[i].dump();
    auto ev = parse_event(text);
    if (!ev) return batch_error{i, ev.error()};
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace ts::intake

namespace boost::system {

void throw_exception_from_error(const ts::intake::event_error& e, const boost::source_location& loc) {
  ts::intake::throw_exception_from_error(e, loc);
}

}  // namespace boost::system
