// Small text, encoding and time helpers shared by cwsim's pure parts (simulator,
// conditions, CLI). They model the .NET/SQL Server conventions ConnectWise exposes:
// case-insensitive comparisons, UTF-16 string lengths, UTC ISO-8601 timestamps with a
// trailing "Z", and SQL LIKE matching. Nothing here does IO.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cwsim {

/// ASCII case-insensitive equality (non-ASCII bytes compare exactly).
bool ci_equal(std::string_view a, std::string_view b) noexcept;

/// ASCII case-insensitive three-way comparison: <0, 0, >0.
int ci_compare(std::string_view a, std::string_view b) noexcept;

/// True when `needle` occurs in `haystack`, ASCII case-insensitively; "" occurs everywhere.
bool ci_contains(std::string_view haystack, std::string_view needle) noexcept;

/// Strict-weak ordering for case-insensitive maps; transparent.
struct ci_less {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return ci_compare(a, b) < 0; }
};

std::string to_lower(std::string_view s);

/// `s` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s) noexcept;

/// Decodes %XX escapes; with `plus_is_space` also '+' → ' ' (query strings). Malformed
/// escapes are kept literally, as .NET's UrlDecode does.
std::string percent_decode(std::string_view s, bool plus_is_space);

/// Standard (RFC 4648) base64 with optional padding; nullopt on any invalid character.
std::optional<std::string> base64_decode(std::string_view s);

/// Standard (RFC 4648) base64 with padding.
std::string base64_encode(std::string_view bytes);

/// Length of UTF-8 text in UTF-16 code units (.NET string.Length). Assumes valid UTF-8.
std::size_t utf16_length(std::string_view utf8) noexcept;

/// Parses a decimal integer that spans all of `s`; nullopt otherwise.
std::optional<std::int64_t> parse_int(std::string_view s) noexcept;

/// "YYYY-MM-DDTHH:MM:SSZ", the format ConnectWise uses for every date.
std::string format_datetime(std::chrono::system_clock::time_point t);

/// RFC 9110 IMF-fixdate, e.g. "Thu, 01 Jan 2026 00:00:00 GMT" (the HTTP Date header).
std::string format_http_date(std::chrono::system_clock::time_point t);

/// An absolute http:// or https:// URL split for a client: host without brackets, port
/// (default 80/443), target (path + query, "/" when empty).
struct http_url {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target;
};

/// nullopt unless `url` is http(s)://HOST[:PORT][/...] with a non-empty host (IPv6 in
/// brackets) and a valid port. No user info, no fragment handling beyond cutting it off.
std::optional<http_url> parse_http_url(std::string_view url);

/// Seconds since the Unix epoch for "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" with optional
/// fraction and optional "Z" or ±HH:MM offset; nullopt when malformed.
std::optional<std::int64_t> parse_datetime(std::string_view s) noexcept;

/// SQL LIKE, ASCII case-insensitive: '%' and '*' match any run, '_' any one character.
bool like_match(std::string_view text, std::string_view pattern) noexcept;

}  // namespace cwsim
