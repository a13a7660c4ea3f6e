#include "core/event.hpp"

namespace ts {

std::string_view to_string(issue_state s) noexcept {
  return s == issue_state::open ? "open" : "resolved";
}

std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::critical: return "critical";
    case severity::high: return "high";
    case severity::medium: return "medium";
    case severity::low: return "low";
    case severity::info: return "info";
  }
  return "info";
}

std::optional<issue_state> parse_issue_state(std::string_view s) noexcept {
  if (s == "open") return issue_state::open;
  if (s == "resolved") return issue_state::resolved;
  return std::nullopt;
}

std::optional<severity> parse_severity(std::string_view s) noexcept {
  for (auto v : {severity::critical, severity::high, severity::medium, severity::low, severity::info})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

nlohmann::json event::to_json() const {
  nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
  j["source"] = source;
  j["tenant"] = tenant;
  j["issue_id"] = issue_id;
  j["state"] = to_string(state);
  j["severity"] = to_string(severity);
  j["title"] = title;
  if (description) j["description"] = *description;
  if (category) j["category"] = *category;
  if (asset) j["asset"] = *asset;
  if (url) j["url"] = *url;
  j["tags"] = tags;
  j["updated_at"] = updated_at_text;
  j["attributes"] = attributes;
  return j;
}

}  // namespace ts
