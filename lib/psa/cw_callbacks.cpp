#include "psa/cw_callbacks.hpp"

#include "core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace ts::psa {
namespace {

using json = nlohmann::json;

constexpr int max_list_depth = 16;

bool ci_equal(std::string_view a, std::string_view b) { return ascii_lower(a) == ascii_lower(b); }

/// JSON from `body`; discarded (with `err` set) when it is unusable.
/// Containers deeper than max_list_depth are refused while parsing (never
/// materialised).
json parse_json(std::string_view body, std::string_view what, std::string& err) {
  if (body.size() > max_callback_list_bytes) {
    err = std::string(what) + ": the answer is " + std::to_string(body.size()) + " bytes, more than the " +
          std::to_string(max_callback_list_bytes) + " accepted";
    return json(json::value_t::discarded);
  }
  bool too_deep = false;
  json::parser_callback_t guard = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_list_depth) too_deep = true;
    return !too_deep;
  };
  json j = json::parse(body, guard, false);
  if (too_deep) {
    err = std::string(what) + ": the answer nests deeper than " + std::to_string(max_list_depth) + " levels";
    return json(json::value_t::discarded);
  }
  if (j.is_discarded()) err = std::string(what) + ": the answer is not valid JSON";
  return j;
}

const char* type_name(const json& v) { return v.type_name(); }

/// The member `name` of `o`, nullptr when absent or null.
const json* member(const json& o, const char* name) {
  auto it = o.find(name);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

boost::system::result<callback_entry, std::string> entry_from_json(const json& v, const std::string& where) {
  if (!v.is_object()) return where + ": must be an object (got " + type_name(v) + ")";
  callback_entry e;
  const auto field_error = [&](const char* field, const char* expected, const json* got) {
    return where + ": field '" + field + "' " +
           (got ? std::string("must be ") + expected + " (got " + (got->is_number() ? got->dump() : type_name(*got)) +
                      ")"
                : std::string("is missing"));
  };
  const auto integer = [&](const char* field, bool positive, std::int64_t& out) -> std::optional<std::string> {
    const json* f = member(v, field);
    const char* expected = positive ? "a positive integer" : "an integer";
    if (!f) return field_error(field, expected, nullptr);
    if (f->is_number_unsigned()) {
      const auto u = f->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return field_error(field, expected, f);
      out = static_cast<std::int64_t>(u);
    } else if (f->is_number_integer()) {
      out = f->get<std::int64_t>();
    } else {
      return field_error(field, expected, f);
    }
    if (positive && out <= 0) return field_error(field, expected, f);
    return std::nullopt;
  };
  const auto text = [&](const char* field, bool required, std::string& out) -> std::optional<std::string> {
    const json* f = member(v, field);
    if (!f) return required ? field_error(field, "a string", nullptr) : std::optional<std::string>{};
    if (!f->is_string()) return field_error(field, "a string", f);
    out = f->get<std::string>();
    return std::nullopt;
  };
  const auto flag = [&](const char* field, bool& out) -> std::optional<std::string> {
    const json* f = member(v, field);
    if (!f) return std::nullopt;
    if (!f->is_boolean()) return field_error(field, "true or false", f);
    out = f->get<bool>();
    return std::nullopt;
  };
  if (auto err = integer("id", true, e.id)) return *err;
  if (auto err = text("url", true, e.url)) return *err;
  if (auto err = integer("objectId", false, e.object_id)) return *err;
  if (auto err = text("type", true, e.type)) return *err;
  if (auto err = text("level", true, e.level)) return *err;
  if (auto err = text("description", false, e.description)) return *err;
  if (auto err = text("payloadVersion", false, e.payload_version)) return *err;
  if (auto err = flag("inactiveFlag", e.inactive)) return *err;
  if (auto err = flag("isSelfSuppressedFlag", e.self_suppressed)) return *err;
  if (member(v, "memberId"))
    if (auto err = integer("memberId", false, e.member_id)) return *err;
  return e;
}

}  // namespace

bool callback_entry::ours() const noexcept { return description.starts_with(callback_description_prefix); }

bool callback_entry::board_level() const noexcept { return ci_equal(type, "ticket") && ci_equal(level, "board"); }

callback_entry board_callback(std::int64_t board_id, std::string url) {
  callback_entry e;
  e.url = std::move(url);
  e.object_id = board_id;
  e.type = "ticket";
  e.level = "board";
  e.description = std::string(callback_description);
  e.self_suppressed = true;
  e.inactive = false;
  return e;
}

std::string encode_callback_entry(const callback_entry& e) {
  json j = {{"url", e.url},
            {"objectId", e.object_id},
            {"type", e.type},
            {"level", e.level},
            {"description", e.description},
            {"inactiveFlag", e.inactive},
            {"isSelfSuppressedFlag", e.self_suppressed}};
  if (!e.payload_version.empty()) j["payloadVersion"] = e.payload_version;
  return json_text(j);
}

boost::system::result<std::vector<callback_entry>, std::string> parse_callback_entries(std::string_view body) {
  std::string err;
  const json j = parse_json(body, "callback list", err);
  if (!err.empty()) return err;
  if (!j.is_array()) return std::string("callback list: the answer must be a JSON array (got ") + j.type_name() + ")";
  if (j.size() > max_callback_entries)
    return "callback list: " + std::to_string(j.size()) + " entries in one answer, more than the " +
           std::to_string(max_callback_entries) + " a page holds";
  std::vector<callback_entry> out;
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto e = entry_from_json(j[i], "callback list: entry " + std::to_string(i));
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

boost::system::result<callback_entry, std::string> parse_callback_entry(std::string_view body) {
  std::string err;
  const json j = parse_json(body, "callback entry", err);
  if (!err.empty()) return err;
  return entry_from_json(j, "callback entry");
}

std::string_view to_text(removal_reason r) {
  switch (r) {
    case removal_reason::stale_url: return "stale URL";
    case removal_reason::board_not_wanted: return "board no longer written to";
    case removal_reason::inactive: return "disabled by ConnectWise (inactiveFlag); replaced";
    case removal_reason::duplicate: return "duplicate";
    case removal_reason::not_board_level: return "not a board-level ticket callback";
  }
  return "unknown";
}

registration_plan plan_registration(const std::vector<callback_entry>& existing,
                                    const std::vector<std::int64_t>& boards, std::string_view url) {
  assert(!url.empty());
  std::set<std::int64_t> wanted;
  for (auto b : boards)
    if (b > 0) wanted.insert(b);

  std::vector<callback_entry> sorted = existing;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.id < b.id; });

  registration_plan plan;
  std::map<std::int64_t, const callback_entry*> kept;     // board -> ticketsync's kept entry
  std::map<std::int64_t, const callback_entry*> covered;  // board -> another's exact entry
  for (const auto& e : sorted) {
    const bool exact = e.board_level() && e.url == url && wanted.contains(e.object_id);
    if (!e.ours()) {
      ++plan.others;
      if (exact && !covered.contains(e.object_id)) covered[e.object_id] = &e;
      continue;
    }
    removal_reason why = removal_reason::stale_url;
    if (!e.board_level())
      why = removal_reason::not_board_level;
    else if (!wanted.contains(e.object_id))
      why = removal_reason::board_not_wanted;
    else if (e.url != url)
      why = removal_reason::stale_url;
    else if (e.inactive)
      why = removal_reason::inactive;
    else if (kept.contains(e.object_id))
      why = removal_reason::duplicate;
    else {
      kept[e.object_id] = &e;
      continue;
    }
    plan.to_remove.push_back({e, why});
  }
  for (auto b : wanted) {
    if (auto k = kept.find(b); k != kept.end())
      plan.kept.push_back(*k->second);
    else if (auto c = covered.find(b); c != covered.end())
      plan.covered_by_others.push_back(*c->second);
    else
      plan.to_add.push_back(board_callback(b, std::string(url)));
  }
  std::stable_sort(plan.to_remove.begin(), plan.to_remove.end(),
                   [](const auto& a, const auto& b) { return a.entry.object_id < b.entry.object_id; });
  return plan;
}

board_callback_status board_callback_status_of(const std::vector<callback_entry>& existing, std::int64_t board,
                                               std::string_view url) {
  board_callback_status st;
  const callback_entry* inactive = nullptr;
  const callback_entry* stale = nullptr;
  for (const auto& e : existing) {
    if (!e.board_level() || e.object_id != board) continue;
    if (e.url == url) {
      if (!e.inactive) return {board_callback_state::active, e};
      if (!inactive) inactive = &e;
    } else if (e.ours() && !stale) {
      stale = &e;
    }
  }
  if (inactive) return {board_callback_state::inactive, *inactive};
  if (stale) return {board_callback_state::stale, *stale};
  return st;
}

}  // namespace ts::psa
