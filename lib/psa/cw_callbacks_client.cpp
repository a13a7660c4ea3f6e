#include "psa/cw_callbacks_client.hpp"

#include <algorithm>
#include <set>

namespace ts::psa {

namespace net = boost::asio;

std::string callback_report::board_name(std::int64_t id) const {
  for (const auto& b : boards)
    if (b.id == id) return b.name;
  return {};
}

net::awaitable<psa_result<std::vector<callback_board>>> callback_boards(cw_client& client, const config::config& cfg) {
  // Where each distinct board name is used, in configuration order.
  std::vector<std::pair<std::string, std::string>> uses{{cfg.ticket.board, "ticket.board"}};
  for (const auto& r : cfg.rules) {
    const bool seen = std::any_of(uses.begin(), uses.end(), [&](const auto& u) { return u.first == r.ticket.board; });
    if (!seen) uses.emplace_back(r.ticket.board, "rule '" + r.name + "' ticket.board");
  }
  auto all = co_await client.boards();
  if (!all) co_return all.error();
  std::vector<callback_board> out;
  for (const auto& [name, where] : uses) {
    auto found = resolve_name(*all, name);
    if (!found) {
      std::string msg = where + ": board '" + name + "' does not exist in ConnectWise";
      const auto near = closest_names(*all, name);
      for (std::size_t i = 0; i < near.size(); ++i) msg += (i ? ", '" : "; closest: '") + near[i] + "'";
      co_return rejected_error(std::move(msg));
    }
    if (std::none_of(out.begin(), out.end(), [&](const callback_board& b) { return b.id == found->id; }))
      out.push_back({found->id, name});
  }
  co_return out;
}

namespace {

bool duplicate_answer(const psa_failure& f) {
  return f.http_status == 400 &&
         std::any_of(f.cw.errors.begin(), f.cw.errors.end(), [](const auto& e) { return e.code == "ObjectExists"; });
}

}  // namespace

net::awaitable<callback_report> reconcile_callbacks(cw_client& client, const config::config& cfg, spdlog::logger& log) {
  callback_report rep;
  rep.url = cfg.reverse.callback_url;
  if (rep.url.empty()) {
    rep.result = callback_report::outcome::off;
    log.debug("callbacks.off reason=\"reverse.callback_url is not set\"");
    co_return rep;
  }
  const auto fail = [&](callback_report::outcome o, psa_failure f) {
    rep.result = o;
    log.warn("callbacks.reconcile_failed url=\"{}\" added={} removed={} error=\"{}\"", rep.url, rep.added.size(),
             rep.removed.size(), f.to_string());
    rep.failure = std::move(f);
    return rep;
  };
  if (!client.connected()) {
    auto c = co_await client.connect();
    if (!c) co_return fail(callback_report::outcome::psa_error, c.error());
  }
  auto boards = co_await callback_boards(client, cfg);
  if (!boards)
    co_return fail(boards.error().what == psa_failure::kind::rejected && boards.error().http_status == 0
                       ? callback_report::outcome::config_error
                       : callback_report::outcome::psa_error,
                   boards.error());
  rep.boards = std::move(*boards);
  auto existing = co_await client.list_callbacks();
  if (!existing) co_return fail(callback_report::outcome::psa_error, existing.error());

  std::vector<std::int64_t> ids;
  for (const auto& b : rep.boards) ids.push_back(b.id);
  rep.plan = plan_registration(*existing, ids, rep.url);

  // Removals at the wanted URL first (a disabled entry blocks its own
  // registration as a duplicate), then additions, then the rest.
  std::vector<callback_removal> first, last;
  for (const auto& r : rep.plan.to_remove) (r.entry.url == rep.url ? first : last).push_back(r);
  std::optional<psa_failure> failed;
  const auto remove_all = [&](const std::vector<callback_removal>& list) -> net::awaitable<void> {
    psa_result<void> d;
    for (const auto& r : list) {
      d = co_await client.delete_callback(r.entry.id);
      if (!d) {
        failed = d.error();
        break;
      }
      log.info("callbacks.removed id={} board={} url=\"{}\" why=\"{}\"", r.entry.id, r.entry.object_id, r.entry.url,
               to_text(r.why));
      rep.removed.push_back(r);
    }
  };
  co_await remove_all(first);
  if (failed) co_return fail(callback_report::outcome::psa_error, *failed);
  psa_result<callback_entry> stored = callback_entry{};
  for (const auto& want : rep.plan.to_add) {
    stored = co_await client.add_callback(want);
    if (!stored && duplicate_answer(stored.error())) {
      // Registered meanwhile (another ticketsyncd, or the daemon and the command at once).
      log.info("callbacks.already_registered board={} url=\"{}\"", want.object_id, want.url);
      continue;
    }
    if (!stored) {
      failed = stored.error();
      break;
    }
    log.info("callbacks.added id={} board={} url=\"{}\"", stored->id, stored->object_id, stored->url);
    rep.added.push_back(*stored);
  }
  if (failed) co_return fail(callback_report::outcome::psa_error, *failed);
  co_await remove_all(last);
  if (failed) co_return fail(callback_report::outcome::psa_error, *failed);
  log.info("callbacks.reconciled url=\"{}\" boards={} added={} removed={} kept={} others={}", rep.url,
           rep.boards.size(), rep.added.size(), rep.removed.size(), rep.plan.kept.size(), rep.plan.others);
  co_return rep;
}

}  // namespace ts::psa
