// Logging setup. Lines go to stderr; under systemd (JOURNAL_STREAM set) each
// line starts with a syslog priority prefix (`<6>`) so journald records the
// level, and carries no timestamp of its own. With `logging.format: json`,
// each line is one JSON object (for Loki, Splunk, ...). Messages that monitoring may
// alert on start with a stable event name (`ticket.created`, `psa.blocked`, ...).
// Nothing logs keys or the Authorization header: they are never formatted.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::ops {

/// Parses trace|debug|info|warn|error.
std::optional<spdlog::level::level_enum> parse_level(std::string_view s) noexcept;

enum class log_format {
  text,  ///< `time level message`; `<N>message` for journald (JOURNAL_STREAM set)
  json,  ///< one JSON object per line: time, level, event, message and the message's key=value fields
};

/// A logger named `name` writing to stderr in `format` (text: journald-style
/// when JOURNAL_STREAM is set in the environment, or `force_journal`).
std::shared_ptr<spdlog::logger> make_logger(const std::string& name, spdlog::level::level_enum level,
                                            bool force_journal = false, log_format format = log_format::text);

/// A message's structure, for JSON lines: the stable event name it starts
/// with (`ticket.created`; empty when it starts otherwise) and its
/// `key=value` / `key="quoted value"` fields, in order.
struct message_fields {
  std::string event;
  std::vector<std::pair<std::string, std::string>> fields;
};
message_fields parse_message(std::string_view message);

/// The JSON line (with its newline) for one message.
std::string json_line(std::string_view time, std::string_view level, std::string_view logger, std::string_view message);

}  // namespace ts::ops
