// The sync engine in-process, for tests that must run every failure point in
// seconds: the real engine, store (SQLite on disk), group commit and WAL sync
// thread, against the fake ConnectWise (fake_psa.hpp), on virtual time.
//
// "The process dies" means what a SIGKILL means: crash() drops the engine
// without letting it run another step and puts the database files back to
// what the WAL sync thread had reported durable (a copy of the WAL taken at
// every sync; no checkpoint runs during a life), then boots again. So a test
// fails if anything acted on a commit before it was synced.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"
#include "store/wal_sync.hpp"
#include "support/fake_psa.hpp"
#include "support/scratch_dir.hpp"
#include "sync/engine.hpp"
#include "sync/timer.hpp"

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>

namespace ts::test {

/// Time that moves only when told: the engine's sleeps are armed here, and
/// advance() jumps to the earliest deadline and wakes its sleeper.
class virtual_timers final : public sync::timer_source, public ts::clock {
 public:
  sys_ms now() const override { return wall_; }
  steady_time steady_now() const override { return steady_; }
  const ts::clock& clk() const noexcept override { return *this; }
  void arm(boost::asio::steady_timer& t, steady_time deadline) override;
  void disarm(boost::asio::steady_timer& t) noexcept override { armed_.erase(&t); }
  /// Moves to the earliest armed deadline (not past `limit`) and cancels the
  /// timers due then. False when nothing is armed before `limit`.
  bool advance(steady_time limit);
  void advance_by(std::chrono::milliseconds d);
  /// Forgets every armed timer (their io_context is gone).
  void reset() { armed_.clear(); }

 private:
  steady_time steady_{std::chrono::hours{1}};
  sys_ms wall_ = from_unix_ms(1'798'761'600'000);  // 2027-01-01T00:00:00Z: after every time in the fixtures
  std::map<boost::asio::steady_timer*, steady_time> armed_;
};

/// Deterministic draws for the backoff jitter.
class seeded_random final : public random_source {
 public:
  explicit seeded_random(std::uint64_t seed) : rng_(seed) {}
  double unit() override { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

 private:
  std::mt19937_64 rng_;
};

class engine_rig {
 public:
  /// `sections` is appended to a base configuration (psa on the fake,
  /// companies of the seed, the default ticket on "Security Incidents" with a
  /// priority per severity, storm off unless `sections` sets it).
  explicit engine_rig(const std::string& sections = {});
  /// The default `ticket` section, with `lifecycle` (YAML lines indented by
  /// 4) under its lifecycle key: for `sections` that change only that.
  static std::string ticket_section(const std::string& lifecycle = {});
  /// The same, starting from a copy of the database file `database` (one
  /// made by an earlier release, say).
  engine_rig(const std::string& sections, const std::filesystem::path& database);
  ~engine_rig();
  engine_rig(const engine_rig&) = delete;
  engine_rig& operator=(const engine_rig&) = delete;

  fake_psa psa;
  virtual_timers time;

  /// Stores `event_json` in the inbox, durably (as the intake would), and
  /// wakes the engine.
  void submit(const std::string& event_json);
  /// Runs the engine (and virtual time) until `done()` holds, crashing and
  /// booting again when the fake says the process dies. False when
  /// `virtual_limit` passes first or nothing is left to wait for.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds virtual_limit = std::chrono::hours{2});
  /// Runs until the inbox is empty and no operation is pending.
  bool settle(std::chrono::milliseconds virtual_limit = std::chrono::hours{2});
  /// A SIGKILL: everything not synced is lost; then the daemon starts again.
  void crash();
  /// SIGTERM and a start: the engine drains, then starts again.
  void restart();
  /// A SIGHUP with this configuration (the same base as the constructor's).
  void reload(const std::string& sections);

  store::store& store() { return *st_; }
  sync::engine& engine() { return *engine_; }
  const config::config& cfg() const { return *cfg_; }
  int boots() const noexcept { return boots_; }
  int crashes() const noexcept { return crashes_; }
  /// Recovery lookups by cause over every engine this rig has run (the
  /// counters of ticketsync_recovery_lookups_total, summed across crashes).
  std::map<std::string, std::uint64_t> recovery_lookups() const;
  std::string log() const { return log_text_.str(); }

 private:
  engine_rig(const std::string& sections, const std::filesystem::path* database);
  std::shared_ptr<const config::config> make_config(const std::string& sections);
  void boot();
  void teardown(bool crash);
  void drive_until(const std::function<bool()>& done);

  scratch_dir dir_{"ts-rig"};
  std::shared_ptr<const config::config> cfg_;
  seeded_random random_{7};
  std::ostringstream log_text_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<boost::asio::io_context> ioc_;
  std::unique_ptr<store::store> st_;
  std::unique_ptr<store::wal_sync> wal_;
  std::unique_ptr<store::group_commit> commits_;
  std::unique_ptr<sync::engine> engine_;
  bool running_ = false;
  bool crash_requested_ = false;
  int boots_ = 0;
  int crashes_ = 0;
  std::map<std::string, std::uint64_t> lookups_before_;
  // What the disk holds for sure: the database file as of the last boot
  // (a checkpoint folds the WAL into it then), and the WAL as of the last sync.
  std::string db_image_;
  std::mutex image_mutex_;
  std::string wal_image_;  // guarded by image_mutex_
  bool frozen_ = false;    // guarded by image_mutex_: the process is dead; syncs no longer count
};

}  // namespace ts::test
