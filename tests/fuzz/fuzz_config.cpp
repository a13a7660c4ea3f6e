// libFuzzer target for the configuration loader (config/config_loader.hpp).
// Arbitrary bytes are loaded as a configuration file; nothing may crash, hang
// or throw. What the loader promises is checked:
//   - a result is either a configuration or errors, never both or neither;
//   - every error names the file, has a message, a position that is either
//     unknown (0:0) or 1-based, comes in file order, and (for input that is
//     UTF-8 without the control characters YAML forbids) is valid UTF-8;
//   - an accepted configuration is consistent with what the loader validates:
//     required values set, every rule named (uniquely) with its line, no rule
//     below a catch-all, regexes compile, templates render, enumerations in
//     range, JSON pointers well-formed, company identifiers 1..30 characters;
//   - the accepted rules decide a sample event without crashing, and a
//     rendered summary stays within ConnectWise's 100 UTF-16 units.
// Seeds: tests/fuzz/corpus/config/ (the shipped config/*.yaml and a few small
// files). Build and run: scripts/fuzz.sh (TS_FUZZ=ON).
#include "config/config_loader.hpp"
#include "fuzz/fuzz_check.hpp"
#include "rules/mapping.hpp"
#include "rules/regex.hpp"
#include "rules/ruleset.hpp"
#include "support/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace cfgns = ts::config;

// Configuration files are small; larger inputs only slow the search down.
constexpr std::size_t max_input = 64u << 10;

const std::string file_name = "/etc/ticketsync/fuzz.yaml";

using ts::test::is_valid_utf8;

void check_errors(const cfgns::load_result& r, bool utf8_input) {
  CHECK(!r.cfg.has_value());
  std::pair<int, int> previous{0, 0};
  for (const cfgns::config_error& e : r.errors) {
    const std::string text = e.to_string();
    CHECK(e.file == file_name, text);
    CHECK(!e.message.empty(), text);
    CHECK(e.line >= 0 && e.column >= 0, text);
    CHECK((e.line == 0) == (e.column == 0), text);
    const std::pair<int, int> at{e.line, e.column};
    CHECK(previous <= at, text);  // file order
    previous = at;
    if (utf8_input) CHECK(is_valid_utf8(e.message), text);
  }
}

bool renders(const std::string& tmpl) {
  return ts::rules::render_template("t", tmpl, nlohmann::json::object()).has_value();
}

bool compiles(const std::string& pattern) { return ts::rules::regex::compile(pattern, nullptr).has_value(); }

bool is_cw_level(const std::string& v) { return v == "Low" || v == "Medium" || v == "High"; }

void check_company(const std::string& identifier) { CHECK(!identifier.empty() && identifier.size() <= 30, identifier); }

void check_ticket(const cfgns::ticket_config& t) {
  CHECK(!t.board.empty());
  CHECK(!t.status.empty());
  CHECK(!t.closed_status.empty());
  CHECK(t.priority.size() == 5);
  for (const auto& [sev, name] : t.priority) CHECK(!name.empty());
  CHECK(t.cw_severity.size() == 5);
  CHECK(t.cw_impact.size() == 5);
  for (const auto& [sev, level] : t.cw_severity) CHECK(is_cw_level(level), level);
  for (const auto& [sev, level] : t.cw_impact) CHECK(is_cw_level(level), level);
  CHECK(!t.summary_template.empty());
  CHECK(!t.update_note_template.empty());
  CHECK(!t.reopen_note_template.empty());
  for (const std::string* tmpl : {&t.summary_template, &t.description_template, &t.update_note_template,
                                  &t.resolve_note_template, &t.reopen_note_template})
    CHECK(renders(*tmpl), *tmpl);
  for (const auto& [caption, tmpl] : t.custom_fields) {
    CHECK(!caption.empty());
    CHECK(renders(tmpl), tmpl);
  }
  CHECK(t.lifecycle.reopen_window.count() >= 0);
}

void check_match(const cfgns::match_spec& m) {
  for (const std::string& s : m.sources) CHECK(!s.empty());
  for (const std::string& s : m.tenants) CHECK(!s.empty());
  for (const std::string& s : m.categories) CHECK(!s.empty());
  for (const std::string& s : m.tags_any) CHECK(!s.empty());
  for (const std::string& s : m.tags_all) CHECK(!s.empty());
  if (!m.title_regex.empty()) CHECK(compiles(m.title_regex), m.title_regex);
  for (const cfgns::attribute_match& a : m.attributes) {
    CHECK(!a.pointer.empty() && a.pointer.front() == '/', a.pointer);
    switch (a.what) {
      case cfgns::attribute_match::op::equals: CHECK(a.values.size() == 1); break;
      case cfgns::attribute_match::op::in: CHECK(!a.values.empty()); break;
      case cfgns::attribute_match::op::regex: CHECK(compiles(a.regex), a.regex); break;
    }
  }
}

void check_config(const cfgns::load_result& r) {
  CHECK(r.cfg.has_value());
  const cfgns::config& cfg = *r.cfg;
  CHECK(cfg.source_path == file_name);
  CHECK(!cfg.psa.site.empty());
  CHECK(!cfg.psa.company_id.empty());
  CHECK(!cfg.psa.public_key.empty());
  CHECK(!cfg.psa.client_id.empty());
  CHECK(cfg.psa.private_key.from != cfgns::secret_ref::kind::none);
  CHECK(!cfg.psa.private_key.ref.empty());
  CHECK(cfg.psa.max_connections >= 1 && cfg.psa.max_connections <= 64);
  CHECK(cfg.psa.requests_per_minute > 0);

  const cfgns::companies_config& c = cfg.companies;
  if (!c.default_company.empty()) check_company(c.default_company);
  for (const auto& [tenant, company] : c.tenants) {
    CHECK(!tenant.empty());
    check_company(company);
  }
  for (const auto& [source, tenants] : c.by_source) {
    CHECK(!source.empty());
    for (const auto& [tenant, company] : tenants) {
      CHECK(!tenant.empty());
      check_company(company);
    }
  }
  if (c.unmapped == cfgns::unmapped_policy::default_company) CHECK(!c.default_company.empty());

  check_ticket(cfg.ticket);
  std::set<std::string> names;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const cfgns::rule& rule = cfg.rules[i];
    CHECK(!rule.name.empty());
    CHECK(names.insert(rule.name).second, rule.name);
    CHECK(rule.line >= 1);
    CHECK(i == 0 || rule.line >= cfg.rules[i - 1].line);  // file order
    // A catch-all may only be the last rule.
    if (rule.match.catch_all()) CHECK(i + 1 == cfg.rules.size(), rule.name);
    check_match(rule.match);
    check_ticket(rule.ticket);
  }

  CHECK(cfg.storm.max_new_tickets_per_hour >= 0 && cfg.storm.max_new_tickets_per_hour <= 1'000'000);
  CHECK(renders(cfg.storm.digest_summary) && renders(cfg.storm.digest_note));
  CHECK(cfg.intake.max_event_bytes >= (1u << 10) && cfg.intake.max_event_bytes <= (16u << 20));
  CHECK(cfg.intake.batch_size >= 1 && cfg.intake.batch_size <= 10'000);
  CHECK(cfg.intake.rescan_interval.count() > 0);
  CHECK(!cfg.storage.database.empty());

  // The accepted rules decide sample events: templates that passed the
  // loader render, and the summary fits ConnectWise.
  const ts::rules::ruleset rules(std::make_shared<const cfgns::config>(cfg));
  ts::event ev;
  ev.source = "defender";
  ev.tenant = "acme-prod";
  ev.issue_id = "alert-1";
  ev.title = "Ransomware behavior detected on FIN-LT-0231";
  ev.category = "ransomware";
  ev.tags = {"ransomware", "endpoint"};
  ev.updated_at_text = "2026-03-09T09:02:51Z";
  ev.attributes = nlohmann::json{{"device", {{"os", "Windows 11"}}}, {"mfa_passed", false}, {"score", 87.5}};
  for (ts::severity sev : {ts::severity::critical, ts::severity::info}) {
    ev.severity = sev;
    const ts::rules::decision d = rules.decide(ev);
    CHECK(!d.checks.empty());
    CHECK(d.ticket != nullptr);
    CHECK(d.rule_index < static_cast<int>(cfg.rules.size()));
    CHECK(!(d.desired && d.error));
    if (d.held()) CHECK(!d.desired && !d.error);
    if (d.desired) {
      CHECK(ts::rules::utf16_length(d.desired->summary) <= 100, d.desired->summary);
      CHECK(d.desired->rule == d.rule);
    }
    CHECK(&rules.ticket_for(d.rule) == d.ticket, d.rule);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > max_input) return -1;  // not added to the corpus
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const cfgns::load_result r = cfgns::load_config_from_string(input, file_name);
  CHECK(r.cfg.has_value() != !r.errors.empty());
  // yaml-cpp decodes a stream holding NUL and other C0 controls (which YAML
  // does not allow) as UTF-16/32 or garbles it; keys and values it returns
  // may then be anything, and error messages quote them.
  const bool yaml_text = is_valid_utf8(input) && std::none_of(input.begin(), input.end(), [](char c) {
                           return static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
                         });
  if (r.cfg)
    check_config(r);
  else
    check_errors(r, yaml_text);
  return 0;
}
