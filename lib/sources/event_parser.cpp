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

#include "sources/json_input.hpp"

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

constexpr std::size_t max_id_bytes = 200;
constexpr std::size_t max_title_bytes = 1000;
constexpr std::array<std::string_view, 13> known_fields = {"source", "tenant",      "issue_id",  "state", "severity",
                                                           "title",  "description", "category",  "asset", "url",
                                                           "tags",   "updated_at",  "attributes"};

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

}  // namespace

std::string event_error::to_string() const {
  if (field.empty()) return message;
  return "field '" + field + "': " + message;
}

event_result parse_event(std::string_view json_text) {
  auto parsed = parse_document(json_text);
  if (!parsed) return parsed.error();
  const json doc = std::move(*parsed);
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
