#include "intake/spool_watcher.hpp"

#include "sources/event_parser.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/inotify.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace ts::intake {

namespace net = boost::asio;

spool_watcher::spool_watcher(net::any_io_executor ex, const config::intake_config& cfg, store::store& st,
                             store::group_commit& commits, spdlog::logger& log, sync::timer_source& timers,
                             std::function<void()> on_committed)
    : ex_(ex),
      cfg_(cfg),
      paths_(spool_paths::under(cfg.spool_dir)),
      store_(st),
      commit_(commits),
      log_(log),
      clock_(timers.clk()),
      on_committed_(std::move(on_committed)),
      wake_(ex, timers) {}

spool_watcher::~spool_watcher() = default;

void spool_watcher::prepare() { ensure_spool(paths_); }

void spool_watcher::reconfigure(const config::intake_config& cfg) {
  const std::string dir = cfg_.spool_dir;
  cfg_ = cfg;
  cfg_.spool_dir = dir;
  wake_.notify();  // a new rescan interval counts from now
}

void spool_watcher::stop() {
  stopping_ = true;
  if (inotify_) inotify_->cancel();
  wake_.notify();
}

net::awaitable<std::size_t> spool_watcher::process_batch() {
  const auto names = spool_list(paths_, cfg_.batch_size);
  if (names.empty()) co_return 0;
  std::size_t handled = 0;
  std::vector<store::inbox_entry> entries;
  std::vector<std::string> accepted;
  entries.reserve(names.size());
  for (const auto& name : names) {
    spool_file f = spool_read(paths_, name, cfg_.max_event_bytes);
    std::string reason;
    switch (f.status) {
      case read_status::vanished: continue;
      case read_status::io_error:
        // Not the producer's fault (permissions, EIO): leave it for the next round.
        log_.error("intake.read_failed file={} error=\"{}\"", name, f.error);
        continue;
      case read_status::too_large:
        reason = "event file is " + std::to_string(f.size) + " bytes, larger than intake.max_event_size (" +
                 std::to_string(cfg_.max_event_bytes) + " bytes); not read";
        break;
      case read_status::ok: {
        auto ev = parse_event(f.content);
        if (ev) {
          entries.push_back({"spool:" + name, std::move(f.content)});
          accepted.push_back(name);
          continue;
        }
        reason = ev.error().to_string();
        break;
      }
    }
    const std::string moved = spool_reject(paths_, name, reason);
    ++stats_.rejected;
    ++handled;
    log_.warn("intake.rejected file={} reason=\"{}\" moved_to=rejected/{}", name, reason, moved);
  }
  if (!entries.empty()) {
    co_await commit_.commit([&] { store_.inbox_append(entries, clock_.now()); });
    // Committed and durable: only now may the files go.
    for (const auto& name : accepted) spool_remove(paths_, name);
    spool_sync(paths_);
    stats_.accepted += entries.size();
    log_.debug("intake.committed events={}", entries.size());
    if (on_committed_) on_committed_();
  }
  co_return handled + accepted.size();
}

net::awaitable<void> spool_watcher::watch_inotify() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    log_.warn("intake.inotify_unavailable error=\"{}\"; relying on the rescan timer", std::strerror(errno));
    co_return;
  }
  inotify_.emplace(ex_, fd);  // owns fd from here on
  if (::inotify_add_watch(fd, paths_.fresh.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    log_.warn("intake.inotify_unavailable dir={} error=\"{}\"; relying on the rescan timer", paths_.fresh.string(),
              std::strerror(errno));
    co_return;
  }
  std::array<char, 16 * 1024> buf;
  while (!stopping_) {
    auto [ec, n] = co_await inotify_->async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
    (void)n;
    if (ec) {
      if (ec != net::error::operation_aborted)
        log_.warn("intake.inotify_failed error=\"{}\"; relying on the rescan timer", ec.message());
      co_return;
    }
    wake_.notify();  // the contents do not matter: any event means "scan new/"
  }
}

net::awaitable<void> spool_watcher::run() {
  net::co_spawn(ex_, watch_inotify(), net::detached);
  while (!stopping_) {
    // Drain everything that is there, one committed batch at a time.
    // (Not `while (!stopping_ && co_await ...)`: GCC 12 miscompiles a
    // co_await inside a short-circuit condition.)
    while (!stopping_) {
      const std::size_t moved = co_await process_batch();
      if (moved == 0) break;
    }
    co_await wake_.wait_for(cfg_.rescan_interval);
  }
}

}  // namespace ts::intake
