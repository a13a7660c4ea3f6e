#include "sync/engine.hpp"

#include "core/overloaded.hpp"
#include "sources/event_parser.hpp"
#include "sync/op_machine.hpp"

#include <boost/asio/co_spawn.hpp>

#include <unistd.h>

namespace ts::sync {

namespace net = boost::asio;

namespace {

constexpr std::size_t plan_batch = 256;
// The idle loop looks at the outbox at least this often: the operator CLI
// (`deadletter retry`, another process) makes operations due without a notify.
constexpr auto idle_poll = std::chrono::seconds{2};

spdlog::level::level_enum level_of(notice::level l) {
  switch (l) {
    case notice::level::debug: return spdlog::level::debug;
    case notice::level::info: return spdlog::level::info;
    case notice::level::warn: return spdlog::level::warn;
    case notice::level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

//------------------------------------------------------------------------------
// Reading and writing the store (shared with explain)

ingest_snapshot read_snapshot(store::store& st, const event& ev, const config::config& cfg, sys_ms now,
                              const std::set<std::int64_t>& in_flight) {
  ingest_snapshot snap;
  snap.issue = st.find_issue({ev.source, ev.tenant, ev.issue_id});
  if (snap.issue) {
    snap.newest_op = st.newest_pending_operation(snap.issue->id);
    snap.newest_op_in_flight = snap.newest_op && in_flight.contains(snap.newest_op->id);
  }
  const ingest_reads reads = reads_for(ev, snap.issue, cfg, now);
  if (reads.storm) {
    snap.tenant_creates_last_hour = st.creates_since(ev.tenant, now - std::chrono::hours{1});
    snap.digest_issue = st.find_issue(reads.digest);
  }
  return snap;
}

void apply_writes(store::store& st, const std::vector<write>& writes, sys_ms now, std::int64_t self) {
  std::int64_t digest = 0;
  const auto id_of = [&](const issue_ref& r) {
    switch (r.of) {
      case issue_ref::which::self: return self;
      case issue_ref::which::digest: return digest;
      case issue_ref::which::id: break;
    }
    return r.id;
  };
  for (const write& w : writes) {
    std::visit(overloaded{
                   [&](const wr::save_issue& s) {
                     if (!s.digest_of) {
                       const std::int64_t id = st.save_issue(s.rec, now);
                       (s.as == issue_ref::which::digest ? digest : self) = id;
                       return;
                     }
                     issue_record rec = s.rec;
                     rec.digest = id_of(*s.digest_of);
                     const std::int64_t id = st.save_issue(rec, now);
                     (s.as == issue_ref::which::digest ? digest : self) = id;
                   },
                   [&](const wr::update_issue& u) {
                     st.update_issue(u.issue,
                                     store::issue_update{u.phase, u.phase_from_ticket, u.tech_closed, u.generation,
                                                         u.desired, u.rule},
                                     now);
                   },
                   [&](const wr::set_ticket& t) { st.set_ticket(t.issue, t.ticket, t.state, now); },
                   [&](const wr::set_applied& a) { st.set_applied(a.issue, a.applied, now); },
                   [&](const wr::set_seen& v) { st.set_seen(v.issue, v.seen, now); },
                   [&](const wr::reverse_mark& m) { st.set_reverse_mark(m.name, m.value, now); },
                   [&](const wr::remove_hints& h) { st.remove_ticket_hints(h.ids); },
                   [&](const wr::add_operation& a) {
                     op_payload payload = a.payload;
                     if (a.member) payload.member = id_of(*a.member);
                     const std::int64_t op = st.add_operation(id_of(a.issue), a.kind, payload, now);
                     if (a.dead) st.fail_operation(op, *a.dead, now);
                   },
                   [&](const wr::mark_sent& m) { st.mark_sent(m.op, m.payload, now); },
                   [&](const wr::advance_step& a) { st.advance_step(a.op, a.step, now); },
                   [&](const wr::complete& c) { st.complete_operation(c.op, now); },
                   [&](const wr::retry& r) {
                     st.retry_operation(r.op, store::retry_plan{r.next, r.error, r.clear_sent, r.counts, r.cause}, now);
                   },
                   [&](const wr::dead_letter& d) { st.fail_operation(d.op, d.info, now); },
                   [&](const wr::clear_rerender& c) { st.clear_rerender(c.op, now); },
                   [&](const wr::history& h) { st.add_history(id_of(h.issue), h.kind, h.op, h.detail, now); },
                   [&](const wr::hold_event& h) {
                     st.hold_event(store::inbox_row{h.inbox_id, h.received_at, h.origin, h.body}, h.source, h.tenant,
                                   h.reason, now);
                   },
                   [&](const wr::runtime& r) { st.set_runtime(r.key, r.value, now); },
                   [&](const wr::put_directory& d) { st.put_directory(d.kind, d.scope, d.body, d.fetched_at); },
               },
               w);
  }
}

//------------------------------------------------------------------------------
// engine

engine::engine(net::any_io_executor ex, engine_deps deps, std::shared_ptr<const config::config> cfg)
    : ex_(ex),
      deps_(deps),
      cfg_(std::move(cfg)),
      rules_(std::make_shared<const rules::ruleset>(cfg_)),
      wake_(ex, deps.timers),
      link_(deps.timers.clk().now()),
      pacer_(cfg_->psa.requests_per_minute) {}

std::int64_t engine::reload(std::shared_ptr<const config::config> cfg) {
  cfg_ = std::move(cfg);
  rules_ = std::make_shared<const rules::ruleset>(cfg_);
  pacer_.set_rate(cfg_->psa.requests_per_minute);
  // Names may have changed along with the rules: fetch them again on next use.
  names_.invalidate();
  std::int64_t released = 0;
  {
    store::store::transaction tx(deps_.st);
    released = deps_.st.release_held(deps_.timers.clk().now());
    tx.commit();
  }
  ++stats_.reloads;
  wake_.notify();
  return released;
}

void engine::log_notices(const std::vector<notice>& notices) {
  for (const auto& n : notices) deps_.log.log(level_of(n.lvl), "{}", n.text);
}

net::awaitable<void> engine::commit(std::vector<write> writes) {
  co_await deps_.commits.commit([&] { apply_writes(deps_.st, writes, deps_.timers.clk().now()); });
}

void engine::load_directory() {
  for (const auto& row : deps_.st.directory()) {
    const auto kind = from_text<psa::name_list>(row.kind);
    auto items = name_cache::decode(row.body);
    if (!kind || !items) continue;  // a row this release does not read: fetched again when needed
    names_.put(*kind, row.scope, std::move(*items), row.fetched_at);
  }
}

net::awaitable<void> engine::run(std::chrono::milliseconds drain) {
  const ts::clock& clk = deps_.timers.clk();
  {
    // For `ticketsyncd status` (another process): who runs, since when.
    std::vector<write> rows = link_.started_rows();
    rows.push_back(wr::runtime{"daemon.pid", std::to_string(::getpid())});
    rows.push_back(wr::runtime{"daemon.started_at", format_rfc3339(clk.now())});
    co_await commit(std::move(rows));
  }
  load_directory();
  while (!stopping_) {
    const bool more_inbox = co_await plan_inbox_batch();
    std::optional<steady_time> reverse_due;
    if (co_await ensure_connected()) {
      dispatch();
      reverse_due = start_reverse();
    }
    if (more_inbox) continue;

    // Sleep until the next operation is due, something is notified, or a poll.
    std::chrono::steady_clock::duration wait = idle_poll;
    if (auto due = deps_.st.next_due_time()) {
      // Work already due that dispatch() did not start waits for an operation
      // in flight (same issue, or all connections busy); its completion
      // notifies. Waiting 0 here would spin the loop while requests run.
      const auto until = *due - clk.now();
      if (until > std::chrono::milliseconds{0}) wait = std::min<std::chrono::steady_clock::duration>(until, idle_poll);
    }
    if (!link_.ready(deps_.client.connected()))
      wait = std::min<std::chrono::steady_clock::duration>(wait, std::chrono::seconds{1});
    if (reverse_due)
      wait = std::min<std::chrono::steady_clock::duration>(
          wait,
          std::max<std::chrono::steady_clock::duration>(*reverse_due - clk.steady_now(), std::chrono::milliseconds{1}));
    co_await wake_.wait_for(wait);
  }
  // Drain: in-flight operations finish (their requests have deadlines) or are
  // left in the store as they are, to be recovered at the next start.
  const auto deadline = clk.steady_now() + drain;
  while ((!flight_->issues.empty() || flight_->reverse) && clk.steady_now() < deadline)
    co_await wake_.wait_for(std::chrono::milliseconds{50});
  if (!flight_->issues.empty())
    deps_.log.warn("sync.drain_timeout {} operation(s) still in flight; they will be recovered at the next start",
                   flight_->issues.size());
  try {
    // (Not commit({...}): GCC 12 cannot compile a braced list in a co_await's arguments.)
    std::vector<write> rows{wr::runtime{"daemon.stopped_at", format_rfc3339(clk.now())}};
    co_await commit(std::move(rows));
  } catch (const std::exception& e) {
    deps_.log.warn("store.runtime_write_failed key=daemon.stopped_at error=\"{}\"", e.what());  // only informative
  }
}

net::awaitable<bool> engine::plan_inbox_batch() {
  auto rows = deps_.st.inbox_peek(plan_batch);
  if (rows.empty()) co_return false;
  const std::shared_ptr<const rules::ruleset> rules = rules_;
  const std::shared_ptr<const config::config> cfg = cfg_;
  // Through the group commit: planning shares its sync with the intake's and
  // the operations' writes of the same loop turn.
  co_await deps_.commits.commit([&] {
    const sys_ms now = deps_.timers.clk().now();
    for (const auto& row : rows) {
      auto ev = intake::parse_event(row.body);
      if (!ev) {
        // Intake validated it; this only happens if the schema rules changed.
        deps_.log.error("intake.rejected inbox row {} ({}) no longer validates: {}", row.id, row.origin,
                        ev.error().to_string());
      } else {
        const ingest_snapshot snap = read_snapshot(deps_.st, *ev, *cfg, now, flight_->ops);
        const ingest_result res =
            ingest({*ev, row.body, row.id, row.origin, row.received_at}, snap, *rules, now, stats_);
        apply_writes(deps_.st, res.writes, now, snap.issue ? snap.issue->id : 0);
        log_notices(res.notices);
      }
      deps_.st.inbox_remove(row.id);
    }
  });
  stats_.events_planned += rows.size();
  co_return rows.size() == plan_batch;
}

net::awaitable<void> engine::pace() {
  const ts::clock& clk = deps_.timers.clk();
  const auto wait = pacer_.reserve(clk.steady_now());
  if (wait > std::chrono::milliseconds{1}) {
    ++stats_.rate_waits;
    stats_.rate_wait_seconds += std::chrono::duration<double>(wait).count();
    co_await sleep_until(deps_.timers, clk.steady_now() + wait);
  }
}

net::awaitable<psa::answer> engine::perform(psa::request r, std::vector<write>& link_writes) {
  co_await pace();
  co_return co_await send(std::move(r), link_writes);
}

net::awaitable<psa::answer> engine::send(psa::request r, std::vector<write>& link_writes) {
  const ts::clock& clk = deps_.timers.clk();
  psa::answer a = co_await deps_.client.perform(std::move(r));
  if (!a && a.error().what == psa::psa_failure::kind::throttled) pacer_.pause(clk.steady_now(), a.error().retry_after);
  const std::optional<psa::psa_failure> failure = a ? std::nullopt : std::optional(a.error());
  link_update u = link_.observed(failure ? &*failure : nullptr, clk.steady_now(), clk.now());
  log_notices(u.notices);
  link_writes.insert(link_writes.end(), u.writes.begin(), u.writes.end());
  co_return a;
}

net::awaitable<bool> engine::ensure_connected() {
  const ts::clock& clk = deps_.timers.clk();
  if (link_.ready(deps_.client.connected())) co_return true;
  if (!link_.connect_due(deps_.client.connected(), clk.steady_now())) co_return false;
  std::vector<write> writes;
  auto r = co_await deps_.client.connect();
  if (r) {
    // Warm the name caches once, here, rather than in every operation that
    // starts at the same time; the default board's statuses included.
    while (auto list = next_warmup(names_, cfg_->ticket.board, clk.now())) {
      const psa::answer a = co_await perform(*list, writes);
      const auto* items = psa::reply_as<std::vector<psa::named_ref>>(a);
      if (!a || !items) {
        r = a ? psa::protocol_error(0, "unexpected answer to a lookup") : a.error();
        break;
      }
      names_.put(list->list, list->board, *items, clk.now());
      writes.push_back(
          wr::put_directory{std::string(to_text(list->list)), list->board, name_cache::encode(*items), clk.now()});
    }
  }
  link_update u = r ? link_.connected(clk.steady_now(), clk.now())
                    : link_.connect_failed(r.error(), clk.steady_now(), clk.now(), deps_.random.unit());
  log_notices(u.notices);
  writes.insert(writes.end(), u.writes.begin(), u.writes.end());
  co_await commit(std::move(writes));
  co_return r.has_value();
}

void engine::dispatch() {
  const auto max = static_cast<std::size_t>(std::max(1, cfg_->psa.max_connections));
  if (stopping_ || flight_->issues.size() >= max) return;
  auto due = deps_.st.due_operations(deps_.timers.clk().now(), max + flight_->issues.size());
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
          deps_.log.critical("sync.failed operation task failed: {}", ex.what());
          stopping_ = true;
        }
      }
      wake_.notify();
    });
  }
}

net::awaitable<void> engine::execute(operation_record op) {
  struct release {
    std::shared_ptr<flight> f;  // not the engine: this may run after it is destroyed
    std::int64_t issue, op;
    ~release() {
      f->issues.erase(issue);
      f->ops.erase(op);
    }
  } guard{flight_, op.issue, op.id};
  const ts::clock& clk = deps_.timers.clk();

  auto issue = deps_.st.get_issue(op.issue);
  if (!issue) {
    std::vector<write> dead{wr::dead_letter{op.id, dead_letter_info{0, {}, {}, {}, "unknown operation or issue"}}};
    co_await commit(std::move(dead));
    co_return;
  }
  const std::shared_ptr<const rules::ruleset> rules = rules_;  // the mapping the operation runs under
  op_machine m(std::move(op), std::move(*issue),
               machine_env{*rules, names_, stats_, deps_.random, backoff_, callbacks_live()});
  next_step n = m.start(clk.now());
  for (;;) {
    log_notices(n.notices);
    if (!n.writes.empty()) co_await commit(std::move(n.writes));
    if (!n.request) break;
    // The request's turn first (budget, 429 pause): an operation is marked
    // maybe-sent only once its request can actually leave, so one that dies
    // waiting is not looked up again for nothing.
    co_await pace();
    if (n.mark) {
      std::vector<write> mark{*n.mark};
      co_await commit(std::move(mark));  // durable before the request leaves
    }
    std::vector<write> link_writes;
    const psa::answer a = co_await send(std::move(*n.request), link_writes);
    n = m.resume(a, clk.now());
    n.writes.insert(n.writes.end(), link_writes.begin(), link_writes.end());
  }
}

}  // namespace ts::sync
