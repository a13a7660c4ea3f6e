#include "psa/cw_codec.hpp"

#include "core/text.hpp"

#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

namespace ts::psa {
namespace {

using json = nlohmann::json;

/// The start of `body`, at most `max` bytes, cut on a UTF-8 character
/// boundary, with control characters (C0 and DEL) replaced by spaces.
std::string sanitize_snippet(std::string_view body, std::size_t max) {
  std::size_t cut = std::min(max, body.size());
  if (cut < body.size())
    while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;
  std::string out;
  out.reserve(cut);
  for (char c : body.substr(0, cut)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
  }
  // Invalid UTF-8 (a proxy's Latin-1 page) becomes U+FFFD, so the message can
  // go into logs, JSON and the store as text; replacement may lengthen it, so
  // cut again on a character boundary.
  std::string valid = json::parse(json(out).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
  if (valid.size() > max) {
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(valid[end]) & 0xC0) == 0x80) --end;
    valid.resize(end);
  }
  return valid;
}

/// A record id: a positive integer that fits int64 (a negative or wrapped id
/// would address the wrong record).
std::optional<std::int64_t> record_id(const json& j) {
  auto it = j.find("id");
  if (it == j.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v == 0 || v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (it->is_number_integer() && it->get<std::int64_t>() > 0) return it->get<std::int64_t>();
  return std::nullopt;
}

std::string string_or_empty(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::int64_t ref_id(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return 0;
  auto id = it->find("id");
  return id != it->end() && id->is_number_integer() ? id->get<std::int64_t>() : 0;
}

result<ticket_info> ticket_from_json(const json& j) {
  if (!j.is_object()) return errc::psa_protocol;
  const auto id = record_id(j);
  if (!id) return errc::psa_protocol;
  ticket_info t;
  t.id = *id;
  t.summary = string_or_empty(j, "summary");
  t.external_xref = string_or_empty(j, "externalXRef");
  if (auto c = j.find("company"); c != j.end() && c->is_object())
    t.company_identifier = string_or_empty(*c, "identifier");
  t.board_id = ref_id(j, "board");
  t.status_id = ref_id(j, "status");
  t.priority_id = ref_id(j, "priority");
  t.severity = string_or_empty(j, "severity");
  t.impact = string_or_empty(j, "impact");
  if (auto c = j.find("closedFlag"); c != j.end() && c->is_boolean()) t.closed = c->get<bool>();
  if (auto info = j.find("_info"); info != j.end() && info->is_object()) {
    t.last_updated = parse_rfc3339(string_or_empty(*info, "lastUpdated"));
    t.updated_by = string_or_empty(*info, "updatedBy");
  }
  if (const std::int64_t parent = ref_id(j, "mergedParentTicket"); parent > 0) t.merged_into = parent;
  return t;
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                                     std::tolower(static_cast<unsigned char>(b[j - 1]))
                                                 ? 0
                                                 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string cw_error::to_string() const {
  std::string s = "HTTP " + std::to_string(http_status);
  if (!code.empty()) s += " " + code;
  if (!message.empty()) s += ": " + message;
  for (const auto& e : errors) {
    s += " [";
    if (!e.field.empty()) s += e.field + ": ";
    s += e.message.empty() ? e.code : e.message;
    s += "]";
  }
  return s;
}

std::string cw_error::field() const {
  for (const auto& e : errors)
    if (!e.field.empty()) return e.field;
  return {};
}

cw_error parse_cw_error(int http_status, std::string_view body) {
  cw_error e;
  e.http_status = http_status;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    e.message = sanitize_snippet(body, 200);
    return e;
  }
  e.code = string_or_empty(j, "code");
  if (e.code.empty()) e.code = string_or_empty(j, "error");
  e.message = string_or_empty(j, "message");
  if (auto it = j.find("errors"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (!v.is_object()) continue;
      e.errors.push_back({string_or_empty(v, "code"), string_or_empty(v, "message"), string_or_empty(v, "resource"),
                          string_or_empty(v, "field")});
    }
  }
  return e;
}

result<endpoint> site_endpoint(std::string_view site) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> regions{{
      {"na", "api-na.myconnectwise.net"},
      {"eu", "api-eu.myconnectwise.net"},
      {"au", "api-aus.myconnectwise.net"},
      {"aus", "api-aus.myconnectwise.net"},
      {"za", "api-za.myconnectwise.net"},
      {"staging", "api-staging.connectwisedev.com"},
  }};
  for (const auto& [name, host] : regions)
    if (site == name) return endpoint{std::string(host), "443", true};
  auto url = boost::urls::parse_absolute_uri(site);
  if (!url || url->scheme() != "https" || url->encoded_host().empty()) return errc::invalid_config;
  endpoint ep;
  ep.host = std::string(url->encoded_host());
  if (url->host_type() == boost::urls::host_type::ipv6) ep.host = std::string(url->encoded_host_address());
  // RFC 3986: an empty port ("host:") means the scheme's default.
  ep.port = url->has_port() && !url->port().empty() ? std::string(url->port()) : "443";
  ep.cloud = false;
  return ep;
}

std::optional<std::string> parse_codebase(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  std::string cb = string_or_empty(j, "Codebase");
  while (!cb.empty() && cb.front() == '/') cb.erase(cb.begin());
  if (cb.empty() || cb.find_first_of("?#\" ") != std::string::npos) return std::nullopt;
  if (cb.back() != '/') cb.push_back('/');
  return cb;
}

std::string api_prefix(std::string_view codebase) {
  std::string p = "/";
  p += codebase;
  if (p.back() != '/') p.push_back('/');
  return p + "apis/3.0";
}

std::string basic_auth(std::string_view company_id, std::string_view public_key, std::string_view private_key) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in;
  in.reserve(company_id.size() + public_key.size() + private_key.size() + 2);
  in.append(company_id).append("+").append(public_key).append(":").append(private_key);
  std::string out = "Basic ";
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string accept_header(std::string_view api_version) {
  return "application/vnd.connectwise.com+json; version=" + std::string(api_version);
}

std::string host_header(std::string_view host, std::string_view port) {
  // A ':' can only be an IPv6 literal's: names and IPv4 addresses have none.
  const bool bracket = host.find(':') != std::string_view::npos && !host.starts_with('[');
  std::string out;
  out.reserve(host.size() + port.size() + 3);
  if (bracket) out += '[';
  out += host;
  if (bracket) out += ']';
  if (!port.empty() && port != "443") out.append(":").append(port);
  return out;
}

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> condition_literal(std::string_view value) {
  const bool dq = value.find('"') != std::string_view::npos;
  const bool sq = value.find('\'') != std::string_view::npos;
  if (dq && sq) return std::nullopt;
  const char q = dq ? '\'' : '"';
  return std::string(1, q) + std::string(value) + q;
}

std::string encode_ticket_create(const ticket_create& t) {
  json j = {
      {"summary", t.summary},
      {"recordType", "ServiceTicket"},
      {"company", {{"identifier", t.company_identifier}}},
      {"board", {{"id", t.board_id}}},
      {"status", {{"id", t.status_id}}},
      {"priority", {{"id", t.priority_id}}},
      {"externalXRef", t.external_xref},
      {"initialDescription", t.initial_description},
  };
  if (!t.severity.empty()) j["severity"] = t.severity;
  if (!t.impact.empty()) j["impact"] = t.impact;
  const auto reference = [&](const char* key, const std::optional<std::int64_t>& id) {
    if (id) j[key] = {{"id", *id}};
  };
  reference("type", t.type_id);
  reference("subType", t.subtype_id);
  reference("item", t.item_id);
  reference("team", t.team_id);
  reference("source", t.source_id);
  if (!t.custom_fields.empty()) {
    json fields = json::array();
    for (const auto& f : t.custom_fields) {
      json v = {{"id", f.id}, {"value", f.value}};
      if (!f.caption.empty()) v["caption"] = f.caption;
      fields.push_back(std::move(v));
    }
    j["customFields"] = std::move(fields);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

result<ticket_info> parse_ticket(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return errc::psa_protocol;
  return ticket_from_json(j);
}

result<std::vector<ticket_info>> parse_ticket_list(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return errc::psa_protocol;
  std::vector<ticket_info> out;
  out.reserve(j.size());
  for (const auto& v : j) {
    auto t = ticket_from_json(v);
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

std::string ticket_by_xref_target(std::string_view prefix, std::string_view xref) {
  // Correlation keys are `ts1:` + hex, so condition_literal always succeeds for them.
  const std::string cond = "externalXRef=" + condition_literal(xref).value_or("\"\"");
  return std::string(prefix) + "/service/tickets?conditions=" + url_encode(cond) + "&pageSize=2";
}

std::string endpoint_label(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.starts_with("/login/companyinfo/")) return "/login/companyinfo/{company}";
  // "/v2025_1/apis/3.0/service/..." or "/v4_6_release/apis/3.0/..."
  if (const auto apis = target.find("/apis/3.0/"); apis != std::string_view::npos)
    target = target.substr(apis + std::string_view("/apis/3.0").size());
  std::string out;
  std::size_t pos = 0;
  while (pos < target.size()) {
    const auto next = target.find('/', pos + 1);
    const std::string_view seg =
        target.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    const std::string_view name = seg.substr(1);
    const bool numeric =
        !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    out += numeric ? std::string_view("/{id}") : seg;
    if (out.size() > 80) break;  // not an endpoint we call; keep the label short
    pos = next == std::string_view::npos ? target.size() : next;
  }
  return out.empty() ? "/" : out;
}

namespace {

// A JSON array of records, each an object with a positive id, as named_refs
// whose name is the record's `name_key`; `more` reads further members.
template <class More>
result<std::vector<named_ref>> parse_records(std::string_view body, const char* name_key, More&& more) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return errc::psa_protocol;
  std::vector<named_ref> out;
  out.reserve(j.size());
  for (const auto& v : j) {
    if (!v.is_object()) return errc::psa_protocol;
    const auto id = record_id(v);
    if (!id) return errc::psa_protocol;
    named_ref r;
    r.id = *id;
    r.name = string_or_empty(v, name_key);
    more(v, r);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

result<std::vector<named_ref>> parse_named_list(std::string_view body) {
  return parse_records(body, "name", [](const json& v, named_ref& r) {
    r.closed_status = flag(v, "closedStatus");
    r.inactive = flag(v, "inactive") || flag(v, "inactiveFlag");
    r.default_flag = flag(v, "defaultFlag");
    if (auto it = v.find("typeAssociationIds"); it != v.end() && it->is_array()) {
      for (const auto& t : *it)
        if (t.is_number_integer()) r.type_ids.push_back(t.get<std::int64_t>());
    }
  });
}

result<std::vector<named_ref>> parse_custom_field_defs(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return errc::psa_protocol;
  std::vector<named_ref> out;
  for (const auto& ticket : j) {
    if (!ticket.is_object()) return errc::psa_protocol;
    auto fields = ticket.find("customFields");
    if (fields == ticket.end() || fields->is_null()) continue;
    if (!fields->is_array()) return errc::psa_protocol;
    for (const auto& f : *fields) {
      if (!f.is_object()) return errc::psa_protocol;
      const auto id = record_id(f);
      if (!id) return errc::psa_protocol;
      if (std::any_of(out.begin(), out.end(), [&](const named_ref& r) { return r.id == *id; })) continue;
      named_ref r;
      r.id = *id;
      r.name = string_or_empty(f, "caption");
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::optional<std::string> company_by_identifier_target(std::string_view prefix, std::string_view identifier) {
  const auto literal = condition_literal(identifier);
  if (!literal) return std::nullopt;
  return std::string(prefix) + "/company/companies?conditions=" + url_encode("identifier=" + *literal) +
         "&fields=id,identifier,name";
}

result<std::vector<named_ref>> parse_company_list(std::string_view body) {
  return parse_records(body, "identifier", [](const json&, named_ref&) {});
}

result<named_ref> resolve_name(const std::vector<named_ref>& items, std::string_view name) {
  const named_ref* folded = nullptr;
  int folded_count = 0;
  const std::string want = ascii_lower(name);
  for (const auto& r : items) {
    if (r.inactive) continue;
    if (r.name == name) return r;
    if (ascii_lower(r.name) == want) {
      folded = &r;
      ++folded_count;
    }
  }
  if (folded_count == 1) return *folded;
  return errc::psa_not_found;
}

std::vector<std::string> closest_names(const std::vector<named_ref>& items, std::string_view name, std::size_t max) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& r : items)
    if (!r.inactive) scored.emplace_back(edit_distance(name, r.name), r.name);
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < max; ++i) out.push_back(scored[i].second);
  return out;
}

patch_op replace_string(std::string_view path, std::string_view value) {
  return {std::string(path), json(std::string(value)).dump(-1, ' ', false, json::error_handler_t::replace)};
}

patch_op replace_reference(std::string_view path, std::int64_t id) {
  return {std::string(path), json{{"id", id}}.dump()};
}

std::string encode_patch(const std::vector<patch_op>& ops) {
  json arr = json::array();
  for (const auto& op : ops)
    arr.push_back({{"op", "replace"}, {"path", op.path}, {"value", json::parse(op.value_json)}});
  return arr.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode_note(std::string_view text, note_area area) {
  json j = {{"text", std::string(text)},
            {"detailDescriptionFlag", area == note_area::discussion},
            {"internalAnalysisFlag", area == note_area::internal_analysis},
            {"resolutionFlag", area == note_area::resolution},
            {"processNotifications", false}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {
result<note_info> note_from_json(const json& v) {
  if (!v.is_object()) return errc::psa_protocol;
  const auto id = record_id(v);
  if (!id) return errc::psa_protocol;
  return note_info{*id, string_or_empty(v, "text")};
}
}  // namespace

result<std::vector<note_info>> parse_note_list(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_array()) return errc::psa_protocol;
  std::vector<note_info> out;
  for (const auto& v : j) {
    auto n = note_from_json(v);
    if (!n) return n.error();
    out.push_back(std::move(*n));
  }
  return out;
}

result<note_info> parse_note(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  return note_from_json(j);
}

std::string_view describe(permission p) {
  switch (p) {
    case permission::company_inquire: return "Companies > Company Maintenance: Inquire";
    case permission::tickets_inquire: return "Service Desk > Service Tickets: Inquire";
    case permission::tickets_add: return "Service Desk > Service Tickets: Add";
    case permission::tickets_edit: return "Service Desk > Service Tickets: Edit";
    case permission::tickets_close: return "Service Desk > Close Service Tickets";
    case permission::table_setup_inquire: return "System > Table Setup: Inquire";
  }
  return "unknown permission";
}

std::string_view fix_hint(permission p) {
  switch (p) {
    case permission::company_inquire:
      return "In System > Security Roles, open the API member's role and set Companies > Company Maintenance > "
             "Inquire Level to All.";
    case permission::tickets_inquire:
      return "In System > Security Roles, open the API member's role and set Service Desk > Service Tickets > "
             "Inquire Level to All.";
    case permission::tickets_add:
      return "In System > Security Roles, open the API member's role and set Service Desk > Service Tickets > "
             "Add Level to All.";
    case permission::tickets_edit:
      return "In System > Security Roles, open the API member's role and set Service Desk > Service Tickets > "
             "Edit Level to All.";
    case permission::tickets_close:
      return "In System > Security Roles, open the API member's role and set Service Desk > Close Service Tickets > "
             "Edit Level and Inquire Level to All.";
    case permission::table_setup_inquire:
      return "In System > Security Roles, open the API member's role and set System > Table Setup > Inquire Level "
             "to All (or customize it to allow the service board, priority and source tables).";
  }
  return "";
}

permission_check judge_probe(permission p, const cw_error& answer) {
  permission_check c;
  c.which = p;
  c.detail = answer.to_string();
  const int status = answer.http_status;
  if (status == 401 || status == 403) {
    c.probed = true;
  } else if (status < 100 || status == 429 || status >= 500) {
    c.detail = "no verdict: " + c.detail;
  } else {
    c.probed = true;
    c.ok = true;
  }
  return c;
}

std::optional<sys_ms> parse_http_date(std::string_view v) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29 || v[3] != ',' || v.substr(26) != "GMT") return std::nullopt;
  int mon = 0;
  for (std::size_t i = 0; i < months.size(); ++i)
    if (v.substr(8, 3) == months[i]) mon = static_cast<int>(i) + 1;
  if (mon == 0) return std::nullopt;
  const std::string iso = std::string(v.substr(12, 4)) + "-" + (mon < 10 ? "0" : "") + std::to_string(mon) + "-" +
                          std::string(v.substr(5, 2)) + "T" + std::string(v.substr(17, 8)) + "Z";
  return parse_rfc3339(iso);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v, sys_ms now) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    // Saturate instead of overflowing; anything beyond a day is treated as a day
    // (a longer pause is indistinguishable from an outage and is logged as such).
    constexpr std::int64_t max_seconds = std::int64_t{24} * 3600;
    std::int64_t secs = 0;
    for (char c : v) secs = std::min<std::int64_t>(max_seconds, secs * 10 + (c - '0'));
    return std::chrono::milliseconds{secs * 1000};
  }
  auto t = parse_http_date(v);
  if (!t) return std::nullopt;
  return std::clamp<std::chrono::milliseconds>(*t - now, std::chrono::milliseconds{0}, std::chrono::hours{24});
}

}  // namespace ts::psa
