// Timestamps: ticketsync orders events by their RFC 3339 `updated_at` and keeps
// wall-clock times in the store as Unix milliseconds. Pure: nothing here reads a
// clock; callers pass `now`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ts {

using sys_ms = std::chrono::sys_time<std::chrono::milliseconds>;

/// Parses RFC 3339 (`2026-01-02T03:04:05Z`, `...05.123+02:00`, lower-case t/z
/// accepted). Fractions beyond milliseconds are truncated. Returns nullopt on any
/// deviation, including out-of-range fields (month 13, Feb 30, hour 24).
std::optional<sys_ms> parse_rfc3339(std::string_view text) noexcept;

/// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always milliseconds).
std::string format_rfc3339(sys_ms t);

inline std::int64_t to_unix_ms(sys_ms t) noexcept { return t.time_since_epoch().count(); }
inline sys_ms from_unix_ms(std::int64_t ms) noexcept { return sys_ms{std::chrono::milliseconds{ms}}; }

}  // namespace ts
