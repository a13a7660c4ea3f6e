// cwsim's model of a ConnectWise PSA server: the seeded directory (companies, boards
// with statuses/types/subtypes/items/teams, priorities, sources, ticket custom fields),
// the ticket store, the REST dialect under /{codebase}apis/3.0 plus /login/companyinfo,
// the /__sim control endpoints, and seeded fault injection. It is a pure request → response function with
// no networking or clock of its own, so every behaviour cwsim claims to share with
// ConnectWise is unit-testable; main.cpp owns sockets and carries out each response's
// delay and disposition. Not thread-safe: one caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util.hpp"

namespace cwsim {

using header_map = std::map<std::string, std::string, ci_less>;

struct sim_request {
  std::string method;  ///< as sent, e.g. "GET"
  std::string target;  ///< origin-form target: path and optional "?query", still percent-encoded
  header_map headers;  ///< repeated fields joined with ", "
  std::string body;
};

struct sim_response {
  enum class disposition {
    respond,                  ///< send status, headers and body
    drop_after_processing,    ///< the request took effect; close the connection without answering
    reset_before_processing,  ///< the request had no effect; reset the TCP connection
    hang,                     ///< the request had no effect; never answer, keep the connection open
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  disposition action = disposition::respond;
  std::chrono::milliseconds delay{0};  ///< wait this long before carrying out `action`
};

/// Fault-injection knobs. Each API request draws once: with probability p_reset it is
/// reset, else p_hang hangs, else p500 fails, else p429 is throttled, else
/// p_commit_drop is processed but unanswered (bands taken in that order, so with
/// probabilities summing past 1 the earlier kinds win). latency_ms delays every API
/// answer (and every drop).
struct fault_knobs {
  int latency_ms = 0;
  double p429 = 0;
  double p500 = 0;
  double p_reset = 0;
  double p_hang = 0;
  double p_commit_drop = 0;
  int retry_after = 1;  ///< seconds, sent in Retry-After and the 429 message

  friend bool operator==(const fault_knobs&, const fault_knobs&) = default;
};

/// Throws std::invalid_argument naming the first knob out of range
/// (probabilities in [0,1], latency_ms in [0, 600000], retry_after in [0, 3600]).
void validate(const fault_knobs& knobs);

/// Named knob sets: none, flaky, throttled, slow, chaos. nullopt for unknown names.
std::optional<fault_knobs> fault_preset(std::string_view name);
std::vector<std::string> fault_preset_names();

nlohmann::json to_json(const fault_knobs& knobs);

/// Applies the knobs present in `update` (same keys as to_json, plus "preset" applied
/// first) onto `knobs`. Throws std::invalid_argument on unknown keys, wrong types or
/// out-of-range values; `knobs` is unchanged then.
void apply_fault_update(fault_knobs& knobs, const nlohmann::json& update);

/// The seed document is malformed or inconsistent; the message says where.
class seed_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads and parses a seed file (JSON); throws seed_error.
nlohmann::json load_seed_file(const std::string& path);

class simulator {
 public:
  using clock_fn = std::function<std::chrono::system_clock::time_point()>;

  /// Validates `seed` (README: keys, ids unique per kind, one default status per board)
  /// and throws seed_error when it is unusable. `clock` stamps tickets and notes
  /// (system_clock when empty); `fault_seed` seeds the fault PRNG.
  explicit simulator(const nlohmann::json& seed, fault_knobs faults = {}, std::uint64_t fault_seed = 1,
                     clock_fn clock = {});
  ~simulator();
  simulator(simulator&&) noexcept;
  simulator& operator=(simulator&&) noexcept;
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  /// Answers one HTTP request. Never throws for anything a client can send.
  sim_response handle(const sim_request& request);

  const fault_knobs& faults() const noexcept;
  void set_faults(const fault_knobs& knobs);  ///< validates like apply_fault_update
  void reseed_faults(std::uint64_t seed) noexcept;

  /// Same document as GET /__sim/stats.
  nlohmann::json stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cwsim
