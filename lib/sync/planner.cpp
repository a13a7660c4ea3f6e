#include "sync/planner.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace ts::sync {

std::pair<std::string, std::string> cw_severity_impact(ts::severity s) noexcept {
  switch (s) {
    case ts::severity::critical: return {"High", "High"};
    case ts::severity::high: return {"High", "Medium"};
    case ts::severity::medium: return {"Medium", "Medium"};
    case ts::severity::low:
    case ts::severity::info: return {"Low", "Low"};
  }
  return {"Low", "Low"};
}

plan plan_event(const std::optional<issue_snapshot>& current, const event& ev, const ticket_fields& fields,
                const config::lifecycle_config& policy) {
  using config::on_resolve_policy;
  using config::on_update_policy;
  const bool open = ev.state == issue_state::open;
  plan p;
  p.apply = true;

  if (!current) {
    if (open) {
      p.ops = {{op_kind::create}};
      p.phase_after = ticket_phase::open;
      p.reason = "new issue";
    } else {
      p.resolved_at = ev.updated_at;
      p.reason = "new issue, already resolved: no ticket";
    }
    return p;
  }

  const issue_snapshot& cur = *current;
  if (ev.updated_at <= cur.last_event_at) {
    plan stale;
    stale.phase_after = cur.phase;
    stale.resolved_at = cur.resolved_at;
    stale.reason = "not newer than the applied event";
    return stale;
  }
  p.phase_after = cur.phase;
  p.resolved_at = open ? cur.resolved_at
                       : (cur.state == issue_state::resolved && cur.resolved_at ? cur.resolved_at : ev.updated_at);
  // The issue came back within the window when its resolution is recent enough
  // (inclusive boundary: exactly reopen_window later still reopens).
  const bool within_window =
      cur.resolved_at && policy.reopen_window.count() > 0 && ev.updated_at - *cur.resolved_at <= policy.reopen_window;

  switch (cur.phase) {
    case ticket_phase::none:
      if (cur.ticket_forgotten) {
        if (open) {
          p.reason =
              "its ticket was deleted in ConnectWise: no new ticket until the issue resolves and comes back "
              "(on_ticket_deleted: forget)";
        } else {
          p.clear_forgotten = true;
          p.reason = "resolved; its ticket had been deleted in ConnectWise: the next return gets a new ticket";
        }
        return p;
      }
      if (open) {
        p.resolved_at.reset();
        p.ops = {{op_kind::create}};
        p.phase_after = ticket_phase::open;
        p.reason = "open issue without a ticket";
      } else {
        p.reason = "resolved issue without a ticket: nothing to close";
      }
      return p;

    case ticket_phase::open:
      if (!open) {
        if (cur.state == issue_state::resolved) {
          p.reason = "already resolved";
          return p;
        }
        switch (policy.on_resolve) {
          case on_resolve_policy::close:
            p.ops = {{op_kind::close}};
            p.phase_after = ticket_phase::closed;
            p.reason = "resolved: close the ticket";
            break;
          case on_resolve_policy::note:
            p.ops = {{op_kind::note, note_kind::resolve}};
            p.reason = "resolved: note only (on_resolve: note)";
            break;
          case on_resolve_policy::ignore: p.reason = "resolved: ignored (on_resolve: ignore)"; break;
        }
        return p;
      }
      if (cur.state == issue_state::resolved) {
        // Back again while its ticket stayed open (on_resolve note/ignore).
        if (policy.on_resolve == on_resolve_policy::note) p.ops.push_back({op_kind::note, note_kind::reopen});
        p.resolved_at.reset();
        p.reason = "open again; the ticket was left open";
      } else {
        p.reason = "update";
      }
      if (fields != cur.fields && policy.on_update != on_update_policy::ignore) p.ops.push_back({op_kind::update});
      if (p.ops.empty() && fields == cur.fields) p.reason = "no change to the ticket's fields";
      return p;

    case ticket_phase::closed:
      if (cur.technician_closed) {
        if (!open) {
          p.clear_technician_closed = true;
          p.reason = "resolved; a technician had already closed the ticket";
          return p;
        }
        switch (policy.on_technician_close) {
          case config::technician_close_policy::respect:
            p.reason = "a technician closed the ticket: left alone (on_technician_close: respect)";
            break;
          case config::technician_close_policy::note:
            if (fields != cur.fields) p.ops = {{op_kind::note, note_kind::update}};
            p.reason = "a technician closed the ticket: note only (on_technician_close: note)";
            break;
          case config::technician_close_policy::reopen:
            p.ops = {{op_kind::reopen}};
            p.phase_after = ticket_phase::open;
            p.clear_technician_closed = true;
            p.reason = "a technician closed the ticket: reopen it (on_technician_close: reopen)";
            break;
          case config::technician_close_policy::new_ticket:
            p.ops = {{op_kind::create}};
            p.phase_after = ticket_phase::open;
            p.new_generation = true;
            p.clear_technician_closed = true;
            p.reason = "a technician closed the ticket: new ticket (on_technician_close: new_ticket)";
            break;
        }
        return p;
      }
      if (!open) {
        p.reason = "already resolved and closed";
        return p;
      }
      p.resolved_at.reset();
      if (within_window) {
        p.ops = {{op_kind::reopen}};
        p.phase_after = ticket_phase::open;
        p.reason = "back within the reopen window: reopen the ticket";
      } else {
        p.ops = {{op_kind::create}};
        p.phase_after = ticket_phase::open;
        p.new_generation = true;
        p.reason = "back after the reopen window: new ticket";
      }
      return p;
  }
  return p;
}

technician_closed_action on_technician_closed(config::technician_close_policy p) noexcept {
  switch (p) {
    case config::technician_close_policy::respect: return technician_closed_action::stop;
    case config::technician_close_policy::note: return technician_closed_action::note_only;
    case config::technician_close_policy::reopen: return technician_closed_action::reopen;
    case config::technician_close_policy::new_ticket: return technician_closed_action::new_ticket;
  }
  return technician_closed_action::stop;
}

bool storm_capped(int cap, std::int64_t creates_in_window) noexcept { return cap > 0 && creates_in_window >= cap; }

issue_identity digest_identity(std::string_view tenant, sys_ms now) {
  // "YYYY-MM-DDTHH" of the RFC 3339 UTC form.
  const std::string hour = format_rfc3339(now).substr(0, 13);
  return {std::string(digest_source), std::string(tenant), "storm-" + hour};
}

void fill_ticket_body(psa::ticket_create& body, const desired_ticket& desired, std::string xref) {
  body.summary = desired.summary;
  body.company_identifier = desired.company_identifier;
  body.initial_description = desired.description;
  body.external_xref = std::move(xref);
  body.severity = desired.cw_severity;
  body.impact = desired.cw_impact;
}

std::vector<step_kind> steps_of(op_kind kind, config::on_update_policy on_update, bool resolve_note) {
  switch (kind) {
    case op_kind::create: return {step_kind::post_ticket};
    case op_kind::update:
      if (on_update == config::on_update_policy::note) return {step_kind::post_note};
      if (on_update == config::on_update_policy::ignore) return {};
      return {step_kind::post_note, step_kind::patch_fields};
    case op_kind::close:
      if (resolve_note) return {step_kind::post_note, step_kind::patch_status};
      return {step_kind::patch_status};
    case op_kind::reopen: return {step_kind::post_note, step_kind::patch_status};
    case op_kind::note: return {step_kind::post_note};
  }
  return {};
}

std::chrono::milliseconds backoff_delay(const backoff_policy& p, int attempt, double unit_random) noexcept {
  // Clamp before subtracting: attempt may be anything an old row holds, INT_MIN included.
  const int exp = std::clamp(attempt, 1, 64) - 1;  // 2^63 exceeds any cap
  const double ceiling =
      std::min(static_cast<double>(p.cap.count()), static_cast<double>(p.base.count()) * std::ldexp(1.0, exp));
  const double r = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds{static_cast<long long>(ceiling * r)};
}

}  // namespace ts::sync
