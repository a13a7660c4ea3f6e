// The sync engine (the only IO loop of sync/): turns inbox rows into planned
// operations (planner + rules, committed in batches) and executes due
// operations against ConnectWise with per-issue ordering (at most one
// operation per issue in flight), bounded concurrency, retries and recovery
// of uncertain creates (looked up by externalXRef before being sent again).
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "ops/wakeup.hpp"
#include "psa/cw_client.hpp"
#include "store/store.hpp"
#include "sync/planner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <spdlog/logger.h>

#include <map>
#include <optional>
#include <random>
#include <set>

namespace ts::sync {

struct engine_stats {
  std::uint64_t events_planned = 0;
  std::uint64_t tickets_created = 0;
  std::uint64_t tickets_adopted = 0;
  std::uint64_t retries = 0;
  std::uint64_t dead = 0;
};

class engine {
 public:
  engine(boost::asio::any_io_executor ex, store::store& st, const config::config& cfg, psa::cw_client& client,
         spdlog::logger& log, const ts::clock& clk);

  /// Runs until stop(); then waits up to `drain` for in-flight operations.
  boost::asio::awaitable<void> run(std::chrono::milliseconds drain = std::chrono::seconds{10});

  /// New rows are in the inbox.
  void notify() { wake_.notify(); }
  void stop() {
    stopping_ = true;
    wake_.notify();
  }

  const engine_stats& stats() const noexcept { return stats_; }
  std::size_t in_flight() const noexcept { return in_flight_.size(); }

 private:
  struct lookups {
    std::vector<psa::named_ref> boards;
    std::map<std::int64_t, std::vector<psa::named_ref>> statuses;
    std::vector<psa::named_ref> priorities;
    std::chrono::steady_clock::time_point fetched{};
  };

  bool plan_inbox_batch();
  void dispatch();
  boost::asio::awaitable<void> execute(store::operation_record op);
  boost::asio::awaitable<void> execute_create(const store::operation_record& op, const store::issue_record& issue);
  boost::asio::awaitable<bool> ensure_connected();
  boost::asio::awaitable<psa::psa_result<psa::ticket_create>> resolve(const nlohmann::json& desired, bool refresh);
  void on_failure(const store::operation_record& op, const psa::psa_failure& f, bool post_stage);
  sys_ms backoff_until(int attempts);

  boost::asio::any_io_executor ex_;
  store::store& store_;
  const config::config& cfg_;
  psa::cw_client& client_;
  spdlog::logger& log_;
  const ts::clock& clock_;
  ops::wakeup wake_;
  bool stopping_ = false;
  std::set<std::int64_t> in_flight_;  // issue ids
  std::optional<lookups> lookups_;
  bool auth_blocked_ = false;
  std::chrono::steady_clock::time_point next_connect_attempt_{};
  int connect_failures_ = 0;
  backoff_policy backoff_;
  std::mt19937_64 rng_{std::random_device{}()};
  engine_stats stats_;
};

}  // namespace ts::sync
