// The steps of an operation (sync/op_machine.hpp): the create and the names
// it needs (and adopting the ticket an earlier attempt made), notes (and
// finding one an earlier attempt posted), patches. Pure.
#include "sync/op_machine.hpp"

#include "core/text.hpp"
#include "rules/mapping.hpp"
#include "sources/event_parser.hpp"

#include <nlohmann/json.hpp>

namespace ts::sync {

namespace {

using json = nlohmann::json;
using psa::name_list;
using psa::psa_failure;

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

}  // namespace

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
  record_ticket(t, ticket_fields{t.summary, name.value_or(""), t.severity, t.impact}, now);
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
      {"type", name_list::types, &d.type, &body.type_id},
      {"subtype", name_list::subtypes, &d.subtype, &body.subtype_id},
      {"item", name_list::items, &d.item, &body.item_id},
      {"team", name_list::teams, &d.team, &body.team_id},
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
  patched_priority_ = false;
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
      patched_priority_ = true;
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
