// The event model (schema v1, DESIGN §3): one observation of a security issue
// from a source product. Identity is (source, tenant, issue_id).
#pragma once

#include "core/enum_text.hpp"
#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts {

enum class issue_state { open, resolved };
enum class severity { critical, high, medium, low, info };

template <>
struct enum_text<issue_state> {
  static constexpr std::array<std::pair<issue_state, std::string_view>, 2> names{{
      {issue_state::open, "open"},
      {issue_state::resolved, "resolved"},
  }};
};

/// Most severe first (the order rules compare with `min_severity`).
template <>
struct enum_text<severity> {
  static constexpr std::array<std::pair<severity, std::string_view>, 5> names{{
      {severity::critical, "critical"},
      {severity::high, "high"},
      {severity::medium, "medium"},
      {severity::low, "low"},
      {severity::info, "info"},
  }};
};

struct event {
  std::string source;    ///< producing product, e.g. "wazuh"
  std::string tenant;    ///< customer id in that product
  std::string issue_id;  ///< stable id of the issue in the source
  issue_state state = issue_state::open;
  ts::severity severity = ts::severity::info;
  std::string title;  ///< one line
  std::optional<std::string> description;
  std::optional<std::string> category;
  std::optional<std::string> asset;
  std::optional<std::string> url;
  std::vector<std::string> tags;
  sys_ms updated_at{};                                   ///< orders events of one issue
  std::string updated_at_text;                           ///< as received, for templates
  nlohmann::json attributes = nlohmann::json::object();  ///< free-form object
  nlohmann::json extra = nlohmann::json::object();       ///< unknown top-level fields, kept for templates

  /// The whole event as a JSON object (the template and rule context).
  nlohmann::json to_json() const;
};

}  // namespace ts
