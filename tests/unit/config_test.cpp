// Tests of the configuration module: the YAML loader (every field, defaults,
// each kind of error with its exact file:line:col, many errors at once,
// relative paths), secret resolution, and the two configuration files shipped
// in config/, which must always load cleanly.

#include "config/config.hpp"
#include "config/config_loader.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>  // mkdtemp, setenv, unsetenv (POSIX)

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ts::config::config;
using ts::config::config_error;
using ts::config::load_config;
using ts::config::load_config_from_string;
using ts::config::load_result;
using ts::config::on_resolve_policy;
using ts::config::on_update_policy;
using ts::config::resolve_secret;
using ts::config::secret_ref;

// A directory under the system temp dir, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "ts-config-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const fs::path& path() const noexcept { return path_; }

  fs::path write(const std::string& name, std::string_view content) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  fs::path path_;
};

// Sets an environment variable for the scope of a test.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (value != nullptr)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~scoped_env() { unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
};

// Every key set, none to its default. Line numbers are used by the error table.
constexpr std::string_view full_config =
    "psa:\n"                                                  //  1
    "  site: https://cw.example.net:8443/\n"                  //  2
    "  company_id: acme-msp\n"                                //  3
    "  public_key: pub-123\n"                                 //  4
    "  private_key:\n"                                        //  5
    "    file: secrets/private.key\n"                         //  6
    "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n"     //  7
    "  api_version: \"2024.1\"\n"                             //  8
    "  codebase: v2024_1/\n"                                  //  9
    "  ca_file: tls/ca.pem\n"                                 // 10
    "  timeouts:\n"                                           // 11
    "    connect: 5s\n"                                       // 12
    "    handshake: 1500ms\n"                                 // 13
    "    request: 2m\n"                                       // 14
    "  max_response_size: 4MiB\n"                             // 15
    "  max_connections: 8\n"                                  // 16
    "  requests_per_minute: 300\n"                            // 17
    "companies:\n"                                            // 18
    "  default: MSPInternal\n"                                // 19
    "  tenants:\n"                                            // 20
    "    tenant-a: AcmeCorp\n"                                // 21
    "    tenant-b: Globex\n"                                  // 22
    "ticket:\n"                                               // 23
    "  board: Security Incidents\n"                           // 24
    "  status: New\n"                                         // 25
    "  priority: Priority 2 - Quick Response\n"               // 26
    "  summary: \"{{title}}\"\n"                              // 27
    "  description: \"Seen by {{source}}\"\n"                 // 28
    "storage:\n"                                              // 29
    "  database: data/state.db\n"                             // 30
    "intake:\n"                                               // 31
    "  spool_dir: /srv/spool\n"                               // 32
    "  max_event_size: 64KiB\n"                               // 33
    "  rescan_interval: 1h\n"                                 // 34
    "  batch_size: 100\n"                                     // 35
    "logging:\n"                                              // 36
    "  level: debug\n";                                       // 37

constexpr std::string_view minimal_config =
    "psa:\n"
    "  site: na\n"
    "  company_id: c\n"
    "  public_key: p\n"
    "  private_key: {env: TS_KEY}\n"
    "  client_id: id\n"
    "companies:\n"
    "  default: X\n"
    "ticket:\n"
    "  board: B\n"
    "  status: S\n"
    "  priority: P\n";

const std::string config_name = "/etc/ts/ticketsync.yaml";

// `text` with its only occurrence of `from` replaced by `to`.
std::string replace_once(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const std::size_t at = out.find(from);
  if (at == std::string::npos || out.find(from, at + 1) != std::string::npos) {
    ADD_FAILURE() << "'" << from << "' must occur exactly once";
    return out;
  }
  return out.replace(at, from.size(), to);
}

std::string all_errors(const load_result& r) {
  std::string out;
  for (const config_error& e : r.errors) out += e.to_string() + "\n";
  return out;
}

config load_ok(std::string_view text, const std::string& name = config_name) {
  load_result r = load_config_from_string(text, name);
  EXPECT_TRUE(r.errors.empty()) << all_errors(r);
  EXPECT_TRUE(r.cfg.has_value());
  return r.cfg.value_or(config{});
}

//------------------------------------------------------------------------------
// Valid configurations

TEST(ConfigLoader, FullConfigSetsEveryField) {
  const config cfg = load_ok(full_config);
  EXPECT_EQ(cfg.source_path, config_name);

  EXPECT_EQ(cfg.psa.site, "https://cw.example.net:8443/");
  EXPECT_EQ(cfg.psa.company_id, "acme-msp");
  EXPECT_EQ(cfg.psa.public_key, "pub-123");
  EXPECT_EQ(cfg.psa.private_key.from, secret_ref::kind::file);
  EXPECT_EQ(cfg.psa.private_key.ref, "/etc/ts/secrets/private.key");
  EXPECT_EQ(cfg.psa.client_id, "2f4b7c9e-1111-4a4a-9c9c-000000000001");
  EXPECT_EQ(cfg.psa.api_version, "2024.1");
  EXPECT_EQ(cfg.psa.codebase, "v2024_1/");
  EXPECT_EQ(cfg.psa.ca_file, "/etc/ts/tls/ca.pem");
  EXPECT_EQ(cfg.psa.connect_timeout, 5s);
  EXPECT_EQ(cfg.psa.handshake_timeout, 1500ms);
  EXPECT_EQ(cfg.psa.request_timeout, 2min);
  EXPECT_EQ(cfg.psa.max_response_bytes, 4u << 20);
  EXPECT_EQ(cfg.psa.max_connections, 8);
  EXPECT_DOUBLE_EQ(cfg.psa.requests_per_minute, 300);

  EXPECT_EQ(cfg.companies.default_company, "MSPInternal");
  const std::map<std::string, std::string> tenants{{"tenant-a", "AcmeCorp"}, {"tenant-b", "Globex"}};
  EXPECT_EQ(cfg.companies.tenants, tenants);

  EXPECT_EQ(cfg.ticket.board, "Security Incidents");
  EXPECT_EQ(cfg.ticket.status, "New");
  for (auto sev : {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low,
                   ts::severity::info})
    EXPECT_EQ(cfg.ticket.priority.at(sev), "Priority 2 - Quick Response");
  EXPECT_EQ(cfg.ticket.summary_template, "{{title}}");
  EXPECT_EQ(cfg.ticket.description_template, "Seen by {{source}}");

  EXPECT_EQ(cfg.storage.database, "/etc/ts/data/state.db");
  EXPECT_EQ(cfg.intake.spool_dir, "/srv/spool");
  EXPECT_EQ(cfg.intake.max_event_bytes, 64u << 10);
  EXPECT_EQ(cfg.intake.rescan_interval, 1h);
  EXPECT_EQ(cfg.intake.batch_size, 100u);
  EXPECT_EQ(cfg.logging.level, "debug");
}

// The ticket section's lifecycle keys: priority by severity, statuses, note
// templates and policies.
constexpr std::string_view lifecycle_config = R"(psa:
  site: na
  company_id: c
  public_key: p
  private_key: {env: K}
  client_id: id
companies: {default: X}
ticket:
  board: B
  status: New
  closed_status: Resolved
  reopen_status: Reopened
  priority:
    critical: P1
    high: P2
    medium: P3
    low: P4
    info: P5
  notes:
    update: "u {{changes}}"
    resolve: ""
    reopen: "r"
  lifecycle:
    on_update: note
    on_resolve: ignore
    reopen_window: 2d
)";

TEST(ConfigLoader, LifecycleKeysAreRead) {
  const config cfg = load_ok(lifecycle_config);
  EXPECT_EQ(cfg.ticket.closed_status, "Resolved");
  EXPECT_EQ(cfg.ticket.effective_reopen_status(), "Reopened");
  const std::map<ts::severity, std::string> prio{{ts::severity::critical, "P1"}, {ts::severity::high, "P2"},
                                                 {ts::severity::medium, "P3"},   {ts::severity::low, "P4"},
                                                 {ts::severity::info, "P5"}};
  EXPECT_EQ(cfg.ticket.priority, prio);
  EXPECT_EQ(cfg.ticket.update_note_template, "u {{changes}}");
  EXPECT_EQ(cfg.ticket.resolve_note_template, "");
  EXPECT_EQ(cfg.ticket.reopen_note_template, "r");
  EXPECT_EQ(cfg.ticket.lifecycle.on_update, on_update_policy::note);
  EXPECT_EQ(cfg.ticket.lifecycle.on_resolve, on_resolve_policy::ignore);
  EXPECT_EQ(cfg.ticket.lifecycle.reopen_window, std::chrono::hours{48});
}

TEST(ConfigLoader, LifecycleDefaults) {
  std::string text(lifecycle_config);
  text = text.substr(0, text.find("  closed_status")) + "  priority: P3\n";
  const config cfg = load_ok(text);
  EXPECT_EQ(cfg.ticket.closed_status, "Closed");
  EXPECT_EQ(cfg.ticket.effective_reopen_status(), "New");
  EXPECT_EQ(cfg.ticket.lifecycle.on_update, on_update_policy::patch);
  EXPECT_EQ(cfg.ticket.lifecycle.on_resolve, on_resolve_policy::close);
  EXPECT_EQ(cfg.ticket.lifecycle.reopen_window, std::chrono::hours{24 * 7});
  EXPECT_FALSE(cfg.ticket.resolve_note_template.empty());
}

TEST(ConfigLoader, ReopenWindowZeroMeansAlwaysANewTicket) {
  std::string text(lifecycle_config);
  text.replace(text.find("2d"), 2, "0");
  EXPECT_EQ(load_ok(text).ticket.lifecycle.reopen_window, std::chrono::milliseconds{0});
}

TEST(ConfigLoader, LifecycleMistakesAreReportedWithPositions) {
  struct mistake {
    std::string from, to;
    int line, col;
    std::string message;
  };
  const std::vector<mistake> mistakes = {
      {"    high: P2\n", "", 14, 5, "missing required key 'ticket.priority.high'"},
      {"on_update: note", "on_update: overwrite", 24, 16, "must be one of patch, note, ignore"},
      {"on_resolve: ignore", "on_resolve: delete", 25, 17, "must be one of close, note, ignore"},
      {"reopen_window: 2d", "reopen_window: 2w", 26, 20, "expected a duration"},
      {"    reopen: \"r\"", "    reopn: \"r\"", 22, 5, "did you mean 'reopen'?"},
      {"  closed_status: Resolved", "  closed_status: \"\"", 11, 18, "must not be empty"},
  };
  for (const auto& m : mistakes) {
    std::string text(lifecycle_config);
    const auto at = text.find(m.from);
    ASSERT_NE(at, std::string::npos) << m.from;
    text.replace(at, m.from.size(), m.to);
    const load_result r = load_config_from_string(text, config_name);
    ASSERT_FALSE(r.errors.empty()) << m.to;
    EXPECT_EQ(r.errors[0].line, m.line) << m.to << ": " << r.errors[0].to_string();
    EXPECT_EQ(r.errors[0].column, m.col) << m.to << ": " << r.errors[0].to_string();
    EXPECT_NE(r.errors[0].message.find(m.message), std::string::npos) << r.errors[0].to_string();
  }
}

TEST(ConfigLoader, DefaultsApplyWhenOptionalKeysAreMissing) {
  const config cfg = load_ok(minimal_config);
  const config defaults;

  EXPECT_EQ(cfg.psa.private_key.from, secret_ref::kind::env);
  EXPECT_EQ(cfg.psa.private_key.ref, "TS_KEY");
  EXPECT_EQ(cfg.psa.api_version, defaults.psa.api_version);
  EXPECT_EQ(cfg.psa.codebase, defaults.psa.codebase);
  EXPECT_EQ(cfg.psa.ca_file, defaults.psa.ca_file);
  EXPECT_EQ(cfg.psa.connect_timeout, defaults.psa.connect_timeout);
  EXPECT_EQ(cfg.psa.handshake_timeout, defaults.psa.handshake_timeout);
  EXPECT_EQ(cfg.psa.request_timeout, defaults.psa.request_timeout);
  EXPECT_EQ(cfg.psa.max_response_bytes, defaults.psa.max_response_bytes);
  EXPECT_EQ(cfg.psa.max_connections, defaults.psa.max_connections);
  EXPECT_EQ(cfg.psa.requests_per_minute, defaults.psa.requests_per_minute);
  EXPECT_TRUE(cfg.companies.tenants.empty());
  EXPECT_EQ(cfg.ticket.summary_template, defaults.ticket.summary_template);
  EXPECT_EQ(cfg.ticket.description_template, defaults.ticket.description_template);
  EXPECT_EQ(cfg.ticket.closed_status, defaults.ticket.closed_status);
  EXPECT_EQ(cfg.ticket.reopen_status, defaults.ticket.reopen_status);
  EXPECT_EQ(cfg.ticket.update_note_template, defaults.ticket.update_note_template);
  EXPECT_EQ(cfg.ticket.resolve_note_template, defaults.ticket.resolve_note_template);
  EXPECT_EQ(cfg.ticket.reopen_note_template, defaults.ticket.reopen_note_template);
  EXPECT_EQ(cfg.ticket.lifecycle.on_update, defaults.ticket.lifecycle.on_update);
  EXPECT_EQ(cfg.ticket.lifecycle.on_resolve, defaults.ticket.lifecycle.on_resolve);
  EXPECT_EQ(cfg.ticket.lifecycle.reopen_window, defaults.ticket.lifecycle.reopen_window);
  EXPECT_EQ(cfg.storage.database, defaults.storage.database);
  EXPECT_EQ(cfg.intake.spool_dir, defaults.intake.spool_dir);
  EXPECT_EQ(cfg.intake.max_event_bytes, defaults.intake.max_event_bytes);
  EXPECT_EQ(cfg.intake.rescan_interval, defaults.intake.rescan_interval);
  EXPECT_EQ(cfg.intake.batch_size, defaults.intake.batch_size);
  EXPECT_EQ(cfg.logging.level, defaults.logging.level);
}

TEST(ConfigLoader, NullOptionalValuesKeepTheirDefaults) {
  const config cfg = load_ok(std::string(minimal_config) + "storage:\n  database:\nlogging: ~\n");
  EXPECT_EQ(cfg.storage.database, config{}.storage.database);
  EXPECT_EQ(cfg.logging.level, "info");
}

TEST(ConfigLoader, AcceptsEveryRegionAndHttpsForms) {
  for (const char* site : {"na", "eu", "au", "aus", "za", "staging", "https://cw.example.net",
                           "https://cw.example.net/", "https://localhost:18443", "https://127.0.0.1:8443/",
                           "https://[::1]:8443"}) {
    SCOPED_TRACE(site);
    const config cfg = load_ok(replace_once(minimal_config, "site: na", std::string("site: \"") + site + "\""));
    EXPECT_EQ(cfg.psa.site, site);
  }
}

TEST(ConfigLoader, TenantsAloneAreEnough) {
  const config cfg =
      load_ok(replace_once(minimal_config, "  default: X\n", "  tenants:\n    \"12345\": Contoso\n"));
  EXPECT_EQ(cfg.companies.default_company, "");
  EXPECT_EQ(cfg.companies.tenants.at("12345"), "Contoso");
}

TEST(ConfigLoader, SizesAndDurationsInEveryUnit) {
  std::string text(minimal_config);
  text +=
      "intake:\n"
      "  max_event_size: 1048576\n"
      "  rescan_interval: 250ms\n";
  text = replace_once(text, "  client_id: id\n",
                      "  client_id: id\n"
                      "  max_response_size: 1GiB\n"
                      "  timeouts: {connect: 3m, handshake: 2s, request: 1h}\n"
                      "  requests_per_minute: 0.5\n");
  const config cfg = load_ok(text);
  EXPECT_EQ(cfg.intake.max_event_bytes, 1048576u);
  EXPECT_EQ(cfg.intake.rescan_interval, 250ms);
  EXPECT_EQ(cfg.psa.max_response_bytes, std::size_t{1} << 30);
  EXPECT_EQ(cfg.psa.connect_timeout, 3min);
  EXPECT_EQ(cfg.psa.handshake_timeout, 2s);
  EXPECT_EQ(cfg.psa.request_timeout, 1h);
  EXPECT_DOUBLE_EQ(cfg.psa.requests_per_minute, 0.5);
}

//------------------------------------------------------------------------------
// One mistake at a time: exact position and message

struct error_case {
  const char* label;
  std::string_view from;  ///< replaced in full_config (exactly one occurrence)
  std::string_view to;
  int line;
  int column;
  const char* fragment;   ///< expected somewhere in the message
};

const error_case error_cases[] = {
    // YAML syntax
    {"syntax error", "  board: Security Incidents", "  board: [Security Incidents", 25, 9,
     "YAML syntax error: end of sequence flow not found"},
    // unknown keys
    {"unknown key with suggestion", "  max_connections: 8", "  max_conections: 8", 16, 3,
     "unknown key 'max_conections' in 'psa'; did you mean 'max_connections'?"},
    {"unknown top-level key", "logging:", "colour: red\nlogging:", 36, 1, "unknown key 'colour' at the top level"},
    {"unknown key in private_key", "    file: secrets/private.key", "    file: secrets/private.key\n    mode: 0600",
     7, 5, "unknown key 'mode' in 'psa.private_key'"},
    {"two documents", "logging:", "---\nlogging:", 37, 1, "more than one YAML document"},
    {"duplicate key", "  status: New", "  status: New\n  status: Open", 26, 3,
     "duplicate key 'ticket.status' (first defined at line 25)"},
    // wrong types
    {"section not a mapping", "storage:\n  database: data/state.db", "storage: data/state.db", 29, 10,
     "storage: expected a mapping, got a scalar value"},
    {"list instead of string", "  board: Security Incidents", "  board: [Security, Incidents]", 24, 10,
     "ticket.board: expected a string, got a list"},
    {"word instead of integer", "  max_connections: 8", "  max_connections: eight", 16, 20,
     "psa.max_connections: expected an integer, got 'eight'"},
    {"tenants not a mapping", "  tenants:\n    tenant-a: AcmeCorp\n    tenant-b: Globex", "  tenants: [AcmeCorp]", 20,
     12, "companies.tenants: expected a mapping, got a list"},
    {"word instead of number", "  requests_per_minute: 300", "  requests_per_minute: lots", 17, 24,
     "expected a number"},
    // missing required keys
    {"missing required key", "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n", "", 2, 3,
     "missing required key 'psa.client_id'"},
    {"missing required section",
     "ticket:\n  board: Security Incidents\n  status: New\n  priority: Priority 2 - Quick Response\n"
     "  summary: \"{{title}}\"\n  description: \"Seen by {{source}}\"\n",
     "", 1, 1, "missing required key 'ticket'"},
    {"required key without value", "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001", "  client_id:", 7, 3,
     "psa.client_id: a value is required"},
    {"required key empty", "  company_id: acme-msp", "  company_id: \"\"", 3, 15,
     "psa.company_id: must not be empty"},
    // invalid values
    {"plain http site", "  site: https://cw.example.net:8443/", "  site: http://cw.example.net", 2, 9,
     "TLS is required"},
    {"unknown region", "  site: https://cw.example.net:8443/", "  site: mars", 2, 9,
     "must be one of na, eu, au, aus, za, staging, or an https:// URL"},
    {"site with a path", "  site: https://cw.example.net:8443/", "  site: https://cw.example.net/v4_6_release/apis",
     2, 9, "no path"},
    {"site with a bad port", "  site: https://cw.example.net:8443/", "  site: https://cw.example.net:99999", 2, 9,
     "port must be a number from 1 to 65535"},
    {"api version format", "  api_version: \"2024.1\"", "  api_version: \"v2024\"", 8, 16, "YYYY.N"},
    {"codebase without slash", "  codebase: v2024_1/", "  codebase: v2024_1", 9, 13, "must end with '/'"},
    {"duration without unit", "    connect: 5s", "    connect: 5", 12, 14, "needs a unit"},
    {"duration of zero", "    request: 2m", "    request: 0s", 14, 14, "greater than zero"},
    {"duration with unknown unit", "    handshake: 1500ms", "    handshake: 2w", 13, 16, "expected a duration"},
    {"size with unknown unit", "  max_response_size: 4MiB", "  max_response_size: 4MB", 15, 22, "expected a size"},
    {"size of zero", "  max_response_size: 4MiB", "  max_response_size: 0", 15, 22, "must be greater than zero"},
    {"event size too large", "  max_event_size: 64KiB", "  max_event_size: 32MiB", 33, 19,
     "must be between 1KiB and 16MiB"},
    {"event size too small", "  max_event_size: 64KiB", "  max_event_size: 1000", 33, 19,
     "must be between 1KiB and 16MiB"},
    {"too many connections", "  max_connections: 8", "  max_connections: 65", 16, 20, "must be between 1 and 64"},
    {"no connections", "  max_connections: 8", "  max_connections: 0", 16, 20, "must be between 1 and 64"},
    {"request rate zero", "  requests_per_minute: 300", "  requests_per_minute: 0", 17, 24, "greater than 0"},
    {"request rate too high", "  requests_per_minute: 300", "  requests_per_minute: 700000", 17, 24,
     "at most 600000"},
    {"batch size zero", "  batch_size: 100", "  batch_size: 0", 35, 15, "must be between 1 and 10000"},
    {"unknown log level", "  level: debug", "  level: verbose", 37, 10, "trace, debug, info, warn, error"},
    {"empty summary", "  summary: \"{{title}}\"", "  summary: \"\"", 27, 12, "ticket.summary: must not be empty"},
    {"default company too long", "  default: MSPInternal", "  default: ThisCompanyIdentifierIsWayTooLong", 19, 12,
     "ConnectWise allows at most 30"},
    {"tenant company empty", "    tenant-b: Globex", "    tenant-b: \"\"", 22, 15,
     "companies.tenants.tenant-b: company identifier must not be empty"},
    {"no default and no tenants", "  default: MSPInternal\n  tenants:\n    tenant-a: AcmeCorp\n    tenant-b: Globex\n",
     "  tenants: {}\n", 19, 3, "companies: needs a 'default' company or at least one entry under 'tenants'"},
    {"empty database path", "  database: data/state.db", "  database: \"\"", 30, 13,
     "storage.database: must not be empty"},
    // the private key
    {"private key inline", "  private_key:\n    file: secrets/private.key", "  private_key: s3cr3t-value", 5, 16,
     "must not be written inline; reference it with 'file: PATH'"},
    {"private key file and env", "    file: secrets/private.key", "    file: secrets/private.key\n    env: TS_KEY", 6,
     5, "psa.private_key: give exactly one of 'file' or 'env', not both"},
    {"private key neither", "  private_key:\n    file: secrets/private.key", "  private_key: {}", 5, 16,
     "psa.private_key: needs 'file: PATH' or 'env: NAME'"},
    {"private key env name", "    file: secrets/private.key", "    env: 1BAD", 6, 10,
     "expected an environment variable name"},
    {"private key list", "  private_key:\n    file: secrets/private.key", "  private_key: [a]", 5, 16,
     "expected a mapping with 'file' or 'env', got a list"},
};

TEST(ConfigLoader, EachErrorKindHasItsPositionAndMessage) {
  for (const error_case& c : error_cases) {
    SCOPED_TRACE(c.label);
    const load_result r = load_config_from_string(replace_once(full_config, c.from, c.to), "cfg.yaml");
    EXPECT_FALSE(r.cfg.has_value());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const config_error& e = r.errors.front();
    EXPECT_EQ(e.file, "cfg.yaml");
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_EQ(e.column, c.column) << e.to_string();
    EXPECT_NE(e.message.find(c.fragment), std::string::npos) << e.to_string();
    EXPECT_EQ(e.to_string().rfind("cfg.yaml:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ", 0),
              0u)
        << e.to_string();
  }
}

TEST(ConfigLoader, TenMistakesAreAllReportedInFileOrder) {
  constexpr std::string_view text =
      "psa:\n"                                              //  1
      "  site: http://cw.example.net\n"                     //  2  plain http
      "  company_id: acme\n"                                //  3
      "  public_key: pub\n"                                 //  4
      "  private_key: inline-secret\n"                      //  5  inline secret
      "  client_id: id\n"                                   //  6
      "  max_connections: 0\n"                              //  7  out of range
      "  timeouts:\n"                                       //  8
      "    conect: 5s\n"                                    //  9  misspelt key
      "companies:\n"                                        // 10
      "  default: ThisCompanyIdentifierIsWayTooLong\n"      // 11  too long
      "ticket:\n"                                           // 12
      "  board: Security Incidents\n"                       // 13
      "  status: New\n"                                     // 14
      "  priority: [P1]\n"                                  // 15  wrong type
      "storage:\n"                                          // 16
      "  database: \"\"\n"                                  // 17  empty path
      "intake:\n"                                           // 18
      "  max_event_size: 1B\n"                              // 19  below 1KiB
      "  rescan_interval: 30\n"                             // 20  no unit
      "loging:\n"                                           // 21  misspelt section
      "  level: info\n";                                    // 22
  struct expected {
    int line;
    int column;
    const char* fragment;
  };
  const expected want[] = {
      {2, 9, "TLS is required"},
      {5, 16, "must not be written inline"},
      {7, 20, "must be between 1 and 64"},
      {9, 5, "unknown key 'conect' in 'psa.timeouts'; did you mean 'connect'?"},
      {11, 12, "at most 30"},
      {15, 13, "ticket.priority: expected a string, got a list"},
      {17, 13, "storage.database: must not be empty"},
      {19, 19, "must be between 1KiB and 16MiB"},
      {20, 20, "needs a unit"},
      {21, 1, "unknown key 'loging' at the top level; did you mean 'logging'?"},
  };
  const load_result r = load_config_from_string(text, "ten.yaml");
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.errors.size(), std::size(want)) << all_errors(r);
  for (std::size_t i = 0; i < std::size(want); ++i) {
    SCOPED_TRACE(r.errors[i].to_string());
    EXPECT_EQ(r.errors[i].line, want[i].line);
    EXPECT_EQ(r.errors[i].column, want[i].column);
    EXPECT_NE(r.errors[i].message.find(want[i].fragment), std::string::npos);
  }
}

TEST(ConfigLoader, SuggestsTheClosestKnownKey) {
  const struct {
    std::string_view from, to;
    const char* message;
  } cases[] = {
      {"  status: New", "  stauts: New", "unknown key 'stauts' in 'ticket'; did you mean 'status'?"},
      {"    request: 2m", "    requests: 2m", "unknown key 'requests' in 'psa.timeouts'; did you mean 'request'?"},
      {"  batch_size: 100", "  batchsize: 100", "unknown key 'batchsize' in 'intake'; did you mean 'batch_size'?"},
      {"companies:", "compaines:", "unknown key 'compaines' at the top level; did you mean 'companies'?"},
      {"  board: Security Incidents", "  Board: Security Incidents",  // keys are case-sensitive
       "unknown key 'Board' in 'ticket'; did you mean 'board'?"},
      {"  level: debug", "  colour: debug", "unknown key 'colour' in 'logging'"},  // nothing close
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    const load_result r = load_config_from_string(replace_once(full_config, c.from, c.to), "cfg.yaml");
    bool found = false;
    for (const config_error& e : r.errors) found = found || e.message == c.message;
    EXPECT_TRUE(found) << all_errors(r);
  }
}

TEST(ConfigLoader, MissingRequiredKeyAlongsideItsMisspellingIsReportedToo) {
  const load_result r =
      load_config_from_string(replace_once(full_config, "  status: New", "  Status: New"), "cfg.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "cfg.yaml:24:3: missing required key 'ticket.status'");
  EXPECT_EQ(r.errors[1].to_string(), "cfg.yaml:25:3: unknown key 'Status' in 'ticket'; did you mean 'status'?");
}

TEST(ConfigLoader, InlinePrivateKeyIsNeverEchoed) {
  const load_result r = load_config_from_string(
      replace_once(full_config, "  private_key:\n    file: secrets/private.key", "  private_key: s3cr3t-value"),
      "cfg.yaml");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(all_errors(r).find("s3cr3t"), std::string::npos) << all_errors(r);
}

TEST(ConfigLoader, DocumentThatIsNotAMapping) {
  const load_result list = load_config_from_string("- psa\n- ticket\n", "list.yaml");
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_EQ(list.errors[0].to_string(), "list.yaml:1:1: expected a mapping of sections at the top level, got a list");

  const load_result empty = load_config_from_string("# nothing here\n", "empty.yaml");
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_EQ(empty.errors[0].line, 0);
  EXPECT_EQ(empty.errors[0].to_string().rfind("empty.yaml: the configuration is empty", 0), 0u);
}

TEST(ConfigLoader, SyntaxErrorIsOneErrorWithOneBasedPosition) {
  const load_result r = load_config_from_string("psa:\n  site: na\n\tcompany_id: x\n", "tab.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 1);
  EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos);
}

//------------------------------------------------------------------------------
// Files and relative paths

TEST(ConfigLoader, RelativePathsResolveAgainstTheConfigDirectory) {
  const std::string text = std::string(minimal_config) +
                           "storage:\n  database: ../state/db.sqlite\n"
                           "intake:\n  spool_dir: /var/spool/ts\n";
  const std::string with_file = replace_once(text, "{env: TS_KEY}", "{file: keys/private.key}");

  const config nested = load_ok(with_file, "/srv/ts/conf/ticketsync.yaml");
  EXPECT_EQ(nested.psa.private_key.ref, "/srv/ts/conf/keys/private.key");
  EXPECT_EQ(nested.storage.database, "/srv/ts/state/db.sqlite");
  EXPECT_EQ(nested.intake.spool_dir, "/var/spool/ts");  // absolute stays

  const config relative_name = load_ok(with_file, "conf/ticketsync.yaml");
  EXPECT_EQ(relative_name.psa.private_key.ref, "conf/keys/private.key");
  EXPECT_EQ(relative_name.storage.database, "state/db.sqlite");

  const config bare_name = load_ok(with_file, "ticketsync.yaml");
  EXPECT_EQ(bare_name.psa.private_key.ref, "keys/private.key");

  // An env reference is a name, not a path.
  const config env = load_ok(text, "/srv/ts/conf/ticketsync.yaml");
  EXPECT_EQ(env.psa.private_key.ref, "TS_KEY");
}

TEST(ConfigLoader, LoadsAFileAndResolvesAgainstItsDirectory) {
  const temp_dir dir;
  const fs::path file = dir.write("ticketsync.yaml", full_config);
  const load_result r = load_config(file);
  ASSERT_TRUE(r.cfg.has_value()) << all_errors(r);
  EXPECT_EQ(r.cfg->source_path, file.string());
  EXPECT_EQ(r.cfg->psa.private_key.ref, (dir.path() / "secrets/private.key").string());
  EXPECT_EQ(r.cfg->psa.ca_file, (dir.path() / "tls/ca.pem").string());
  EXPECT_EQ(r.cfg->storage.database, (dir.path() / "data/state.db").string());
}

TEST(ConfigLoader, ErrorsNameTheFileAsGiven) {
  const temp_dir dir;
  const fs::path file = dir.write("bad.yaml", replace_once(full_config, "  level: debug", "  level: loud"));
  const load_result r = load_config(file);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(),
            file.string() + ":37:10: logging.level: must be one of trace, debug, info, warn, error, got 'loud'");
}

TEST(ConfigLoader, MissingFileIsOneErrorWithoutPosition) {
  const temp_dir dir;
  const fs::path file = dir.path() / "absent.yaml";
  const load_result r = load_config(file);
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), file.string() + ": cannot read configuration: No such file or directory");
}

// The files shipped in config/ must always load: a broken example is a bug.
// They are found from this source file's path. __FILE__ is relative when the
// compiler ran in the build tree (Ninja runs it in the top build directory), so
// a relative one is tried against the ancestors of the test executable's
// directory and the working directory.
fs::path repo_config_dir() {
  const fs::path self(__FILE__);
  std::vector<fs::path> bases;
  if (!self.is_absolute()) {
    std::error_code ec;
    for (fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path(); !ec && !dir.empty();
         dir = dir.parent_path()) {
      bases.push_back(dir);
      if (dir == dir.root_path()) break;
    }
    bases.push_back(fs::current_path());
  } else {
    bases.push_back({});
  }
  for (const fs::path& base : bases) {
    const fs::path source = base / self;
    if (fs::exists(source)) return (source.parent_path() / "../../config").lexically_normal();
  }
  ADD_FAILURE() << "cannot locate " << self << " to find config/";
  return {};
}

TEST(ShippedConfigs, ReferenceLoadsAndDocumentsTheDefaults) {
  const fs::path file = repo_config_dir() / "ticketsync.yaml";
  const load_result r = load_config(file);
  ASSERT_TRUE(r.cfg.has_value()) << all_errors(r);
  const config& cfg = *r.cfg;
  const config defaults;
  // The reference promises that every optional value it shows is the default.
  EXPECT_EQ(cfg.psa.private_key.from, secret_ref::kind::file);
  EXPECT_EQ(cfg.psa.private_key.ref, "/etc/ticketsync/private.key");
  EXPECT_EQ(cfg.psa.api_version, defaults.psa.api_version);
  EXPECT_EQ(cfg.psa.codebase, defaults.psa.codebase);
  EXPECT_EQ(cfg.psa.ca_file, defaults.psa.ca_file);
  EXPECT_EQ(cfg.psa.connect_timeout, defaults.psa.connect_timeout);
  EXPECT_EQ(cfg.psa.handshake_timeout, defaults.psa.handshake_timeout);
  EXPECT_EQ(cfg.psa.request_timeout, defaults.psa.request_timeout);
  EXPECT_EQ(cfg.psa.max_response_bytes, defaults.psa.max_response_bytes);
  EXPECT_EQ(cfg.psa.max_connections, defaults.psa.max_connections);
  EXPECT_EQ(cfg.psa.requests_per_minute, defaults.psa.requests_per_minute);
  EXPECT_EQ(cfg.ticket.summary_template, defaults.ticket.summary_template);
  EXPECT_EQ(cfg.ticket.description_template, defaults.ticket.description_template);
  EXPECT_EQ(cfg.storage.database, defaults.storage.database);
  EXPECT_EQ(cfg.intake.spool_dir, defaults.intake.spool_dir);
  EXPECT_EQ(cfg.intake.max_event_bytes, defaults.intake.max_event_bytes);
  EXPECT_EQ(cfg.intake.rescan_interval, defaults.intake.rescan_interval);
  EXPECT_EQ(cfg.intake.batch_size, defaults.intake.batch_size);
  EXPECT_EQ(cfg.logging.level, defaults.logging.level);
}

TEST(ShippedConfigs, DemoLoadsAndPointsIntoBuildDemo) {
  const fs::path dir = repo_config_dir();
  const load_result r = load_config(dir / "demo.yaml");
  ASSERT_TRUE(r.cfg.has_value()) << all_errors(r);
  const config& cfg = *r.cfg;
  const fs::path demo = (dir / "../build/demo").lexically_normal();
  EXPECT_EQ(cfg.psa.site, "https://localhost:18443");
  EXPECT_EQ(cfg.psa.company_id, "demo");
  EXPECT_EQ(cfg.psa.public_key, "demo-public-key");
  EXPECT_EQ(cfg.psa.private_key.from, secret_ref::kind::env);
  EXPECT_EQ(cfg.psa.private_key.ref, "TICKETSYNC_DEMO_PRIVATE_KEY");
  EXPECT_EQ(cfg.psa.client_id, "2f4b7c9e-1111-4a4a-9c9c-000000000001");
  EXPECT_EQ(cfg.psa.ca_file, (demo / "tls/ca.pem").string());
  EXPECT_EQ(cfg.storage.database, (demo / "state.db").string());
  EXPECT_EQ(cfg.intake.spool_dir, (demo / "spool").string());
  const std::map<std::string, std::string> tenants{
      {"acme-prod", "AcmeCorp"}, {"globex", "Globex"}, {"initech", "Initech"}};
  EXPECT_EQ(cfg.companies.tenants, tenants);
  EXPECT_EQ(cfg.companies.default_company, "MSPInternal");
  EXPECT_EQ(cfg.ticket.board, "Security Incidents");
  EXPECT_EQ(cfg.ticket.status, "New");
  EXPECT_EQ(cfg.ticket.priority.at(ts::severity::critical), "Priority 1 - Emergency Response");
  EXPECT_EQ(cfg.ticket.priority.at(ts::severity::medium), "Priority 3 - Normal Response");
  EXPECT_EQ(cfg.ticket.closed_status, "Closed");
  EXPECT_EQ(cfg.ticket.effective_reopen_status(), "Reopened");
  EXPECT_EQ(cfg.ticket.summary_template, "[{{severity}}] {{title}}");
}

//------------------------------------------------------------------------------
// config_error and secrets

TEST(ConfigError, ToStringOmitsAnUnknownPosition) {
  EXPECT_EQ((config_error{"a.yaml", 3, 7, "bad"}).to_string(), "a.yaml:3:7: bad");
  EXPECT_EQ((config_error{"a.yaml", 0, 0, "unreadable"}).to_string(), "a.yaml: unreadable");
}

TEST(ResolveSecret, FileWithoutTrailingNewlines) {
  const temp_dir dir;
  const secret_ref ref{secret_ref::kind::file, dir.write("key", "s3cr3t\r\n\n").string()};
  std::string why;
  EXPECT_EQ(resolve_secret(ref, &why), "s3cr3t");
}

TEST(ResolveSecret, MissingEmptyOrUnreadableFileNamesThePath) {
  const temp_dir dir;
  const struct {
    fs::path path;
    const char* fragment;
  } cases[] = {
      {dir.path() / "absent", "No such file or directory"},
      {dir.write("empty", ""), "is empty"},
      {dir.write("newline-only", "\n"), "is empty"},
      {dir.path(), "Is a directory"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path.string());
    std::string why;
    EXPECT_EQ(resolve_secret({secret_ref::kind::file, c.path.string()}, &why), std::nullopt);
    EXPECT_NE(why.find(c.path.string()), std::string::npos) << why;
    EXPECT_NE(why.find(c.fragment), std::string::npos) << why;
  }
}

TEST(ResolveSecret, EnvironmentVariable) {
  const char* name = "TS_CONFIG_TEST_SECRET";
  {
    const scoped_env env(name, "from-env");
    std::string why;
    EXPECT_EQ(resolve_secret({secret_ref::kind::env, name}, &why), "from-env");
  }
  {
    const scoped_env env(name, nullptr);
    std::string why;
    EXPECT_EQ(resolve_secret({secret_ref::kind::env, name}, &why), std::nullopt);
    EXPECT_EQ(why, "environment variable 'TS_CONFIG_TEST_SECRET' is not set");
  }
  {
    const scoped_env env(name, "");
    std::string why;
    EXPECT_EQ(resolve_secret({secret_ref::kind::env, name}, &why), std::nullopt);
    EXPECT_EQ(why, "environment variable 'TS_CONFIG_TEST_SECRET' is empty");
  }
}

TEST(ResolveSecret, NothingConfigured) {
  std::string why;
  EXPECT_EQ(resolve_secret(secret_ref{}, &why), std::nullopt);
  EXPECT_FALSE(why.empty());
  EXPECT_EQ(resolve_secret(secret_ref{}, nullptr), std::nullopt);  // `why` is optional
}

}  // namespace
