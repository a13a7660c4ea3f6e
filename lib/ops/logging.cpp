#include "ops/logging.hpp"

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <cstdlib>
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

}  // namespace

std::optional<spdlog::level::level_enum> parse_level(std::string_view s) noexcept {
  if (s == "trace") return spdlog::level::trace;
  if (s == "debug") return spdlog::level::debug;
  if (s == "info") return spdlog::level::info;
  if (s == "warn") return spdlog::level::warn;
  if (s == "error") return spdlog::level::err;
  return std::nullopt;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, spdlog::level::level_enum level,
                                            bool force_journal) {
  const bool journal = force_journal || std::getenv("JOURNAL_STREAM") != nullptr;
  auto sink = std::make_shared<stderr_sink>(journal);
  // journald timestamps lines itself.
  sink->set_pattern(journal ? "%v" : "%Y-%m-%dT%H:%M:%S.%e%z %-5l %v");
  auto log = std::make_shared<spdlog::logger>(name, std::move(sink));
  log->set_level(level);
  log->flush_on(spdlog::level::trace);
  return log;
}

}  // namespace ts::ops
