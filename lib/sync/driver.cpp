#include "sync/driver.hpp"

#include "intake/event_parser.hpp"
#include "rules/mapping.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

namespace ts::sync {

namespace net = boost::asio;
using json = nlohmann::json;
using psa::psa_failure;

namespace {

constexpr std::size_t plan_batch = 256;
// The idle loop looks at the outbox at least this often: the operator CLI
// (`deadletter retry`, another process) makes operations due without a notify.
constexpr auto idle_poll = std::chrono::seconds{2};
constexpr auto success_write_interval = std::chrono::seconds{10};
constexpr auto auth_probe_interval = std::chrono::seconds{30};
constexpr auto lookup_max_age = std::chrono::minutes{10};
constexpr auto lookup_min_refresh = std::chrono::seconds{30};

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

ticket_fields fields_of(const json& j) { return {str(j, "summary"), str(j, "priority"), str(j, "severity"), str(j, "impact")}; }

void put_fields(json& j, const ticket_fields& f) {
  j["summary"] = f.summary;
  j["priority"] = f.priority;
  j["severity"] = f.severity;
  j["impact"] = f.impact;
}

/// externalXRef of an issue's ticket of generation `gen` (1: the correlation key itself).
std::string xref_for(const std::string& key, int gen) { return gen <= 1 ? key : key + "#" + std::to_string(gen); }

std::string_view phase_of(store::ticket_state t) {
  switch (t) {
    case store::ticket_state::open: return "open";
    case store::ticket_state::closed: return "closed";
    default: return "none";
  }
}

/// Text as ConnectWise will store it: invalid UTF-8 replaced, so a note found
/// again by its text compares equal.
std::string valid_utf8(const std::string& s) {
  return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string not_found_message(std::string_view what, std::string_view name, const std::vector<psa::named_ref>& items) {
  std::string msg = std::string(what) + " '" + std::string(name) + "' does not exist in ConnectWise";
  auto near = psa::closest_names(items, name);
  if (!near.empty()) {
    msg += "; closest: ";
    for (std::size_t i = 0; i < near.size(); ++i) msg += (i ? ", '" : "'") + near[i] + "'";
  }
  return msg;
}

psa_failure config_failure(std::string detail) {
  psa_failure f;
  f.what = psa_failure::kind::rejected;
  f.detail = std::move(detail);
  return f;
}

/// A ticket id for log lines: every line about an issue names its ticket, "-" before it has one.
std::string ticket_text(const std::optional<std::int64_t>& id) { return id ? std::to_string(*id) : "-"; }

/// Why a decision has no ticket to render (a template error).
std::string mapping_error(const rules::decision& d) {
  return "mapping: " + (d.error ? d.error->what : std::string("no ticket"));
}

/// The stored form of a rendered ticket (issues.desired) for ticket generation `gen`.
std::string stored_desired(json desired, const std::string& correlation_key, int gen) {
  desired["xref"] = xref_for(correlation_key, gen);
  return desired.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// The history detail of a decision: what the rules chose for `ev`, and why
/// (the caller adds the plan).
json decision_detail(const ts::event& ev, const rules::decision& d) {
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

}  // namespace

//------------------------------------------------------------------------------
// engine

/// One operation's working state while it executes.
struct engine::context {
  store::operation_record op;
  store::issue_record issue;
  op_kind kind;
  json desired;
  json applied;
  json payload;
  std::shared_ptr<const rules::ruleset> rules;  ///< the mapping the operation started under
  const config::ticket_config* tcfg = nullptr;  ///< its rule's ticket section
  bool note_only = false;  ///< an update reduced to its note (ticket closed by a technician, policy note)
  /// Store writes produced by finished steps, committed with the next
  /// advance_step/complete_operation so state and progress move together.
  std::vector<std::function<void()>> writes;

  ticket_fields desired_fields() const { return fields_of(desired); }
  ticket_fields applied_fields() const { return fields_of(applied); }
};

engine::engine(net::any_io_executor ex, store::store& st, std::shared_ptr<const config::config> cfg,
               psa::cw_client& client, spdlog::logger& log, const ts::clock& clk)
    : ex_(ex),
      store_(st),
      base_cfg_(cfg),
      cfg_(*base_cfg_),
      rules_(std::make_shared<const rules::ruleset>(std::move(cfg))),
      client_(client),
      log_(log),
      clock_(clk),
      wake_(ex),
      commit_(ex, st) {
  conn_.since = clock_.now();
}

std::int64_t engine::reload(std::shared_ptr<const config::config> cfg) {
  rules_ = std::make_shared<const rules::ruleset>(std::move(cfg));
  if (lookups_) {
    // Names may have changed along with the rules: fetch them again on next use.
    lookups_->fetched = {};
    lookups_->statuses.clear();
    lookups_->lists.clear();
  }
  std::int64_t released = 0;
  {
    store::store::transaction tx(store_);
    released = store_.release_held(clock_.now());
    tx.commit();
  }
  ++stats_.reloads;
  wake_.notify();
  return released;
}

net::awaitable<void> engine::run(std::chrono::milliseconds drain) {
  // For `ticketsyncd status` (another process): who runs, since when.
  co_await commit_.commit([this] {
    const sys_ms now = clock_.now();
    store_.set_runtime("daemon.pid", std::to_string(::getpid()), now);
    store_.set_runtime("daemon.started_at", format_rfc3339(now), now);
    store_.set_runtime("psa.state", conn_.state, now);  // "connecting"; the previous run's state is stale
    store_.set_runtime("psa.state_since", format_rfc3339(conn_.since), now);
  });
  while (!stopping_) {
    const bool more_inbox = co_await plan_inbox_batch();
    if (co_await ensure_connected()) dispatch();
    if (more_inbox) continue;

    // Sleep until the next operation is due, something is notified, or a poll.
    std::chrono::steady_clock::duration wait = idle_poll;
    if (auto due = store_.next_due_time()) {
      // Work already due that dispatch() did not start waits for an operation
      // in flight (same issue, or all connections busy); its completion
      // notifies. Waiting 0 here would spin the loop while requests run.
      const auto until = *due - clock_.now();
      if (until > std::chrono::milliseconds{0}) wait = std::min<std::chrono::steady_clock::duration>(until, idle_poll);
    }
    if (!client_.connected() || auth_blocked_)
      wait = std::min<std::chrono::steady_clock::duration>(wait, std::chrono::seconds{1});
    co_await wake_.wait_for(wait);
  }
  // Drain: in-flight operations finish (their requests have deadlines) or are
  // left in the store as they are, to be recovered at the next start.
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (!flight_->issues.empty() && std::chrono::steady_clock::now() < deadline)
    co_await wake_.wait_for(std::chrono::milliseconds{50});
  if (!flight_->issues.empty())
    log_.warn("sync.drain_timeout {} operation(s) still in flight; they will be recovered at the next start",
              flight_->issues.size());
  try {
    co_await commit_.commit(
        [this] { store_.set_runtime("daemon.stopped_at", format_rfc3339(clock_.now()), clock_.now()); });
  } catch (const std::exception& e) {
    log_.warn("store.runtime_write_failed key=daemon.stopped_at error=\"{}\"", e.what());  // only informative
  }
}

net::awaitable<bool> engine::plan_inbox_batch() {
  auto rows = store_.inbox_peek(plan_batch);
  if (rows.empty()) co_return false;
  // Through the group commit: planning shares its fsync with the intake's and
  // the operations' writes of the same loop turn.
  co_await commit_.commit([&] {
    const sys_ms now = clock_.now();
    for (const auto& row : rows) {
      plan_row(row, now);
      store_.inbox_remove(row.id);
    }
  });
  stats_.events_planned += rows.size();
  co_return rows.size() == plan_batch;
}

void engine::plan_row(const store::inbox_row& row, sys_ms now) {
  auto ev = intake::parse_event(row.body);
  if (!ev) {
    // Intake validated it; this only happens if the schema rules changed.
    log_.error("intake.rejected inbox row {} ({}) no longer validates: {}", row.id, row.origin,
               ev.error().to_string());
    return;
  }
  const issue_identity id{ev->source, ev->tenant, ev->issue_id};
  const std::string key = id.display();
  const rules::ruleset& rs = *rules_;
  const rules::decision d = rs.decide(*ev);
  if (d.held()) {
    // Kept, visibly, until a reload maps the tenant (reload() releases them).
    store_.hold_event(row, ev->source, ev->tenant, d.company.why, now);
    ++stats_.held;
    log_.warn("issue.held issue={} updated_at={} reason=\"{}\"; released when a reload maps the tenant", key,
              ev->updated_at_text, d.company.why);
    return;
  }
  auto rec = store_.find_issue(id);
  if (rec && rec->digest) {
    plan_digest_member(*rec, *ev, now, false);
    return;
  }
  const config::ticket_config& tcfg = *d.ticket;
  ticket_fields fields;
  if (d.desired) fields = sync::fields_of(*d.desired);
  std::optional<issue_snapshot> snap;
  if (rec)
    snap = issue_snapshot{rec->state,        rec->last_event_at,
                          from_text<ticket_phase>(rec->phase).value_or(ticket_phase::none), rec->resolved_at,
                          fields_of(json::parse(rec->desired_json, nullptr, false)), rec->tech_closed};
  const plan p = plan_event(snap, *ev, fields, tcfg.lifecycle);
  log_.debug("event.planned issue={} updated_at={} rule={} apply={} ops={} reason=\"{}\"", key, ev->updated_at_text,
             d.rule, p.apply, p.ops.size(), p.reason);
  if (!p.apply) return;

  store::issue_record r = rec ? *rec : store::issue_record{};
  if (!rec) {
    r.identity = id;
    r.correlation_key = correlation_key(id);
  }
  r.state = ev->state;
  r.severity = ev->severity;
  r.last_event_at = ev->updated_at;
  r.event_json = row.body;
  r.rule = d.rule;
  if (p.clear_technician_closed) r.tech_closed = false;

  // Why, recorded: the decision of this event, whatever follows.
  json why = decision_detail(*ev, d);
  why["plan"] = p.reason;
  json ops_json = json::array();
  for (const planned_op& op : p.ops) ops_json.push_back(to_text(op.kind));
  why["ops"] = ops_json;
  const auto record_decision = [&](std::int64_t issue_row) {
    store_.add_history(issue_row, "decision", std::nullopt, why.dump(-1, ' ', false, json::error_handler_t::replace),
                       now);
  };

  if (!d.desired) {
    // The ticket cannot be rendered (a template error): record the event, and
    // dead-letter what it asked for, visibly.
    const std::string error = mapping_error(d);
    const std::int64_t issue_row = store_.save_issue(r, now);
    why["error"] = error;
    record_decision(issue_row);
    if (!p.ops.empty()) {
      const std::int64_t op = store_.add_operation(issue_row, to_text(p.ops.front().kind), "{}", now);
      store_.fail_operation(op, store::dead_letter_info{0, {}, {}, {}, error}, now);
      ++stats_.dead;
      ++stats_.operations[{std::string(to_text(p.ops.front().kind)), "dead"}];
      log_.error("op.dead_lettered issue={} ticket={} op={} kind={} rule={} reason=\"{}\"", key,
                 ticket_text(r.ticket_id), op, to_text(p.ops.front().kind), d.rule, error);
    }
    return;
  }
  const rules::desired_ticket& want = *d.desired;
  json desired = desired_document(want);

  // Storm protection: past the tenant's cap, a new ticket becomes a note on
  // the tenant's digest ticket of this hour.
  const bool creates = !p.ops.empty() && p.ops.front().kind == op_kind::create;
  const int cap = rs.cfg().storm.max_new_tickets_per_hour;
  if (creates && cap > 0 && storm_capped(cap, store_.creates_since(ev->tenant, now - std::chrono::hours{1}))) {
    const std::int64_t digest = digest_issue_for(*ev, want, desired, now);
    r.digest = digest;
    r.phase = to_text(ticket_phase::none);
    r.resolved_at = p.resolved_at;
    r.desired_json = desired.dump(-1, ' ', false, json::error_handler_t::replace);
    const std::int64_t issue_row = store_.save_issue(r, now);
    why["ops"] = json::array({"digest_note"});
    why["digest"] = digest;
    why["plan"] = "storm: the tenant queued " + std::to_string(cap) + " or more new tickets in the last hour";
    record_decision(issue_row);
    plan_digest_member(*store_.get_issue(issue_row), *ev, now, true);
    ++stats_.digested;
    log_.warn("storm.digested issue={} tenant={} digest={} cap={}", key, ev->tenant, digest, cap);
    return;
  }

  if (p.new_generation) ++r.generation;
  r.phase = to_text(p.phase_after);
  r.resolved_at = p.resolved_at;
  r.desired_json = stored_desired(std::move(desired), r.correlation_key, r.generation);
  const std::int64_t issue_row = store_.save_issue(r, now);
  record_decision(issue_row);

  for (const planned_op& op : p.ops) {
    if (op.kind == op_kind::update) {
      // Coalesce: a queued create/update/reopen that has not started computes
      // its fields from `desired` when it runs, so it covers this update too.
      auto newest = store_.newest_pending_operation(issue_row);
      if (newest && !flight_->ops.contains(newest->id) &&
          (newest->kind == "create" || newest->kind == "update" || newest->kind == "reopen")) {
        log_.debug("op.coalesced issue={} into op={} kind={}", key, newest->id, newest->kind);
        continue;
      }
    }
    json payload = json::object();
    if (op.kind == op_kind::note) payload["note"] = to_text(op.note);
    if (op.kind == op_kind::create) payload["generation"] = r.generation;
    store_.add_operation(issue_row, to_text(op.kind), payload.dump(), now);
  }
}

void engine::plan_digest_member(const store::issue_record& rec, const ts::event& ev, sys_ms now, bool first) {
  // A member of a storm digest: its events are notes on the digest ticket.
  // The first event (planned just now) and every change of state are noted;
  // other updates only refresh what is stored.
  if (!first && ev.updated_at <= rec.last_event_at) return;  // stale
  const bool state_changed = !first && ev.state != rec.state;
  store::issue_record r = rec;
  if (!first) {
    r.state = ev.state;
    r.severity = ev.severity;
    r.last_event_at = ev.updated_at;
    r.event_json = ev.to_json().dump(-1, ' ', false, json::error_handler_t::replace);
    store_.save_issue(r, now);
  }
  if (!first && !state_changed) return;
  json context = ev.to_json();
  context["cap"] = rules_->cfg().storm.max_new_tickets_per_hour;
  auto text = rules::render_template("storm.digest_note", rules_->cfg().storm.digest_note, context);
  json payload = {{"note", "digest"}, {"member", rec.id}, {"text", text ? valid_utf8(*text) : ev.title}};
  store_.add_operation(*rec.digest, to_text(op_kind::note), payload.dump(-1, ' ', false, json::error_handler_t::replace),
                       now);
  if (!first)
    store_.add_history(rec.id, "decision", std::nullopt,
                       json({{"event_updated_at", ev.updated_at_text},
                             {"event_state", to_text(ev.state)},
                             {"plan", "storm digest member: state change noted on the digest ticket"},
                             {"digest", *rec.digest},
                             {"ops", json::array({"digest_note"})}})
                           .dump(-1, ' ', false, json::error_handler_t::replace),
                       now);
}

std::int64_t engine::digest_issue_for(const ts::event& ev, const rules::desired_ticket& member, const json& desired,
                                      sys_ms now) {
  const issue_identity did = digest_identity(ev.tenant, now);
  if (auto existing = store_.find_issue(did)) return existing->id;
  const config::storm_config& storm = rules_->cfg().storm;
  json context = ev.to_json();
  context["cap"] = storm.max_new_tickets_per_hour;
  auto summary = rules::render_template("storm.digest_summary", storm.digest_summary, context);
  store::issue_record d;
  d.identity = did;
  d.correlation_key = correlation_key(did);
  d.state = issue_state::open;
  d.severity = ev.severity;
  d.last_event_at = now;
  d.event_json = json({{"source", did.source}, {"tenant", did.tenant}, {"issue_id", did.issue_id}}).dump();
  d.phase = to_text(ticket_phase::open);
  d.rule = member.rule;
  json dj = desired;
  dj["summary"] = rules::truncate_utf16(summary ? *summary : "[storm] " + ev.tenant, 100);
  dj["description"] = "Storm protection: tenant '" + ev.tenant + "' reached " +
                      std::to_string(storm.max_new_tickets_per_hour) +
                      " new tickets within an hour. Each further new issue this hour is a note on this ticket "
                      "instead of a ticket of its own.";
  dj["custom_fields"] = json::object();
  dj["xref"] = d.correlation_key;
  d.desired_json = dj.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::int64_t id = store_.save_issue(d, now);
  store_.add_operation(id, to_text(op_kind::create), json({{"generation", 1}}).dump(), now);
  store_.add_history(id, "decision", std::nullopt,
                     json({{"plan", "storm digest ticket for tenant " + ev.tenant}, {"ops", json::array({"create"})}})
                         .dump(-1, ' ', false, json::error_handler_t::replace),
                     now);
  log_.warn("storm.started tenant={} digest_issue={} cap={} (new issues this hour become notes on one ticket)",
            ev.tenant, did.display(), storm.max_new_tickets_per_hour);
  return id;
}

void engine::record_outcome(const store::operation_record& op, std::string_view outcome, std::string_view detail) {
  ++stats_.operations[{op.kind, outcome.starts_with("done") ? "done" : std::string(outcome)}];
  auto cur = store_.get_issue(op.issue);
  json j = {{"kind", op.kind}, {"outcome", outcome}};
  if (cur && cur->ticket_id) j["ticket"] = *cur->ticket_id;
  if (!detail.empty()) j["detail"] = detail;
  store_.add_history(op.issue, "operation", op.id, j.dump(-1, ' ', false, json::error_handler_t::replace),
                     clock_.now());
}

void engine::record_psa(std::string_view state, const psa_failure* error, bool success, sys_ms now) {
  if (!state.empty() && state != conn_.state) {
    conn_.state = state;
    conn_.since = now;
    store_.set_runtime("psa.state", conn_.state, now);
    store_.set_runtime("psa.state_since", format_rfc3339(now), now);
  }
  // A name that does not resolve (no HTTP answer) is the mapping's failure, not ConnectWise's.
  if (error && (error->what != psa_failure::kind::rejected || error->http_status != 0)) {
    conn_.last_error = error->to_string();
    store_.set_runtime("psa.last_error", conn_.last_error, now);
  }
  if (success) {
    conn_.last_success = now;
    if (!success_written_ || now - *success_written_ >= success_write_interval) {
      store_.set_runtime("psa.last_success_at", format_rfc3339(now), now);
      success_written_ = now;
    }
  }
}

std::optional<std::string> engine::rerender(const store::operation_record& op, sys_ms now) {
  store_.clear_rerender(op.id, now);
  auto cur = store_.get_issue(op.issue);
  if (!cur) return std::nullopt;  // execute() dead-letters the operation
  // Plan later events as if the operation will succeed, as when it was
  // planned (its dead letter set the phase back to what is known).
  if (op.kind == to_text(op_kind::create) || op.kind == to_text(op_kind::reopen))
    cur->phase = to_text(ticket_phase::open);
  else if (op.kind == to_text(op_kind::close))
    cur->phase = to_text(ticket_phase::closed);
  // A storm digest ticket is not rendered by the rules (digest_issue_for).
  if (cur->identity.source != digest_source) {
    auto ev = intake::parse_event(cur->event_json);
    if (!ev) return "the issue's stored event no longer validates: " + ev.error().to_string();
    const rules::decision d = rules_->decide(*ev);
    if (d.held()) return "mapping: the tenant is held (" + d.company.why + ")";
    if (!d.desired) return mapping_error(d);
    cur->desired_json = stored_desired(desired_document(*d.desired), cur->correlation_key, cur->generation);
    cur->rule = d.rule;
    json why = decision_detail(*ev, d);
    why["plan"] = "retried by an operator: the ticket rendered again with the mapping in effect";
    why["ops"] = json::array({op.kind});
    store_.add_history(cur->id, "decision", std::nullopt, why.dump(-1, ' ', false, json::error_handler_t::replace),
                       now);
  }
  store_.save_issue(*cur, now);
  return std::nullopt;
}

net::awaitable<bool> engine::ensure_connected() {
  const auto now = std::chrono::steady_clock::now();
  if (client_.connected() && !auth_blocked_) co_return true;
  if (now < next_connect_attempt_) co_return false;
  auto r = co_await client_.connect();
  if (r) {
    // Warm the name caches once, here, rather than in every operation that
    // starts at the same time; the configured board's statuses included.
    if (auto warm = co_await refresh_lookups(false); !warm) {
      r = warm.error();
    } else if (auto st = co_await board_status(rules_->cfg().ticket.board, rules_->cfg().ticket.status, false);
               !st && st.error().what != psa_failure::kind::rejected) {
      r = st.error();  // a missing name is reported by the operations that need it
    }
  }
  if (r) {
    if (auth_blocked_) log_.info("psa.unblocked ConnectWise accepts the credentials again; sending resumes");
    auth_blocked_ = false;
    connect_failures_ = 0;
    co_await commit_.commit([this] { record_psa("connected", nullptr, true, clock_.now()); });
    co_return true;
  }
  ++connect_failures_;
  const auto& f = r.error();
  co_await commit_.commit([&] {
    record_psa(f.what == psa_failure::kind::auth ? "blocked" : "unreachable", &f, false, clock_.now());
  });
  if (f.what == psa_failure::kind::auth) {
    auth_blocked_ = true;
    log_.error("psa.blocked ConnectWise refused the credentials ({}): check psa.company_id, psa.public_key, the "
               "private key and psa.client_id; retrying every {} s",
               f.to_string(), auth_probe_interval.count());
    next_connect_attempt_ = now + auth_probe_interval;
  } else {
    const auto delay = backoff_delay(backoff_policy{std::chrono::seconds{1}, std::chrono::seconds{60}},
                                     connect_failures_, std::uniform_real_distribution<double>(0.5, 1.0)(rng_));
    log_.warn("psa.unreachable cannot reach ConnectWise ({}); next attempt in {} ms", f.to_string(), delay.count());
    next_connect_attempt_ = now + delay;
  }
  co_return false;
}

void engine::dispatch() {
  const auto max = static_cast<std::size_t>(std::max(1, cfg_.psa.max_connections));
  if (stopping_ || flight_->issues.size() >= max) return;
  auto due = store_.due_operations(clock_.now(), max + flight_->issues.size());
  for (auto& op : due) {
    if (flight_->issues.size() >= max) break;
    if (flight_->issues.contains(op.issue)) continue;
    flight_->issues.insert(op.issue);
    flight_->ops.insert(op.id);
    net::co_spawn(ex_, execute(std::move(op)), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          // A store failure (disk full, I/O error) is environmental: stop and let
          // systemd restart us rather than run on with unknown state.
          log_.critical("sync.failed operation task failed: {}", ex.what());
          stopping_ = true;
        }
      }
      wake_.notify();
    });
  }
}

net::awaitable<void> engine::execute(store::operation_record op) {
  struct release {
    std::shared_ptr<flight> f;  // not the engine: this may run after it is destroyed
    std::int64_t issue, op;
    ~release() {
      f->issues.erase(issue);
      f->ops.erase(op);
    }
  } guard{flight_, op.issue, op.id};

  auto issue = store_.get_issue(op.issue);
  const auto kind = ts::from_text<op_kind>(op.kind);
  if (!issue || !kind) {
    co_await commit_.commit([&] {
      store_.fail_operation(op.id, store::dead_letter_info{0, {}, {}, {}, "unknown operation or issue"}, clock_.now());
    });
    co_return;
  }
  if (op.rerender) {
    std::optional<std::string> error;
    co_await commit_.commit([&] {
      error = rerender(op, clock_.now());
      if (error) store_.fail_operation(op.id, store::dead_letter_info{0, {}, {}, {}, *error}, clock_.now());
    });
    if (error) {
      ++stats_.dead;
      ++stats_.operations[{op.kind, "dead"}];
      log_.error("op.dead_lettered issue={} ticket={} op={} kind={} reason=\"{}\"", issue->identity.display(),
                 ticket_text(issue->ticket_id), op.id, op.kind, *error);
      co_return;
    }
    op.rerender = false;
    issue = store_.get_issue(op.issue);
    log_.info("op.rerendered issue={} ticket={} op={} kind={} rule={} (retried by an operator)",
              issue->identity.display(), ticket_text(issue->ticket_id), op.id, op.kind, issue->rule);
  }
  context c{op, *issue, *kind, json::parse(issue->desired_json, nullptr, false),
            json::parse(issue->applied_json, nullptr, false), json::parse(op.payload, nullptr, false), rules_,
            nullptr, false, {}};
  if (!c.desired.is_object()) c.desired = json::object();
  if (!c.applied.is_object()) c.applied = json::object();
  if (!c.payload.is_object()) c.payload = json::object();
  const std::string key = issue->identity.display();
  c.tcfg = &c.rules->ticket_for(str(c.desired, "rule"));

  const bool skip = (c.kind != op_kind::create && !issue->ticket_id) ||
                    (c.kind == op_kind::update && diff_fields(c.applied_fields(), c.desired_fields()).empty());
  if (skip) {
    // No ticket to act on (its create was dead-lettered), or nothing left to
    // change (an earlier operation already sent these fields).
    const std::string_view why = issue->ticket_id ? "nothing to change" : "no ticket";
    co_await commit_.commit([&] {
      store_.complete_operation(op.id, clock_.now());
      record_outcome(op, "skipped", why);
    });
    log_.debug("op.skipped issue={} op={} kind={} reason=\"{}\"", key, op.id, op.kind, why);
    ++stats_.ops_completed;
    co_return;
  }

  // Before news goes onto a ticket believed open, make sure no technician
  // closed it meanwhile (one GET). What then happens is the rule's policy; it
  // is derived from the stored mark, so a retry does the same.
  const bool news = c.kind == op_kind::update || (c.kind == op_kind::note && str(c.payload, "note") != "digest");
  bool closed_by_technician = news && issue->tech_closed;
  if (news && !issue->tech_closed && issue->ticket == store::ticket_state::open && op.step == 0 && !op.sent) {
    auto closed = co_await ticket_closed_by_technician(c);
    if (!closed) {
      co_await on_failure(c.op, c.issue, closed.error(), false);
      co_return;
    }
    if (*closed) {
      closed_by_technician = true;
      ++stats_.technician_closed;
      co_await commit_.commit([&] {
        store_.set_ticket(issue->id, issue->ticket_id, store::ticket_state::closed, clock_.now());
        auto cur = store_.get_issue(issue->id);
        cur->phase = to_text(ticket_phase::closed);
        cur->tech_closed = true;
        store_.save_issue(*cur, clock_.now());
      });
      log_.warn("ticket.closed_by_technician issue={} ticket={} policy={}", key, *issue->ticket_id,
                to_text(c.tcfg->lifecycle.on_technician_close));
    }
  }
  if (closed_by_technician) {
    switch (on_technician_closed(c.tcfg->lifecycle.on_technician_close)) {
      case technician_closed_action::stop:
      case technician_closed_action::new_ticket: {
        const bool next = c.tcfg->lifecycle.on_technician_close == config::technician_close_policy::new_ticket;
        co_await commit_.commit([&] {
          if (next) {
            auto cur = store_.get_issue(issue->id);
            ++cur->generation;
            cur->phase = to_text(ticket_phase::open);
            cur->tech_closed = false;
            json d = json::parse(cur->desired_json, nullptr, false);
            if (d.is_object()) {
              d["xref"] = xref_for(cur->correlation_key, cur->generation);
              cur->desired_json = d.dump(-1, ' ', false, json::error_handler_t::replace);
            }
            store_.save_issue(*cur, clock_.now());
            store_.add_operation(issue->id, to_text(op_kind::create),
                                 json({{"generation", cur->generation}}).dump(), clock_.now());
          }
          store_.complete_operation(op.id, clock_.now());
          record_outcome(op, "skipped",
                         next ? "ticket closed by a technician: a new ticket follows"
                              : "ticket closed by a technician: left alone");
        });
        ++stats_.ops_completed;
        co_return;
      }
      case technician_closed_action::note_only: c.note_only = c.kind == op_kind::update; break;
      case technician_closed_action::reopen:
        // Runs as a reopen; the mark is cleared when it completes (until then
        // a retry derives the same conversion from it).
        c.kind = op_kind::reopen;
        break;
    }
  }

  const auto on_update = c.note_only ? config::on_update_policy::note : c.tcfg->lifecycle.on_update;
  const auto steps = steps_of(c.kind, on_update, !blank(c.tcfg->resolve_note_template));
  for (std::size_t i = static_cast<std::size_t>(std::max(0, op.step)); i < steps.size(); ++i) {
    const step_result r = co_await run_step(steps[i], c);
    if (r.failure) {
      // Finished steps' writes were committed with advance_step; a failed step has none.
      co_await on_failure(c.op, c.issue, *r.failure, r.request_sent && !r.failure->maybe_applied);
      co_return;
    }
    if (i + 1 < steps.size()) {
      co_await commit_.commit([&] {
        for (auto& w : c.writes) w();
        store_.advance_step(op.id, static_cast<int>(i + 1), clock_.now());
        record_psa({}, nullptr, true, clock_.now());
      });
      c.writes.clear();
      c.op.sent = false;
      c.op.step = static_cast<int>(i + 1);
    }
  }
  co_await commit_.commit([&] {
    for (auto& w : c.writes) w();
    store_.complete_operation(op.id, clock_.now());
    record_outcome(op, c.kind == *kind ? "done" : "done as " + std::string(to_text(c.kind)), {});
    record_psa({}, nullptr, !steps.empty(), clock_.now());
    if (c.kind == op_kind::reopen && *kind != op_kind::reopen) {
      auto cur = store_.get_issue(c.issue.id);
      cur->phase = to_text(ticket_phase::open);
      cur->tech_closed = false;
      store_.save_issue(*cur, clock_.now());
    }
    if (c.kind == op_kind::create) follow_up_after_create(c.issue.id);
  });
  ++stats_.ops_completed;
}

net::awaitable<psa::psa_result<bool>> engine::ticket_closed_by_technician(context& c) {
  auto t = co_await client_.get_ticket(*c.issue.ticket_id);
  if (!t) co_return t.error();
  co_return t->closed;
}

void engine::follow_up_after_create(std::int64_t issue_id) {
  // Updates that arrived while the create waited were folded into it; but an
  // adopted ticket holds the fields of the attempt that created it, and a
  // create in flight could not take newer ones. Whatever still differs gets an
  // update (one that finds nothing to change costs no PSA call).
  auto cur = store_.get_issue(issue_id);
  if (!cur || !cur->ticket_id) return;
  const json desired = json::parse(cur->desired_json, nullptr, false);
  const json applied = json::parse(cur->applied_json, nullptr, false);
  if (!desired.is_object() || !applied.is_object() || fields_of(desired) == fields_of(applied)) return;
  if (auto newest = store_.newest_pending_operation(issue_id); newest && newest->kind == "update") return;
  store_.add_operation(issue_id, to_text(op_kind::update), "{}", clock_.now());
}

net::awaitable<engine::step_result> engine::run_step(step_kind step, context& c) {
  switch (step) {
    case step_kind::post_ticket: return step_post_ticket(c);
    case step_kind::post_note: return step_post_note(c);
    case step_kind::patch_fields: return step_patch(c, false);
    case step_kind::patch_status: return step_patch(c, true);
  }
  return step_patch(c, false);
}

net::awaitable<engine::step_result> engine::step_post_ticket(context& c) {
  const int gen = c.payload.value("generation", 1);
  if (c.issue.ticket_id && c.applied.value("generation", 1) == gen) co_return step_result{};  // already there
  const std::string xref = xref_for(c.issue.correlation_key, gen);
  const std::string key = c.issue.identity.display();
  const std::int64_t issue_id = c.issue.id;

  auto record_ticket = [&](const psa::ticket_info& t, const ticket_fields& fields) {
    json applied = json::object();
    put_fields(applied, fields);
    applied["generation"] = gen;
    const std::string text = applied.dump(-1, ' ', false, json::error_handler_t::replace);
    const auto state = t.closed ? store::ticket_state::closed : store::ticket_state::open;
    c.writes.push_back([this, issue_id, id = t.id, state, text] {
      store_.set_ticket(issue_id, id, state, clock_.now());
      store_.set_applied(issue_id, text, clock_.now());
    });
  };

  // A previous attempt may have created the ticket without us learning its
  // id (timeout, reset, crash after sending): look it up before sending again.
  if (c.op.sent) {
    auto found = co_await client_.find_ticket_by_xref(xref);
    if (!found) co_return step_result{found.error(), false};
    if (*found) {
      // Record what the ticket holds (it was created from an earlier `desired`);
      // the follow-up update after the create patches any difference.
      ticket_fields held{(*found)->summary, {}, (*found)->severity, (*found)->impact};
      if (lookups_)
        for (const auto& p : lookups_->priorities)
          if (p.id == (*found)->priority_id) held.priority = p.name;
      record_ticket(**found, held);
      ++stats_.tickets_adopted;
      log_.info("ticket.adopted issue={} ticket={} (created by an earlier attempt whose answer was lost)", key,
                (*found)->id);
      co_return step_result{};
    }
  }

  const ticket_fields fields = c.desired_fields();
  auto board = co_await lookup_board(str(c.desired, "board"));
  if (!board) co_return step_result{board.error(), false};
  auto status = co_await board_status(str(c.desired, "board"), str(c.desired, "status"), false);
  if (!status) co_return step_result{status.error(), false};
  auto priority = co_await lookup_priority(fields.priority);
  if (!priority) co_return step_result{priority.error(), false};

  // Optional names: on the board (type, subtype, item, team) or global (source,
  // custom field captions). Each is resolved only when the rule sets it.
  const auto optional_ref = [&](const char* what, std::int64_t scope,
                                std::optional<std::int64_t>& out) -> net::awaitable<std::optional<psa_failure>> {
    const std::string name = str(c.desired, what);
    if (name.empty()) co_return std::nullopt;
    auto ref = co_await lookup_listed(std::string(what) + "s", scope, name);
    if (!ref) {
      psa_failure f = ref.error();
      if (f.what == psa_failure::kind::rejected) f.detail += " (rule '" + str(c.desired, "rule") + "', ticket." + what + ")";
      co_return f;
    }
    out = ref->id;
    co_return std::nullopt;
  };
  psa::ticket_create body;
  for (auto [what, scope, out] : {std::tuple<const char*, std::int64_t, std::optional<std::int64_t>*>{
                                      "type", board->id, &body.type_id},
                                  {"subtype", board->id, &body.subtype_id},
                                  {"item", board->id, &body.item_id},
                                  {"team", board->id, &body.team_id},
                                  {"source", 0, &body.source_id}}) {
    if (auto f = co_await optional_ref(what, scope, *out)) co_return step_result{*f, false};
  }
  if (const auto it = c.desired.find("custom_fields"); it != c.desired.end() && it->is_object()) {
    for (auto f = it->begin(); f != it->end(); ++f) {
      auto def = co_await lookup_listed("custom_fields", 0, f.key());
      if (!def && lookups_ && lookups_->lists[{"custom_fields", 0}].empty() &&
          def.error().what == psa_failure::kind::rejected) {
        // ConnectWise shows custom field definitions only on existing tickets;
        // on a site without any, the ticket goes out without them.
        log_.warn("ticket.custom_fields_skipped issue={} reason=\"no ticket exists yet to read custom field "
                  "definitions from\"", c.issue.identity.display());
        body.custom_fields.clear();
        break;
      }
      if (!def) {
        psa_failure fail = def.error();
        if (fail.what == psa_failure::kind::rejected)
          fail.detail += " (rule '" + str(c.desired, "rule") + "', ticket.custom_fields)";
        co_return step_result{fail, false};
      }
      body.custom_fields.push_back({def->id, def->name, f.value().is_string() ? f.value().get<std::string>() : ""});
    }
  }
  fill_ticket_body(body, c.desired, xref);
  body.board_id = board->id;
  body.status_id = status->id;
  body.priority_id = priority->id;

  co_await commit_.commit([&] { store_.mark_sent(c.op.id, clock_.now()); });  // durable before the request leaves
  c.op.sent = true;
  auto created = co_await client_.create_ticket(body);
  if (!created) co_return step_result{created.error(), true};
  record_ticket(*created, fields);
  ++stats_.tickets_created;
  log_.info("ticket.created issue={} ticket={} company={} board_id={} priority_id={} generation={}", key,
            created->id, body.company_identifier, body.board_id, body.priority_id, gen);
  co_return step_result{};
}

net::awaitable<engine::step_result> engine::step_post_note(context& c) {
  const std::int64_t ticket = *c.issue.ticket_id;
  const std::string key = c.issue.identity.display();
  note_kind which = note_kind::update;
  if (c.kind == op_kind::close) which = note_kind::resolve;
  if (c.kind == op_kind::reopen) which = note_kind::reopen;
  if (c.kind == op_kind::note) which = ts::from_text<note_kind>(str(c.payload, "note")).value_or(note_kind::update);

  std::string text;
  if (c.op.sent && c.payload.contains("note_text")) {
    // The earlier attempt may have posted it: look for exactly this text first.
    text = str(c.payload, "note_text");
    auto notes = co_await client_.recent_notes(ticket);
    if (!notes) co_return step_result{notes.error(), false};
    for (const auto& n : *notes) {
      if (n.text != text) continue;
      ++stats_.notes_adopted;
      log_.info("note.adopted issue={} ticket={} note={} (posted by an earlier attempt whose answer was lost)", key,
                ticket, n.id);
      co_return step_result{};
    }
  } else if (c.payload.contains("text")) {
    text = str(c.payload, "text");  // rendered when planned (storm digest notes)
  } else {
    auto ev = intake::parse_event(c.issue.event_json);
    json context = ev ? ev->to_json() : json::object();
    context["changes"] = describe_changes(diff_fields(c.applied_fields(), c.desired_fields()));
    const std::string& tmpl = which == note_kind::resolve  ? c.tcfg->resolve_note_template
                              : which == note_kind::reopen ? c.tcfg->reopen_note_template
                                                           : c.tcfg->update_note_template;
    auto rendered = rules::render_template(std::string(to_text(which)) + " note", tmpl, context);
    if (!rendered) co_return step_result{config_failure(rendered.error().what), false};
    text = valid_utf8(*rendered);
    if (blank(text)) co_return step_result{};  // an empty note template posts nothing
  }
  c.payload["note_text"] = text;
  const std::string payload = c.payload.dump(-1, ' ', false, json::error_handler_t::replace);
  co_await commit_.commit([&] { store_.mark_sent(c.op.id, payload, clock_.now()); });
  c.op.sent = true;
  auto posted = co_await client_.post_note(
      ticket, text, which == note_kind::resolve ? psa::note_area::resolution : psa::note_area::internal_analysis);
  if (!posted) co_return step_result{posted.error(), true};
  if (c.kind == op_kind::update && (c.note_only || c.tcfg->lifecycle.on_update == config::on_update_policy::note)) {
    // Under on_update: note the ticket's fields stay as they are; remember that
    // these changes were reported so the next note lists only newer ones.
    json applied = c.applied;
    put_fields(applied, c.desired_fields());
    c.writes.push_back([this, issue_id = c.issue.id, text = applied.dump(-1, ' ', false, json::error_handler_t::replace)] {
      store_.set_applied(issue_id, text, clock_.now());
    });
  }
  ++stats_.notes_posted;
  log_.info("ticket.noted issue={} ticket={} note={} kind={}", key, ticket, posted->id, to_text(which));
  co_return step_result{};
}

net::awaitable<engine::step_result> engine::step_patch(context& c, bool with_status) {
  const std::int64_t ticket = *c.issue.ticket_id;
  const std::int64_t issue_id = c.issue.id;
  const std::string key = c.issue.identity.display();
  const ticket_fields desired = c.desired_fields();
  std::vector<psa::patch_op> ops;
  // Field changes ride along with a status change only when updates patch.
  const bool patch_fields = !with_status || c.tcfg->lifecycle.on_update == config::on_update_policy::patch;
  if (patch_fields) {
    for (const auto& ch : diff_fields(c.applied_fields(), desired)) {
      if (ch.field == "priority") {
        auto priority = co_await lookup_priority(ch.to);
        if (!priority) co_return step_result{priority.error(), false};
        ops.push_back(psa::replace_reference("priority", priority->id));
      } else {
        ops.push_back(psa::replace_string(ch.field, ch.to));
      }
    }
  }
  const bool closing = with_status && c.kind == op_kind::close;
  if (with_status) {
    const std::string board = str(c.desired, "board");
    auto status = co_await board_status(board, str(c.desired, closing ? "closed_status" : "reopen_status"), closing);
    if (!status) co_return step_result{status.error(), false};
    ops.push_back(psa::replace_reference("status", status->id));
  }
  if (ops.empty()) co_return step_result{};
  auto patched = co_await client_.patch_ticket(ticket, ops);
  if (!patched) co_return step_result{patched.error(), false};
  ++stats_.patches;

  json applied = c.applied;
  if (patch_fields) put_fields(applied, desired);
  const std::string text = applied.dump(-1, ' ', false, json::error_handler_t::replace);
  const auto state = patched->closed ? store::ticket_state::closed : store::ticket_state::open;
  c.writes.push_back([this, issue_id, ticket, state, text, with_status] {
    store_.set_applied(issue_id, text, clock_.now());
    if (with_status) store_.set_ticket(issue_id, ticket, state, clock_.now());
  });
  c.applied = std::move(applied);
  if (with_status)
    log_.info("{} issue={} ticket={}", closing ? "ticket.closed" : "ticket.reopened", key, ticket);
  else
    log_.info("ticket.updated issue={} ticket={} fields={}", key, ticket, ops.size());
  co_return step_result{};
}

net::awaitable<psa::psa_result<void>> engine::refresh_lookups(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const bool stale = !lookups_ || now - lookups_->fetched > lookup_max_age ||
                     (force && now - lookups_->fetched > lookup_min_refresh);
  if (!stale) co_return psa::psa_result<void>{};
  auto boards = co_await client_.boards();
  if (!boards) co_return boards.error();
  auto priorities = co_await client_.priorities();
  if (!priorities) co_return priorities.error();
  cache_directory("boards", 0, *boards);
  cache_directory("priorities", 0, *priorities);
  lookups_ = lookups{std::move(*boards), {}, std::move(*priorities), {}, std::chrono::steady_clock::now()};
  co_return psa::psa_result<void>{};
}

net::awaitable<psa::psa_result<psa::named_ref>> engine::lookup_board(std::string_view board) {
  for (bool force : {false, true}) {
    if (auto r = co_await refresh_lookups(force); !r) co_return r.error();
    if (auto b = psa::resolve_name(lookups_->boards, board)) co_return *b;
  }
  co_return config_failure(not_found_message("board", board, lookups_->boards));
}

net::awaitable<psa::psa_result<psa::named_ref>> engine::lookup_priority(std::string_view priority) {
  for (bool force : {false, true}) {
    if (auto r = co_await refresh_lookups(force); !r) co_return r.error();
    if (auto p = psa::resolve_name(lookups_->priorities, priority)) co_return *p;
  }
  co_return config_failure(not_found_message("priority", priority, lookups_->priorities));
}

net::awaitable<psa::psa_result<psa::named_ref>> engine::lookup_listed(std::string kind, std::int64_t board_id,
                                                                      std::string_view name) {
  if (auto r = co_await refresh_lookups(false); !r) co_return r.error();
  const auto key = std::pair{kind, board_id};
  for (bool force : {false, true}) {
    if (force || !lookups_->lists.contains(key)) {
      psa::psa_result<std::vector<psa::named_ref>> items = std::vector<psa::named_ref>{};
      if (kind == "types") items = co_await client_.board_types(board_id);
      else if (kind == "subtypes") items = co_await client_.board_subtypes(board_id);
      else if (kind == "items") items = co_await client_.board_items(board_id);
      else if (kind == "teams") items = co_await client_.board_teams(board_id);
      else if (kind == "sources") items = co_await client_.sources();
      else if (kind == "custom_fields") items = co_await client_.custom_fields();
      if (!items) co_return items.error();
      if (!lookups_) co_return config_failure("name cache reset during a lookup; retrying");
      cache_directory(kind, board_id, *items);
      lookups_->lists[key] = std::move(*items);
    }
    if (auto found = psa::resolve_name(lookups_->lists.at(key), name)) co_return *found;
  }
  std::string what = kind.substr(0, kind.size() - 1);
  if (what == "custom_field") what = "custom field";
  std::string msg = not_found_message(what, name, lookups_->lists.at(key));
  if (kind == "custom_fields" && lookups_->lists.at(key).empty())
    msg += " (ConnectWise shows custom field definitions on existing tickets; none were found)";
  co_return config_failure(std::move(msg));
}

void engine::cache_directory(std::string_view kind, std::int64_t scope, const std::vector<psa::named_ref>& items) {
  json list = json::array();
  for (const auto& i : items)
    list.push_back({{"id", i.id}, {"name", i.name}, {"closed", i.closed_status}, {"inactive", i.inactive}});
  try {
    store_.put_directory(kind, scope, list.dump(-1, ' ', false, json::error_handler_t::replace), clock_.now());
  } catch (const std::exception& e) {
    log_.warn("store.directory_write_failed kind={} error=\"{}\"", kind, e.what());  // only a cache
  }
}

net::awaitable<psa::psa_result<psa::named_ref>> engine::board_status(std::string_view board_name,
                                                                     std::string_view status_name,
                                                                     bool must_be_closed) {
  auto board = co_await lookup_board(board_name);
  if (!board) co_return board.error();
  if (!lookups_->statuses.contains(board->id)) {
    auto statuses = co_await client_.board_statuses(board->id);
    if (!statuses) co_return statuses.error();
    // Other operations may have refreshed lookups_ while this one waited.
    cache_directory("statuses", board->id, *statuses);
    lookups_->statuses[board->id] = std::move(*statuses);
  }
  const auto& statuses = lookups_->statuses.at(board->id);
  auto status = psa::resolve_name(statuses, status_name);
  if (!status)
    co_return config_failure(not_found_message("status", status_name, statuses) + " on board '" +
                             std::string(board_name) + "'");
  if (must_be_closed && !status->closed_status) {
    std::string closed;
    for (const auto& s : statuses)
      if (s.closed_status && !s.inactive) closed += (closed.empty() ? "'" : ", '") + s.name + "'";
    co_return config_failure("status '" + std::string(status_name) + "' on board '" + std::string(board_name) +
                             "' is not a closed status (closedStatus is false); closed statuses: " +
                             (closed.empty() ? "none" : closed));
  }
  co_return *status;
}

sys_ms engine::backoff_until(int attempts) {
  return clock_.now() + backoff_delay(backoff_, attempts, std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
}

net::awaitable<void> engine::on_failure(const store::operation_record& op, const store::issue_record& issue,
                                        const psa_failure& f, bool clear_sent) {
  using kind = psa_failure::kind;
  const std::string key = issue.identity.display();
  const std::string ticket = ticket_text(issue.ticket_id);
  const int attempts = op.attempts + 1;
  switch (f.what) {
    case kind::rejected: {
      store::dead_letter_info info{f.http_status, f.cw.code, f.cw.message, f.cw.field(), f.to_string()};
      // The ticket is where it is: plan from what is known to be true again.
      co_await commit_.commit([&] {
        store_.fail_operation(op.id, info, clock_.now());
        if (auto cur = store_.get_issue(issue.id)) {
          cur->phase = phase_of(cur->ticket);
          store_.save_issue(*cur, clock_.now());
        }
        record_psa({}, &f, false, clock_.now());
      });
      ++stats_.dead;
      ++stats_.operations[{op.kind, "dead"}];
      log_.error("op.dead_lettered issue={} ticket={} op={} kind={} http_status={} cw_code={} field={} error=\"{}\"",
                 key, ticket, op.id, op.kind, f.http_status, f.cw.code, f.cw.field(), f.to_string());
      co_return;
    }
    case kind::auth: {
      auth_blocked_ = true;
      next_connect_attempt_ = std::chrono::steady_clock::now() + auth_probe_interval;
      co_await commit_.commit([&] {
        store_.retry_operation(op.id, clock_.now() + auth_probe_interval, f.to_string(), clear_sent, clock_.now());
        record_psa("blocked", &f, false, clock_.now());
      });
      log_.error("psa.blocked issue={} ticket={} op={} kind={} http_status={} ConnectWise answered {}: the API "
                 "member's keys are wrong or its security role lacks a permission (Service Desk > Service Tickets: "
                 "Add/Edit/Inquire; Service Desk > Close Service Tickets; Companies > Company Maintenance: Inquire; "
                 "System > Table Setup: Inquire); sending paused",
                 key, ticket, op.id, op.kind, f.http_status, f.to_string());
      break;
    }
    case kind::throttled:
      co_await commit_.commit([&] {
        store_.retry_operation(op.id, clock_.now() + f.retry_after, f.to_string(), clear_sent, clock_.now());
        record_psa({}, &f, false, clock_.now());
      });
      log_.warn("psa.throttled issue={} ticket={} op={} retry_after_ms={}", key, ticket, op.id,
                f.retry_after.count());
      break;
    case kind::transport:
    case kind::server:
    case kind::protocol: {
      const sys_ms next = backoff_until(attempts);
      co_await commit_.commit([&] {
        store_.retry_operation(op.id, next, f.to_string(), clear_sent, clock_.now());
        record_psa({}, &f, false, clock_.now());
      });
      log_.warn("op.retry issue={} ticket={} op={} kind={} attempt={} error=\"{}\"", key, ticket, op.id, op.kind,
                attempts, f.to_string());
      break;
    }
  }
  ++stats_.retries;
  ++stats_.operations[{op.kind, "retry"}];
}

}  // namespace ts::sync
