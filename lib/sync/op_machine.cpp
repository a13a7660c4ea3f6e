#include "sync/op_machine.hpp"

#include "core/text.hpp"
#include "sync/ingest.hpp"
#include "sync/link.hpp"
#include "sync/reverse.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ts::sync {

namespace {

using json = nlohmann::json;
using psa::psa_failure;

std::string ticket_text(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "-"; }

std::optional<sent_cause> cause_of(psa_failure::kind k) {
  switch (k) {
    case psa_failure::kind::transport: return sent_cause::transport;
    case psa_failure::kind::server: return sent_cause::server;
    case psa_failure::kind::protocol: return sent_cause::protocol;
    default: return std::nullopt;
  }
}

/// An answer of the wrong shape (a bug in a client, or a hostile fake).
psa_failure unexpected_answer(const char* what) {
  return psa::protocol_error(0, std::string("unexpected answer to ") + what);
}

}  // namespace

op_machine::op_machine(operation_record op, issue_record issue, machine_env env)
    : op_(std::move(op)), issue_(std::move(issue)), env_(env), kind_(op_.kind) {}

void op_machine::note(notice::level l, std::string text) { out_.notices.push_back({l, std::move(text)}); }

void op_machine::count(std::string_view outcome) {
  ++env_.stats.operations[{std::string(to_text(op_.kind)), std::string(outcome)}];
}

next_step op_machine::ask(psa::request r, state s) {
  state_ = s;
  out_.request = std::move(r);
  return std::move(out_);
}

next_step op_machine::ask_list(const psa::req::list_names& l) {
  after_list_ = state_ == state::listing ? after_list_ : state_;
  listing_ = l;
  refreshed_.insert({l.list, psa::per_board(l.list) ? l.board : 0});
  return ask(l, state::listing);
}

//------------------------------------------------------------------------------

next_step op_machine::start(sys_ms now) {
  out_ = {};
  const std::string key = issue_.identity.display();
  if (op_.rerender) {
    rerender_result rr = rerender(op_, issue_, env_.rules, now);
    out_.writes.insert(out_.writes.end(), rr.writes.begin(), rr.writes.end());
    if (rr.error) {
      ++env_.stats.dead;
      count("dead");
      note(notice::level::error, "op.dead_lettered issue=" + key + " ticket=" + ticket_text(issue_.ticket_id) +
                                     " op=" + std::to_string(op_.id) + " kind=" + std::string(to_text(op_.kind)) +
                                     " reason=\"" + *rr.error + "\"");
      out_.writes.push_back(wr::dead_letter{op_.id, dead_letter_info{0, {}, {}, {}, *rr.error}});
      state_ = state::finished;
      return std::move(out_);
    }
    op_.rerender = false;
    issue_ = std::move(rr.issue);
    note(notice::level::info, "op.rerendered issue=" + key + " ticket=" + ticket_text(issue_.ticket_id) +
                                  " op=" + std::to_string(op_.id) + " kind=" + std::string(to_text(op_.kind)) +
                                  " rule=" + issue_.rule + " (retried by an operator)");
  }
  tcfg_ = &env_.rules.ticket_for(issue_.desired.rule);

  const bool skip = (kind_ != op_kind::create && !issue_.ticket_id) ||
                    (kind_ == op_kind::update && diff_fields(issue_.applied.fields, issue_.desired.fields()).empty());
  if (skip) {
    // No ticket to act on (its create was dead-lettered), or nothing left to
    // change (an earlier operation already sent these fields).
    const std::string why = issue_.ticket_id ? "nothing to change" : "no ticket";
    out_.writes.push_back(wr::complete{op_.id});
    json j = {{"kind", to_text(op_.kind)}, {"outcome", "skipped"}, {"detail", why}};
    if (issue_.ticket_id) j["ticket"] = *issue_.ticket_id;
    out_.writes.push_back(wr::history{issue_ref::existing(issue_.id), "operation", op_.id, json_text(j)});
    note(notice::level::debug, "op.skipped issue=" + key + " op=" + std::to_string(op_.id) +
                                   " kind=" + std::string(to_text(op_.kind)) + " reason=\"" + why + "\"");
    ++env_.stats.ops_completed;
    count("skipped");
    state_ = state::finished;
    return std::move(out_);
  }

  // Before news goes onto a ticket believed open, make sure no technician
  // closed it meanwhile (one GET). What then happens is the rule's policy; it
  // is derived from the stored mark, so a retry does the same.
  const bool news = kind_ == op_kind::update || (kind_ == op_kind::note && op_.payload.note != note_kind::digest);
  // Skipped when the view is fresh (sync/reverse.hpp view_is_fresh): the
  // answer to the write itself still shows a close that slipped in.
  if (news && !issue_.tech_closed && issue_.ticket == ticket_state::open && op_.step == 0 && !op_.sent &&
      !view_is_fresh(issue_.seen, env_.callbacks_live, now))
    return ask(psa::req::get_ticket{*issue_.ticket_id}, state::checking);
  return after_check(news && issue_.tech_closed, now);
}

next_step op_machine::resume(const psa::answer& answer, sys_ms now) {
  out_ = {};
  const std::string key = issue_.identity.display();
  switch (state_) {
    case state::checking: {
      if (!answer) return fail(answer.error(), false, now);
      const auto* t = psa::reply_as<psa::ticket_info>(answer);
      if (!t) return fail(unexpected_answer("GET ticket"), false, now);
      if (!t->closed) return after_check(false, now);
      ++env_.stats.technician_closed;
      out_.writes.push_back(wr::set_ticket{issue_.id, issue_.ticket_id, ticket_state::closed});
      out_.writes.push_back(
          wr::update_issue{issue_.id, ticket_phase::closed, false, true, std::nullopt, std::nullopt, std::nullopt});
      issue_.ticket = ticket_state::closed;
      issue_.phase = ticket_phase::closed;
      issue_.tech_closed = true;
      note(notice::level::warn, "ticket.closed_by_technician issue=" + key +
                                    " ticket=" + ticket_text(issue_.ticket_id) +
                                    " policy=" + std::string(to_text(tcfg_->lifecycle.on_technician_close)));
      return after_check(true, now);
    }
    case state::finding_ticket: {
      if (!answer) return fail(answer.error(), false, now);
      const auto* found = psa::reply_as<std::optional<psa::ticket_info>>(answer);
      if (!found) return fail(unexpected_answer("ticket search"), false, now);
      if (!*found) return prepare_create(now);
      found_ = **found;
      return adopt(now);
    }
    case state::adopting: break;  // asks only for lists
    case state::listing: {
      if (!answer) return fail(answer.error(), false, now);
      const auto* items = psa::reply_as<std::vector<psa::named_ref>>(answer);
      if (!items) return fail(unexpected_answer("a lookup"), false, now);
      const std::int64_t scope = psa::per_board(listing_.list) ? listing_.board : 0;
      env_.names.put(listing_.list, scope, *items, now);
      out_.writes.push_back(
          wr::put_directory{std::string(to_text(listing_.list)), scope, name_cache::encode(*items), now});
      state_ = after_list_;
      if (state_ == state::adopting) return adopt(now);
      return state_ == state::creating ? prepare_create(now) : begin_patch(now);
    }
    case state::creating: {
      if (!answer) return fail(answer.error(), true, now);
      const auto* t = psa::reply_as<psa::ticket_info>(answer);
      if (!t) return fail(unexpected_answer("POST ticket"), true, now);
      record_ticket(*t, issue_.desired.fields(), now);
      ++env_.stats.tickets_created;
      note(notice::level::info, "ticket.created issue=" + key + " ticket=" + std::to_string(t->id) +
                                    " company=" + issue_.desired.company_identifier +
                                    " board_id=" + std::to_string(created_ids_.first) +
                                    " priority_id=" + std::to_string(created_ids_.second) +
                                    " generation=" + std::to_string(op_.payload.generation));
      return step_done(now);
    }
    case state::finding_note: {
      if (!answer) return fail(answer.error(), false, now);
      const auto* notes = psa::reply_as<std::vector<psa::note_info>>(answer);
      if (!notes) return fail(unexpected_answer("notes list"), false, now);
      for (const auto& n : *notes) {
        if (n.text != note_text_) continue;
        ++env_.stats.notes_adopted;
        note(notice::level::info, "note.adopted issue=" + key + " ticket=" + ticket_text(issue_.ticket_id) + " note=" +
                                      std::to_string(n.id) + " (posted by an earlier attempt whose answer was lost)");
        return step_done(now);
      }
      return post_note(now);
    }
    case state::noting: {
      if (!answer) return fail(answer.error(), true, now);
      const auto* posted = psa::reply_as<psa::note_info>(answer);
      if (!posted) return fail(unexpected_answer("POST note"), true, now);
      if (kind_ == op_kind::update && (note_only_ || tcfg_->lifecycle.on_update == config::on_update_policy::note)) {
        // Under on_update: note the ticket's fields stay as they are; remember
        // that these changes were reported so the next note lists only newer ones.
        issue_.applied.fields = issue_.desired.fields();
        out_.writes.push_back(wr::set_applied{issue_.id, issue_.applied});
      }
      ++env_.stats.notes_posted;
      note(notice::level::info, "ticket.noted issue=" + key + " ticket=" + ticket_text(issue_.ticket_id) +
                                    " note=" + std::to_string(posted->id) + " kind=" + std::string(to_text(which_)));
      return step_done(now);
    }
    case state::patching: {
      if (!answer) return fail(answer.error(), false, now);
      const auto* t = psa::reply_as<psa::ticket_info>(answer);
      if (!t) return fail(unexpected_answer("PATCH ticket"), false, now);
      const bool with_status = steps_[step_] == step_kind::patch_status;
      const bool patch_fields = !with_status || tcfg_->lifecycle.on_update == config::on_update_policy::patch;
      ++env_.stats.patches;
      if (patch_fields) issue_.applied.fields = issue_.desired.fields();
      out_.writes.push_back(wr::set_applied{issue_.id, issue_.applied});
      // What the answer shows beyond this patch (a person's close or priority
      // just before it) is news, decided like a change heard from ConnectWise.
      reverse_result heard = observe_write_answer(issue_, *t, with_status, patched_priority_, tcfg_->lifecycle, now);
      for (change c : heard.changes) ++env_.stats.ticket_changes[std::string(to_text(c))];
      for (const write& w : heard.writes)
        if (const auto* v = std::get_if<wr::set_seen>(&w)) issue_.seen = v->seen;  // the next step's baseline
      out_.writes.insert(out_.writes.end(), heard.writes.begin(), heard.writes.end());
      out_.notices.insert(out_.notices.end(), heard.notices.begin(), heard.notices.end());
      if (with_status) {
        issue_.ticket = t->closed ? ticket_state::closed : ticket_state::open;
        out_.writes.push_back(wr::set_ticket{issue_.id, issue_.ticket_id, issue_.ticket});
        note(notice::level::info, std::string(kind_ == op_kind::close ? "ticket.closed" : "ticket.reopened") +
                                      " issue=" + key + " ticket=" + ticket_text(issue_.ticket_id));
      } else {
        note(notice::level::info, "ticket.updated issue=" + key + " ticket=" + ticket_text(issue_.ticket_id));
      }
      return step_done(now);
    }
    case state::idle:
    case state::finished: break;
  }
  return fail(unexpected_answer("no request"), false, now);
}

//------------------------------------------------------------------------------

next_step op_machine::after_check(bool closed_by_technician, sys_ms now) {
  if (closed_by_technician) {
    switch (on_technician_closed(tcfg_->lifecycle.on_technician_close)) {
      case technician_closed_action::stop:
      case technician_closed_action::new_ticket: {
        const bool next = tcfg_->lifecycle.on_technician_close == config::technician_close_policy::new_ticket;
        if (next) {
          const int gen = issue_.generation + 1;
          out_.writes.push_back(
              wr::update_issue{issue_.id, ticket_phase::open, false, false, gen, std::nullopt, std::nullopt});
          op_payload payload;
          payload.generation = gen;
          out_.writes.push_back(
              wr::add_operation{issue_ref::existing(issue_.id), op_kind::create, payload, std::nullopt, std::nullopt});
        }
        out_.writes.push_back(wr::complete{op_.id});
        json j = {{"kind", to_text(op_.kind)},
                  {"outcome", "skipped"},
                  {"detail", next ? "ticket closed by a technician: a new ticket follows"
                                  : "ticket closed by a technician: left alone"}};
        if (issue_.ticket_id) j["ticket"] = *issue_.ticket_id;
        out_.writes.push_back(wr::history{issue_ref::existing(issue_.id), "operation", op_.id, json_text(j)});
        ++env_.stats.ops_completed;
        count("skipped");
        state_ = state::finished;
        return std::move(out_);
      }
      case technician_closed_action::note_only: note_only_ = kind_ == op_kind::update; break;
      case technician_closed_action::reopen:
        // Runs as a reopen; the mark is cleared when it completes (until then
        // a retry derives the same conversion from it).
        kind_ = op_kind::reopen;
        break;
    }
  }
  const auto on_update = note_only_ ? config::on_update_policy::note : tcfg_->lifecycle.on_update;
  steps_ = steps_of(kind_, on_update, !blank(tcfg_->resolve_note_template));
  step_ = static_cast<std::size_t>(std::max(0, op_.step));
  return begin_step(now);
}

next_step op_machine::begin_step(sys_ms now) {
  if (step_ >= steps_.size()) return finish(now);
  switch (steps_[step_]) {
    case step_kind::post_ticket: return begin_post_ticket(now);
    case step_kind::post_note: return begin_post_note(now);
    case step_kind::patch_fields:
    case step_kind::patch_status: return begin_patch(now);
  }
  return finish(now);
}

next_step op_machine::step_done(sys_ms now) {
  if (step_ + 1 < steps_.size()) {
    ++step_;
    out_.writes.push_back(wr::advance_step{op_.id, static_cast<int>(step_)});
    op_.sent = false;
    return begin_step(now);
  }
  return finish(now);
}

next_step op_machine::finish(sys_ms now) {
  (void)now;
  out_.writes.push_back(wr::complete{op_.id});
  json j = {{"kind", to_text(op_.kind)},
            {"outcome", kind_ == op_.kind ? std::string("done") : "done as " + std::string(to_text(kind_))}};
  if (issue_.ticket_id) j["ticket"] = *issue_.ticket_id;
  out_.writes.push_back(wr::history{issue_ref::existing(issue_.id), "operation", op_.id, json_text(j)});
  if (kind_ == op_kind::reopen && op_.kind != op_kind::reopen)
    out_.writes.push_back(
        wr::update_issue{issue_.id, ticket_phase::open, false, false, std::nullopt, std::nullopt, std::nullopt});
  if (kind_ == op_kind::create && issue_.ticket_id && issue_.applied.fields != issue_.desired.fields()) {
    // An adopted ticket holds the fields of the attempt that created it:
    // whatever still differs gets an update.
    out_.writes.push_back(
        wr::add_operation{issue_ref::existing(issue_.id), op_kind::update, op_payload{}, std::nullopt, std::nullopt});
  }
  ++env_.stats.ops_completed;
  count("done");
  state_ = state::finished;
  return std::move(out_);
}

next_step op_machine::dead(const dead_letter_info& info, sys_ms now) {
  (void)now;
  const std::string key = issue_.identity.display();
  // The ticket is where it is: plan from what is known to be true again.
  out_.writes.push_back(wr::dead_letter{op_.id, info});
  out_.writes.push_back(
      wr::update_issue{issue_.id, std::nullopt, true, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  ++env_.stats.dead;
  count("dead");
  note(notice::level::error, "op.dead_lettered issue=" + key + " ticket=" + ticket_text(issue_.ticket_id) +
                                 " op=" + std::to_string(op_.id) + " kind=" + std::string(to_text(op_.kind)) +
                                 " http_status=" + std::to_string(info.http_status) + " cw_code=" + info.cw_code +
                                 " field=" + info.cw_field + " error=\"" + info.error + "\"");
  state_ = state::finished;
  return std::move(out_);
}

next_step op_machine::fail(const psa_failure& f, bool unsafe_request, sys_ms now) {
  using kind = psa_failure::kind;
  if (f.what == kind::rejected)
    return dead(dead_letter_info{f.http_status, f.cw.code, f.cw.message, f.cw.field(), f.to_string()}, now);
  const std::string key = issue_.identity.display();
  const std::string ticket = ticket_text(issue_.ticket_id);
  const int attempts = op_.attempts + 1;
  wr::retry r;
  r.op = op_.id;
  r.error = f.to_string();
  r.clear_sent = unsafe_request && !f.maybe_applied;
  if (unsafe_request && f.maybe_applied) r.cause = cause_of(f.what);
  switch (f.what) {
    case kind::auth:
      // Sending pauses until the credentials are fixed: not a failure of this operation.
      r.counts = false;
      r.next = now + psa_link::auth_probe_interval;
      note(notice::level::error,
           "psa.blocked issue=" + key + " ticket=" + ticket + " op=" + std::to_string(op_.id) +
               " kind=" + std::string(to_text(op_.kind)) + " http_status=" + std::to_string(f.http_status) +
               " ConnectWise answered " + f.to_string() +
               ": the API member's keys are wrong or its security role lacks a permission (Service Desk > Service "
               "Tickets: Add/Edit/Inquire; Service Desk > Close Service Tickets; Companies > Company Maintenance: "
               "Inquire; System > Table Setup: Inquire); sending paused");
      break;
    case kind::throttled:
      // Told to wait, not failed: a 429 must not lengthen the backoff of a later 5xx.
      r.counts = false;
      r.next = now + f.retry_after;
      note(notice::level::warn, "psa.throttled issue=" + key + " ticket=" + ticket + " op=" + std::to_string(op_.id) +
                                    " retry_after_ms=" + std::to_string(f.retry_after.count()));
      break;
    default:
      r.next = now + backoff_delay(env_.backoff, attempts, env_.random.unit());
      note(notice::level::warn, "op.retry issue=" + key + " ticket=" + ticket + " op=" + std::to_string(op_.id) +
                                    " kind=" + std::string(to_text(op_.kind)) + " attempt=" + std::to_string(attempts) +
                                    " error=\"" + f.to_string() + "\"");
      break;
  }
  out_.writes.push_back(std::move(r));
  ++env_.stats.retries;
  count("retry");
  state_ = state::finished;
  return std::move(out_);
}

void op_machine::record_ticket(const psa::ticket_info& t, const ticket_fields& fields, sys_ms now) {
  issue_.ticket_id = t.id;
  issue_.ticket = t.closed ? ticket_state::closed : ticket_state::open;
  issue_.applied = applied_ticket{fields, op_.payload.generation};
  out_.writes.push_back(wr::set_ticket{issue_.id, t.id, issue_.ticket});
  out_.writes.push_back(wr::set_applied{issue_.id, issue_.applied});
  // A new ticket: nothing a person decided about an earlier one carries over.
  ticket_view fresh;
  fresh.written_by = issue_.seen.written_by;
  issue_.seen = view_after_write(fresh, t, now);
  out_.writes.push_back(wr::set_seen{issue_.id, issue_.seen});
}

}  // namespace ts::sync
