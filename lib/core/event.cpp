#include "core/event.hpp"

namespace ts {

nlohmann::json event::to_json() const {
  nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
  j["source"] = source;
  j["tenant"] = tenant;
  j["issue_id"] = issue_id;
  j["state"] = to_text(state);
  j["severity"] = to_text(severity);
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
