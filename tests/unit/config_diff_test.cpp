// Tests of config_diff: for every key of the reference configuration
// (config/ticketsync.yaml), a copy of the file with only that key changed must
// give exactly one change, with the key and reload effect the table below
// says; effective_config must hold the running value of a restart-only key and
// the new value of a live one. A key added to the reference file without a row
// here fails the table test, and so does a key diff_config does not notice.

#include "config/config_diff.hpp"
#include "config/config_loader.hpp"
#include "support/enum_tables.hpp"
#include "support/scratch_dir.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ts::config {
// Failure messages show changes as `key (effect)`.
void PrintTo(const config_change& c, std::ostream* os) { *os << c.key << " (" << ts::to_text(c.effect) << ")"; }
}  // namespace ts::config

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ts::config::config;
using ts::config::config_change;
using ts::config::diff_config;
using ts::config::effective_config;
using ts::config::load_config;
using ts::config::reload_effect;
using ts::config::secret_ref;

constexpr reload_effect live = reload_effect::live;
constexpr reload_effect restart = reload_effect::restart;

fs::path reference_file() { return fs::path(TS_SOURCE_DIR) / "config" / "ticketsync.yaml"; }

//------------------------------------------------------------------------------
// Editing the reference document

std::vector<std::string> split_path(std::string_view dotted) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = dotted.find('.', start);
    out.emplace_back(dotted.substr(start, dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

// The node at `dotted` (list items by index: rules.0.name); an invalid node
// when there is none.
YAML::Node find(const YAML::Node& root, std::string_view dotted) {
  YAML::Node at = root;
  for (const std::string& part : split_path(dotted)) {
    // reset(), not assignment: assigning a Node writes through to the tree.
    if (at.IsSequence())
      at.reset(at[std::stoul(part)]);
    else if (at.IsMap() && at[part])
      at.reset(at[part]);
    else
      return YAML::Node(YAML::NodeType::Undefined);
  }
  return at;
}

// Sets the value at `dotted` (which need not exist yet: maps are created) to
// `yaml`, parsed as YAML.
void set(YAML::Node& root, std::string_view dotted, std::string_view yaml) {
  const std::vector<std::string> parts = split_path(dotted);
  YAML::Node at = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (at.IsSequence())
      at.reset(at[std::stoul(parts[i])]);
    else
      at.reset(at[parts[i]]);
  }
  const YAML::Node value = YAML::Load(std::string(yaml));
  if (at.IsSequence())
    at[std::stoul(parts.back())] = value;
  else
    at[parts.back()] = value;
}

std::string emit(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

// The reference file with its commented-out keys (admin.listen and the
// admin.token it requires) given, so that they are covered too.
YAML::Node base_document() {
  YAML::Node doc = YAML::LoadFile(reference_file().string());
  set(doc, "admin.listen", "127.0.0.1:9187");
  set(doc, "admin.token", "{credential: admin-token}");
  return doc;
}

// Dotted paths of every leaf: values that are neither a mapping nor a list
// are leaves, and so are empty mappings and every list (a list is changed
// through its items, e.g. rules.0.name).
void collect_leaves(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
  if (node.IsMap() && node.size() > 0) {
    for (const auto& kv : node)
      collect_leaves(kv.second, path.empty() ? kv.first.Scalar() : path + "." + kv.first.Scalar(), out);
    return;
  }
  out.push_back(path);
}

// A scratch directory holding configuration files written from documents.
class config_files : public ts::test::scratch_dir {
 public:
  config_files() : scratch_dir("ts-config-diff") {}

  /// Writes `doc` as `name` and loads it; fails the test when it does not load.
  std::optional<config> load(const std::string& name, const YAML::Node& doc) const {
    return load_text(name, emit(doc));
  }

  std::optional<config> load_text(const std::string& name, const std::string& text) const {
    const fs::path file = path() / name;
    std::ofstream(file, std::ios::binary) << text;
    auto loaded = load_config(file);
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
    return std::move(loaded.cfg);
  }
};

//------------------------------------------------------------------------------
// The table: one row per key of the reference file

struct key_row {
  std::string_view path;   ///< what is changed: a leaf of the document, or a value inside a list
  std::string_view value;  ///< its new value (YAML)
  std::string_view key;    ///< the key diff_config must report
  reload_effect effect;
  std::string_view given_path = {};  ///< optionally set in both copies first
  std::string_view given_value = {};
};

// clang-format off
const key_row key_rows[] = {
    // psa: the connection. What identifies the server, the member and the API
    // needs a new client; the pacing and the limits apply to the next request.
    {"psa.site",                   "eu",                                   "psa.site",                restart},
    {"psa.company_id",             "othermsp",                             "psa.company_id",          restart},
    {"psa.public_key",             "QrStUvWxYz012345",                     "psa.public_key",          restart},
    {"psa.private_key.credential", "cw-private-key-2",                     "psa.private_key",         restart},
    {"psa.client_id",              "11111111-1111-1111-1111-111111111111", "psa.client_id",           restart},
    {"psa.api_version",            "'2024.1'",                             "psa.api_version",         restart},
    {"psa.codebase",               "v2025_1/",                             "psa.codebase",            restart},
    {"psa.ca_file",                "/etc/ticketsync/ca.pem",               "psa.ca_file",             restart},
    {"psa.timeouts.connect",       "5s",                                   "psa.timeouts.connect",    live},
    {"psa.timeouts.handshake",     "5s",                                   "psa.timeouts.handshake",  live},
    {"psa.timeouts.request",       "1m",                                   "psa.timeouts.request",    live},
    {"psa.max_response_size",      "16MiB",                                "psa.max_response_size",   live},
    {"psa.max_connections",        "8",                                    "psa.max_connections",     live},
    {"psa.requests_per_minute",    "300",                                  "psa.requests_per_minute", live},

    // The mapping: reported by section, applied by the reload.
    {"companies.default",          "Other",                                "companies", live},
    {"companies.unmapped",         "hold",                                 "companies", live},
    {"companies.tenants.acme-prod", "AcmeCorp2",                           "companies", live},
    {"companies.tenants.globex",   "Globex2",                              "companies", live},
    {"companies.tenants.initech",  "Initech2",                             "companies", live},
    {"companies.sources.defender.00000000-0000-4000-8000-000000000001", "Globex2",   "companies", live},
    {"companies.sources.defender.00000000-0000-4000-8000-000000000002", "Umbrella2", "companies", live},

    // The top-level ticket. Rules inherit what they do not set, so these also
    // change rules' tickets; that is still a change of "ticket" only.
    {"ticket.board",               "Security",                             "ticket", live},
    // The third rule sets `status: New` itself: it keeps it, and that is no
    // change of the rules either.
    {"ticket.status",              "Open",                                 "ticket", live},
    {"ticket.closed_status",       "Done",                                 "ticket", live},
    {"ticket.reopen_status",       "Reopened",                             "ticket", live},
    {"ticket.priority.critical",   "P1",                                   "ticket", live},
    {"ticket.priority.high",       "P2",                                   "ticket", live},
    {"ticket.priority.medium",     "P3",                                   "ticket", live},
    {"ticket.priority.low",        "P4",                                   "ticket", live},
    {"ticket.priority.info",       "P5",                                   "ticket", live},
    {"ticket.severity.critical",   "Medium",                               "ticket", live},
    {"ticket.severity.high",       "Low",                                  "ticket", live},
    {"ticket.severity.medium",     "High",                                 "ticket", live},
    {"ticket.severity.low",        "High",                                 "ticket", live},
    {"ticket.severity.info",       "Medium",                               "ticket", live},
    {"ticket.impact.critical",     "Low",                                  "ticket", live},
    {"ticket.impact.high",         "High",                                 "ticket", live},
    {"ticket.impact.medium",       "High",                                 "ticket", live},
    {"ticket.impact.low",          "Medium",                               "ticket", live},
    {"ticket.impact.info",         "High",                                 "ticket", live},
    {"ticket.type",                "Incident",                             "ticket", live},
    // A subtype needs a type.
    {"ticket.subtype",             "Malware",                              "ticket", live, "ticket.type", "Incident"},
    {"ticket.item",                "Investigate",                          "ticket", live},
    {"ticket.team",                "SOC Tier 1",                           "ticket", live},
    {"ticket.source",              "Security Tool",                        "ticket", live},
    // Merged into every rule's custom fields.
    {"ticket.custom_fields",       "{Risk Score: '{{attributes.risk_score}}'}", "ticket", live},
    {"ticket.summary",             "'{{title}}'",                          "ticket", live},
    {"ticket.description",         "'{{description}}'",                    "ticket", live},
    {"ticket.notes.update",        "'Updated: {{changes}}'",               "ticket", live},
    {"ticket.notes.resolve",       "''",                                   "ticket", live},
    {"ticket.notes.reopen",        "'Reopened: {{changes}}'",              "ticket", live},
    {"ticket.lifecycle.on_update", "note",                                 "ticket", live},
    {"ticket.lifecycle.on_resolve", "ignore",                              "ticket", live},
    // The third rule sets its own reopen_window; the others inherit it.
    {"ticket.lifecycle.reopen_window", "8d",                               "ticket", live},
    {"ticket.lifecycle.on_technician_close", "new_ticket",                 "ticket", live},
    {"ticket.lifecycle.on_ticket_deleted", "forget",                       "ticket", live},
    {"ticket.lifecycle.priority_owner",    "ticketsync",                   "ticket", live},

    // Rules: the list is one key; these change a rule's name, match and ticket.
    {"rules.0.name",               "ransomware",                           "rules", live},
    {"rules.0.match.severity",     "high",                                 "rules", live},
    {"rules.0.match.title",        "'(?i)ransom'",                         "rules", live},
    {"rules.0.ticket.team",        "SOC Tier 3",                           "rules", live},
    {"rules.0.ticket.custom_fields.Source Product", "'{{source}}!'",       "rules", live},
    {"rules.0.ticket.lifecycle.on_resolve", "close",                       "rules", live},
    {"rules.1.match.tenant",       "'globex-*'",                           "rules", live},
    {"rules.1.match.tags.any",     "[identity]",                           "rules", live},
    {"rules.1.match.attributes.0.equals", "true",                          "rules", live},
    {"rules.2.ticket.status",      "Open",                                 "rules", live},
    {"rules.2.ticket.lifecycle.reopen_window", "31d",                      "rules", live},
    {"rules",                      "[]",                                   "rules", live},

    {"storm.max_new_tickets_per_hour", "50",                               "storm", live},
    {"storm.digest_summary",       "'[storm] {{tenant}}'",                 "storm", live},
    {"storm.digest_note",          "'{{title}}'",                          "storm", live},

    // Where the state lives: opened once.
    {"storage.database",           "/var/lib/ticketsync/other.db",         "storage.database", restart},

    {"intake.spool_dir",           "/var/spool/ticketsync2",               "intake.spool_dir",        restart},
    {"intake.max_event_size",      "512KiB",                               "intake.max_event_size",   live},
    {"intake.rescan_interval",     "1m",                                   "intake.rescan_interval",  live},
    {"intake.batch_size",          "128",                                  "intake.batch_size",       live},

    {"logging.level",              "debug",                                "logging.level",  live},
    {"logging.format",             "json",                                 "logging.format", restart},

    // The listeners are bound once; the token and the inbox limit are read
    // per request.
    {"admin.socket",               "/run/ticketsync/other.sock",           "admin.socket",          restart},
    {"reverse.poll_interval",      "1m",                                   "reverse.poll_interval",      live},
    {"reverse.existence_interval", "2h",                                   "reverse.existence_interval", live},
    {"reverse.page_size",          "500",                                  "reverse.page_size",          live},
    {"reverse.callback_url",       "https://ts.example.com/cw",            "reverse.callback_url",       live},
    {"reverse.callback_path",      "/cw",                                  "reverse.callback_path",      live},
    {"reverse.key_hosts",          "[keys.example.com]",                   "reverse.key_hosts",          live, "reverse.key_hosts", "[api-na.myconnectwise.net]"},
    {"public.listen",              "127.0.0.1:9443",                       "public.listen",              restart},
    {"public.cert_file",           "/etc/ticketsync/tls.pem",              "public.cert_file",           live, "public", "{cert_file: /etc/ticketsync/old.pem, key_file: /etc/ticketsync/old.key}"},
    {"public.key_file",            "/etc/ticketsync/tls.key",              "public.key_file",            live, "public", "{cert_file: /etc/ticketsync/old.pem, key_file: /etc/ticketsync/old.key}"},
    {"public.max_body_size",       "128KiB",                               "public.max_body_size",       restart},
    {"public.max_connections",     "16",                                   "public.max_connections",     restart},
    {"public.requests_per_second", "20",                                   "public.requests_per_second", restart},
    {"admin.socket_mode",          "'0600'",                               "admin.socket_mode",     restart},
    {"admin.socket_group",         "ticketsync-admin",                     "admin.socket_group",    restart},
    {"admin.listen",               "127.0.0.1:9188",                       "admin.listen",          restart},
    {"admin.token.credential",     "admin-token-2",                        "admin.token",           live},
    {"admin.max_body_size",        "2MiB",                                 "admin.max_body_size",   restart},
    {"admin.max_inbox_depth",      "20000",                                "admin.max_inbox_depth", live},
    {"admin.max_connections",      "32",                                   "admin.max_connections", restart},
};
// clang-format on

// A row covers a leaf when it changes that leaf or a value inside it (a list).
bool covers(const key_row& row, std::string_view leaf) {
  return row.path == leaf ||
         (row.path.size() > leaf.size() && row.path.substr(0, leaf.size()) == leaf && row.path[leaf.size()] == '.');
}

TEST(ConfigDiff, EveryKeyOfTheReferenceFileHasARow) {
  std::vector<std::string> leaves;
  collect_leaves(base_document(), "", leaves);
  ASSERT_GT(leaves.size(), 50u);  // the walk saw the file
  for (const std::string& leaf : leaves) {
    bool found = false;
    for (const key_row& row : key_rows) found = found || covers(row, leaf);
    EXPECT_TRUE(found) << "config/ticketsync.yaml has key '" << leaf
                       << "' but key_rows has no row for it: add one, with the key diff_config reports and its "
                          "reload effect";
  }
}

TEST(ConfigDiff, ChangingOneKeyReportsExactlyThatKeyWithItsEffect) {
  const YAML::Node base = base_document();
  const config_files files;
  for (const key_row& row : key_rows) {
    SCOPED_TRACE(std::string(row.path) + ": " + std::string(row.value));
    YAML::Node before = YAML::Clone(base);
    if (!row.given_path.empty()) set(before, row.given_path, row.given_value);
    const YAML::Node old_value = find(before, row.path);
    ASSERT_TRUE(old_value.IsDefined()) << "no such key in the reference file: remove the row";
    YAML::Node after = YAML::Clone(before);
    set(after, row.path, row.value);
    ASSERT_NE(emit(old_value), emit(find(after, row.path))) << "the row's value is the file's value";

    const auto running = files.load("before.yaml", before);
    const auto next = files.load("after.yaml", after);
    ASSERT_TRUE(running && next);
    EXPECT_EQ(diff_config(*running, *next), (std::vector<config_change>{{std::string(row.key), row.effect}}));

    // In force after the reload: the new value of a live key, the running
    // value of a restart-only one; nothing else moves.
    const config in_force = effective_config(*running, *next);
    if (row.effect == live) {
      EXPECT_EQ(diff_config(in_force, *next), std::vector<config_change>{});
    } else {
      EXPECT_EQ(diff_config(*running, in_force), std::vector<config_change>{});
    }
  }
}

TEST(ConfigDiff, TheSameFileGivesNoChange) {
  const config_files files;
  const auto original = load_config(reference_file());
  ASSERT_TRUE(original.cfg);
  // The copies the table test writes read as the reference file does.
  const auto copy = files.load("copy.yaml", YAML::LoadFile(reference_file().string()));
  ASSERT_TRUE(copy);
  EXPECT_EQ(diff_config(*original.cfg, *copy), std::vector<config_change>{});
  EXPECT_EQ(diff_config(*original.cfg, *original.cfg), std::vector<config_change>{});
}

TEST(ConfigDiff, MovingRulesInTheFileIsNoChange) {
  const config_files files;
  std::ifstream in(reference_file(), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto running = files.load_text("before.yaml", text);
  const auto next = files.load_text("after.yaml", "# a comment\n# and another\n" + text);
  ASSERT_TRUE(running && next);
  ASSERT_FALSE(running->rules.empty());
  ASSERT_NE(running->rules[0].line, next->rules[0].line);
  EXPECT_EQ(diff_config(*running, *next), std::vector<config_change>{});
}

TEST(ConfigDiff, ChangesComeInFileOrder) {
  const config_files files;
  const auto running = files.load("before.yaml", base_document());
  ASSERT_TRUE(running);
  config next = *running;
  next.admin.max_inbox_depth = 5;
  next.logging.level = "warn";
  next.storage.database = "/srv/state.db";
  next.rules.clear();
  next.psa.site = "au";
  next.psa.request_timeout = 5s;
  const std::vector<config_change> changes = diff_config(*running, next);
  EXPECT_EQ(changes, (std::vector<config_change>{{"psa.site", restart},
                                                 {"psa.timeouts.request", live},
                                                 {"rules", live},
                                                 {"storage.database", restart},
                                                 {"logging.level", live},
                                                 {"admin.max_inbox_depth", live}}));
  EXPECT_EQ(ts::config::describe(changes, restart), "psa.site, storage.database");
  EXPECT_EQ(ts::config::describe(changes, live), "psa.timeouts.request, rules, logging.level, admin.max_inbox_depth");
  EXPECT_EQ(ts::config::describe({}, live), "");
}

//------------------------------------------------------------------------------
// effective_config

class EffectiveConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto loaded = files_.load("running.yaml", base_document());
    ASSERT_TRUE(loaded);
    running_ = *loaded;
    next_ = running_;
    next_.source_path = (files_.path() / "next.yaml").string();
  }

  config_files files_;
  config running_;
  config next_;
};

TEST_F(EffectiveConfig, RestartOnlyValuesComeFromRunningLiveOnesFromNext) {
  // restart-only
  next_.psa.site = "eu";
  next_.psa.company_id = "other";
  next_.psa.public_key = "other-key";
  next_.psa.private_key = {secret_ref::kind::file, "/etc/ticketsync/other.key"};
  next_.psa.client_id = "11111111-1111-1111-1111-111111111111";
  next_.psa.api_version = "2024.1";
  next_.psa.codebase = "v2024_1/";
  next_.psa.ca_file = "/etc/ssl/private-ca.pem";
  next_.storage.database = "/srv/state.db";
  next_.intake.spool_dir = "/srv/spool";
  next_.logging.fmt = ts::config::logging_config::format::json;
  next_.admin.socket = "/run/other.sock";
  next_.admin.socket_mode = 0600;
  next_.admin.socket_group = "wheel";
  next_.admin.listen = "127.0.0.1:9999";
  next_.admin.max_body_bytes = 4096;
  next_.admin.max_connections = 2;
  // live
  next_.psa.connect_timeout = 1s;
  next_.psa.handshake_timeout = 2s;
  next_.psa.request_timeout = 3s;
  next_.psa.max_response_bytes = 1024;
  next_.psa.max_connections = 1;
  next_.psa.requests_per_minute = 60;
  next_.companies.default_company = "Other";
  next_.ticket.board = "Other Board";
  next_.rules.pop_back();
  next_.storm.max_new_tickets_per_hour = 1;
  next_.intake.max_event_bytes = 2048;
  next_.intake.batch_size = 1;
  next_.intake.rescan_interval = 1s;
  next_.logging.level = "trace";
  next_.admin.token = {secret_ref::kind::env, "ADMIN_TOKEN"};
  next_.admin.max_inbox_depth = 1;

  const config in_force = effective_config(running_, next_);

  EXPECT_EQ(in_force.psa.site, running_.psa.site);
  EXPECT_EQ(in_force.psa.company_id, running_.psa.company_id);
  EXPECT_EQ(in_force.psa.public_key, running_.psa.public_key);
  EXPECT_EQ(in_force.psa.private_key, running_.psa.private_key);
  EXPECT_EQ(in_force.psa.client_id, running_.psa.client_id);
  EXPECT_EQ(in_force.psa.api_version, running_.psa.api_version);
  EXPECT_EQ(in_force.psa.codebase, running_.psa.codebase);
  EXPECT_EQ(in_force.psa.ca_file, running_.psa.ca_file);
  EXPECT_EQ(in_force.storage.database, running_.storage.database);
  EXPECT_EQ(in_force.intake.spool_dir, running_.intake.spool_dir);
  EXPECT_EQ(in_force.logging.fmt, running_.logging.fmt);
  EXPECT_EQ(in_force.admin.socket, running_.admin.socket);
  EXPECT_EQ(in_force.admin.socket_mode, running_.admin.socket_mode);
  EXPECT_EQ(in_force.admin.socket_group, running_.admin.socket_group);
  EXPECT_EQ(in_force.admin.listen, running_.admin.listen);
  EXPECT_EQ(in_force.admin.max_body_bytes, running_.admin.max_body_bytes);
  EXPECT_EQ(in_force.admin.max_connections, running_.admin.max_connections);

  EXPECT_EQ(in_force.psa.connect_timeout, 1s);
  EXPECT_EQ(in_force.psa.handshake_timeout, 2s);
  EXPECT_EQ(in_force.psa.request_timeout, 3s);
  EXPECT_EQ(in_force.psa.max_response_bytes, 1024u);
  EXPECT_EQ(in_force.psa.max_connections, 1);
  EXPECT_EQ(in_force.psa.requests_per_minute, 60);
  EXPECT_EQ(in_force.companies, next_.companies);
  EXPECT_EQ(in_force.ticket, next_.ticket);
  ASSERT_EQ(in_force.rules.size(), next_.rules.size());
  EXPECT_EQ(in_force.storm, next_.storm);
  EXPECT_EQ(in_force.intake.max_event_bytes, 2048u);
  EXPECT_EQ(in_force.intake.batch_size, 1u);
  EXPECT_EQ(in_force.intake.rescan_interval, 1s);
  EXPECT_EQ(in_force.logging.level, "trace");
  EXPECT_EQ(in_force.admin.token, next_.admin.token);
  EXPECT_EQ(in_force.admin.max_inbox_depth, 1u);
  EXPECT_EQ(in_force.source_path, next_.source_path);

  // What is in force is what diff_config calls live.
  EXPECT_EQ(diff_config(in_force, next_).size(), 17u);
  for (const config_change& c : diff_config(in_force, next_)) EXPECT_EQ(c.effect, restart) << c.key;
  for (const config_change& c : diff_config(running_, in_force)) EXPECT_EQ(c.effect, live) << c.key;
}

TEST_F(EffectiveConfig, NothingChangedIsTheNextConfiguration) {
  const config in_force = effective_config(running_, next_);
  EXPECT_EQ(diff_config(in_force, next_), std::vector<config_change>{});
  EXPECT_EQ(in_force.source_path, next_.source_path);
}

TEST_F(EffectiveConfig, ATcpListenerKeptUntilTheRestartKeepsItsToken) {
  ASSERT_FALSE(running_.admin.listen.empty());
  ASSERT_NE(running_.admin.token.from, secret_ref::kind::none);
  // A valid file: no listener, so no token.
  next_.admin.listen.clear();
  next_.admin.token = {};

  const config in_force = effective_config(running_, next_);
  EXPECT_EQ(in_force.admin.listen, running_.admin.listen);
  EXPECT_EQ(in_force.admin.token, running_.admin.token);
  // Neither is applied, so neither is reported live.
  EXPECT_EQ(diff_config(running_, next_),
            (std::vector<config_change>{{"admin.listen", restart}, {"admin.token", restart}}));
}

TEST_F(EffectiveConfig, ATokenForAListenerNotYetOpenIsTakenAsItIs) {
  running_.admin.listen.clear();
  running_.admin.token = {};
  const config in_force = effective_config(running_, next_);
  EXPECT_EQ(in_force.admin.listen, "");
  EXPECT_EQ(in_force.admin.token, next_.admin.token);
  EXPECT_EQ(diff_config(running_, next_),
            (std::vector<config_change>{{"admin.listen", restart}, {"admin.token", live}}));
}

TEST(ConfigDiff, ReloadEffectNames) { ts::test::expect_bijective_table<reload_effect>(2); }

}  // namespace
