// Reload effects of every setting, as one table per section of the reference
// file. A row names the key, says what a reload does with it, and knows how to
// compare it and carry it from one configuration to another; diff_config and
// effective_config are loops over the rows, so they cannot disagree. Under
// each table, a structured binding names every member of its struct: a member
// added to the struct stops this file from compiling until it has a row (and
// config_diff_test fails until config/ticketsync.yaml and the test's table
// have the key).

#include "config/config_diff.hpp"

#include <iterator>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ts::config {
namespace {

constexpr reload_effect live = reload_effect::live;
constexpr reload_effect restart = reload_effect::restart;

/// One row: a setting of the file.
struct setting {
  std::string_view key;  ///< dotted path in the file
  reload_effect effect;
  bool (*same)(const config& a, const config& b);
  void (*carry)(const config& from, config& to);  ///< copies the setting's value
};

/// The row of `section.member`, compared with ==.
template <auto section, auto member>
constexpr setting field(std::string_view key, reload_effect effect) {
  return {key, effect, [](const config& a, const config& b) { return a.*section.*member == b.*section.*member; },
          [](const config& from, config& to) { to.*section.*member = from.*section.*member; }};
}

/// The row of a whole section, compared with ==.
template <auto section>
constexpr setting whole(std::string_view key, reload_effect effect) {
  return {key, effect, [](const config& a, const config& b) { return a.*section == b.*section; },
          [](const config& from, config& to) { to.*section = from.*section; }};
}

//------------------------------------------------------------------------------
// Rules. A rule's ticket is the top-level ticket with the rule's own keys
// applied over it, so a change of the top-level ticket shows in every rule
// that does not set that key itself; that is a change of "ticket", not of
// "rules". A rule's value therefore counts as changed only when it did not
// follow the top-level value in both configurations.

auto members(const lifecycle_config& l) {
  const auto& [on_update, on_resolve, reopen_window, on_technician_close, on_ticket_deleted, priority_owner] = l;
  return std::tie(on_update, on_resolve, reopen_window, on_technician_close, on_ticket_deleted, priority_owner);
}

auto members(const ticket_config& t) {
  const auto& [board, status, closed_status, reopen_status, priority, cw_severity, cw_impact, type, subtype, item, team,
               source, custom_fields, summary, description, update_note, resolve_note, reopen_note, lifecycle] = t;
  return std::tie(board, status, closed_status, reopen_status, priority, cw_severity, cw_impact, type, subtype, item,
                  team, source, custom_fields, summary, description, update_note, resolve_note, reopen_note, lifecycle);
}

std::optional<std::string> value_of(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? std::nullopt : std::optional(it->second);
}

template <class T>
bool same_own_value(const T& rule_a, const T& top_a, const T& rule_b, const T& top_b);

template <class Tuple, std::size_t... i>
bool same_own_members(const Tuple& rule_a, const Tuple& top_a, const Tuple& rule_b, const Tuple& top_b,
                      std::index_sequence<i...>) {
  return (same_own_value(std::get<i>(rule_a), std::get<i>(top_a), std::get<i>(rule_b), std::get<i>(top_b)) && ...);
}

/// Whether a rule's value of one key is the same in a and b, once what it
/// inherits from the top-level ticket (top_a, top_b) is set aside.
template <class T>
bool same_own_value(const T& rule_a, const T& top_a, const T& rule_b, const T& top_b) {
  if constexpr (std::is_same_v<T, ticket_config> || std::is_same_v<T, lifecycle_config>) {
    // Key by key: a rule may set one lifecycle key and inherit the others.
    using tuple = decltype(members(rule_a));
    return same_own_members(members(rule_a), members(top_a), members(rule_b), members(top_b),
                            std::make_index_sequence<std::tuple_size_v<tuple>>{});
  } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    // Custom fields: the rule's are added to the top-level ones, field by field.
    std::set<std::string> keys;
    for (const auto* m : {&rule_a, &top_a, &rule_b, &top_b})
      for (const auto& [key, value] : *m) keys.insert(key);
    for (const std::string& key : keys)
      if (!same_own_value(value_of(rule_a, key), value_of(top_a, key), value_of(rule_b, key), value_of(top_b, key)))
        return false;
    return true;
  } else {
    return rule_a == rule_b || (rule_a == top_a && rule_b == top_b);
  }
}

/// `rule::line` is where the rule is written, not a setting: a comment added
/// above the rules changes no rule.
bool same_rules(const config& a, const config& b) {
  if (a.rules.size() != b.rules.size()) return false;
  for (std::size_t i = 0; i < a.rules.size(); ++i) {
    const rule& ra = a.rules[i];
    const rule& rb = b.rules[i];
    if (ra.name != rb.name || ra.match != rb.match || !same_own_value(ra.ticket, a.ticket, rb.ticket, b.ticket))
      return false;
  }
  return true;
}

[[maybe_unused]] void rule_members(const rule& r) {
  [[maybe_unused]] const auto& [name, match, ticket, line] = r;  // line: see same_rules
}

//------------------------------------------------------------------------------
// The tables, in the order of config/ticketsync.yaml

// What identifies the server, the API member and the API version needs a new
// client (and codebase discovery); deadlines, limits and pacing are read per
// request.
constexpr setting psa_settings[] = {
    field<&config::psa, &psa_config::site>("psa.site", restart),
    field<&config::psa, &psa_config::company_id>("psa.company_id", restart),
    field<&config::psa, &psa_config::public_key>("psa.public_key", restart),
    // The reference; the secret is read once, at start.
    field<&config::psa, &psa_config::private_key>("psa.private_key", restart),
    field<&config::psa, &psa_config::client_id>("psa.client_id", restart),
    field<&config::psa, &psa_config::api_version>("psa.api_version", restart),
    field<&config::psa, &psa_config::codebase>("psa.codebase", restart),
    field<&config::psa, &psa_config::ca_file>("psa.ca_file", restart),
    field<&config::psa, &psa_config::connect_timeout>("psa.timeouts.connect", live),
    field<&config::psa, &psa_config::handshake_timeout>("psa.timeouts.handshake", live),
    field<&config::psa, &psa_config::request_timeout>("psa.timeouts.request", live),
    field<&config::psa, &psa_config::max_response_bytes>("psa.max_response_size", live),
    field<&config::psa, &psa_config::max_connections>("psa.max_connections", live),
    field<&config::psa, &psa_config::requests_per_minute>("psa.requests_per_minute", live),
};
[[maybe_unused]] void psa_members(const psa_config& p) {
  [[maybe_unused]] const auto& [site, company_id, public_key, private_key, client_id, api_version, codebase, ca_file,
                                connect_timeout, handshake_timeout, request_timeout, max_response_bytes,
                                max_connections, requests_per_minute] = p;
}
static_assert(std::size(psa_settings) == 14);

// The mapping: what a reload is for. Compared whole, so a member added to one
// of these structs is compared without a row.
constexpr setting mapping_settings[] = {
    whole<&config::companies>("companies", live),
    whole<&config::ticket>("ticket", live),
    {"rules", live, same_rules, [](const config& from, config& to) { to.rules = from.rules; }},
    whole<&config::storm>("storm", live),
};

// The sweep reads its intervals and page size from the configuration in
// effect at each turn.
constexpr setting reverse_settings[] = {
    field<&config::reverse, &reverse_config::poll_interval>("reverse.poll_interval", live),
    field<&config::reverse, &reverse_config::existence_interval>("reverse.existence_interval", live),
    field<&config::reverse, &reverse_config::page_size>("reverse.page_size", live),
    // Registration follows the URL at reload; the route and the key hosts are read per request.
    field<&config::reverse, &reverse_config::callback_url>("reverse.callback_url", live),
    field<&config::reverse, &reverse_config::callback_path>("reverse.callback_path", live),
    field<&config::reverse, &reverse_config::key_hosts>("reverse.key_hosts", live),
};
[[maybe_unused]] void reverse_members(const reverse_config& r) {
  [[maybe_unused]] const auto& [poll_interval, existence_interval, page_size, callback_url, callback_path, key_hosts] =
      r;
}
static_assert(std::size(reverse_settings) == 6);

// The public listener is bound, and its limits set, once; its certificate is
// read again at each reload (a renewed certificate needs no restart).
constexpr setting public_settings[] = {
    field<&config::public_listener, &public_config::listen>("public.listen", restart),
    field<&config::public_listener, &public_config::cert_file>("public.cert_file", live),
    field<&config::public_listener, &public_config::key_file>("public.key_file", live),
    field<&config::public_listener, &public_config::max_body_bytes>("public.max_body_size", restart),
    field<&config::public_listener, &public_config::max_connections>("public.max_connections", restart),
    field<&config::public_listener, &public_config::requests_per_second>("public.requests_per_second", restart),
};
[[maybe_unused]] void public_members(const public_config& p) {
  [[maybe_unused]] const auto& [listen, cert_file, key_file, max_body_bytes, max_connections, requests_per_second] = p;
}
static_assert(std::size(public_settings) == 6);

// The database is opened once.
constexpr setting storage_settings[] = {
    field<&config::storage, &storage_config::database>("storage.database", restart),
};
[[maybe_unused]] void storage_members(const storage_config& s) { [[maybe_unused]] const auto& [database] = s; }
static_assert(std::size(storage_settings) == 1);

// The spool is watched from start; the limits apply to the next file and batch.
constexpr setting intake_settings[] = {
    field<&config::intake, &intake_config::spool_dir>("intake.spool_dir", restart),
    field<&config::intake, &intake_config::max_event_bytes>("intake.max_event_size", live),
    field<&config::intake, &intake_config::rescan_interval>("intake.rescan_interval", live),
    field<&config::intake, &intake_config::batch_size>("intake.batch_size", live),
};
[[maybe_unused]] void intake_members(const intake_config& i) {
  [[maybe_unused]] const auto& [spool_dir, max_event_bytes, rescan_interval, batch_size] = i;
}
static_assert(std::size(intake_settings) == 4);

// The level is a filter on the logger; the format is the sink it was built with.
constexpr setting logging_settings[] = {
    field<&config::logging, &logging_config::level>("logging.level", live),
    field<&config::logging, &logging_config::fmt>("logging.format", restart),
};
[[maybe_unused]] void logging_members(const logging_config& l) { [[maybe_unused]] const auto& [level, fmt] = l; }
static_assert(std::size(logging_settings) == 2);

// The listeners are bound, and their limits set, once; the token and the inbox
// limit are checked per request.
constexpr setting admin_settings[] = {
    field<&config::admin, &admin_config::socket>("admin.socket", restart),
    field<&config::admin, &admin_config::socket_mode>("admin.socket_mode", restart),
    field<&config::admin, &admin_config::socket_group>("admin.socket_group", restart),
    field<&config::admin, &admin_config::listen>("admin.listen", restart),
    field<&config::admin, &admin_config::token>("admin.token", live),
    field<&config::admin, &admin_config::max_body_bytes>("admin.max_body_size", restart),
    field<&config::admin, &admin_config::max_inbox_depth>("admin.max_inbox_depth", live),
    field<&config::admin, &admin_config::max_connections>("admin.max_connections", restart),
};
[[maybe_unused]] void admin_members(const admin_config& a) {
  [[maybe_unused]] const auto& [socket, socket_mode, socket_group, listen, token, max_body_bytes, max_inbox_depth,
                                max_connections] = a;
}
static_assert(std::size(admin_settings) == 8);

constexpr std::span<const setting> tables[] = {psa_settings,    mapping_settings, reverse_settings, storage_settings,
                                               intake_settings, logging_settings, admin_settings,   public_settings};
// One table per section; source_path is where the file was read from, not a setting.
[[maybe_unused]] void config_members(const config& c) {
  [[maybe_unused]] const auto& [psa, companies, ticket, rules, storm, reverse, storage, intake, logging, admin,
                                public_listener, source_path] = c;
}

}  // namespace

config effective_config(const config& running, const config& next) {
  config out = next;
  for (const auto& table : tables)
    for (const setting& s : table)
      if (s.effect == restart) s.carry(running, out);
  // A TCP listener that stays until the restart needs its token until then
  // (the loader requires one with a listener; without, every request is 401).
  if (!out.admin.listen.empty() && out.admin.token.from == secret_ref::kind::none)
    out.admin.token = running.admin.token;
  return out;
}

std::vector<config_change> diff_config(const config& running, const config& next) {
  const config in_force = effective_config(running, next);
  std::vector<config_change> out;
  for (const auto& table : tables)
    for (const setting& s : table)
      if (!s.same(running, next)) out.push_back({std::string(s.key), s.same(in_force, next) ? live : restart});
  return out;
}

std::string describe(const std::vector<config_change>& changes, reload_effect effect) {
  std::string out;
  for (const config_change& c : changes) {
    if (c.effect != effect) continue;
    if (!out.empty()) out += ", ";
    out += c.key;
  }
  return out;
}

}  // namespace ts::config
