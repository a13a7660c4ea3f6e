// The subcommands: wiring of the library's parts, nothing more. `run` builds
// one io_context with the intake watcher and the sync engine as coroutines.
#include "commands.hpp"

#include "config/config_loader.hpp"
#include "core/clock.hpp"
#include "intake/event_parser.hpp"
#include "intake/spool.hpp"
#include "intake/spool_watcher.hpp"
#include "ops/logging.hpp"
#include "ops/sd_notify.hpp"
#include "psa/cw_client.hpp"
#include "store/store.hpp"
#include "sync/driver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

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

std::optional<std::string> read_input(const std::string& file, std::string& error) {
  std::ostringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = "cannot open";
    return std::nullopt;
  }
  ss << in.rdbuf();
  return ss.str();
}

/// SIGHUP: re-reads the file; a valid one swaps its mapping in (between
/// operations: this runs on the event loop), an invalid one is logged and the
/// running mapping stays. Sections that need a restart are named when changed.
void reload(const std::string& path, const config::config& running, sync::engine& engine, spdlog::logger& log) {
  ops::notify_reloading();
  auto loaded = config::load_config(path);
  if (!loaded.cfg) {
    for (const auto& e : loaded.errors) log.error("config.invalid {}", e.to_string());
    log.error("config.reload_failed path={} errors={}; the running configuration stays in effect", path,
              loaded.errors.size());
    ops::notify_ready();
    return;
  }
  const config::config& next = *loaded.cfg;
  std::vector<std::string> restart;
  if (next.psa.site != running.psa.site || next.psa.company_id != running.psa.company_id ||
      next.psa.public_key != running.psa.public_key || next.psa.client_id != running.psa.client_id ||
      next.psa.private_key.ref != running.psa.private_key.ref || next.psa.ca_file != running.psa.ca_file ||
      next.psa.max_connections != running.psa.max_connections ||
      next.psa.requests_per_minute != running.psa.requests_per_minute)
    restart.emplace_back("psa");
  if (next.storage.database != running.storage.database) restart.emplace_back("storage");
  if (next.intake.spool_dir != running.intake.spool_dir || next.intake.batch_size != running.intake.batch_size ||
      next.intake.max_event_bytes != running.intake.max_event_bytes)
    restart.emplace_back("intake");
  const std::size_t rules = next.rules.size();
  const std::int64_t released = engine.reload(std::make_shared<const config::config>(std::move(*loaded.cfg)));
  log.info("config.reloaded path={} rules={} held_released={}", path, rules, released);
  for (const auto& section : restart)
    log.warn("config.restart_needed section={} changed; it takes effect at the next restart", section);
  ops::notify_ready();
}

}  // namespace

int cmd_check_config(const std::string& config_path) {
  auto cfg = load_or_report(config_path);
  if (!cfg) return 2;
  std::string why;
  if (!config::resolve_secret(cfg->psa.private_key, &why)) {
    std::cerr << config_path << ": psa.private_key: " << why << "\n";
    return 2;
  }
  std::cout << config_path << ": OK\n";
  return 0;
}

int cmd_submit(const std::string& config_path, const std::vector<std::string>& files, bool validate) {
  auto cfg = load_or_report(config_path);
  if (!cfg) return 2;
  const auto paths = intake::spool_paths::under(cfg->intake.spool_dir);
  intake::ensure_spool(paths);
  int failures = 0;
  for (const auto& file : files) {
    std::string error;
    auto content = read_input(file, error);
    if (!content) {
      std::cerr << file << ": " << error << "\n";
      ++failures;
      continue;
    }
    if (content->size() > cfg->intake.max_event_bytes) {
      std::cerr << file << ": " << content->size() << " bytes, larger than intake.max_event_size ("
                << cfg->intake.max_event_bytes << ")\n";
      ++failures;
      continue;
    }
    if (validate) {
      auto ev = intake::parse_event(*content);
      if (!ev) {
        std::cerr << file << ": " << ev.error().to_string() << "\n";
        ++failures;
        continue;
      }
    }
    const std::string name = intake::spool_write(paths, *content);
    std::cout << file << " -> " << (paths.fresh / name).string() << "\n";
  }
  return failures == 0 ? 0 : 1;
}

int cmd_run(const std::string& config_path) {
  auto cfg_opt = load_or_report(config_path);
  if (!cfg_opt) return 2;
  auto shared_cfg = std::make_shared<const config::config>(std::move(*cfg_opt));
  const config::config& cfg = *shared_cfg;
  auto log = ops::make_logger("ticketsyncd", ops::parse_level(cfg.logging.level).value_or(spdlog::level::info));

  std::string why;
  auto private_key = config::resolve_secret(cfg.psa.private_key, &why);
  if (!private_key) {
    log->critical("config.invalid psa.private_key: {}", why);
    return 2;
  }

  try {
    store::store st(cfg.storage.database);
    const auto counts = st.get_counts();
    log->info("store.opened path={} schema={} inbox={} issues={} pending_ops={} dead_ops={}", cfg.storage.database,
              st.schema_version(), counts.inbox, counts.issues, counts.pending, counts.dead);

    net::io_context ioc(1);
    ts::system_clock clk;
    psa::cw_client client(ioc.get_executor(), cfg.psa, std::move(*private_key), *log);
    sync::engine engine(ioc.get_executor(), st, shared_cfg, client, *log, clk);
    intake::spool_watcher watcher(ioc.get_executor(), cfg.intake, st, *log, clk, [&engine] { engine.notify(); });
    watcher.prepare();

    int exit_code = 0;
    int running = 2;
    net::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    auto on_done = [&](const char* what) {
      return [&, what](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log->critical("daemon.failed {} stopped: {}", what, ex.what());
          }
          exit_code = 1;
          watcher.stop();
          engine.stop();
        }
        if (--running == 0) {
          // Both loops are done (the engine drained within its bound): stop
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
        reload(config_path, cfg, engine, *log);
        signals.async_wait(on_signal);
        return;
      }
      log->info("daemon.stopping signal={}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      ops::notify_stopping();
      watcher.stop();
      engine.stop();
    };
    signals.async_wait(on_signal);

    net::co_spawn(ioc, watcher.run(), on_done("intake"));
    net::co_spawn(ioc, engine.run(), on_done("sync"));
    // Ready: store open, migrations applied; uncertain operations are
    // recovered by the engine as it runs. The PSA need not be reachable.
    ops::notify_ready();
    log->info("daemon.ready spool={} database={} psa={}", cfg.intake.spool_dir, cfg.storage.database, cfg.psa.site);
    ioc.run();
    log->info("daemon.stopped intake_accepted={} intake_rejected={} tickets_created={} tickets_adopted={}",
              watcher.stats().accepted, watcher.stats().rejected, engine.stats().tickets_created,
              engine.stats().tickets_adopted);
    return exit_code;
  } catch (const std::exception& e) {
    log->critical("daemon.failed {}", e.what());
    return 1;
  }
}

}  // namespace ts::daemon
