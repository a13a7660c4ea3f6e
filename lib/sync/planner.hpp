// The planner (pure): given what the store knows about an issue and a new
// event, decides whether the event is news and which PSA operations follow.
// Also the retry policy (backoff) the driver applies. No IO, no clocks.
//
// This slice plans ticket creation; updates, closing and reopening extend
// `op_kind` and plan_event without changing the driver's contract.
#pragma once

#include "core/event.hpp"
#include "core/time.hpp"

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace ts::sync {

enum class op_kind { create };
std::string_view to_string(op_kind k) noexcept;
std::optional<op_kind> parse_op_kind(std::string_view s) noexcept;

/// What the store knows about an issue, as far as planning is concerned.
struct issue_snapshot {
  issue_state state = issue_state::open;
  sys_ms last_event_at{};
  bool has_ticket = false;        ///< a ticket id is recorded
  bool has_pending_op = false;    ///< an operation is queued or in flight
};

struct plan {
  /// The event is newer than anything applied: store it as the issue's state.
  bool apply = false;
  std::vector<op_kind> ops;
  /// Why (for logs and `explain`): "new issue", "older than applied event", ...
  std::string_view reason;
};

/// Decides what `ev` means for an issue in state `current` (nullopt: never seen).
///  - never seen, open          -> apply, create
///  - never seen, resolved      -> apply, nothing (no ticket for an issue born resolved)
///  - updated_at <= last applied -> nothing (duplicate or out of order; never regress)
///  - newer, open, no ticket and nothing pending -> apply, create
///  - otherwise newer           -> apply (state recorded; lifecycle ops come later)
plan plan_event(const std::optional<issue_snapshot>& current, const event& ev);

/// Retry policy: exponential backoff with full jitter. attempt 1 waits up to
/// `base`, attempt n up to min(cap, base * 2^(n-1)); `unit_random` in [0, 1)
/// picks the point in that range.
struct backoff_policy {
  std::chrono::milliseconds base{1'000};
  std::chrono::milliseconds cap{300'000};
};
std::chrono::milliseconds backoff_delay(const backoff_policy& p, int attempt, double unit_random) noexcept;

}  // namespace ts::sync
