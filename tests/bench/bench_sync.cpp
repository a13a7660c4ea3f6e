// bench_sync: ticketsyncd end to end, measured. Every scenario starts a real
// cwsim and (except the raw one) a real ticketsyncd, talking over loopback TLS,
// exactly as the integration tests do (tests/support/harness.hpp); figures
// come from cwsim's counters and request log and from /proc of the daemon.
//
//   throughput  N issues, full lifecycle (open, 2 updates, resolve) in waves,
//               at max_connections 8, 16, 32: PSA calls/s, events/s, calls per
//               issue, daemon CPU per 1,000 calls
//   latency50   the same with cwsim answering after 50 ms, concurrency 8
//   raw         cwsim alone under a load generator (POST /service/tickets)
//   e2e         1,000 opens spooled at a steady 100/s: event-to-ticket latency
//   profile     extra runs under `perf trace`: the daemon's fsyncs and time in them
//   slowdisk    throughput, latency50, e2e, profile with every daemon fsync 4 ms
//               slower (LD_PRELOAD fsync_delay.cpp): the disk when it is busy
//   rss         100,000 creates: the daemon's peak and current RSS
//   backlog     (only when named) N events spooled before the daemon starts
//
// Output: Markdown tables on stdout (tests/bench/RESULTS.md records a run).
// Not a test: no CTest registration, no pass/fail beyond "the run completed".
// Usage: bench_sync [--scenarios a,b,...] [--issues N] [--reps R] [--quick] ... (--help)
#include "core/issue_key.hpp"
#include "psa/cw_codec.hpp"
#include "psa/https_client.hpp"
#include "support/harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;
using ts::test::child_process;
using ts::test::cwsim_process;
using ts::test::daemon_setup;
using ts::test::setup_options;

//------------------------------------------------------------------------------
// Options

struct options {
  std::set<std::string> scenarios{"machine", "throughput", "latency50", "raw", "e2e", "rss", "profile", "slowdisk"};
  int issues = 2000;  // throughput: issues per run
  std::vector<int> concurrency{8, 16, 32};
  int reps = 3;                 // repetitions where cheap
  int latency_issues = 500;     // latency50: issues per run
  int raw_seconds = 5;          // raw: measured seconds per run
  int e2e_events = 1000;        // e2e: opens spooled
  double e2e_rate = 100;        // e2e: events per second
  int rss_issues = 100'000;     // rss: creates
  int rss_backlog = 10'000;     // rss: most events spooled but not yet a ticket
  int rss_time_limit_s = 600;   // rss: stop feeding after this long
  int backlog_events = 20'000;  // backlog (only when named): events spooled before the daemon starts
  double slow_fsync_ms = 4.0;   // slowdisk: delay added to every fsync/fdatasync of the daemon
  int wave_timeout_s = 300;     // any wait for the daemon
  fs::path workdir;             // default: $TMPDIR or /tmp
  bool keep = false;            // keep the work directories
  std::string daemon_log_level = "info";
};

void usage() {
  std::cout << "bench_sync [options]\n"
               "  --scenarios LIST    comma-separated: raw,throughput,latency50,e2e,profile,slowdisk,rss (default:\n"
               "                      all of these; backlog only when named). profile: one more run of throughput\n"
               "                      (each concurrency), latency50 and e2e under perf trace, counting the daemon's\n"
               "                      fsync/fdatasync calls and the time in them. slowdisk: throughput, latency50,\n"
               "                      e2e and profile again with every daemon fsync made --slow-fsync-ms slower\n"
               "  --slow-fsync-ms MS  slowdisk: the added delay (default 4, what this VM's disk showed when busy)\n"
               "  --issues N          throughput: issues per run (default 2000)\n"
               "  --concurrency LIST  throughput/raw: max_connections values (default 8,16,32)\n"
               "  --reps R            repetitions of throughput, latency50, raw and e2e (default 3)\n"
               "  --latency-issues N  latency50: issues per run (default 500)\n"
               "  --raw-seconds S     raw: seconds measured per run (default 5)\n"
               "  --e2e-events N      e2e: events spooled (default 1000) --e2e-rate R (default 100/s)\n"
               "  --rss-issues N      rss: creates (default 100000) --rss-time-limit S (default 600)\n"
               "  --backlog-events N  backlog (only when named in --scenarios): opens spooled before the daemon\n"
               "                      starts (default 20000); time to the first and the last ticket\n"
               "  --quick             small sizes for a smoke run (200 issues, 1 rep, 5000 rss issues)\n"
               "  --workdir DIR       where the runs' directories go (default $TMPDIR or /tmp)\n"
               "  --keep              keep the runs' directories\n"
               "  --daemon-log-level L  ticketsyncd logging.level (default info, as in production)\n";
}

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

options parse_options(int argc, char** argv) {
  options o;
  const char* tmp = std::getenv("TMPDIR");
  o.workdir = tmp ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else if (a == "--scenarios") {
      o.scenarios.clear();
      std::stringstream in(value());
      std::string item;
      while (std::getline(in, item, ',')) o.scenarios.insert(item);
      o.scenarios.insert("machine");
    } else if (a == "--issues") {
      o.issues = std::stoi(value());
    } else if (a == "--concurrency") {
      o.concurrency = int_list(value());
    } else if (a == "--reps") {
      o.reps = std::stoi(value());
    } else if (a == "--latency-issues") {
      o.latency_issues = std::stoi(value());
    } else if (a == "--raw-seconds") {
      o.raw_seconds = std::stoi(value());
    } else if (a == "--e2e-events") {
      o.e2e_events = std::stoi(value());
    } else if (a == "--e2e-rate") {
      o.e2e_rate = std::stod(value());
    } else if (a == "--rss-issues") {
      o.rss_issues = std::stoi(value());
    } else if (a == "--slow-fsync-ms") {
      o.slow_fsync_ms = std::stod(value());
    } else if (a == "--backlog-events") {
      o.backlog_events = std::stoi(value());
    } else if (a == "--rss-time-limit") {
      o.rss_time_limit_s = std::stoi(value());
    } else if (a == "--quick") {
      o.issues = 200;
      o.reps = 1;
      o.latency_issues = 100;
      o.raw_seconds = 2;
      o.e2e_events = 200;
      o.rss_issues = 5000;
    } else if (a == "--workdir") {
      o.workdir = value();
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--daemon-log-level") {
      o.daemon_log_level = value();
    } else {
      throw std::invalid_argument("unknown option " + a + " (--help)");
    }
  }
  if (o.issues < 1 || o.reps < 1 || o.concurrency.empty()) throw std::invalid_argument("sizes must be positive");
  return o;
}

//------------------------------------------------------------------------------
// Small helpers

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Nearest-rank percentile (p in 0..100) of `v`.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

std::string fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pct(double ratio) { return fmt(100.0 * ratio, 1) + " %"; }

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  const std::string s = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (in >> tok) f.push_back(tok);
  if (f.size() < 13) return 0;
  // f[0] is field 3 (state), so field 14 (utime) is f[11] and 15 (stime) f[12].
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

/// A "Key:   N kB" line of /proc/PID/status, in KiB (0 when absent).
long status_kib(pid_t pid, const std::string& key) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    return std::stol(line.substr(key.size() + 1));
  }
  return 0;
}

std::string loadavg() {
  std::istringstream in(slurp("/proc/loadavg"));
  std::string one;
  in >> one;
  return one;
}

std::size_t count_occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

/// 2026-11-01T10:00:00Z plus `minutes`.
std::string at(int minutes) {
  const int total = 10 * 60 + minutes;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:00Z", 1 + total / (24 * 60), total % (24 * 60) / 60,
                total % 60);
  return buf;
}

std::string issue_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bench-%07d", i);
  return buf;
}

std::string xref_of(int i) { return ts::correlation_key({"wazuh", "acme-prod", issue_name(i)}); }

std::int64_t route_count(const json& stats, const std::string& route) {
  const json& r = stats.at("requests");
  const auto it = r.find(route);
  return it == r.end() ? 0 : it->get<std::int64_t>();
}

std::int64_t total_calls(const json& stats) {
  std::int64_t n = 0;
  for (const auto& [k, v] : stats.at("requests").items()) n += v.get<std::int64_t>();
  return n;
}

/// stats["requests"] of `after` minus `before`, per route, zeros dropped.
std::map<std::string, std::int64_t> route_delta(const json& before, const json& after) {
  std::map<std::string, std::int64_t> d;
  for (const auto& [k, v] : after.at("requests").items()) {
    const std::int64_t n = v.get<std::int64_t>() - route_count(before, k);
    if (n != 0) d[k] = n;
  }
  return d;
}

const std::string r_create = "POST /service/tickets";
const std::string r_patch = "PATCH /service/tickets/{id}";
const std::string r_note = "POST /service/tickets/{id}/notes";

//------------------------------------------------------------------------------
// cwsim's control endpoints over one kept-alive TLS connection (the harness's
// cwsim_process::get opens a new connection per call, too costly to poll with).

class sim_control {
 public:
  explicit sim_control(const cwsim_process& sim) : client_(ioc_.get_executor(), client_opts(sim), clock_) {}

  json get(const std::string& target) {
    ts::psa::http_request req;
    req.target = target;
    auto fut = net::co_spawn(ioc_, client_.send(std::move(req)), net::use_future);
    ioc_.restart();
    ioc_.run();
    auto res = fut.get();
    if (!res) throw std::runtime_error("cwsim " + target + ": " + res.error().to_string());
    if (res->status != 200) throw std::runtime_error("cwsim " + target + ": HTTP " + std::to_string(res->status));
    return json::parse(res->body);
  }
  json stats() { return get("/__sim/stats"); }

 private:
  static ts::psa::client_options client_opts(const cwsim_process& sim) {
    ts::psa::client_options o;
    o.host = "localhost";
    o.port = std::to_string(sim.port());
    o.ca_file = sim.ca_file();
    o.request_timeout = 120s;
    o.max_response_bytes = 1u << 30;
    return o;
  }
  net::io_context ioc_;
  ts::system_clock clock_;
  ts::psa::https_client client_;
};

/// Polls `pred` (every `every`) until it holds; false after `timeout`.
template <class Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout, std::chrono::milliseconds every = 5ms) {
  const auto deadline = steady::now() + timeout;
  while (!pred()) {
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

//------------------------------------------------------------------------------
// One cwsim (+ optionally one ticketsyncd) in a fresh directory.

class rig {
 public:
  rig(const options& o, const std::string& name, std::vector<std::string> sim_args) : opts_(o) {
    static int serial = 0;
    dir_ = o.workdir / ("ts-bench-" + std::to_string(::getpid()) + "-" + std::to_string(++serial) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sim_ = std::make_unique<cwsim_process>(dir_ / "sim", std::move(sim_args));
    ctl_ = std::make_unique<sim_control>(*sim_);
  }
  ~rig() {
    stop_daemon();
    ctl_.reset();
    sim_.reset();
    if (!opts_.keep && !failed_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    } else {
      std::cerr << "[run directory kept: " << dir_ << "]\n";
    }
  }
  rig(const rig&) = delete;
  rig& operator=(const rig&) = delete;

  /// Starts ticketsyncd with `max_connections` and waits until it is connected
  /// and has warmed its lookups (so the measured window holds only the work).
  void start_daemon(int max_connections) {
    prepare_daemon(max_connections);
    launch_daemon();
  }

  /// Writes the configuration (and so the spool's place) without starting.
  void prepare_daemon(int max_connections) {
    setup_options so;
    so.psa_extra = "  max_connections: " + std::to_string(max_connections) + "\n";  // budget: 600000/min (harness)
    so.priority = ts::test::priority_map;
    so.ticket_extra =
        "  closed_status: Closed\n"
        "  reopen_status: Reopened\n"
        "  lifecycle: {on_update: patch, on_resolve: close, reopen_window: 7d}\n";
    setup_ = std::make_unique<daemon_setup>(dir_ / "daemon", *sim_, so);
    if (opts_.daemon_log_level != "info") {
      std::string cfg = slurp(setup_->config_path());
      const std::string from = "  level: info\n";
      if (const auto p = cfg.find(from); p != std::string::npos)
        cfg.replace(p, from.size(), "  level: " + opts_.daemon_log_level + "\n");
      std::ofstream(setup_->config_path(), std::ios::trunc) << cfg;
    }
  }

  /// Every fsync/fdatasync of the daemon `us` microseconds slower (0: as is).
  void set_fsync_delay(int us) { fsync_delay_us_ = us; }

  /// Starts ticketsyncd; unless told otherwise, waits until it is connected.
  void launch_daemon(bool wait_connected = true) {
    if (fsync_delay_us_ > 0) {
      // The daemon inherits the environment at spawn; cwsim is already running.
      ::setenv("LD_PRELOAD", TS_BENCH_FSYNC_SHIM, 1);
      ::setenv("TS_BENCH_FSYNC_DELAY_US", std::to_string(fsync_delay_us_).c_str(), 1);
    }
    daemon_ = setup_->start();
    if (fsync_delay_us_ > 0) {
      ::unsetenv("LD_PRELOAD");
      ::unsetenv("TS_BENCH_FSYNC_DELAY_US");
    }
    if (!wait_connected) return;
    const bool up = poll_until(
        [&] {
          return setup_->log().find("psa.connected") != std::string::npos &&
                 route_count(ctl_->stats(), "GET /service/boards/{id}/statuses") > 0;
        },
        30s, 20ms);
    if (!up) fail("ticketsyncd did not connect to cwsim within 30 s:\n" + setup_->log());
  }

  /// Attaches `perf trace -s -e fsync,fdatasync` to the daemon.
  void start_fsync_trace() {
    const std::string perf = find_program("perf");
    if (perf.empty()) fail("profile: perf is not installed");
    trace_out_ = (dir_ / "perf-trace.txt").string();
    trace_ =
        std::make_unique<child_process>(std::vector<std::string>{perf, "trace", "-s", "-e", "fsync,fdatasync", "-p",
                                                                 std::to_string(daemon_->pid()), "-o", trace_out_},
                                        std::map<std::string, std::string>{}, (dir_ / "perf.log").string());
    std::this_thread::sleep_for(3s);  // attached (perf trace prints nothing until it ends)
    if (!trace_->running()) fail("profile: perf trace exited: " + slurp((dir_ / "perf.log").string()));
  }

  /// Stops the trace; {calls, milliseconds} of fsync + fdatasync.
  std::pair<std::int64_t, double> stop_fsync_trace() {
    trace_->signal(SIGINT);
    if (!trace_->wait(30s)) fail("profile: perf trace did not stop");
    trace_.reset();
    std::istringstream in(slurp(trace_out_));
    std::string line;
    std::int64_t calls = 0;
    double ms = 0;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string name;
      std::int64_t n = 0, errors = 0;
      double total = 0;
      if (f >> name >> n >> errors >> total && (name == "fsync" || name == "fdatasync")) {
        calls += n;
        ms += total;
      }
    }
    return {calls, ms};
  }

  /// perf is installed and `perf trace` may be used here (root, or perf_event_paranoid allows it).
  static bool perf_trace_works() {
    const std::string perf = find_program("perf");
    if (perf.empty()) return false;
    std::string out;
    return ts::test::run_program({perf, "trace", "-s", "-e", "fsync", "--", "/bin/true"}, {}, &out, 30s) == 0;
  }

  static std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream in(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(in, dir, ':'))
      if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    return {};
  }

  /// SIGTERM and wait (10 s, then the child_process destructor SIGKILLs).
  void stop_daemon() {
    trace_.reset();
    if (!daemon_) return;
    daemon_->signal(SIGTERM);
    daemon_->wait(10s);
    daemon_.reset();
  }

  /// Keep the run's directory (something worth a look happened).
  void keep() { failed_ = true; }

  [[noreturn]] void fail(const std::string& why) {
    failed_ = true;
    throw std::runtime_error(why);
  }

  void spool(const std::string& name, const std::string& content) const { setup_->spool_raw(name, content); }

  sim_control& ctl() { return *ctl_; }
  cwsim_process& sim() { return *sim_; }
  daemon_setup& setup() { return *setup_; }
  pid_t daemon_pid() const { return daemon_->pid(); }
  const fs::path& dir() const { return dir_; }

 private:
  const options& opts_;
  fs::path dir_;
  bool failed_ = false;
  std::unique_ptr<cwsim_process> sim_;
  std::unique_ptr<sim_control> ctl_;
  std::unique_ptr<daemon_setup> setup_;
  std::unique_ptr<child_process> daemon_;
  std::unique_ptr<child_process> trace_;
  std::string trace_out_;
  int fsync_delay_us_ = 0;
};

//------------------------------------------------------------------------------
// Machine

struct machine_facts {
  std::string cpu, kernel, compiler, build_type;
  long nproc = 0;
  long mem_mib = 0;
  double fsync_median_ms = 0, fsync_p90_ms = 0, fsync_max_ms = 0;
  std::string fsync_dir;
};

/// `n` times: append 512 bytes + fdatasync, in `dir` (where the daemon's
/// database lives); the milliseconds of each.
std::vector<double> fsync_samples(const fs::path& dir, int n) {
  fs::create_directories(dir);
  const fs::path file = dir / ("ts-bench-fsync-" + std::to_string(::getpid()));
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string());
  std::vector<double> ms;
  const std::string block(512, 'x');
  for (int i = 0; i < n; ++i) {
    const auto t = steady::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      ::close(fd);
      throw std::runtime_error("write/fdatasync failed on " + file.string());
    }
    ms.push_back(seconds_since(t) * 1000);
  }
  ::close(fd);
  fs::remove(file);
  return ms;
}

/// The disk's state right now (it varies on shared machines): median of 20 fdatasyncs, ms.
double fsync_probe(const options& o) { return median(fsync_samples(o.workdir, 20)); }

machine_facts measure_machine(const options& o) {
  machine_facts m;
  m.nproc = ::sysconf(_SC_NPROCESSORS_ONLN);
  {
    std::istringstream in(slurp("/proc/cpuinfo"));
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("model name", 0) == 0) {
        m.cpu = line.substr(line.find(':') + 2);
        break;
      }
  }
  {
    std::istringstream in(slurp("/proc/meminfo"));
    std::string key;
    long kib = 0;
    while (in >> key >> kib)
      if (key == "MemTotal:") {
        m.mem_mib = kib / 1024;
        break;
      } else {
        in.ignore(1 << 20, '\n');
      }
  }
  utsname u{};
  ::uname(&u);
  m.kernel = std::string(u.sysname) + " " + u.release;
  m.compiler = "GCC/Clang " __VERSION__;
  m.build_type = std::string(TS_BENCH_BUILD_TYPE) + (std::string(TS_BENCH_SANITIZE) == "ON" ? " + ASan/UBSan" : "");

  m.fsync_dir = o.workdir.string();
  const std::vector<double> ms = fsync_samples(o.workdir, 200);
  m.fsync_median_ms = median(ms);
  m.fsync_p90_ms = percentile(ms, 90);
  m.fsync_max_ms = *std::max_element(ms.begin(), ms.end());
  return m;
}

void print_machine(const machine_facts& m) {
  std::cout << "## Machine\n\n"
            << "| fact | value |\n|---|---|\n"
            << "| nproc | " << m.nproc << " |\n"
            << "| CPU | " << m.cpu << " |\n"
            << "| memory | " << m.mem_mib << " MiB |\n"
            << "| kernel | " << m.kernel << " |\n"
            << "| compiler | " << m.compiler << " |\n"
            << "| build type | " << m.build_type << " |\n"
            << "| fsync (512 B write + fdatasync, 200×, in " << m.fsync_dir << ") | median "
            << fmt(m.fsync_median_ms, 2) << " ms, p90 " << fmt(m.fsync_p90_ms, 2) << " ms, max "
            << fmt(m.fsync_max_ms, 2) << " ms |\n"
            << "| load average (1 min) at start | " << loadavg() << " |\n\n"
            << std::flush;
}

//------------------------------------------------------------------------------
// Lifecycle in waves (throughput, latency50)

struct lifecycle_result {
  int concurrency = 0;
  int issues = 0;
  double wall_s = 0;
  std::vector<double> wave_s;
  std::int64_t calls = 0;
  std::map<std::string, std::int64_t> routes;
  double daemon_cpu_s = 0;
  double sim_cpu_s = 0;
  std::size_t retries = 0, dead = 0;
  int wrong_tickets = 0;  // tickets not in the expected final state
  std::string anomalies;  // anything that is not the plain fast path
  std::string label;
  std::string load_before;
  std::int64_t fsyncs = -1;                  // profiled runs: fsync + fdatasync calls of the daemon
  double fsync_ms = 0;                       // and the time spent in them
  double probe_before = 0, probe_after = 0;  // fsync_probe() around the run

  double ops_per_s() const { return static_cast<double>(calls) / wall_s; }
  double events_per_s() const { return 4.0 * issues / wall_s; }
  double calls_per_issue() const { return static_cast<double>(calls) / issues; }
  double cpu_per_1000() const { return daemon_cpu_s / static_cast<double>(calls) * 1000.0; }
};

/// The ticket shows wave `wave` of issue i: its summary (waves 0-2; wave 3
/// keeps wave 2's) or, for the resolve, a closed status.
bool wave_applied(const json& ticket, int i, int wave) {
  if (wave == 3) return ticket.value("closedFlag", false);
  static const char* severity[] = {"high", "critical", "medium"};
  const std::string title = "Issue " + std::to_string(i) + (wave == 0 ? "" : wave == 1 ? " (2)" : " (3)");
  return ticket.value("summary", "") == "[" + std::string(severity[wave]) + "] " + title;
}

std::string wave_event(int i, int wave) {
  static const char* severity[] = {"high", "critical", "medium", "medium"};
  const std::string title = "Issue " + std::to_string(i) + (wave == 0 ? "" : wave == 1 ? " (2)" : " (3)");
  return ts::test::make_event("wazuh", "acme-prod", issue_name(i), wave == 3 ? "resolved" : "open", severity[wave],
                              title, at(10 * wave));
}

/// N issues: all opens; once every ticket exists, every first update; once all
/// are applied, every second update; then every resolve. No event finds an
/// earlier operation of its issue still queued, so nothing coalesces: the
/// daemon makes the most calls a lifecycle can need (1 + 2 + 2 + 2 = 7).
lifecycle_result run_lifecycle(const options& o, int concurrency, int issues, std::vector<std::string> sim_args,
                               const std::string& label, bool profile = false, int fsync_delay_us = 0) {
  lifecycle_result r;
  r.concurrency = concurrency;
  r.issues = issues;
  r.label = label;
  r.load_before = loadavg();
  r.probe_before = fsync_probe(o);
  rig g(o, label, std::move(sim_args));
  g.set_fsync_delay(fsync_delay_us);
  g.start_daemon(concurrency);
  if (profile) g.start_fsync_trace();
  const json base = g.ctl().stats();
  const auto n = static_cast<std::int64_t>(issues);

  const auto t0 = steady::now();
  for (int wave = 0; wave < 4; ++wave) {
    const auto tw = steady::now();
    for (int i = 0; i < issues; ++i) {
      char name[48];
      std::snprintf(name, sizeof name, "w%d-%07d.json", wave, i);
      g.spool(name, wave_event(i, wave));
    }
    // Done when cwsim has counted the wave's calls. Should the daemon end a
    // wave with fewer calls (no request for 10 s), the tickets themselves decide.
    std::int64_t last_calls = -1;
    auto last_change = steady::now();
    bool by_state = false;
    auto done = [&] {
      const json s = g.ctl().stats();
      const std::int64_t k = wave < 3 ? wave : 3;
      if (wave == 0 ? route_count(s, r_create) - route_count(base, r_create) >= n
                    : route_count(s, r_patch) - route_count(base, r_patch) >= k * n &&
                          route_count(s, r_note) - route_count(base, r_note) >= k * n)
        return true;
      if (const std::int64_t calls = total_calls(s); calls != last_calls) {
        last_calls = calls;
        last_change = steady::now();
        return false;
      }
      if (steady::now() - last_change < 10s) return false;
      last_change = steady::now();
      std::map<std::string, json> by_xref;
      for (auto& t : g.ctl().get("/__sim/tickets")) {
        std::string x = t.value("externalXRef", "");
        by_xref[std::move(x)] = std::move(t);
      }
      for (int i = 0; i < issues; ++i) {
        const auto it = by_xref.find(xref_of(i));
        if (it == by_xref.end() || !wave_applied(it->second, i, wave)) return false;
      }
      by_state = true;
      return true;
    };
    if (!poll_until(done, std::chrono::seconds{o.wave_timeout_s}))
      g.fail(label + ": wave " + std::to_string(wave) + " did not finish within " + std::to_string(o.wave_timeout_s) +
             " s; stats: " + g.ctl().stats().dump());
    if (by_state)
      r.anomalies += "wave " + std::to_string(wave) +
                     " ended with fewer calls than the maximum (detected after 10 s without requests); ";
    r.wave_s.push_back(seconds_since(tw));
  }
  r.wall_s = seconds_since(t0);
  if (profile) std::tie(r.fsyncs, r.fsync_ms) = g.stop_fsync_trace();
  r.daemon_cpu_s = cpu_seconds(g.daemon_pid());
  r.sim_cpu_s = cpu_seconds(g.sim().process().pid());
  // Let in-flight commits land, then count (a stray retry would show here).
  std::this_thread::sleep_for(200ms);
  const json after = g.ctl().stats();
  r.routes = route_delta(base, after);
  r.calls = total_calls(after) - total_calls(base);

  // The result: every ticket closed with the last fields and exactly 4 notes
  // (the initial description, 2 updates, the resolution).
  const json tickets = g.ctl().get("/__sim/tickets");
  std::map<std::string, const json*> by_xref;
  for (const auto& t : tickets) by_xref[t.value("externalXRef", "")] = &t;
  std::string example;
  for (int i = 0; i < issues; ++i) {
    const auto it = by_xref.find(xref_of(i));
    const bool ok = it != by_xref.end() && wave_applied(*it->second, i, 2) && wave_applied(*it->second, i, 3) &&
                    it->second->value("notes", json::array()).size() == 4;
    if (!ok && example.empty())
      example = issue_name(i) + (it == by_xref.end() ? " has no ticket" : " has " + it->second->dump());
    r.wrong_tickets += !ok;
  }
  if (tickets.size() != static_cast<std::size_t>(issues)) r.wrong_tickets += 1;
  g.stop_daemon();
  const std::string log = g.setup().log();
  r.retries = count_occurrences(log, "op.retry");
  r.dead = count_occurrences(log, "op.dead_lettered");
  r.probe_after = fsync_probe(o);
  if (r.wrong_tickets) {
    // Reported with the figures, not fatal: the directory is kept for a look.
    r.anomalies += std::to_string(r.wrong_tickets) + " ticket(s) not closed with the last fields and 4 notes (e.g. " +
                   example.substr(0, 300) + "...); run directory kept: " + g.dir().string() + "; ";
    g.keep();
  }
  return r;
}

void print_lifecycle_runs(const std::vector<lifecycle_result>& runs) {
  std::cout << "| concurrency | issues | wall s | waves s (open/upd1/upd2/resolve) | PSA calls | calls/s | events/s "
               "| calls/issue | daemon CPU s | CPU s /1000 calls | cwsim CPU s | retries | load before "
               "| fsync ms before/after |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    std::string waves;
    for (std::size_t i = 0; i < r.wave_s.size(); ++i) waves += (i ? " / " : "") + fmt(r.wave_s[i], 2);
    std::cout << "| " << r.concurrency << " | " << r.issues << " | " << fmt(r.wall_s, 2) << " | " << waves << " | "
              << r.calls << " | " << fmt(r.ops_per_s(), 0) << " | " << fmt(r.events_per_s(), 0) << " | "
              << fmt(r.calls_per_issue(), 3) << " | " << fmt(r.daemon_cpu_s, 2) << " | " << fmt(r.cpu_per_1000(), 3)
              << " | " << fmt(r.sim_cpu_s, 2) << " | " << r.retries << " | " << r.load_before << " | "
              << fmt(r.probe_before, 2) << " / " << fmt(r.probe_after, 2) << " |\n";
  }
  std::cout << "\n";
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (!runs[i].anomalies.empty())
      std::cout << "**Anomaly** in run " << i + 1 << " (" << runs[i].label << ", " << runs[i].retries
                << " op.retry): " << runs[i].anomalies << "\n\n";
}

std::string routes_text(const std::map<std::string, std::int64_t>& routes) {
  std::string s;
  for (const auto& [k, v] : routes) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return s;
}

//------------------------------------------------------------------------------
// Raw cwsim rate: C coroutines, each looping POST /service/tickets.

struct load_counters {
  steady::time_point measure_from, until;
  std::int64_t ok = 0, other_status = 0, failed = 0;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

net::awaitable<void> load_worker(ts::psa::https_client& client, const header_list& headers, std::string target,
                                 load_counters& c) {
  while (steady::now() < c.until) {
    ts::psa::http_request req;
    req.method = boost::beast::http::verb::post;
    req.target = target;
    req.headers = headers;
    req.body = R"({"summary":"x","company":{"identifier":"AcmeCorp"}})";
    auto res = co_await client.send(std::move(req));
    const auto now = steady::now();
    if (now < c.measure_from || now > c.until) continue;
    if (!res)
      ++c.failed;
    else if (res->status == 201)
      ++c.ok;
    else
      ++c.other_status;
  }
}

struct raw_result {
  int concurrency = 0;
  double per_s = 0;
  std::int64_t ok = 0, bad = 0;
  double sim_cpu_s = 0;
  std::string load_before;
};

raw_result run_raw(const options& o, int concurrency) {
  raw_result r;
  r.concurrency = concurrency;
  r.load_before = loadavg();
  rig g(o, "raw-c" + std::to_string(concurrency), {});
  const json seed = json::parse(slurp(ts::test::repo_path("tests/cwsim/seed.json")));
  const std::vector<std::pair<std::string, std::string>> headers{
      {"Authorization",
       ts::psa::basic_auth(seed.at("company_id").get<std::string>(), seed.at("public_key").get<std::string>(),
                           seed.at("private_key").get<std::string>())},
      {"clientId", seed.at("client_id").get<std::string>()},
      {"Accept", ts::psa::accept_header("2025.8")}};
  const std::string target = "/" + seed.at("codebase").get<std::string>() + "apis/3.0/service/tickets";

  net::io_context ioc(1);
  ts::psa::client_options co;
  co.host = "localhost";
  co.port = std::to_string(g.sim().port());
  co.ca_file = g.sim().ca_file();
  co.request_timeout = 10s;
  const ts::system_clock clk;
  ts::psa::https_client client(ioc.get_executor(), co, clk);
  load_counters c;
  c.measure_from = steady::now() + 500ms;  // connections opened, caches warm
  c.until = c.measure_from + std::chrono::seconds{o.raw_seconds};
  const double cpu0 = cpu_seconds(g.sim().process().pid());
  for (int i = 0; i < concurrency; ++i)
    net::co_spawn(ioc, load_worker(client, headers, target, c), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  ioc.run();
  r.sim_cpu_s = cpu_seconds(g.sim().process().pid()) - cpu0;
  r.ok = c.ok;
  r.bad = c.other_status + c.failed;
  r.per_s = static_cast<double>(c.ok) / std::chrono::duration<double>(c.until - c.measure_from).count();
  if (r.bad) g.fail("raw: " + std::to_string(r.bad) + " request(s) failed or were not 201");
  return r;
}

//------------------------------------------------------------------------------
// Event-to-ticket latency at a steady rate

struct e2e_result {
  int events = 0;
  double rate = 0;
  double spool_span_s = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, min = 0;
  std::string load_before;
  std::int64_t fsyncs = -1;
  double fsync_ms = 0;
  double probe_before = 0, probe_after = 0;
};

e2e_result run_e2e(const options& o, int concurrency, bool profile = false, int fsync_delay_us = 0) {
  e2e_result r;
  r.events = o.e2e_events;
  r.rate = o.e2e_rate;
  r.load_before = loadavg();
  r.probe_before = fsync_probe(o);
  rig g(o, "e2e", {});
  g.set_fsync_delay(fsync_delay_us);
  g.start_daemon(concurrency);
  if (profile) g.start_fsync_trace();
  std::vector<double> spooled_ms(static_cast<std::size_t>(o.e2e_events));
  const auto period = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(1.0 / o.e2e_rate));
  const auto t0 = steady::now();
  for (int i = 0; i < o.e2e_events; ++i) {
    std::this_thread::sleep_until(t0 + i * period);
    char name[48];
    std::snprintf(name, sizeof name, "e-%07d.json", i);
    g.spool(name, ts::test::make_event("wazuh", "acme-prod", issue_name(i)));
    spooled_ms[static_cast<std::size_t>(i)] = static_cast<double>(wall_us()) / 1000.0;  // renamed into new/
  }
  r.spool_span_s = seconds_since(t0);
  const auto n = static_cast<std::int64_t>(o.e2e_events);
  if (!poll_until([&] { return route_count(g.ctl().stats(), r_create) >= n; }, std::chrono::seconds{o.wave_timeout_s}))
    g.fail("e2e: not every event became a ticket");
  if (profile) std::tie(r.fsyncs, r.fsync_ms) = g.stop_fsync_trace();
  const json log = g.ctl().get("/__sim/requests?limit=20000");
  std::map<std::string, double> arrival;  // xref -> received_at_ms of its first POST /service/tickets
  for (const auto& e : log) {
    if (e.value("method", "") != "POST" || !e["body"].is_object()) continue;
    const std::string target = e.value("target", "");
    if (target.size() < 16 || target.compare(target.size() - 16, 16, "/service/tickets") != 0) continue;
    const std::string x = e["body"].value("externalXRef", "");
    if (!arrival.contains(x)) arrival[x] = e.at("received_at_ms").get<double>();
  }
  std::vector<double> lat;
  for (int i = 0; i < o.e2e_events; ++i) {
    const auto it = arrival.find(xref_of(i));
    if (it == arrival.end()) g.fail("e2e: no POST /service/tickets for " + issue_name(i) + " in the request log");
    // received_at_ms is whole milliseconds: floor the spool time alike.
    lat.push_back(it->second - std::floor(spooled_ms[static_cast<std::size_t>(i)]));
  }
  r.p50 = percentile(lat, 50);
  r.p90 = percentile(lat, 90);
  r.p99 = percentile(lat, 99);
  r.max = *std::max_element(lat.begin(), lat.end());
  r.min = *std::min_element(lat.begin(), lat.end());
  r.probe_after = fsync_probe(o);
  return r;
}

//------------------------------------------------------------------------------
// Peak RSS with many tracked issues

struct rss_sample {
  std::int64_t tickets;
  long rss_kib, hwm_kib;
  double t_s;
};

struct rss_result {
  int target = 0;
  std::int64_t fed = 0, tickets = 0;
  double seconds = 0;
  bool complete = false;
  long hwm_kib = 0, rss_kib = 0;
  double daemon_cpu_s = 0;
  std::uintmax_t db_bytes = 0;
  std::vector<rss_sample> samples;
  double probe_before = 0, probe_after = 0;
};

rss_result run_rss(const options& o, int concurrency) {
  rss_result r;
  r.target = o.rss_issues;
  r.probe_before = fsync_probe(o);
  rig g(o, "rss", {});
  g.start_daemon(concurrency);
  const pid_t pid = g.daemon_pid();
  const auto t0 = steady::now();
  const auto limit = std::chrono::seconds{o.rss_time_limit_s};
  auto last_sample = t0 - 10s;
  std::int64_t tickets = 0;
  auto sample = [&](bool force) {
    if (!force && steady::now() - last_sample < 2s) return;
    last_sample = steady::now();
    tickets = route_count(g.ctl().stats(), r_create);
    r.samples.push_back({tickets, status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM"), seconds_since(t0)});
  };
  // Feed as fast as the daemon takes them, keeping at most rss_backlog events
  // spooled but not yet a ticket (an unbounded backlog measures the spool
  // directory's size instead of the daemon).
  while (r.fed < o.rss_issues && steady::now() - t0 < limit) {
    const std::int64_t room = std::min<std::int64_t>(o.rss_issues - r.fed, tickets + o.rss_backlog - r.fed);
    for (std::int64_t k = 0; k < std::min<std::int64_t>(room, 1000); ++k, ++r.fed) {
      char name[48];
      std::snprintf(name, sizeof name, "r-%07lld.json", static_cast<long long>(r.fed));
      g.spool(name, ts::test::make_event("wazuh", "acme-prod", issue_name(static_cast<int>(r.fed))));
    }
    if (room <= 0) std::this_thread::sleep_for(20ms);
    tickets = route_count(g.ctl().stats(), r_create);
    sample(false);
  }
  // Everything fed becomes a ticket (bounded by what is left of the limit, at least 2 min).
  const auto left = std::max<steady::duration>(120s, limit - (steady::now() - t0));
  poll_until(
      [&] {
        sample(false);
        return route_count(g.ctl().stats(), r_create) >= r.fed;
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(left), 100ms);
  sample(true);
  r.seconds = seconds_since(t0);
  r.tickets = route_count(g.ctl().stats(), r_create);
  r.complete = r.tickets >= o.rss_issues;
  r.hwm_kib = status_kib(pid, "VmHWM");
  r.rss_kib = status_kib(pid, "VmRSS");
  r.daemon_cpu_s = cpu_seconds(pid);
  for (const char* f : {"state.db", "state.db-wal"}) {
    std::error_code ec;
    const auto sz = fs::file_size(g.setup().dir() / f, ec);
    if (!ec) r.db_bytes += sz;
  }
  r.probe_after = fsync_probe(o);
  return r;
}

//------------------------------------------------------------------------------
// A spool backlog at start (not in the default set): N opens written before
// the daemon starts. How long until the first ticket, and does anything time out?

struct backlog_result {
  int events = 0;
  double connected_s = 0, first_ticket_s = 0, all_s = 0;
  std::size_t retries = 0;
  std::int64_t calls = 0;
};

backlog_result run_backlog(const options& o, int events, int concurrency) {
  backlog_result r;
  r.events = events;
  rig g(o, "backlog", {});
  g.prepare_daemon(concurrency);  // configuration and spool, no daemon yet
  for (int i = 0; i < events; ++i) {
    char name[48];
    std::snprintf(name, sizeof name, "b-%07d.json", i);
    g.spool(name, ts::test::make_event("wazuh", "acme-prod", issue_name(i)));
  }
  const auto t0 = steady::now();
  g.launch_daemon(false);
  const auto n = static_cast<std::int64_t>(events);
  if (!poll_until([&] { return route_count(g.ctl().stats(), "GET /service/boards/{id}/statuses") > 0; },
                  std::chrono::seconds{o.wave_timeout_s}, 20ms))
    g.fail("backlog: the daemon never connected");
  r.connected_s = seconds_since(t0);
  if (!poll_until([&] { return route_count(g.ctl().stats(), r_create) >= 1; }, std::chrono::seconds{o.wave_timeout_s},
                  20ms))
    g.fail("backlog: no ticket");
  r.first_ticket_s = seconds_since(t0);
  if (!poll_until([&] { return route_count(g.ctl().stats(), r_create) >= n; }, std::chrono::seconds{o.wave_timeout_s},
                  50ms))
    g.fail("backlog: not every event became a ticket");
  r.all_s = seconds_since(t0);
  r.calls = total_calls(g.ctl().stats());
  g.stop_daemon();
  r.retries = count_occurrences(g.setup().log(), "op.retry");
  return r;
}

//------------------------------------------------------------------------------
// Report sections (fsync_delay_us > 0: the slow-disk variants)

std::string delay_note(int fsync_delay_us) {
  return fsync_delay_us > 0 ? " [fsync +" + fmt(fsync_delay_us / 1000.0, 1) + " ms]" : "";
}

void section_throughput(const options& o, const std::map<int, double>& raw_median, int delay_us) {
  std::cout << "## Throughput, no cwsim latency" << delay_note(delay_us) << ": " << o.issues
            << " issues × (open, update, update, resolve) in waves\n\n"
               "Every run (PSA calls counted by cwsim between the first event spooled and the last ticket "
               "closed; wall time the same window):\n\n"
            << std::flush;
  std::vector<lifecycle_result> all;
  struct summary {
    int c;
    double ops, events, calls_per_issue, cpu_per_1000;
    std::map<std::string, std::int64_t> routes;
  };
  std::vector<summary> sums;
  for (int c : o.concurrency) {
    std::vector<lifecycle_result> runs;
    for (int rep = 0; rep < o.reps; ++rep)
      runs.push_back(run_lifecycle(o, c, o.issues, {}, "tp-c" + std::to_string(c), false, delay_us));
    std::vector<double> ops, ev, cpi, cpu;
    for (const auto& r : runs) {
      ops.push_back(r.ops_per_s());
      ev.push_back(r.events_per_s());
      cpi.push_back(r.calls_per_issue());
      cpu.push_back(r.cpu_per_1000());
    }
    sums.push_back({c, median(ops), median(ev), median(cpi), median(cpu), runs.back().routes});
    all.insert(all.end(), runs.begin(), runs.end());
  }
  print_lifecycle_runs(all);
  std::cout << "Medians" << delay_note(delay_us)
            << ":\n\n| concurrency | PSA calls/s | vs raw cwsim | events/s | calls/issue | minimum | "
               "daemon CPU s /1000 calls |\n|---|---|---|---|---|---|---|\n";
  for (const auto& s : sums) {
    const auto raw = raw_median.find(s.c);
    std::cout << "| " << s.c << " | " << fmt(s.ops, 0) << " | "
              << (raw == raw_median.end() ? std::string("n/a") : pct(s.ops / raw->second)) << " | " << fmt(s.events, 0)
              << " | " << fmt(s.calls_per_issue, 3) << " | 7 | " << fmt(s.cpu_per_1000, 3) << " |\n";
  }
  std::cout << "\nCalls by route (last run of each concurrency):\n\n";
  for (const auto& s : sums) std::cout << "* c=" << s.c << ": " << routes_text(s.routes) << "\n";
  std::cout << "\n" << std::flush;
}

void section_latency50(const options& o, int delay_us) {
  const int c = 8;
  const double bound = c / 0.050;
  std::cout << "## cwsim latency 50 ms, concurrency " << c << delay_note(delay_us) << ": " << o.latency_issues
            << " issues × (open, update, update, resolve) in waves; bound " << c << " / 0.05 s = " << fmt(bound, 0)
            << " calls/s\n\n"
            << std::flush;
  std::vector<lifecycle_result> runs;
  for (int rep = 0; rep < o.reps; ++rep)
    runs.push_back(run_lifecycle(o, c, o.latency_issues, {"--latency-ms", "50"}, "lat50", false, delay_us));
  print_lifecycle_runs(runs);
  std::vector<double> ops;
  for (const auto& r : runs) ops.push_back(r.ops_per_s());
  std::cout << "Median" << delay_note(delay_us) << ": **" << fmt(median(ops), 1)
            << " calls/s = " << pct(median(ops) / bound) << " of the bound** (target ≥ 90 %)\n\n"
            << std::flush;
}

void section_e2e(const options& o, int delay_us) {
  const int c = 8;
  std::cout << "## Event-to-ticket latency" << delay_note(delay_us) << ": " << o.e2e_events << " opens spooled at "
            << fmt(o.e2e_rate, 0) << "/s, concurrency " << c
            << "; latency = cwsim's received_at_ms of POST /service/tickets − the event's rename into new/\n\n"
            << "| run | spooling took s | min ms | p50 ms | p90 ms | p99 ms | max ms | load before | fsync ms "
               "before/after |\n|---|---|---|---|---|---|---|---|---|\n"
            << std::flush;
  std::vector<double> p50, p99, mx;
  for (int rep = 0; rep < o.reps; ++rep) {
    const e2e_result r = run_e2e(o, c, false, delay_us);
    p50.push_back(r.p50);
    p99.push_back(r.p99);
    mx.push_back(r.max);
    std::cout << "| " << rep + 1 << " | " << fmt(r.spool_span_s, 2) << " | " << fmt(r.min, 0) << " | " << fmt(r.p50, 0)
              << " | " << fmt(r.p90, 0) << " | " << fmt(r.p99, 0) << " | " << fmt(r.max, 0) << " | " << r.load_before
              << " | " << fmt(r.probe_before, 2) << " / " << fmt(r.probe_after, 2) << " |\n"
              << std::flush;
  }
  std::cout << "\nMedian over runs" << delay_note(delay_us) << ": p50 " << fmt(median(p50), 0) << " ms, **p99 "
            << fmt(median(p99), 0) << " ms** (target < 50 ms), max " << fmt(median(mx), 0) << " ms\n\n"
            << std::flush;
}

// Why: where the daemon's event loop waits on the disk.
void section_profile(const options& o, int delay_us) {
  if (!rig::perf_trace_works()) {
    std::cout << "## Profile" << delay_note(delay_us) << ": skipped (`perf trace` is not available here)\n\n";
    return;
  }
  std::cout << "## Profile" << delay_note(delay_us)
            << ": fsync + fdatasync of the daemon (perf trace -s, one extra run each; tracing slows the run a "
               "little"
            << (delay_us > 0 ? "; ms include the injected delay" : "")
            << ")\n\n"
               "| run | wall s | PSA calls | fsync+fdatasync calls | ms inside them | % of wall | PSA calls per "
               "fsync | ms per fsync | fsync probe ms before/after |\n|---|---|---|---|---|---|---|---|---|\n"
            << std::flush;
  auto row = [delay_us](const std::string& name, double wall, std::int64_t calls, std::int64_t fsyncs, double ms,
                        double before, double after) {
    ms += static_cast<double>(fsyncs) * delay_us / 1000.0;  // the shim sleeps after the syscall
    std::cout << "| " << name << " | " << fmt(wall, 2) << " | " << calls << " | " << fsyncs << " | " << fmt(ms, 0)
              << " | " << pct(ms / 1000.0 / wall) << " | "
              << fmt(static_cast<double>(calls) / static_cast<double>(std::max<std::int64_t>(1, fsyncs)), 2) << " | "
              << fmt(ms / static_cast<double>(std::max<std::int64_t>(1, fsyncs)), 2) << " | " << fmt(before, 2) << " / "
              << fmt(after, 2) << " |\n"
              << std::flush;
  };
  for (int c : o.concurrency) {
    const lifecycle_result t = run_lifecycle(o, c, o.issues, {}, "prof-tp", true, delay_us);
    row("throughput, c=" + std::to_string(c) + ", " + std::to_string(o.issues) + " issues", t.wall_s, t.calls, t.fsyncs,
        t.fsync_ms, t.probe_before, t.probe_after);
  }
  const lifecycle_result l =
      run_lifecycle(o, 8, o.latency_issues, {"--latency-ms", "50"}, "prof-lat50", true, delay_us);
  row("latency 50 ms, c=8, " + std::to_string(o.latency_issues) + " issues", l.wall_s, l.calls, l.fsyncs, l.fsync_ms,
      l.probe_before, l.probe_after);
  const e2e_result e = run_e2e(o, 8, true, delay_us);
  row("e2e, " + std::to_string(o.e2e_events) + " events at " + fmt(o.e2e_rate, 0) + "/s (wall = spooling)",
      e.spool_span_s, e.events, e.fsyncs, e.fsync_ms, e.probe_before, e.probe_after);
  std::cout << "\n(e2e row: \"PSA calls\" = events = creates; its latency in this traced run: p50 " << fmt(e.p50, 0)
            << " ms, p99 " << fmt(e.p99, 0) << " ms)\n\n"
            << std::flush;
}

//------------------------------------------------------------------------------

int run(const options& o) {
  std::cout << "# ticketsync benchmark (tests/bench/bench_sync)\n\n" << std::flush;
  const machine_facts m = measure_machine(o);
  print_machine(m);

  // 3. Raw cwsim first: every daemon figure is compared with it.
  std::map<int, double> raw_median;
  if (o.scenarios.contains("raw") || o.scenarios.contains("throughput")) {
    std::cout << "## Raw cwsim rate (no daemon): " << o.raw_seconds
              << " s of POST /service/tickets per run, C coroutines over C kept-alive TLS connections\n\n"
              << "| concurrency | runs (requests/s) | median requests/s | cwsim CPU s (last run) | load before |\n"
                 "|---|---|---|---|---|\n"
              << std::flush;
    for (int c : o.concurrency) {
      std::vector<double> v;
      std::string runs, load;
      double cpu = 0;
      for (int rep = 0; rep < o.reps; ++rep) {
        const raw_result r = run_raw(o, c);
        v.push_back(r.per_s);
        runs += (runs.empty() ? "" : ", ") + fmt(r.per_s, 0);
        load += (load.empty() ? "" : ", ") + r.load_before;
        cpu = r.sim_cpu_s;
      }
      raw_median[c] = median(v);
      std::cout << "| " << c << " | " << runs << " | " << fmt(raw_median[c], 0) << " | " << fmt(cpu, 2) << " | " << load
                << " |\n"
                << std::flush;
    }
    std::cout << "\n";
  }

  if (o.scenarios.contains("throughput")) section_throughput(o, raw_median, 0);
  if (o.scenarios.contains("latency50")) section_latency50(o, 0);
  if (o.scenarios.contains("e2e")) section_e2e(o, 0);
  if (o.scenarios.contains("profile")) section_profile(o, 0);
  if (o.scenarios.contains("slowdisk")) {
    const int us = static_cast<int>(o.slow_fsync_ms * 1000);
    std::cout << "# Slow disk: every fsync/fdatasync of the daemon made " << fmt(o.slow_fsync_ms, 1)
              << " ms slower (LD_PRELOAD shim tests/bench/fsync_delay.cpp)\n\n"
                 "What this machine's virtual disk does when its IO budget is spent (fdatasync measured at "
                 "~4 ms then), and what cloud block storage costs.\n\n"
              << std::flush;
    section_throughput(o, raw_median, us);
    section_latency50(o, us);
    section_e2e(o, us);
    section_profile(o, us);
  }

  if (o.scenarios.contains("backlog")) {
    std::cout << "## Spool backlog at start (" << o.backlog_events
              << " opens in new/ before the daemon starts, concurrency 32)\n\n"
                 "| events | connected to the PSA after s | first ticket after s | all tickets after s | creates/s | "
                 "PSA calls | op.retry lines |\n|---|---|---|---|---|---|---|\n"
              << std::flush;
    const backlog_result b = run_backlog(o, o.backlog_events, 32);
    std::cout << "| " << b.events << " | " << fmt(b.connected_s, 2) << " | " << fmt(b.first_ticket_s, 2) << " | "
              << fmt(b.all_s, 2) << " | " << fmt(b.events / b.all_s, 0) << " | " << b.calls << " | " << b.retries
              << " |\n\n"
              << std::flush;
  }

  // 5. Peak RSS.
  if (o.scenarios.contains("rss")) {
    const int c = 32;
    std::cout << "## Peak RSS: " << o.rss_issues << " opens (creates), concurrency " << c
              << ", budget 600000/min, at most " << o.rss_backlog << " events waiting in the spool\n\n"
              << std::flush;
    const rss_result r = run_rss(o, c);
    std::cout << "| tickets created | VmRSS MiB | VmHWM MiB | at s |\n|---|---|---|---|\n";
    std::int64_t next = 0;
    for (const auto& s : r.samples) {
      if (s.tickets < next && &s != &r.samples.back()) continue;
      std::cout << "| " << s.tickets << " | " << fmt(s.rss_kib / 1024.0, 1) << " | " << fmt(s.hwm_kib / 1024.0, 1)
                << " | " << fmt(s.t_s, 0) << " |\n";
      next = s.tickets + std::max(1, r.target / 10);
    }
    std::cout << "\nResult: " << r.tickets << " of " << r.target << " tickets in " << fmt(r.seconds, 0) << " s ("
              << fmt(static_cast<double>(r.tickets) / r.seconds, 0) << " creates/s)"
              << (r.complete ? "" : " — INCOMPLETE within the time limit") << "; **VmHWM " << fmt(r.hwm_kib / 1024.0, 1)
              << " MiB**, VmRSS " << fmt(r.rss_kib / 1024.0, 1) << " MiB (target ≤ 64 MiB); daemon CPU "
              << fmt(r.daemon_cpu_s, 1) << " s; database " << fmt(static_cast<double>(r.db_bytes) / (1 << 20), 1)
              << " MiB; fsync probe before/after " << fmt(r.probe_before, 2) << " / " << fmt(r.probe_after, 2)
              << " ms\n\n"
              << std::flush;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "bench_sync: " << e.what() << "\n";
    return 1;
  }
}
