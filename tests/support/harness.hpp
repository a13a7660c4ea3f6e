// Integration-test harness: a real cwsim process over TLS on loopback, a real
// ticketsyncd process with a generated configuration, and helpers to make
// events and read what ConnectWise (the simulator) ended up with.
#pragma once

#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ts::test {

namespace fs = std::filesystem;

/// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless
/// the test failed (kept for post-mortem; its path is printed).
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

class cwsim_process {
 public:
  /// Starts cwsim with the repository seed, a generated CA in `dir`, on an
  /// ephemeral loopback port; waits until it listens.
  explicit cwsim_process(const fs::path& dir, std::vector<std::string> extra_args = {});
  ~cwsim_process();

  int port() const noexcept { return port_; }
  std::string url() const { return "https://localhost:" + std::to_string(port_); }
  std::string ca_file() const { return (dir_ / "tls" / "ca.pem").string(); }
  std::string log() const { return read_file((dir_ / "cwsim.log").string()); }

  /// Sim-only endpoints (no auth), over TLS. Throws on transport errors or non-2xx.
  nlohmann::json get(const std::string& target) const;
  nlohmann::json post(const std::string& target, const nlohmann::json& body) const;
  nlohmann::json tickets() const { return get("/__sim/tickets"); }

  struct answer {
    int status = 0;
    std::string body;
  };
  /// A ConnectWise API call (`target` under /v2025_1/apis/3.0) as the member
  /// with `credentials` ("demo+techpub:techpriv" is the seed's technician).
  answer api(const std::string& method, const std::string& target, const std::string& body = {},
             const std::string& credentials = "demo+techpub:techpriv") const;
  nlohmann::json stats() const { return get("/__sim/stats"); }

  child_process& process() { return *proc_; }

 private:
  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<child_process> proc_;
};

/// A plain-HTTP request to `host_port` (e.g. ticketsync's public listener on
/// loopback), with `headers`; status 0 and the reason in body when no answer.
cwsim_process::answer http_plain(const std::string& host_port, const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers);

/// ticket.priority lines mapping each severity to a seed priority (critical → P1 … info → P4).
inline const std::string priority_map =
    "  priority:\n"
    "    critical: Priority 1 - Emergency Response\n"
    "    high: Priority 2 - Quick Response\n"
    "    medium: Priority 3 - Normal Response\n"
    "    low: Priority 4 - Schedule Maintenance\n"
    "    info: Priority 4 - Schedule Maintenance\n";

/// What a test may change in the generated configuration.
struct setup_options {
  std::string psa_extra;     ///< lines appended inside psa: (indented two spaces)
  std::string ticket_extra;  ///< lines appended inside ticket: (indented two spaces)
  std::string priority = "  priority: Priority 2 - Quick Response\n";  ///< the ticket.priority lines
  std::string private_key = "demo-private-key";
  std::string timeouts = "{connect: 2s, handshake: 2s, request: 2s}";  ///< psa.timeouts
  /// The companies section's lines (indented two spaces).
  std::string companies =
      "  default: MSPInternal\n  tenants:\n    acme-prod: AcmeCorp\n    globex: Globex\n    initech: Initech\n";
  /// Top-level sections appended (rules:, storm:, ...). Tests create many
  /// tickets per tenant, so storm protection is off unless a test sets it.
  std::string top_extra = "storm:\n  max_new_tickets_per_hour: 0\n";
  /// The logging section's lines (indented two spaces).
  std::string logging = "  level: info\n";
};

/// A daemon configuration and its state directory.
class daemon_setup {
 public:
  /// Writes `dir/ticketsync.yaml` pointing at `sim`, with state and spool in `dir`.
  daemon_setup(const fs::path& dir, const cwsim_process& sim, const setup_options& opts = {});

  const fs::path& dir() const noexcept { return dir_; }
  std::string config_path() const { return (dir_ / "ticketsync.yaml").string(); }
  fs::path spool() const { return dir_ / "spool"; }
  fs::path database() const { return dir_ / "state.db"; }
  std::string log_path() const { return (dir_ / "daemon.log").string(); }
  std::string log() const { return read_file(log_path()); }

  /// Starts `ticketsyncd run -c CONFIG` (log appended to daemon.log), with
  /// env() and `extra_env` (which wins).
  std::unique_ptr<child_process> start(const std::map<std::string, std::string>& extra_env = {}) const;
  /// Runs `ticketsyncd submit -c CONFIG FILES...`.
  int submit(const std::vector<std::string>& files, std::string* output) const;
  /// Runs `ticketsyncd ARGS...` to completion with env() and `extra_env` (which wins);
  /// returns its exit status, stdout+stderr in `output`.
  int run_command(std::vector<std::string> args, std::string* output,
                  const std::map<std::string, std::string>& extra_env = {}) const;
  /// Fails the test unless the daemon started with start() logs daemon.ready within 30 s.
  void wait_until_ready() const;

  /// Writes `content` into the spool the way a producer must (tmp/ then rename into new/).
  void spool_raw(const std::string& name, const std::string& content) const;

  std::map<std::string, std::string> env() const;

 private:
  fs::path dir_;
  std::string private_key_;
};

/// The simulator's ticket whose externalXRef is `xref`, or null.
nlohmann::json ticket_by_xref(const nlohmann::json& tickets, const std::string& xref);

/// Polls the simulator until `pred(tickets)` holds or `timeout` passes.
bool wait_for(const cwsim_process& sim, const std::function<bool(const nlohmann::json&)>& pred,
              std::chrono::milliseconds timeout);

/// A schema v1 event.
std::string make_event(const std::string& source, const std::string& tenant, const std::string& issue_id,
                       const std::string& state = "open", const std::string& severity = "high",
                       const std::string& title = "Suspicious login",
                       const std::string& updated_at = "2026-11-01T10:00:00Z");

/// Path of a program built by this project (from compile definitions).
std::string ticketsyncd_path();
std::string cwsim_path();
std::string repo_path(const std::string& relative);

}  // namespace ts::test
