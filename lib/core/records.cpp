#include "core/records.hpp"

#include "core/text.hpp"

#include <nlohmann/json.hpp>

namespace ts {

namespace {

using json = nlohmann::json;

/// The object in `text`, or an empty one when it is not an object.
json object_of(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string text_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

int int_of(const json& j, const char* key, int fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

}  // namespace

std::string encode_desired(const desired_ticket& d) {
  return json_text({{"rule", d.rule},
                    {"company", d.company_identifier},
                    {"board", d.board},
                    {"status", d.status},
                    {"closed_status", d.closed_status},
                    {"reopen_status", d.reopen_status},
                    {"description", d.description},
                    {"type", d.type},
                    {"subtype", d.subtype},
                    {"item", d.item},
                    {"team", d.team},
                    {"source", d.source},
                    {"custom_fields", d.custom_fields},
                    {"summary", d.summary},
                    {"priority", d.priority},
                    {"severity", d.cw_severity},
                    {"impact", d.cw_impact}});
}

desired_ticket decode_desired(std::string_view text) {
  const json j = object_of(text);
  desired_ticket d;
  d.rule = text_of(j, "rule");
  d.company_identifier = text_of(j, "company");
  d.board = text_of(j, "board");
  d.status = text_of(j, "status");
  d.closed_status = text_of(j, "closed_status");
  d.reopen_status = text_of(j, "reopen_status");
  d.description = text_of(j, "description");
  d.type = text_of(j, "type");
  d.subtype = text_of(j, "subtype");
  d.item = text_of(j, "item");
  d.team = text_of(j, "team");
  d.source = text_of(j, "source");
  if (const auto it = j.find("custom_fields"); it != j.end() && it->is_object())
    for (auto f = it->begin(); f != it->end(); ++f)
      if (f->is_string()) d.custom_fields[f.key()] = f->get<std::string>();
  d.summary = text_of(j, "summary");
  d.priority = text_of(j, "priority");
  d.cw_severity = text_of(j, "severity");
  d.cw_impact = text_of(j, "impact");
  return d;
}

std::string encode_applied(const applied_ticket& a) {
  return json_text({{"summary", a.fields.summary},
                    {"priority", a.fields.priority},
                    {"severity", a.fields.severity},
                    {"impact", a.fields.impact},
                    {"generation", a.generation}});
}

applied_ticket decode_applied(std::string_view text) {
  const json j = object_of(text);
  return {{text_of(j, "summary"), text_of(j, "priority"), text_of(j, "severity"), text_of(j, "impact")},
          int_of(j, "generation", 1)};
}

std::string encode_seen(const ticket_view& v) {
  if (!v.known && !v.deleted && !v.forgotten && !v.person_priority && !v.merged_from) return "{}";
  // Short keys: one of these is kept per issue.
  json j = json::object();
  if (v.known) {
    j["c"] = v.closed;
    j["s"] = v.status_id;
    j["b"] = v.board_id;
    j["p"] = v.priority_id;
    if (!v.company.empty()) j["co"] = v.company;
    if (v.last_updated) j["lu"] = to_unix_ms(*v.last_updated);
    if (!v.updated_by.empty()) j["ub"] = v.updated_by;
    if (!v.written_by.empty()) j["wb"] = v.written_by;
    if (v.observed_at) j["oa"] = to_unix_ms(*v.observed_at);
    if (v.written_at) j["wa"] = to_unix_ms(*v.written_at);
  }
  if (v.deleted) j["del"] = true;
  if (v.forgotten) j["fgt"] = true;
  if (v.person_priority) j["pp"] = true;
  if (v.merged_from) j["mf"] = *v.merged_from;
  return json_text(j);
}

ticket_view decode_seen(std::string_view text) {
  const json j = object_of(text);
  const auto i64 = [&](const char* key) -> std::optional<std::int64_t> {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  const auto flag = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  ticket_view v;
  v.known = j.contains("c");
  v.closed = flag("c");
  v.status_id = i64("s").value_or(0);
  v.board_id = i64("b").value_or(0);
  v.priority_id = i64("p").value_or(0);
  v.company = text_of(j, "co");
  if (auto t = i64("lu")) v.last_updated = from_unix_ms(*t);
  v.updated_by = text_of(j, "ub");
  v.written_by = text_of(j, "wb");
  if (auto t = i64("oa")) v.observed_at = from_unix_ms(*t);
  if (auto t = i64("wa")) v.written_at = from_unix_ms(*t);
  v.deleted = flag("del");
  v.forgotten = flag("fgt");
  v.person_priority = flag("pp");
  v.merged_from = i64("mf");
  return v;
}

std::string encode_payload(const op_payload& p) {
  json j = {{"note", to_text(p.note)}, {"generation", p.generation}};
  if (p.member) j["member"] = *p.member;
  if (!p.text.empty()) j["text"] = p.text;
  if (p.note_text) j["note_text"] = *p.note_text;
  return json_text(j);
}

op_payload decode_payload(std::string_view text) {
  const json j = object_of(text);
  op_payload p;
  p.note = from_text<note_kind>(text_of(j, "note")).value_or(note_kind::update);
  p.generation = int_of(j, "generation", 1);
  if (const auto it = j.find("member"); it != j.end() && it->is_number_integer()) p.member = it->get<std::int64_t>();
  p.text = text_of(j, "text");
  if (const auto it = j.find("note_text"); it != j.end() && it->is_string()) p.note_text = it->get<std::string>();
  return p;
}

}  // namespace ts
