#include "sync/link.hpp"

#include "sync/planner.hpp"

namespace ts::sync {

namespace {

constexpr auto success_write_interval = std::chrono::seconds{10};
constexpr backoff_policy connect_backoff{std::chrono::seconds{1}, std::chrono::seconds{60}};

wr::runtime row(std::string key, std::string value) { return wr::runtime{std::move(key), std::move(value)}; }

}  // namespace

psa_link::psa_link(sys_ms started) { status_.since = started; }

std::vector<write> psa_link::started_rows() const {
  // The previous run's state is stale: "connecting" until the first answer.
  return {row("psa.state", std::string(to_text(status_.state))), row("psa.state_since", format_rfc3339(status_.since))};
}

void psa_link::set_state(link_state s, sys_ms wall, link_update& u) {
  if (s == status_.state) return;
  status_.state = s;
  status_.since = wall;
  u.writes.push_back(row("psa.state", std::string(to_text(s))));
  u.writes.push_back(row("psa.state_since", format_rfc3339(wall)));
}

void psa_link::record_error(const psa::psa_failure& f, sys_ms wall, link_update& u) {
  (void)wall;
  // A name that does not resolve (no HTTP answer) is the mapping's failure, not ConnectWise's.
  if (f.what == psa::psa_failure::kind::rejected && f.http_status == 0) return;
  status_.last_error = f.to_string();
  u.writes.push_back(row("psa.last_error", status_.last_error));
}

void psa_link::record_success(sys_ms wall, link_update& u) {
  status_.last_success = wall;
  if (!success_written_ || wall - *success_written_ >= success_write_interval) {
    u.writes.push_back(row("psa.last_success_at", format_rfc3339(wall)));
    success_written_ = wall;
  }
}

link_update psa_link::connected(steady_time now, sys_ms wall) {
  (void)now;
  link_update u;
  if (blocked_)
    u.notices.push_back(
        {notice::level::info, "psa.unblocked ConnectWise accepts the credentials again; sending resumes"});
  blocked_ = false;
  failures_ = 0;
  set_state(link_state::connected, wall, u);
  record_success(wall, u);
  return u;
}

link_update psa_link::connect_failed(const psa::psa_failure& f, steady_time now, sys_ms wall, double unit_random) {
  link_update u;
  ++failures_;
  const bool auth = f.what == psa::psa_failure::kind::auth;
  set_state(auth ? link_state::blocked : link_state::unreachable, wall, u);
  record_error(f, wall, u);
  if (auth) {
    blocked_ = true;
    next_attempt_ = now + auth_probe_interval;
    u.notices.push_back({notice::level::error,
                         "psa.blocked ConnectWise refused the credentials (" + f.to_string() +
                             "): check psa.company_id, psa.public_key, the private key and psa.client_id; retrying "
                             "every " +
                             std::to_string(auth_probe_interval.count()) + " s"});
  } else {
    const auto delay = backoff_delay(connect_backoff, failures_, 0.5 + 0.5 * unit_random);
    next_attempt_ = now + delay;
    u.notices.push_back({notice::level::warn, "psa.unreachable cannot reach ConnectWise (" + f.to_string() +
                                                  "); next attempt in " + std::to_string(delay.count()) + " ms"});
  }
  return u;
}

link_update psa_link::observed(const psa::psa_failure* failure, steady_time now, sys_ms wall) {
  link_update u;
  if (!failure) {
    // ConnectWise answered: whatever the last connect attempt concluded
    // (a warm-up lookup that failed, say), the connection works.
    if (!blocked_) set_state(link_state::connected, wall, u);
    record_success(wall, u);
    return u;
  }
  record_error(*failure, wall, u);
  if (failure->what == psa::psa_failure::kind::auth) {
    blocked_ = true;
    next_attempt_ = now + auth_probe_interval;
    set_state(link_state::blocked, wall, u);
  }
  return u;
}

}  // namespace ts::sync
