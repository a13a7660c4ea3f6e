#include "support/engine_rig.hpp"

#include "config/config_loader.hpp"

#include <SQLiteCpp/Database.h>
#include <spdlog/sinks/ostream_sink.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace ts::test {

namespace net = boost::asio;
namespace fs = std::filesystem;

//------------------------------------------------------------------------------
// virtual time

void virtual_timers::arm(net::steady_timer& t, steady_time deadline) {
  t.expires_at(net::steady_timer::time_point::max());
  armed_[&t] = deadline;
}

bool virtual_timers::advance(steady_time limit) {
  if (armed_.empty()) return false;
  steady_time next = steady_time::max();
  for (const auto& [t, at] : armed_) next = std::min(next, at);
  if (next > limit) return false;
  if (next > steady_) advance_by(std::chrono::duration_cast<std::chrono::milliseconds>(next - steady_));
  // Waking a sleeper disarms it (it may arm again at once): collect first.
  std::vector<net::steady_timer*> due;
  for (const auto& [t, at] : armed_)
    if (at <= steady_) due.push_back(t);
  for (auto* t : due) {
    armed_.erase(t);
    t->cancel();
  }
  return true;
}

void virtual_timers::advance_by(std::chrono::milliseconds d) {
  if (d <= std::chrono::milliseconds{0}) return;
  steady_ += d;
  wall_ += d;
}

//------------------------------------------------------------------------------

namespace {

std::string read_file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("engine_rig: cannot write " + p.string());
}

std::string read_fd(int fd) {
  std::string out;
  char buf[64 * 1024];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  return out;
}

net::awaitable<void> append(store::group_commit& commits, store::store& st, std::vector<store::inbox_entry> entries,
                            sys_ms now) {
  co_await commits.commit([&] { st.inbox_append(entries, now); });
}

}  // namespace

std::string engine_rig::ticket_section(const std::string& lifecycle) {
  return "ticket:\n"
         "  board: Security Incidents\n"
         "  status: New\n"
         "  closed_status: Closed\n"
         "  reopen_status: Reopened\n"
         "  summary: \"[{{severity}}] {{title}}\"\n"
         "  priority:\n"
         "    critical: Priority 1 - Emergency Response\n"
         "    high: Priority 2 - Quick Response\n"
         "    medium: Priority 3 - Normal Response\n"
         "    low: Priority 4 - Schedule Maintenance\n"
         "    info: Priority 4 - Schedule Maintenance\n" +
         (lifecycle.empty() ? std::string() : "  lifecycle:\n" + lifecycle);
}

std::shared_ptr<const config::config> engine_rig::make_config(const std::string& sections) {
  const fs::path cfg_path = dir_.path() / "ticketsync.yaml";
  // A top-level section of `sections` replaces the default one.
  const auto has = [&](const std::string& name) {
    return sections.rfind(name + ":", 0) == 0 || sections.find("\n" + name + ":") != std::string::npos;
  };
  {
    std::ofstream out(cfg_path);
    if (!has("psa"))
      out << "psa:\n"
             "  site: https://psa.invalid\n"
             "  company_id: demo\n"
             "  public_key: demo-public-key\n"
             "  private_key: {env: TS_TEST_PRIVATE_KEY}\n"
             "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n"
             "  requests_per_minute: 600000\n";
    if (!has("companies"))
      out << "companies:\n"
             "  default: MSPInternal\n"
             "  tenants: {acme-prod: AcmeCorp, globex: Globex, initech: Initech}\n";
    if (!has("ticket")) out << ticket_section();
    if (!has("storm")) out << "storm:\n  max_new_tickets_per_hour: 0\n";
    out << sections;
    out << "storage:\n  database: " << (dir_.path() / "state.db").string() << "\n"
        << "intake:\n  spool_dir: " << (dir_.path() / "spool").string() << "\n";
  }
  auto loaded = config::load_config(cfg_path.string());
  if (!loaded.cfg) {
    std::string why;
    for (const auto& e : loaded.errors) why += e.to_string() + "\n";
    throw std::runtime_error("engine_rig: bad configuration:\n" + why);
  }
  return std::make_shared<const config::config>(std::move(*loaded.cfg));
}

engine_rig::engine_rig(const std::string& sections, const fs::path& database) : engine_rig(sections, &database) {}

engine_rig::engine_rig(const std::string& sections) : engine_rig(sections, nullptr) {}

engine_rig::engine_rig(const std::string& sections, const fs::path* database) {
  cfg_ = make_config(sections);
  if (database) fs::copy_file(*database, dir_.path() / "state.db");
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text_);
  sink->set_pattern("%v");
  log_ = std::make_shared<spdlog::logger>("rig", sink);
  log_->set_level(spdlog::level::debug);
  psa.on_die = [this] { crash_requested_ = true; };
  psa.clock = [this] { return time.now(); };
  boot();
}

engine_rig::~engine_rig() { teardown(false); }

void engine_rig::boot() {
  const fs::path db = dir_.path() / "state.db";
  ioc_ = std::make_unique<net::io_context>(1);
  st_ = std::make_unique<store::store>(db.string());
  // This life starts from a synced state with everything in the database
  // file: what the disk holds for sure until the next sync.
  st_->db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db_image_ = read_file_bytes(db);
  {
    std::lock_guard lock(image_mutex_);
    wal_image_.clear();
    frozen_ = false;
  }
  store::wal_sync_options o;
  o.checkpoint_frames = 1 << 30;  // no checkpoint during a life: the database file stays as it was at boot
  o.sync_fd = [this](int fd) {
    std::lock_guard lock(image_mutex_);
    if (!frozen_) wal_image_ = read_fd(fd);
    return 0;
  };
  wal_ = std::make_unique<store::wal_sync>(*st_, o);
  commits_ = std::make_unique<store::group_commit>(ioc_->get_executor(), *st_);
  commits_->sync_with(wal_.get());
  psa.disconnect();  // a new process: its client has not connected yet
  engine_ = std::make_unique<sync::engine>(ioc_->get_executor(),
                                           sync::engine_deps{*st_, *commits_, psa, *log_, time, random_}, cfg_);
  running_ = true;
  net::co_spawn(*ioc_, engine_->run(std::chrono::seconds{10}), [this](std::exception_ptr e) {
    running_ = false;
    if (e) std::rethrow_exception(e);
  });
  ++boots_;
}

void engine_rig::teardown(bool crash) {
  if (!ioc_) return;
  if (crash) {
    std::lock_guard lock(image_mutex_);
    frozen_ = true;
  }
  commits_->sync_with(nullptr);
  wal_.reset();  // its last callbacks go into the io_context, never to run
  for (const auto& [cause, n] : engine_->stats().recovery_lookups) lookups_before_[cause] += n;
  engine_.reset();
  commits_.reset();
  time.reset();
  ioc_.reset();  // destroys the coroutines where they stand
  st_.reset();
  if (!crash) return;
  const fs::path db = dir_.path() / "state.db";
  write_file_bytes(db, db_image_);
  {
    std::lock_guard lock(image_mutex_);
    write_file_bytes(fs::path(db.string() + "-wal"), wal_image_);
  }
  fs::remove(db.string() + "-shm");
}

std::map<std::string, std::uint64_t> engine_rig::recovery_lookups() const {
  auto out = lookups_before_;
  if (engine_)
    for (const auto& [cause, n] : engine_->stats().recovery_lookups) out[cause] += n;
  return out;
}

void engine_rig::crash() {
  ++crashes_;
  teardown(true);
  boot();
}

void engine_rig::reload(const std::string& sections) {
  cfg_ = make_config(sections);
  engine_->reload(cfg_);
}

void engine_rig::restart() {
  engine_->stop();
  drive_until([&] { return !running_; });
  teardown(false);
  boot();
}

void engine_rig::drive_until(const std::function<bool()>& done) {
  while (!done()) {
    if (ioc_->stopped()) ioc_->restart();
    if (ioc_->poll() > 0) continue;
    if (commits_->syncing() > 0) {
      ioc_->run_one_for(std::chrono::milliseconds{100});
      continue;
    }
    if (!time.advance(steady_time::max())) throw std::runtime_error("engine_rig: nothing left to wait for");
  }
}

bool engine_rig::run_until(const std::function<bool()>& done, std::chrono::milliseconds virtual_limit) {
  const steady_time deadline = time.steady_now() + virtual_limit;
  for (;;) {
    if (crash_requested_) {
      crash_requested_ = false;
      crash();
      continue;
    }
    if (ioc_->stopped()) ioc_->restart();
    // Run everything that is ready before looking: the predicate may be a
    // query, and the engine takes many small steps.
    if (ioc_->poll() > 0) continue;
    if (done()) return true;
    if (commits_->syncing() > 0) {
      ioc_->run_one_for(std::chrono::milliseconds{100});
      continue;
    }
    if (!running_ || !time.advance(deadline)) return false;
  }
}

bool engine_rig::settle(std::chrono::milliseconds virtual_limit) {
  return run_until(
      [&] {
        const auto c = st_->get_counts();
        return c.inbox == 0 && c.pending == 0 && engine_->in_flight() == 0 && commits_->syncing() == 0;
      },
      virtual_limit);
}

void engine_rig::submit(const std::string& event_json) {
  for (;;) {
    bool done = false;
    std::exception_ptr error;
    std::vector<store::inbox_entry> entries{{"rig", event_json}};
    net::co_spawn(*ioc_, append(*commits_, *st_, std::move(entries), time.now()), [&](std::exception_ptr e) {
      done = true;
      error = e;
    });
    const int life = boots_;
    // Not run_until(): a crash must not be handled before `done` is seen.
    while (!done && boots_ == life) {
      if (crash_requested_) {
        crash_requested_ = false;
        crash();
        break;
      }
      if (ioc_->stopped()) ioc_->restart();
      if (ioc_->poll() > 0) continue;
      if (commits_->syncing() > 0) {
        ioc_->run_one_for(std::chrono::milliseconds{100});
        continue;
      }
      if (!time.advance(steady_time::max())) throw std::runtime_error("engine_rig: nothing left to wait for");
    }
    if (!done) continue;  // the process died before the commit was durable: the producer sends it again
    if (error) std::rethrow_exception(error);
    if (boots_ == life) engine_->notify();
    return;
  }
}

}  // namespace ts::test
