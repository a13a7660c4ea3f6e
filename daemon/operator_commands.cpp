// Operator commands that look without touching: `explain` (what an event
// would do), `doctor` (is the PSA side ready for the rules), `history` (why an
// issue's ticket is what it is). Each is wiring over the library: the rules,
// the planner and the store decide; this file only gathers and prints.
#include "commands.hpp"
#include "operator_common.hpp"

#include "config/config_loader.hpp"
#include "core/clock.hpp"
#include "core/issue_key.hpp"
#include "ops/logging.hpp"
#include "psa/cw_callbacks.hpp"
#include "psa/cw_client.hpp"
#include "rules/ruleset.hpp"
#include "sources/event_parser.hpp"
#include "store/store.hpp"
#include "sync/engine.hpp"
#include "sync/ingest.hpp"
#include "sync/op_machine.hpp"
#include "sync/planner.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace ts::daemon {

namespace net = boost::asio;
using json = nlohmann::json;

std::optional<config::config> load_quiet_or_report(const std::string& path) {
  auto loaded = config::load_config(path);
  for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
  return std::move(loaded.cfg);
}

std::string dump(const json& j, int indent) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

issue_lookup find_issue_by_key(store::store& st, const std::string& key) {
  issue_lookup r;
  if (key.starts_with("ts1:")) {
    r.issue = st.find_issue_by_correlation(key.substr(0, key.find('#')));
    return r;
  }
  const auto a = key.find('/');
  const auto b = a == std::string::npos ? std::string::npos : key.find('/', a + 1);
  if (b == std::string::npos) {
    r.malformed = true;
    return r;
  }
  r.issue = st.find_issue({key.substr(0, a), key.substr(a + 1, b - a - 1), key.substr(b + 1)});
  return r;
}

json history_json(const store::history_entry& e) {
  return {{"at", format_rfc3339(e.at)},
          {"kind", e.kind},
          {"operation", e.operation ? json(*e.operation) : json(nullptr)},
          {"detail", json::parse(e.detail, nullptr, false)}};
}

std::string history_line(const store::history_entry& e) {
  const json d = json::parse(e.detail, nullptr, false);
  std::string line = format_rfc3339(e.at) + "  " + e.kind;
  if (e.operation) line += " op=" + std::to_string(*e.operation);
  if (d.is_object())
    for (auto it = d.begin(); it != d.end(); ++it) {
      if (it->is_null()) continue;  // e.g. an operator action without a reason
      line += " " + it.key() + "=";
      if (it->is_string())
        line += "\"" + it->get<std::string>() + "\"";
      else
        line += it->dump(-1, ' ', false, json::error_handler_t::replace);
    }
  return line;
}

namespace {

/// ConnectWise names fetched on demand through one client (explain, doctor).
class names {
 public:
  explicit names(psa::cw_client& c) : client_(c) {}

  net::awaitable<psa::psa_result<std::vector<psa::named_ref>>> list(const std::string& kind, std::int64_t board) {
    const auto key = std::pair{kind, board};
    if (auto it = cache_.find(key); it != cache_.end()) co_return it->second;
    psa::psa_result<std::vector<psa::named_ref>> r = std::vector<psa::named_ref>{};
    if (kind == "boards")
      r = co_await client_.boards();
    else if (kind == "priorities")
      r = co_await client_.priorities();
    else if (kind == "statuses")
      r = co_await client_.board_statuses(board);
    else if (kind == "types")
      r = co_await client_.board_types(board);
    else if (kind == "subtypes")
      r = co_await client_.board_subtypes(board);
    else if (kind == "items")
      r = co_await client_.board_items(board);
    else if (kind == "teams")
      r = co_await client_.board_teams(board);
    else if (kind == "sources")
      r = co_await client_.sources();
    else if (kind == "custom_fields")
      r = co_await client_.custom_fields();
    if (r) cache_[key] = *r;
    co_return r;
  }

  /// The id of `name` among `kind`, or a message naming the closest names.
  net::awaitable<std::pair<std::optional<psa::named_ref>, std::string>> find(const std::string& kind,
                                                                             std::int64_t board,
                                                                             std::string_view name) {
    auto items = co_await list(kind, board);
    if (!items) co_return std::pair{std::nullopt, "cannot list " + kind + ": " + items.error().to_string()};
    if (auto found = psa::resolve_name(*items, name)) co_return std::pair{std::optional(*found), std::string{}};
    std::string msg = "'" + std::string(name) + "' does not exist";
    auto near = psa::closest_names(*items, name);
    if (!near.empty()) {
      msg += "; closest: ";
      for (std::size_t i = 0; i < near.size(); ++i) msg += (i ? ", '" : "'") + near[i] + "'";
    }
    co_return std::pair{std::nullopt, msg};
  }

 private:
  psa::cw_client& client_;
  std::map<std::pair<std::string, std::int64_t>, std::vector<psa::named_ref>> cache_;
};

/// Runs `fn(client)` on a private io_context; the client is built from `cfg`.
template <class Fn>
auto with_client(const config::config& cfg, const std::string& private_key, spdlog::logger& log, Fn fn) {
  net::io_context ioc(1);
  const ts::system_clock clk;
  psa::cw_client client(ioc.get_executor(), cfg.psa, private_key, log, clk);
  auto fut = net::co_spawn(ioc, fn(client), net::use_future);
  ioc.run();
  return fut.get();
}

std::shared_ptr<spdlog::logger> quiet_logger() {
  return std::make_shared<spdlog::logger>("ticketsyncd", std::make_shared<spdlog::sinks::null_sink_mt>());
}

//------------------------------------------------------------------------------
// explain

/// The create body of `issue`'s ticket, built by the operation machine as
/// the daemon builds it: the machine's read requests (name lookups) are
/// performed through `client`, and it stops at the POST, which is returned.
/// Nothing is written anywhere.
net::awaitable<json> dry_run_create(psa::cw_client& client, const rules::ruleset& rules, const issue_record& issue,
                                    std::vector<std::string>& unresolved, std::string& connect_error) {
  if (auto c = co_await client.connect(); !c) {
    connect_error = c.error().to_string();
    co_return json();
  }
  sync::name_cache names;
  sync::engine_stats stats;
  ts::system_random random;
  const ts::system_clock clk;
  operation_record op;
  op.kind = op_kind::create;
  op.payload.generation = issue.generation;
  sync::op_machine m(op, issue, sync::machine_env{rules, names, stats, random, sync::backoff_policy{}});
  sync::next_step n = m.start(clk.now());
  while (n.request) {
    if (auto* create = std::get_if<psa::req::create_ticket>(&*n.request))
      co_return json::parse(psa::encode_ticket_create(create->body));
    if (psa::repeat_unsafe(*n.request) || std::holds_alternative<psa::req::patch_ticket>(*n.request)) break;
    const psa::answer a = co_await client.perform(std::move(*n.request));
    if (!a && a.error().what != psa::psa_failure::kind::rejected) {
      connect_error = a.error().to_string();
      co_return json();
    }
    n = m.resume(a, clk.now());
  }
  unresolved = m.unresolved();
  co_return json();
}

}  // namespace

int cmd_explain(const std::string& config_path, const std::string& event_file, bool as_json, bool offline) {
  auto cfg_opt = load_quiet_or_report(config_path);
  if (!cfg_opt) return 2;
  auto cfg = std::make_shared<const config::config>(std::move(*cfg_opt));
  std::ifstream in(event_file, std::ios::binary);
  if (!in) {
    std::cerr << event_file << ": cannot open\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  auto ev = intake::parse_event(body);
  if (!ev) {
    std::cerr << event_file << ": " << ev.error().to_string() << "\n";
    return 1;
  }

  const rules::ruleset rs(cfg);
  const issue_identity id{ev->source, ev->tenant, ev->issue_id};
  const sys_ms now = ts::system_clock{}.now();

  // The issue's stored state, read-only (a missing database = never seen),
  // read the way the daemon reads it.
  sync::ingest_snapshot snap;
  std::string store_note;
  if (std::filesystem::exists(cfg->storage.database)) {
    try {
      store::store st(cfg->storage.database, store::store::read_only_t{});
      snap = sync::read_snapshot(st, *ev, *cfg, now, {});
    } catch (const std::exception& e) {
      store_note = e.what();
    }
  } else {
    store_note = "no database yet: the issue has never been seen";
  }
  // Exactly what the daemon decides (sync/ingest.hpp); nothing is written.
  sync::engine_stats stats;
  const sync::ingest_result res = sync::ingest({*ev, body, 0, "explain", now}, snap, rs, now, stats);
  const rules::decision& d = res.decision;
  const std::optional<issue_record>& rec = snap.issue;

  json doc;
  doc["event"] = {{"issue", id.display()},
                  {"state", to_text(ev->state)},
                  {"severity", to_text(ev->severity)},
                  {"updated_at", ev->updated_at_text}};
  json checks = json::array();
  for (const auto& c : d.checks)
    checks.push_back({{"rule", c.rule}, {"line", c.line}, {"matched", c.matched}, {"why", c.why}});
  doc["rules"] = checks;
  doc["rule"] = d.rule;
  doc["company"] = {{"identifier", d.company.identifier}, {"why", d.company.why}, {"held", d.company.held}};
  json state = nullptr;
  if (rec)
    state = {{"ticket", rec->ticket_id ? json(*rec->ticket_id) : json(nullptr)},
             {"ticket_state", ts::to_text(rec->ticket)},
             {"phase", ts::to_text(rec->phase)},
             {"generation", rec->generation},
             {"issue_state", to_text(rec->state)},
             {"last_event_at", format_rfc3339(rec->last_event_at)},
             {"technician_closed", rec->tech_closed},
             {"digest", rec->digest ? json(*rec->digest) : json(nullptr)}};
  doc["stored"] = state;
  if (!store_note.empty()) doc["stored_note"] = store_note;

  // The issue as ingest would store it.
  std::optional<issue_record> next;
  for (const auto& w : res.writes)
    if (const auto* s = std::get_if<sync::wr::save_issue>(&w); s && s->as == sync::issue_ref::which::self)
      next = s->rec;
  json plan_doc = {{"reason", res.reason}, {"apply", res.planned && res.planned->apply}, {"ops", res.ops}};
  if (!d.held() && !d.desired) {
    plan_doc = {{"reason", "cannot render the ticket: " + (d.error ? d.error->what : std::string("?"))},
                {"ops", json::array()}};
  }
  if (res.digested)
    plan_doc["storm"] = {{"cap", cfg->storm.max_new_tickets_per_hour},
                         {"creates_last_hour", snap.tenant_creates_last_hour}};
  json desired = nullptr;
  if (d.desired) {
    desired = json::parse(encode_desired(*d.desired));
    if (next) desired["xref"] = next->xref();
  }
  const bool creates = !res.digested && next && !res.ops.empty() && res.ops.front() == "create";
  if (creates) {
    std::vector<std::string> unresolved;
    std::string connect_error;
    json ticket;
    if (!offline) {
      std::string why;
      auto private_key = config::resolve_secret(cfg->psa.private_key, &why);
      if (private_key) {
        auto log = quiet_logger();
        ticket = with_client(*cfg, *private_key, *log, [&](psa::cw_client& client) {
          return dry_run_create(client, rs, *next, unresolved, connect_error);
        });
      } else {
        connect_error = "psa.private_key: " + why;
      }
    }
    if (ticket.is_null()) {
      psa::ticket_create names_only;
      sync::fill_ticket_body(names_only, next->desired, next->xref());
      ticket = json::parse(psa::encode_ticket_create(names_only));
      ticket["board"] = {{"name", next->desired.board}};
      ticket["status"] = {{"name", next->desired.status}};
      ticket["priority"] = {{"name", next->desired.priority}};
      if (unresolved.empty())
        doc["ticket_note"] =
            offline ? "offline: names are not resolved to ids" : "names not resolved (" + connect_error + ")";
    }
    doc["ticket"] = ticket;
    if (!unresolved.empty()) doc["unresolved"] = unresolved;
  }
  doc["desired"] = desired;
  doc["plan"] = plan_doc;

  if (as_json) {
    std::cout << dump(doc) << "\n";
  } else {
    std::cout << "event    " << id.display() << " (" << to_text(ev->state) << ", " << to_text(ev->severity)
              << ", updated " << ev->updated_at_text << ")\n";
    std::cout << "rules\n";
    for (const auto& c : d.checks) {
      std::cout << "  " << (c.matched ? "\u2713 " : "\u2717 ") << c.rule;
      if (c.line > 0) std::cout << " (line " << c.line << ")";
      std::cout << ": ";
      for (std::size_t i = 0; i < c.why.size(); ++i) std::cout << (i ? "; " : "") << c.why[i];
      std::cout << "\n";
    }
    std::cout << "company  " << (d.company.held ? "(held)" : d.company.identifier) << " \u2014 " << d.company.why
              << "\n";
    if (rec)
      std::cout << "stored   ticket " << (rec->ticket_id ? std::to_string(*rec->ticket_id) : "none") << " ("
                << ts::to_text(rec->ticket) << ", generation " << rec->generation << "), issue " << to_text(rec->state)
                << " as of " << format_rfc3339(rec->last_event_at)
                << (rec->tech_closed ? ", closed by a technician" : "") << "\n";
    else
      std::cout << "stored   " << (store_note.empty() ? "never seen" : store_note) << "\n";
    std::cout << "plan     " << plan_doc.value("reason", "") << "\n";
    std::cout << "ops      ";
    if (plan_doc["ops"].empty()) std::cout << "(none)";
    for (std::size_t i = 0; i < plan_doc["ops"].size(); ++i)
      std::cout << (i ? ", " : "") << plan_doc["ops"][i].get<std::string>();
    std::cout << "\n";
    if (doc.contains("ticket")) {
      std::cout << "ticket   POST /service/tickets";
      if (doc.contains("ticket_note")) std::cout << " (" << doc["ticket_note"].get<std::string>() << ")";
      std::cout << "\n" << dump(doc["ticket"]) << "\n";
    }
    if (doc.contains("unresolved"))
      for (const auto& u : doc["unresolved"]) std::cout << "\u2717 " << u.get<std::string>() << "\n";
  }
  return doc.contains("unresolved") ? 1 : 0;
}

//------------------------------------------------------------------------------
// doctor

namespace {

struct check_line {
  bool ok = false;
  bool skipped = false;
  std::string what;
  std::string detail;
  std::string hint;
  bool warn = false;  ///< ⚠: not a failure, but something the operator should know
};

const std::string callbacks_off_line =
    "callbacks off (reverse.callback_url is not set): the polling sweep alone hears changes made in ConnectWise";

net::awaitable<std::vector<check_line>> run_doctor(psa::cw_client& client, const config::config& cfg) {
  std::vector<check_line> out;
  auto add = [&](bool ok, std::string what, std::string detail, std::string hint) {
    out.push_back({ok, false, std::move(what), std::move(detail), ok ? std::string{} : std::move(hint)});
  };
  auto skip = [&](std::string what) { out.push_back({false, true, std::move(what), "not checked", {}}); };

  auto c = co_await client.connect();
  const std::string site_check = "site " + cfg.psa.site + " reachable, TLS certificate valid";
  if (!c) {
    const auto& f = c.error();
    const bool unknown_company = f.detail.find("does not know company id") != std::string::npos;
    if (f.what == psa::psa_failure::kind::transport || f.what == psa::psa_failure::kind::protocol) {
      add(false, site_check, f.to_string(),
          "check psa.site (region or https://host[:port]), DNS, the firewall, and psa.ca_file for a private CA");
      skip("codebase found");
      skip("credentials and client id accepted");
    } else if (unknown_company) {
      add(true, site_check, "", "");
      add(false, "codebase found", f.to_string(), "check psa.company_id (the company you log in with) and psa.site");
      skip("credentials and client id accepted");
    } else {
      add(true, site_check, "", "");
      add(true, "codebase found", "", "");
      add(false, "credentials and client id accepted", f.to_string(),
          "check psa.public_key, the private key and psa.client_id (System > Members > API Members)");
    }
    for (auto p : psa::all_permissions) skip("permission " + std::string(psa::describe(p)));
    skip("names in the rules resolve");
    if (cfg.reverse.callback_url.empty())
      out.push_back({false, true, callbacks_off_line, {}, {}});
    else
      skip("callbacks registered");
    co_return out;
  }
  add(true, site_check, "", "");
  add(true, "codebase found", "", "");
  add(true, "credentials and client id accepted", "", "");

  names n(client);
  // A closed status of the default board, for the close probe.
  std::int64_t closed_status_id = 0;
  if (auto board = co_await n.find("boards", 0, cfg.ticket.board); board.first)
    if (auto st = co_await n.find("statuses", board.first->id, cfg.ticket.closed_status); st.first)
      closed_status_id = st.first->id;
  for (auto p : psa::all_permissions) {
    if (p == psa::permission::tickets_close && closed_status_id == 0) {
      out.push_back({false,
                     true,
                     "permission " + std::string(psa::describe(p)),
                     "not probed: the default ticket's closed_status does not resolve (see below)",
                     {}});
      continue;
    }
    const auto r = co_await client.probe(p, closed_status_id);
    if (!r.probed)
      out.push_back({false, true, "permission " + std::string(psa::describe(p)), "not probed: " + r.detail, {}});
    else
      add(r.ok, "permission " + std::string(psa::describe(p)), r.ok ? std::string{} : r.detail,
          std::string(psa::fix_hint(p)));
  }

  // Every name in the rules (and the default ticket), once per distinct use.
  std::set<std::string> seen;
  auto check_name = [&](const std::string& where, const std::string& kind, std::int64_t board, const std::string& name,
                        const char* key) -> net::awaitable<std::optional<psa::named_ref>> {
    const std::string what = where + ": " + key + " '" + name + "'";
    auto [ref, why] = co_await n.find(kind, board, name);
    if (seen.insert(what).second)
      add(ref.has_value(), what, ref ? std::string{} : why,
          "use a name that exists in ConnectWise (spelling and case as shown there), or create it");
    co_return ref;
  };
  std::vector<std::pair<std::string, const config::ticket_config*>> tickets{{"ticket (default)", &cfg.ticket}};
  for (const auto& r : cfg.rules) tickets.emplace_back("rule '" + r.name + "'", &r.ticket);
  for (const auto& [where, t] : tickets) {
    auto board = co_await check_name(where, "boards", 0, t->board, "board");
    for (const auto& [sev, prio] : t->priority) co_await check_name(where, "priorities", 0, prio, "priority");
    if (!t->source.empty()) co_await check_name(where, "sources", 0, t->source, "source");
    if (!t->custom_fields.empty()) {
      auto defs = co_await n.list("custom_fields", 0);
      if (defs && defs->empty()) {
        const std::string what = where + ": custom fields";
        if (seen.insert(what).second)
          out.push_back({false,
                         true,
                         what,
                         "not checked: no ticket exists yet to read custom field definitions from (tickets are "
                         "created without them until one exists)",
                         {}});
      } else {
        for (const auto& [caption, tmpl] : t->custom_fields)
          co_await check_name(where, "custom_fields", 0, caption, "custom field");
      }
    }
    if (!board) continue;
    co_await check_name(where, "statuses", board->id, t->status, "status");
    co_await check_name(where, "statuses", board->id, t->effective_reopen_status(), "reopen_status");
    auto closed = co_await check_name(where, "statuses", board->id, t->closed_status, "closed_status");
    if (closed) {
      const std::string what =
          where + ": closed_status '" + t->closed_status + "' is a closed status of '" + t->board + "'";
      if (seen.insert(what).second)
        add(closed->closed_status, what, closed->closed_status ? "" : "closedStatus is false on that board",
            "pick a status whose Closed box is ticked in the board's status setup");
    }
    if (!t->type.empty()) co_await check_name(where, "types", board->id, t->type, "type");
    if (!t->subtype.empty()) co_await check_name(where, "subtypes", board->id, t->subtype, "subtype");
    if (!t->item.empty()) co_await check_name(where, "items", board->id, t->item, "item");
    if (!t->team.empty()) co_await check_name(where, "teams", board->id, t->team, "team");
  }
  // Every company the mapping can choose.
  std::set<std::string> companies;
  if (!cfg.companies.default_company.empty()) companies.insert(cfg.companies.default_company);
  for (const auto& [tenant, company] : cfg.companies.tenants) companies.insert(company);
  for (const auto& [source, tenants] : cfg.companies.by_source)
    for (const auto& [tenant, company] : tenants) companies.insert(company);
  for (const auto& company : companies) {
    auto found = co_await client.find_company(company);
    if (!found)
      out.push_back({false, true, "company '" + company + "' exists", "not checked: " + found.error().to_string(), {}});
    else
      add(found->has_value(), "company '" + company + "' exists", *found ? "" : "no company has this identifier",
          "use the Company ID shown in ConnectWise (Companies > Company), or fix companies: in the configuration");
  }

  // Callbacks: one line per board ticketsync writes to.
  const std::string& url = cfg.reverse.callback_url;
  if (url.empty()) {
    out.push_back({false, true, callbacks_off_line, {}, {}});
    co_return out;
  }
  auto entries = co_await client.list_callbacks();
  if (!entries) {
    add(false, "callbacks readable (GET /system/callbacks)", entries.error().to_string(),
        "give the API member's security role access to callbacks (which right ConnectWise checks is not "
        "documented, UNCONFIRMED; see the README)");
    co_return out;
  }
  std::vector<std::string> boards{cfg.ticket.board};
  for (const auto& r : cfg.rules)
    if (std::find(boards.begin(), boards.end(), r.ticket.board) == boards.end()) boards.push_back(r.ticket.board);
  for (const auto& name : boards) {
    const std::string what = "callback for board '" + name + "' registered and active";
    auto board = co_await n.find("boards", 0, name);
    if (!board.first) {
      out.push_back({false, true, what, "not checked: the board does not resolve (see above)", {}});
      continue;
    }
    const auto st = psa::board_callback_status_of(*entries, board.first->id, url);
    const std::string register_hint = "run ticketsyncd callbacks register";
    switch (st.state) {
      case psa::board_callback_state::active: add(true, what, "", ""); break;
      case psa::board_callback_state::missing:
        add(false, what, "no callback entry for board " + std::to_string(board.first->id) + " at " + url,
            register_hint);
        break;
      case psa::board_callback_state::stale:
        add(false, what,
            "ticketsync's entry " + std::to_string(st.entry.id) + " posts to " + st.entry.url +
                ", not to reverse.callback_url " + url,
            register_hint);
        break;
      case psa::board_callback_state::inactive:
        out.push_back(
            {false, false, what,
             "entry " + std::to_string(st.entry.id) +
                 ": ConnectWise disabled it after failed deliveries (inactiveFlag)",
             "make " + url + " reachable from ConnectWise, then " + register_hint + " (it registers the entry again)",
             true});
        break;
    }
  }
  co_return out;
}

}  // namespace

int cmd_doctor(const std::string& config_path) {
  auto cfg = load_quiet_or_report(config_path);
  if (!cfg) {
    std::cout << "\u2717 configuration " << config_path
              << " is valid\n    fix: run check-config and fix what it reports\n";
    return 2;
  }
  std::cout << "\u2713 configuration " << config_path << " is valid\n";
  std::string why;
  auto private_key = config::resolve_secret(cfg->psa.private_key, &why);
  if (!private_key) {
    std::cout << "\u2717 private key readable\n    " << why
              << "\n    fix: point psa.private_key at a readable file (or a set environment variable)\n";
    return 1;
  }
  std::cout << "\u2713 private key readable\n";
  auto log = quiet_logger();
  const auto lines = with_client(*cfg, *private_key, *log, [&](psa::cw_client& c) { return run_doctor(c, *cfg); });
  int bad = 0, warned = 0;
  for (const auto& l : lines) {
    std::cout << (l.skipped ? "- " : l.warn ? "\u26a0 " : l.ok ? "\u2713 " : "\u2717 ") << l.what << "\n";
    if (!l.ok && !l.detail.empty()) std::cout << "    " << l.detail << "\n";
    if (!l.ok && !l.hint.empty()) std::cout << "    fix: " << l.hint << "\n";
    if (l.warn)
      ++warned;
    else if (!l.ok && !l.skipped)
      ++bad;
  }
  const std::string warnings = warned == 0 ? "" : " (" + std::to_string(warned) + " warning(s))";
  std::cout << (bad == 0 ? "all checks passed" + warnings + "\n"
                         : std::to_string(bad) + " check(s) failed" + warnings + "\n");
  return bad == 0 ? 0 : 1;
}

//------------------------------------------------------------------------------
// history

int cmd_history(const std::string& config_path, const std::string& key, bool as_json) {
  auto cfg = load_quiet_or_report(config_path);
  if (!cfg) return 2;
  try {
    store::store st(cfg->storage.database, store::store::read_only_t{});
    const issue_lookup found = find_issue_by_key(st, key);
    if (found.malformed) {
      std::cerr << "history: KEY is source/tenant/issue_id or a correlation key (ts1:...), got '" << key << "'\n";
      return 2;
    }
    const std::optional<store::issue_record>& rec = found.issue;
    if (!rec) {
      std::cerr << "history: no issue " << key << " in " << cfg->storage.database << "\n";
      return 1;
    }
    const auto entries = st.history(rec->id);
    if (as_json) {
      json doc = {{"issue", rec->identity.display()},
                  {"correlation_key", rec->correlation_key},
                  {"ticket", rec->ticket_id ? json(*rec->ticket_id) : json(nullptr)},
                  {"ticket_state", ts::to_text(rec->ticket)},
                  {"rule", rec->rule},
                  {"entries", json::array()}};
      for (const auto& e : entries) doc["entries"].push_back(history_json(e));
      std::cout << dump(doc) << "\n";
      return 0;
    }
    std::cout << "issue   " << rec->identity.display() << " (" << rec->correlation_key << ")\n"
              << "ticket  " << (rec->ticket_id ? std::to_string(*rec->ticket_id) : "none") << " ("
              << ts::to_text(rec->ticket) << ", generation " << rec->generation << ")"
              << (rec->tech_closed ? ", closed by a technician" : "") << "\n"
              << "rule    " << (rec->rule.empty() ? "-" : rec->rule) << "\n";
    for (const auto& e : entries) std::cout << history_line(e) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "history: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ts::daemon
