// The sync engine's loop: the only IO of sync/. It turns inbox rows into
// planned operations (ingest, committed in batches) and runs due operations
// (the operation machine) against the PSA client: at most one operation per
// issue in flight, at most psa.max_connections at once, every request within
// the client-side budget and after any 429 pause. Every store change goes
// through the group commit; nothing acts on a change before it is durable.
// It holds no business rule: what to plan, what to send, when to retry and
// what to give up are decided by ingest, the operation machine and the link.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "psa/client.hpp"
#include "rules/ruleset.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"
#include "sync/effects.hpp"
#include "sync/ingest.hpp"
#include "sync/link.hpp"
#include "sync/name_cache.hpp"
#include "sync/pacer.hpp"
#include "sync/planner.hpp"
#include "sync/reverse.hpp"
#include "sync/timer.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <set>

namespace ts::sync {

/// What the engine's parts are built on.
struct engine_deps {
  store::store& st;
  store::group_commit& commits;  ///< the daemon's one group commit (the intake shares it)
  psa::client& client;
  spdlog::logger& log;
  timer_source& timers;   ///< the clock, and sleeping on it
  random_source& random;  ///< backoff jitter
};

class engine {
 public:
  /// `cfg` is the configuration at start; its mapping (companies, ticket,
  /// rules, storm) and PSA budget and connection limit change with reload().
  engine(boost::asio::any_io_executor ex, engine_deps deps, std::shared_ptr<const config::config> cfg);

  /// Swaps in `cfg` (the configuration in effect, see config/config_diff.hpp).
  /// Operations already running finish under the mapping they started with;
  /// everything planned or sent later uses the new one. Held events go back
  /// to the inbox to be planned again, and the name cache is refreshed on
  /// next use. Returns the number of held events released.
  std::int64_t reload(std::shared_ptr<const config::config> cfg);

  /// The mapping in effect.
  const std::shared_ptr<const rules::ruleset>& rules() const noexcept { return rules_; }

  /// Runs until stop(); then waits up to `drain` for in-flight operations.
  boost::asio::awaitable<void> run(std::chrono::milliseconds drain = std::chrono::seconds{10});

  /// New rows are in the inbox (or operations were made due by another process).
  void notify() { wake_.notify(); }
  /// A callback's ticket hint was committed (intake/callback_receiver.hpp).
  void hints_arrived() {
    hints_pending_ = true;
    wake_.notify();
  }
  void stop() {
    stopping_ = true;
    wake_.notify();
  }

  const engine_stats& stats() const noexcept { return stats_; }
  std::size_t in_flight() const noexcept { return flight_->issues.size(); }
  /// A callback was taken up within the last 15 minutes: ConnectWise delivers them.
  bool callbacks_live() const noexcept {
    return last_callback_ && deps_.timers.clk().steady_now() - *last_callback_ < std::chrono::minutes{15};
  }
  const link_status& connection() const noexcept { return link_.status(); }

 private:
  boost::asio::awaitable<bool> plan_inbox_batch();
  boost::asio::awaitable<bool> ensure_connected();
  void dispatch();
  boost::asio::awaitable<void> execute(operation_record op);
  /// Waits for the next request's turn: the budget, and any 429 pause.
  boost::asio::awaitable<void> pace();
  /// Performs `r` and records what the answer says about the connection
  /// (into `link_writes`, committed with the caller's next writes).
  boost::asio::awaitable<psa::answer> send(psa::request r, std::vector<write>& link_writes);
  /// pace(), then send().
  boost::asio::awaitable<psa::answer> perform(psa::request r, std::vector<write>& link_writes);
  boost::asio::awaitable<void> commit(std::vector<write> writes);
  void log_notices(const std::vector<notice>& notices);
  void load_directory();

  // The ConnectWise -> ticketsync direction (sync/reverse_loop.cpp).
  /// Starts the polling sweep or the existence check when due and none runs;
  /// returns when the loop should look again.
  steady_time start_reverse();
  struct flight;
  enum class reverse_job { hints, sweep, existence };
  boost::asio::awaitable<void> reverse_task(std::shared_ptr<flight> f, reverse_job job);
  /// One polling sweep: every page since the durable mark, then the new mark.
  boost::asio::awaitable<void> sweep();
  /// Re-reads the tickets callbacks named (batched) and decides on what they hold.
  boost::asio::awaitable<void> read_hints();
  /// Whether the tickets issues hold open still exist (a 404 confirms a deletion).
  boost::asio::awaitable<void> check_existence();
  /// Reads each of `ids` not in `present` on its own: a 404 is a deletion,
  /// an answer an observation (into `out`). False when a read failed.
  boost::asio::awaitable<bool> confirm_missing(const std::vector<std::int64_t>& ids,
                                               const std::set<std::int64_t>& present, heard_from from,
                                               std::vector<observation>& out, std::vector<write>& link_writes);
  /// Decides each observation for the issues whose ticket it is, and commits
  /// the outcome with `extra` (the link's writes, a mark).
  boost::asio::awaitable<void> observe_all(std::vector<observation> seen, std::vector<write> extra);

  boost::asio::any_io_executor ex_;
  engine_deps deps_;
  std::shared_ptr<const config::config> cfg_;    // in effect; swapped by reload()
  std::shared_ptr<const rules::ruleset> rules_;  // the mapping of cfg_
  wakeup wake_;
  bool stopping_ = false;
  // Issues and operations in flight. Shared with the operation coroutines: at
  // shutdown the io_context may destroy their frames after the engine is gone.
  struct flight {
    std::set<std::int64_t> issues;
    std::set<std::int64_t> ops;
    bool reverse = false;  ///< a sweep or an existence check runs
  };
  std::shared_ptr<flight> flight_ = std::make_shared<flight>();
  name_cache names_;
  psa_link link_;
  pacer pacer_;
  backoff_policy backoff_;
  engine_stats stats_;
  std::optional<steady_time> next_sweep_;  ///< unset: sweep at the first chance (catching up after a stop)
  std::optional<steady_time> next_existence_;
  bool hints_pending_ = true;                 ///< ticket hints may be queued (true at start: left by the last run)
  steady_time next_hints_{};                  ///< after a failed re-read, not before this
  std::optional<steady_time> last_callback_;  ///< when a callback's hint was last taken up
};

/// What ingest needs from the store for `ev`: its issue, its newest pending
/// operation, and for a possible create the tenant's storm counts. The daemon
/// and `explain` read it the same way; `in_flight` holds the operations
/// running now.
ingest_snapshot read_snapshot(store::store& st, const event& ev, const config::config& cfg, sys_ms now,
                              const std::set<std::int64_t>& in_flight);

/// Applies `writes` in order inside the caller's transaction. Rows inserted
/// by earlier writes of the same list are what issue_ref::self()/new_digest()
/// name; `self` starts as the event's issue (0 when new).
void apply_writes(store::store& st, const std::vector<write>& writes, sys_ms now, std::int64_t self = 0);

}  // namespace ts::sync
