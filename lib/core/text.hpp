// Small text helpers shared by the pure modules. Pure.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace ts {

/// Compact JSON text, invalid UTF-8 in strings replaced by U+FFFD (the form
/// stored and logged).
inline std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// `s` as ConnectWise will store it: invalid UTF-8 replaced by U+FFFD, so a
/// text found again (a note's) compares equal to the one sent.
inline std::string valid_utf8(std::string_view s) {
  return nlohmann::json::parse(json_text(nlohmann::json(std::string(s)))).get<std::string>();
}

/// Nothing but white space.
inline bool blank(std::string_view s) noexcept { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace ts
