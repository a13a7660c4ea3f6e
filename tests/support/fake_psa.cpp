#include "support/fake_psa.hpp"

#include "core/issue_key.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ts::test {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

psa::psa_failure http_error(int status, const std::string& code, const std::string& message, bool idempotent,
                            const std::string& field = {}, std::string retry_after = {}) {
  json body = {{"code", code}, {"message", message}};
  if (!field.empty())
    body["errors"] = json::array({{{"code", "ObjectNotFound"}, {"field", field}, {"message", message}}});
  return psa::classify_http(status, body.dump(), retry_after, sys_ms{}, idempotent);
}

std::vector<psa::named_ref> refs(const json& list, const char* name_key = "name") {
  std::vector<psa::named_ref> out;
  for (const auto& j : list) {
    psa::named_ref r;
    r.id = j.at("id").get<std::int64_t>();
    r.name = j.value(name_key, "");
    r.closed_status = j.value("closedStatus", false);
    r.inactive = j.value("inactiveFlag", false);
    r.default_flag = j.value("defaultFlag", false);
    if (j.contains("typeAssociationIds")) r.type_ids = j["typeAssociationIds"].get<std::vector<std::int64_t>>();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::string_view fake_psa::name(fault f) {
  switch (f) {
    case fault::throttle: return "429";
    case fault::server_error: return "500";
    case fault::server_after: return "500-after-apply";
    case fault::timeout: return "timeout";
    case fault::reset: return "reset";
    case fault::lost_answer: return "lost-answer";
    case fault::rejected: return "400";
    case fault::auth: return "401";
    case fault::die_before: return "die-before";
    case fault::die_after: return "die-after";
  }
  return "?";
}

const std::vector<fake_psa::fault>& fake_psa::all_faults() {
  static const std::vector<fault> all = {fault::throttle,   fault::server_error, fault::server_after, fault::timeout,
                                         fault::reset,      fault::lost_answer,  fault::rejected,     fault::auth,
                                         fault::die_before, fault::die_after};
  return all;
}

fake_psa::fake_psa() {
  std::ifstream in(std::string(TS_SOURCE_DIR) + "/tests/cwsim/seed.json");
  if (!in) throw std::runtime_error("fake_psa: cannot read tests/cwsim/seed.json");
  seed_ = json::parse(in);
}

void fake_psa::fail_call(int n, fault f) { by_position_[static_cast<int>(calls_.size()) + n] = f; }

void fake_psa::fail_matching(std::string what, fault f, int times) { matchers_.push_back({std::move(what), f, times}); }

void fake_psa::fail_randomly(std::uint64_t seed, std::vector<std::pair<fault, double>> odds) {
  rng_.seed(seed);
  odds_ = std::move(odds);
}

std::optional<fake_psa::fault> fake_psa::take_fault(const std::string& what) {
  const int n = static_cast<int>(calls_.size());
  if (auto it = by_position_.find(n); it != by_position_.end()) {
    const fault f = it->second;
    by_position_.erase(it);
    return f;
  }
  for (auto& m : matchers_)
    if (m.times > 0 && what.find(m.what) != std::string::npos) {
      --m.times;
      return m.f;
    }
  if (!odds_.empty()) {
    double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    for (const auto& [f, p] : odds_) {
      if (draw < p) return f;
      draw -= p;
    }
  }
  return std::nullopt;
}

std::size_t fake_psa::count(std::string_view what) const {
  return static_cast<std::size_t>(std::count_if(calls_.begin(), calls_.end(),
                                                [&](const call& c) { return c.what.find(what) != std::string::npos; }));
}

std::vector<const fake_psa::ticket*> fake_psa::with_xref(std::string_view xref) const {
  std::vector<const ticket*> out;
  for (const auto& [id, t] : tickets_)
    if (t.xref == xref) out.push_back(&t);
  return out;
}

const json* fake_psa::board(std::int64_t id) const {
  for (const auto& b : seed_["boards"])
    if (b["id"] == id) return &b;
  return nullptr;
}

bool fake_psa::is_closed(const ticket& t) const {
  if (const json* b = board(t.board_id))
    for (const auto& s : (*b)["statuses"])
      if (s["id"] == t.status_id) return s.value("closedStatus", false);
  return false;
}

std::string fake_psa::status_name(const ticket& t) const {
  if (const json* b = board(t.board_id))
    for (const auto& s : (*b)["statuses"])
      if (s["id"] == t.status_id) return s["name"];
  return "?";
}

std::string fake_psa::priority_name(const ticket& t) const {
  for (const auto& p : seed_["priorities"])
    if (p["id"] == t.priority_id) return p["name"];
  return "?";
}

void fake_psa::touch(ticket& t, std::string_view by) {
  t.last_updated = std::chrono::floor<std::chrono::seconds>(clock());
  t.updated_by = std::string(by);
}

void fake_psa::set_status(std::int64_t id, std::string_view status, std::string_view by) {
  ticket& t = tickets_.at(id);
  for (const auto& s : (*board(t.board_id))["statuses"])
    if (s["name"] == status) {
      t.status_id = s["id"];
      touch(t, by);
      return;
    }
  throw std::invalid_argument("fake_psa: no status " + std::string(status));
}

void fake_psa::set_priority(std::int64_t id, std::string_view name, std::string_view by) {
  ticket& t = tickets_.at(id);
  for (const auto& p : seed_["priorities"])
    if (p["name"] == name) {
      t.priority_id = p["id"];
      touch(t, by);
      return;
    }
  throw std::invalid_argument("fake_psa: no priority " + std::string(name));
}

void fake_psa::move_board(std::int64_t id, std::string_view name, std::string_view by) {
  ticket& t = tickets_.at(id);
  for (const auto& b : seed_["boards"])
    if (b["name"] == name) {
      t.board_id = b["id"];
      t.status_id = b["statuses"].at(0)["id"];
      touch(t, by);
      return;
    }
  throw std::invalid_argument("fake_psa: no board " + std::string(name));
}

void fake_psa::merge(std::int64_t child, std::int64_t parent, std::string_view by) {
  ticket& c = tickets_.at(child);
  (void)tickets_.at(parent);
  c.merged_into = parent;
  for (const auto& s : (*board(c.board_id))["statuses"])
    if (s.value("closedStatus", false)) {
      c.status_id = s["id"];
      break;
    }
  touch(c, by);
  touch(tickets_.at(parent), by);
}

void fake_psa::remove(std::int64_t id) {
  if (tickets_.erase(id) == 0) throw std::invalid_argument("fake_psa: no ticket " + std::to_string(id));
}

void fake_psa::load_tickets(const json& sim_tickets, std::int64_t next_ticket, std::int64_t next_note) {
  next_ticket_ = std::max(next_ticket_, next_ticket);
  next_note_ = std::max(next_note_, next_note);
  for (const auto& j : sim_tickets) {
    ticket t;
    t.id = j.at("id");
    t.summary = j.value("summary", "");
    t.company = j.value("company", json::object()).value("identifier", "");
    t.board_id = j.value("board", json::object()).value("id", 0);
    t.status_id = j.value("status", json::object()).value("id", 0);
    t.priority_id = j.value("priority", json::object()).value("id", 0);
    t.severity = j.value("severity", "");
    t.impact = j.value("impact", "");
    t.xref = j.value("externalXRef", "");
    for (const auto& n : j.value("notes", json::array())) {
      note nt{n.value("id", next_note_), n.value("text", ""), psa::note_area::internal_analysis,
              n.value("detailDescriptionFlag", false)};
      if (n.value("resolutionFlag", false)) nt.area = psa::note_area::resolution;
      next_note_ = std::max(next_note_, nt.id + 1);
      t.notes.push_back(std::move(nt));
    }
    next_ticket_ = std::max(next_ticket_, t.id + 1);
    tickets_[t.id] = std::move(t);
  }
}

psa::ticket_info fake_psa::info(const ticket& t) const {
  psa::ticket_info i;
  i.id = t.id;
  i.summary = t.summary;
  i.external_xref = t.xref;
  i.company_identifier = t.company;
  i.board_id = t.board_id;
  i.status_id = t.status_id;
  i.priority_id = t.priority_id;
  i.severity = t.severity;
  i.impact = t.impact;
  i.closed = is_closed(t);
  i.last_updated = t.last_updated;
  i.updated_by = t.updated_by;
  i.merged_into = t.merged_into;
  return i;
}

psa::answer fake_psa::apply(const psa::request& r) {
  if (const auto* c = std::get_if<psa::req::create_ticket>(&r)) {
    const auto& b = c->body;
    bool company = false;
    for (const auto& co : seed_["companies"])
      company = company || lower(co["identifier"].get<std::string>()) == lower(b.company_identifier);
    if (!company)
      return http_error(400, "InvalidObject", "Company '" + b.company_identifier + "' was not found.", false,
                        "company");
    const json* bd = board(b.board_id);
    if (!bd) return http_error(400, "InvalidObject", "Board not found.", false, "board");
    bool status = false;
    for (const auto& s : (*bd)["statuses"]) status = status || s["id"] == b.status_id;
    if (!status) return http_error(400, "InvalidObject", "Status not found.", false, "status");
    ticket t;
    t.id = next_ticket_++;
    t.summary = b.summary;
    t.company = b.company_identifier;
    t.board_id = b.board_id;
    t.status_id = b.status_id;
    t.priority_id = b.priority_id;
    t.severity = b.severity;
    t.impact = b.impact;
    t.xref = b.external_xref;
    t.type_id = b.type_id;
    t.subtype_id = b.subtype_id;
    t.item_id = b.item_id;
    t.team_id = b.team_id;
    t.source_id = b.source_id;
    t.custom_fields = b.custom_fields;
    touch(t, api_member);
    if (!b.initial_description.empty())
      t.notes.push_back({next_note_++, b.initial_description, psa::note_area::internal_analysis, true});
    const auto id = t.id;
    tickets_[id] = std::move(t);
    return psa::reply{info(tickets_[id])};
  }
  if (const auto* f = std::get_if<psa::req::find_ticket>(&r)) {
    std::optional<psa::ticket_info> found;
    for (const auto& [id, t] : tickets_)
      if (t.xref == f->xref) {
        found = info(t);
        break;  // the map is ordered: the lowest id
      }
    return psa::reply{found};
  }
  if (const auto* g = std::get_if<psa::req::get_ticket>(&r)) {
    const auto it = tickets_.find(g->id);
    if (it == tickets_.end()) return http_error(404, "NotFound", "Ticket not found", true);
    return psa::reply{info(it->second)};
  }
  if (const auto* p = std::get_if<psa::req::patch_ticket>(&r)) {
    const auto it = tickets_.find(p->id);
    if (it == tickets_.end()) return http_error(404, "NotFound", "Ticket not found", true);
    ticket& t = it->second;
    for (const auto& op : p->ops) {
      const json v = json::parse(op.value_json);
      if (op.path == "summary")
        t.summary = v.get<std::string>();
      else if (op.path == "severity")
        t.severity = v.get<std::string>();
      else if (op.path == "impact")
        t.impact = v.get<std::string>();
      else if (op.path == "priority")
        t.priority_id = v.at("id");
      else if (op.path == "status")
        t.status_id = v.at("id");
      else
        return http_error(400, "InvalidObject", "unknown field " + op.path, true);
    }
    touch(t, api_member);
    return psa::reply{info(t)};
  }
  if (const auto* n = std::get_if<psa::req::post_note>(&r)) {
    const auto it = tickets_.find(n->ticket);
    if (it == tickets_.end()) return http_error(404, "NotFound", "Ticket not found", false);
    const note nt{next_note_++, n->text, n->area, false};
    it->second.notes.push_back(nt);
    touch(it->second, api_member);
    return psa::reply{psa::note_info{nt.id, nt.text}};
  }
  if (const auto* l = std::get_if<psa::req::list_notes>(&r)) {
    const auto it = tickets_.find(l->ticket);
    if (it == tickets_.end()) return http_error(404, "NotFound", "Ticket not found", true);
    std::vector<psa::note_info> out;
    for (auto n = it->second.notes.rbegin(); n != it->second.notes.rend() && out.size() < 100; ++n)
      out.push_back({n->id, n->text});
    return psa::reply{std::move(out)};
  }
  if (const auto* sw = std::get_if<psa::req::sweep_page>(&r)) {
    // What cw_sweep's query asks ConnectWise for, in its order.
    std::vector<const ticket*> rows;
    for (const auto& [id, t] : tickets_) {
      if (t.xref.rfind(correlation_prefix, 0) != 0) continue;
      if (sw->since && t.last_updated < *sw->since) continue;
      if (sw->after &&
          !(t.last_updated > sw->after->time || (t.last_updated == sw->after->time && t.id > sw->after->id)))
        continue;
      rows.push_back(&t);
    }
    std::sort(rows.begin(), rows.end(), [](const ticket* a, const ticket* b) {
      return std::pair(a->last_updated, a->id) < std::pair(b->last_updated, b->id);
    });
    if (rows.size() > sw->page_size) rows.resize(sw->page_size);
    psa::sweep_reply out;
    for (const ticket* t : rows) out.rows.push_back(info(*t));
    out.server_date = std::chrono::floor<std::chrono::seconds>(clock());
    return psa::reply{std::move(out)};
  }
  if (const auto* ids = std::get_if<psa::req::tickets_by_id>(&r)) {
    std::vector<psa::ticket_info> out;
    for (std::int64_t id : ids->ids) {
      const auto it = tickets_.find(id);
      if (it == tickets_.end()) continue;
      if (ids->full) {
        out.push_back(info(it->second));
      } else {
        psa::ticket_info only_id;
        only_id.id = id;
        out.push_back(only_id);
      }
    }
    return psa::reply{std::move(out)};
  }
  const auto& l = std::get<psa::req::list_names>(r);
  using psa::name_list;
  switch (l.list) {
    case name_list::boards: return psa::reply{refs(seed_["boards"])};
    case name_list::priorities: return psa::reply{refs(seed_["priorities"])};
    case name_list::sources: return psa::reply{refs(seed_["sources"])};
    case name_list::custom_fields:
      // ConnectWise shows the definitions only on existing tickets.
      return psa::reply{tickets_.empty() ? std::vector<psa::named_ref>{} : refs(seed_["custom_fields"], "caption")};
    default: break;
  }
  const json* b = board(l.board);
  if (!b) return http_error(404, "NotFound", "Board not found", true);
  return psa::reply{refs((*b)[std::string(to_text(l.list))])};
}

net::awaitable<void> fake_psa::park() {
  if (on_die) on_die();
  net::steady_timer never(co_await net::this_coro::executor);
  never.expires_at(net::steady_timer::time_point::max());
  co_await never.async_wait(net::as_tuple(net::use_awaitable));
}

net::awaitable<psa::psa_result<void>> fake_psa::connect() {
  calls_.push_back({"connect", std::nullopt});
  const auto f = take_fault("connect");
  calls_.back().injected = f;
  if (!f) {
    connected_ = true;
    co_return psa::psa_result<void>{};
  }
  switch (*f) {
    case fault::die_before:
    case fault::die_after: co_await park(); break;
    case fault::throttle:
      co_return http_error(429, "TooManyRequests", "slow down", true, {}, std::to_string(retry_after.count() / 1000));
    case fault::server_error:
    case fault::server_after: co_return http_error(500, "UnexpectedError", "An unexpected error occurred", true);
    case fault::auth: co_return http_error(401, "Unauthorized", "Authentication failed", true);
    case fault::rejected: co_return http_error(400, "InvalidObject", "bad request", true);
    case fault::timeout:
    case fault::reset:
    case fault::lost_answer: break;
  }
  co_return psa::transport_error("connect: Connection timed out", false);
}

net::awaitable<psa::answer> fake_psa::perform(psa::request r) {
  const std::string what = psa::describe(r);
  calls_.push_back({what, std::nullopt});
  const auto f = take_fault(what);
  calls_.back().injected = f;
  const bool idempotent = !psa::repeat_unsafe(r);
  if (!f) co_return apply(r);
  switch (*f) {
    case fault::throttle:
      co_return http_error(429, "TooManyRequests", "slow down", idempotent, {},
                           std::to_string(retry_after.count() / 1000));
    case fault::server_error: co_return http_error(500, "UnexpectedError", "An unexpected error occurred", idempotent);
    case fault::server_after:
      (void)apply(r);
      co_return http_error(500, "UnexpectedError", "An unexpected error occurred", idempotent);
    case fault::timeout:
      co_return psa::transport_error("read: Operation timed out (request may have been received)", !idempotent);
    case fault::reset: co_return psa::transport_error("write: Connection reset by peer", false);
    case fault::lost_answer:
      (void)apply(r);
      co_return psa::transport_error("read: end of stream (request may have been received)", !idempotent);
    case fault::rejected: co_return http_error(400, "InvalidObject", "ticket object is invalid", idempotent, "summary");
    case fault::auth: co_return http_error(401, "Unauthorized", "Authentication failed", idempotent);
    case fault::die_before: break;
    case fault::die_after: (void)apply(r); break;
  }
  co_await park();
  co_return psa::transport_error("the process died", !idempotent);
}

}  // namespace ts::test
