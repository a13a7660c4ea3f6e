#include "sync/reverse.hpp"

#include "core/text.hpp"

#include <nlohmann/json.hpp>

namespace ts::sync {

namespace {

using json = nlohmann::json;
using config::technician_close_policy;

/// The decision being built for one observation.
struct decision {
  const issue_record& issue;
  const observation& o;
  sys_ms now;
  reverse_result out;

  void record(change c, json detail, notice::level lvl, const std::string& event) {
    out.changes.push_back(c);
    detail["change"] = to_text(c);
    detail["ticket"] = o.ticket;
    detail["heard_from"] = to_text(o.from);
    if (o.state && !o.state->updated_by.empty()) detail["by"] = o.state->updated_by;
    out.writes.push_back(wr::history{issue_ref::existing(issue.id), "ticket", std::nullopt, json_text(detail)});
    std::string line = event + " issue=" + issue.identity.display() + " ticket=" + std::to_string(o.ticket);
    if (o.state && !o.state->updated_by.empty()) line += " by=" + o.state->updated_by;
    for (auto it = detail.begin(); it != detail.end(); ++it) {
      if (it.key() == "change" || it.key() == "ticket" || it.key() == "by") continue;
      line += " " + it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
    }
    out.notices.push_back({lvl, std::move(line)});
  }

  void update(std::optional<ticket_phase> phase, std::optional<bool> tech_closed, std::optional<int> generation = {}) {
    out.writes.push_back(wr::update_issue{issue.id, phase, false, tech_closed, generation, std::nullopt, std::nullopt});
  }
  void set_ticket(std::optional<std::int64_t> id, ticket_state s) {
    out.writes.push_back(wr::set_ticket{issue.id, id, s});
  }
  void add(op_kind kind, int generation = 1) {
    op_payload p;
    p.generation = generation;
    out.writes.push_back(wr::add_operation{issue_ref::existing(issue.id), kind, p, std::nullopt, std::nullopt});
  }
};

ticket_view view_of(const psa::ticket_info& t) {
  ticket_view v;
  v.known = true;
  v.closed = t.closed;
  v.status_id = t.status_id;
  v.board_id = t.board_id;
  v.priority_id = t.priority_id;
  v.company = t.company_identifier;
  v.last_updated = t.last_updated;
  v.updated_by = t.updated_by;
  return v;
}

/// Persons' decisions and ticketsync's own identity carry over to a new view.
ticket_view carry(ticket_view next, const ticket_view& before) {
  next.written_by = before.written_by;
  next.written_at = before.written_at;
  next.person_priority = before.person_priority;
  next.merged_from = before.merged_from;
  return next;
}

void gone(decision& d, const config::lifecycle_config& policy) {
  const issue_record& issue = d.issue;
  if (issue.seen.deleted) {
    d.out.changes.push_back(change::none);
    return;
  }
  const bool forget = policy.on_ticket_deleted == config::ticket_deleted_policy::forget;
  // The issue has no ticket now. Its operations that need one end as
  // "no ticket"; the next event plans a create (recreate) or nothing until
  // the issue comes back (forget). A new generation: the deleted ticket's
  // externalXRef is never searched for again.
  d.set_ticket(std::nullopt, ticket_state::none);
  d.update(ticket_phase::none, false, issue.generation + 1);
  ticket_view v;
  v.deleted = true;
  v.forgotten = forget;
  v.written_by = issue.seen.written_by;
  v.observed_at = d.now;
  d.out.writes.push_back(wr::set_seen{issue.id, v});
  d.record(change::deleted,
           {{"policy", to_text(policy.on_ticket_deleted)},
            {"detail", forget ? "no new ticket until the issue resolves and comes back"
                              : "a new ticket is created with the issue's next event"}},
           notice::level::warn, "ticket.deleted_in_psa");
}

void merged(decision& d, std::int64_t parent) {
  const issue_record& issue = d.issue;
  // From now on the issue's ticket is the parent: its operations write there,
  // never to the merged child. What the parent holds is unknown until it is
  // heard from; its state is taken as open (a merge keeps the parent open).
  d.set_ticket(parent, ticket_state::open);
  d.update(issue.state == issue_state::open ? std::optional(ticket_phase::open) : std::nullopt, false);
  ticket_view v;
  v.written_by = issue.seen.written_by;
  v.merged_from = d.o.ticket;
  v.observed_at = d.now;
  d.out.writes.push_back(wr::set_seen{issue.id, v});
  d.record(change::merged, {{"into", parent}, {"detail", "the issue follows the parent ticket"}}, notice::level::info,
           "ticket.merged_in_psa");
}

/// The status part: closed or reopened by someone else.
void status(decision& d, const psa::ticket_info& t, const config::lifecycle_config& policy) {
  const issue_record& issue = d.issue;
  const bool believed_closed = issue.seen.known ? issue.seen.closed : issue.ticket == ticket_state::closed;
  if (t.closed == believed_closed) return;
  if (t.closed) {
    // Where ticketsync drives it (its own close, queued or in flight): an echo.
    if (issue.phase == ticket_phase::closed) return;
    if (issue.state == issue_state::resolved) {
      // on_resolve left the ticket open for a person to close: done.
      d.set_ticket(t.id, ticket_state::closed);
      d.update(ticket_phase::closed, false);
      d.record(change::closed, {{"detail", "closed after the issue resolved"}}, notice::level::info,
               "ticket.closed_in_psa");
      return;
    }
    const auto p = policy.on_technician_close;
    d.set_ticket(t.id, ticket_state::closed);
    std::string what;
    switch (p) {
      case technician_close_policy::respect:
        d.update(ticket_phase::closed, true);
        what = "left closed; nothing more is sent until the issue resolves and comes back";
        break;
      case technician_close_policy::note:
        d.update(ticket_phase::closed, true);
        what = "left closed; the issue's changes are noted on it";
        break;
      case technician_close_policy::reopen:
        d.update(ticket_phase::open, false);
        d.add(op_kind::reopen);
        what = "reopened: the issue is still open";
        break;
      case technician_close_policy::new_ticket:
        d.update(ticket_phase::open, false, issue.generation + 1);
        d.add(op_kind::create, issue.generation + 1);
        what = "a new ticket follows: the issue is still open";
        break;
    }
    d.record(change::closed, {{"policy", to_text(p)}, {"detail", what}}, notice::level::warn,
             "ticket.closed_by_technician");
    return;
  }
  // Open again. Where ticketsync drives it open (its reopen): an echo.
  if (issue.phase == ticket_phase::open) return;
  d.set_ticket(t.id, ticket_state::open);
  d.update(ticket_phase::open, false);
  d.record(change::reopened,
           {{"detail", issue.state == issue_state::resolved ? "tracked: the issue is resolved; its next change decides"
                                                            : "tracked: a later resolve closes it again"}},
           notice::level::info, "ticket.reopened_in_psa");
}

}  // namespace

reverse_result observe(const issue_record& issue, bool busy, const observation& o,
                       const config::lifecycle_config& policy, sys_ms now) {
  decision d{issue, o, now, {}};
  if (!issue.ticket_id || *issue.ticket_id != o.ticket) {
    d.out.changes.push_back(change::other_ticket);
    return std::move(d.out);
  }
  if (o.echo_of) {
    d.out.changes.push_back(change::none);
    // Even while an operation runs: freshness needs a hearing after its
    // last write answer (view_is_fresh), which a later echo gives.
    if (issue.seen.known && *o.echo_of == issue.seen.written_by) {
      ticket_view v = issue.seen;
      v.observed_at = now;
      d.out.writes.push_back(wr::set_seen{issue.id, v});
    }
    return std::move(d.out);
  }
  if (!o.state) {
    gone(d, policy);
    return std::move(d.out);
  }
  const psa::ticket_info& t = *o.state;
  const ticket_view& seen = issue.seen;
  if (seen.last_updated && t.last_updated && *t.last_updated < *seen.last_updated) {
    d.out.changes.push_back(change::stale);
    return std::move(d.out);
  }
  if (busy && !seen.written_by.empty() && t.updated_by == seen.written_by) {
    // ticketsync's own write, whose answer the running operation records.
    d.out.changes.push_back(change::in_progress);
    return std::move(d.out);
  }
  if (t.merged_into && *t.merged_into != o.ticket) {
    merged(d, *t.merged_into);
    return std::move(d.out);
  }

  ticket_view next = carry(view_of(t), seen);
  next.observed_at = now;
  status(d, t, policy);
  // A field ticketsync's own member changed last is its own write (one whose
  // answer was lost, say), never a person's choice; the status is judged by
  // where ticketsync drives it instead (status()).
  const bool by_self = !seen.written_by.empty() && t.updated_by == seen.written_by;
  if (by_self) {
    if (d.out.changes.empty()) d.out.changes.push_back(change::none);
    d.out.writes.push_back(wr::set_seen{issue.id, next});
    return std::move(d.out);
  }
  if (seen.known && seen.board_id != 0 && t.board_id != 0 && t.board_id != seen.board_id)
    d.record(change::moved_board,
             {{"from", seen.board_id}, {"to", t.board_id}, {"detail", "recorded; the board stays"}},
             notice::level::info, "ticket.moved_in_psa");
  if (seen.known && !seen.company.empty() && !t.company_identifier.empty() &&
      ascii_lower(t.company_identifier) != ascii_lower(seen.company))
    d.record(change::moved_company,
             {{"from", seen.company}, {"to", t.company_identifier}, {"detail", "recorded; the company stays"}},
             notice::level::info, "ticket.company_changed_in_psa");
  if (seen.known && seen.priority_id != 0 && t.priority_id != 0 && t.priority_id != seen.priority_id) {
    const bool person = policy.priority_owner == config::field_owner::person;
    if (person) {
      next.person_priority = true;
    } else if (!issue.applied.fields.priority.empty()) {
      // Not known to hold ticketsync's priority any more: the next update writes it.
      applied_ticket a = issue.applied;
      a.fields.priority.clear();
      d.out.writes.push_back(wr::set_applied{issue.id, a});
    }
    d.record(change::priority,
             {{"from", seen.priority_id},
              {"to", t.priority_id},
              {"owner", to_text(policy.priority_owner)},
              {"detail",
               person ? "the person's priority stays" : "ticketsync's priority is written again with its next change"}},
             notice::level::info, "ticket.priority_changed_in_psa");
  }
  if (d.out.changes.empty()) d.out.changes.push_back(change::none);
  d.out.writes.push_back(wr::set_seen{issue.id, next});
  return std::move(d.out);
}

ticket_view view_after_write(const ticket_view& before, const psa::ticket_info& t, sys_ms now) {
  ticket_view v = carry(view_of(t), before);
  v.written_by = t.updated_by.empty() ? before.written_by : t.updated_by;
  v.observed_at = before.observed_at;
  v.written_at = now;
  return v;
}

bool view_is_fresh(const ticket_view& seen, bool callbacks_live, sys_ms now, std::chrono::milliseconds sweep_bound) {
  if (!seen.known || !seen.observed_at) return false;
  if (seen.written_at && *seen.observed_at < *seen.written_at) return false;  // not heard from since its write
  return callbacks_live || now - *seen.observed_at <= sweep_bound;
}

reverse_result observe_write_answer(const issue_record& issue, const psa::ticket_info& t, bool wrote_status,
                                    bool wrote_priority, const config::lifecycle_config& policy, sys_ms now) {
  psa::ticket_info as_seen = t;
  if (wrote_priority) as_seen.priority_id = issue.seen.priority_id;
  if (wrote_status) {
    // ticketsync moved it: whatever status it has is ticketsync's.
    as_seen.closed = issue.seen.known ? issue.seen.closed : issue.ticket == ticket_state::closed;
    as_seen.status_id = issue.seen.status_id;
  }
  as_seen.last_updated.reset();  // ticketsync's own change: never stale
  as_seen.updated_by.clear();    // stamped by ticketsync, but what it did not write is someone else's
  reverse_result r = observe(issue, false, observation{t.id, as_seen, heard_from::write_answer}, policy, now);
  bool merged_or_gone = false;
  for (change c : r.changes) merged_or_gone = merged_or_gone || c == change::merged || c == change::deleted;
  if (merged_or_gone || r.writes.empty()) return r;
  // The last write is observe()'s new view; the baseline is the answer itself.
  if (auto* v = std::get_if<wr::set_seen>(&r.writes.back())) {
    ticket_view next = view_after_write(issue.seen, t, now);
    next.person_priority = v->seen.person_priority;
    v->seen = next;
  }
  if (r.changes.size() == 1 && r.changes.front() == change::none) r.changes.clear();
  return r;
}

desired_ticket with_ownership(desired_ticket d, const issue_record& issue) {
  if (issue.seen.person_priority && !issue.applied.fields.priority.empty()) d.priority = issue.applied.fields.priority;
  return d;
}

}  // namespace ts::sync
