// The sync engine (the only IO loop of sync/): turns inbox rows into planned
// operations (rules + planner, committed in batches) and executes due
// operations against ConnectWise: at most one operation per issue in flight,
// bounded concurrency, the client's rate limit, retries with backoff, dead
// letters for permanent failures, and recovery of uncertain requests (a create
// is looked up by externalXRef, a note among the ticket's notes, before either
// is sent again). State changes go through a group commit.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "ops/wakeup.hpp"
#include "psa/cw_client.hpp"
#include "rules/ruleset.hpp"
#include "store/store.hpp"
#include "store/group_commit.hpp"
#include "sync/planner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

namespace ts::sync {

struct engine_stats {
  std::uint64_t events_planned = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t tickets_created = 0;
  std::uint64_t tickets_adopted = 0;
  std::uint64_t notes_posted = 0;
  std::uint64_t notes_adopted = 0;
  std::uint64_t patches = 0;
  std::uint64_t retries = 0;
  std::uint64_t dead = 0;
  std::uint64_t held = 0;        ///< events held for an unmapped tenant
  std::uint64_t digested = 0;    ///< new issues folded into a storm digest ticket
  std::uint64_t technician_closed = 0;  ///< tickets found closed by a person
  std::uint64_t reloads = 0;
  /// Operations by {kind, outcome}: done, skipped, retry, dead.
  std::map<std::pair<std::string, std::string>, std::uint64_t> operations;
};

/// The engine's view of its ConnectWise connection (in memory; the same facts
/// go to the store's runtime table for `ticketsyncd status`).
struct connection_info {
  /// connecting (no answer yet since start), connected (codebase found,
  /// credentials accepted), unreachable (connecting failed; retried with
  /// backoff), blocked (401/403: sending paused, probed every 30 s). A request
  /// failing while connected leaves the state and shows in last_error.
  std::string state = "connecting";
  sys_ms since{};                     ///< when `state` began
  std::optional<sys_ms> last_success;  ///< last connect or operation that ConnectWise accepted
  std::string last_error;             ///< the last failed PSA request (psa_failure::to_string(), no secrets)
};

class engine {
 public:
  /// `cfg` is the configuration at start; its psa/intake/storage sections
  /// stay in effect for the engine's life, its mapping (companies, ticket,
  /// rules, storm) until reload().
  engine(boost::asio::any_io_executor ex, store::store& st, std::shared_ptr<const config::config> cfg,
         psa::cw_client& client, spdlog::logger& log, const ts::clock& clk);

  /// Swaps in the mapping of `cfg` (validated by the loader). Operations
  /// already running finish under the mapping they started with; everything
  /// planned or sent later uses the new one. Held events go back to the inbox
  /// to be planned again, and the PSA name cache is refreshed. Returns the
  /// number of held events released.
  std::int64_t reload(std::shared_ptr<const config::config> cfg);

  /// The mapping in effect.
  const std::shared_ptr<const rules::ruleset>& rules() const noexcept { return rules_; }

  /// Runs until stop(); then waits up to `drain` for in-flight operations.
  boost::asio::awaitable<void> run(std::chrono::milliseconds drain = std::chrono::seconds{10});

  /// New rows are in the inbox.
  void notify() { wake_.notify(); }
  void stop() {
    stopping_ = true;
    wake_.notify();
  }

  const engine_stats& stats() const noexcept { return stats_; }
  std::size_t in_flight() const noexcept { return flight_->issues.size(); }
  const store::group_commit& commits() const noexcept { return commit_; }
  /// The daemon's one group commit, for other writers on the same loop (the intake API).
  store::group_commit& commits() noexcept { return commit_; }
  const connection_info& connection() const noexcept { return conn_; }

 private:
  struct lookups {
    std::vector<psa::named_ref> boards;
    std::map<std::int64_t, std::vector<psa::named_ref>> statuses;
    std::vector<psa::named_ref> priorities;
    /// Fetched on first use: "types", "subtypes", "items", "teams" per board
    /// (key {kind, board id}), "sources" and "custom_fields" (board id 0).
    std::map<std::pair<std::string, std::int64_t>, std::vector<psa::named_ref>> lists;
    std::chrono::steady_clock::time_point fetched{};
  };
  /// How a step ended.
  struct step_result {
    std::optional<psa::psa_failure> failure;  ///< set when it failed
    bool request_sent = false;                ///< a request that may apply was attempted (for `sent`)
  };
  struct context;  // one operation's working state (driver.cpp)

  boost::asio::awaitable<bool> plan_inbox_batch();
  void plan_row(const store::inbox_row& row, sys_ms now);
  void plan_digest_member(const store::issue_record& rec, const ts::event& ev, sys_ms now, bool first);
  std::int64_t digest_issue_for(const ts::event& ev, const rules::desired_ticket& member, const nlohmann::json& desired,
                                sys_ms now);
  void record_outcome(const store::operation_record& op, std::string_view outcome, std::string_view detail);
  void dispatch();
  boost::asio::awaitable<void> execute(store::operation_record op);
  void follow_up_after_create(std::int64_t issue_id);
  boost::asio::awaitable<step_result> run_step(step_kind step, context& c);
  boost::asio::awaitable<step_result> step_post_ticket(context& c);
  boost::asio::awaitable<step_result> step_post_note(context& c);
  boost::asio::awaitable<step_result> step_patch(context& c, bool with_status);
  boost::asio::awaitable<bool> ensure_connected();
  boost::asio::awaitable<psa::psa_result<psa::named_ref>> board_status(std::string_view board,
                                                                       std::string_view status, bool must_be_closed);
  boost::asio::awaitable<psa::psa_result<psa::named_ref>> lookup_board(std::string_view board);
  boost::asio::awaitable<psa::psa_result<psa::named_ref>> lookup_priority(std::string_view priority);
  /// A name in one of the `lookups::lists` (fetched and cached on first use).
  boost::asio::awaitable<psa::psa_result<psa::named_ref>> lookup_listed(std::string kind, std::int64_t board_id,
                                                                        std::string_view name);
  boost::asio::awaitable<psa::psa_result<bool>> ticket_closed_by_technician(context& c);
  void cache_directory(std::string_view kind, std::int64_t scope, const std::vector<psa::named_ref>& items);
  boost::asio::awaitable<psa::psa_result<void>> refresh_lookups(bool force);
  boost::asio::awaitable<void> on_failure(const store::operation_record& op, const store::issue_record& issue,
                                          const psa::psa_failure& f, bool clear_sent);
  sys_ms backoff_until(int attempts);
  /// An operator retried `op` (`deadletter retry`): renders the issue's ticket
  /// anew from its stored event with the mapping in effect, stores it, and
  /// clears the mark. Returns why the ticket cannot be rendered, if so. Runs
  /// inside a store transaction.
  std::optional<std::string> rerender(const store::operation_record& op, sys_ms now);
  /// Updates conn_ and, inside the caller's store transaction, the runtime
  /// keys: psa.state/psa.state_since when `state` (if not empty) differs,
  /// psa.last_error for `error` (if a PSA request failed), psa.last_success_at
  /// on `success` at most every 10 s.
  void record_psa(std::string_view state, const psa::psa_failure* error, bool success, sys_ms now);

  boost::asio::any_io_executor ex_;
  store::store& store_;
  std::shared_ptr<const config::config> base_cfg_;  // psa/intake/storage: fixed for the engine's life
  const config::config& cfg_;
  std::shared_ptr<const rules::ruleset> rules_;     // the mapping; swapped by reload()
  psa::cw_client& client_;
  spdlog::logger& log_;
  const ts::clock& clock_;
  ops::wakeup wake_;
  store::group_commit commit_;
  bool stopping_ = false;
  // Issues and operations in flight. Shared with the operation coroutines: at
  // shutdown the io_context may destroy their frames after the engine is gone.
  struct flight {
    std::set<std::int64_t> issues;
    std::set<std::int64_t> ops;
  };
  std::shared_ptr<flight> flight_ = std::make_shared<flight>();
  std::optional<lookups> lookups_;
  bool auth_blocked_ = false;
  std::chrono::steady_clock::time_point next_connect_attempt_{};
  int connect_failures_ = 0;
  backoff_policy backoff_;
  connection_info conn_;
  std::optional<sys_ms> success_written_;  // psa.last_success_at as last stored
  std::mt19937_64 rng_{std::random_device{}()};
  engine_stats stats_;
};

}  // namespace ts::sync
