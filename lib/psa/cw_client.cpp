#include "psa/cw_client.hpp"

#include "core/issue_key.hpp"
#include "core/text.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <cctype>

namespace ts::psa {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {

client_options options_for(const config::psa_config& cfg, const endpoint& ep) {
  client_options o;
  o.host = ep.host;
  o.port = ep.port;
  o.ca_file = cfg.ca_file;
  o.connect_timeout = cfg.connect_timeout;
  o.handshake_timeout = cfg.handshake_timeout;
  o.request_timeout = cfg.request_timeout;
  o.max_response_bytes = cfg.max_response_bytes;
  return o;
}

endpoint endpoint_or_throw(const config::psa_config& cfg) {
  auto ep = site_endpoint(cfg.site);
  if (!ep) throw std::runtime_error("psa.site '" + cfg.site + "' is neither a known region nor an https:// URL");
  return *ep;
}

}  // namespace

cw_client::cw_client(net::any_io_executor ex, const config::psa_config& cfg, const std::string& private_key,
                     spdlog::logger& log, const ts::clock& clk)
    : cfg_(cfg),
      log_(log),
      clock_(clk),
      endpoint_(endpoint_or_throw(cfg)),
      http_(ex, options_for(cfg, endpoint_), clk),
      auth_(basic_auth(cfg.company_id, cfg.public_key, private_key)),
      accept_(accept_header(cfg.api_version)) {}

net::awaitable<psa_result<http_response>> cw_client::call(http::verb method, std::string target, std::string body,
                                                          bool idempotent) {
  // No pacing here: the sync engine reserves the budget (and waits out a 429
  // pause) before it asks for a request.
  const auto started = clock_.steady_now();
  call_record record{http::to_string(method), observer_ ? endpoint_label(target) : std::string{}, 0, {}};

  http_request req;
  req.method = method;
  req.target = std::move(target);
  req.body = std::move(body);
  req.headers = {
      {"Authorization", auth_}, {"clientId", cfg_.client_id}, {"Accept", accept_}, {"Cache-Control", "no-cache"}};
  ++requests_;
  auto sent = co_await http_.send(std::move(req));
  if (observer_) {
    record.status = sent ? static_cast<int>(sent->status) : 0;
    record.took = clock_.steady_now() - started;
    observer_(record);
  }
  if (!sent) {
    psa_failure f;
    f.what = psa_failure::kind::transport;
    f.detail = sent.error().to_string();
    f.maybe_applied = !idempotent && sent.error().maybe_sent;
    co_return f;
  }
  http_response& res = *sent;
  if (res.status >= 200 && res.status < 300) co_return std::move(res);

  co_return classify_http(static_cast<int>(res.status), res.body, res.retry_after, clock_.now(), idempotent);
}

namespace {

template <class T>
answer as_answer(psa_result<T>&& r) {
  if (!r) return r.error();
  return reply{std::move(*r)};
}

}  // namespace

void cw_client::reconfigure(const config::psa_config& cfg) { http_.set_options(options_for(cfg, endpoint_)); }

net::awaitable<answer> cw_client::perform(request r) {
  if (auto* c = std::get_if<req::create_ticket>(&r)) co_return as_answer(co_await create_ticket(c->body));
  if (auto* f = std::get_if<req::find_ticket>(&r)) co_return as_answer(co_await find_ticket_by_xref(f->xref));
  if (auto* g = std::get_if<req::get_ticket>(&r)) co_return as_answer(co_await get_ticket(g->id));
  if (auto* p = std::get_if<req::patch_ticket>(&r)) co_return as_answer(co_await patch_ticket(p->id, p->ops));
  if (auto* n = std::get_if<req::post_note>(&r)) co_return as_answer(co_await post_note(n->ticket, n->text, n->area));
  if (auto* n = std::get_if<req::list_notes>(&r)) co_return as_answer(co_await recent_notes(n->ticket));
  if (auto* s = std::get_if<req::sweep_page>(&r)) co_return as_answer(co_await sweep_page(*s));
  if (auto* t = std::get_if<req::tickets_by_id>(&r)) co_return as_answer(co_await tickets_by_id(*t));
  const auto& l = std::get<req::list_names>(r);
  switch (l.list) {
    case name_list::boards: co_return as_answer(co_await boards());
    case name_list::statuses: co_return as_answer(co_await board_statuses(l.board));
    case name_list::priorities: co_return as_answer(co_await priorities());
    case name_list::types: co_return as_answer(co_await board_types(l.board));
    case name_list::subtypes: co_return as_answer(co_await board_subtypes(l.board));
    case name_list::items: co_return as_answer(co_await board_items(l.board));
    case name_list::teams: co_return as_answer(co_await board_teams(l.board));
    case name_list::sources: co_return as_answer(co_await sources());
    case name_list::custom_fields: co_return as_answer(co_await custom_fields());
  }
  co_return protocol_error(0, "unknown lookup list");
}

net::awaitable<psa_result<void>> cw_client::connect() {
  std::string codebase = cfg_.codebase;
  if (codebase.empty()) {
    // Codebase discovery needs no credentials; send none.
    http_request req;
    req.target = "/login/companyinfo/" + url_encode(cfg_.company_id);
    req.headers = {{"Accept", "application/json"}};
    ++requests_;
    auto sent = co_await http_.send(std::move(req));
    if (!sent)
      co_return psa_failure{psa_failure::kind::transport, 0, {}, "codebase discovery: " + sent.error().to_string()};
    if (sent->status != 200) {
      psa_failure f{psa_failure::kind::server, static_cast<int>(sent->status),
                    parse_cw_error(static_cast<int>(sent->status), sent->body), "codebase discovery"};
      if (sent->status < 500) f.what = psa_failure::kind::rejected;
      co_return f;
    }
    auto cb = parse_codebase(sent->body);
    if (!cb)
      co_return psa_failure{psa_failure::kind::auth,
                            0,
                            {},
                            "ConnectWise does not know company id '" + cfg_.company_id +
                                "' (companyinfo answered null): check psa.company_id and psa.site"};
    codebase = *cb;
  }
  const std::string prefix = api_prefix(codebase);
  auto info = co_await call(http::verb::get, prefix + "/system/info", {}, true);
  if (!info) co_return info.error();
  prefix_ = prefix;
  log_.info("psa.connected host={}:{} codebase={}", endpoint_.host, endpoint_.port, codebase);
  co_return psa_result<void>{};
}

net::awaitable<psa_result<ticket_info>> cw_client::create_ticket(const ticket_create& t) {
  auto res = co_await call(http::verb::post, prefix_ + "/service/tickets", encode_ticket_create(t), false);
  if (!res) co_return res.error();
  auto ticket = parse_ticket(res->body);
  if (!ticket)
    co_return psa_failure{psa_failure::kind::protocol,
                          static_cast<int>(res->status),
                          {},
                          "ticket create answered without a ticket id",
                          true};
  co_return *ticket;
}

net::awaitable<psa_result<std::optional<ticket_info>>> cw_client::find_ticket_by_xref(std::string_view xref) {
  auto res = co_await call(http::verb::get, ticket_by_xref_target(prefix_, xref), {}, true);
  if (!res) co_return res.error();
  auto list = parse_ticket_list(res->body);
  if (!list)
    co_return psa_failure{psa_failure::kind::protocol,
                          static_cast<int>(res->status),
                          {},
                          "ticket search answered something other than a ticket list"};
  std::optional<ticket_info> best;
  for (auto& t : *list) {
    if (t.external_xref != xref) continue;  // never trust a search alone
    if (!best || t.id < best->id) best = std::move(t);
  }
  co_return best;
}

net::awaitable<psa_result<ticket_info>> cw_client::get_ticket(std::int64_t id) {
  auto res = co_await call(http::verb::get, prefix_ + "/service/tickets/" + std::to_string(id), {}, true);
  if (!res) co_return res.error();
  auto ticket = parse_ticket(res->body);
  if (!ticket) co_return psa_failure{psa_failure::kind::protocol, static_cast<int>(res->status), {}, "bad ticket body"};
  co_return *ticket;
}

net::awaitable<psa_result<sweep_reply>> cw_client::sweep_page(const req::sweep_page& p) {
  auto res = co_await call(http::verb::get,
                           sweep_page_target(prefix_, correlation_prefix, p.since, p.after, p.page_size), {}, true);
  if (!res) co_return res.error();
  auto list = parse_ticket_list(res->body);
  if (!list)
    co_return psa_failure{psa_failure::kind::protocol,
                          static_cast<int>(res->status),
                          {},
                          "sweep answered something other than a ticket list"};
  co_return sweep_reply{std::move(*list), parse_http_date(res->date)};
}

net::awaitable<psa_result<std::vector<ticket_info>>> cw_client::tickets_by_id(const req::tickets_by_id& r) {
  auto res = co_await call(http::verb::get, tickets_by_id_target(prefix_, r.ids, r.full), {}, true);
  if (!res) co_return res.error();
  auto list = parse_ticket_list(res->body);
  if (!list)
    co_return psa_failure{
        psa_failure::kind::protocol, static_cast<int>(res->status), {}, "ticket list answered something else"};
  co_return std::move(*list);
}

net::awaitable<psa_result<ticket_info>> cw_client::patch_ticket(std::int64_t id, const std::vector<patch_op>& ops) {
  // Replace operations set absolute values: repeating one is harmless.
  auto res =
      co_await call(http::verb::patch, prefix_ + "/service/tickets/" + std::to_string(id), encode_patch(ops), true);
  if (!res) co_return res.error();
  auto ticket = parse_ticket(res->body);
  if (!ticket)
    co_return psa_failure{
        psa_failure::kind::protocol, static_cast<int>(res->status), {}, "ticket patch answered without a ticket"};
  co_return *ticket;
}

net::awaitable<psa_result<note_info>> cw_client::post_note(std::int64_t ticket_id, std::string_view text,
                                                           note_area area) {
  auto res = co_await call(http::verb::post, prefix_ + "/service/tickets/" + std::to_string(ticket_id) + "/notes",
                           encode_note(text, area), false);
  if (!res) co_return res.error();
  auto note = parse_note(res->body);
  if (!note)
    co_return psa_failure{
        psa_failure::kind::protocol, static_cast<int>(res->status), {}, "note create answered without a note id", true};
  co_return *note;
}

net::awaitable<psa_result<std::vector<note_info>>> cw_client::recent_notes(std::int64_t ticket_id) {
  auto res = co_await call(
      http::verb::get,
      prefix_ + "/service/tickets/" + std::to_string(ticket_id) + "/notes?orderBy=id%20desc&pageSize=100", {}, true);
  if (!res) co_return res.error();
  auto notes = parse_note_list(res->body);
  if (!notes)
    co_return psa_failure{psa_failure::kind::protocol,
                          static_cast<int>(res->status),
                          {},
                          "note list answered something other than a list"};
  co_return std::move(*notes);
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::list(std::string path) {
  std::vector<named_ref> all;
  for (int page = 1;; ++page) {
    const char sep = path.find('?') == std::string::npos ? '?' : '&';
    auto res =
        co_await call(http::verb::get, prefix_ + path + sep + "pageSize=1000&page=" + std::to_string(page), {}, true);
    if (!res) co_return res.error();
    auto items = parse_named_list(res->body);
    if (!items)
      co_return psa_failure{psa_failure::kind::protocol,
                            static_cast<int>(res->status),
                            {},
                            "lookup " + path + " answered something other than a list"};
    const bool more = items->size() == 1000 && res->link.find("rel=\"next\"") != std::string::npos;
    all.insert(all.end(), items->begin(), items->end());
    if (!more) break;
  }
  co_return all;
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::boards() { return list("/service/boards"); }

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::board_statuses(std::int64_t board_id) {
  return list("/service/boards/" + std::to_string(board_id) + "/statuses");
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::board_types(std::int64_t board_id) {
  return list("/service/boards/" + std::to_string(board_id) + "/types");
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::board_subtypes(std::int64_t board_id) {
  return list("/service/boards/" + std::to_string(board_id) + "/subtypes");
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::board_items(std::int64_t board_id) {
  return list("/service/boards/" + std::to_string(board_id) + "/items");
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::board_teams(std::int64_t board_id) {
  return list("/service/boards/" + std::to_string(board_id) + "/teams");
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::priorities() { return list("/service/priorities"); }

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::sources() { return list("/service/sources"); }

net::awaitable<psa_result<std::optional<named_ref>>> cw_client::find_company(std::string identifier) {
  auto target = company_by_identifier_target(prefix_, identifier);
  if (!target)
    co_return psa_failure{
        psa_failure::kind::rejected,
        0,
        {},
        "company identifier '" + identifier + "' contains both ' and \": ConnectWise conditions cannot quote it"};
  auto res = co_await call(http::verb::get, std::move(*target), {}, true);
  if (!res) co_return res.error();
  auto list = parse_company_list(res->body);
  if (!list)
    co_return psa_failure{psa_failure::kind::protocol,
                          static_cast<int>(res->status),
                          {},
                          "company search answered something other than a company list"};
  const std::string want = ascii_lower(identifier);
  std::optional<named_ref> best;
  for (auto& c : *list) {
    if (ascii_lower(c.name) != want) continue;  // never trust a search alone
    if (!best || c.id < best->id) best = std::move(c);
  }
  co_return best;
}

net::awaitable<psa_result<std::vector<named_ref>>> cw_client::custom_fields() {
  auto res = co_await call(http::verb::get, prefix_ + "/service/tickets?pageSize=1&fields=id,customFields", {}, true);
  if (!res) co_return res.error();
  auto defs = parse_custom_field_defs(res->body);
  if (!defs)
    co_return psa_failure{psa_failure::kind::protocol,
                          static_cast<int>(res->status),
                          {},
                          "ticket list answered without readable customFields"};
  co_return std::move(*defs);
}

net::awaitable<permission_check> cw_client::probe(permission p, std::int64_t closed_status_id) {
  permission_check check;
  check.which = p;
  const auto no_verdict = [&](std::string why) {
    check.probed = false;
    check.ok = false;
    check.detail = std::move(why);
    log_.debug("psa.probe permission=\"{}\" probed=false detail=\"{}\"", describe(p), check.detail);
    return check;
  };
  if (!connected()) {
    auto c = co_await connect();
    if (!c) co_return no_verdict("not connected: " + c.error().to_string());
  }

  const std::string ticket = prefix_ + "/service/tickets/" + std::to_string(probe_ticket_id);
  http::verb method = http::verb::get;
  std::string target, body;
  switch (p) {
    case permission::company_inquire: target = prefix_ + "/company/companies?pageSize=1&fields=id"; break;
    case permission::tickets_inquire: target = prefix_ + "/service/tickets?pageSize=1&fields=id"; break;
    case permission::table_setup_inquire: target = prefix_ + "/service/boards?pageSize=1&fields=id"; break;
    case permission::tickets_add:
      // CW requires summary and company: an empty ticket is always a 400, nothing is created.
      method = http::verb::post;
      target = prefix_ + "/service/tickets";
      body = "{}";
      break;
    case permission::tickets_edit:
    case permission::tickets_close: {
      if (p == permission::tickets_close && closed_status_id <= 0)
        co_return no_verdict("cannot probe: no closed status id to move the probe ticket to");
      // The PATCH must hit a ticket that does not exist, so nothing can change.
      auto exists = co_await call(http::verb::get, ticket, {}, true);
      if (exists) co_return no_verdict("cannot probe: ticket " + std::to_string(probe_ticket_id) + " exists");
      if (exists.error().http_status != 404)
        co_return no_verdict("cannot probe: checking that ticket " + std::to_string(probe_ticket_id) +
                             " does not exist failed: " + exists.error().to_string());
      method = http::verb::patch;
      target = ticket;
      body = p == permission::tickets_edit ? std::string("[]")
                                           : encode_patch({replace_reference("status", closed_status_id)});
      break;
    }
  }

  auto res = co_await call(method, std::move(target), std::move(body), method != http::verb::post);
  if (!res && res.error().http_status == 0) co_return no_verdict(res.error().to_string());
  cw_error answer;
  if (res)
    answer.http_status = static_cast<int>(res->status);
  else
    answer = res.error().cw;
  check = judge_probe(p, answer);
  log_.debug("psa.probe permission=\"{}\" probed={} ok={} detail=\"{}\"", describe(p), check.probed, check.ok,
             check.detail);
  co_return check;
}

// ---- callbacks (/system/callbacks) ----

net::awaitable<psa_result<std::vector<callback_entry>>> cw_client::list_callbacks() {
  constexpr std::size_t page_size = 1000, max_total = 10'000;
  std::vector<callback_entry> all;
  for (int page = 1;; ++page) {
    auto res = co_await call(http::verb::get,
                             prefix_ + "/system/callbacks?orderBy=id%20asc&pageSize=" + std::to_string(page_size) +
                                 "&page=" + std::to_string(page),
                             {}, true);
    if (!res) co_return res.error();
    auto entries = parse_callback_entries(res->body);
    if (!entries) co_return protocol_error(static_cast<int>(res->status), entries.error());
    const bool more = entries->size() == page_size && res->link.find("rel=\"next\"") != std::string::npos;
    all.insert(all.end(), entries->begin(), entries->end());
    if (all.size() > max_total)
      co_return protocol_error(static_cast<int>(res->status),
                               "callback list: more than " + std::to_string(max_total) + " entries");
    if (!more) break;
  }
  co_return all;
}

net::awaitable<psa_result<callback_entry>> cw_client::add_callback(const callback_entry& e) {
  auto res = co_await call(http::verb::post, prefix_ + "/system/callbacks", encode_callback_entry(e), false);
  if (!res) co_return res.error();
  auto stored = parse_callback_entry(res->body);
  if (!stored) co_return protocol_error(static_cast<int>(res->status), stored.error(), true);
  co_return std::move(*stored);
}

net::awaitable<psa_result<void>> cw_client::delete_callback(std::int64_t id) {
  auto res = co_await call(http::verb::delete_, prefix_ + "/system/callbacks/" + std::to_string(id), {}, true);
  if (!res && res.error().http_status != 404) co_return res.error();
  co_return psa_result<void>{};
}

}  // namespace ts::psa
