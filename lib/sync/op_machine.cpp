#include "sync/op_machine.hpp"

#include "intake/event_parser.hpp"
#include "rules/mapping.hpp"
#include "sync/ingest.hpp"
#include "sync/link.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ts::sync {

namespace {

using json = nlohmann::json;
using psa::name_list;
using psa::psa_failure;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// Text as ConnectWise will store it: invalid UTF-8 replaced, so a note found
/// again by its text compares equal.
std::string valid_utf8(const std::string& s) { return json::parse(dump(json(s))).get<std::string>(); }

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string ticket_text(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "-"; }

/// The singular of a list's name, for messages: "board", "custom field".
std::string what_of(name_list l) {
  switch (l) {
    case name_list::boards: return "board";
    case name_list::statuses: return "status";
    case name_list::priorities: return "priority";
    case name_list::types: return "type";
    case name_list::subtypes: return "subtype";
    case name_list::items: return "item";
    case name_list::teams: return "team";
    case name_list::sources: return "source";
    case name_list::custom_fields: return "custom field";
  }
  return "name";
}

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
    out_.writes.push_back(wr::history{issue_ref::existing(issue_.id), "operation", op_.id, dump(j)});
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
  if (news && !issue_.tech_closed && issue_.ticket == ticket_state::open && op_.step == 0 && !op_.sent)
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
      note(notice::level::warn, "ticket.closed_by_technician issue=" + key + " ticket=" +
                                    ticket_text(issue_.ticket_id) + " policy=" +
                                    std::string(to_text(tcfg_->lifecycle.on_technician_close)));
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
      out_.writes.push_back(wr::put_directory{std::string(to_text(listing_.list)), scope, name_cache::encode(*items),
                                              now});
      state_ = after_list_;
      if (state_ == state::adopting) return adopt(now);
      return state_ == state::creating ? prepare_create(now) : begin_patch(now);
    }
    case state::creating: {
      if (!answer) return fail(answer.error(), true, now);
      const auto* t = psa::reply_as<psa::ticket_info>(answer);
      if (!t) return fail(unexpected_answer("POST ticket"), true, now);
      record_ticket(*t, issue_.desired.fields());
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
        note(notice::level::info, "note.adopted issue=" + key + " ticket=" + ticket_text(issue_.ticket_id) +
                                      " note=" + std::to_string(n.id) +
                                      " (posted by an earlier attempt whose answer was lost)");
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
                                    " note=" + std::to_string(posted->id) +
                                    " kind=" + std::string(to_text(which_)));
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
        out_.writes.push_back(wr::history{issue_ref::existing(issue_.id), "operation", op_.id, dump(j)});
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
  out_.writes.push_back(wr::history{issue_ref::existing(issue_.id), "operation", op_.id, dump(j)});
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

next_step op_machine::dead(dead_letter_info info, sys_ms now) {
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

void op_machine::record_ticket(const psa::ticket_info& t, const ticket_fields& fields) {
  issue_.ticket_id = t.id;
  issue_.ticket = t.closed ? ticket_state::closed : ticket_state::open;
  issue_.applied = applied_ticket{fields, op_.payload.generation};
  out_.writes.push_back(wr::set_ticket{issue_.id, t.id, issue_.ticket});
  out_.writes.push_back(wr::set_applied{issue_.id, issue_.applied});
}

//------------------------------------------------------------------------------

op_machine::lookup op_machine::resolve(name_list list, std::int64_t board, std::string_view name, sys_ms now) {
  const std::int64_t scope = psa::per_board(list) ? board : 0;
  const bool fetched = refreshed_.contains({list, scope});
  const auto* items = env_.names.find(list, scope);
  lookup l;
  if ((!items || !env_.names.fresh(list, scope, now)) && !fetched) {
    l.fetch = psa::req::list_names{list, scope};
    return l;
  }
  if (items)
    if (auto r = psa::resolve_name(*items, name)) {
      l.ref = *r;
      return l;
    }
  // Someone may just have created the name: look once more, if the list is not brand new.
  if (!fetched && env_.names.may_refresh(list, scope, now)) {
    l.fetch = psa::req::list_names{list, scope};
    return l;
  }
  l.missing = not_found_message(what_of(list), name, items ? *items : std::vector<psa::named_ref>{});
  return l;
}

next_step op_machine::begin_post_ticket(sys_ms now) {
  const int gen = op_.payload.generation;
  if (issue_.ticket_id && issue_.applied.generation == gen) return step_done(now);  // already there
  if (op_.sent) {
    // A previous attempt may have created the ticket without us learning its
    // id (timeout, reset, crash after sending): look it up before sending again.
    ++env_.stats.recovery_lookups[std::string(to_text(op_.cause))];
    return ask(psa::req::find_ticket{xref_for(issue_.correlation_key, gen)}, state::finding_ticket);
  }
  return prepare_create(now);
}

next_step op_machine::adopt(sys_ms now) {
  state_ = state::adopting;
  const psa::ticket_info& t = *found_;
  // Record what the ticket holds (it was created from an earlier `desired`);
  // the update after the create patches any difference. Its priority is an
  // id: compared by name only once the name is known, never against a list
  // that was not loaded (that would look like a change, and be patched).
  const bool fetched = refreshed_.contains({name_list::priorities, 0});
  auto name = env_.names.name_of(name_list::priorities, 0, t.priority_id);
  if (!fetched && (!name || !env_.names.fresh(name_list::priorities, 0, now)))
    return ask_list(psa::req::list_names{name_list::priorities, 0});
  // Still unknown: a priority ConnectWise no longer lists; the update puts the wanted one.
  record_ticket(t, ticket_fields{t.summary, name.value_or(""), t.severity, t.impact});
  adopted_ = true;
  ++env_.stats.tickets_adopted;
  note(notice::level::info, "ticket.adopted issue=" + issue_.identity.display() + " ticket=" + std::to_string(t.id) +
                                " (created by an earlier attempt whose answer was lost)");
  return step_done(now);
}

next_step op_machine::prepare_create(sys_ms now) {
  state_ = state::creating;
  unresolved_.clear();
  const desired_ticket& d = issue_.desired;
  psa::ticket_create body;
  std::optional<psa_failure> failure;
  std::optional<psa::req::list_names> fetch;
  // `suffix` completes the message ("on board 'X'"), `where` the failure (the rule's key).
  const auto need = [&](name_list list, std::int64_t board, const std::string& name, const std::string& suffix,
                        const std::string& where) -> std::optional<psa::named_ref> {
    if (fetch) return std::nullopt;
    lookup l = resolve(list, board, name, now);
    if (l.fetch) fetch = l.fetch;
    if (l.missing) {
      unresolved_.push_back(*l.missing + suffix);
      if (!failure) failure = psa::rejected_error(*l.missing + suffix + where);
    }
    return l.ref;
  };

  auto board = need(name_list::boards, 0, d.board, "", "");
  std::optional<psa::named_ref> status;
  if (board) status = need(name_list::statuses, board->id, d.status, " on board '" + d.board + "'", "");
  auto priority = need(name_list::priorities, 0, d.priority, "", "");
  // Optional names on the board (type, subtype, item, team) or global (the
  // ticket source), each resolved only when the rule sets it.
  const std::string rule_where = " (rule '" + d.rule + "', ticket.";
  const std::tuple<const char*, name_list, const std::string*, std::optional<std::int64_t>*> optional_names[] = {
      {"type", name_list::types, &d.type, &body.type_id},       {"subtype", name_list::subtypes, &d.subtype, &body.subtype_id},
      {"item", name_list::items, &d.item, &body.item_id},       {"team", name_list::teams, &d.team, &body.team_id},
      {"source", name_list::sources, &d.source, &body.source_id}};
  for (const auto& [what, list, name, out] : optional_names) {
    if (name->empty()) continue;
    if (psa::per_board(list) && !board) continue;
    if (auto ref = need(list, board ? board->id : 0, *name, "", rule_where + what + ")")) *out = ref->id;
  }
  if (!d.custom_fields.empty() && !fetch) {
    const auto* defs = env_.names.find(name_list::custom_fields, 0);
    if ((!defs || !env_.names.fresh(name_list::custom_fields, 0, now)) &&
        !refreshed_.contains({name_list::custom_fields, 0})) {
      fetch = psa::req::list_names{name_list::custom_fields, 0};
    } else if (defs && defs->empty()) {
      // ConnectWise shows custom field definitions only on existing tickets;
      // on a site without any, the ticket goes out without them.
      note(notice::level::warn, "ticket.custom_fields_skipped issue=" + issue_.identity.display() +
                                    " reason=\"no ticket exists yet to read custom field definitions from\"");
    } else {
      for (const auto& [caption, value] : d.custom_fields)
        if (auto def = need(name_list::custom_fields, 0, caption, "", rule_where + "custom_fields)"))
          body.custom_fields.push_back({def->id, def->name, value});
    }
  }
  if (fetch) return ask_list(*fetch);
  if (failure) return fail(*failure, false, now);

  psa::ticket_create& b = body;
  fill_ticket_body(b, d, xref_for(issue_.correlation_key, op_.payload.generation));
  b.board_id = board->id;
  b.status_id = status->id;
  b.priority_id = priority->id;
  out_.mark = wr::mark_sent{op_.id, op_.payload};
  op_.sent = true;
  created_ids_ = {b.board_id, b.priority_id};
  return ask(psa::req::create_ticket{std::move(b)}, state::creating);
}

next_step op_machine::begin_post_note(sys_ms now) {
  note_kind which = note_kind::update;
  if (kind_ == op_kind::close) which = note_kind::resolve;
  if (kind_ == op_kind::reopen) which = note_kind::reopen;
  if (kind_ == op_kind::note) which = op_.payload.note;
  which_ = which;
  if (op_.sent && op_.payload.note_text) {
    // The earlier attempt may have posted it: look for exactly this text first.
    note_text_ = *op_.payload.note_text;
    ++env_.stats.recovery_lookups[std::string(to_text(op_.cause))];
    return ask(psa::req::list_notes{*issue_.ticket_id}, state::finding_note);
  }
  if (!op_.payload.text.empty()) {
    note_text_ = op_.payload.text;  // rendered when planned (storm digest notes)
  } else {
    auto ev = intake::parse_event(issue_.event_json);
    json context = ev ? ev->to_json() : json::object();
    context["changes"] = describe_changes(diff_fields(issue_.applied.fields, issue_.desired.fields()));
    const std::string& tmpl = which == note_kind::resolve  ? tcfg_->resolve_note_template
                              : which == note_kind::reopen ? tcfg_->reopen_note_template
                                                           : tcfg_->update_note_template;
    auto rendered = rules::render_template(std::string(to_text(which)) + " note", tmpl, context);
    if (!rendered) return fail(psa::rejected_error(rendered.error().what), false, now);
    note_text_ = valid_utf8(*rendered);
    if (blank(note_text_)) return step_done(now);  // an empty note template posts nothing
  }
  return post_note(now);
}

next_step op_machine::post_note(sys_ms now) {
  (void)now;
  op_.payload.note_text = note_text_;
  out_.mark = wr::mark_sent{op_.id, op_.payload};
  op_.sent = true;
  return ask(psa::req::post_note{*issue_.ticket_id, note_text_,
                                 which_ == note_kind::resolve ? psa::note_area::resolution
                                                              : psa::note_area::internal_analysis},
             state::noting);
}

next_step op_machine::begin_patch(sys_ms now) {
  state_ = state::patching;
  const bool with_status = steps_[step_] == step_kind::patch_status;
  const desired_ticket& d = issue_.desired;
  std::vector<psa::patch_op> ops;
  // Field changes ride along with a status change only when updates patch.
  const bool patch_fields = !with_status || tcfg_->lifecycle.on_update == config::on_update_policy::patch;
  if (patch_fields) {
    for (const auto& ch : diff_fields(issue_.applied.fields, d.fields())) {
      if (ch.field != "priority") {
        ops.push_back(psa::replace_string(ch.field, ch.to));
        continue;
      }
      lookup l = resolve(name_list::priorities, 0, ch.to, now);
      if (l.fetch) return ask_list(*l.fetch);
      if (l.missing) return fail(psa::rejected_error(*l.missing), false, now);
      ops.push_back(psa::replace_reference("priority", l.ref->id));
    }
  }
  const bool closing = with_status && kind_ == op_kind::close;
  if (with_status) {
    lookup board = resolve(name_list::boards, 0, d.board, now);
    if (board.fetch) return ask_list(*board.fetch);
    if (board.missing) return fail(psa::rejected_error(*board.missing), false, now);
    const std::string& name = closing ? d.closed_status : d.reopen_status;
    lookup status = resolve(name_list::statuses, board.ref->id, name, now);
    if (status.fetch) return ask_list(*status.fetch);
    if (status.missing) return fail(psa::rejected_error(*status.missing + " on board '" + d.board + "'"), false, now);
    if (closing && !status.ref->closed_status) {
      std::string closed;
      for (const auto& s : *env_.names.find(name_list::statuses, board.ref->id))
        if (s.closed_status && !s.inactive) closed += (closed.empty() ? "'" : ", '") + s.name + "'";
      return fail(psa::rejected_error("status '" + name + "' on board '" + d.board +
                                      "' is not a closed status (closedStatus is false); closed statuses: " +
                                      (closed.empty() ? "none" : closed)),
                  false, now);
    }
    ops.push_back(psa::replace_reference("status", status.ref->id));
  }
  if (ops.empty()) return step_done(now);
  return ask(psa::req::patch_ticket{*issue_.ticket_id, std::move(ops)}, state::patching);
}

}  // namespace ts::sync
