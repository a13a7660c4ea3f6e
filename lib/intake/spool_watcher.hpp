// The spool watcher: moves events from the spool's new/ into the SQLite inbox.
// Wakes on inotify (IN_MOVED_TO / IN_CLOSE_WRITE on new/), at start, and on a
// rescan timer (inotify can overflow, and files may arrive while the watch is
// being set up). Each round reads up to batch_size files, rejects invalid ones
// to rejected/ with a reason, commits the valid ones through the daemon's
// group commit, and only once that commit is durable unlinks them: a crash in
// between re-reads files whose events are already in the inbox, and the
// planner ignores such duplicates.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "intake/spool.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"
#include "sync/timer.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <optional>

namespace ts::intake {

struct intake_stats {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
};

class spool_watcher {
 public:
  /// `on_committed` runs after each batch commit (the sync engine's notify).
  spool_watcher(boost::asio::any_io_executor ex, const config::intake_config& cfg, store::store& st,
                store::group_commit& commits, spdlog::logger& log, sync::timer_source& timers,
                std::function<void()> on_committed);
  ~spool_watcher();

  /// Creates the spool directories if missing; throws naming the path on failure.
  void prepare();
  /// Runs until stop().
  boost::asio::awaitable<void> run();
  void stop();
  /// A reload: the new batch size, size limit and rescan interval (the spool
  /// directory stays until a restart).
  void reconfigure(const config::intake_config& cfg);

  /// Processes one batch now; returns the number of files that left new/
  /// (committed or rejected). Public for tests.
  boost::asio::awaitable<std::size_t> process_batch();

  const intake_stats& stats() const noexcept { return stats_; }

 private:
  boost::asio::awaitable<void> watch_inotify();

  boost::asio::any_io_executor ex_;
  config::intake_config cfg_;
  spool_paths paths_;
  store::store& store_;
  store::group_commit& commit_;
  spdlog::logger& log_;
  const ts::clock& clock_;  // timers.clk()
  std::function<void()> on_committed_;
  sync::wakeup wake_;
  std::optional<boost::asio::posix::stream_descriptor> inotify_;
  bool stopping_ = false;
  intake_stats stats_;
};

}  // namespace ts::intake
