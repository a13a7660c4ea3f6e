#include "sync/name_cache.hpp"

#include <nlohmann/json.hpp>

namespace ts::sync {

using json = nlohmann::json;

void name_cache::put(psa::name_list kind, std::int64_t board, std::vector<psa::named_ref> items, sys_ms fetched_at) {
  lists_[{kind, psa::per_board(kind) ? board : 0}] = entry{std::move(items), fetched_at, false};
}

const std::vector<psa::named_ref>* name_cache::find(psa::name_list kind, std::int64_t board) const {
  const auto it = lists_.find({kind, psa::per_board(kind) ? board : 0});
  return it == lists_.end() ? nullptr : &it->second.items;
}

bool name_cache::fresh(psa::name_list kind, std::int64_t board, sys_ms now) const {
  const auto it = lists_.find({kind, psa::per_board(kind) ? board : 0});
  // A fetch time in the future (the clock was set back) counts as old.
  return it != lists_.end() && !it->second.stale && now >= it->second.fetched_at &&
         now - it->second.fetched_at < policy_.max_age;
}

bool name_cache::may_refresh(psa::name_list kind, std::int64_t board, sys_ms now) const {
  const auto it = lists_.find({kind, psa::per_board(kind) ? board : 0});
  return it != lists_.end() &&
         (it->second.stale || now < it->second.fetched_at || now - it->second.fetched_at >= policy_.min_refresh);
}

void name_cache::invalidate() {
  for (auto& [key, e] : lists_) e.stale = true;
}

std::optional<std::string> name_cache::name_of(psa::name_list kind, std::int64_t board, std::int64_t id) const {
  if (const auto* items = find(kind, board))
    for (const auto& i : *items)
      if (i.id == id) return i.name;
  return std::nullopt;
}

std::string name_cache::encode(const std::vector<psa::named_ref>& items) {
  json list = json::array();
  for (const auto& i : items) {
    json j = {{"id", i.id}, {"name", i.name}, {"closed", i.closed_status}, {"inactive", i.inactive}};
    if (i.default_flag) j["default"] = true;
    if (!i.type_ids.empty()) j["type_ids"] = i.type_ids;
    list.push_back(std::move(j));
  }
  return list.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::vector<psa::named_ref>> name_cache::decode(std::string_view body) {
  const json list = json::parse(body, nullptr, false);
  if (!list.is_array()) return std::nullopt;
  std::vector<psa::named_ref> out;
  for (const auto& j : list) {
    if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer() || !j.contains("name") ||
        !j["name"].is_string())
      return std::nullopt;
    psa::named_ref r;
    r.id = j["id"].get<std::int64_t>();
    r.name = j["name"].get<std::string>();
    r.closed_status = j.value("closed", false);
    r.inactive = j.value("inactive", false);
    r.default_flag = j.value("default", false);
    if (const auto it = j.find("type_ids"); it != j.end() && it->is_array())
      for (const auto& t : *it)
        if (t.is_number_integer()) r.type_ids.push_back(t.get<std::int64_t>());
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<psa::req::list_names> next_warmup(const name_cache& names, std::string_view board, sys_ms now) {
  using psa::name_list;
  if (!names.fresh(name_list::boards, 0, now)) return psa::req::list_names{name_list::boards, 0};
  if (!names.fresh(name_list::priorities, 0, now)) return psa::req::list_names{name_list::priorities, 0};
  if (const auto* boards = names.find(name_list::boards, 0))
    if (auto b = psa::resolve_name(*boards, board); b && !names.fresh(name_list::statuses, b->id, now))
      return psa::req::list_names{name_list::statuses, b->id};
  return std::nullopt;
}

std::string not_found_message(std::string_view what, std::string_view name, const std::vector<psa::named_ref>& items) {
  std::string msg = std::string(what) + " '" + std::string(name) + "' does not exist in ConnectWise";
  auto near = psa::closest_names(items, name);
  if (!near.empty()) {
    msg += "; closest: ";
    for (std::size_t i = 0; i < near.size(); ++i) msg += (i ? ", '" : "'") + near[i] + "'";
  }
  return msg;
}

}  // namespace ts::sync
