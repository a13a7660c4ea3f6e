// Tests of the configuration module: the YAML loader (every field, defaults,
// each kind of error with its exact file:line:col, many errors at once,
// relative paths), secret resolution, and the two configuration files shipped
// in config/, which must always load cleanly.

#include "config/config.hpp"
#include "config/config_loader.hpp"
#include "support/enum_tables.hpp"
#include "support/scratch_dir.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>  // mkdtemp, setenv, unsetenv (POSIX)

#include <algorithm>
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
using ts::config::attribute_match;
using ts::config::config;
using ts::config::config_error;
using ts::config::load_config;
using ts::config::load_config_from_string;
using ts::config::load_result;
using ts::config::on_resolve_policy;
using ts::config::on_update_policy;
using ts::config::resolve_secret;
using ts::config::secret_ref;
using ts::config::technician_close_policy;
using ts::config::unmapped_policy;

// A directory under the system temp dir, removed with everything in it.
struct temp_dir : ts::test::scratch_dir {
  temp_dir() : scratch_dir("ts-config-test") {}

  fs::path write(const std::string& name, std::string_view content) const {
    const fs::path p = path() / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
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
    "psa:\n"                                               //  1
    "  site: https://cw.example.net:8443/\n"               //  2
    "  company_id: acme-msp\n"                             //  3
    "  public_key: pub-123\n"                              //  4
    "  private_key:\n"                                     //  5
    "    file: secrets/private.key\n"                      //  6
    "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n"  //  7
    "  api_version: \"2024.1\"\n"                          //  8
    "  codebase: v2024_1/\n"                               //  9
    "  ca_file: tls/ca.pem\n"                              // 10
    "  timeouts:\n"                                        // 11
    "    connect: 5s\n"                                    // 12
    "    handshake: 1500ms\n"                              // 13
    "    request: 2m\n"                                    // 14
    "  max_response_size: 4MiB\n"                          // 15
    "  max_connections: 8\n"                               // 16
    "  requests_per_minute: 300\n"                         // 17
    "companies:\n"                                         // 18
    "  default: MSPInternal\n"                             // 19
    "  tenants:\n"                                         // 20
    "    tenant-a: AcmeCorp\n"                             // 21
    "    tenant-b: Globex\n"                               // 22
    "ticket:\n"                                            // 23
    "  board: Security Incidents\n"                        // 24
    "  status: New\n"                                      // 25
    "  priority: Priority 2 - Quick Response\n"            // 26
    "  summary: \"{{title}}\"\n"                           // 27
    "  description: \"Seen by {{source}}\"\n"              // 28
    "storage:\n"                                           // 29
    "  database: data/state.db\n"                          // 30
    "intake:\n"                                            // 31
    "  spool_dir: /srv/spool\n"                            // 32
    "  max_event_size: 64KiB\n"                            // 33
    "  rescan_interval: 1h\n"                              // 34
    "  batch_size: 100\n"                                  // 35
    "logging:\n"                                           // 36
    "  level: debug\n";                                    // 37

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
  for (auto sev :
       {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low, ts::severity::info})
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
  const std::map<ts::severity, std::string> prio{{ts::severity::critical, "P1"},
                                                 {ts::severity::high, "P2"},
                                                 {ts::severity::medium, "P3"},
                                                 {ts::severity::low, "P4"},
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
  for (const char* site :
       {"na", "eu", "au", "aus", "za", "staging", "https://cw.example.net", "https://cw.example.net/",
        "https://localhost:18443", "https://127.0.0.1:8443/", "https://[::1]:8443"}) {
    SCOPED_TRACE(site);
    const config cfg = load_ok(replace_once(minimal_config, "site: na", std::string("site: \"") + site + "\""));
    EXPECT_EQ(cfg.psa.site, site);
  }
}

TEST(ConfigLoader, TenantsAloneAreEnough) {
  const config cfg = load_ok(replace_once(minimal_config, "  default: X\n", "  tenants:\n    \"12345\": Contoso\n"));
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
  const char* fragment;  ///< expected somewhere in the message
};

const error_case error_cases[] = {
    // YAML syntax
    {"syntax error", "  board: Security Incidents", "  board: [Security Incidents", 25, 9,
     "YAML syntax error: end of sequence flow not found"},
    // unknown keys
    {"unknown key with suggestion", "  max_connections: 8", "  max_conections: 8", 16, 3,
     "unknown key 'max_conections' in 'psa'; did you mean 'max_connections'?"},
    {"unknown top-level key", "logging:", "colour: red\nlogging:", 36, 1, "unknown key 'colour' at the top level"},
    {"unknown key in private_key", "    file: secrets/private.key", "    file: secrets/private.key\n    mode: 0600", 7,
     5, "unknown key 'mode' in 'psa.private_key'"},
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
    {"required key empty", "  company_id: acme-msp", "  company_id: \"\"", 3, 15, "psa.company_id: must not be empty"},
    // invalid values
    {"plain http site", "  site: https://cw.example.net:8443/", "  site: http://cw.example.net", 2, 9,
     "TLS is required"},
    {"unknown region", "  site: https://cw.example.net:8443/", "  site: mars", 2, 9,
     "must be one of na, eu, au, aus, za, staging, or an https:// URL"},
    {"site with a path", "  site: https://cw.example.net:8443/", "  site: https://cw.example.net/v4_6_release/apis", 2,
     9, "no path"},
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
    {"request rate too high", "  requests_per_minute: 300", "  requests_per_minute: 700000", 17, 24, "at most 600000"},
    {"batch size zero", "  batch_size: 100", "  batch_size: 0", 35, 15, "must be between 1 and 10000"},
    {"unknown log level", "  level: debug", "  level: verbose", 37, 10, "trace, debug, info, warn, error"},
    {"empty summary", "  summary: \"{{title}}\"", "  summary: \"\"", 27, 12, "ticket.summary: must not be empty"},
    {"default company too long", "  default: MSPInternal", "  default: ThisCompanyIdentifierIsWayTooLong", 19, 12,
     "ConnectWise allows at most 30"},
    {"tenant company empty", "    tenant-b: Globex", "    tenant-b: \"\"", 22, 15,
     "companies.tenants.tenant-b: company identifier must not be empty"},
    {"empty database path", "  database: data/state.db", "  database: \"\"", 30, 13,
     "storage.database: must not be empty"},
    // the private key
    {"private key inline", "  private_key:\n    file: secrets/private.key", "  private_key: s3cr3t-value", 5, 16,
     "must not be written inline; reference it with 'file: PATH'"},
    {"private key file and env", "    file: secrets/private.key", "    file: secrets/private.key\n    env: TS_KEY", 6,
     5, "psa.private_key: give exactly one of 'file', 'credential' or 'env'"},
    {"private key neither", "  private_key:\n    file: secrets/private.key", "  private_key: {}", 5, 16,
     "psa.private_key: needs 'file: PATH', 'credential: NAME' (systemd LoadCredential=) or 'env: NAME'"},
    {"private key env name", "    file: secrets/private.key", "    env: 1BAD", 6, 10,
     "expected an environment variable name"},
    {"private key list", "  private_key:\n    file: secrets/private.key", "  private_key: [a]", 5, 16,
     "expected a mapping with 'file: PATH', 'credential: NAME' (systemd LoadCredential=) or 'env: NAME', got a list"},
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
    EXPECT_EQ(e.to_string().rfind("cfg.yaml:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ", 0), 0u)
        << e.to_string();
  }
}

TEST(ConfigLoader, TenMistakesAreAllReportedInFileOrder) {
  constexpr std::string_view text =
      "psa:\n"                                          //  1
      "  site: http://cw.example.net\n"                 //  2  plain http
      "  company_id: acme\n"                            //  3
      "  public_key: pub\n"                             //  4
      "  private_key: inline-secret\n"                  //  5  inline secret
      "  client_id: id\n"                               //  6
      "  max_connections: 0\n"                          //  7  out of range
      "  timeouts:\n"                                   //  8
      "    conect: 5s\n"                                //  9  misspelt key
      "companies:\n"                                    // 10
      "  default: ThisCompanyIdentifierIsWayTooLong\n"  // 11  too long
      "ticket:\n"                                       // 12
      "  board: Security Incidents\n"                   // 13
      "  status: New\n"                                 // 14
      "  priority: [P1]\n"                              // 15  wrong type
      "storage:\n"                                      // 16
      "  database: \"\"\n"                              // 17  empty path
      "intake:\n"                                       // 18
      "  max_event_size: 1B\n"                          // 19  below 1KiB
      "  rescan_interval: 30\n"                         // 20  no unit
      "loging:\n"                                       // 21  misspelt section
      "  level: info\n";                                // 22
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

// Long values are quoted cut to 40 bytes, on a UTF-8 character boundary.
TEST(ConfigLoader, QuotedValuesAreCutOnACharacterBoundary) {
  std::string value = "a";
  for (int i = 0; i < 30; ++i) value += "\u00E9";  // 'a' + 30 two-byte characters: byte 40 is mid-character
  const load_result r =
      load_config_from_string(std::string(minimal_config) + "logging:\n  level: \"" + value + "\"\n", "cfg.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  std::string shown = "a";
  for (int i = 0; i < 19; ++i) shown += "\u00E9";  // 39 bytes: the 20th character would end at byte 41
  EXPECT_EQ(r.errors[0].to_string(),
            "cfg.yaml:14:10: logging.level: must be one of trace, debug, info, warn, error, got '" + shown + "...'");
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

// Anchors and aliases are plain YAML: a shared ticket section, say.
TEST(ConfigLoader, AliasesWork) {
  const config cfg = load_ok(std::string(minimal_config) +
                             "rules:\n"
                             "  - name: a\n"
                             "    match: {source: &sources [wazuh, guardz]}\n"
                             "    ticket: &helpdesk {board: Help Desk, status: Open, type: Problem}\n"
                             "  - name: b\n"
                             "    match: {source: *sources, min_severity: high}\n"
                             "    ticket: *helpdesk\n");
  ASSERT_EQ(cfg.rules.size(), 2u);
  EXPECT_EQ(cfg.rules[1].match.sources, (std::vector<std::string>{"wazuh", "guardz"}));
  EXPECT_EQ(cfg.rules[1].ticket.board, "Help Desk");
  EXPECT_EQ(cfg.rules[1].ticket.type, "Problem");
}

// ... but they must not make a small file expand without bound: 3000 rules
// that are one alias, each with a 3000-element list (9 million values from
// 27 KB), are refused once 200000 values have been visited.
TEST(ConfigLoader, AliasExpansionIsBounded) {
  std::string list = "[x";
  for (int i = 1; i < 3000; ++i) list += ",x";
  list += "]";
  std::string text = std::string(minimal_config) + "rules:\n  - &r {name: a, match: {source: &l " + list + "}}\n";
  for (int i = 1; i < 3000; ++i) text += "  - *r\n";
  const load_result r = load_config_from_string(text, "cfg.yaml");
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_FALSE(r.errors.empty());
  bool found = false;
  for (const config_error& e : r.errors)
    if (e.message == "the configuration expands to more than 200000 values (through YAML aliases?); giving up") {
      found = true;
      EXPECT_EQ(e.line, 14);    // the anchored list
      EXPECT_EQ(e.column, 34);  // at its anchor
    }
  EXPECT_TRUE(found) << all_errors(r).substr(0, 2000);
  EXPECT_LT(r.errors.size(), 200u);  // duplicate names before giving up, nothing after
}

// A Windows path in double quotes ("C:\Élise") is a bad escape; yaml-cpp's
// message quotes the raw first byte of "É", which is shown as \xC3 so that the
// message stays valid UTF-8.
TEST(ConfigLoader, SyntaxErrorMessagesStayPrintable) {
  const load_result r = load_config_from_string("ticket:\n  summary: \"C:\\\xC3\x89lise\"\n", "esc.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "esc.yaml:2:17: YAML syntax error: unknown escape character: \\xC3");
}

// yaml-cpp 0.7's LoadAll never returns on these (it yields empty documents
// forever, allocating as it goes); the loader must answer at once.
TEST(ConfigLoader, InputsThatHangYamlCppsLoadAllAreJustEmpty) {
  for (std::string_view text : {",", ",\xF8", "\n,\n", "# c\n,"}) {
    SCOPED_TRACE(text);
    const load_result r = load_config_from_string(text, "comma.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].to_string(),
              "comma.yaml: the configuration is empty (expected sections psa, companies, ticket)");
  }
}

TEST(ConfigLoader, SecondDocumentIsReportedWhereItsRootStarts) {
  const struct {
    std::string_view tail;
    int line;
  } cases[] = {{"---\nlogging: {level: info}\n", 14}, {"---\n", 14}, {"...\n---\n# two\nx: 1\n", 16}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tail);
    const load_result r = load_config_from_string(std::string(minimal_config) + std::string(c.tail), "two.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    EXPECT_EQ(r.errors[0].line, c.line);
    EXPECT_EQ(r.errors[0].column, 1);
    EXPECT_EQ(r.errors[0].message, "the file holds more than one YAML document ('---'); only one is allowed");
  }
}

TEST(ConfigLoader, SyntaxErrorIsOneErrorWithOneBasedPosition) {
  const load_result r = load_config_from_string("psa:\n  site: na\n\tcompany_id: x\n", "tab.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 1);
  EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos);
}

//------------------------------------------------------------------------------
// Companies: per-source mappings and the unmapped policy

TEST(ConfigLoader, CompaniesWithNeitherDefaultNorTenantsHoldsEverything) {
  // Not an error any more: an empty `companies` means "hold every issue until
  // a reload maps its tenant".
  for (std::string_view section :
       {"companies: {}\n", "companies:\n  unmapped: hold\n", "companies:\n  tenants: {}\n"}) {
    SCOPED_TRACE(section);
    const config cfg = load_ok(replace_once(minimal_config, "companies:\n  default: X\n", section));
    EXPECT_TRUE(cfg.companies.default_company.empty());
    EXPECT_TRUE(cfg.companies.tenants.empty());
    EXPECT_TRUE(cfg.companies.by_source.empty());
    EXPECT_EQ(cfg.companies.unmapped, unmapped_policy::hold);
  }
}

TEST(ConfigLoader, UnmappedPolicyFollowsTheDefaultCompanyUnlessGiven) {
  const struct {
    const char* companies;
    unmapped_policy want;
    const char* default_company;
  } cases[] = {
      {"companies:\n  default: X\n", unmapped_policy::default_company, "X"},
      {"companies:\n  default: X\n  unmapped: default\n", unmapped_policy::default_company, "X"},
      {"companies:\n  default: X\n  unmapped: hold\n", unmapped_policy::hold, "X"},  // default kept, unused
      {"companies:\n  tenants: {a: A}\n", unmapped_policy::hold, ""},
      {"companies:\n  unmapped: hold\n  tenants: {a: A}\n", unmapped_policy::hold, ""},
      {"companies:\n  default: ~\n  unmapped: ~\n", unmapped_policy::hold, ""},  // null = absent
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.companies);
    const config cfg = load_ok(replace_once(minimal_config, "companies:\n  default: X\n", c.companies));
    EXPECT_EQ(cfg.companies.unmapped, c.want);
    EXPECT_EQ(cfg.companies.default_company, c.default_company);
  }
}

TEST(ConfigLoader, CompaniesBySource) {
  const config cfg = load_ok(replace_once(minimal_config, "companies:\n  default: X\n",
                                          "companies:\n"
                                          "  tenants:\n"
                                          "    acme-prod: AcmeCorp\n"
                                          "  sources:\n"
                                          "    defender:\n"
                                          "      \"4f1c-77\": Umbrella\n"
                                          "      acme-prod: AcmeSecurity\n"
                                          "    guardz: {\"12345\": Initech}\n"));
  const std::map<std::string, std::map<std::string, std::string>> want{
      {"defender", {{"4f1c-77", "Umbrella"}, {"acme-prod", "AcmeSecurity"}}}, {"guardz", {{"12345", "Initech"}}}};
  EXPECT_EQ(cfg.companies.by_source, want);
  EXPECT_EQ(cfg.companies.tenants.at("acme-prod"), "AcmeCorp");
  EXPECT_EQ(cfg.companies.unmapped, unmapped_policy::hold);
}

//------------------------------------------------------------------------------
// The ticket's new keys and rules, valid

// Every new key of ticket, rules and storm, none to its default. The comments
// are line numbers.
constexpr std::string_view rules_config =
    "psa:\n"                                                                            //  1
    "  site: na\n"                                                                      //  2
    "  company_id: c\n"                                                                 //  3
    "  public_key: p\n"                                                                 //  4
    "  private_key: {env: K}\n"                                                         //  5
    "  client_id: id\n"                                                                 //  6
    "companies:\n"                                                                      //  7
    "  default: MSPInternal\n"                                                          //  8
    "  unmapped: hold\n"                                                                //  9
    "  tenants:\n"                                                                      // 10
    "    acme-prod: AcmeCorp\n"                                                         // 11
    "  sources:\n"                                                                      // 12
    "    defender:\n"                                                                   // 13
    "      \"4f1c\": Umbrella\n"                                                        // 14
    "ticket:\n"                                                                         // 15
    "  board: Security Incidents\n"                                                     // 16
    "  status: New\n"                                                                   // 17
    "  reopen_status: Reopened\n"                                                       // 18
    "  priority: Priority 3 - Normal Response\n"                                        // 19
    "  severity: Medium\n"                                                              // 20
    "  impact:\n"                                                                       // 21
    "    critical: High\n"                                                              // 22
    "    high: High\n"                                                                  // 23
    "    medium: Medium\n"                                                              // 24
    "    low: Low\n"                                                                    // 25
    "    info: Low\n"                                                                   // 26
    "  type: Security Alert\n"                                                          // 27
    "  subtype: Endpoint\n"                                                             // 28
    "  item: Monitor\n"                                                                 // 29
    "  team: SOC Tier 1\n"                                                              // 30
    "  source: Security Tool\n"                                                         // 31
    "  summary: \"{{title}}\"\n"                                                        // 32
    "  custom_fields:\n"                                                                // 33
    "    Source Product: \"{{source}}\"\n"                                              // 34
    "  notes:\n"                                                                        // 35
    "    resolve: \"\"\n"                                                               // 36
    "  lifecycle:\n"                                                                    // 37
    "    on_technician_close: new_ticket\n"                                             // 38
    "rules:\n"                                                                          // 39
    "  - name: ransomware\n"                                                            // 40
    "    match:\n"                                                                      // 41
    "      source: [defender, guardz]\n"                                                // 42
    "      tenant: \"acme-*\"\n"                                                        // 43
    "      severity: [critical, high]\n"                                                // 44
    "      min_severity: high\n"                                                        // 45
    "      category: [ransomware, \"malware/*\"]\n"                                     // 46
    "      tags:\n"                                                                     // 47
    "        any: [ransomware]\n"                                                       // 48
    "        all: [endpoint, edr]\n"                                                    // 49
    "      title: '(?i)ransom'\n"                                                       // 50
    "      attributes:\n"                                                               // 51
    "        - pointer: /device/os\n"                                                   // 52
    "          equals: Windows 11\n"                                                    // 53
    "        - pointer: /detection_source\n"                                            // 54
    "          in: [Behavior, Signature]\n"                                             // 55
    "        - pointer: /a~1b/~0c\n"                                                    // 56
    "          regex: '^x+$'\n"                                                         // 57
    "        - {pointer: /count, equals: 3}\n"                                          // 58
    "    ticket:\n"                                                                     // 59
    "      priority: Priority 1 - Emergency Response\n"                                 // 60
    "  - name: vulnerabilities\n"                                                       // 61
    "    match:\n"                                                                      // 62
    "      category: vulnerability\n"                                                   // 63
    "      tags: {all: cve}\n"                                                          // 64
    "    ticket:\n"                                                                     // 65
    "      board: Help Desk\n"                                                          // 66
    "      status: Open\n"                                                              // 67
    "      closed_status: Completed\n"                                                  // 68
    "      type: Problem\n"                                                             // 69
    "      subtype: Software\n"                                                         // 70
    "      item: \"\"\n"                                                                // 71
    "      team: \"\"\n"                                                                // 72
    "      severity: {critical: High, high: High, medium: Low, low: Low, info: Low}\n"  // 73
    "      custom_fields:\n"                                                            // 74
    "        Risk Score: \"{{cvss}}\"\n"                                                // 75
    "      notes:\n"                                                                    // 76
    "        update: \"changed: {{changes}}\"\n"                                        // 77
    "      lifecycle:\n"                                                                // 78
    "        on_update: note\n"                                                         // 79
    "        on_technician_close: note\n"                                               // 80
    "  - name: everything-else\n"                                                       // 81
    "    ticket: {priority: Priority 4 - Schedule Maintenance}\n"                       // 82
    "storm:\n"                                                                          // 83
    "  max_new_tickets_per_hour: 25\n"                                                  // 84
    "  digest_summary: \"storm {{tenant}}\"\n"                                          // 85
    "  digest_note: \"{{title}}\"\n";                                                   // 86

std::map<ts::severity, std::string> every_severity(const std::string& value) {
  std::map<ts::severity, std::string> m;
  for (auto sev :
       {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low, ts::severity::info})
    m[sev] = value;
  return m;
}

TEST(ConfigLoader, NewTicketKeysAreRead) {
  const config cfg = load_ok(rules_config);
  const ts::config::ticket_config& t = cfg.ticket;
  EXPECT_EQ(t.cw_severity, every_severity("Medium"));
  const std::map<ts::severity, std::string> impact{{ts::severity::critical, "High"},
                                                   {ts::severity::high, "High"},
                                                   {ts::severity::medium, "Medium"},
                                                   {ts::severity::low, "Low"},
                                                   {ts::severity::info, "Low"}};
  EXPECT_EQ(t.cw_impact, impact);
  EXPECT_EQ(t.type, "Security Alert");
  EXPECT_EQ(t.subtype, "Endpoint");
  EXPECT_EQ(t.item, "Monitor");
  EXPECT_EQ(t.team, "SOC Tier 1");
  EXPECT_EQ(t.source, "Security Tool");
  const std::map<std::string, std::string> fields{{"Source Product", "{{source}}"}};
  EXPECT_EQ(t.custom_fields, fields);
  EXPECT_EQ(t.lifecycle.on_technician_close, technician_close_policy::new_ticket);
  EXPECT_EQ(cfg.storm.max_new_tickets_per_hour, 25);
  EXPECT_EQ(cfg.storm.digest_summary, "storm {{tenant}}");
  EXPECT_EQ(cfg.storm.digest_note, "{{title}}");
  EXPECT_EQ(cfg.companies.by_source.at("defender").at("4f1c"), "Umbrella");
  EXPECT_EQ(cfg.companies.unmapped, unmapped_policy::hold);
}

TEST(ConfigLoader, NewTicketKeyDefaults) {
  const config cfg = load_ok(minimal_config);
  const config defaults;
  const std::map<ts::severity, std::string> severity{{ts::severity::critical, "High"},
                                                     {ts::severity::high, "High"},
                                                     {ts::severity::medium, "Medium"},
                                                     {ts::severity::low, "Low"},
                                                     {ts::severity::info, "Low"}};
  const std::map<ts::severity, std::string> impact{{ts::severity::critical, "High"},
                                                   {ts::severity::high, "Medium"},
                                                   {ts::severity::medium, "Medium"},
                                                   {ts::severity::low, "Low"},
                                                   {ts::severity::info, "Low"}};
  EXPECT_EQ(cfg.ticket.cw_severity, severity);  // as documented in config.hpp
  EXPECT_EQ(cfg.ticket.cw_impact, impact);
  for (const std::string* s :
       {&cfg.ticket.type, &cfg.ticket.subtype, &cfg.ticket.item, &cfg.ticket.team, &cfg.ticket.source})
    EXPECT_EQ(*s, "");
  EXPECT_TRUE(cfg.ticket.custom_fields.empty());
  EXPECT_EQ(cfg.ticket.lifecycle.on_technician_close, technician_close_policy::respect);
  EXPECT_TRUE(cfg.rules.empty());
  EXPECT_EQ(cfg.storm.max_new_tickets_per_hour, 100);
  EXPECT_EQ(cfg.storm.digest_summary, defaults.storm.digest_summary);
  EXPECT_EQ(cfg.storm.digest_note, defaults.storm.digest_note);
  EXPECT_EQ(cfg.companies.unmapped, unmapped_policy::default_company);  // minimal_config has a default
  EXPECT_TRUE(cfg.companies.by_source.empty());
}

TEST(ConfigLoader, OnTechnicianCloseValues) {
  const struct {
    const char* text;
    technician_close_policy want;
  } cases[] = {{"respect", technician_close_policy::respect},
               {"reopen", technician_close_policy::reopen},
               {"new_ticket", technician_close_policy::new_ticket},
               {"note", technician_close_policy::note}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const config cfg = load_ok(std::string(minimal_config) + "  lifecycle:\n    on_technician_close: " + c.text + "\n");
    EXPECT_EQ(cfg.ticket.lifecycle.on_technician_close, c.want);
  }
}

TEST(ConfigLoader, RulesAreReadInOrderWithTheirLines) {
  const config cfg = load_ok(rules_config);
  ASSERT_EQ(cfg.rules.size(), 3u);
  EXPECT_EQ(cfg.rules[0].name, "ransomware");
  EXPECT_EQ(cfg.rules[0].line, 40);
  EXPECT_EQ(cfg.rules[1].name, "vulnerabilities");
  EXPECT_EQ(cfg.rules[1].line, 61);
  EXPECT_EQ(cfg.rules[2].name, "everything-else");
  EXPECT_EQ(cfg.rules[2].line, 81);

  const ts::config::match_spec& m = cfg.rules[0].match;
  EXPECT_EQ(m.sources, (std::vector<std::string>{"defender", "guardz"}));
  EXPECT_EQ(m.tenants, (std::vector<std::string>{"acme-*"}));
  EXPECT_EQ(m.severities, (std::vector<ts::severity>{ts::severity::critical, ts::severity::high}));
  EXPECT_EQ(m.min_severity, ts::severity::high);
  EXPECT_EQ(m.categories, (std::vector<std::string>{"ransomware", "malware/*"}));
  EXPECT_EQ(m.tags_any, (std::vector<std::string>{"ransomware"}));
  EXPECT_EQ(m.tags_all, (std::vector<std::string>{"endpoint", "edr"}));
  EXPECT_EQ(m.title_regex, "(?i)ransom");
  ASSERT_EQ(m.attributes.size(), 4u);
  EXPECT_EQ(m.attributes[0].pointer, "/device/os");
  EXPECT_EQ(m.attributes[0].what, attribute_match::op::equals);
  EXPECT_EQ(m.attributes[0].values, (std::vector<std::string>{"Windows 11"}));
  EXPECT_EQ(m.attributes[1].pointer, "/detection_source");
  EXPECT_EQ(m.attributes[1].what, attribute_match::op::in);
  EXPECT_EQ(m.attributes[1].values, (std::vector<std::string>{"Behavior", "Signature"}));
  EXPECT_EQ(m.attributes[2].pointer, "/a~1b/~0c");  // kept escaped: it is the pointer's text
  EXPECT_EQ(m.attributes[2].what, attribute_match::op::regex);
  EXPECT_EQ(m.attributes[2].regex, "^x+$");
  EXPECT_EQ(m.attributes[3].values, (std::vector<std::string>{"3"}));  // numbers compare as text
  EXPECT_FALSE(m.catch_all());

  const ts::config::match_spec& v = cfg.rules[1].match;
  EXPECT_EQ(v.categories, (std::vector<std::string>{"vulnerability"}));  // one string = a list of one
  EXPECT_EQ(v.tags_all, (std::vector<std::string>{"cve"}));
  EXPECT_TRUE(v.tags_any.empty());
  EXPECT_TRUE(cfg.rules[2].match.catch_all());
}

TEST(ConfigLoader, RuleTicketInheritsTheTopLevelTicket) {
  const config cfg = load_ok(rules_config);
  ASSERT_EQ(cfg.rules.size(), 3u);
  const ts::config::ticket_config& top = cfg.ticket;

  // "ransomware" sets only the priority: everything else is the top level's,
  // including values that differ from the built-in defaults.
  const ts::config::ticket_config& r = cfg.rules[0].ticket;
  EXPECT_EQ(r.priority, every_severity("Priority 1 - Emergency Response"));
  EXPECT_EQ(r.board, "Security Incidents");
  EXPECT_EQ(r.status, "New");
  EXPECT_EQ(r.closed_status, "Closed");
  EXPECT_EQ(r.reopen_status, "Reopened");
  EXPECT_EQ(r.cw_severity, top.cw_severity);
  EXPECT_EQ(r.cw_impact, top.cw_impact);
  EXPECT_EQ(r.type, "Security Alert");
  EXPECT_EQ(r.subtype, "Endpoint");
  EXPECT_EQ(r.item, "Monitor");
  EXPECT_EQ(r.team, "SOC Tier 1");
  EXPECT_EQ(r.source, "Security Tool");
  EXPECT_EQ(r.summary_template, "{{title}}");
  EXPECT_EQ(r.description_template, top.description_template);
  EXPECT_EQ(r.custom_fields, top.custom_fields);
  EXPECT_EQ(r.update_note_template, top.update_note_template);
  EXPECT_EQ(r.resolve_note_template, "");
  EXPECT_EQ(r.reopen_note_template, top.reopen_note_template);
  EXPECT_EQ(r.lifecycle.on_update, top.lifecycle.on_update);
  EXPECT_EQ(r.lifecycle.on_resolve, top.lifecycle.on_resolve);
  EXPECT_EQ(r.lifecycle.reopen_window, top.lifecycle.reopen_window);
  EXPECT_EQ(r.lifecycle.on_technician_close, technician_close_policy::new_ticket);

  // "vulnerabilities" moves to another board: what it sets wins (empty values
  // too), custom fields add to the top level's, and one lifecycle or notes key
  // leaves the others of that section inherited.
  const ts::config::ticket_config& v = cfg.rules[1].ticket;
  EXPECT_EQ(v.board, "Help Desk");
  EXPECT_EQ(v.status, "Open");
  EXPECT_EQ(v.closed_status, "Completed");
  EXPECT_EQ(v.effective_reopen_status(), "Reopened");  // inherited; the rule did not clear it
  EXPECT_EQ(v.priority, top.priority);
  EXPECT_EQ(v.type, "Problem");
  EXPECT_EQ(v.subtype, "Software");
  EXPECT_EQ(v.item, "");
  EXPECT_EQ(v.team, "");
  EXPECT_EQ(v.source, "Security Tool");
  EXPECT_EQ(v.cw_severity.at(ts::severity::medium), "Low");
  EXPECT_EQ(v.cw_impact, top.cw_impact);
  const std::map<std::string, std::string> fields{{"Source Product", "{{source}}"}, {"Risk Score", "{{cvss}}"}};
  EXPECT_EQ(v.custom_fields, fields);
  EXPECT_EQ(v.update_note_template, "changed: {{changes}}");
  EXPECT_EQ(v.resolve_note_template, "");
  EXPECT_EQ(v.lifecycle.on_update, on_update_policy::note);
  EXPECT_EQ(v.lifecycle.on_resolve, top.lifecycle.on_resolve);
  EXPECT_EQ(v.lifecycle.on_technician_close, technician_close_policy::note);

  // The top level itself is not changed by the rules.
  EXPECT_EQ(top.board, "Security Incidents");
  EXPECT_EQ(top.custom_fields.size(), 1u);
  EXPECT_EQ(top.lifecycle.on_update, on_update_policy::patch);

  EXPECT_EQ(cfg.rules[2].ticket.priority, every_severity("Priority 4 - Schedule Maintenance"));
  EXPECT_EQ(cfg.rules[2].ticket.board, "Security Incidents");
}

TEST(ConfigLoader, EmptyOrNullRulesMeanNoRules) {
  EXPECT_TRUE(load_ok(std::string(minimal_config) + "rules: []\n").rules.empty());
  EXPECT_TRUE(load_ok(std::string(minimal_config) + "rules:\n").rules.empty());
}

TEST(ConfigLoader, StormLimits) {
  for (const char* cap : {"0", "1", "1000000"}) {
    SCOPED_TRACE(cap);
    const config cfg = load_ok(std::string(minimal_config) + "storm:\n  max_new_tickets_per_hour: " + cap + "\n");
    EXPECT_EQ(cfg.storm.max_new_tickets_per_hour, std::stoi(cap));
  }
}

//------------------------------------------------------------------------------
// Rules, companies and storm: one mistake at a time

// Each snippet is appended to minimal_config (12 lines, ending inside its
// `ticket` section), so its first line is line 13; a snippet that starts with
// "companies:" replaces minimal_config's companies (lines 7-8) and starts at
// line 11.
constexpr int minimal_lines = 12;

struct snippet_case {
  const char* label;
  std::string_view snippet;  ///< appended to minimal_config
  int line;                  ///< in the whole text (see above)
  int column;
  const char* fragment;  ///< expected in the message
};

const snippet_case snippet_cases[] = {
    // the ticket's new keys (the snippet continues minimal_config's ticket)
    {"cw severity not a ConnectWise level", "  severity: high\n", 13, 13,
     "ticket.severity: must be one of Low, Medium, High (as ConnectWise spells them), got 'high'"},
    {"cw impact map with a bad level", "  impact: {critical: High, high: High, medium: Medium, low: Low, info: None}\n",
     13, 72, "ticket.impact.info: must be one of Low, Medium, High"},
    {"cw severity map missing a severity", "  severity: {critical: High, high: High, medium: Low, low: Low}\n", 13, 13,
     "missing required key 'ticket.severity.info'"},
    {"cw severity map with an unknown severity",
     "  severity: {critical: High, high: High, medium: Low, low: Low, info: Low, urgent: High}\n", 13, 76,
     "unknown key 'urgent' in 'ticket.severity'"},
    {"type not a string", "  type: [Incident]\n", 13, 9, "ticket.type: expected a string, got a list"},
    {"subtype without type", "  subtype: Malware\n", 10, 3, "ticket: 'subtype' needs a 'type'"},
    {"custom fields not a mapping", "  custom_fields: [Risk Score]\n", 13, 18,
     "ticket.custom_fields: expected a mapping, got a list"},
    {"custom field value not a string", "  custom_fields:\n    Risk Score: {value: 3}\n", 14, 17,
     "ticket.custom_fields.Risk Score: expected a string, got a mapping"},
    {"custom field without value", "  custom_fields:\n    Risk Score:\n", 14, 5,
     "ticket.custom_fields.Risk Score: a value is required"},
    {"custom field with an empty caption", "  custom_fields:\n    \"\": \"{{source}}\"\n", 14, 5,
     "ticket.custom_fields: custom field captions must not be empty"},
    {"custom field template unclosed tag", "  custom_fields:\n    Security Issue Key: \"{{source}}/{{issue_id\"\n", 14,
     25, "ticket.custom_fields.Security Issue Key: bad template: Unclosed tag at 11"},
    {"custom field template unclosed section", "  custom_fields:\n    Risk Score: \"{{#attributes}}{{score}}\"\n", 14,
     17, "ticket.custom_fields.Risk Score: bad template: Unclosed section \"attributes\" at 0"},
    {"summary template error", "  summary: \"[{{severity}}] {{#title}}\"\n", 13, 12,
     "ticket.summary: bad template: Unclosed section \"title\" at 15"},
    {"description template error", "  description: \"{{title}}\\n{{/asset}}\"\n", 13, 16,
     "ticket.description: bad template: Unopened section \"asset\" at 10"},
    {"update note template error", "  notes:\n    update: \"{{changes\"\n", 14, 13,
     "ticket.notes.update: bad template: Unclosed tag at 0"},
    {"resolve note template error", "  notes:\n    resolve: \"{{#url}}{{url}}{{/link}}\"\n", 14, 14,
     "ticket.notes.resolve: bad template: Unclosed section \"url\" at 0"},
    {"reopen note empty", "  notes:\n    reopen: \"\"\n", 14, 13, "ticket.notes.reopen: must not be empty"},
    {"reopen note template error", "  notes:\n    reopen: \"{{=<% %>=}}<%title\"\n", 14, 13,
     "ticket.notes.reopen: bad template: Unclosed tag at 11"},
    {"on_technician_close unknown value", "  lifecycle:\n    on_technician_close: reopen_ticket\n", 14, 26,
     "ticket.lifecycle.on_technician_close: must be one of respect, reopen, new_ticket, note, got 'reopen_ticket'"},
    {"on_technician_close not a string", "  lifecycle:\n    on_technician_close: [reopen]\n", 14, 26,
     "ticket.lifecycle.on_technician_close: expected a string, got a list"},
    {"on_technician_close misspelt", "  lifecycle:\n    on_tech_close: reopen\n", 14, 5,
     "unknown key 'on_tech_close' in 'ticket.lifecycle'"},

    // companies
    {"unmapped policy typo", "companies:\n  default: X\n  unmapped: defualt\n", 13, 13,
     "companies.unmapped: must be one of default, hold, got 'defualt'"},
    {"unmapped default without a default", "companies:\n  unmapped: default\n", 12, 3,
     "companies: 'unmapped: default' needs a 'default' company"},
    {"unknown key in companies", "companies:\n  default: X\n  unmaped: hold\n", 13, 3,
     "unknown key 'unmaped' in 'companies'; did you mean 'unmapped'?"},
    {"sources not a mapping", "companies:\n  sources: [defender]\n", 12, 12,
     "companies.sources: expected a mapping, got a list"},
    {"source tenants not a mapping", "companies:\n  sources:\n    defender: Umbrella\n", 13, 15,
     "companies.sources.defender: expected a mapping, got a scalar value"},
    {"source without tenants", "companies:\n  sources:\n    defender:\n", 13, 5,
     "companies.sources.defender: a value is required"},
    {"empty source name", "companies:\n  sources:\n    \"\": {a: A}\n", 13, 5,
     "companies.sources: source names must not be empty"},
    {"source tenant company too long",
     "companies:\n  sources:\n    defender: {t1: ThisCompanyIdentifierIsWayTooLong}\n", 13, 20,
     "companies.sources.defender.t1: company identifier has 33 characters; ConnectWise allows at most 30"},
    {"source tenant empty name", "companies:\n  sources:\n    defender: {\"\": Umbrella}\n", 13, 16,
     "companies.sources.defender: tenant names must not be empty"},

    // storm
    {"storm not a mapping", "storm: 100\n", 13, 8, "storm: expected a mapping, got a scalar value"},
    {"storm cap negative", "storm:\n  max_new_tickets_per_hour: -1\n", 14, 29,
     "storm.max_new_tickets_per_hour: must be between 0 and 1000000, got '-1'"},
    {"storm cap too large", "storm:\n  max_new_tickets_per_hour: 1000001\n", 14, 29,
     "storm.max_new_tickets_per_hour: must be between 0 and 1000000, got '1000001'"},
    {"storm cap not a number", "storm:\n  max_new_tickets_per_hour: lots\n", 14, 29,
     "storm.max_new_tickets_per_hour: expected an integer, got 'lots'"},
    {"storm cap with a fraction", "storm:\n  max_new_tickets_per_hour: 2.5\n", 14, 29,
     "expected an integer, got '2.5'"},
    {"storm key misspelt", "storm:\n  max_new_ticket_per_hour: 5\n", 14, 3,
     "unknown key 'max_new_ticket_per_hour' in 'storm'; did you mean 'max_new_tickets_per_hour'?"},
    {"digest summary empty", "storm:\n  digest_summary: \"\"\n", 14, 19, "storm.digest_summary: must not be empty"},
    {"digest summary template error", "storm:\n  digest_summary: \"{{tenant}} {{#cap}}\"\n", 14, 19,
     "storm.digest_summary: bad template: Unclosed section \"cap\" at 11"},
    {"digest note template error", "storm:\n  digest_note: \"{{/title}}\"\n", 14, 16,
     "storm.digest_note: bad template: Unopened section \"title\" at 0"},

    // rules: shape and names
    {"rules not a list", "rules:\n  name: a\n", 14, 3, "rules: expected a list of rules, got a mapping"},
    {"rule not a mapping", "rules:\n  - ransomware\n", 14, 5,
     "rules[0]: expected a mapping with name, match and ticket, got a scalar value"},
    {"rule without name", "rules:\n  - match: {source: wazuh}\n", 14, 5, "missing required key 'rules[0].name'"},
    {"rule with empty name", "rules:\n  - name: \"\"\n", 14, 11, "rules[0].name: must not be empty"},
    {"rule name not a string", "rules:\n  - name: [a]\n", 14, 11, "rules[0].name: expected a string, got a list"},
    {"duplicate rule names",
     "rules:\n  - name: a\n    match: {source: wazuh}\n  - name: b\n    match: {source: guardz}\n"
     "  - name: a\n    match: {source: defender}\n",
     18, 5, "rules[2]: duplicate rule name 'a' (first at line 14)"},
    {"rule named default", "rules:\n  - name: default\n    match: {source: wazuh}\n", 14, 11,
     "rules[0].name: 'default' is reserved for the top-level ticket"},
    {"unknown key in a rule", "rules:\n  - name: a\n    matches: {source: wazuh}\n", 15, 5,
     "unknown key 'matches' in 'rules[0]'; did you mean 'match'?"},

    // rules: match keys
    {"match not a mapping", "rules:\n  - name: a\n    match: [source]\n", 15, 12,
     "rules[0].match: expected a mapping, got a list"},
    {"unknown match key", "rules:\n  - name: a\n    match: {sources: wazuh}\n", 15, 13,
     "unknown key 'sources' in 'rules[0].match'; did you mean 'source'?"},
    {"source empty list", "rules:\n  - name: a\n    match: {source: []}\n", 15, 21,
     "rules[0].match.source: the list must not be empty"},
    {"source empty string", "rules:\n  - name: a\n    match: {source: [wazuh, \"\"]}\n", 15, 29,
     "rules[0].match.source[1]: must not be empty"},
    {"source not a string", "rules:\n  - name: a\n    match: {source: {wazuh: 1}}\n", 15, 21,
     "rules[0].match.source: expected a string, got a mapping"},
    {"tenant list with a list", "rules:\n  - name: a\n    match: {tenant: [acme-*, [x]]}\n", 15, 30,
     "rules[0].match.tenant[1]: expected a string, got a list"},
    {"unknown severity", "rules:\n  - name: a\n    match: {severity: urgent}\n", 15, 23,
     "rules[0].match.severity: must be one of critical, high, medium, low, info, got 'urgent'"},
    {"severity is lowercase", "rules:\n  - name: a\n    match: {severity: [high, Critical]}\n", 15, 30,
     "rules[0].match.severity[1]: must be one of critical, high, medium, low, info, got 'Critical'"},
    {"unknown min_severity", "rules:\n  - name: a\n    match: {min_severity: severe}\n", 15, 27,
     "rules[0].match.min_severity: must be one of critical, high, medium, low, info, got 'severe'"},
    {"min_severity list", "rules:\n  - name: a\n    match: {min_severity: [high]}\n", 15, 27,
     "rules[0].match.min_severity: expected a string, got a list"},
    {"category empty", "rules:\n  - name: a\n    match: {category: \"\"}\n", 15, 23,
     "rules[0].match.category: must not be empty"},
    {"tags as a list", "rules:\n  - name: a\n    match: {tags: [ransomware]}\n", 15, 19,
     "rules[0].match.tags: expected a mapping, got a list"},
    {"tags without any or all", "rules:\n  - name: a\n    match: {tags: {}}\n", 15, 19,
     "rules[0].match.tags: needs 'any' or 'all'"},
    {"tags misspelt key", "rules:\n  - name: a\n    match: {tags: {all: [edr], anyy: [x]}}\n", 15, 32,
     "unknown key 'anyy' in 'rules[0].match.tags'; did you mean 'any'?"},
    {"tags.any empty", "rules:\n  - name: a\n    match: {tags: {any: []}}\n", 15, 25,
     "rules[0].match.tags.any: the list must not be empty"},
    {"tags.all with an empty tag", "rules:\n  - name: a\n    match: {tags: {all: [edr, \"\"]}}\n", 15, 31,
     "rules[0].match.tags.all[1]: must not be empty"},
    {"title regex unclosed group", "rules:\n  - name: a\n    match: {title: 'ran(som'}\n", 15, 20,
     "rules[0].match.title: bad regular expression: missing closing parenthesis at offset 7"},
    {"title regex nothing to repeat", "rules:\n  - name: a\n    match: {title: '*ransom'}\n", 15, 20,
     "rules[0].match.title: bad regular expression: quantifier does not follow a repeatable item at offset 0"},
    {"title regex bad range", "rules:\n  - name: a\n    match: {title: 'CVE-[9-0]+'}\n", 15, 20,
     "rules[0].match.title: bad regular expression: range out of order in character class at offset 7"},
    {"title regex unterminated class", "rules:\n  - name: a\n    match:\n      title: '(?i)[abc'\n", 16, 14,
     "rules[0].match.title: bad regular expression: missing terminating ] for character class at offset 8"},
    {"title not a string", "rules:\n  - name: a\n    match: {title: [x]}\n", 15, 20,
     "rules[0].match.title: expected a string, got a list"},

    // rules: attributes
    {"attributes not a list", "rules:\n  - name: a\n    match: {attributes: {pointer: /a, equals: b}}\n", 15, 25,
     "rules[0].match.attributes: expected a list of {pointer, equals|in|regex}, got a mapping"},
    {"attribute not a mapping", "rules:\n  - name: a\n    match: {attributes: [/a]}\n", 15, 26,
     "rules[0].match.attributes[0]: expected a mapping {pointer, equals|in|regex}, got a scalar value"},
    {"attribute without pointer", "rules:\n  - name: a\n    match:\n      attributes:\n        - equals: x\n", 17, 11,
     "missing required key 'rules[0].match.attributes[0].pointer'"},
    {"pointer without leading slash",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: device.os, equals: x}\n", 17, 21,
     "rules[0].match.attributes[0].pointer: a JSON pointer starts with '/', such as /host/os, got 'device.os'"},
    {"pointer with a bad escape",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a~2b, equals: x}\n", 17, 21,
     "rules[0].match.attributes[0].pointer: '~' in a JSON pointer must be followed by 0 or 1, got '/a~2b'"},
    {"pointer ending in tilde",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a~, equals: x}\n", 17, 21,
     "'~' in a JSON pointer must be followed by 0 or 1, got '/a~'"},
    {"pointer empty", "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: \"\", equals: x}\n", 17,
     21, "a JSON pointer starts with '/'"},
    {"attribute without an operator", "rules:\n  - name: a\n    match:\n      attributes:\n        - pointer: /a\n", 17,
     11, "rules[0].match.attributes[0]: give exactly one of 'equals', 'in' or 'regex'"},
    {"attribute with a null operator",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - pointer: /a\n          equals:\n", 17, 11,
     "rules[0].match.attributes[0]: give exactly one of 'equals', 'in' or 'regex'"},
    {"attribute with two operators",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a, equals: x, regex: y}\n", 17, 11,
     "rules[0].match.attributes[0]: give exactly one of 'equals', 'in' or 'regex'"},
    {"attribute with all three operators",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a, equals: x, in: [y], regex: z}\n", 17,
     11, "give exactly one of 'equals', 'in' or 'regex'"},
    {"equals with a list",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a, equals: [x, y]}\n", 17, 33,
     "rules[0].match.attributes[0].equals: expected a string, got a list"},
    {"in with an empty list", "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a, in: []}\n",
     17, 29, "rules[0].match.attributes[0].in: the list must not be empty"},
    {"in with a mapping item",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /a, in: [x, {y: z}]}\n", 17, 33,
     "rules[0].match.attributes[0].in[1]: expected a string, got a mapping"},
    {"attribute regex error",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /os, regex: '(?<name>Win'}\n", 17, 33,
     "rules[0].match.attributes[0].regex: bad regular expression: missing closing parenthesis at offset 11"},
    {"unknown key in an attribute",
     "rules:\n  - name: a\n    match:\n      attributes:\n        - {pointer: /os, in: [a], case: no}\n", 17, 35,
     "unknown key 'case' in 'rules[0].match.attributes[0]'"},

    // rules: ticket
    {"rule ticket not a mapping", "rules:\n  - name: a\n    ticket: Help Desk\n", 15, 13,
     "rules[0].ticket: expected a mapping, got a scalar value"},
    {"rule ticket misspelt key", "rules:\n  - name: a\n    ticket: {bord: Help Desk}\n", 15, 14,
     "unknown key 'bord' in 'rules[0].ticket'; did you mean 'board'?"},
    {"rule ticket empty board", "rules:\n  - name: a\n    ticket: {board: \"\"}\n", 15, 21,
     "rules[0].ticket.board: must not be empty"},
    {"rule ticket empty status", "rules:\n  - name: a\n    ticket: {status: \"\"}\n", 15, 22,
     "rules[0].ticket.status: must not be empty"},
    {"rule ticket empty priority", "rules:\n  - name: a\n    ticket: {priority: \"\"}\n", 15, 24,
     "rules[0].ticket.priority: must not be empty"},
    {"rule ticket subtype without type", "rules:\n  - name: a\n    ticket:\n      subtype: Malware\n", 16, 7,
     "rules[0].ticket: 'subtype' needs a 'type'"},
    {"rule ticket summary template", "rules:\n  - name: a\n    ticket:\n      summary: \"{{#title}}\"\n", 16, 16,
     "rules[0].ticket.summary: bad template: Unclosed section \"title\" at 0"},
    {"rule ticket description template", "rules:\n  - name: a\n    ticket:\n      description: \"{{/title}}\"\n", 16,
     20, "rules[0].ticket.description: bad template: Unopened section \"title\" at 0"},
    {"rule ticket note template", "rules:\n  - name: a\n    ticket:\n      notes: {update: \"{{changes\"}\n", 16, 23,
     "rules[0].ticket.notes.update: bad template: Unclosed tag at 0"},
    {"rule ticket custom field template",
     "rules:\n  - name: a\n    ticket:\n      custom_fields: {Risk Score: \"{{#cvss}}\"}\n", 16, 35,
     "rules[0].ticket.custom_fields.Risk Score: bad template: Unclosed section \"cvss\" at 0"},
    {"rule ticket lifecycle", "rules:\n  - name: a\n    ticket:\n      lifecycle: {on_technician_close: ignore}\n", 16,
     40,
     "rules[0].ticket.lifecycle.on_technician_close: must be one of respect, reopen, new_ticket, note, got 'ignore'"},
    {"rule ticket reopen window", "rules:\n  - name: a\n    ticket:\n      lifecycle: {reopen_window: 2w}\n", 16, 34,
     "rules[0].ticket.lifecycle.reopen_window: expected a duration"},
    {"rule ticket priority map partial",
     "rules:\n  - name: a\n    ticket:\n      priority: {critical: P1, high: P2, medium: P3, low: P4}\n", 16, 17,
     "missing required key 'rules[0].ticket.priority.info'"},
};

TEST(ConfigLoader, EachRuleCompanyAndStormErrorHasItsPositionAndMessage) {
  ASSERT_EQ(std::count(minimal_config.begin(), minimal_config.end(), '\n'), minimal_lines);
  for (const snippet_case& c : snippet_cases) {
    SCOPED_TRACE(c.label);
    std::string text(minimal_config);
    // A snippet that starts with "companies:" replaces minimal_config's.
    if (c.snippet.starts_with("companies:"))
      text = replace_once(text, "companies:\n  default: X\n", "") + std::string(c.snippet);
    else
      text += c.snippet;
    const load_result r = load_config_from_string(text, "cfg.yaml");
    EXPECT_FALSE(r.cfg.has_value());
    ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
    const config_error& e = r.errors.front();
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_EQ(e.column, c.column) << e.to_string();
    EXPECT_NE(e.message.find(c.fragment), std::string::npos) << e.to_string();
  }
}

TEST(ConfigLoader, ACatchAllRuleShadowsTheRulesBelowIt) {
  const std::string text = std::string(minimal_config) +
                           "rules:\n"                       // 13
                           "  - name: wazuh\n"              // 14
                           "    match: {source: wazuh}\n"   // 15
                           "  - name: catch-everything\n"   // 16
                           "    ticket: {priority: P2}\n"   // 17
                           "  - name: guardz\n"             // 18
                           "    match: {source: guardz}\n"  // 19
                           "  - name: empty-match\n"        // 20
                           "    match: {}\n";               // 21
  const load_result r = load_config_from_string(text, "cfg.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(),
            "cfg.yaml:18:5: rules[2]: rule 'guardz' can never match: rule 'catch-everything' (line 16) above it "
            "matches every event; move it below, or give that rule a 'match'");
  EXPECT_EQ(r.errors[1].line, 20);
  EXPECT_EQ(r.errors[1].column, 5);
  EXPECT_NE(r.errors[1].message.find("rule 'empty-match' can never match: rule 'catch-everything' (line 16)"),
            std::string::npos)
      << r.errors[1].to_string();
}

TEST(ConfigLoader, ACatchAllRuleIsFineLast) {
  for (std::string_view last :
       {"  - name: rest\n", "  - name: rest\n    match: {}\n", "  - name: rest\n    match:\n"}) {
    SCOPED_TRACE(last);
    const config cfg = load_ok(std::string(minimal_config) + "rules:\n  - name: wazuh\n    match: {source: wazuh}\n" +
                               std::string(last));
    ASSERT_EQ(cfg.rules.size(), 2u);
    EXPECT_TRUE(cfg.rules[1].match.catch_all());
  }
}

// A rule whose only condition is wrong lost that condition while loading; it
// must not then count as a catch-all and bury the rules below it in errors.
TEST(ConfigLoader, ARuleWithABrokenMatchIsNotTakenForACatchAll) {
  const std::string text = std::string(minimal_config) +
                           "rules:\n"                             // 13
                           "  - name: broken\n"                   // 14
                           "    match: {title: 'ransom(ware'}\n"  // 15
                           "  - name: next\n"                     // 16
                           "    match: {source: guardz}\n";       // 17
  const load_result r = load_config_from_string(text, "cfg.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(),
            "cfg.yaml:15:20: rules[0].match.title: bad regular expression: missing closing parenthesis at offset 11");
}

TEST(ConfigLoader, DuplicateRuleNamesAreEachReported) {
  const std::string text = std::string(minimal_config) +
                           "rules:\n"                   // 13
                           "  - name: x\n"              // 14
                           "    match: {source: a}\n"   // 15
                           "  - name: x\n"              // 16
                           "    match: {source: b}\n"   // 17
                           "  - name: x\n"              // 18
                           "    match: {source: c}\n";  // 19
  const load_result r = load_config_from_string(text, "cfg.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "cfg.yaml:16:5: rules[1]: duplicate rule name 'x' (first at line 14)");
  EXPECT_EQ(r.errors[1].to_string(), "cfg.yaml:18:5: rules[2]: duplicate rule name 'x' (first at line 14)");
}

TEST(ConfigLoader, MisspeltAttributeOperatorIsSuggested) {
  const std::string text = std::string(minimal_config) +
                           "rules:\n"                   // 13
                           "  - name: a\n"              // 14
                           "    match:\n"               // 15
                           "      attributes:\n"        // 16
                           "        - pointer: /os\n"   // 17
                           "          equal: linux\n";  // 18
  const load_result r = load_config_from_string(text, "cfg.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(),
            "cfg.yaml:17:11: rules[0].match.attributes[0]: give exactly one of 'equals', 'in' or 'regex'");
  EXPECT_EQ(r.errors[1].to_string(),
            "cfg.yaml:18:11: unknown key 'equal' in 'rules[0].match.attributes[0]'; did you mean 'equals'?");
}

TEST(ConfigLoader, ErrorsInSeveralRulesComeInFileOrder) {
  const std::string text = std::string(minimal_config) +
                           "rules:\n"                                        // 13
                           "  - name: one\n"                                 // 14
                           "    match: {severity: hgh, tenant: [\"\"]}\n"    // 15
                           "    ticket: {severity: Critical}\n"              // 16
                           "  - match: {source: x}\n"                        // 17
                           "    ticket: {custom_fields: {A: \"{{#a}}\"}}\n"  // 18
                           "storm: {max_new_tickets_per_hour: -5}\n";        // 19
  const load_result r = load_config_from_string(text, "cfg.yaml");
  const std::vector<std::string> want = {
      "cfg.yaml:15:23: rules[0].match.severity: must be one of critical, high, medium, low, info, got 'hgh'",
      "cfg.yaml:15:37: rules[0].match.tenant[0]: must not be empty",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one message, split to fit the line
      "cfg.yaml:16:24: rules[0].ticket.severity: must be one of Low, Medium, High (as ConnectWise spells them), got "
      "'Critical'",
      "cfg.yaml:17:5: missing required key 'rules[1].name'",
      "cfg.yaml:18:33: rules[1].ticket.custom_fields.A: bad template: Unclosed section \"a\" at 0",
      "cfg.yaml:19:35: storm.max_new_tickets_per_hour: must be between 0 and 1000000, got '-5'",
  };
  std::vector<std::string> got;
  for (const config_error& e : r.errors) got.push_back(e.to_string());
  EXPECT_EQ(got, want);
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
  EXPECT_EQ(cfg.psa.private_key.from, secret_ref::kind::credential);
  EXPECT_EQ(cfg.psa.private_key.ref, "cw-private-key");  // the packaged unit's LoadCredential=
  // The admin socket is off by default; the reference (the packaged file) turns it on.
  EXPECT_EQ(cfg.admin.socket, "/run/ticketsync/admin.sock");
  EXPECT_EQ(cfg.admin.socket_group, "ticketsync-submit");
  EXPECT_EQ(cfg.admin.socket_mode, defaults.admin.socket_mode);
  EXPECT_EQ(cfg.admin.listen, defaults.admin.listen);
  EXPECT_EQ(cfg.admin.max_body_bytes, defaults.admin.max_body_bytes);
  EXPECT_EQ(cfg.admin.max_inbox_depth, defaults.admin.max_inbox_depth);
  EXPECT_EQ(cfg.admin.max_connections, defaults.admin.max_connections);
  EXPECT_EQ(cfg.logging.fmt, defaults.logging.fmt);
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
  EXPECT_EQ(cfg.ticket.closed_status, defaults.ticket.closed_status);
  EXPECT_EQ(cfg.ticket.reopen_status, defaults.ticket.reopen_status);
  EXPECT_EQ(cfg.ticket.cw_severity, defaults.ticket.cw_severity);
  EXPECT_EQ(cfg.ticket.cw_impact, defaults.ticket.cw_impact);
  EXPECT_EQ(cfg.ticket.type, defaults.ticket.type);
  EXPECT_EQ(cfg.ticket.subtype, defaults.ticket.subtype);
  EXPECT_EQ(cfg.ticket.item, defaults.ticket.item);
  EXPECT_EQ(cfg.ticket.team, defaults.ticket.team);
  EXPECT_EQ(cfg.ticket.source, defaults.ticket.source);
  EXPECT_EQ(cfg.ticket.custom_fields, defaults.ticket.custom_fields);
  EXPECT_EQ(cfg.ticket.update_note_template, defaults.ticket.update_note_template);
  EXPECT_EQ(cfg.ticket.resolve_note_template, defaults.ticket.resolve_note_template);
  EXPECT_EQ(cfg.ticket.reopen_note_template, defaults.ticket.reopen_note_template);
  EXPECT_EQ(cfg.ticket.lifecycle.on_update, defaults.ticket.lifecycle.on_update);
  EXPECT_EQ(cfg.ticket.lifecycle.on_resolve, defaults.ticket.lifecycle.on_resolve);
  EXPECT_EQ(cfg.ticket.lifecycle.reopen_window, defaults.ticket.lifecycle.reopen_window);
  EXPECT_EQ(cfg.ticket.lifecycle.on_technician_close, defaults.ticket.lifecycle.on_technician_close);
  // `unmapped` is shown as `default` next to a default company: its derived default.
  EXPECT_FALSE(cfg.companies.default_company.empty());
  EXPECT_EQ(cfg.companies.unmapped, unmapped_policy::default_company);
  EXPECT_EQ(cfg.storm.max_new_tickets_per_hour, defaults.storm.max_new_tickets_per_hour);
  EXPECT_EQ(cfg.storm.digest_summary, defaults.storm.digest_summary);
  EXPECT_EQ(cfg.storm.digest_note, defaults.storm.digest_note);
  EXPECT_EQ(cfg.storage.database, defaults.storage.database);
  EXPECT_EQ(cfg.intake.spool_dir, defaults.intake.spool_dir);
  EXPECT_EQ(cfg.intake.max_event_bytes, defaults.intake.max_event_bytes);
  EXPECT_EQ(cfg.intake.rescan_interval, defaults.intake.rescan_interval);
  EXPECT_EQ(cfg.intake.batch_size, defaults.intake.batch_size);
  EXPECT_EQ(cfg.logging.level, defaults.logging.level);
}

// The example rules have no default to compare with; they must stay
// consistent with the top level they are documented against, and name only
// boards, types, subtypes, items and teams that exist (tests/cwsim/seed.json).
TEST(ShippedConfigs, ReferenceExampleRules) {
  const load_result r = load_config(repo_config_dir() / "ticketsync.yaml");
  ASSERT_TRUE(r.cfg.has_value()) << all_errors(r);
  const config& cfg = *r.cfg;
  ASSERT_EQ(cfg.rules.size(), 3u);
  EXPECT_EQ(cfg.rules[0].name, "critical-ransomware");
  EXPECT_EQ(cfg.rules[1].name, "acme-identity-alerts");
  EXPECT_EQ(cfg.rules[2].name, "vulnerabilities-to-help-desk");
  for (const auto& rule : cfg.rules) {
    SCOPED_TRACE(rule.name);
    EXPECT_FALSE(rule.match.catch_all());
    const auto& t = rule.ticket;
    EXPECT_TRUE(t.board == "Security Incidents" || t.board == "Help Desk") << t.board;
    if (t.board == "Security Incidents") {
      EXPECT_TRUE(t.type == "Security Alert" || t.type == "Vulnerability" || t.type == "Incident") << t.type;
      EXPECT_TRUE(t.item.empty() || t.item == "Investigate" || t.item == "Remediate" || t.item == "Monitor");
      EXPECT_TRUE(t.team.empty() || t.team == "SOC Tier 1" || t.team == "SOC Tier 2") << t.team;
    } else {
      EXPECT_TRUE(t.type == "Request" || t.type == "Problem") << t.type;
      EXPECT_TRUE(t.item.empty() || t.item == "Workstation" || t.item == "Server") << t.item;
      EXPECT_TRUE(t.team.empty() || t.team == "Service Desk") << t.team;
    }
  }
  const auto& ransomware = cfg.rules[0].ticket;
  EXPECT_EQ(ransomware.priority.at(ts::severity::critical), "Priority 1 - Emergency Response");
  EXPECT_EQ(ransomware.type, "Incident");
  EXPECT_EQ(ransomware.board, cfg.ticket.board);  // inherited
  EXPECT_EQ(ransomware.lifecycle.on_technician_close, technician_close_policy::reopen);
  const auto& vulns = cfg.rules[2].ticket;
  EXPECT_EQ(vulns.board, "Help Desk");
  EXPECT_EQ(vulns.closed_status, "Completed");
  EXPECT_EQ(vulns.team, "Service Desk");
  EXPECT_EQ(vulns.summary_template, "[vuln] {{title}}");
  EXPECT_EQ(vulns.description_template, cfg.ticket.description_template);  // inherited
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
  EXPECT_EQ(cfg.companies.unmapped, unmapped_policy::default_company);
}

// config/check-config-mistakes.yaml holds exactly ten distinct mistakes, listed
// in its header; check-config must report each, and nothing else.
TEST(ShippedConfigs, TheTenMistakesFileReportsExactlyItsTenMistakes) {
  const fs::path file = fs::path(TS_SOURCE_DIR) / "config" / "check-config-mistakes.yaml";
  const load_result r = load_config(file);
  EXPECT_FALSE(r.cfg.has_value());
  struct expected {
    int line;
    int column;
    const char* fragment;
  };
  const expected want[] = {
      {28, 16, "psa.private_key: the private key must not be written inline"},
      {49, 3, "duplicate key 'ticket.status' (first defined at line 47)"},
      {60, 25, "ticket.custom_fields.Security Issue Key: bad template: Unclosed tag at 22"},
      {64, 5, "unknown key 'reopen_windw' in 'ticket.lifecycle'; did you mean 'reopen_window'?"},
      {71, 14, "rules[0].match.title: bad regular expression: missing closing parenthesis at offset 20"},
      {72, 13, "rules[0].match.tags: expected a mapping, got a list"},
      {83, 28, "rules[1].match.severity[1]: must be one of critical, high, medium, low, info, got 'hihg'"},
      {85, 20, "rules[1].match.attributes[0].pointer: a JSON pointer starts with '/'"},
      {95, 5, "rules[3]: rule 'vulnerabilities' can never match: rule 'everything-else' (line 91) above it"},
      {113, 20, "intake.rescan_interval: a duration needs a unit"},
  };
  ASSERT_EQ(r.errors.size(), std::size(want)) << all_errors(r);
  for (std::size_t i = 0; i < std::size(want); ++i) {
    SCOPED_TRACE(r.errors[i].to_string());
    EXPECT_EQ(r.errors[i].file, file.string());
    EXPECT_EQ(r.errors[i].line, want[i].line);
    EXPECT_EQ(r.errors[i].column, want[i].column);
    EXPECT_NE(r.errors[i].message.find(want[i].fragment), std::string::npos);
  }
  // The header lists the same ten positions.
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (std::size_t i = 0; i < std::size(want); ++i) {
    const std::string listed = "#   " + std::string(i + 1 < 10 ? " " : "") + std::to_string(i + 1) + ". " +
                               std::to_string(want[i].line) + ":" + std::to_string(want[i].column) + " ";
    EXPECT_NE(text.find(listed), std::string::npos) << listed;
  }
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

TEST(ResolveSecret, SystemdCredential) {
  const temp_dir dir;
  dir.write("cw-private-key", "from-credential\n");
  {
    const scoped_env env("CREDENTIALS_DIRECTORY", dir.path().c_str());
    std::string why;
    EXPECT_EQ(resolve_secret({secret_ref::kind::credential, "cw-private-key"}, &why), "from-credential");
    EXPECT_EQ(resolve_secret({secret_ref::kind::credential, "other"}, &why), std::nullopt);
    EXPECT_NE(why.find((dir.path() / "other").string()), std::string::npos) << why;
  }
  {
    const scoped_env env("CREDENTIALS_DIRECTORY", nullptr);
    std::string why;
    EXPECT_EQ(resolve_secret({secret_ref::kind::credential, "cw-private-key"}, &why), std::nullopt);
    EXPECT_NE(why.find("CREDENTIALS_DIRECTORY is not set"), std::string::npos) << why;
    EXPECT_NE(why.find("LoadCredential=cw-private-key"), std::string::npos) << why;
  }
}

//------------------------------------------------------------------------------
// admin listener, log format, credentials

TEST(ConfigLoader, AdminAndLogFormatKeys) {
  const std::string text = std::string(minimal_config) +
                           "logging:\n"
                           "  format: json\n"
                           "admin:\n"
                           "  socket: run/admin.sock\n"
                           "  socket_mode: \"0600\"\n"
                           "  socket_group: ticketsync-submit\n"
                           "  listen: 127.0.0.1:9187\n"
                           "  token: {credential: admin-token}\n"
                           "  max_body_size: 2MiB\n"
                           "  max_inbox_depth: 500\n"
                           "  max_connections: 8\n";
  const config c = load_ok(text);
  EXPECT_EQ(c.logging.fmt, ts::config::logging_config::format::json);
  EXPECT_EQ(c.admin.socket, "/etc/ts/run/admin.sock");
  EXPECT_EQ(c.admin.socket_mode, 0600u);
  EXPECT_EQ(c.admin.socket_group, "ticketsync-submit");
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9187");
  EXPECT_EQ(c.admin.token.from, secret_ref::kind::credential);
  EXPECT_EQ(c.admin.token.ref, "admin-token");
  EXPECT_EQ(c.admin.max_body_bytes, 2u << 20);
  EXPECT_EQ(c.admin.max_inbox_depth, 500u);
  EXPECT_EQ(c.admin.max_connections, 8u);
  EXPECT_TRUE(c.admin.enabled());
}

TEST(ConfigLoader, AdminDefaultsAreOffAndTextLogs) {
  const config c = load_ok(minimal_config);
  EXPECT_FALSE(c.admin.enabled());
  EXPECT_EQ(c.admin.socket_mode, 0660u);
  EXPECT_EQ(c.admin.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.admin.max_inbox_depth, 10'000u);
  EXPECT_EQ(c.logging.fmt, ts::config::logging_config::format::text);
}

TEST(ConfigLoader, PrivateKeyAsCredential) {
  const config c = load_ok(replace_once(minimal_config, "{env: TS_KEY}", "{credential: cw-private-key}"));
  EXPECT_EQ(c.psa.private_key.from, secret_ref::kind::credential);
  EXPECT_EQ(c.psa.private_key.ref, "cw-private-key");
}

TEST(ConfigLoader, AdminMistakesAreReportedWithPositions) {
  const struct {
    const char* lines;  // appended after minimal_config (line 13 on)
    const char* want;
  } cases[] = {
      {"admin:\n  listen: 127.0.0.1\n", ":14:11: admin.listen: expected HOST:PORT"},
      {"admin:\n  listen: 127.0.0.1:70000\n", ":14:11: admin.listen: port must be a number from 0"},
      {"admin:\n  listen: ::1:9187\n", ":14:11: admin.listen: an IPv6 address goes in brackets"},
      {"admin:\n  listen: 127.0.0.1:9187\n", "admin.token: required when admin.listen is set"},
      {"admin:\n  token: s3cret-inline\n", ":14:10: admin.token: the admin token must not be written inline"},
      {"admin:\n  token: {credential: a/b}\n", "admin.token.credential: expected a credential name"},
      {"admin:\n  token: {file: t, env: T}\n", "admin.token: give exactly one of 'file', 'credential' or 'env'"},
      {"admin:\n  socket_mode: \"0999\"\n", ":14:16: admin.socket_mode: expected an octal file mode"},
      {"admin:\n  max_body_size: 10\n", ":14:18: admin.max_body_size: must be between"},
      {"admin:\n  lisen: 127.0.0.1:1\n", ":14:3: unknown key 'lisen' in 'admin'; did you mean 'listen'?"},
      {"logging:\n  format: xml\n", ":14:11: logging.format: must be one of text, json"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.lines);
    const load_result r = load_config_from_string(std::string(minimal_config) + c.lines, config_name);
    EXPECT_FALSE(r.cfg.has_value());
    EXPECT_NE(all_errors(r).find(c.want), std::string::npos) << all_errors(r);
    // The inline token never appears in a message.
    EXPECT_EQ(all_errors(r).find("s3cret-inline"), std::string::npos) << all_errors(r);
  }
}

TEST(ConfigEnums, EveryChoiceHasOneName) {
  using namespace ts::config;
  ts::test::expect_bijective_table<unmapped_policy>(2);
  ts::test::expect_bijective_table<on_update_policy>(3);
  ts::test::expect_bijective_table<on_resolve_policy>(3);
  ts::test::expect_bijective_table<technician_close_policy>(4);
  ts::test::expect_bijective_table<logging_config::format>(2);
  EXPECT_EQ(ts::text_choices<technician_close_policy>(), "respect, reopen, new_ticket, note");
}
