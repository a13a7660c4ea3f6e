// `ticketsyncd callbacks register|list|remove`: ticketsync's ConnectWise
// callback entries (one board-level ticket callback at reverse.callback_url
// per board it writes to). The decisions are psa/cw_callbacks (pure) and
// reconcile_callbacks (psa/cw_callbacks_client, shared with the daemon); this
// file gathers and prints. Entries that are not ticketsync's are counted,
// never shown in detail and never changed.
#include "commands.hpp"
#include "operator_common.hpp"

#include "core/clock.hpp"
#include "psa/cw_callbacks.hpp"
#include "psa/cw_callbacks_client.hpp"
#include "psa/cw_client.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

namespace ts::daemon {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

/// `s` for a terminal: control characters (C0 and DEL) shown as '?'.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

std::string board_text(std::int64_t id, const std::string& name) {
  return name.empty() ? "board " + std::to_string(id) : "board '" + printable(name) + "' (" + std::to_string(id) + ")";
}

json entry_json(const psa::callback_entry& e, const std::string& board_name) {
  return {{"id", e.id},
          {"board_id", e.object_id},
          {"board", board_name.empty() ? json(nullptr) : json(board_name)},
          {"url", e.url},
          {"type", e.type},
          {"level", e.level},
          {"active", !e.inactive},
          {"description", e.description}};
}

/// What one action leaves for main: the exit status.
struct outcome {
  int status = 0;
};

/// Board id -> name, from GET /service/boards; empty when that fails (names are decoration here).
net::awaitable<std::map<std::int64_t, std::string>> board_names(psa::cw_client& client) {
  std::map<std::int64_t, std::string> out;
  auto boards = co_await client.boards();
  if (boards)
    for (const auto& b : *boards) out[b.id] = b.name;
  co_return out;
}

std::string name_of(const std::map<std::int64_t, std::string>& names, std::int64_t id) {
  auto it = names.find(id);
  return it == names.end() ? std::string{} : it->second;
}

//------------------------------------------------------------------------------

net::awaitable<outcome> do_register(psa::cw_client& client, const config::config& cfg, spdlog::logger& log,
                                    bool as_json) {
  const psa::callback_report rep = co_await psa::reconcile_callbacks(client, cfg, log);
  using o = psa::callback_report::outcome;
  const auto name = [&](std::int64_t id) { return rep.board_name(id); };
  if (as_json) {
    json doc = {{"url", rep.url}, {"ok", rep.ok()}};
    doc["boards"] = json::array();
    for (const auto& b : rep.boards) doc["boards"].push_back({{"id", b.id}, {"name", b.name}});
    doc["added"] = json::array();
    for (const auto& e : rep.added) doc["added"].push_back(entry_json(e, name(e.object_id)));
    doc["removed"] = json::array();
    for (const auto& r : rep.removed) {
      json j = entry_json(r.entry, name(r.entry.object_id));
      j["why"] = psa::to_text(r.why);
      doc["removed"].push_back(std::move(j));
    }
    doc["kept"] = json::array();
    for (const auto& e : rep.plan.kept) doc["kept"].push_back(entry_json(e, name(e.object_id)));
    doc["covered_by_others"] = json::array();
    for (const auto& e : rep.plan.covered_by_others)
      doc["covered_by_others"].push_back({{"id", e.id}, {"board_id", e.object_id}, {"active", !e.inactive}});
    doc["others"] = rep.plan.others;
    doc["error"] = rep.failure ? json(rep.failure->to_string()) : json(nullptr);
    std::cout << dump(doc) << "\n";
  } else {
    if (rep.result != o::config_error) std::cout << "callbacks to " << printable(rep.url) << "\n";
    for (const auto& r : rep.removed)
      std::cout << "- callback " << r.entry.id << " (" << board_text(r.entry.object_id, name(r.entry.object_id)) << ", "
                << printable(r.entry.url) << "): removed, " << psa::to_text(r.why) << "\n";
    for (const auto& e : rep.added)
      std::cout << "+ " << board_text(e.object_id, name(e.object_id)) << ": added callback " << e.id << "\n";
    for (const auto& e : rep.plan.kept)
      std::cout << "= " << board_text(e.object_id, name(e.object_id)) << ": callback " << e.id
                << " already registered, kept\n";
    for (const auto& e : rep.plan.covered_by_others)
      std::cout << "= " << board_text(e.object_id, name(e.object_id)) << ": entry " << e.id
                << " of another integration already posts there" << (e.inactive ? " (inactive)" : "")
                << "; left alone\n";
    if (rep.ok())
      std::cout << rep.added.size() << " added, " << rep.removed.size() << " removed, " << rep.plan.kept.size()
                << " kept; " << rep.plan.others << " entr" << (rep.plan.others == 1 ? "y" : "ies")
                << " of others left alone\n";
  }
  if (rep.failure) std::cerr << "callbacks register: " << rep.failure->to_string() << "\n";
  switch (rep.result) {
    case o::done:
    case o::off: co_return outcome{0};
    case o::config_error: co_return outcome{2};
    case o::psa_error: co_return outcome{1};
  }
  co_return outcome{1};
}

net::awaitable<outcome> do_list(psa::cw_client& client, bool as_json) {
  auto c = co_await client.connect();
  if (!c) {
    std::cerr << "callbacks list: " << c.error().to_string() << "\n";
    co_return outcome{1};
  }
  auto all = co_await client.list_callbacks();
  if (!all) {
    std::cerr << "callbacks list: " << all.error().to_string() << "\n";
    co_return outcome{1};
  }
  const auto names = co_await board_names(client);
  std::vector<psa::callback_entry> ours;
  std::size_t others = 0;
  for (const auto& e : *all) {
    if (e.ours())
      ours.push_back(e);
    else
      ++others;
  }
  if (as_json) {
    json doc = {{"entries", json::array()}, {"others", others}};
    for (const auto& e : ours) doc["entries"].push_back(entry_json(e, name_of(names, e.object_id)));
    std::cout << dump(doc) << "\n";
    co_return outcome{0};
  }
  if (ours.empty()) {
    std::cout << "no callbacks of ticketsync registered\n";
  } else {
    std::cout << std::left << std::setw(8) << "ID" << std::setw(36) << "BOARD" << std::setw(10) << "STATE"
              << "URL\n";
    for (const auto& e : ours) {
      const std::string level = e.board_level() ? "" : " [" + printable(e.type) + "/" + printable(e.level) + "]";
      std::cout << std::left << std::setw(8) << e.id << std::setw(36)
                << (board_text(e.object_id, name_of(names, e.object_id)) + level) << std::setw(10)
                << (e.inactive ? "inactive" : "active") << printable(e.url) << "\n";
    }
  }
  std::cout << others << " entr" << (others == 1 ? "y" : "ies") << " of others not shown\n";
  co_return outcome{0};
}

net::awaitable<outcome> do_remove(psa::cw_client& client, bool as_json) {
  auto c = co_await client.connect();
  if (!c) {
    std::cerr << "callbacks remove: " << c.error().to_string() << "\n";
    co_return outcome{1};
  }
  auto all = co_await client.list_callbacks();
  if (!all) {
    std::cerr << "callbacks remove: " << all.error().to_string() << "\n";
    co_return outcome{1};
  }
  const auto names = co_await board_names(client);
  std::vector<psa::callback_entry> removed;
  std::size_t others = 0;
  std::optional<psa::psa_failure> failed;
  psa::psa_result<void> d;
  for (const auto& e : *all) {
    if (!e.ours()) {
      ++others;
      continue;
    }
    d = co_await client.delete_callback(e.id);
    if (!d) {
      failed = d.error();
      break;
    }
    removed.push_back(e);
  }
  if (as_json) {
    json doc = {{"removed", json::array()}, {"others", others}};
    for (const auto& e : removed) doc["removed"].push_back(entry_json(e, name_of(names, e.object_id)));
    doc["error"] = failed ? json(failed->to_string()) : json(nullptr);
    std::cout << dump(doc) << "\n";
  } else {
    for (const auto& e : removed)
      std::cout << "- callback " << e.id << " (" << board_text(e.object_id, name_of(names, e.object_id)) << ", "
                << printable(e.url) << "): removed\n";
    if (!failed)
      std::cout << removed.size() << " removed; " << others << " entr" << (others == 1 ? "y" : "ies")
                << " of others left alone\n";
  }
  if (failed) {
    std::cerr << "callbacks remove: " << failed->to_string() << "\n";
    co_return outcome{1};
  }
  co_return outcome{0};
}

}  // namespace

int cmd_callbacks(const std::string& config_path, const std::string& action, bool as_json) {
  if (action != "register" && action != "list" && action != "remove") {
    std::cerr << "callbacks: ACTION is register, list or remove, got '" << printable(action) << "'\n";
    return 2;
  }
  auto cfg = load_quiet_or_report(config_path);
  if (!cfg) return 2;
  if (action == "register" && cfg->reverse.callback_url.empty()) {
    std::cerr << "callbacks register: reverse.callback_url is not set in " << config_path
              << ": set it to the https URL at which ConnectWise reaches the public listener's "
                 "reverse.callback_path (through a proxy or not)\n";
    return 2;
  }
  std::string why;
  auto private_key = config::resolve_secret(cfg->psa.private_key, &why);
  if (!private_key) {
    std::cerr << "callbacks " << action << ": psa.private_key: " << why << "\n";
    return 2;
  }
  auto log = std::make_shared<spdlog::logger>("ticketsyncd", std::make_shared<spdlog::sinks::null_sink_mt>());
  net::io_context ioc(1);
  const ts::system_clock clk;
  psa::cw_client client(ioc.get_executor(), cfg->psa, *private_key, *log, clk);
  std::future<outcome> fut;
  if (action == "register")
    fut = net::co_spawn(ioc, do_register(client, *cfg, *log, as_json), net::use_future);
  else if (action == "list")
    fut = net::co_spawn(ioc, do_list(client, as_json), net::use_future);
  else
    fut = net::co_spawn(ioc, do_remove(client, as_json), net::use_future);
  ioc.run();
  return fut.get().status;
}

}  // namespace ts::daemon
