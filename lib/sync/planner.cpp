#include "sync/planner.hpp"

#include <algorithm>
#include <cmath>

namespace ts::sync {

std::string_view to_string(op_kind k) noexcept {
  switch (k) {
    case op_kind::create: return "create";
  }
  return "create";
}

std::optional<op_kind> parse_op_kind(std::string_view s) noexcept {
  if (s == "create") return op_kind::create;
  return std::nullopt;
}

plan plan_event(const std::optional<issue_snapshot>& current, const event& ev) {
  if (!current) {
    if (ev.state == issue_state::open) return {true, {op_kind::create}, "new issue"};
    return {true, {}, "new issue, already resolved"};
  }
  if (ev.updated_at <= current->last_event_at) return {false, {}, "not newer than the applied event"};
  if (ev.state == issue_state::open && !current->has_ticket && !current->has_pending_op)
    return {true, {op_kind::create}, "open issue without a ticket"};
  return {true, {}, "state recorded"};
}

std::chrono::milliseconds backoff_delay(const backoff_policy& p, int attempt, double unit_random) noexcept {
  // Clamp before subtracting: attempt may be anything an old row holds, INT_MIN included.
  const int exp = std::clamp(attempt, 1, 31) - 1;
  const double ceiling = std::min(static_cast<double>(p.cap.count()), static_cast<double>(p.base.count()) * std::ldexp(1.0, exp));
  const double r = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds{static_cast<long long>(ceiling * r)};
}

}  // namespace ts::sync
