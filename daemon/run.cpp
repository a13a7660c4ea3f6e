// `ticketsyncd run`: the daemon, wired from the library's parts and nothing
// more. One io_context runs the intake (spool watcher, event API), the sync
// engine, the admin listener and the keepalive as coroutines; SIGHUP reloads,
// SIGTERM/SIGINT drain and stop.
#include "commands.hpp"

#include "config/config_diff.hpp"
#include "config/config_loader.hpp"
#include "core/clock.hpp"
#include "intake/callback_receiver.hpp"
#include "intake/event_api.hpp"
#include "intake/spool.hpp"
#include "intake/spool_watcher.hpp"
#include "ops/admin_server.hpp"
#include "ops/logging.hpp"
#include "ops/metrics.hpp"
#include "ops/sd_notify.hpp"
#include "psa/cw_callbacks_client.hpp"
#include "psa/cw_client.hpp"
#include "sources/event_parser.hpp"
#include "store/group_commit.hpp"
#include "store/store.hpp"
#include "store/wal_sync.hpp"
#include "sync/engine.hpp"
#include "sync/timer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace ts::daemon {

namespace net = boost::asio;

namespace {

/// Loads the configuration, printing every problem to stderr.
std::optional<config::config> load_or_report(const std::string& path) {
  auto loaded = config::load_config(path);
  for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
  if (!loaded.cfg && loaded.errors.empty()) std::cerr << path << ": cannot load configuration\n";
  return std::move(loaded.cfg);
}

/// The parts a reload reconfigures.
struct reloadable {
  std::shared_ptr<const config::config>& running;  ///< the configuration in effect
  sync::engine& engine;
  intake::spool_watcher& watcher;
  intake::event_api& events;
  intake::callback_receiver& callbacks;
  ops::public_server* public_listener;  ///< none when not configured
  psa::cw_client& client;
  spdlog::logger& log;
};

/// SIGHUP: re-reads the file. An invalid one is logged and the running
/// configuration stays. A valid one is compared with the running one setting
/// by setting (config/config_diff.hpp): what can change live is applied at
/// once (the mapping, the log level, the PSA budget, connection limit,
/// timeouts and response size, the admin token and inbox limit, the intake
/// limits), everything else is named in a config.restart_needed line and
/// keeps its running value until the next start.
bool reload(const std::string& path, reloadable r) {
  ops::notify_reloading();
  auto loaded = config::load_config(path);
  if (!loaded.cfg) {
    for (const auto& e : loaded.errors) r.log.error("config.invalid {}", e.to_string());
    r.log.error("config.reload_failed path={} errors={}; the running configuration stays in effect", path,
                loaded.errors.size());
    ops::notify_ready();
    return false;
  }
  const auto changes = config::diff_config(*r.running, *loaded.cfg);
  auto effective = std::make_shared<const config::config>(config::effective_config(*r.running, *loaded.cfg));
  std::string admin_token;
  if (effective->admin.token.from != config::secret_ref::kind::none) {
    std::string why;
    auto token = config::resolve_secret(effective->admin.token, &why);
    if (!token) {
      r.log.error("config.reload_failed path={} admin.token: {}; the running configuration stays in effect", path, why);
      ops::notify_ready();
      return false;
    }
    admin_token = std::move(*token);
  }
  if (auto level = ops::parse_level(effective->logging.level)) r.log.set_level(*level);
  r.client.reconfigure(effective->psa);
  r.watcher.reconfigure(effective->intake);
  r.events.reconfigure(effective->admin, std::move(admin_token));
  r.callbacks.reconfigure(effective);
  if (r.public_listener && effective->public_listener.tls()) {
    // A renewed certificate is taken without a restart; a bad one leaves the old in use.
    if (auto why = r.public_listener->load_certificate(effective->public_listener.cert_file,
                                                       effective->public_listener.key_file))
      r.log.error("config.reload_failed {}; the public listener keeps its certificate", *why);
  }
  const std::int64_t released = r.engine.reload(effective);
  r.running = effective;
  r.log.info("config.reloaded path={} rules={} held_released={} applied=\"{}\"", path, effective->rules.size(),
             released, config::describe(changes, config::reload_effect::live));
  for (const auto& c : changes)
    if (c.effect == config::reload_effect::restart)
      r.log.warn("config.restart_needed section={} key={} changed; it takes effect at the next restart",
                 c.key.substr(0, c.key.find('.')), c.key);
  ops::notify_ready();
  return true;
}

/// Registers ConnectWise callbacks for the boards of `cfg` (none without
/// reverse.callback_url): at start and after each reload, so a board a reload
/// adds gets its callback. A failure is logged; the sweep hears changes anyway.
net::awaitable<void> reconcile_task(psa::cw_client& client, std::shared_ptr<const config::config> cfg,
                                    spdlog::logger& log) {
  co_await psa::reconcile_callbacks(client, *cfg, log);
}

double unix_seconds(sys_ms t) { return static_cast<double>(to_unix_ms(t)) / 1000.0; }

/// The running daemon's parts that the admin listener, the watchdog and the
/// status line look at.
struct runtime {
  const config::config& cfg;
  store::store& st;
  sync::engine& engine;
  store::group_commit& commits;
  intake::spool_watcher& watcher;
  ops::metrics& metrics;
  const ts::clock& clk;
  const char* const psa_states[4] = {"connected", "connecting", "unreachable", "blocked"};
  store::wal_sync* wal = nullptr;  ///< set once the sync thread runs

  /// Copies the current state into the gauges (and counters kept elsewhere).
  void refresh() {
    const auto counts = st.get_counts();
    metrics.set("ticketsync_inbox_depth", static_cast<double>(counts.inbox));
    metrics.set("ticketsync_held_events", static_cast<double>(counts.held));
    metrics.set("ticketsync_outbox_pending", static_cast<double>(counts.pending));
    metrics.set("ticketsync_dead_letters", static_cast<double>(counts.dead));
    metrics.set("ticketsync_operations_in_flight", static_cast<double>(engine.in_flight()));
    const auto& es = engine.stats();
    for (const auto& [key, n] : es.operations)
      metrics.set("ticketsync_operations_total", {{"kind", key.first}, {"outcome", key.second}},
                  static_cast<double>(n));
    metrics.set("ticketsync_tickets_created_total", static_cast<double>(es.tickets_created));
    metrics.set("ticketsync_retries_total", static_cast<double>(es.retries));
    for (const auto& [cause, n] : es.recovery_lookups)
      metrics.set("ticketsync_recovery_lookups_total", {{"cause", cause}}, static_cast<double>(n));
    metrics.set("ticketsync_dead_letters_total", static_cast<double>(es.dead));
    metrics.set("ticketsync_storm_digested_total", static_cast<double>(es.digested));
    metrics.set("ticketsync_technician_closed_total", static_cast<double>(es.technician_closed));
    for (const auto& [what, n] : es.ticket_changes)
      metrics.set("ticketsync_ticket_changes_total", {{"change", what}}, static_cast<double>(n));
    metrics.set("ticketsync_sweeps_total", {{"result", "ok"}}, static_cast<double>(es.sweeps));
    metrics.set("ticketsync_sweeps_total", {{"result", "failed"}}, static_cast<double>(es.sweep_failures));
    metrics.set("ticketsync_store_commits_total", static_cast<double>(commits.batches()));
    metrics.set("ticketsync_store_commit_writes_total", static_cast<double>(commits.writes()));
    metrics.set("ticketsync_rate_limit_waits_total", static_cast<double>(es.rate_waits));
    metrics.set("ticketsync_rate_limit_wait_seconds_total", es.rate_wait_seconds);
    if (wal) {
      metrics.set("ticketsync_store_syncs_total", static_cast<double>(wal->syncs()));
      metrics.set("ticketsync_store_checkpoints_total", {{"result", "ok"}}, static_cast<double>(wal->checkpoints()));
      metrics.set("ticketsync_store_checkpoints_total", {{"result", "failed"}},
                  static_cast<double>(wal->checkpoint_failures()));
    }
    metrics.set("ticketsync_events_received_total", {{"via", "spool"}}, static_cast<double>(watcher.stats().accepted));
    metrics.set("ticketsync_events_rejected_total", {{"via", "spool"}, {"reason", "invalid_file"}},
                static_cast<double>(watcher.stats().rejected));
    const auto& conn = engine.connection();
    const std::string_view state = to_text(conn.state);
    metrics.set("ticketsync_psa_connected", state == "connected" ? 1 : 0);
    for (const char* s : psa_states) metrics.set("ticketsync_psa_state", {{"state", s}}, state == s ? 1 : 0);
    metrics.set("ticketsync_psa_last_success_timestamp_seconds",
                conn.last_success ? unix_seconds(*conn.last_success) : 0.0);
  }

  std::string status_line() {
    const auto counts = st.get_counts();
    return "inbox " + std::to_string(counts.inbox) + ", outbox " + std::to_string(counts.pending) + " (in flight " +
           std::to_string(engine.in_flight()) + "), dead letters " + std::to_string(counts.dead) + ", held " +
           std::to_string(counts.held) + "; PSA " + std::string(to_text(engine.connection().state));
  }

  ops::readiness readiness() {
    ops::readiness r;
    try {
      (void)st.inbox_depth();
    } catch (const std::exception& e) {
      r.store_error = e.what();
    }
    r.psa_state = to_text(engine.connection().state);
    r.psa_error = engine.connection().last_error;
    return r;
  }
};

/// WATCHDOG=1 at half the interval systemd expects, from a timer on the
/// event loop: a loop that stops turning stops the pings, and systemd
/// restarts the daemon. STATUS= every 10 s for `systemctl status`.
net::awaitable<void> keepalive(runtime& rt, std::optional<std::chrono::microseconds> watchdog) {
  net::steady_timer timer(co_await net::this_coro::executor);
  const auto tick = watchdog ? std::min<std::chrono::steady_clock::duration>(*watchdog / 2, std::chrono::seconds{10})
                             : std::chrono::steady_clock::duration{std::chrono::seconds{10}};
  auto next_status = rt.clk.steady_now();
  for (;;) {
    if (watchdog) ops::notify_watchdog();
    if (rt.clk.steady_now() >= next_status) {
      try {
        ops::notify_status(rt.status_line());
      } catch (const std::exception&) {
        // The store is busy or failing: the next tick tries again.
      }
      next_status = rt.clk.steady_now() + std::chrono::seconds{10};
    }
    timer.expires_after(tick);
    auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace

int cmd_run(const std::string& config_path) {
  auto cfg_opt = load_or_report(config_path);
  if (!cfg_opt) return 2;
  auto shared_cfg = std::make_shared<const config::config>(std::move(*cfg_opt));
  const config::config& cfg = *shared_cfg;
  auto log = ops::make_logger(
      "ticketsyncd", ops::parse_level(cfg.logging.level).value_or(spdlog::level::info), false,
      cfg.logging.fmt == config::logging_config::format::json ? ops::log_format::json : ops::log_format::text);

  std::string why;
  auto private_key = config::resolve_secret(cfg.psa.private_key, &why);
  if (!private_key) {
    log->critical("config.invalid psa.private_key: {}", why);
    return 2;
  }
  std::string admin_token;
  if (cfg.admin.token.from != config::secret_ref::kind::none) {
    auto token = config::resolve_secret(cfg.admin.token, &why);
    if (!token) {
      log->critical("config.invalid admin.token: {}", why);
      return 2;
    }
    admin_token = std::move(*token);
  }

  try {
    store::store st(cfg.storage.database);
    const auto counts = st.get_counts();
    log->info("store.opened path={} schema={} inbox={} issues={} pending_ops={} dead_ops={}", cfg.storage.database,
              st.schema_version(), counts.inbox, counts.issues, counts.pending, counts.dead);

    net::io_context ioc(1);
    ts::system_clock clk;
    ts::system_random random;
    sync::real_timers timers(clk);
    ops::metrics metrics;
    ops::declare_ticketsync_metrics(metrics);
    metrics.set("ticketsync_process_start_time_seconds", unix_seconds(clk.now()));
    metrics.set("ticketsync_config_last_reload_success", 1);

    psa::cw_client client(ioc.get_executor(), cfg.psa, *private_key, *log, clk);
    private_key.reset();  // the client keeps only the Authorization value it made
    client.on_call([&metrics](const psa::call_record& c) {
      metrics.add("ticketsync_psa_requests_total", {{"endpoint", c.endpoint}, {"status", std::to_string(c.status)}});
      metrics.observe("ticketsync_psa_request_duration_seconds", {{"endpoint", c.endpoint}}, c.took.count());
    });
    store::group_commit commits(ioc.get_executor(), st);
    sync::engine engine(ioc.get_executor(), sync::engine_deps{st, commits, client, *log, timers, random}, shared_cfg);
    intake::spool_watcher watcher(ioc.get_executor(), cfg.intake, st, commits, *log, timers,
                                  [&engine] { engine.notify(); });
    watcher.prepare();
    runtime rt{cfg, st, engine, commits, watcher, metrics, clk};

    intake::event_api events(cfg.admin, admin_token, st, commits, metrics, *log, clk, [&engine] { engine.notify(); });
    std::optional<ops::admin_server> admin;
    if (cfg.admin.enabled()) {
      admin.emplace(
          ioc.get_executor(), cfg.admin,
          [&](ops::admin_request req) -> net::awaitable<ops::admin_reply> {
            auto routed = ops::route_admin(req);  // ops/admin_routes.hpp: the pure part
            if (!routed.route) co_return routed.reply;
            switch (*routed.route) {
              case ops::admin_route::events: co_return co_await events.post(std::move(req));
              case ops::admin_route::metrics: rt.refresh(); co_return ops::metrics_reply(metrics.render());
              case ops::admin_route::healthz: co_return ops::healthz_reply();
              case ops::admin_route::readyz: co_return ops::readiness_reply(rt.readiness());
            }
            co_return ops::json_error(500, "unrouted");
          },
          *log, timers);
      admin->open();  // throws naming the socket or address it cannot use
    }

    // The public listener: ConnectWise's callbacks (intake/callback_receiver.hpp).
    const auto key_source = intake::https_key_source(ioc.get_executor(), cfg.psa, clk);
    intake::callback_receiver callbacks(shared_cfg, st, commits, *key_source, metrics, *log, clk,
                                        [&engine] { engine.hints_arrived(); });
    std::shared_ptr<const config::config> running_cfg = shared_cfg;  // what a reload swaps
    std::optional<ops::public_server> public_listener;
    if (cfg.public_listener.enabled()) {
      public_listener.emplace(
          ioc.get_executor(), cfg.public_listener,
          [&](ops::admin_request req) -> net::awaitable<ops::admin_reply> {
            const std::string path = req.target.substr(0, req.target.find('?'));
            if (path != running_cfg->reverse.callback_path) co_return ops::json_error(404, "no such endpoint");
            if (req.method != "POST") {
              auto r = ops::json_error(405, "callbacks are POSTed");
              r.headers.emplace_back("Allow", "POST");
              co_return r;
            }
            co_return co_await callbacks.post(std::move(req));
          },
          *log, timers);
      if (cfg.public_listener.tls())
        if (auto why = public_listener->load_certificate(cfg.public_listener.cert_file, cfg.public_listener.key_file))
          throw std::runtime_error(*why);
      public_listener->open();  // throws naming the address it cannot use
    }
    int exit_code = 0;
    int running = (admin ? 3 : 2) + (public_listener ? 1 : 0);
    net::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    auto stop_all = [&] {
      events.stop();
      callbacks.stop();
      if (admin) admin->stop();
      if (public_listener) public_listener->stop();
      watcher.stop();
      engine.stop();
    };
    auto on_done = [&](const char* what) {
      return [&, what](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log->critical("daemon.failed {} stopped: {}", what, ex.what());
          }
          exit_code = 1;
          stop_all();
        }
        if (--running == 0) {
          // Every loop is done (the engine drained within its bound): stop
          // now rather than wait on requests still in flight; what they were
          // doing is in the store and is recovered at the next start.
          signals.cancel();
          ioc.stop();
        }
      };
    };
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        const bool ok = reload(config_path, reloadable{running_cfg, engine, watcher, events, callbacks,
                                                       public_listener ? &*public_listener : nullptr, client, *log});
        if (ok && !running_cfg->reverse.callback_url.empty())
          net::co_spawn(ioc, reconcile_task(client, running_cfg, *log), net::detached);
        metrics.add("ticketsync_config_reloads_total", {{"result", ok ? "ok" : "failed"}});
        metrics.set("ticketsync_config_last_reload_success", ok ? 1 : 0);
        metrics.set("ticketsync_config_last_reload_timestamp_seconds", unix_seconds(clk.now()));
        try {
          // For `ticketsyncd status`.
          st.set_runtime("config.last_reload",
                         std::string(ok ? "ok" : "failed (the previous mapping stays in effect)") + " at " +
                             format_rfc3339(clk.now()),
                         clk.now());
        } catch (const std::exception& e) {
          log->warn("store.runtime_write_failed key=config.last_reload error=\"{}\"", e.what());
        }
        signals.async_wait(on_signal);
        return;
      }
      log->info("daemon.stopping signal={}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      ops::notify_stopping();
      stop_all();
    };
    signals.async_wait(on_signal);

    // Commits are made durable by a thread of their own, so that the event
    // loop never waits in fsync (store/wal_sync.hpp). A failed sync is final:
    // stop, and let systemd restart us onto what is on disk.
    store::wal_sync_options wal_options;
    wal_options.on_failure = [&](std::exception_ptr e) {
      net::post(ioc, [&, e] {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log->critical("store.sync_failed {}; stopping", ex.what());
        }
        exit_code = 1;
        stop_all();
      });
    };
    store::wal_sync wal(st, std::move(wal_options));
    commits.sync_with(&wal);
    rt.wal = &wal;

    net::co_spawn(ioc, watcher.run(), on_done("intake"));
    net::co_spawn(ioc, engine.run(), on_done("sync"));
    if (admin) net::co_spawn(ioc, admin->run(), on_done("admin"));
    if (public_listener) net::co_spawn(ioc, public_listener->run(), on_done("public"));
    if (!cfg.reverse.callback_url.empty()) net::co_spawn(ioc, reconcile_task(client, shared_cfg, *log), net::detached);
    const auto watchdog = ops::watchdog_interval();
    net::co_spawn(ioc, keepalive(rt, watchdog), net::detached);
    // Ready: store open, migrations applied; uncertain operations are
    // recovered by the engine as it runs. The PSA need not be reachable.
    ops::notify_ready();
    log->info("daemon.ready spool={} database={} psa={} admin_socket={} admin_tcp={} public={}{} watchdog_ms={}",
              cfg.intake.spool_dir, cfg.storage.database, cfg.psa.site,
              cfg.admin.socket.empty() ? "-" : cfg.admin.socket,
              admin && !cfg.admin.listen.empty() ? admin->tcp_address() : "-",
              public_listener ? public_listener->tcp_address() : "-",
              public_listener ? (cfg.public_listener.tls() ? " (tls)" : " (plain http)") : "",
              watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog).count() : 0);
    ioc.run();
    commits.sync_with(nullptr);
    rt.wal = nullptr;
    // Intake by both paths: the spool and POST /v1/events.
    log->info(
        "daemon.stopped intake_accepted={} intake_rejected={} spool_accepted={} api_accepted={} "
        "tickets_created={} tickets_adopted={}",
        watcher.stats().accepted + events.accepted(), watcher.stats().rejected + events.rejected(),
        watcher.stats().accepted, events.accepted(), engine.stats().tickets_created, engine.stats().tickets_adopted);
    return exit_code;
  } catch (const std::exception& e) {
    log->critical("daemon.failed {}", e.what());
    return 1;
  }
}

}  // namespace ts::daemon
