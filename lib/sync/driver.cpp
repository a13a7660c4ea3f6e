#include "sync/driver.hpp"

#include "intake/event_parser.hpp"
#include "rules/mapping.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

namespace ts::sync {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t plan_batch = 256;
constexpr auto idle_poll = std::chrono::seconds{5};
constexpr auto auth_probe_interval = std::chrono::seconds{30};
constexpr auto lookup_max_age = std::chrono::minutes{10};

json desired_to_json(const rules::desired_ticket& d) {
  return {{"company", d.company_identifier}, {"board", d.board},           {"status", d.status},
          {"priority", d.priority},          {"summary", d.summary},       {"description", d.description},
          {"external_xref", d.external_xref}};
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string not_found_message(std::string_view what, std::string_view name, const std::vector<psa::named_ref>& items) {
  std::string msg = std::string(what) + " '" + std::string(name) + "' does not exist in ConnectWise";
  auto near = psa::closest_names(items, name);
  if (!near.empty()) {
    msg += "; closest: ";
    for (std::size_t i = 0; i < near.size(); ++i) msg += (i ? ", '" : "'") + near[i] + "'";
  }
  return msg;
}

}  // namespace

engine::engine(net::any_io_executor ex, store::store& st, const config::config& cfg, psa::cw_client& client,
               spdlog::logger& log, const ts::clock& clk)
    : ex_(ex), store_(st), cfg_(cfg), client_(client), log_(log), clock_(clk), wake_(ex) {}

net::awaitable<void> engine::run(std::chrono::milliseconds drain) {
  while (!stopping_) {
    const bool more_inbox = plan_inbox_batch();
    if (co_await ensure_connected()) dispatch();
    if (more_inbox) continue;

    // Sleep until the next operation is due, something is notified, or a poll.
    std::chrono::steady_clock::duration wait = idle_poll;
    if (auto due = store_.next_due_time()) {
      const auto until = *due - clock_.now();
      wait = std::clamp<std::chrono::steady_clock::duration>(until, std::chrono::milliseconds{0}, idle_poll);
    }
    if (!client_.connected() || auth_blocked_)
      wait = std::min<std::chrono::steady_clock::duration>(wait, std::chrono::seconds{1});
    co_await wake_.wait_for(wait);
  }
  // Drain: in-flight operations finish (their requests have deadlines) or are
  // left `sent` in the store, to be recovered at the next start.
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline)
    co_await wake_.wait_for(std::chrono::milliseconds{50});
  if (!in_flight_.empty())
    log_.warn("sync.drain_timeout {} operation(s) still in flight; they will be recovered at the next start",
              in_flight_.size());
}

bool engine::plan_inbox_batch() {
  auto rows = store_.inbox_peek(plan_batch);
  if (rows.empty()) return false;
  const sys_ms now = clock_.now();
  store::store::transaction tx(store_);
  for (const auto& row : rows) {
    auto ev = intake::parse_event(row.body);
    if (!ev) {
      // Intake validated it; this only happens if the schema rules changed.
      log_.error("intake.rejected inbox row {} ({}) no longer validates: {}", row.id, row.origin,
                 ev.error().to_string());
      store_.inbox_remove(row.id);
      continue;
    }
    const issue_identity id{ev->source, ev->tenant, ev->issue_id};
    auto rec = store_.find_issue(id);
    std::optional<issue_snapshot> snap;
    if (rec)
      snap = issue_snapshot{rec->state, rec->last_event_at, rec->ticket_id.has_value(),
                            store_.has_pending_operation(rec->id)};
    const plan p = plan_event(snap, *ev);
    if (p.apply) {
      store::issue_record r = rec ? *rec : store::issue_record{};
      if (!rec) {
        r.identity = id;
        r.correlation_key = correlation_key(id);
      }
      r.state = ev->state;
      r.severity = ev->severity;
      r.last_event_at = ev->updated_at;
      r.event_json = row.body;
      const std::int64_t issue_row = store_.save_issue(r, now);
      for (op_kind k : p.ops) {
        auto desired = rules::map_event(*ev, cfg_);
        const std::string payload = desired ? desired_to_json(*desired).dump() : json::object().dump();
        const std::int64_t op = store_.add_operation(issue_row, to_string(k), payload, now);
        if (!desired) {
          store_.fail_operation(op, desired.error().what, now);
          ++stats_.dead;
          log_.error("op.dead_lettered issue={} op={} kind={} reason=\"{}\"", id.display(), op, to_string(k),
                     desired.error().what);
        }
      }
    }
    log_.debug("event.planned issue={} updated_at={} apply={} ops={} reason=\"{}\"", id.display(),
               ev->updated_at_text, p.apply, p.ops.size(), p.reason);
    store_.inbox_remove(row.id);
    ++stats_.events_planned;
  }
  tx.commit();
  return rows.size() == plan_batch;
}

net::awaitable<bool> engine::ensure_connected() {
  const auto now = std::chrono::steady_clock::now();
  if (client_.connected() && !auth_blocked_) co_return true;
  if (now < next_connect_attempt_) co_return false;
  auto r = co_await client_.connect();
  if (r) {
    if (auth_blocked_) log_.info("psa.unblocked ConnectWise accepts the credentials again; sending resumes");
    auth_blocked_ = false;
    connect_failures_ = 0;
    co_return true;
  }
  ++connect_failures_;
  const auto& f = r.error();
  if (f.what == psa::psa_failure::kind::auth) {
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
  if (stopping_ || in_flight_.size() >= max) return;
  auto due = store_.due_operations(clock_.now(), max + in_flight_.size());
  for (auto& op : due) {
    if (in_flight_.size() >= max) break;
    if (in_flight_.contains(op.issue)) continue;
    in_flight_.insert(op.issue);
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
    engine& e;
    std::int64_t issue;
    ~release() { e.in_flight_.erase(issue); }
  } guard{*this, op.issue};

  auto issue = store_.get_issue(op.issue);
  if (!issue) {
    store_.fail_operation(op.id, "issue row missing", clock_.now());
    co_return;
  }
  switch (parse_op_kind(op.kind).value_or(op_kind::create)) {
    case op_kind::create: co_await execute_create(op, *issue); break;
  }
}

net::awaitable<psa::psa_result<psa::ticket_create>> engine::resolve(const json& d, bool refresh) {
  using psa::psa_failure;
  const auto now = std::chrono::steady_clock::now();
  if (!lookups_ || refresh || now - lookups_->fetched > lookup_max_age) {
    auto boards = co_await client_.boards();
    if (!boards) co_return boards.error();
    auto priorities = co_await client_.priorities();
    if (!priorities) co_return priorities.error();
    lookups_ = lookups{std::move(*boards), {}, std::move(*priorities), now};
  }
  const std::string board_name = str(d, "board"), status_name = str(d, "status"), priority_name = str(d, "priority");
  auto board = psa::resolve_name(lookups_->boards, board_name);
  if (!board)
    co_return psa_failure{psa_failure::kind::rejected, 0, {}, not_found_message("board", board_name, lookups_->boards)};
  if (!lookups_->statuses.contains(board->id)) {
    auto statuses = co_await client_.board_statuses(board->id);
    if (!statuses) co_return statuses.error();
    // Other operations may have refreshed lookups_ while this one waited.
    lookups_->statuses[board->id] = std::move(*statuses);
  }
  const auto& board_statuses = lookups_->statuses.at(board->id);
  auto status = psa::resolve_name(board_statuses, status_name);
  if (!status)
    co_return psa_failure{psa_failure::kind::rejected, 0, {},
                          not_found_message("status", status_name, board_statuses) + " on board '" + board_name + "'"};
  auto priority = psa::resolve_name(lookups_->priorities, priority_name);
  if (!priority)
    co_return psa_failure{psa_failure::kind::rejected, 0, {},
                          not_found_message("priority", priority_name, lookups_->priorities)};
  psa::ticket_create t;
  t.summary = str(d, "summary");
  t.company_identifier = str(d, "company");
  t.board_id = board->id;
  t.status_id = status->id;
  t.priority_id = priority->id;
  t.initial_description = str(d, "description");
  t.external_xref = str(d, "external_xref");
  co_return t;
}

net::awaitable<void> engine::execute_create(const store::operation_record& op, const store::issue_record& issue) {
  const std::string key = issue.identity.display();
  if (issue.ticket_id) {  // adopted or created by an earlier operation
    store_.complete_operation(op.id, clock_.now());
    co_return;
  }
  // A previous attempt may have created the ticket without us learning its
  // id (timeout, reset, crash after sending): look it up before sending again.
  if (op.sent) {
    auto found = co_await client_.find_ticket_by_xref(issue.correlation_key);
    if (!found) {
      on_failure(op, found.error(), false);
      co_return;
    }
    if (*found) {
      const sys_ms now = clock_.now();
      store::store::transaction tx(store_);
      store_.set_ticket(issue.id, (*found)->id, (*found)->closed ? store::ticket_state::closed : store::ticket_state::open,
                        now);
      store_.complete_operation(op.id, now);
      tx.commit();
      ++stats_.tickets_adopted;
      log_.info("ticket.adopted issue={} ticket={} (created by an earlier attempt whose answer was lost)", key,
                (*found)->id);
      co_return;
    }
  }
  const json desired = json::parse(op.payload, nullptr, false);
  auto body = co_await resolve(desired, false);
  if (!body) {
    on_failure(op, body.error(), false);
    co_return;
  }
  store_.mark_sent(op.id, clock_.now());  // committed before the request leaves
  auto created = co_await client_.create_ticket(*body);
  if (!created) {
    on_failure(op, created.error(), true);
    co_return;
  }
  const sys_ms now = clock_.now();
  store::store::transaction tx(store_);
  store_.set_ticket(issue.id, created->id, created->closed ? store::ticket_state::closed : store::ticket_state::open,
                    now);
  store_.complete_operation(op.id, now);
  tx.commit();
  ++stats_.tickets_created;
  log_.info("ticket.created issue={} ticket={} company={} board_id={} priority_id={}", key, created->id,
            body->company_identifier, body->board_id, body->priority_id);
}

sys_ms engine::backoff_until(int attempts) {
  return clock_.now() + backoff_delay(backoff_, attempts, std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
}

void engine::on_failure(const store::operation_record& op, const psa::psa_failure& f, bool post_stage) {
  using kind = psa::psa_failure::kind;
  const sys_ms now = clock_.now();
  const int attempts = op.attempts + (post_stage ? 1 : 0);
  // After the POST stage, the only earlier uncertainty was resolved by the
  // lookup, so an answer that proves the request was not applied clears `sent`.
  const bool certain_not_applied = post_stage && !f.maybe_applied;
  switch (f.what) {
    case kind::rejected:
      store_.fail_operation(op.id, f.to_string(), now);
      ++stats_.dead;
      log_.error("op.dead_lettered op={} kind={} error=\"{}\" field={}", op.id, op.kind, f.to_string(), f.cw.field());
      return;
    case kind::auth:
      auth_blocked_ = true;
      next_connect_attempt_ = std::chrono::steady_clock::now() + auth_probe_interval;
      store_.retry_operation(op.id, now + auth_probe_interval, f.to_string(), certain_not_applied, now);
      log_.error("psa.blocked ConnectWise answered {}: the API member's keys are wrong or its security role lacks a "
                 "permission (Service Desk > Service Tickets: Add/Edit/Inquire; Companies > Company Maintenance: "
                 "Inquire; System > Table Setup: Inquire); sending paused",
                 f.to_string());
      return;
    case kind::throttled:
      store_.retry_operation(op.id, now + f.retry_after, f.to_string(), certain_not_applied, now);
      log_.warn("psa.throttled op={} retry_after_ms={}", op.id, f.retry_after.count());
      break;
    case kind::transport:
    case kind::server:
    case kind::protocol:
      store_.retry_operation(op.id, backoff_until(std::max(1, attempts)), f.to_string(), certain_not_applied, now);
      log_.warn("op.retry op={} kind={} attempt={} error=\"{}\"", op.id, op.kind, attempts, f.to_string());
      break;
  }
  ++stats_.retries;
}

}  // namespace ts::sync
