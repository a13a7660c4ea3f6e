#include "ops/logging.hpp"

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace ts::ops {
namespace {

int syslog_priority(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
  }
}

/// stderr, one write per line, optional `<N>` priority prefix for journald.
class stderr_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit stderr_sink(bool journal) : journal_(journal) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    if (journal_) fmt::format_to(std::back_inserter(line), "<{}>", syslog_priority(msg.level));
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool journal_;
};

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "info";
  }
}

/// stderr, one JSON object per line.
class json_sink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char time[96];
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    const std::string line =
        json_line(time, level_name(msg.level), std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                  std::string_view(msg.payload.data(), msg.payload.size()));
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

bool event_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }
bool key_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view s) noexcept {
  if (s == "trace") return spdlog::level::trace;
  if (s == "debug") return spdlog::level::debug;
  if (s == "info") return spdlog::level::info;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return std::nullopt;
}

message_fields parse_message(std::string_view m) {
  message_fields out;
  std::size_t i = 0;
  // The event name: a lowercase dotted word with at least one dot, then a space or the end.
  std::size_t e = 0;
  while (e < m.size() && event_char(m[e])) ++e;
  const std::string_view first = m.substr(0, e);
  if (e > 0 && (e == m.size() || m[e] == ' ') && first.find('.') != std::string_view::npos && first.front() != '.' &&
      first.back() != '.' && first.find('=') == std::string_view::npos) {
    out.event = std::string(first);
    i = e;
  }
  while (i < m.size()) {
    // The next token starting after a space.
    while (i < m.size() && m[i] == ' ') ++i;
    std::size_t k = i;
    while (k < m.size() && key_char(m[k])) ++k;
    if (k == i || k >= m.size() || m[k] != '=') {
      // Not a field: skip the word (a quoted stretch as a whole).
      bool quoted = false;
      while (i < m.size() && (quoted || m[i] != ' ')) {
        if (m[i] == '"' && (i == 0 || m[i - 1] != '\\')) quoted = !quoted;
        ++i;
      }
      continue;
    }
    std::string key(m.substr(i, k - i));
    std::size_t v = k + 1;
    std::string value;
    if (v < m.size() && m[v] == '"') {
      ++v;
      while (v < m.size() && m[v] != '"') {
        if (m[v] == '\\' && v + 1 < m.size() && (m[v + 1] == '"' || m[v + 1] == '\\')) ++v;
        value += m[v++];
      }
      if (v < m.size()) ++v;  // the closing quote
    } else {
      while (v < m.size() && m[v] != ' ') value += m[v++];
    }
    out.fields.emplace_back(std::move(key), std::move(value));
    i = v;
  }
  return out;
}

std::string json_line(std::string_view time, std::string_view level, std::string_view logger,
                      std::string_view message) {
  using json = nlohmann::ordered_json;
  const message_fields f = parse_message(message);
  json j;
  j["time"] = time;
  j["level"] = level;
  j["logger"] = logger;
  if (!f.event.empty()) j["event"] = f.event;
  j["message"] = message;
  for (const auto& [k, v] : f.fields) {
    // Fields never replace the envelope's keys.
    if (k == "time" || k == "level" || k == "logger" || k == "event" || k == "message") continue;
    if (!j.contains(k)) j[k] = v;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, spdlog::level::level_enum level,
                                            bool force_journal, log_format format) {
  const bool journal = force_journal || std::getenv("JOURNAL_STREAM") != nullptr;
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (format == log_format::json) {
    sink = std::make_shared<json_sink>();
  } else {
    sink = std::make_shared<stderr_sink>(journal);
    // journald timestamps lines itself.
    sink->set_pattern(journal ? "%v" : "%Y-%m-%dT%H:%M:%S.%e%z %-5l %v");
  }
  auto log = std::make_shared<spdlog::logger>(name, std::move(sink));
  log->set_level(level);
  log->flush_on(spdlog::level::trace);
  return log;
}

}  // namespace ts::ops
