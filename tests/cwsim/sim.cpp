// Implementation of cwsim's ConnectWise model (see sim.hpp and README.md). Layout:
// seed loading and validation; JSON renderings of seeded records, tickets and notes
// (hrefs kept relative and made absolute per request); ticket body validation, PATCH
// operations, notes, delete and merge; list machinery (conditions, orderBy, paging with
// Link, forward-only paging, fields); routing, members and permission areas (deny and
// security roles); callback entries and the deliveries ticket changes fire; /__sim
// control endpoints; fault injection; stats and the request log.
#include "sim.hpp"

#include <algorithm>
#include <deque>
#include <fstream>
#include <set>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "conditions.hpp"

namespace cwsim {

namespace {

using json = nlohmann::json;
using sys_clock = std::chrono::system_clock;
using record_id = std::int64_t;

constexpr record_id first_ticket_id = 1001;
constexpr record_id first_note_id = 1;
// Enough for a benchmark's whole run (e.g. 2,000 issues x 7 calls) to be read back.
constexpr std::size_t request_log_capacity = 20000;
constexpr std::size_t request_log_body_limit = std::size_t{64} * 1024;  // larger bodies are logged as a placeholder
constexpr std::int64_t default_request_log_limit = 100;
constexpr std::int64_t default_page_size = 25;
constexpr std::int64_t max_page_size = 1000;
constexpr std::size_t summary_max_length = 100;
constexpr std::size_t external_xref_max_length = 100;
constexpr std::string_view alternate_codebase = "v4_6_release";
constexpr std::string_view json_content_type = "application/json; charset=utf-8";
constexpr std::string_view seeded_timestamp = "2025-01-01T00:00:00Z";  // _info.lastUpdated of seeded records
constexpr std::string_view fault_kinds[] = {"429", "500", "reset", "hang", "commit_drop"};
// Permission areas the "deny" knob can switch off (README "Permissions").
constexpr std::string_view deny_areas[] = {"companies",      "tickets.read",   "tickets.add", "tickets.edit",
                                           "tickets.close",  "tickets.delete", "table_setup", "members",
                                           "security_roles", "callbacks",      "system"};

// Which security-role setting grants an area (README "Security roles"): the setting whose
// moduleFunctionName matches (case-insensitively) and the level that must not be None.
// The real module/function identifiers are UNCONFIRMED, so cwsim matches on the name;
// "system" and "callbacks" have no known setting and follow the deny knob alone.
struct area_grant {
  std::string_view area, function_name, level;  // level: add, edit, delete, inquire
};
constexpr area_grant area_grants[] = {
    {"companies", "Company Maintenance", "inquire"}, {"tickets.read", "Service Tickets", "inquire"},
    {"tickets.add", "Service Tickets", "add"},       {"tickets.edit", "Service Tickets", "edit"},
    {"tickets.delete", "Service Tickets", "delete"}, {"tickets.close", "Close Service Tickets", "edit"},
    {"table_setup", "Table Setup", "inquire"},       {"members", "Member Maintenance", "inquire"},
    {"security_roles", "Security Roles", "inquire"},
};
constexpr std::string_view role_levels[] = {"None", "My", "All"};
constexpr std::size_t delivery_log_capacity = 10000;
constexpr std::size_t callback_description_max_length = 100;

// The canonical spelling of a deny area (matched case-insensitively), or nullopt.
std::optional<std::string> deny_area(std::string_view name) {
  for (const auto area : deny_areas)
    if (ci_equal(area, name)) return std::string(area);
  return std::nullopt;
}

std::string deny_area_list() {
  std::string out;
  for (const auto area : deny_areas) out += (out.empty() ? "" : ", ") + std::string(area);
  return out;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---------------------------------------------------------------------------------
// Seed

struct company_rec {
  record_id id;
  std::string identifier, name;
};
struct status_rec {
  record_id id;
  std::string name;
  bool closed, is_default, inactive;
  std::int64_t sort_order;
};
struct child_rec {  // board type, subtype, item or team
  record_id id;
  std::string name;
  bool inactive, is_default;
  std::string category;       // types only
  json type_association_ids;  // subtypes only
};
struct board_rec {
  record_id id;
  std::string name;
  bool inactive, project;
  std::vector<status_rec> statuses;
  std::vector<child_rec> types, subtypes, items, teams;
};
struct priority_rec {
  record_id id;
  std::string name, color, level;
  std::int64_t sort_order;
  bool is_default;
};
struct source_rec {
  record_id id;
  std::string name;
  bool is_default;
};
struct custom_field_rec {  // a ticket custom field definition (CustomFieldValue without a value)
  record_id id;
  std::string caption, type, entry_method;
  std::int64_t decimals;
};

// CustomFieldValue.type values (2026.4 enum).
constexpr std::string_view custom_field_types[] = {"TextArea",  "Button",      "Currency", "Date",
                                                   "Hyperlink", "IPAddress",   "Checkbox", "Number",
                                                   "Percent",   "PhoneNumber", "Text",     "Password"};

struct role_setting_rec {  // SecurityRoleSetting
  record_id id;
  std::string module_identifier, module_description, function_identifier, function_name, function_description;
  std::string add, edit, del, inquire;  // None | My | All
};
struct role_rec {  // SecurityRole
  record_id id;
  std::string name;
  std::vector<role_setting_rec> settings;
};
struct member_rec {
  record_id id;
  std::string identifier, first_name, last_name;
  std::string public_key, private_key;  // both empty: cannot call the API
  std::optional<record_id> role_id;
  bool inactive;
};

struct directory {
  std::string company_id, public_key, private_key, client_id;
  std::string codebase;      // without the trailing '/'
  std::string version_code;  // "v2025.1"
  std::string build;         // "10234"
  std::string company_name, api_member;
  std::vector<company_rec> companies;
  std::vector<board_rec> boards;
  std::vector<priority_rec> priorities;
  std::vector<source_rec> sources;
  std::vector<custom_field_rec> custom_fields;  // every ticket shows each of them
  std::set<std::string> deny;                   // permission areas answered with 403
  std::vector<role_rec> roles;
  std::vector<member_rec> members;  // members[0] is the integration member (top-level keys)

  const board_rec* board(record_id id) const {
    for (const auto& b : boards)
      if (b.id == id) return &b;
    return nullptr;
  }
  const company_rec* company(record_id id) const {
    for (const auto& c : companies)
      if (c.id == id) return &c;
    return nullptr;
  }
  const priority_rec* priority(record_id id) const {
    for (const auto& p : priorities)
      if (p.id == id) return &p;
    return nullptr;
  }
  const role_rec* role(record_id id) const {
    for (const auto& r : roles)
      if (r.id == id) return &r;
    return nullptr;
  }
  const member_rec* member(record_id id) const {
    for (const auto& m : members)
      if (m.id == id) return &m;
    return nullptr;
  }
  const source_rec* source(record_id id) const {
    for (const auto& s : sources)
      if (s.id == id) return &s;
    return nullptr;
  }
};

template <class Rec>
const Rec* find_by_id(const std::vector<Rec>& pool, record_id id) {
  for (const auto& r : pool)
    if (r.id == id) return &r;
  return nullptr;
}

[[noreturn]] void seed_fail(const std::string& where, const std::string& what) {
  throw seed_error("seed " + where + ": " + what);
}

const json* seed_member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string seed_string(const json& obj, const char* key, const std::string& where,
                        std::optional<std::string> fallback = std::nullopt) {
  const json* v = seed_member(obj, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    seed_fail(where, std::string("missing \"") + key + "\"");
  }
  if (!v->is_string() || v->get_ref<const std::string&>().empty())
    seed_fail(where, std::string("\"") + key + "\" must be a non-empty string");
  return v->get<std::string>();
}

bool seed_bool(const json& obj, const char* key, const std::string& where, bool fallback) {
  const json* v = seed_member(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) seed_fail(where, std::string("\"") + key + "\" must be true or false");
  return v->get<bool>();
}

std::int64_t seed_int(const json& obj, const char* key, const std::string& where, std::int64_t fallback) {
  const json* v = seed_member(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) seed_fail(where, std::string("\"") + key + "\" must be an integer");
  return v->get<std::int64_t>();
}

record_id seed_id(const json& obj, const std::string& where, std::set<record_id>& used) {
  const json* v = seed_member(obj, "id");
  if (v == nullptr || !v->is_number_integer() || v->get<std::int64_t>() <= 0)
    seed_fail(where, "\"id\" must be a positive integer");
  const auto id = v->get<record_id>();
  if (!used.insert(id).second) seed_fail(where, "duplicate id " + std::to_string(id));
  return id;
}

const json& seed_array(const json& obj, const char* key, const std::string& where, bool required) {
  static const json empty = json::array();
  const json* v = seed_member(obj, key);
  if (v == nullptr) {
    if (required) seed_fail(where, std::string("missing array \"") + key + "\"");
    return empty;
  }
  if (!v->is_array()) seed_fail(where, std::string("\"") + key + "\" must be an array");
  if (required && v->empty()) seed_fail(where, std::string("\"") + key + "\" must not be empty");
  return *v;
}

void require_object(const json& v, const std::string& where) {
  if (!v.is_object()) seed_fail(where, "must be an object");
}

template <class Rec>
void require_unique_name(const std::vector<Rec>& pool, const std::string& name, const std::string& where) {
  for (const auto& r : pool)
    if (ci_equal(r.name, name)) seed_fail(where, "duplicate name \"" + name + "\"");
}

directory parse_seed(const json& seed) {
  if (!seed.is_object()) seed_fail("document", "must be a JSON object");
  directory d;
  d.company_id = seed_string(seed, "company_id", "document");
  d.public_key = seed_string(seed, "public_key", "document");
  d.private_key = seed_string(seed, "private_key", "document");
  d.client_id = seed_string(seed, "client_id", "document");
  std::string codebase = seed_string(seed, "codebase", "document");
  if (codebase.back() != '/') seed_fail("document", "\"codebase\" must end with '/', e.g. \"v2025_1/\"");
  codebase.pop_back();
  if (codebase.empty() || codebase.find('/') != std::string::npos)
    seed_fail("document", "\"codebase\" must be one path segment followed by '/'");
  d.codebase = codebase;
  // "v2025_1" → "v2025.1"; other codebases (v4_6_release) fall back to a fixed release.
  std::string derived = "v2025.1";
  if (codebase.size() > 1 && codebase[0] == 'v' && codebase.find("release") == std::string::npos) {
    derived = codebase;
    std::replace(derived.begin(), derived.end(), '_', '.');
  }
  d.version_code = seed_string(seed, "version_code", "document", derived);
  d.build = seed_string(seed, "build", "document", std::string("10234"));
  d.company_name = seed_string(seed, "company_name", "document", std::string("cwsim Demo MSP"));
  d.api_member = seed_string(seed, "api_member", "document", std::string("APIMember"));

  std::set<record_id> company_ids, board_ids, status_ids, type_ids, subtype_ids, item_ids, team_ids, priority_ids,
      source_ids, custom_field_ids;

  const json& companies = seed_array(seed, "companies", "document", true);
  for (std::size_t i = 0; i < companies.size(); ++i) {
    const std::string where = "companies[" + std::to_string(i) + "]";
    const json& c = companies[i];
    require_object(c, where);
    company_rec rec{seed_id(c, where, company_ids), seed_string(c, "identifier", where), ""};
    rec.name = seed_string(c, "name", where, rec.identifier);
    for (const auto& other : d.companies)
      if (ci_equal(other.identifier, rec.identifier))
        seed_fail(where, "duplicate identifier \"" + rec.identifier + "\"");
    d.companies.push_back(std::move(rec));
  }

  const json& boards = seed_array(seed, "boards", "document", true);
  for (std::size_t i = 0; i < boards.size(); ++i) {
    const std::string where = "boards[" + std::to_string(i) + "]";
    const json& b = boards[i];
    require_object(b, where);
    board_rec board{seed_id(b, where, board_ids),
                    seed_string(b, "name", where),
                    seed_bool(b, "inactiveFlag", where, false),
                    seed_bool(b, "projectFlag", where, false),
                    {},
                    {},
                    {},
                    {},
                    {}};
    require_unique_name(d.boards, board.name, where);

    const json& statuses = seed_array(b, "statuses", where, true);
    int defaults = 0;
    for (std::size_t j = 0; j < statuses.size(); ++j) {
      const std::string sw = where + ".statuses[" + std::to_string(j) + "]";
      const json& s = statuses[j];
      require_object(s, sw);
      status_rec st{seed_id(s, sw, status_ids),
                    seed_string(s, "name", sw),
                    seed_bool(s, "closedStatus", sw, false),
                    seed_bool(s, "defaultFlag", sw, false),
                    seed_bool(s, "inactive", sw, false),
                    seed_int(s, "sortOrder", sw, static_cast<std::int64_t>(j))};
      require_unique_name(board.statuses, st.name, sw);
      if (st.is_default) ++defaults;
      board.statuses.push_back(std::move(st));
    }
    if (defaults > 1) seed_fail(where, "more than one status has defaultFlag true");
    if (defaults == 0) board.statuses.front().is_default = true;

    const auto read_children = [&](const char* key, std::set<record_id>& used, std::vector<child_rec>& out) {
      const json& arr = seed_array(b, key, where, false);
      for (std::size_t j = 0; j < arr.size(); ++j) {
        const std::string cw = where + "." + key + "[" + std::to_string(j) + "]";
        const json& c = arr[j];
        require_object(c, cw);
        child_rec rec{seed_id(c, cw, used),
                      seed_string(c, "name", cw),
                      seed_bool(c, "inactiveFlag", cw, false),
                      seed_bool(c, "defaultFlag", cw, false),
                      seed_string(c, "category", cw, std::string("Reactive")),
                      json::array()};
        if (const json* assoc = seed_member(c, "typeAssociationIds")) {
          if (!assoc->is_array()) seed_fail(cw, "\"typeAssociationIds\" must be an array of type ids");
          rec.type_association_ids = *assoc;
        }
        require_unique_name(out, rec.name, cw);
        out.push_back(std::move(rec));
      }
    };
    read_children("types", type_ids, board.types);
    read_children("subtypes", subtype_ids, board.subtypes);
    read_children("items", item_ids, board.items);
    read_children("teams", team_ids, board.teams);
    d.boards.push_back(std::move(board));
  }

  const json& priorities = seed_array(seed, "priorities", "document", true);
  int default_priorities = 0;
  for (std::size_t i = 0; i < priorities.size(); ++i) {
    const std::string where = "priorities[" + std::to_string(i) + "]";
    const json& p = priorities[i];
    require_object(p, where);
    priority_rec rec{seed_id(p, where, priority_ids),
                     seed_string(p, "name", where),
                     seed_string(p, "color", where, std::string("Green")),
                     seed_string(p, "level", where, std::string("Medium")),
                     seed_int(p, "sortOrder", where, static_cast<std::int64_t>(i + 1)),
                     seed_bool(p, "defaultFlag", where, false)};
    require_unique_name(d.priorities, rec.name, where);
    if (rec.is_default) ++default_priorities;
    d.priorities.push_back(std::move(rec));
  }
  if (default_priorities > 1) seed_fail("priorities", "more than one priority has defaultFlag true");
  if (default_priorities == 0) d.priorities[d.priorities.size() / 2].is_default = true;

  const json& sources = seed_array(seed, "sources", "document", false);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::string where = "sources[" + std::to_string(i) + "]";
    const json& s = sources[i];
    require_object(s, where);
    source_rec rec{seed_id(s, where, source_ids), seed_string(s, "name", where),
                   seed_bool(s, "defaultFlag", where, false)};
    require_unique_name(d.sources, rec.name, where);
    d.sources.push_back(std::move(rec));
  }

  const json& custom_fields = seed_array(seed, "custom_fields", "document", false);
  for (std::size_t i = 0; i < custom_fields.size(); ++i) {
    const std::string where = "custom_fields[" + std::to_string(i) + "]";
    const json& cf = custom_fields[i];
    require_object(cf, where);
    custom_field_rec rec{seed_id(cf, where, custom_field_ids), seed_string(cf, "caption", where),
                         seed_string(cf, "type", where, std::string("Text")),
                         seed_string(cf, "entryMethod", where, std::string("EntryField")),
                         seed_int(cf, "numberOfDecimals", where, 0)};
    if (std::none_of(std::begin(custom_field_types), std::end(custom_field_types),
                     [&](std::string_view t) { return t == rec.type; }))
      seed_fail(where,
                "\"type\" must be one of TextArea, Button, Currency, Date, Hyperlink, IPAddress, Checkbox, "
                "Number, Percent, PhoneNumber, Text, Password");
    for (const auto& other : d.custom_fields)
      if (ci_equal(other.caption, rec.caption)) seed_fail(where, "duplicate caption \"" + rec.caption + "\"");
    d.custom_fields.push_back(std::move(rec));
  }

  // Security roles, then members (which name them).
  std::set<record_id> role_ids, setting_ids, member_ids;
  record_id next_setting_id = 1;
  const json& roles = seed_array(seed, "security_roles", "document", false);
  for (std::size_t i = 0; i < roles.size(); ++i) {
    const std::string where = "security_roles[" + std::to_string(i) + "]";
    const json& r = roles[i];
    require_object(r, where);
    role_rec rec{seed_id(r, where, role_ids), seed_string(r, "name", where), {}};
    require_unique_name(d.roles, rec.name, where);
    const json& settings = seed_array(r, "settings", where, false);
    for (std::size_t j = 0; j < settings.size(); ++j) {
      const std::string sw = where + ".settings[" + std::to_string(j) + "]";
      const json& st = settings[j];
      require_object(st, sw);
      record_id sid = 0;
      if (seed_member(st, "id") != nullptr) {
        sid = seed_id(st, sw, setting_ids);
      } else {
        while (setting_ids.count(next_setting_id) != 0) ++next_setting_id;
        sid = next_setting_id;
        setting_ids.insert(sid);
      }
      const auto level = [&](const char* key) {
        const std::string v = seed_string(st, key, sw, std::string("None"));
        for (const auto l : role_levels)
          if (ci_equal(l, v)) return std::string(l);
        seed_fail(sw, std::string("\"") + key + "\" must be None, My or All");
      };
      role_setting_rec set{sid,
                           seed_string(st, "moduleIdentifier", sw, std::string("")),
                           seed_string(st, "moduleDescription", sw, std::string("")),
                           seed_string(st, "moduleFunctionIdentifier", sw, std::string("")),
                           seed_string(st, "moduleFunctionName", sw),
                           seed_string(st, "moduleFunctionDescription", sw, std::string("")),
                           level("addLevel"),
                           level("editLevel"),
                           level("deleteLevel"),
                           level("inquireLevel")};
      for (const auto& other : rec.settings)
        if (ci_equal(other.function_name, set.function_name))
          seed_fail(sw, "duplicate moduleFunctionName \"" + set.function_name + "\"");
      rec.settings.push_back(std::move(set));
    }
    d.roles.push_back(std::move(rec));
  }

  const json& members = seed_array(seed, "members", "document", false);
  std::optional<member_rec> integration;
  std::vector<member_rec> others;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string where = "members[" + std::to_string(i) + "]";
    const json& m = members[i];
    require_object(m, where);
    member_rec rec{seed_id(m, where, member_ids),
                   seed_string(m, "identifier", where),
                   "",
                   "",
                   "",
                   "",
                   std::nullopt,
                   seed_bool(m, "inactiveFlag", where, false)};
    if (utf16_length(rec.identifier) > 15) seed_fail(where, "\"identifier\" is longer than 15 characters");
    const std::string name = seed_string(m, "name", where, rec.identifier);
    const auto space = name.find(' ');
    rec.first_name = seed_string(m, "firstName", where, name.substr(0, space));
    rec.last_name = seed_string(m, "lastName", where,
                                space == std::string::npos ? std::string() : std::string(trim(name.substr(space))));
    if (const json* role = seed_member(m, "security_role")) {
      const json* id = role->is_object() ? seed_member(*role, "id") : role;
      if (id == nullptr || !id->is_number_integer() || d.role(id->get<record_id>()) == nullptr)
        seed_fail(where, "\"security_role\" must be {\"id\": N} naming one of security_roles[]");
      rec.role_id = id->get<record_id>();
    }
    const bool has_keys = seed_member(m, "public_key") != nullptr || seed_member(m, "private_key") != nullptr;
    if (has_keys) {
      rec.public_key = seed_string(m, "public_key", where);
      rec.private_key = seed_string(m, "private_key", where);
    }
    for (const auto& other : others)
      if (ci_equal(other.identifier, rec.identifier))
        seed_fail(where, "duplicate identifier \"" + rec.identifier + "\"");
    if (ci_equal(rec.identifier, d.api_member)) {
      // The integration member: its keys are the top-level ones.
      if (integration) seed_fail(where, "duplicate identifier \"" + rec.identifier + "\"");
      if (has_keys && (rec.public_key != d.public_key || rec.private_key != d.private_key))
        seed_fail(where,
                  "the integration member (api_member) takes the top-level public_key/private_key; omit "
                  "them here or repeat them exactly");
      rec.identifier = d.api_member;
      integration = std::move(rec);
    } else {
      others.push_back(std::move(rec));
    }
  }
  if (!integration) {
    record_id id = 1;
    while (member_ids.count(id) != 0) ++id;
    integration = member_rec{id, d.api_member, d.api_member, "", "", "", std::nullopt, false};
  }
  integration->public_key = d.public_key;
  integration->private_key = d.private_key;
  if (integration->inactive) seed_fail("members", "the integration member (api_member) cannot be inactive");
  d.members.push_back(std::move(*integration));
  for (auto& m : others) {
    for (const auto& other : d.members)
      if (!m.public_key.empty() && m.public_key == other.public_key)
        seed_fail("members", "members " + other.identifier + " and " + m.identifier + " share a public_key");
    d.members.push_back(std::move(m));
  }

  const json& deny = seed_array(seed, "deny", "document", false);
  for (std::size_t i = 0; i < deny.size(); ++i) {
    const std::string where = "deny[" + std::to_string(i) + "]";
    const auto area = deny[i].is_string() ? deny_area(deny[i].get<std::string>()) : std::nullopt;
    if (!area) seed_fail(where, "must be one of " + deny_area_list());
    d.deny.insert(*area);
  }
  return d;
}

// ---------------------------------------------------------------------------------
// Renderings. Hrefs are stored relative to the API base ("/service/boards/1") and made
// absolute by externalize() for the request's host and codebase.

json reference(record_id id, std::string_view name, std::string_view href_key, const std::string& href) {
  return json{{"id", id}, {"name", name}, {"_info", {{std::string(href_key), href}}}};
}

std::string board_href(record_id board) { return "/service/boards/" + std::to_string(board); }

json board_ref(const board_rec& b) { return reference(b.id, b.name, "board_href", board_href(b.id)); }

json seeded_info(const directory& d) { return json{{"lastUpdated", seeded_timestamp}, {"updatedBy", d.api_member}}; }

json render_board(const directory& d, const board_rec& b) {
  return json{{"id", b.id},
              {"name", b.name},
              {"inactiveFlag", b.inactive},
              {"projectFlag", b.project},
              {"_info", seeded_info(d)}};
}

json render_status(const directory& d, const board_rec& b, const status_rec& s) {
  return json{{"id", s.id},
              {"name", s.name},
              {"board", board_ref(b)},
              {"sortOrder", s.sort_order},
              {"displayOnBoard", true},
              {"inactive", s.inactive},
              {"closedStatus", s.closed},
              {"defaultFlag", s.is_default},
              {"timeEntryNotAllowed", false},
              {"_info", seeded_info(d)}};
}

json render_child(const directory& d, const board_rec& b, const child_rec& c, std::string_view kind) {
  json j{
      {"id", c.id}, {"name", c.name}, {"inactiveFlag", c.inactive}, {"board", board_ref(b)}, {"_info", seeded_info(d)}};
  if (kind == "types") {
    j["category"] = c.category;
    j["defaultFlag"] = c.is_default;
    j["requestForChangeFlag"] = false;
  } else if (kind == "subtypes") {
    j["typeAssociationIds"] = c.type_association_ids;
  }
  return j;
}

// BoardTeam: boardId instead of a board reference, no inactive flag.
json render_team(const directory& d, const board_rec& b, const child_rec& c) {
  return json{
      {"id", c.id},      {"name", c.name},         {"defaultFlag", c.is_default}, {"notifyOnTicketDelete", false},
      {"boardId", b.id}, {"_info", seeded_info(d)}};
}

json render_priority(const directory& d, const priority_rec& p) {
  return json{{"id", p.id},
              {"name", p.name},
              {"color", p.color},
              {"sortOrder", p.sort_order},
              {"level", p.level},
              {"defaultFlag", p.is_default},
              {"_info", seeded_info(d)}};
}

json render_source(const directory& d, const source_rec& s) {
  return json{{"id", s.id}, {"name", s.name}, {"defaultFlag", s.is_default}, {"_info", seeded_info(d)}};
}

json render_company(const directory& d, const company_rec& c) {
  return json{{"id", c.id},           {"identifier", c.identifier},
              {"name", c.name},       {"status", {{"id", 1}, {"name", "Active"}}},
              {"deletedFlag", false}, {"_info", seeded_info(d)}};
}

struct note_rec {
  record_id id = 0;
  std::string text;
  bool detail = false, internal = false, resolution = false;
  sys_clock::time_point created;
  std::string created_by;  // member identifier
};

struct ticket_rec {
  record_id id = 0;
  std::string summary;
  record_id company_id = 0, board_id = 0, status_id = 0, priority_id = 0;
  std::optional<record_id> type_id, subtype_id, item_id, team_id, source_id;
  std::optional<std::string> external_xref, severity, impact;
  std::map<record_id, json> custom_values;  // custom field id → value as sent (unset fields show null)
  json passthrough = json::object();        // accepted optional fields echoed verbatim
  sys_clock::time_point entered, updated;
  std::string entered_by, updated_by, closed_by;  // member identifiers
  std::optional<sys_clock::time_point> closed_at;
  std::optional<record_id> merged_parent;  // set by a merge into another ticket
  std::string merged_parent_summary;       // the parent's summary at the merge
  bool has_merged_child = false;
  std::vector<note_rec> notes;
  json view;  // render_ticket() of the current state
};

json render_note(const directory&, record_id ticket_id, const note_rec& n) {
  const std::string when = format_datetime(n.created);
  return json{{"id", n.id},
              {"ticketId", ticket_id},
              {"text", n.text},
              {"detailDescriptionFlag", n.detail},
              {"internalAnalysisFlag", n.internal},
              {"resolutionFlag", n.resolution},
              {"issueFlag", false},
              {"customerUpdatedFlag", false},
              {"internalFlag", n.internal},
              {"externalFlag", n.detail || n.resolution},
              {"dateCreated", when},
              {"createdBy", n.created_by},
              {"_info", {{"lastUpdated", when}, {"updatedBy", n.created_by}}}};
}

json render_ticket(const directory& d, const ticket_rec& t) {
  const board_rec& board = *d.board(t.board_id);
  const status_rec& status = *find_by_id(board.statuses, t.status_id);
  const company_rec& company = *d.company(t.company_id);
  const priority_rec& priority = *d.priority(t.priority_id);
  const std::string bh = board_href(board.id);
  json v{{"id", t.id},
         {"summary", t.summary},
         {"recordType", "ServiceTicket"},
         {"board", board_ref(board)},
         {"status",
          {{"id", status.id},
           {"name", status.name},
           {"sort", status.sort_order},
           {"_info", {{"status_href", bh + "/statuses/" + std::to_string(status.id)}}}}},
         {"company",
          {{"id", company.id},
           {"identifier", company.identifier},
           {"name", company.name},
           {"_info", {{"company_href", "/company/companies/" + std::to_string(company.id)}}}}},
         {"priority",
          {{"id", priority.id},
           {"name", priority.name},
           {"sort", priority.sort_order},
           {"level", priority.level},
           {"_info", {{"priority_href", "/service/priorities/" + std::to_string(priority.id)}}}}},
         {"closedFlag", status.closed}};
  if (t.type_id)
    v["type"] = reference(*t.type_id, find_by_id(board.types, *t.type_id)->name, "type_href",
                          bh + "/types/" + std::to_string(*t.type_id));
  if (t.subtype_id)
    v["subType"] = reference(*t.subtype_id, find_by_id(board.subtypes, *t.subtype_id)->name, "subType_href",
                             bh + "/subtypes/" + std::to_string(*t.subtype_id));
  if (t.item_id)
    v["item"] = reference(*t.item_id, find_by_id(board.items, *t.item_id)->name, "item_href",
                          bh + "/items/" + std::to_string(*t.item_id));
  if (t.team_id)
    v["team"] = reference(*t.team_id, find_by_id(board.teams, *t.team_id)->name, "team_href",
                          bh + "/teams/" + std::to_string(*t.team_id));
  if (t.source_id)
    v["source"] = reference(*t.source_id, d.source(*t.source_id)->name, "source_href",
                            "/service/sources/" + std::to_string(*t.source_id));
  if (t.external_xref) v["externalXRef"] = *t.external_xref;
  if (t.severity) v["severity"] = *t.severity;
  if (t.impact) v["impact"] = *t.impact;
  for (const auto& [key, value] : t.passthrough.items()) v[key] = value;
  json custom = json::array();  // CW lists every defined field, set or not
  for (const auto& cf : d.custom_fields) {
    const auto it = t.custom_values.find(cf.id);
    custom.push_back({{"id", cf.id},
                      {"caption", cf.caption},
                      {"type", cf.type},
                      {"entryMethod", cf.entry_method},
                      {"numberOfDecimals", cf.decimals},
                      {"value", it == t.custom_values.end() ? json(nullptr) : it->second}});
  }
  v["customFields"] = std::move(custom);
  if (t.closed_at) {
    v["closedDate"] = format_datetime(*t.closed_at);
    v["closedBy"] = t.closed_by;
  }
  if (t.merged_parent)
    v["mergedParentTicket"] = {{"id", *t.merged_parent},
                               {"summary", t.merged_parent_summary},
                               {"_info", {{"ticket_href", "/service/tickets/" + std::to_string(*t.merged_parent)}}}};
  v["hasMergedChildTicketFlag"] = t.has_merged_child;
  v["_info"] = {{"dateEntered", format_datetime(t.entered)},
                {"enteredBy", t.entered_by},
                {"lastUpdated", format_datetime(t.updated)},
                {"updatedBy", t.updated_by},
                {"notes_href", "/service/tickets/" + std::to_string(t.id) + "/notes"}};
  return v;
}

json render_role(const directory& d, const role_rec& r) {
  return json{{"id", r.id}, {"name", r.name}, {"roleType", "Corporate"}, {"_info", seeded_info(d)}};
}

// A role setting as read back: the seeded levels, with the levels that a denied area
// (the deny knob, for every member) maps to shown as None.
json render_role_setting(const directory& d, const role_rec& r, const role_setting_rec& st,
                         const std::set<std::string>& denied) {
  std::string add = st.add, edit = st.edit, del = st.del, inquire = st.inquire;
  for (const auto& g : area_grants) {
    if (denied.count(std::string(g.area)) == 0 || !ci_equal(g.function_name, st.function_name)) continue;
    (g.level == "add" ? add : g.level == "edit" ? edit : g.level == "delete" ? del : inquire) = "None";
  }
  return json{{"id", st.id},
              {"addLevel", add},
              {"editLevel", edit},
              {"deleteLevel", del},
              {"inquireLevel", inquire},
              {"moduleIdentifier", st.module_identifier},
              {"moduleDescription", st.module_description},
              {"moduleFunctionIdentifier", st.function_identifier},
              {"moduleFunctionName", st.function_name},
              {"moduleFunctionDescription", st.function_description},
              {"myAllFlag", true},
              {"reportFlag", false},
              {"restrictFlag", false},
              {"customFlag", false},
              {"securityRoleId", r.id},
              {"_info", seeded_info(d)}};
}

json render_member(const directory& d, const member_rec& m) {
  json j{{"id", m.id},
         {"identifier", m.identifier},
         {"firstName", m.first_name},
         {"lastName", m.last_name},
         {"inactiveFlag", m.inactive},
         {"_info", seeded_info(d)}};
  if (m.role_id)
    j["securityRole"] = reference(*m.role_id, d.role(*m.role_id)->name, "securityRole_href",
                                  "/system/securityRoles/" + std::to_string(*m.role_id));
  return j;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Prefixes every relative "*_href" string with `api_base`.
void externalize(json& j, const std::string& api_base) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string() && ends_with(it.key(), "_href")) {
        const auto& s = it->get_ref<const std::string&>();
        if (!s.empty() && s.front() == '/') *it = api_base + s;
      } else {
        externalize(*it, api_base);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) externalize(e, api_base);
  }
}

// ---------------------------------------------------------------------------------
// Condition schemas per resource

field_def f(std::string name, value_kind kind) {
  std::vector<std::string> path;
  std::size_t start = 0;
  for (;;) {
    const auto slash = name.find('/', start);
    path.push_back(name.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return field_def{std::move(name), std::move(path), kind};
}

field_def f_at(std::string name, std::vector<std::string> path, value_kind kind) {
  return field_def{std::move(name), std::move(path), kind};
}

constexpr auto k_int = value_kind::integer;
constexpr auto k_str = value_kind::string;
constexpr auto k_bool = value_kind::boolean;
constexpr auto k_date = value_kind::datetime;

const field_schema& ticket_schema() {
  static const field_schema s = [] {
    field_schema fs{f("id", k_int),
                    f("summary", k_str),
                    f("recordType", k_str),
                    f("externalXRef", k_str),
                    f("closedFlag", k_bool),
                    f("severity", k_str),
                    f("impact", k_str),
                    f("contactName", k_str),
                    f("contactEmailAddress", k_str),
                    f("poNumber", k_str),
                    f("closedDate", k_date),
                    f("closedBy", k_str),
                    f("company/id", k_int),
                    f("company/identifier", k_str),
                    f("company/name", k_str),
                    f("priority/sort", k_int),
                    f("priority/level", k_str),
                    f_at("lastUpdated", {"_info", "lastUpdated"}, k_date),
                    f_at("dateEntered", {"_info", "dateEntered"}, k_date),
                    f("_info/lastUpdated", k_date),
                    f("_info/dateEntered", k_date),
                    f_at("enteredBy", {"_info", "enteredBy"}, k_str),
                    f_at("updatedBy", {"_info", "updatedBy"}, k_str),
                    f("_info/updatedBy", k_str),
                    f("_info/enteredBy", k_str),
                    f("mergedParentTicket/id", k_int),
                    f("hasMergedChildTicketFlag", k_bool)};
    for (const char* ref : {"board", "status", "priority", "type", "subType", "item", "team", "source"}) {
      fs.push_back(f(std::string(ref) + "/id", k_int));
      fs.push_back(f(std::string(ref) + "/name", k_str));
    }
    return fs;
  }();
  return s;
}

const field_schema& note_schema() {
  static const field_schema s{f("id", k_int),
                              f("ticketId", k_int),
                              f("text", k_str),
                              f("detailDescriptionFlag", k_bool),
                              f("internalAnalysisFlag", k_bool),
                              f("resolutionFlag", k_bool),
                              f("internalFlag", k_bool),
                              f("externalFlag", k_bool),
                              f("createdBy", k_str),
                              f("dateCreated", k_date)};
  return s;
}

const field_schema& member_schema() {
  static const field_schema s{f("id", k_int),
                              f("identifier", k_str),
                              f("firstName", k_str),
                              f("lastName", k_str),
                              f("inactiveFlag", k_bool),
                              f("securityRole/id", k_int),
                              f("securityRole/name", k_str)};
  return s;
}

const field_schema& role_schema() {
  static const field_schema s{f("id", k_int), f("name", k_str), f("roleType", k_str)};
  return s;
}

const field_schema& role_setting_schema() {
  static const field_schema s{f("id", k_int),
                              f("addLevel", k_str),
                              f("editLevel", k_str),
                              f("deleteLevel", k_str),
                              f("inquireLevel", k_str),
                              f("moduleIdentifier", k_str),
                              f("moduleDescription", k_str),
                              f("moduleFunctionIdentifier", k_str),
                              f("moduleFunctionName", k_str),
                              f("moduleFunctionDescription", k_str)};
  return s;
}

const field_schema& callback_schema() {
  static const field_schema s{f("id", k_int),
                              f("url", k_str),
                              f("type", k_str),
                              f("level", k_str),
                              f("objectId", k_int),
                              f("description", k_str),
                              f("inactiveFlag", k_bool),
                              f("memberId", k_int),
                              f("payloadVersion", k_str),
                              f("isSoapCallbackFlag", k_bool),
                              f("isSelfSuppressedFlag", k_bool)};
  return s;
}

const field_schema& board_schema() {
  static const field_schema s{f("id", k_int), f("name", k_str), f("inactiveFlag", k_bool), f("projectFlag", k_bool)};
  return s;
}

const field_schema& status_schema() {
  static const field_schema s{f("id", k_int),
                              f("name", k_str),
                              f("sortOrder", k_int),
                              f("inactive", k_bool),
                              f("closedStatus", k_bool),
                              f("defaultFlag", k_bool),
                              f("displayOnBoard", k_bool),
                              f("board/id", k_int),
                              f("board/name", k_str)};
  return s;
}

const field_schema& child_schema() {
  static const field_schema s{f("id", k_int),           f("name", k_str),     f("inactiveFlag", k_bool),
                              f("defaultFlag", k_bool), f("category", k_str), f("board/id", k_int),
                              f("board/name", k_str)};
  return s;
}

const field_schema& team_schema() {
  static const field_schema s{f("id", k_int), f("name", k_str), f("defaultFlag", k_bool), f("boardId", k_int)};
  return s;
}

const field_schema& priority_schema() {
  static const field_schema s{f("id", k_int),        f("name", k_str),         f("color", k_str),
                              f("sortOrder", k_int), f("defaultFlag", k_bool), f("level", k_str)};
  return s;
}

const field_schema& source_schema() {
  static const field_schema s{f("id", k_int), f("name", k_str), f("defaultFlag", k_bool)};
  return s;
}

const field_schema& company_schema() {
  static const field_schema s{f("id", k_int),           f("identifier", k_str), f("name", k_str),
                              f("deletedFlag", k_bool), f("status/id", k_int),  f("status/name", k_str)};
  return s;
}

// ---------------------------------------------------------------------------------
// Responses

void set_header(sim_response& r, std::string name, std::string value) {
  for (auto& [k, v] : r.headers)
    if (ci_equal(k, name)) {
      v = std::move(value);
      return;
    }
  r.headers.emplace_back(std::move(name), std::move(value));
}

sim_response json_response(int status, const json& body) {
  sim_response r;
  r.status = status;
  r.body = dump(body);
  r.headers.emplace_back("Content-Type", std::string(json_content_type));
  return r;
}

sim_response error_response(int status, std::string_view code, std::string_view message, json errors = nullptr) {
  return json_response(status, json{{"code", code}, {"message", message}, {"errors", std::move(errors)}});
}

struct field_error {
  std::string code, message, field;
};
using field_errors = std::vector<field_error>;

// 400 in CW's validation shape: {"code":"InvalidObject","message":"<resource> object is
// invalid","errors":[{code,message,resource,field}...]}.
sim_response invalid_object(std::string_view resource, const field_errors& errs, std::string message = {}) {
  json list = json::array();
  for (const auto& e : errs)
    list.push_back({{"code", e.code}, {"message", e.message}, {"resource", resource}, {"field", e.field}});
  if (message.empty()) message = std::string(resource) + " object is invalid";
  return error_response(400, "InvalidObject", message, std::move(list));
}

sim_response not_found(std::string_view message) { return error_response(404, "NotFound", message); }

// ---------------------------------------------------------------------------------
// Request parsing

struct call {
  const sim_request& req;
  std::string raw_path;               // percent-encoded, without query
  std::string raw_query;              // without '?'
  std::vector<std::string> segments;  // decoded, below /{codebase}apis/3.0 for API calls
  std::vector<record_id> ids;         // numeric segments, in order
  std::string route;                  // "/service/tickets/{id}"
  header_map query;                   // decoded; the first occurrence of a key wins
  std::string origin;                 // "https://host:port"
  std::string api_base;               // origin + "/{codebase}/apis/3.0"
  std::string key;                    // the {identifier} of /system/members/{identifier}
};

std::vector<std::string> split_path(std::string_view raw_path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= raw_path.size()) {
    const auto slash = raw_path.find('/', start);
    const auto end = slash == std::string_view::npos ? raw_path.size() : slash;
    if (end > start) out.push_back(percent_decode(raw_path.substr(start, end - start), false));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

header_map parse_query(std::string_view raw_query) {
  header_map out;
  std::size_t start = 0;
  while (start < raw_query.size()) {
    const auto amp = raw_query.find('&', start);
    const auto part = raw_query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      const auto eq = part.find('=');
      std::string key = percent_decode(part.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1), true);
      out.emplace(std::move(key), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

// Route shape of decoded segments: numeric segments become "{id}" and are captured.
std::string normalize(const std::vector<std::string>& segments, std::size_t first, std::vector<record_id>* ids) {
  std::string route;
  for (std::size_t i = first; i < segments.size(); ++i) {
    route += '/';
    const auto& s = segments[i];
    const bool numeric = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    const auto id = numeric ? parse_int(s) : std::nullopt;
    if (id) {
      route += "{id}";
      if (ids != nullptr) ids->push_back(*id);
    } else {
      route += s;
    }
  }
  return route.empty() ? "/" : route;
}

std::string header_or(const sim_request& req, std::string_view name, std::string_view fallback) {
  const auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string(fallback) : it->second;
}

// The version= parameter of an Accept header, or "none".
std::string accept_version(const sim_request& req) {
  const auto it = req.headers.find("Accept");
  if (it == req.headers.end()) return "none";
  const std::string lower = to_lower(it->second);
  const auto pos = lower.find("version=");
  if (pos == std::string::npos) return "none";
  std::size_t end = pos + 8;
  while (end < lower.size() && lower[end] != ',' && lower[end] != ';' && lower[end] != ' ') ++end;
  std::string v = it->second.substr(pos + 8, end - pos - 8);
  v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
  return v.empty() ? "none" : v;
}

// Case-insensitive member lookup, preferring an exact match (Newtonsoft binds JSON
// properties case-insensitively). JSON null counts as absent.
const json* member_ci(const json& obj, std::string_view key) {
  const auto exact = obj.find(key);
  if (exact != obj.end()) return exact->is_null() ? nullptr : &*exact;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (ci_equal(it.key(), key)) return it->is_null() ? nullptr : &*it;
  return nullptr;
}

// ---------------------------------------------------------------------------------
// Faults

class fault_rng {
 public:
  explicit fault_rng(std::uint64_t seed) noexcept : state_(seed) {}
  // SplitMix64: small, fast, identical on every platform.
  double uniform() noexcept {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }

 private:
  std::uint64_t state_;
};

enum class fault { none, reset, hang, error500, throttle, commit_drop };

std::string_view fault_name(fault f) {
  switch (f) {
    case fault::reset: return "reset";
    case fault::hang: return "hang";
    case fault::error500: return "500";
    case fault::throttle: return "429";
    case fault::commit_drop: return "commit_drop";
    case fault::none: break;
  }
  return "none";
}

// ---------------------------------------------------------------------------------
// Routes

enum class op_kind {
  list,
  count,
  get,
  search,
  create_ticket,
  patch_ticket,
  delete_ticket,
  merge_tickets,
  create_note,
  system_info,
  create_callback,
  put_callback,
  patch_callback,
  delete_callback,
  callback_key,
};

struct route_def {
  std::string method;
  std::string pattern;
  op_kind op;
  std::string base;   // collection route the op works on
  std::string area;   // permission area (deny_areas); "tickets.close" is checked inside PATCH
  std::string area2;  // a second area the route also needs ("" = none)
};

const std::vector<route_def>& routes() {
  static const std::vector<route_def> table = [] {
    std::vector<route_def> t;
    const auto collection = [&](const std::string& base, const std::string& area, const std::string& area2 = {}) {
      t.push_back({"GET", base, op_kind::list, base, area, area2});
      t.push_back({"GET", base + "/count", op_kind::count, base, area, area2});
      t.push_back({"GET", base + "/{id}", op_kind::get, base, area, area2});
    };
    t.push_back({"GET", "/system/info", op_kind::system_info, "", "system", ""});
    t.push_back({"POST", "/service/tickets", op_kind::create_ticket, "/service/tickets", "tickets.add", ""});
    t.push_back({"POST", "/service/tickets/search", op_kind::search, "/service/tickets", "tickets.read", ""});
    collection("/service/tickets", "tickets.read");
    collection("/service/tickets/{id}/notes", "tickets.read");
    t.push_back({"PATCH", "/service/tickets/{id}", op_kind::patch_ticket, "/service/tickets", "tickets.edit", ""});
    t.push_back({"DELETE", "/service/tickets/{id}", op_kind::delete_ticket, "/service/tickets", "tickets.delete", ""});
    t.push_back({"POST", "/service/tickets/{id}/merge", op_kind::merge_tickets, "/service/tickets", "tickets.edit",
                 "tickets.close"});
    t.push_back({"POST", "/service/tickets/{id}/notes", op_kind::create_note, "/service/tickets/{id}/notes",
                 "tickets.edit", ""});
    collection("/system/members", "system", "members");
    t.push_back({"GET", "/system/members/{identifier}", op_kind::get, "/system/members", "system", "members"});
    collection("/system/securityRoles", "system", "security_roles");
    collection("/system/securityRoles/{id}/settings", "system", "security_roles");
    collection("/system/callbacks", "system", "callbacks");
    t.push_back({"POST", "/system/callbacks", op_kind::create_callback, "/system/callbacks", "system", "callbacks"});
    t.push_back({"PUT", "/system/callbacks/{id}", op_kind::put_callback, "/system/callbacks", "system", "callbacks"});
    t.push_back(
        {"PATCH", "/system/callbacks/{id}", op_kind::patch_callback, "/system/callbacks", "system", "callbacks"});
    t.push_back(
        {"DELETE", "/system/callbacks/{id}", op_kind::delete_callback, "/system/callbacks", "system", "callbacks"});
    // Unauthenticated (README: UNCONFIRMED); no permission area.
    t.push_back({"GET", "/system/callbackkeys/{id}", op_kind::callback_key, "", "", ""});
    collection("/service/boards", "table_setup");
    for (const char* sub : {"statuses", "types", "subtypes", "items", "teams"})
      collection(std::string("/service/boards/{id}/") + sub, "table_setup");
    collection("/service/priorities", "table_setup");
    collection("/service/sources", "table_setup");
    collection("/company/companies", "companies");
    return t;
  }();
  return table;
}

// ---------------------------------------------------------------------------------
// Ticket PATCH paths: the whole top-level fields an operation may name (matched
// case-insensitively, one leading '/' allowed). Paths into a field ("status/id") are
// rejected: CW documents that a reference must be replaced as a whole, and may answer a
// false 200 otherwise, so cwsim is strict to make such client bugs visible.

enum class patch_access {
  required,   // add/replace only: the ticket always has one
  optional,   // add/replace/remove
  read_only,  // computed by the server
  post_only,  // initial*: only on POST
};

struct patch_field {
  std::string_view name;  // CW spelling
  patch_access access;
  bool reference;  // replaced by a reference object ({"id":N}, ...)
};

constexpr patch_field patch_fields[] = {
    {"summary", patch_access::required, false},
    {"company", patch_access::required, true},
    {"board", patch_access::required, true},
    {"status", patch_access::required, true},
    {"priority", patch_access::required, true},
    {"type", patch_access::optional, true},
    {"subType", patch_access::optional, true},
    {"item", patch_access::optional, true},
    {"team", patch_access::optional, true},
    {"source", patch_access::optional, true},
    {"externalXRef", patch_access::optional, false},
    {"severity", patch_access::optional, false},
    {"impact", patch_access::optional, false},
    {"contactName", patch_access::optional, false},
    {"contactPhoneNumber", patch_access::optional, false},
    {"contactPhoneExtension", patch_access::optional, false},
    {"contactEmailAddress", patch_access::optional, false},
    {"poNumber", patch_access::optional, false},
    {"automaticEmailCc", patch_access::optional, false},
    {"automaticEmailContactFlag", patch_access::optional, false},
    {"automaticEmailResourceFlag", patch_access::optional, false},
    {"automaticEmailCcFlag", patch_access::optional, false},
    {"processNotifications", patch_access::optional, false},
    {"skipCallback", patch_access::optional, false},
    {"customFields", patch_access::optional, false},
    {"integratorTags", patch_access::optional, false},
    {"id", patch_access::read_only, false},
    {"recordType", patch_access::read_only, false},
    {"closedFlag", patch_access::read_only, false},
    {"closedDate", patch_access::read_only, false},
    {"closedBy", patch_access::read_only, false},
    {"dateEntered", patch_access::read_only, false},
    {"enteredBy", patch_access::read_only, false},
    {"lastUpdated", patch_access::read_only, false},
    {"updatedBy", patch_access::read_only, false},
    {"_info", patch_access::read_only, false},
    {"initialDescription", patch_access::post_only, false},
    {"initialInternalAnalysis", patch_access::post_only, false},
    {"initialResolution", patch_access::post_only, false},
};

const patch_field* find_patch_field(std::string_view name) {
  for (const auto& field : patch_fields)
    if (ci_equal(field.name, name)) return &field;
  return nullptr;
}

// Clears an optional ticket field (a "remove" operation, or add/replace with null).
void clear_ticket_field(ticket_rec& t, std::string_view name) {
  if (name == "type")
    t.type_id.reset();
  else if (name == "subType")
    t.subtype_id.reset();
  else if (name == "item")
    t.item_id.reset();
  else if (name == "team")
    t.team_id.reset();
  else if (name == "customFields")
    t.custom_values.clear();
  else if (name == "source")
    t.source_id.reset();
  else if (name == "externalXRef")
    t.external_xref.reset();
  else if (name == "severity")
    t.severity.reset();
  else if (name == "impact")
    t.impact.reset();
  else
    t.passthrough.erase(std::string(name));  // processNotifications/skipCallback are not stored
}

// A resource list ready for the list machinery: renderings in id order.
struct collection {
  std::string resource;   // ValidationError.resource, e.g. "ticket"
  std::string not_found;  // 404 message for a missing member
  const field_schema* schema = nullptr;
  std::vector<json> owned;
  std::vector<const json*> items;
};

struct list_params {
  std::string conditions, order_by, fields;
  std::int64_t page = 1, page_size = default_page_size;
  bool forward_only = false;  // header pagination-type: forward-only
  record_id page_id = 0;      // forward-only: rows with id > page_id
};

// A registered CallbackEntry.
struct callback_rec {
  record_id id = 0;
  std::string url, type, level, description, payload_version, connectwise_id;
  record_id object_id = 0, member_id = 0;
  bool inactive = false, soap = false, self_suppressed = false;
  std::string signing_key;  // served by /system/callbackkeys/{id}
  sys_clock::time_point updated;
  std::string updated_by;
};

json render_callback(const callback_rec& cb) {
  json j{{"id", cb.id},
         {"description", cb.description},
         {"url", cb.url},
         {"objectId", cb.object_id},
         {"type", cb.type},
         {"level", cb.level},
         {"memberId", cb.member_id},
         {"inactiveFlag", cb.inactive},
         {"isSoapCallbackFlag", cb.soap},
         {"isSelfSuppressedFlag", cb.self_suppressed},
         {"connectWiseID", cb.connectwise_id},
         {"_info", {{"lastUpdated", format_datetime(cb.updated)}, {"updatedBy", cb.updated_by}}}};
  if (!cb.payload_version.empty()) j["payloadVersion"] = cb.payload_version;
  return j;
}

// Random bytes from OpenSSL's CSPRNG (signing keys, message ids).
std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from 16 random bytes.
std::string random_uuid() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0FU) | 0x40U);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3FU) | 0x80U);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[static_cast<unsigned char>(b[i]) >> 4];
    out += hex[static_cast<unsigned char>(b[i]) & 0x0FU];
  }
  return out;
}

}  // namespace

// Base64(HMAC-SHA256(key = SHA-256(signing_key), data = body)): ConnectWise's
// x-content-signature (reference §10).
std::string callback_signature(std::string_view signing_key, std::string_view body) {
  unsigned char key[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(signing_key.data()), signing_key.size(), key);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
           &mac_len) == nullptr)
    throw std::runtime_error("HMAC failed");
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

namespace {}  // namespace

// ---------------------------------------------------------------------------------
// fault_knobs API

void validate(const fault_knobs& k) {
  const auto prob = [](double p, const char* name) {
    if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument(std::string(name) + " must be within [0, 1]");
  };
  prob(k.p429, "p429");
  prob(k.p500, "p500");
  prob(k.p_reset, "p_reset");
  prob(k.p_hang, "p_hang");
  prob(k.p_commit_drop, "p_commit_drop");
  prob(k.p_callback_drop, "p_callback_drop");
  if (k.callback_delay_ms < 0 || k.callback_delay_ms > 600000)
    throw std::invalid_argument("callback_delay_ms must be within [0, 600000]");
  if (k.latency_ms < 0 || k.latency_ms > 600000) throw std::invalid_argument("latency_ms must be within [0, 600000]");
  if (k.retry_after < 0 || k.retry_after > 3600) throw std::invalid_argument("retry_after must be within [0, 3600]");
}

std::optional<fault_knobs> fault_preset(std::string_view name) {
  fault_knobs k;
  if (name == "none") return k;
  if (name == "flaky") {
    k.p429 = 0.05;
    k.p500 = 0.05;
    k.p_reset = 0.02;
    k.p_commit_drop = 0.02;
    return k;
  }
  if (name == "throttled") {
    k.p429 = 0.3;
    return k;
  }
  if (name == "slow") {
    k.latency_ms = 250;
    return k;
  }
  if (name == "chaos") {
    k.latency_ms = 20;
    k.p429 = 0.1;
    k.p500 = 0.1;
    k.p_reset = 0.05;
    k.p_hang = 0.02;
    k.p_commit_drop = 0.05;
    return k;
  }
  return std::nullopt;
}

std::vector<std::string> fault_preset_names() { return {"none", "flaky", "throttled", "slow", "chaos"}; }

json to_json(const fault_knobs& k) {
  return json{{"latency_ms", k.latency_ms},
              {"p429", k.p429},
              {"p500", k.p500},
              {"p_reset", k.p_reset},
              {"p_hang", k.p_hang},
              {"p_commit_drop", k.p_commit_drop},
              {"retry_after", k.retry_after},
              {"p_callback_drop", k.p_callback_drop},
              {"callback_delay_ms", k.callback_delay_ms},
              {"callback_message_id", k.callback_message_id},
              {"honour_self_suppression", k.honour_self_suppression}};
}

void apply_fault_update(fault_knobs& knobs, const json& update) {
  if (!update.is_object()) throw std::invalid_argument("the fault update must be a JSON object");
  fault_knobs next = knobs;
  if (const auto it = update.find("preset"); it != update.end()) {
    if (!it->is_string()) throw std::invalid_argument("preset must be a string");
    const auto preset = fault_preset(it->get<std::string>());
    if (!preset) throw std::invalid_argument("unknown preset '" + it->get<std::string>() + "'");
    next = *preset;
  }
  for (auto it = update.begin(); it != update.end(); ++it) {
    const std::string& key = it.key();
    if (key == "preset") continue;
    const auto probability = [&](double& out) {
      if (!it->is_number()) throw std::invalid_argument(key + " must be a number");
      out = it->get<double>();
    };
    const auto integer = [&](int& out) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 1000000000)
        throw std::invalid_argument(key + " must be a non-negative integer");
      out = static_cast<int>(it->get<std::int64_t>());
    };
    if (key == "latency_ms")
      integer(next.latency_ms);
    else if (key == "retry_after")
      integer(next.retry_after);
    else if (key == "p429")
      probability(next.p429);
    else if (key == "p500")
      probability(next.p500);
    else if (key == "p_reset")
      probability(next.p_reset);
    else if (key == "p_hang")
      probability(next.p_hang);
    else if (key == "p_commit_drop")
      probability(next.p_commit_drop);
    else if (key == "p_callback_drop")
      probability(next.p_callback_drop);
    else if (key == "callback_delay_ms")
      integer(next.callback_delay_ms);
    else if (key == "callback_message_id" || key == "honour_self_suppression") {
      if (!it->is_boolean()) throw std::invalid_argument(key + " must be true or false");
      (key == "callback_message_id" ? next.callback_message_id : next.honour_self_suppression) = it->get<bool>();
    } else
      throw std::invalid_argument("unknown fault knob '" + key + "'");
  }
  validate(next);
  knobs = next;
}

json load_seed_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw seed_error("cannot open seed file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw seed_error("seed file " + path + " is not valid JSON: " + e.what());
  }
}

// ---------------------------------------------------------------------------------
// simulator

struct simulator::impl {
  directory dir;
  fault_knobs knobs;
  std::set<std::string> denied;  // permission areas answered with 403 (seed "deny", POST /__sim/faults)
  // Scripted faults (POST /__sim/faults {"script": [...]}): API request number -> fault. They
  // take precedence over the random draw, so a test can fault exactly the Nth call.
  std::map<std::uint64_t, fault> script;
  std::uint64_t api_requests = 0;  // API requests seen since start (or /__sim/reset)
  fault_rng rng;
  clock_fn clock;

  std::map<record_id, ticket_rec> tickets;  // id order = CW's default order
  record_id next_ticket_id = first_ticket_id;
  record_id next_note_id = first_note_id;

  // Callbacks: the registered entries, the deliveries the current request fired, the
  // delivery log, and the PRNG of p_callback_drop (apart from the fault PRNG, so callback
  // knobs do not shift the fault draws).
  std::map<record_id, callback_rec> callbacks;
  record_id next_callback_id = 1;
  std::vector<callback_delivery> pending_deliveries;
  std::deque<json> delivery_log;
  std::uint64_t next_delivery_id = 1;
  fault_rng callback_rng;

  const member_rec* actor = nullptr;  // who the current API request authenticated as

  std::map<std::string, std::int64_t> requests_by_route, responses_by_status, faults_by_kind, accept_versions, hosts;
  std::deque<json> request_log;

  impl(const json& seed, fault_knobs k, std::uint64_t fault_seed, clock_fn c)
      : dir(parse_seed(seed)),
        knobs(k),
        denied(dir.deny),
        rng(fault_seed),
        clock(c ? std::move(c) : clock_fn([] { return sys_clock::now(); })),
        callback_rng(fault_seed ^ 0x5DEECE66DULL) {
    validate(knobs);
    reset_counters();
  }

  void reset_counters() {
    requests_by_route.clear();
    responses_by_status.clear();
    accept_versions.clear();
    hosts.clear();
    faults_by_kind.clear();
    for (const auto kind : fault_kinds) faults_by_kind[std::string(kind)] = 0;
    request_log.clear();
  }

  json stats() const {
    return json{{"requests", requests_by_route},
                {"responses", responses_by_status},
                {"faults", faults_by_kind},
                {"accept_versions", accept_versions},
                {"hosts", hosts},
                {"tickets", tickets.size()}};
  }

  // ---- entry point

  sim_response handle(const sim_request& req) {
    const std::string_view target = req.target;
    const auto cut = target.find_first_of("?#");
    call c{req, std::string(target.substr(0, cut)), {}, {}, {}, {}, {}, {}, {}, {}};
    if (cut != std::string_view::npos && target[cut] == '?') {
      const auto hash = target.find('#', cut);
      c.raw_query = target.substr(cut + 1, hash == std::string_view::npos ? std::string_view::npos : hash - cut - 1);
    }
    c.segments = split_path(c.raw_path);
    c.query = parse_query(c.raw_query);
    c.origin = "https://" + header_or(req, "Host", "localhost");

    if (!c.segments.empty() && c.segments[0] == "__sim") return handle_sim(c);

    const bool is_api = c.segments.size() >= 3 &&
                        (ci_equal(c.segments[0], dir.codebase) || ci_equal(c.segments[0], alternate_codebase)) &&
                        ci_equal(c.segments[1], "apis") && c.segments[2] == "3.0";
    const bool is_companyinfo =
        c.segments.size() == 3 && ci_equal(c.segments[0], "login") && ci_equal(c.segments[1], "companyinfo");

    std::string stats_route;
    if (is_api) {
      c.route = normalize(c.segments, 3, &c.ids);
      // /system/members/{identifier}: a member is also addressed by its identifier.
      if (c.segments.size() == 6 && ci_equal(c.segments[3], "system") && ci_equal(c.segments[4], "members") &&
          c.ids.empty() && !ci_equal(c.segments[5], "count") && !ci_equal(c.segments[5], "calendarsync") &&
          !ci_equal(c.segments[5], "withSso")) {
        c.route = "/system/members/{identifier}";
        c.key = c.segments[5];
      }
      c.api_base = c.origin + "/" + c.segments[0] + "/apis/3.0";
      stats_route = c.route;
    } else if (is_companyinfo) {
      stats_route = "/login/companyinfo/{id}";
    } else {
      stats_route = normalize(c.segments, 0, nullptr);
    }
    ++requests_by_route[req.method + " " + stats_route];
    ++hosts[header_or(req, "Host", "none")];
    const auto received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock().time_since_epoch()).count();
    request_log.push_back(json{{"method", req.method},
                               {"target", req.target},
                               {"body", logged_body(req.body)},
                               {"status", nullptr},
                               {"fault", nullptr},
                               {"received_at_ms", received_ms}});
    while (request_log.size() > request_log_capacity) request_log.pop_front();
    json& log_entry = request_log.back();

    sim_response r;
    if (is_api) {
      ++accept_versions[accept_version(req)];
      ++api_requests;
      fault f = fault::none;
      if (const auto it = script.find(api_requests); it != script.end()) {
        f = it->second;
        script.erase(it);
      } else {
        f = draw_fault();
      }
      switch (f) {
        case fault::reset: r.action = sim_response::disposition::reset_before_processing; break;
        case fault::hang: r.action = sim_response::disposition::hang; break;
        case fault::error500: r = error_response(500, "UnexpectedError", "An unexpected error occurred"); break;
        case fault::throttle:
          r = error_response(
              429, "TooManyRequests",
              "Too many requests. Please try again in " + std::to_string(knobs.retry_after) + " seconds.");
          set_header(r, "Retry-After", std::to_string(knobs.retry_after));
          break;
        case fault::commit_drop:
          r = handle_api(c);
          r.action = sim_response::disposition::drop_after_processing;
          break;
        case fault::none: r = handle_api(c); break;
      }
      r.deliveries = std::move(pending_deliveries);
      pending_deliveries.clear();
      actor = nullptr;
      if (f != fault::none) {
        ++faults_by_kind[std::string(fault_name(f))];
        log_entry["fault"] = fault_name(f);
      }
      r.delay = std::chrono::milliseconds(knobs.latency_ms);
      if (r.action == sim_response::disposition::respond)
        set_header(r, "api-current-version", dir.version_code.substr(dir.version_code[0] == 'v' ? 1 : 0));
    } else if (is_companyinfo) {
      r = req.method == "GET" ? companyinfo(c.segments[2], c) : method_not_allowed("GET");
    } else {
      r = not_found("The requested resource was not found: " + c.raw_path);
    }
    if (r.action == sim_response::disposition::respond) {
      ++responses_by_status[std::to_string(r.status)];
      log_entry["status"] = r.status;
    }
    return r;
  }

  static json logged_body(const std::string& body) {
    if (body.empty()) return nullptr;
    if (body.size() > request_log_body_limit) return "(" + std::to_string(body.size()) + " bytes, not logged)";
    try {
      return json::parse(body);
    } catch (const json::exception&) {
      return body;
    }
  }

  fault draw_fault() {
    const double u = rng.uniform();
    double band = knobs.p_reset;
    if (u < band) return fault::reset;
    band += knobs.p_hang;
    if (u < band) return fault::hang;
    band += knobs.p500;
    if (u < band) return fault::error500;
    band += knobs.p429;
    if (u < band) return fault::throttle;
    band += knobs.p_commit_drop;
    if (u < band) return fault::commit_drop;
    return fault::none;
  }

  static sim_response forbidden() {
    return error_response(403, "Forbidden", "You do not have permission to perform this action.");
  }

  json faults_json() const {
    json j = to_json(knobs);
    j["deny"] = denied;
    json pending = json::array();
    for (const auto& [at, f] : script) pending.push_back({{"at", at - api_requests}, {"kind", fault_name(f)}});
    j["script"] = pending;
    j["api_requests"] = api_requests;
    return j;
  }

  static sim_response method_not_allowed(const std::string& allowed) {
    sim_response r =
        error_response(405, "MethodNotAllowed", "The requested resource does not support this HTTP method.");
    set_header(r, "Allow", allowed);
    return r;
  }

  // ---- unauthenticated

  sim_response companyinfo(const std::string& company, const call& c) const {
    if (!ci_equal(company, dir.company_id)) return json_response(200, nullptr);
    return json_response(200, json{{"CompanyName", dir.company_name},
                                   {"Codebase", dir.codebase + "/"},
                                   {"VersionCode", dir.version_code},
                                   {"VersionNumber", "v4.6." + dir.build},
                                   {"CompanyID", dir.company_id},
                                   {"IsCloud", "False"},
                                   {"SiteUrl", header_or(c.req, "Host", "localhost")}});
  }

  // ---- API

  // Authenticates as the member whose keys the Basic credentials carry (sets `actor`).
  std::optional<sim_response> check_auth(const sim_request& req) {
    bool ok = false;
    if (const auto it = req.headers.find("Authorization"); it != req.headers.end()) {
      const std::string_view value = trim(it->second);
      if (value.size() > 6 && ci_equal(value.substr(0, 6), "Basic ")) {
        if (const auto decoded = base64_decode(trim(value.substr(6)))) {
          const auto plus = decoded->find('+');
          const auto colon = decoded->find(':', plus == std::string::npos ? 0 : plus);
          if (plus != std::string::npos && colon != std::string::npos) {
            const std::string pub = decoded->substr(plus + 1, colon - plus - 1);
            const std::string priv = decoded->substr(colon + 1);
            if (ci_equal(std::string_view(*decoded).substr(0, plus), dir.company_id)) {
              for (const auto& m : dir.members)
                if (!m.public_key.empty() && !m.inactive && m.public_key == pub && m.private_key == priv) actor = &m;
            }
            ok = actor != nullptr;
          }
        }
      }
    }
    if (!ok) return error_response(401, "Unauthorized", "The supplied authentication is incorrect");
    const auto cid = req.headers.find("clientId");
    if (cid == req.headers.end() || trim(cid->second).empty())
      return error_response(401, "InvalidClientId",
                            "A clientId header is required on every API call; register the integration at "
                            "https://developer.connectwise.com/ClientID");
    if (!ci_equal(trim(cid->second), dir.client_id))
      return error_response(401, "InvalidClientId", "The clientId header does not match a registered integration");
    return std::nullopt;
  }

  // Whether `area` is denied to the current caller: by the deny knob (every member), or
  // because the caller's security role does not grant it (README "Security roles").
  bool is_denied(std::string_view area) const {
    if (area.empty()) return false;
    if (denied.count(std::string(area)) != 0) return true;
    if (actor == nullptr || !actor->role_id) return false;
    const role_rec* role = dir.role(*actor->role_id);
    for (const auto& g : area_grants) {
      if (g.area != area) continue;
      for (const auto& st : role->settings) {
        if (!ci_equal(st.function_name, g.function_name)) continue;
        const std::string& level = g.level == "add"      ? st.add
                                   : g.level == "edit"   ? st.edit
                                   : g.level == "delete" ? st.del
                                                         : st.inquire;
        return level == "None";
      }
      return true;  // the role lacks the setting: not granted
    }
    return false;
  }

  sim_response handle_api(call& c) {
    // The callback signing key is fetched without credentials (README: UNCONFIRMED).
    if (c.req.method == "GET" && ci_equal(c.route, "/system/callbackkeys/{id}")) return callback_key(c.ids.at(0));
    if (auto refused = check_auth(c.req)) return *refused;
    const route_def* match = nullptr;
    std::string allowed;
    for (const auto& r : routes()) {
      if (!ci_equal(r.pattern, c.route)) continue;
      if (r.method == c.req.method) match = &r;
      allowed += (allowed.empty() ? "" : ", ") + r.method;
    }
    if (match == nullptr) {
      if (!allowed.empty()) return method_not_allowed(allowed);
      return not_found("The requested resource was not found: " + c.route);
    }
    if (is_denied(match->area) || is_denied(match->area2)) return forbidden();
    switch (match->op) {
      case op_kind::system_info:
        return json_response(200, json{{"version", dir.version_code + "." + dir.build},
                                       {"isCloud", false},
                                       {"serverTimeZone", "Eastern Standard Time"},
                                       {"cloudRegion", "NA"}});
      case op_kind::create_ticket: return create_ticket(c);
      case op_kind::patch_ticket: return patch_ticket(c);
      case op_kind::delete_ticket: return delete_ticket(c);
      case op_kind::merge_tickets: return merge_tickets(c);
      case op_kind::create_callback: return write_callback(c, nullptr);
      case op_kind::put_callback:
      case op_kind::patch_callback: {
        const auto it = callbacks.find(c.ids.at(0));
        if (it == callbacks.end()) return not_found("CallbackEntry not found");
        return write_callback(c, &it->second);
      }
      case op_kind::delete_callback: {
        if (callbacks.erase(c.ids.at(0)) == 0) return not_found("CallbackEntry not found");
        return no_content();
      }
      case op_kind::callback_key: return callback_key(c.ids.at(0));
      case op_kind::create_note: return create_note(c);
      case op_kind::search: return search(c, *match);
      case op_kind::list:
      case op_kind::count:
      case op_kind::get: break;
    }
    std::vector<record_id> parents = c.ids;
    record_id member = 0;
    const bool by_identifier = !c.key.empty();
    if (match->op == op_kind::get && !by_identifier) {
      member = parents.back();
      parents.pop_back();
    }
    if (match->op == op_kind::get && match->base == "/service/tickets") {
      const auto it = tickets.find(member);
      if (it == tickets.end()) return not_found("Ticket not found");
      return json_response(200, shaped(c, it->second.view));
    }
    collection col;
    if (auto missing = load_collection(match->base, parents, col)) return *missing;
    if (match->op == op_kind::get) {
      for (const json* item : col.items)
        if (by_identifier ? ci_equal(item->at("identifier").get_ref<const std::string&>(), c.key)
                          : item->at("id").get<record_id>() == member)
          return json_response(200, shaped(c, *item));
      return not_found(col.not_found);
    }
    list_params p;
    if (auto bad = read_list_params(c, col.resource, p)) return *bad;
    return match->op == op_kind::count ? count_of(col, p) : list_of(c, col, p);
  }

  // A single record as answered: the `fields` partial response when asked for, hrefs
  // made absolute.
  static json shaped(const call& c, const json& item) {
    json out = item;
    if (const auto it = c.query.find("fields"); it != c.query.end() && !trim(it->second).empty()) {
      std::vector<std::vector<std::string>> projection;
      for (const auto& name : split_list(it->second)) projection.push_back(f(name, k_str).json_path);
      out = project(item, projection);
    }
    externalize(out, c.api_base);
    return out;
  }

  static sim_response no_content() {
    sim_response r;
    r.status = 204;
    return r;
  }

  // Fills `out` with the members of the collection at `base` under `parents`; a 404 when
  // a parent does not exist.
  std::optional<sim_response> load_collection(const std::string& base, const std::vector<record_id>& parents,
                                              collection& out) const {
    if (base == "/service/tickets") {
      out.resource = "ticket";
      out.not_found = "Ticket not found";
      out.schema = &ticket_schema();
      for (const auto& [id, t] : tickets) out.items.push_back(&t.view);
      return std::nullopt;
    }
    if (base == "/service/tickets/{id}/notes") {
      const auto it = tickets.find(parents.at(0));
      if (it == tickets.end()) return not_found("Ticket not found");
      out.resource = "serviceNote";
      out.not_found = "Note not found";
      out.schema = &note_schema();
      for (const auto& n : it->second.notes) out.owned.push_back(render_note(dir, it->first, n));
    } else if (base == "/service/boards") {
      out.resource = "board";
      out.not_found = "Board not found";
      out.schema = &board_schema();
      for (const auto& b : dir.boards) out.owned.push_back(render_board(dir, b));
    } else if (base.rfind("/service/boards/{id}/", 0) == 0) {
      const board_rec* board = dir.board(parents.at(0));
      if (board == nullptr) return not_found("Board not found");
      const std::string kind = base.substr(base.rfind('/') + 1);
      if (kind == "statuses") {
        out.resource = "boardStatus";
        out.not_found = "BoardStatus not found";
        out.schema = &status_schema();
        for (const auto& s : board->statuses) out.owned.push_back(render_status(dir, *board, s));
      } else if (kind == "teams") {
        out.resource = "boardTeam";
        out.not_found = "BoardTeam not found";
        out.schema = &team_schema();
        for (const auto& team : board->teams) out.owned.push_back(render_team(dir, *board, team));
      } else {
        const auto& pool = kind == "types" ? board->types : kind == "subtypes" ? board->subtypes : board->items;
        out.resource = kind == "types" ? "boardType" : kind == "subtypes" ? "boardSubType" : "boardItem";
        out.not_found = (kind == "types"      ? "BoardType"
                         : kind == "subtypes" ? "BoardSubType"
                                              : "BoardItem") +
                        std::string(" not found");
        out.schema = &child_schema();
        for (const auto& child : pool) out.owned.push_back(render_child(dir, *board, child, kind));
      }
    } else if (base == "/service/priorities") {
      out.resource = "priority";
      out.not_found = "Priority not found";
      out.schema = &priority_schema();
      for (const auto& p : dir.priorities) out.owned.push_back(render_priority(dir, p));
    } else if (base == "/service/sources") {
      out.resource = "serviceSource";
      out.not_found = "Source not found";
      out.schema = &source_schema();
      for (const auto& s : dir.sources) out.owned.push_back(render_source(dir, s));
    } else if (base == "/system/members") {
      out.resource = "member";
      out.not_found = "Member not found";
      out.schema = &member_schema();
      for (const auto& m : dir.members) out.owned.push_back(render_member(dir, m));
    } else if (base == "/system/securityRoles") {
      out.resource = "securityRole";
      out.not_found = "SecurityRole not found";
      out.schema = &role_schema();
      for (const auto& r : dir.roles) out.owned.push_back(render_role(dir, r));
    } else if (base == "/system/securityRoles/{id}/settings") {
      const role_rec* role = dir.role(parents.at(0));
      if (role == nullptr) return not_found("SecurityRole not found");
      out.resource = "securityRoleSetting";
      out.not_found = "SecurityRoleSetting not found";
      out.schema = &role_setting_schema();
      for (const auto& st : role->settings) out.owned.push_back(render_role_setting(dir, *role, st, denied));
    } else if (base == "/system/callbacks") {
      out.resource = "callbackEntry";
      out.not_found = "CallbackEntry not found";
      out.schema = &callback_schema();
      for (const auto& [id, cb] : callbacks) out.owned.push_back(render_callback(cb));
    } else if (base == "/company/companies") {
      out.resource = "company";
      out.not_found = "Company not found";
      out.schema = &company_schema();
      for (const auto& co : dir.companies) out.owned.push_back(render_company(dir, co));
    }
    for (const auto& j : out.owned) out.items.push_back(&j);
    std::stable_sort(out.items.begin(), out.items.end(), [](const json* a, const json* b) {
      return a->at("id").get<record_id>() < b->at("id").get<record_id>();
    });
    return std::nullopt;
  }

  static std::optional<sim_response> read_list_params(const call& c, const std::string& resource, list_params& p) {
    const auto text = [&](const char* key) {
      const auto it = c.query.find(key);
      return it == c.query.end() ? std::string() : it->second;
    };
    p.conditions = text("conditions");
    p.order_by = text("orderBy");
    p.fields = text("fields");
    const auto number = [&](const char* key, std::int64_t& out) -> std::optional<sim_response> {
      const auto it = c.query.find(key);
      if (it == c.query.end() || trim(it->second).empty()) return std::nullopt;
      const auto v = parse_int(trim(it->second));
      if (!v || *v < 1)
        return invalid_object(resource, {{"InvalidField", std::string(key) + " must be a positive integer", key}},
                              std::string(key) + " must be a positive integer");
      out = *v;
      return std::nullopt;
    };
    if (auto bad = number("page", p.page)) return bad;
    if (auto bad = number("pageSize", p.page_size)) return bad;
    p.page_size = std::min(p.page_size, max_page_size);
    // Documented list parameters cwsim does not model are refused, not ignored.
    for (const char* key : {"childConditions", "customFieldConditions"}) {
      if (const auto it = c.query.find(key); it != c.query.end() && !trim(it->second).empty()) {
        const std::string msg = std::string("cwsim does not support the ") + key + " parameter";
        return invalid_object(resource, {{"InvalidField", msg, key}}, msg);
      }
    }
    // Forward-only paging: header pagination-type: forward-only, pageId = "id > pageId".
    const auto paging = c.req.headers.find("pagination-type");
    p.forward_only = paging != c.req.headers.end() && ci_equal(trim(paging->second), "forward-only");
    if (paging != c.req.headers.end() && !p.forward_only) {
      const std::string msg = "pagination-type must be forward-only (got '" + paging->second + "')";
      return invalid_object(resource, {{"InvalidField", msg, "pagination-type"}}, msg);
    }
    if (const auto it = c.query.find("pageId"); it != c.query.end() && !trim(it->second).empty()) {
      const auto v = parse_int(trim(it->second));
      if (!v || *v < 0) {
        const std::string msg = "pageId must be a non-negative integer";
        return invalid_object(resource, {{"InvalidField", msg, "pageId"}}, msg);
      }
      if (!p.forward_only) {
        const std::string msg = "pageId needs the header pagination-type: forward-only";
        return invalid_object(resource, {{"InvalidField", msg, "pageId"}}, msg);
      }
      p.page_id = *v;
    }
    if (p.forward_only && !trim(p.order_by).empty()) {
      const std::string msg = "orderBy is not allowed with pagination-type: forward-only (rows are ordered by id)";
      return invalid_object(resource, {{"InvalidField", msg, "orderBy"}}, msg);
    }
    return std::nullopt;
  }

  // Filters by conditions; a 400 when they do not compile.
  static std::optional<sim_response> filter(const collection& col, const std::string& conditions,
                                            std::vector<const json*>& out) {
    try {
      const condition cond = condition::parse(conditions, *col.schema);
      for (const json* item : col.items)
        if (cond.matches(*item)) out.push_back(item);
    } catch (const condition_error& e) {
      return invalid_object(col.resource, {{"InvalidField", e.what(), "conditions"}}, e.what());
    }
    return std::nullopt;
  }

  static sim_response count_of(const collection& col, const list_params& p) {
    std::vector<const json*> hits;
    if (auto bad = filter(col, p.conditions, hits)) return *bad;
    return json_response(200, json{{"count", hits.size()}});
  }

  static sim_response list_of(const call& c, const collection& col, const list_params& p) {
    std::vector<const json*> hits;
    if (auto bad = filter(col, p.conditions, hits)) return *bad;
    if (p.forward_only) return forward_page(c, col, p, hits);

    // orderBy: "path [asc|desc], ..." over the condition schema; id asc breaks ties.
    std::vector<std::pair<field_def, bool>> keys;
    std::size_t start = 0;
    while (start < p.order_by.size()) {
      const auto comma = p.order_by.find(',', start);
      const std::string_view part = trim(
          std::string_view(p.order_by).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      start = comma == std::string::npos ? p.order_by.size() : comma + 1;
      if (part.empty()) continue;
      const auto space = part.find(' ');
      const std::string_view name = part.substr(0, space);
      const std::string_view dir_word = space == std::string_view::npos ? "" : trim(part.substr(space));
      const field_def* field = find_field(*col.schema, name);
      if (field == nullptr || !(dir_word.empty() || ci_equal(dir_word, "asc") || ci_equal(dir_word, "desc"))) {
        const std::string msg =
            "Invalid orderBy: '" + std::string(part) + "' (expected a known field, then asc or desc)";
        return invalid_object(col.resource, {{"InvalidField", msg, "orderBy"}}, msg);
      }
      keys.emplace_back(*field, ci_equal(dir_word, "desc"));
    }
    if (!keys.empty()) {
      std::stable_sort(hits.begin(), hits.end(), [&](const json* a, const json* b) {
        for (const auto& [field, desc] : keys) {
          const int cmp = compare_field_values(field_value(*a, field), field_value(*b, field), field.kind);
          if (cmp != 0) return desc ? cmp > 0 : cmp < 0;
        }
        return false;
      });
    }

    const auto total = static_cast<std::int64_t>(hits.size());
    const std::int64_t last_page = std::max<std::int64_t>(1, (total + p.page_size - 1) / p.page_size);
    // Guarded: (page - 1) * page_size overflows for absurd page numbers.
    const std::int64_t first_index = p.page - 1 > total / p.page_size ? total : (p.page - 1) * p.page_size;

    std::vector<std::vector<std::string>> projection;
    if (!trim(p.fields).empty()) {
      for (const auto& name : split_list(p.fields)) projection.push_back(f(name, k_str).json_path);
    }

    json page = json::array();
    for (std::int64_t i = first_index; i < total && i < first_index + p.page_size; ++i) {
      json item = projection.empty() ? *hits[static_cast<std::size_t>(i)]
                                     : project(*hits[static_cast<std::size_t>(i)], projection);
      externalize(item, c.api_base);
      page.push_back(std::move(item));
    }
    sim_response r = json_response(200, page);
    if (const std::string link = link_header(c, p.page, last_page); !link.empty()) set_header(r, "Link", link);
    return r;
  }

  // Forward-only paging: rows with id > pageId in id order (col.items are in id order);
  // a Link rel="next" carrying the next pageId while more rows follow.
  static sim_response forward_page(const call& c, const collection& col, const list_params& p,
                                   const std::vector<const json*>& hits) {
    if (!trim(p.order_by).empty()) {  // also reached from POST .../search with a body orderBy
      const std::string msg = "orderBy is not allowed with pagination-type: forward-only (rows are ordered by id)";
      return invalid_object(col.resource, {{"InvalidField", msg, "orderBy"}}, msg);
    }
    std::vector<std::vector<std::string>> projection;
    if (!trim(p.fields).empty())
      for (const auto& name : split_list(p.fields)) projection.push_back(f(name, k_str).json_path);
    json page = json::array();
    record_id last = p.page_id;
    bool more = false;
    for (const json* item : hits) {
      const auto id = item->at("id").get<record_id>();
      if (id <= p.page_id) continue;
      if (static_cast<std::int64_t>(page.size()) == p.page_size) {
        more = true;
        break;
      }
      json out = projection.empty() ? *item : project(*item, projection);
      externalize(out, c.api_base);
      page.push_back(std::move(out));
      last = id;
    }
    sim_response r = json_response(200, page);
    if (more) {
      std::string base_query;
      std::size_t start = 0;
      const std::string& q = c.raw_query;
      while (start < q.size()) {
        const auto amp = q.find('&', start);
        const std::string part = q.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        const std::string key = percent_decode(std::string_view(part).substr(0, part.find('=')), true);
        if (!part.empty() && !ci_equal(key, "pageId")) base_query += part + "&";
        if (amp == std::string::npos) break;
        start = amp + 1;
      }
      set_header(r, "Link",
                 "<" + c.origin + c.raw_path + "?" + base_query + "pageId=" + std::to_string(last) + ">; rel=\"next\"");
    }
    return r;
  }

  static std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
      const auto comma = s.find(',', start);
      const auto part =
          trim(std::string_view(s).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!part.empty()) out.emplace_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }

  // Partial response: keeps only the listed paths ("id", "status/name"); unknown paths
  // are omitted.
  static json project(const json& src, const std::vector<std::vector<std::string>>& paths) {
    json out = json::object();
    for (const auto& path : paths) {
      const json* cur = &src;
      bool found = true;
      for (const auto& key : path) {
        const json* next = cur->is_object() ? member_ci(*cur, key) : nullptr;
        if (next == nullptr) {
          found = false;
          break;
        }
        cur = next;
      }
      if (!found) continue;
      json* dst = &out;
      for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        json& child = (*dst)[path[i]];
        if (!child.is_object()) child = json::object();
        dst = &child;
      }
      (*dst)[path.back()] = *cur;
    }
    return out;
  }

  // RFC 5988 Link as CW sends it: first/prev when past page 1, next/last when more follow.
  static std::string link_header(const call& c, std::int64_t page, std::int64_t last_page) {
    std::string base_query;
    std::size_t start = 0;
    const std::string& q = c.raw_query;
    while (start < q.size()) {
      const auto amp = q.find('&', start);
      const std::string part = q.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      const std::string key = percent_decode(std::string_view(part).substr(0, part.find('=')), true);
      if (!part.empty() && !ci_equal(key, "page")) base_query += part + "&";
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
    const auto url = [&](std::int64_t n) {
      return "<" + c.origin + c.raw_path + "?" + base_query + "page=" + std::to_string(n) + ">";
    };
    std::vector<std::string> parts;
    if (page > 1) {
      parts.push_back(url(1) + "; rel=\"first\"");
      parts.push_back(url(std::min(page - 1, last_page)) + "; rel=\"prev\"");
    }
    if (page < last_page) {
      parts.push_back(url(page + 1) + "; rel=\"next\"");
      parts.push_back(url(last_page) + "; rel=\"last\"");
    }
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
    return out;
  }

  sim_response search(const call& c, const route_def& route) {
    json body;
    try {
      body = c.req.body.empty() ? json::object() : json::parse(c.req.body);
    } catch (const json::parse_error& e) {
      return invalid_object("ticket",
                            {{"InvalidObject", std::string("The request body is not valid JSON: ") + e.what(), ""}},
                            std::string("The request body is not valid JSON: ") + e.what());
    }
    if (!body.is_object())
      return invalid_object("ticket", {{"InvalidObject", "The search body must be a JSON object", ""}});
    collection col;
    if (auto missing = load_collection(route.base, {}, col)) return *missing;
    list_params p;
    if (auto bad = read_list_params(c, col.resource, p)) return *bad;
    for (const char* key : {"childConditions", "customFieldConditions"}) {
      if (const json* v = member_ci(body, key);
          v != nullptr && !(v->is_string() && trim(v->get<std::string>()).empty())) {
        const std::string msg = std::string("cwsim does not support the ") + key + " parameter";
        return invalid_object(col.resource, {{"InvalidField", msg, key}}, msg);
      }
    }
    for (const auto& [key, target] : {std::pair<const char*, std::string*>{"conditions", &p.conditions},
                                      std::pair<const char*, std::string*>{"orderBy", &p.order_by},
                                      std::pair<const char*, std::string*>{"fields", &p.fields}}) {
      if (const json* v = member_ci(body, key)) {
        if (!v->is_string())
          return invalid_object(col.resource, {{"InvalidField", std::string(key) + " must be a string", key}});
        *target = v->get<std::string>();
      }
    }
    return list_of(c, col, p);
  }

  // ---- tickets

  // Resolves a reference object ({"id":N} or {"<name_key>":"X"}; id wins when both) in
  // `pool`. Returns the id, or nullopt after recording an error. `elsewhere` explains an
  // id that exists outside the pool (e.g. a status of another board).
  template <class Rec, class Name>
  std::optional<record_id> resolve_ref(const json& value, const std::string& field, std::string_view label,
                                       const std::vector<Rec>& pool, std::string_view name_key, Name name_of,
                                       const std::string& scope, field_errors& errs,
                                       const std::function<std::string(record_id)>& elsewhere = {}) const {
    if (!value.is_object()) {
      errs.push_back({"InvalidField", "The " + field + " field must be an object such as {\"id\":1}.", field});
      return std::nullopt;
    }
    if (const json* id = member_ci(value, "id")) {
      if (!id->is_number_integer()) {
        errs.push_back({"InvalidField", "The " + field + "/id field must be an integer.", field});
        return std::nullopt;
      }
      const auto wanted = id->get<record_id>();
      for (const auto& r : pool)
        if (r.id == wanted) return r.id;
      const std::string other = elsewhere ? elsewhere(wanted) : std::string();
      errs.push_back({"InvalidField",
                      other.empty()
                          ? std::string(label) + " with id " + std::to_string(wanted) + " was not found" + scope + "."
                          : other,
                      field});
      return std::nullopt;
    }
    if (const json* name = member_ci(value, name_key)) {
      if (!name->is_string()) {
        errs.push_back(
            {"InvalidField", "The " + field + "/" + std::string(name_key) + " field must be a string.", field});
        return std::nullopt;
      }
      const auto& wanted = name->get_ref<const std::string&>();
      for (const auto& r : pool)
        if (ci_equal(name_of(r), wanted)) return r.id;
      errs.push_back({"InvalidField", std::string(label) + " '" + wanted + "' was not found" + scope + ".", field});
      return std::nullopt;
    }
    errs.push_back(
        {"InvalidField", "The " + field + " reference needs an id or " + std::string(name_key) + ".", field});
    return std::nullopt;
  }

  // Where a board-scoped record id lives when it is not on `board` (for error messages).
  template <class Member>
  std::function<std::string(record_id)> on_other_board(std::string_view label, const board_rec& board,
                                                       Member member) const {
    return [this, label = std::string(label), &board, member](record_id id) -> std::string {
      for (const auto& other : dir.boards)
        for (const auto& rec : other.*member)
          if (rec.id == id)
            return label + " " + std::to_string(id) + " (" + rec.name + ") belongs to board " +
                   std::to_string(other.id) + " (" + other.name + "), not to the ticket's board " +
                   std::to_string(board.id) + " (" + board.name + ").";
      return {};
    };
  }

  // customFields: the whole array (CW: "you must pass in the entire array object"), each
  // entry {"id":N, "value":...} naming a defined field; caption, type etc. are read-only
  // and ignored. Listed fields take their value as sent (string, number, boolean or null),
  // unlisted ones become unset. Any bad entry → nothing changes.
  void apply_custom_fields(const json& v, ticket_rec& t, field_errors& errs) const {
    if (!v.is_array()) {
      errs.push_back(
          {"InvalidField", "The customFields field must be an array of objects with an integer id.", "customFields"});
      return;
    }
    std::map<record_id, json> values;
    bool ok = true;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      const std::string where = "customFields[" + std::to_string(i) + "]";
      const json* id = e.is_object() ? member_ci(e, "id") : nullptr;
      if (id == nullptr || !id->is_number_integer()) {
        errs.push_back({"InvalidField", where + " must be an object with an integer id.", "customFields"});
        ok = false;
        continue;
      }
      const auto wanted = id->get<record_id>();
      if (find_by_id(dir.custom_fields, wanted) == nullptr) {
        std::string defined;
        for (const auto& cf : dir.custom_fields)
          defined += (defined.empty() ? "" : ", ") + std::to_string(cf.id) + " (" + cf.caption + ")";
        errs.push_back({"InvalidField",
                        where + ": custom field " + std::to_string(wanted) + " is not defined for tickets" +
                            (defined.empty() ? std::string(" (none are)") : " (defined: " + defined + ")") + ".",
                        "customFields"});
        ok = false;
        continue;
      }
      const json* value = member_ci(e, "value");
      if (value != nullptr && (value->is_object() || value->is_array())) {
        errs.push_back({"InvalidField", where + ": value must be a string, number, boolean or null.", "customFields"});
        ok = false;
        continue;
      }
      if (values.count(wanted) != 0) {
        errs.push_back(
            {"InvalidField", where + ": custom field " + std::to_string(wanted) + " is listed twice.", "customFields"});
        ok = false;
        continue;
      }
      values[wanted] = value == nullptr ? json(nullptr) : *value;
    }
    if (!ok) return;
    t.custom_values.clear();
    for (auto& [id, value] : values)
      if (!value.is_null()) t.custom_values[id] = std::move(value);
  }

  // Applies the ticket fields present in `body` onto `t`, validating each one. With
  // `creating`, required fields must be present and omitted references get CW-like
  // defaults (first board, its default status, the default priority). Field names match
  // case-insensitively; unknown fields are ignored; read-only fields (id, _info,
  // closedFlag...) are ignored. PATCH applies its surviving operation values through here
  // with creating = false. Returns the notes created by initial* fields.
  std::vector<note_rec> apply_ticket_fields(const json& body, ticket_rec& t, bool creating, field_errors& errs) const {
    const auto string_field = [&](const char* name, std::size_t max_len, std::optional<std::string>& out) {
      const json* v = member_ci(body, name);
      if (v == nullptr) return;
      if (!v->is_string()) {
        errs.push_back({"InvalidField", std::string("The ") + name + " field must be a string.", name});
        return;
      }
      const auto& s = v->get_ref<const std::string&>();
      if (max_len != 0 && utf16_length(s) > max_len) {
        errs.push_back({"MaxLength",
                        std::string("The ") + name + " field can not be longer than " + std::to_string(max_len) +
                            " characters (got " + std::to_string(utf16_length(s)) + ").",
                        name});
        return;
      }
      out = s;
    };

    // summary
    if (const json* v = member_ci(body, "summary"); v == nullptr) {
      if (creating) errs.push_back({"Required", "The summary field is required.", "summary"});
    } else {
      std::optional<std::string> summary;
      string_field("summary", summary_max_length, summary);
      if (summary) {
        if (trim(*summary).empty())
          errs.push_back({"Required", "The summary field is required.", "summary"});
        else
          t.summary = *summary;
      }
    }

    // company
    if (const json* v = member_ci(body, "company"); v == nullptr) {
      if (creating) errs.push_back({"Required", "The company field is required.", "company"});
    } else if (const auto id = resolve_ref(
                   *v, "company", "Company", dir.companies, "identifier",
                   [](const company_rec& c) { return c.identifier; }, "", errs)) {
      t.company_id = *id;
    }

    // board, then what belongs to it
    bool board_ok = true;
    if (const json* v = member_ci(body, "board")) {
      const auto id = resolve_ref(
          *v, "board", "Board", dir.boards, "name", [](const board_rec& b) { return b.name; }, "", errs);
      if (id) t.board_id = *id;
      board_ok = id.has_value();
    } else if (creating) {
      t.board_id = dir.boards.front().id;
    }
    if (board_ok) {
      const board_rec& board = *dir.board(t.board_id);
      const std::string scope = " on board " + std::to_string(board.id) + " (" + board.name + ")";
      const auto name_of = [](const auto& r) { return r.name; };
      if (const json* v = member_ci(body, "status")) {
        if (const auto id = resolve_ref(*v, "status", "Status", board.statuses, "name", name_of, scope, errs,
                                        on_other_board("Status", board, &board_rec::statuses)))
          t.status_id = *id;
      } else if (creating || find_by_id(board.statuses, t.status_id) == nullptr) {
        for (const auto& s : board.statuses)
          if (s.is_default) t.status_id = s.id;
      }
      const auto child = [&](const char* field, const char* label, std::vector<child_rec> board_rec::*member,
                             std::optional<record_id>& out) {
        if (const json* v = member_ci(body, field)) {
          if (const auto id = resolve_ref(*v, field, label, board.*member, "name", name_of, scope, errs,
                                          on_other_board(label, board, member)))
            out = *id;
        } else if (out && find_by_id(board.*member, *out) == nullptr) {
          out.reset();  // moved to a board without it
        }
      };
      child("type", "Type", &board_rec::types, t.type_id);
      child("subType", "SubType", &board_rec::subtypes, t.subtype_id);
      child("item", "Item", &board_rec::items, t.item_id);
      child("team", "Team", &board_rec::teams, t.team_id);
    }

    const auto name_of = [](const auto& r) { return r.name; };
    if (const json* v = member_ci(body, "priority")) {
      if (const auto id = resolve_ref(*v, "priority", "Priority", dir.priorities, "name", name_of, "", errs))
        t.priority_id = *id;
    } else if (creating) {
      for (const auto& p : dir.priorities)
        if (p.is_default) t.priority_id = p.id;
    }
    if (const json* v = member_ci(body, "source")) {
      if (const auto id = resolve_ref(*v, "source", "Source", dir.sources, "name", name_of, "", errs))
        t.source_id = *id;
    }

    string_field("externalXRef", external_xref_max_length, t.external_xref);
    for (const char* name : {"severity", "impact"}) {
      std::optional<std::string> value;
      string_field(name, 0, value);
      if (!value) continue;
      std::optional<std::string> canonical;
      for (const char* allowed : {"Low", "Medium", "High"})
        if (ci_equal(*value, allowed)) canonical = allowed;
      if (!canonical) {
        errs.push_back({"InvalidField", std::string("The ") + name + " field must be one of Low, Medium, High.", name});
        continue;
      }
      (std::string_view(name) == "severity" ? t.severity : t.impact) = canonical;
    }

    // Optional fields echoed as sent.
    static const std::pair<const char*, std::size_t> echoed_strings[] = {
        {"contactName", 62},          {"contactPhoneNumber", 20}, {"contactPhoneExtension", 15},
        {"contactEmailAddress", 250}, {"poNumber", 50},           {"automaticEmailCc", 1000}};
    for (const auto& [name, max_len] : echoed_strings) {
      std::optional<std::string> value;
      string_field(name, max_len, value);
      if (value) t.passthrough[name] = *value;
    }
    for (const char* name : {"automaticEmailContactFlag", "automaticEmailResourceFlag", "automaticEmailCcFlag",
                             "processNotifications", "skipCallback"}) {
      const json* v = member_ci(body, name);
      if (v == nullptr) continue;
      if (!v->is_boolean()) {
        errs.push_back({"InvalidField", std::string("The ") + name + " field must be true or false.", name});
        continue;
      }
      if (std::string_view(name).rfind("automaticEmail", 0) == 0) t.passthrough[name] = *v;
    }
    if (const json* v = member_ci(body, "customFields")) apply_custom_fields(*v, t, errs);
    if (const json* v = member_ci(body, "integratorTags")) {
      const bool ok = v->is_array() && std::all_of(v->begin(), v->end(), [](const json& e) { return e.is_string(); });
      if (ok)
        t.passthrough["integratorTags"] = *v;
      else
        errs.push_back({"InvalidField", "The integratorTags field must be an array of strings.", "integratorTags"});
    }
    if (const json* v = member_ci(body, "recordType"); v != nullptr && !v->is_string())
      errs.push_back({"InvalidField", "The recordType field must be a string.", "recordType"});

    std::vector<note_rec> notes;
    const auto initial = [&](const char* name, bool note_rec::*flag) {
      std::optional<std::string> text;
      string_field(name, 0, text);
      if (!text || trim(*text).empty()) return;
      note_rec n;
      n.text = *text;
      n.*flag = true;
      notes.push_back(std::move(n));
    };
    if (creating) {
      initial("initialDescription", &note_rec::detail);
      initial("initialInternalAnalysis", &note_rec::internal);
      initial("initialResolution", &note_rec::resolution);
    }
    return notes;
  }

  sim_response create_ticket(const call& c) {
    json body;
    try {
      body = json::parse(c.req.body);
    } catch (const json::parse_error& e) {
      const std::string msg = std::string("The request body is not valid JSON: ") + e.what();
      return invalid_object("ticket", {{"InvalidObject", msg, ""}}, msg);
    }
    if (!body.is_object()) {
      const std::string msg =
          "The request body must be a JSON object (a ticket), not " + std::string(body.type_name()) + ".";
      return invalid_object("ticket", {{"InvalidObject", msg, ""}}, msg);
    }
    ticket_rec t;
    field_errors errs;
    std::vector<note_rec> notes = apply_ticket_fields(body, t, true, errs);
    if (!errs.empty()) return invalid_object("ticket", errs);

    const auto now = clock();
    t.id = next_ticket_id++;
    t.entered = t.updated = now;
    t.entered_by = t.updated_by = actor->identifier;
    const board_rec& board = *dir.board(t.board_id);
    if (find_by_id(board.statuses, t.status_id)->closed) {
      t.closed_at = now;
      t.closed_by = actor->identifier;
    }
    for (auto& n : notes) {
      n.id = next_note_id++;
      n.created = now;
      n.created_by = actor->identifier;
    }
    t.notes = std::move(notes);
    t.view = render_ticket(dir, t);
    json out = t.view;
    externalize(out, c.api_base);
    const record_id id = t.id;
    const auto& stored = tickets.emplace(id, std::move(t)).first->second;
    fire_callbacks(c, stored, "added");
    return json_response(201, out);
  }

  // Whether a PATCH body has an add/replace operation on `status` whose value names a
  // status with closedStatus true on any board: {"id":N}, or {"name":"X"} when some
  // board's closed status has that name. Malformed bodies name nothing.
  bool names_closed_status(const std::string& body) const {
    const json ops = json::parse(body, nullptr, false);
    if (!ops.is_array()) return false;
    for (const json& op : ops) {
      if (!op.is_object()) continue;
      const json* path = member_ci(op, "path");
      const json* kind = member_ci(op, "op");
      const json* value = member_ci(op, "value");
      if (path == nullptr || !path->is_string() || kind == nullptr || !kind->is_string() || value == nullptr ||
          !value->is_object())
        continue;
      std::string_view p = path->get_ref<const std::string&>();
      if (!p.empty() && p.front() == '/') p.remove_prefix(1);
      if (!ci_equal(p, "status") || !(ci_equal(kind->get_ref<const std::string&>(), "add") ||
                                      ci_equal(kind->get_ref<const std::string&>(), "replace")))
        continue;
      const json* id = member_ci(*value, "id");
      const json* name = member_ci(*value, "name");
      const auto named = [&](const status_rec& st) {
        if (id != nullptr) return id->is_number_integer() && id->get<record_id>() == st.id;
        return name != nullptr && name->is_string() && ci_equal(name->get_ref<const std::string&>(), st.name);
      };
      for (const auto& board : dir.boards)
        for (const auto& st : board.statuses)
          if (st.closed && named(st)) return true;
    }
    return false;
  }

  // PATCH /service/tickets/{id}: a JSON array of {op, path, value}, all or nothing. Each
  // operation names one whole field; per field the last operation wins, and the surviving
  // values go through apply_ticket_fields exactly like a create body (so board, then
  // status/type/subType/item on the resulting board, whatever the operation order).
  sim_response patch_ticket(const call& c) {
    // Without tickets.close, naming a closed status is refused before the ticket is even
    // looked up (a simulator assumption, see README "Permissions").
    if (is_denied("tickets.close") && names_closed_status(c.req.body)) return forbidden();
    const auto found = tickets.find(c.ids.at(0));
    if (found == tickets.end()) return not_found("Ticket not found");
    json body;
    try {
      body = json::parse(c.req.body);
    } catch (const json::parse_error& e) {
      const std::string msg = std::string("The request body is not valid JSON: ") + e.what();
      return invalid_object("ticket", {{"InvalidObject", msg, ""}}, msg);
    }
    if (!body.is_array()) {
      const std::string msg = "The request body must be a JSON array of patch operations {op, path, value}, not " +
                              std::string(body.type_name()) + ".";
      return invalid_object("ticket", {{"InvalidObject", msg, ""}}, msg);
    }

    field_errors errs;
    std::map<std::string, std::optional<json>> changes;  // field → new value; nullopt clears it
    for (std::size_t i = 0; i < body.size(); ++i) {
      const json& op = body[i];
      const std::string where = "operations[" + std::to_string(i) + "]";
      if (!op.is_object()) {
        errs.push_back({"InvalidField", where + " must be an object {op, path, value}.", ""});
        continue;
      }
      const json* path_value = member_ci(op, "path");
      if (path_value == nullptr || !path_value->is_string()) {
        errs.push_back(
            {"InvalidField", where + ": path must be a string naming a ticket field, e.g. \"summary\".", ""});
        continue;
      }
      std::string_view path = path_value->get_ref<const std::string&>();
      if (!path.empty() && path.front() == '/') path.remove_prefix(1);
      const auto slash = path.find('/');
      const patch_field* field = find_patch_field(path.substr(0, slash));
      if (field == nullptr) {
        errs.push_back(
            {"InvalidField", where + ": unknown ticket field '" + std::string(path) + "'.", std::string(path)});
        continue;
      }
      const std::string name(field->name);
      if (slash != std::string_view::npos) {
        errs.push_back(
            {"InvalidField",
             where + ": the path '" + std::string(path) + "' points inside " + name + "; replace the whole " + name +
                 (field->reference
                      ? " object instead, e.g. {\"op\":\"replace\",\"path\":\"" + name + "\",\"value\":{\"id\":1}}."
                      : " field instead."),
             name});
        continue;
      }
      if (field->access == patch_access::read_only) {
        errs.push_back({"InvalidField",
                        name == "closedFlag"
                            ? "The closedFlag field is read-only: close a ticket by replacing its status with a "
                              "closed status."
                            : "The " + name + " field is read-only.",
                        name});
        continue;
      }
      if (field->access == patch_access::post_only) {
        errs.push_back({"InvalidField",
                        "The " + name + " field can only be sent when creating a ticket; add a note instead.", name});
        continue;
      }
      const json* kind_value = member_ci(op, "op");
      const std::string kind =
          kind_value != nullptr && kind_value->is_string() ? to_lower(kind_value->get<std::string>()) : std::string();
      if (kind != "add" && kind != "replace" && kind != "remove") {
        errs.push_back({"InvalidField",
                        where + ": op must be add, replace or remove" +
                            (kind_value != nullptr ? " (got " + dump(*kind_value) + ")" : std::string()) + ".",
                        name});
        continue;
      }
      if (kind == "remove") {
        changes[name] = std::nullopt;
        continue;
      }
      bool has_value = false;
      for (auto it = op.begin(); it != op.end(); ++it) has_value = has_value || ci_equal(it.key(), "value");
      if (!has_value) {
        errs.push_back({"InvalidField", where + ": " + kind + " needs a value.", name});
        continue;
      }
      const json* value = member_ci(op, "value");  // null clears the field, like remove
      changes[name] = value == nullptr ? std::nullopt : std::optional<json>(*value);
    }

    ticket_rec next = found->second;
    json fields = json::object();
    for (const auto& [name, value] : changes) {
      if (value) {
        fields[name] = *value;
      } else if (find_patch_field(name)->access == patch_access::required) {
        errs.push_back({"Required", "The " + name + " field is required and cannot be removed.", name});
      } else {
        clear_ticket_field(next, name);
      }
    }
    apply_ticket_fields(fields, next, false, errs);
    if (!errs.empty()) return invalid_object("ticket", errs);

    const status_rec& status = *find_by_id(dir.board(next.board_id)->statuses, next.status_id);
    if (status.closed && next.status_id != found->second.status_id && is_denied("tickets.close")) return forbidden();
    if (!body.empty()) {  // CW saves the record for any operation, even one that changes nothing
      const auto now = clock();
      next.updated = now;
      next.updated_by = actor->identifier;
      if (!status.closed) {
        next.closed_at.reset();
        next.closed_by.clear();
      } else if (!next.closed_at) {
        next.closed_at = now;
        next.closed_by = actor->identifier;
      }
    }
    next.view = render_ticket(dir, next);
    found->second = std::move(next);
    json out = found->second.view;
    externalize(out, c.api_base);
    if (!body.empty()) fire_callbacks(c, found->second, "updated");
    return json_response(200, out);
  }

  // POST /service/tickets/{id}/notes: a ServiceNote with non-blank text and at least one
  // display flag (detailDescriptionFlag, internalAnalysisFlag, resolutionFlag).
  sim_response create_note(const call& c) {
    const auto found = tickets.find(c.ids.at(0));
    if (found == tickets.end()) return not_found("Ticket not found");
    json body;
    try {
      body = json::parse(c.req.body);
    } catch (const json::parse_error& e) {
      const std::string msg = std::string("The request body is not valid JSON: ") + e.what();
      return invalid_object("serviceNote", {{"InvalidObject", msg, ""}}, msg);
    }
    if (!body.is_object()) {
      const std::string msg =
          "The request body must be a JSON object (a serviceNote), not " + std::string(body.type_name()) + ".";
      return invalid_object("serviceNote", {{"InvalidObject", msg, ""}}, msg);
    }
    field_errors errs;
    note_rec n;
    // ConnectWise answers a missing and a blank text alike.
    // NOLINTNEXTLINE(bugprone-branch-clone)
    if (const json* text = member_ci(body, "text"); text == nullptr) {
      errs.push_back({"Required", "The text field is required.", "text"});
    } else if (!text->is_string()) {
      errs.push_back({"InvalidField", "The text field must be a string.", "text"});
    } else if (trim(text->get_ref<const std::string&>()).empty()) {
      errs.push_back({"Required", "The text field is required.", "text"});
    } else {
      n.text = text->get<std::string>();
    }
    const auto flag = [&](const char* name, bool* out) {
      const json* v = member_ci(body, name);
      if (v == nullptr) return;
      if (!v->is_boolean()) {
        errs.push_back({"InvalidField", std::string("The ") + name + " field must be true or false.", name});
        return;
      }
      if (out != nullptr) *out = v->get<bool>();
    };
    flag("detailDescriptionFlag", &n.detail);
    flag("internalAnalysisFlag", &n.internal);
    flag("resolutionFlag", &n.resolution);
    // Accepted and type-checked, not stored (internalFlag/externalFlag are derived).
    for (const char* name :
         {"processNotifications", "internalFlag", "externalFlag", "issueFlag", "customerUpdatedFlag"})
      flag(name, nullptr);
    if (!n.detail && !n.internal && !n.resolution)
      errs.push_back({"InvalidField", "Please choose where to display the notes in order to save this record.",
                      "detailDescriptionFlag"});
    if (!errs.empty()) return invalid_object("serviceNote", errs);

    n.id = next_note_id++;
    n.created = clock();
    n.created_by = actor->identifier;
    ticket_rec& t = found->second;
    t.notes.push_back(n);
    // Adding a note saves the ticket (lastUpdated/updatedBy; README: UNCONFIRMED).
    t.updated = n.created;
    t.updated_by = actor->identifier;
    t.view = render_ticket(dir, t);
    fire_callbacks(c, t, "updated");
    json out = render_note(dir, found->first, n);
    externalize(out, c.api_base);
    return json_response(201, out);
  }

  // DELETE /service/tickets/{id}: 204, then the ticket (and its notes) is gone.
  sim_response delete_ticket(const call& c) {
    const auto found = tickets.find(c.ids.at(0));
    if (found == tickets.end()) return not_found("Ticket not found");
    fire_callbacks(c, found->second, "deleted");
    tickets.erase(found);
    return no_content();
  }

  // POST /service/tickets/{parentId}/merge {"mergeTicketIds":[...], "status":{"id":N}}
  // (TicketMerge as far as known; README: UNCONFIRMED). Each child gets
  // mergedParentTicket and is closed: moved to `status` when that is a closed status of
  // the child's board, else to its board's first closed status. All or nothing.
  sim_response merge_tickets(const call& c) {
    const auto parent = tickets.find(c.ids.at(0));
    if (parent == tickets.end()) return not_found("Ticket not found");
    json body;
    try {
      body = json::parse(c.req.body);
    } catch (const json::parse_error& e) {
      const std::string msg = std::string("The request body is not valid JSON: ") + e.what();
      return invalid_object("ticketMerge", {{"InvalidObject", msg, ""}}, msg);
    }
    if (!body.is_object()) {
      const std::string msg =
          "The request body must be a JSON object (a ticketMerge), not " + std::string(body.type_name()) + ".";
      return invalid_object("ticketMerge", {{"InvalidObject", msg, ""}}, msg);
    }
    field_errors errs;
    if (parent->second.merged_parent)
      errs.push_back({"InvalidField",
                      "Ticket " + std::to_string(parent->first) + " was merged into ticket " +
                          std::to_string(*parent->second.merged_parent) + " and cannot take merged tickets.",
                      "id"});
    std::vector<record_id> children;
    const json* ids = member_ci(body, "mergeTicketIds");
    if (ids == nullptr) {
      errs.push_back({"Required", "The mergeTicketIds field is required.", "mergeTicketIds"});
    } else if (!ids->is_array() || ids->empty() ||
               !std::all_of(ids->begin(), ids->end(), [](const json& e) { return e.is_number_integer(); })) {
      errs.push_back(
          {"InvalidField", "The mergeTicketIds field must be a non-empty array of ticket ids.", "mergeTicketIds"});
    } else {
      for (const json& e : *ids) {
        const auto id = e.get<record_id>();
        const auto it = tickets.find(id);
        std::string problem;
        if (id == parent->first)
          problem = "Ticket " + std::to_string(id) + " cannot be merged into itself.";
        else if (it == tickets.end())
          problem = "Ticket " + std::to_string(id) + " was not found.";
        else if (it->second.merged_parent)
          problem = "Ticket " + std::to_string(id) + " is already merged into ticket " +
                    std::to_string(*it->second.merged_parent) + ".";
        else if (std::find(children.begin(), children.end(), id) != children.end())
          problem = "Ticket " + std::to_string(id) + " is listed twice.";
        if (!problem.empty()) {
          errs.push_back({"InvalidField", problem, "mergeTicketIds"});
          continue;
        }
        children.push_back(id);
      }
    }
    std::optional<record_id> wanted_status;
    if (const json* st = member_ci(body, "status")) {
      const json* id = st->is_object() ? member_ci(*st, "id") : nullptr;
      bool known = false;
      if (id != nullptr && id->is_number_integer())
        for (const auto& b : dir.boards) known = known || find_by_id(b.statuses, id->get<record_id>()) != nullptr;
      if (!known)
        errs.push_back({"InvalidField", "The status field must be {\"id\":N} naming a board status.", "status"});
      else
        wanted_status = id->get<record_id>();
    }
    // Where each child goes.
    std::vector<std::pair<record_id, record_id>> moves;  // child → closed status
    if (errs.empty()) {
      for (const record_id id : children) {
        const board_rec& board = *dir.board(tickets.at(id).board_id);
        const status_rec* target = wanted_status ? find_by_id(board.statuses, *wanted_status) : nullptr;
        if (target == nullptr || !target->closed) {
          target = nullptr;
          for (const auto& st : board.statuses)
            if (st.closed && target == nullptr) target = &st;
        }
        if (target == nullptr) {
          errs.push_back({"InvalidField",
                          "Ticket " + std::to_string(id) + " is on board " + std::to_string(board.id) + " (" +
                              board.name + "), which has no closed status to merge it into.",
                          "mergeTicketIds"});
          continue;
        }
        moves.emplace_back(id, target->id);
      }
    }
    if (!errs.empty()) return invalid_object("ticketMerge", errs);

    const auto now = clock();
    for (const auto& [id, status_id] : moves) {
      ticket_rec& child = tickets.at(id);
      child.merged_parent = parent->first;
      child.merged_parent_summary = parent->second.summary;
      child.status_id = status_id;
      child.updated = now;
      child.updated_by = actor->identifier;
      if (!child.closed_at) {
        child.closed_at = now;
        child.closed_by = actor->identifier;
      }
      child.view = render_ticket(dir, child);
      fire_callbacks(c, child, "updated");
    }
    ticket_rec& p = parent->second;
    p.has_merged_child = true;
    p.updated = now;
    p.updated_by = actor->identifier;
    p.view = render_ticket(dir, p);
    fire_callbacks(c, p, "updated");
    return json_response(200, shaped(c, p.view));
  }

  // ---- callbacks

  sim_response callback_key(record_id id) const {
    const auto it = callbacks.find(id);
    if (it == callbacks.end()) return not_found("CallbackEntry not found");
    return json_response(200, json{{"signing_key", it->second.signing_key}});
  }

  // POST /system/callbacks (existing == nullptr), PUT and PATCH /system/callbacks/{id}.
  // PATCH applies its operations onto the entry's writable fields; then the resulting
  // object is validated like a POST/PUT body (README "Callbacks"). All or nothing.
  sim_response write_callback(const call& c, callback_rec* existing) {
    static constexpr std::string_view writable[] = {"url",
                                                    "objectId",
                                                    "type",
                                                    "level",
                                                    "description",
                                                    "inactiveFlag",
                                                    "payloadVersion",
                                                    "isSoapCallbackFlag",
                                                    "isSelfSuppressedFlag"};
    static constexpr std::string_view read_only[] = {"id", "memberId", "connectWiseID", "_info"};
    json body;
    try {
      body = json::parse(c.req.body);
    } catch (const json::parse_error& e) {
      const std::string msg = std::string("The request body is not valid JSON: ") + e.what();
      return invalid_object("callbackEntry", {{"InvalidObject", msg, ""}}, msg);
    }
    const bool patching = c.req.method == "PATCH";
    if (patching ? !body.is_array() : !body.is_object()) {
      const std::string msg =
          std::string("The request body must be ") +
          (patching ? "a JSON array of patch operations {op, path, value}" : "a JSON object (a callbackEntry)") +
          ", not " + body.type_name() + ".";
      return invalid_object("callbackEntry", {{"InvalidObject", msg, ""}}, msg);
    }
    field_errors errs;
    json candidate = json::object();
    if (patching) {
      const json current = render_callback(*existing);
      for (const auto name : writable)
        if (current.contains(name)) candidate[std::string(name)] = current.at(std::string(name));
      for (std::size_t i = 0; i < body.size(); ++i) {
        const json& op = body[i];
        const std::string where = "operations[" + std::to_string(i) + "]";
        const json* path_value = op.is_object() ? member_ci(op, "path") : nullptr;
        if (path_value == nullptr || !path_value->is_string()) {
          errs.push_back({"InvalidField", where + ": an operation is {op, path, value} with a string path.", ""});
          continue;
        }
        std::string_view path = path_value->get_ref<const std::string&>();
        if (!path.empty() && path.front() == '/') path.remove_prefix(1);
        std::string name;
        for (const auto w : writable)
          if (ci_equal(w, path)) name = std::string(w);
        const bool ro = std::any_of(std::begin(read_only), std::end(read_only),
                                    [&](std::string_view r) { return ci_equal(r, path); });
        if (name.empty()) {
          errs.push_back({"InvalidField",
                          where + (ro ? ": the " + std::string(path) + " field is read-only."
                                      : ": unknown callbackEntry field '" + std::string(path) + "'."),
                          std::string(path)});
          continue;
        }
        const json* kind_value = member_ci(op, "op");
        const std::string kind =
            kind_value != nullptr && kind_value->is_string() ? to_lower(kind_value->get<std::string>()) : "";
        if (kind == "remove") {
          candidate.erase(name);
          continue;
        }
        if (kind != "add" && kind != "replace") {
          errs.push_back({"InvalidField", where + ": op must be add, replace or remove.", name});
          continue;
        }
        bool has_value = false;
        for (auto it = op.begin(); it != op.end(); ++it) has_value = has_value || ci_equal(it.key(), "value");
        if (!has_value) {
          errs.push_back({"InvalidField", where + ": " + kind + " needs a value.", name});
          continue;
        }
        const json* value = member_ci(op, "value");
        if (value == nullptr)
          candidate.erase(name);
        else
          candidate[name] = *value;
      }
      if (!errs.empty()) return invalid_object("callbackEntry", errs);
    } else {
      candidate = body;
    }

    callback_rec next = existing != nullptr ? *existing : callback_rec{};
    const auto text = [&](const char* name, bool required, std::size_t max_len, std::string& out) {
      const json* v = member_ci(candidate, name);
      if (v == nullptr) {
        if (required) errs.push_back({"Required", std::string("The ") + name + " field is required.", name});
        out.clear();
        return;
      }
      if (!v->is_string() || (required && trim(v->get_ref<const std::string&>()).empty())) {
        errs.push_back({"InvalidField", std::string("The ") + name + " field must be a non-empty string.", name});
        return;
      }
      if (max_len != 0 && utf16_length(v->get_ref<const std::string&>()) > max_len) {
        errs.push_back(
            {"MaxLength",
             std::string("The ") + name + " field can not be longer than " + std::to_string(max_len) + " characters.",
             name});
        return;
      }
      out = v->get<std::string>();
    };
    const auto flag = [&](const char* name, bool& out) {
      const json* v = member_ci(candidate, name);
      if (v == nullptr) {
        out = false;
        return;
      }
      if (!v->is_boolean())
        errs.push_back({"InvalidField", std::string("The ") + name + " field must be true or false.", name});
      else
        out = v->get<bool>();
    };
    text("url", true, 0, next.url);
    if (!next.url.empty() && !parse_http_url(next.url))
      errs.push_back({"InvalidField", "The url field must be an absolute http:// or https:// URL.", "url"});
    if (const json* v = member_ci(candidate, "objectId"); v == nullptr)
      errs.push_back({"Required", "The objectId field is required.", "objectId"});
    else if (!v->is_number_integer())
      errs.push_back({"InvalidField", "The objectId field must be an integer.", "objectId"});
    else
      next.object_id = v->get<record_id>();
    text("type", true, 0, next.type);
    if (!next.type.empty() && !ci_equal(next.type, "ticket"))
      errs.push_back({"InvalidField",
                      "Callback type '" + next.type + "' is not modelled by cwsim (only Ticket callbacks are).",
                      "type"});
    text("level", true, 0, next.level);
    if (!next.level.empty()) {
      const bool modelled = ci_equal(next.level, "owner") || ci_equal(next.level, "board") ||
                            ci_equal(next.level, "status") || ci_equal(next.level, "ticket");
      const bool known =
          ci_equal(next.level, "project") || ci_equal(next.level, "phase") || ci_equal(next.level, "integratorTag");
      if (!modelled)
        errs.push_back({"InvalidField",
                        known ? "Callback level '" + next.level +
                                    "' is not modelled by cwsim (Owner, Board, Status, "
                                    "Ticket are)."
                              : "The level field must be one of Owner, Board, Status, Ticket.",
                        "level"});
    }
    text("description", false, callback_description_max_length, next.description);
    text("payloadVersion", false, 0, next.payload_version);
    flag("inactiveFlag", next.inactive);
    flag("isSoapCallbackFlag", next.soap);
    flag("isSelfSuppressedFlag", next.self_suppressed);
    if (errs.empty()) {
      for (const auto& [id, other] : callbacks) {
        if (existing != nullptr && id == existing->id) continue;
        if (other.url == next.url && ci_equal(other.type, next.type) && ci_equal(other.level, next.level) &&
            other.object_id == next.object_id)
          errs.push_back({"ObjectExists", "A matching callback entry already exists", "objectId"});
      }
    }
    if (!errs.empty()) return invalid_object("callbackEntry", errs);

    next.updated = clock();
    next.updated_by = actor->identifier;
    if (existing == nullptr) {
      next.id = next_callback_id++;
      next.member_id = actor->id;
      next.connectwise_id = random_uuid();
      next.signing_key = base64_encode(random_bytes(32));
      const auto& stored = callbacks.emplace(next.id, std::move(next)).first->second;
      return json_response(201, shaped(c, render_callback(stored)));
    }
    *existing = std::move(next);
    return json_response(200, shaped(c, render_callback(*existing)));
  }

  // The deliveries a ticket change fires: every active Ticket entry whose level matches
  // (Owner: all; Board/Status/Ticket: objectId = the ticket's board/status/id after the
  // change). Each is logged; p_callback_drop drops some (logged, never sent).
  void fire_callbacks(const call& c, const ticket_rec& t, std::string_view action) {
    std::optional<std::string> entity;
    for (const auto& [id, cb] : callbacks) {
      if (cb.inactive || !ci_equal(cb.type, "ticket")) continue;
      const bool hit = ci_equal(cb.level, "owner") || (ci_equal(cb.level, "board") && cb.object_id == t.board_id) ||
                       (ci_equal(cb.level, "status") && cb.object_id == t.status_id) ||
                       (ci_equal(cb.level, "ticket") && cb.object_id == t.id);
      if (!hit) continue;
      if (knobs.honour_self_suppression && cb.self_suppressed && actor != nullptr && cb.member_id == actor->id)
        continue;
      if (!entity && action != "deleted") {
        json view = t.view;
        externalize(view, c.api_base);
        entity = dump(view);
      }
      json body{
          {"FromUrl", c.api_base},
          {"CompanyId", dir.company_id},
          {"MemberId", actor != nullptr ? actor->identifier : dir.api_member},
          {"Action", action},
          {"Type", "ticket"},
          {"ID", t.id},
          {"Entity", action == "deleted" ? json(nullptr) : json(*entity)},
          {"Metadata",
           {{"key_url", c.origin + "/" + dir.codebase + "/apis/3.0/system/callbackkeys/" + std::to_string(cb.id)}}}};
      if (knobs.callback_message_id) body["MessageId"] = random_uuid();
      callback_delivery d;
      d.id = next_delivery_id++;
      d.callback_id = cb.id;
      d.url = cb.url;
      if (!d.url.empty() && d.url.back() == '=') d.url += std::to_string(t.id) + "&action=" + std::string(action);
      d.body = dump(body);
      d.headers = {{"Content-Type", "application/json"},
                   {"x-content-signature", callback_signature(cb.signing_key, d.body)}};
      d.delay = std::chrono::milliseconds(knobs.callback_delay_ms);
      const bool dropped = callback_rng.uniform() < knobs.p_callback_drop;
      delivery_log.push_back(json{
          {"id", d.id},
          {"callback_id", cb.id},
          {"url", d.url},
          {"action", action},
          {"ticket_id", t.id},
          {"member", actor != nullptr ? actor->identifier : dir.api_member},
          {"attempts", 0},
          {"status", nullptr},
          {"error", nullptr},
          {"dropped", dropped},
          {"state", dropped ? "dropped" : "pending"},
          {"fired_at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(clock().time_since_epoch()).count()}});
      while (delivery_log.size() > delivery_log_capacity) delivery_log.pop_front();
      if (!dropped) pending_deliveries.push_back(std::move(d));
    }
  }

  void record_delivery_attempt(std::uint64_t delivery_id, int status, const std::string& error, bool final) {
    for (auto it = delivery_log.rbegin(); it != delivery_log.rend(); ++it) {
      if ((*it)["id"].get<std::uint64_t>() != delivery_id) continue;
      json& e = *it;
      e["attempts"] = e["attempts"].get<int>() + 1;
      e["status"] = status > 0 ? json(status) : json(nullptr);
      e["error"] = error.empty() ? json(nullptr) : json(error);
      e["state"] = !final ? "retrying" : (status >= 200 && status < 300) ? "delivered" : "failed";
      return;
    }
  }

  // ---- /__sim

  sim_response handle_sim(const call& c) {
    const std::string what = c.segments.size() == 2 ? c.segments[1] : std::string();
    const std::string& method = c.req.method;
    if (c.segments.size() == 3 && c.segments[1] == "callbacks" && c.segments[2] == "deliveries") {
      if (method == "DELETE") {
        const auto n = delivery_log.size();
        delivery_log.clear();
        return json_response(200, json{{"cleared", n}});
      }
      if (method != "GET") return method_not_allowed("GET, DELETE");
      json all = json::array();
      for (const auto& e : delivery_log) all.push_back(e);
      return json_response(200, all);
    }
    const std::string api_base = c.origin + "/" + dir.codebase + "/apis/3.0";
    if (what == "tickets") {
      if (method != "GET") return method_not_allowed("GET");
      json all = json::array();
      for (const auto& [id, t] : tickets) {
        json v = t.view;
        json notes = json::array();
        for (const auto& n : t.notes) notes.push_back(render_note(dir, id, n));
        v["notes"] = std::move(notes);
        externalize(v, api_base);
        all.push_back(std::move(v));
      }
      return json_response(200, all);
    }
    if (what == "stats") {
      if (method != "GET") return method_not_allowed("GET");
      return json_response(200, stats());
    }
    if (what == "requests") {
      if (method != "GET") return method_not_allowed("GET");
      std::int64_t limit = default_request_log_limit;
      if (const auto it = c.query.find("limit"); it != c.query.end()) {
        const auto v = parse_int(trim(it->second));
        if (!v || *v < 0) return error_response(400, "InvalidObject", "limit must be a non-negative integer");
        limit = *v;
      }
      const auto n = std::min<std::size_t>(static_cast<std::size_t>(limit), request_log.size());
      json recent = json::array();
      for (auto it = request_log.end() - static_cast<std::ptrdiff_t>(n); it != request_log.end(); ++it)
        recent.push_back(*it);
      return json_response(200, recent);
    }
    if (what == "faults") {
      if (method == "POST") {
        try {
          json update = json::parse(c.req.body.empty() ? std::string("{}") : c.req.body);
          std::optional<std::uint64_t> seed;
          if (update.is_object() && update.contains("seed")) {
            if (!update["seed"].is_number_unsigned())
              throw std::invalid_argument("seed must be a non-negative integer");
            seed = update["seed"].get<std::uint64_t>();
            update.erase("seed");
          }
          std::optional<std::map<std::uint64_t, fault>> new_script;
          if (update.is_object() && update.contains("script")) {
            // [{"at": N, "kind": "reset|hang|500|429|commit_drop"}]: the Nth API request from
            // now (1 = the next one) gets that fault. Replaces any earlier script.
            const json& list = update["script"];
            if (!list.is_array()) throw std::invalid_argument("script must be an array of {at, kind}");
            new_script.emplace();
            for (const json& entry : list) {
              if (!entry.is_object() || !entry.contains("at") || !entry["at"].is_number_unsigned() ||
                  entry["at"].get<std::uint64_t>() == 0 || !entry.contains("kind") || !entry["kind"].is_string())
                throw std::invalid_argument("script entries are {\"at\": N >= 1, \"kind\": NAME}, got " + dump(entry));
              const std::string kind = entry["kind"].get<std::string>();
              fault f = fault::none;
              for (fault k : {fault::reset, fault::hang, fault::error500, fault::throttle, fault::commit_drop})
                if (fault_name(k) == kind) f = k;
              if (f == fault::none)
                throw std::invalid_argument("unknown fault kind '" + kind +
                                            "' (known: reset, hang, 500, 429, commit_drop)");
              (*new_script)[api_requests + entry["at"].get<std::uint64_t>()] = f;
            }
            update.erase("script");
          }
          std::optional<std::set<std::string>> deny;
          if (update.is_object() && update.contains("deny")) {
            const json& list = update["deny"];
            if (!list.is_array()) throw std::invalid_argument("deny must be an array of areas: " + deny_area_list());
            deny.emplace();
            for (const json& entry : list) {
              const auto area = entry.is_string() ? deny_area(entry.get<std::string>()) : std::nullopt;
              if (!area)
                throw std::invalid_argument("unknown deny area " + dump(entry) + " (known: " + deny_area_list() + ")");
              deny->insert(*area);
            }
            update.erase("deny");
          }
          apply_fault_update(knobs, update);
          if (seed) rng = fault_rng(*seed);
          if (deny) denied = std::move(*deny);
          if (new_script) script = std::move(*new_script);
        } catch (const json::parse_error& e) {
          return error_response(400, "InvalidObject", std::string("The request body is not valid JSON: ") + e.what());
        } catch (const std::invalid_argument& e) {
          return error_response(400, "InvalidObject", e.what());
        }
      } else if (method != "GET") {
        return method_not_allowed("GET, POST");
      }
      return json_response(200, faults_json());
    }
    if (what == "reset") {
      if (method != "POST") return method_not_allowed("POST");
      tickets.clear();
      next_ticket_id = first_ticket_id;
      next_note_id = first_note_id;
      callbacks.clear();
      next_callback_id = 1;
      delivery_log.clear();  // delivery ids keep counting: deliveries in flight still report
      script.clear();
      api_requests = 0;
      reset_counters();
      return json_response(200, json{{"reset", true}});
    }
    return not_found("Unknown simulator endpoint: " + c.raw_path);
  }
};

simulator::simulator(const json& seed, fault_knobs faults, std::uint64_t fault_seed, clock_fn clock)
    : impl_(std::make_unique<impl>(seed, faults, fault_seed, std::move(clock))) {}
simulator::~simulator() = default;
simulator::simulator(simulator&&) noexcept = default;
simulator& simulator::operator=(simulator&&) noexcept = default;

sim_response simulator::handle(const sim_request& request) {
  sim_response r;
  try {
    r = impl_->handle(request);
  } catch (const std::exception& e) {
    // A defect in cwsim, not client input: answer like CW's own unexpected errors.
    impl_->pending_deliveries.clear();
    impl_->actor = nullptr;
    r = error_response(500, "UnexpectedError", std::string("cwsim internal error: ") + e.what());
  }
  // Every answer carries an HTTP Date from the simulator's clock.
  if (r.action == sim_response::disposition::respond) set_header(r, "Date", format_http_date(impl_->clock()));
  return r;
}

void simulator::record_delivery_attempt(std::uint64_t delivery_id, int status, const std::string& error, bool final) {
  impl_->record_delivery_attempt(delivery_id, status, error, final);
}

const fault_knobs& simulator::faults() const noexcept { return impl_->knobs; }

void simulator::set_faults(const fault_knobs& knobs) {
  validate(knobs);
  impl_->knobs = knobs;
}

void simulator::reseed_faults(std::uint64_t seed) noexcept { impl_->rng = fault_rng(seed); }

json simulator::stats() const { return impl_->stats(); }

}  // namespace cwsim
