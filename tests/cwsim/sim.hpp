// cwsim's model of a ConnectWise PSA server: the seeded directory (companies, boards
// with statuses/types/subtypes/items/teams, priorities, sources, ticket custom fields,
// members, security roles), the ticket and callback stores, the callback deliveries each
// change fires, the REST dialect under /{codebase}apis/3.0 plus /login/companyinfo,
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

/// One callback POST the model asks main.cpp to send (README "Callbacks"). The body is
/// the exact byte string that x-content-signature signs.
struct callback_delivery {
  std::uint64_t id = 0;          ///< its entry in GET /__sim/callbacks/deliveries
  std::int64_t callback_id = 0;  ///< the CallbackEntry that fired
  std::string url;               ///< absolute http(s) URL to POST to
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< content-type, x-content-signature
  std::chrono::milliseconds delay{0};                        ///< callback_delay_ms: wait before the first attempt
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
  /// Callbacks the request fired; sent asynchronously, never delaying this answer (also
  /// for a commit_drop, whose change did happen).
  std::vector<callback_delivery> deliveries;
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
  // Callback deliveries (README "Callbacks").
  double p_callback_drop = 0;        ///< probability a delivery is never sent (logged as dropped)
  int callback_delay_ms = 0;         ///< delay before the first attempt of each delivery
  bool callback_message_id = false;  ///< add an (undocumented) "MessageId" to callback bodies
  bool honour_self_suppression =
      false;  ///< skip deliveries to isSelfSuppressedFlag entries for their own member's changes

  friend bool operator==(const fault_knobs&, const fault_knobs&) = default;
};

/// Throws std::invalid_argument naming the first knob out of range
/// (probabilities in [0,1], latency_ms and callback_delay_ms in [0, 600000], retry_after in
/// [0, 3600]).
void validate(const fault_knobs& knobs);

/// Named knob sets: none, flaky, throttled, slow, chaos. nullopt for unknown names.
std::optional<fault_knobs> fault_preset(std::string_view name);
std::vector<std::string> fault_preset_names();

nlohmann::json to_json(const fault_knobs& knobs);

/// Applies the knobs present in `update` (same keys as to_json, plus "preset" applied
/// first) onto `knobs`. Throws std::invalid_argument on unknown keys, wrong types or
/// out-of-range values; `knobs` is unchanged then.
void apply_fault_update(fault_knobs& knobs, const nlohmann::json& update);

/// ConnectWise's callback signature: Base64(HMAC-SHA256(key = SHA-256(signing_key),
/// data = body)), sent as x-content-signature.
std::string callback_signature(std::string_view signing_key, std::string_view body);

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

  /// main.cpp reports each attempt of a delivery: `status` is the HTTP status (0 when
  /// none arrived), `error` the transport error ("" when an answer arrived); `final` when
  /// no retry follows. Unknown ids are ignored (the log was cleared meanwhile).
  void record_delivery_attempt(std::uint64_t delivery_id, int status, const std::string& error, bool final);

  /// Same document as GET /__sim/stats.
  nlohmann::json stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cwsim
