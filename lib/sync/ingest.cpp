#include "sync/ingest.hpp"

#include "core/text.hpp"
#include "rules/mapping.hpp"
#include "sources/event_parser.hpp"
#include "sync/reverse.hpp"

#include <nlohmann/json.hpp>

namespace ts::sync {

namespace {

using json = nlohmann::json;

std::string ticket_text(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "-"; }

/// Why a decision has no ticket to render (a template error).
std::string mapping_error(const rules::decision& d) {
  return "mapping: " + (d.error ? d.error->what : std::string("no ticket"));
}

/// The history detail of a decision: what the rules chose for `ev`, and why
/// (the caller adds the plan).
json decision_detail(const event& ev, const rules::decision& d) {
  json why = {{"event_updated_at", ev.updated_at_text},
              {"event_state", to_text(ev.state)},
              {"severity", to_text(ev.severity)},
              {"rule", d.rule},
              {"rule_why", d.checks.empty() ? json::array() : json(d.checks.back().why)},
              {"company", d.company.identifier},
              {"company_why", d.company.why}};
  if (d.desired) {
    why["board"] = d.desired->board;
    why["priority"] = d.desired->priority;
  }
  return why;
}

wr::history decision_row(issue_ref issue, const json& why) { return {issue, "decision", std::nullopt, json_text(why)}; }

struct builder {
  ingest_result& res;
  const rules::ruleset& rules;
  sys_ms now;
  engine_stats& stats;

  void note(notice::level l, std::string text) { res.notices.push_back({l, std::move(text)}); }

  /// The tenant's storm digest issue of this hour: the one stored, or a new
  /// one (with its create) queued in this batch.
  issue_ref digest_for(const event& ev, const desired_ticket& member, const ingest_snapshot& snap) {
    if (snap.digest_issue) return issue_ref::existing(snap.digest_issue->id);
    const issue_identity did = digest_identity(ev.tenant, now);
    const config::storm_config& storm = rules.cfg().storm;
    json context = ev.to_json();
    context["cap"] = storm.max_new_tickets_per_hour;
    auto summary = rules::render_template("storm.digest_summary", storm.digest_summary, context);
    issue_record d;
    d.identity = did;
    d.correlation_key = correlation_key(did);
    d.state = issue_state::open;
    d.severity = ev.severity;
    d.last_event_at = now;
    d.event_json = json_text({{"source", did.source}, {"tenant", did.tenant}, {"issue_id", did.issue_id}});
    d.phase = ticket_phase::open;
    d.rule = member.rule;
    d.desired = member;
    d.desired.summary = rules::truncate_utf16(summary ? *summary : "[storm] " + ev.tenant, 100);
    d.desired.description = "Storm protection: tenant '" + ev.tenant + "' reached " +
                            std::to_string(storm.max_new_tickets_per_hour) +
                            " new tickets within an hour. Each further new issue this hour is a note on this ticket "
                            "instead of a ticket of its own.";
    d.desired.custom_fields.clear();
    d.desired.external_xref = d.correlation_key;
    res.writes.push_back(wr::save_issue{std::move(d), issue_ref::which::digest, std::nullopt});
    res.writes.push_back(
        wr::add_operation{issue_ref::new_digest(), op_kind::create, op_payload{}, std::nullopt, std::nullopt});
    res.writes.push_back(decision_row(issue_ref::new_digest(), {{"plan", "storm digest ticket for tenant " + ev.tenant},
                                                                {"ops", json::array({"create"})}}));
    note(notice::level::warn, "storm.started tenant=" + ev.tenant + " digest_issue=" + did.display() +
                                  " cap=" + std::to_string(storm.max_new_tickets_per_hour) +
                                  " (new issues this hour become notes on one ticket)");
    return issue_ref::new_digest();
  }

  /// A member of a storm digest: its events are notes on the digest ticket.
  /// The first event (planned just now) and every change of state are noted;
  /// other updates only refresh what is stored.
  void digest_member(const issue_record& rec, const event& ev, bool first, issue_ref digest) {
    if (!first && ev.updated_at <= rec.last_event_at) return;  // stale
    const bool state_changed = !first && ev.state != rec.state;
    if (!first) {
      issue_record r = rec;
      r.state = ev.state;
      r.severity = ev.severity;
      r.last_event_at = ev.updated_at;
      r.event_json = json_text(ev.to_json());
      res.writes.push_back(wr::save_issue{std::move(r), issue_ref::which::self, std::nullopt});
    }
    if (!first && !state_changed) return;
    json context = ev.to_json();
    context["cap"] = rules.cfg().storm.max_new_tickets_per_hour;
    auto text = rules::render_template("storm.digest_note", rules.cfg().storm.digest_note, context);
    op_payload payload;
    payload.note = note_kind::digest;
    payload.text = text ? valid_utf8(*text) : ev.title;
    res.writes.push_back(wr::add_operation{digest, op_kind::note, std::move(payload), issue_ref::self(), std::nullopt});
    res.ops.emplace_back("digest_note");
    if (!first)
      res.writes.push_back(
          decision_row(issue_ref::self(), {{"event_updated_at", ev.updated_at_text},
                                           {"event_state", to_text(ev.state)},
                                           {"plan", "storm digest member: state change noted on the digest ticket"},
                                           {"ops", json::array({"digest_note"})}}));
  }
};

}  // namespace

ingest_reads reads_for(const event& ev, const std::optional<issue_record>& issue, const config::config& cfg,
                       sys_ms now) {
  ingest_reads r;
  // Only a create can be capped, and an issue whose ticket is open (or that
  // is a digest member) plans none.
  if (cfg.storm.max_new_tickets_per_hour <= 0) return r;
  if (issue && (issue->digest || issue->phase == ticket_phase::open)) return r;
  r.storm = true;
  r.digest = digest_identity(ev.tenant, now);
  return r;
}

ingest_result ingest(const ingest_input& in, const ingest_snapshot& snap, const rules::ruleset& rules, sys_ms now,
                     engine_stats& stats) {
  ingest_result res;
  builder b{res, rules, now, stats};
  const event& ev = in.ev;
  const issue_identity id{ev.source, ev.tenant, ev.issue_id};
  const std::string key = id.display();
  res.decision = rules.decide(ev);
  const rules::decision& d = res.decision;

  if (d.held()) {
    // Kept, visibly, until a reload maps the tenant (the engine's reload releases them).
    res.held = true;
    res.reason = "held: " + d.company.why;
    res.writes.push_back(wr::hold_event{in.inbox_id, in.received_at, std::string(in.origin), std::string(in.body),
                                        ev.source, ev.tenant, d.company.why});
    ++stats.held;
    b.note(notice::level::warn, "issue.held issue=" + key + " updated_at=" + ev.updated_at_text + " reason=\"" +
                                    d.company.why + "\"; released when a reload maps the tenant");
    return res;
  }
  const std::optional<issue_record>& rec = snap.issue;
  if (rec && rec->digest) {
    res.reason = "a storm digest member: its changes of state become notes on the digest ticket";
    b.digest_member(*rec, ev, false, issue_ref::existing(*rec->digest));
    return res;
  }

  const config::ticket_config& tcfg = *d.ticket;
  // A field a person owns (lifecycle.priority_owner) keeps what the ticket holds.
  const std::optional<desired_ticket> owned =
      d.desired && rec ? std::optional(with_ownership(*d.desired, *rec)) : d.desired;
  const ticket_fields fields = owned ? owned->fields() : ticket_fields{};
  std::optional<issue_snapshot> current;
  if (rec)
    current = issue_snapshot{rec->state,       rec->last_event_at, rec->phase, rec->resolved_at, rec->desired.fields(),
                             rec->tech_closed, rec->seen.forgotten};
  const plan p = plan_event(current, ev, fields, tcfg.lifecycle);
  res.planned = p;
  res.reason = std::string(p.reason);
  b.note(notice::level::debug, "event.planned issue=" + key + " updated_at=" + ev.updated_at_text + " rule=" + d.rule +
                                   " apply=" + (p.apply ? "true" : "false") + " ops=" + std::to_string(p.ops.size()) +
                                   " reason=\"" + std::string(p.reason) + "\"");
  if (!p.apply) return res;

  issue_record r = rec ? *rec : issue_record{};
  if (!rec) {
    r.identity = id;
    r.correlation_key = correlation_key(id);
  }
  r.state = ev.state;
  r.severity = ev.severity;
  r.last_event_at = ev.updated_at;
  r.event_json = std::string(in.body);
  r.rule = d.rule;
  if (p.clear_technician_closed) r.tech_closed = false;
  if (p.clear_forgotten && rec) {
    ticket_view seen = rec->seen;
    seen.forgotten = false;
    res.writes.push_back(wr::set_seen{rec->id, seen});
  }

  // Why, recorded: the decision of this event, whatever follows.
  json why = decision_detail(ev, d);
  why["plan"] = p.reason;
  json ops_json = json::array();
  for (const planned_op& op : p.ops) ops_json.push_back(to_text(op.kind));
  why["ops"] = ops_json;

  if (!d.desired) {
    // The ticket cannot be rendered (a template error): record the event, and
    // dead-letter what it asked for, visibly.
    const std::string error = mapping_error(d);
    why["error"] = error;
    res.writes.push_back(wr::save_issue{r, issue_ref::which::self, std::nullopt});
    res.writes.push_back(decision_row(issue_ref::self(), why));
    if (!p.ops.empty()) {
      const op_kind kind = p.ops.front().kind;
      res.writes.push_back(wr::add_operation{issue_ref::self(), kind, op_payload{}, std::nullopt,
                                             dead_letter_info{0, {}, {}, {}, error}});
      res.ops.emplace_back(to_text(kind));
      ++stats.dead;
      ++stats.operations[{std::string(to_text(kind)), "dead"}];
      b.note(notice::level::error, "op.dead_lettered issue=" + key + " ticket=" + ticket_text(r.ticket_id) + " kind=" +
                                       std::string(to_text(kind)) + " rule=" + d.rule + " reason=\"" + error + "\"");
    }
    return res;
  }
  const desired_ticket& want = *owned;

  // Storm protection: past the tenant's cap, a new ticket becomes a note on
  // the tenant's digest ticket of this hour.
  const bool creates = !p.ops.empty() && p.ops.front().kind == op_kind::create;
  const int cap = rules.cfg().storm.max_new_tickets_per_hour;
  if (creates && cap > 0 && storm_capped(cap, snap.tenant_creates_last_hour)) {
    const issue_ref digest = b.digest_for(ev, want, snap);
    const issue_identity did = digest_identity(ev.tenant, now);
    r.phase = ticket_phase::none;
    r.resolved_at = p.resolved_at;
    r.desired = want;
    res.writes.push_back(wr::save_issue{r, issue_ref::which::self, digest});
    why["ops"] = json::array({"digest_note"});
    why["digest"] = did.display();
    why["plan"] = "storm: the tenant queued " + std::to_string(cap) + " or more new tickets in the last hour";
    res.writes.push_back(decision_row(issue_ref::self(), why));
    b.digest_member(r, ev, true, digest);
    ++stats.digested;
    res.digested = true;
    res.reason = "storm: tenant over its cap of new tickets per hour; a note on the digest ticket instead";
    b.note(notice::level::warn, "storm.digested issue=" + key + " tenant=" + ev.tenant + " digest=" + did.display() +
                                    " cap=" + std::to_string(cap));
    return res;
  }

  if (p.new_generation) ++r.generation;
  r.phase = p.phase_after;
  r.resolved_at = p.resolved_at;
  r.desired = want;
  res.writes.push_back(wr::save_issue{r, issue_ref::which::self, std::nullopt});
  res.writes.push_back(decision_row(issue_ref::self(), why));

  // Coalesce: a queued create/update/reopen that has not started computes its
  // fields from `desired` when it runs, so it covers a later update too.
  std::optional<op_kind> newest;
  std::string newest_id = "-";
  if (snap.newest_op && !snap.newest_op_in_flight) {
    newest = snap.newest_op->kind;
    newest_id = std::to_string(snap.newest_op->id);
  }
  for (const planned_op& op : p.ops) {
    if (op.kind == op_kind::update && newest &&
        (*newest == op_kind::create || *newest == op_kind::update || *newest == op_kind::reopen)) {
      b.note(notice::level::debug,
             "op.coalesced issue=" + key + " into op=" + newest_id + " kind=" + std::string(to_text(*newest)));
      continue;
    }
    op_payload payload;
    if (op.kind == op_kind::note) payload.note = op.note;
    if (op.kind == op_kind::create) payload.generation = r.generation;
    res.writes.push_back(wr::add_operation{issue_ref::self(), op.kind, payload, std::nullopt, std::nullopt});
    res.ops.emplace_back(to_text(op.kind));
    newest = op.kind;
    newest_id = "-";
  }
  return res;
}

rerender_result rerender(const operation_record& op, const issue_record& issue, const rules::ruleset& rules,
                         sys_ms now) {
  (void)now;
  rerender_result res;
  res.issue = issue;
  res.writes.push_back(wr::clear_rerender{op.id});
  // Plan later events as if the operation will succeed, as when it was
  // planned (its dead letter set the phase back to what is known).
  if (op.kind == op_kind::create || op.kind == op_kind::reopen)
    res.issue.phase = ticket_phase::open;
  else if (op.kind == op_kind::close)
    res.issue.phase = ticket_phase::closed;
  // A storm digest ticket is not rendered by the rules.
  if (issue.identity.source != digest_source) {
    auto ev = intake::parse_event(issue.event_json);
    if (!ev) {
      res.error = "the issue's stored event no longer validates: " + ev.error().to_string();
      return res;
    }
    const rules::decision d = rules.decide(*ev);
    if (d.held()) {
      res.error = "mapping: the tenant is held (" + d.company.why + ")";
      return res;
    }
    if (!d.desired) {
      res.error = mapping_error(d);
      return res;
    }
    res.issue.desired = with_ownership(*d.desired, issue);
    res.issue.rule = d.rule;
    json why = decision_detail(*ev, d);
    why["plan"] = "retried by an operator: the ticket rendered again with the mapping in effect";
    why["ops"] = json::array({to_text(op.kind)});
    res.writes.push_back(decision_row(issue_ref::existing(issue.id), why));
  }
  res.writes.push_back(wr::update_issue{issue.id, res.issue.phase, false, std::nullopt, std::nullopt, res.issue.desired,
                                        res.issue.rule});
  return res;
}

}  // namespace ts::sync
