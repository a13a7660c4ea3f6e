// The engine's view of its ConnectWise connection (pure): whether to try
// connecting, whether operations may be sent, and what `ticketsyncd status`,
// /readyz and the metrics report. Fed with the outcome of every connect and
// every PSA answer; hands back log lines and the runtime-table writes that
// record what changed for the operator commands of other processes.
#pragma once

#include "core/clock.hpp"
#include "core/enum_text.hpp"
#include "core/time.hpp"
#include "psa/failure.hpp"
#include "sync/effects.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ts::sync {

enum class link_state {
  connecting,   ///< no answer yet since start
  connected,    ///< ConnectWise answers and accepts the credentials
  unreachable,  ///< connecting failed; retried with backoff
  blocked,      ///< 401/403: sending paused, probed every 30 s
};

struct link_status {
  link_state state = link_state::connecting;
  sys_ms since{};                      ///< when `state` began
  std::optional<sys_ms> last_success;  ///< the last request ConnectWise accepted
  std::string last_error;              ///< the last failed PSA request (psa_failure::to_string(), no secrets)
};

/// What an observation changed.
struct link_update {
  std::vector<notice> notices;
  std::vector<write> writes;  ///< wr::runtime rows
};

class psa_link {
 public:
  static constexpr std::chrono::seconds auth_probe_interval{30};

  explicit psa_link(sys_ms started);

  /// The runtime rows recording the state at start (psa.state, psa.state_since).
  std::vector<write> started_rows() const;

  /// Whether operations may be sent: the client found the API and nothing
  /// said the credentials are refused.
  bool ready(bool client_connected) const noexcept { return client_connected && !blocked_; }
  /// Whether to (re)connect now: not ready, and the backoff is over.
  bool connect_due(bool client_connected, steady_time now) const noexcept {
    return !ready(client_connected) && now >= next_attempt_;
  }
  /// When the next connect attempt may start.
  steady_time next_attempt() const noexcept { return next_attempt_; }

  /// A connect (and its warm-up) succeeded.
  link_update connected(steady_time now, sys_ms wall);
  /// A connect failed; `unit_random` in [0, 1) spreads the backoff.
  link_update connect_failed(const psa::psa_failure& f, steady_time now, sys_ms wall, double unit_random);
  /// A PSA request of an operation was answered (`failure` null) or failed.
  link_update observed(const psa::psa_failure* failure, steady_time now, sys_ms wall);

  const link_status& status() const noexcept { return status_; }

 private:
  void set_state(link_state s, sys_ms wall, link_update& u);
  void record_error(const psa::psa_failure& f, sys_ms wall, link_update& u);
  void record_success(sys_ms wall, link_update& u);

  link_status status_;
  bool blocked_ = false;
  int failures_ = 0;
  steady_time next_attempt_{};
  std::optional<sys_ms> success_written_;  // psa.last_success_at as last stored
};

}  // namespace ts::sync

template <>
struct ts::enum_text<ts::sync::link_state> {
  using s = sync::link_state;
  static constexpr std::array<std::pair<s, std::string_view>, 4> names{{
      {s::connecting, "connecting"},
      {s::connected, "connected"},
      {s::unreachable, "unreachable"},
      {s::blocked, "blocked"},
  }};
};
