// Logging setup. Lines go to stderr; under systemd (JOURNAL_STREAM set) each
// line starts with a syslog priority prefix (`<6>`) so journald records the
// level, and carries no timestamp of its own. Messages that monitoring may
// alert on start with a stable event name (`ticket.created`, `psa.blocked`, ...).
// Nothing logs keys or the Authorization header: they are never formatted.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ts::ops {

/// Parses trace|debug|info|warn|error.
std::optional<spdlog::level::level_enum> parse_level(std::string_view s) noexcept;

/// A logger named `name` writing to stderr, journald-style when JOURNAL_STREAM
/// is set in the environment (or `force_journal`).
std::shared_ptr<spdlog::logger> make_logger(const std::string& name, spdlog::level::level_enum level,
                                            bool force_journal = false);

}  // namespace ts::ops
