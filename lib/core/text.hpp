// Small text helpers shared by the pure modules. Pure.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace ts {

/// `s` with ASCII letters lower-cased (names, hosts and keywords that
/// ConnectWise and URLs compare without letter case); other bytes unchanged.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

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

/// Length of the UTF-8 sequence starting at s[i] (1 to 4), or 0 when it is
/// ill-formed (Unicode table 3-7: no overlongs, no surrogates, nothing above
/// U+10FFFF, not truncated). `i` must be < s.size().
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = at(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  return len;
}

/// Nothing but white space.
inline bool blank(std::string_view s) noexcept { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace ts
