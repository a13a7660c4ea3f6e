// Unit tests for rules/ruleset: matching (every condition kind, both ways;
// first match wins; the default), the why-texts of `explain`, glob and regex
// edge cases, the company choice, severity maps, rendering through a decision
// (unicode, the 100-unit summary cut, control characters, custom fields,
// template errors), and ticket_for() across a reload.
#include "rules/ruleset.hpp"
#include "support/utf8.hpp"

#include "config/config_loader.hpp"
#include "core/issue_key.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using ts::test::is_valid_utf8;

using json = nlohmann::json;
using ts::config::attribute_match;
using ts::config::match_spec;
using ts::rules::decision;
using ts::rules::glob_match;
using ts::rules::ruleset;
using ts::rules::utf16_length;

const std::string ellipsis = "\u2026";
constexpr ts::severity all_severities[] = {ts::severity::critical, ts::severity::high, ts::severity::medium,
                                           ts::severity::low, ts::severity::info};

ts::event base_event() {
  ts::event ev;
  ev.source = "wazuh";
  ev.tenant = "acme-prod";
  ev.issue_id = "alert-42";
  ev.severity = ts::severity::high;
  ev.title = "SSH brute force on srv01";
  ev.updated_at_text = "2026-01-02T03:04:05Z";
  return ev;
}

// A configuration with a mapped tenant and a complete top-level ticket.
ts::config::config base_config() {
  ts::config::config cfg;
  cfg.companies.tenants = {{"acme-prod", "AcmeCorp"}, {"globex", "Globex"}};
  cfg.ticket.board = "Security Incidents";
  cfg.ticket.status = "New";
  for (auto sev : all_severities) cfg.ticket.priority[sev] = "Priority 3 - Normal Response";
  return cfg;
}

ts::config::rule make_rule(std::string name, match_spec m, int line = 0) {
  ts::config::rule r;
  r.name = std::move(name);
  r.match = std::move(m);
  r.line = line;
  return r;
}

decision decide(const ts::config::config& cfg, const ts::event& ev) {
  return ruleset(std::make_shared<const ts::config::config>(cfg)).decide(ev);
}

//------------------------------------------------------------------------------
// One condition at a time: does the rule match, and what does it say

struct condition_case {
  const char* label;
  std::function<void(match_spec&)> spec;
  std::function<void(ts::event&)> event;  ///< applied to base_event()
  bool matches;
  std::string why;  ///< the one why-text (the condition that held, or that failed)
};

match_spec attr(std::string pointer, attribute_match::op op, std::vector<std::string> values, std::string re = {}) {
  match_spec m;
  m.attributes.push_back({std::move(pointer), op, std::move(values), std::move(re)});
  return m;
}

const auto eq = attribute_match::op::equals;
const auto in = attribute_match::op::in;
const auto re = attribute_match::op::regex;

std::function<void(match_spec&)> attribute(std::string pointer, attribute_match::op op, std::vector<std::string> values,
                                           std::string regex = {}) {
  return [=](match_spec& m) { m.attributes.push_back({pointer, op, values, regex}); };
}

std::function<void(ts::event&)> attributes(std::string text) {
  return [=](ts::event& ev) { ev.attributes = json::parse(text); };
}

const auto nothing = [](ts::event&) {};

const condition_case condition_cases[] = {
    // source: any of, exact
    {"source in list",
     [](match_spec& m) {
       m.sources = {"guardz", "wazuh"};
     },
     nothing, true, "source 'wazuh' is in [guardz, wazuh]"},
    {"source not in list",
     [](match_spec& m) {
       m.sources = {"guardz", "defender"};
     },
     nothing, false, "source 'wazuh' is not in [guardz, defender]"},
    {"source is case-sensitive", [](match_spec& m) { m.sources = {"Wazuh"}; }, nothing, false,
     "source 'wazuh' is not in [Wazuh]"},
    {"source is not a glob", [](match_spec& m) { m.sources = {"wa*"}; }, nothing, false,
     "source 'wazuh' is not in [wa*]"},
    // tenant: any of, glob
    {"tenant glob",
     [](match_spec& m) {
       m.tenants = {"globex", "acme-*"};
     },
     nothing, true, "tenant 'acme-prod' matches 'acme-*'"},
    {"tenant exact", [](match_spec& m) { m.tenants = {"acme-prod"}; }, nothing, true,
     "tenant 'acme-prod' matches 'acme-prod'"},
    {"tenant no glob matches",
     [](match_spec& m) {
       m.tenants = {"acme-?", "*-test"};
     },
     nothing, false, "tenant 'acme-prod' matches none of [acme-?, *-test]"},
    // severity: any of
    {"severity in list",
     [](match_spec& m) {
       m.severities = {ts::severity::critical, ts::severity::high};
     },
     nothing, true, "severity high is in [critical, high]"},
    {"severity not in list", [](match_spec& m) { m.severities = {ts::severity::critical}; }, nothing, false,
     "severity high is not in [critical]"},
    // min_severity: at least
    {"min_severity equal", [](match_spec& m) { m.min_severity = ts::severity::high; }, nothing, true,
     "severity high is at least high"},
    {"min_severity above", [](match_spec& m) { m.min_severity = ts::severity::medium; },
     [](ts::event& ev) { ev.severity = ts::severity::critical; }, true, "severity critical is at least medium"},
    {"min_severity below", [](match_spec& m) { m.min_severity = ts::severity::critical; }, nothing, false,
     "severity high is below critical"},
    {"min_severity info takes everything", [](match_spec& m) { m.min_severity = ts::severity::info; },
     [](ts::event& ev) { ev.severity = ts::severity::info; }, true, "severity info is at least info"},
    {"min_severity low refuses info", [](match_spec& m) { m.min_severity = ts::severity::low; },
     [](ts::event& ev) { ev.severity = ts::severity::info; }, false, "severity info is below low"},
    // category: any of, glob; the event may have none
    {"category glob", [](match_spec& m) { m.categories = {"malware/*"}; },
     [](ts::event& ev) { ev.category = "malware/ransomware"; }, true,
     "category 'malware/ransomware' matches 'malware/*'"},
    {"category mismatch",
     [](match_spec& m) {
       m.categories = {"malware/*", "phish*"};
     },
     [](ts::event& ev) { ev.category = "vulnerability"; }, false,
     "category 'vulnerability' matches none of [malware/*, phish*]"},
    {"category absent", [](match_spec& m) { m.categories = {"*"}; }, nothing, false,
     "the event has no category (wanted [*])"},
    {"category empty matches star", [](match_spec& m) { m.categories = {"*"}; },
     [](ts::event& ev) { ev.category = ""; }, true, "category '' matches '*'"},
    // tags
    {"tags any: one present",
     [](match_spec& m) {
       m.tags_any = {"ransomware", "edr"};
     },
     [](ts::event& ev) {
       ev.tags = {"endpoint", "edr"};
     },
     true, "tag 'edr' is one of [ransomware, edr]"},
    {"tags any: none present", [](match_spec& m) { m.tags_any = {"ransomware"}; },
     [](ts::event& ev) {
       ev.tags = {"endpoint", "edr"};
     },
     false, "tags [endpoint, edr] include none of [ransomware]"},
    {"tags any: event without tags", [](match_spec& m) { m.tags_any = {"a"}; }, nothing, false,
     "tags [] include none of [a]"},
    {"tags all: every one present",
     [](match_spec& m) {
       m.tags_all = {"edr", "endpoint"};
     },
     [](ts::event& ev) {
       ev.tags = {"endpoint", "x", "edr"};
     },
     true, "tags include all of [edr, endpoint]"},
    {"tags all: one missing",
     [](match_spec& m) {
       m.tags_all = {"edr", "endpoint"};
     },
     [](ts::event& ev) { ev.tags = {"edr"}; }, false, "tag 'endpoint' is missing (all of [edr, endpoint] wanted)"},
    {"tags are case-sensitive", [](match_spec& m) { m.tags_any = {"EDR"}; }, [](ts::event& ev) { ev.tags = {"edr"}; },
     false, "tags [edr] include none of [EDR]"},
    // title regex (PCRE2, unanchored)
    {"title regex (?i)", [](match_spec& m) { m.title_regex = "(?i)ransom"; },
     [](ts::event& ev) { ev.title = "RANSOMWARE behaviour on FIN-LT-0231"; }, true, "title matches /(?i)ransom/"},
    {"title regex case-sensitive", [](match_spec& m) { m.title_regex = "ransom"; },
     [](ts::event& ev) { ev.title = "Ransomware"; }, false, "title does not match /ransom/"},
    {"title regex unanchored", [](match_spec& m) { m.title_regex = "brute"; }, nothing, true, "title matches /brute/"},
    {"title regex anchored", [](match_spec& m) { m.title_regex = "^brute"; }, nothing, false,
     "title does not match /^brute/"},
    {"title regex perl classes", [](match_spec& m) { m.title_regex = R"(\bCVE-\d{4}-\d{4,}\b)"; },
     [](ts::event& ev) { ev.title = "CVE-2024-6387 (regreSSHion) in openssh"; }, true,
     R"(title matches /\bCVE-\d{4}-\d{4,}\b/)"},
    {"title regex on unicode", [](match_spec& m) { m.title_regex = "^Verd.chtig"; },
     [](ts::event& ev) { ev.title = "Verd\u00E4chtige Anmeldung"; }, true, "title matches /^Verd.chtig/"},
    {"title regex (?i) on unicode", [](match_spec& m) { m.title_regex = "(?i)\u00C4RGER"; },
     [](ts::event& ev) { ev.title = "\u00E4rger"; }, true, "title matches /(?i)\u00C4RGER/"},
    // attributes: equals
    {"attribute equals string", attribute("/device/os", eq, {"Windows 11"}),
     attributes(R"({"device": {"os": "Windows 11"}})"), true, "attribute /device/os = 'Windows 11'"},
    {"attribute equals other string", attribute("/device/os", eq, {"Windows 11"}),
     attributes(R"({"device": {"os": "Debian 12"}})"), false, "attribute /device/os = 'Debian 12' is not 'Windows 11'"},
    {"attribute equals is case-sensitive", attribute("/os", eq, {"linux"}), attributes(R"({"os": "Linux"})"), false,
     "attribute /os = 'Linux' is not 'linux'"},
    {"attribute integer", attribute("/count", eq, {"3"}), attributes(R"({"count": 3})"), true,
     "attribute /count = '3'"},
    {"attribute integer as a string", attribute("/count", eq, {"3"}), attributes(R"({"count": "3"})"), true,
     "attribute /count = '3'"},
    {"attribute float compares as JSON text", attribute("/count", eq, {"3"}), attributes(R"({"count": 3.0})"), false,
     "attribute /count = '3.0' is not '3'"},
    {"attribute negative number", attribute("/delta", eq, {"-7"}), attributes(R"({"delta": -7})"), true,
     "attribute /delta = '-7'"},
    {"attribute large unsigned", attribute("/id", eq, {"18446744073709551615"}),
     attributes(R"({"id": 18446744073709551615})"), true, "attribute /id = '18446744073709551615'"},
    {"attribute boolean false", attribute("/mfa_passed", eq, {"false"}), attributes(R"({"mfa_passed": false})"), true,
     "attribute /mfa_passed = 'false'"},
    {"attribute boolean true is not false", attribute("/mfa_passed", eq, {"false"}),
     attributes(R"({"mfa_passed": true})"), false, "attribute /mfa_passed = 'true' is not 'false'"},
    {"attribute missing", attribute("/nope", eq, {"x"}), attributes(R"({"yes": "x"})"), false,
     "attribute /nope is absent (or not a scalar)"},
    {"attribute missing parent", attribute("/a/b/c", eq, {"x"}), attributes(R"({"a": {"x": 1}})"), false,
     "attribute /a/b/c is absent (or not a scalar)"},
    {"attribute through a scalar", attribute("/a/b", eq, {"x"}), attributes(R"({"a": "text"})"), false,
     "attribute /a/b is absent (or not a scalar)"},
    {"attribute null", attribute("/a", eq, {"null"}), attributes(R"({"a": null})"), false,
     "attribute /a is absent (or not a scalar)"},
    {"attribute object", attribute("/a", eq, {"{}"}), attributes(R"({"a": {}})"), false,
     "attribute /a is absent (or not a scalar)"},
    {"attribute list", attribute("/a", eq, {"x"}), attributes(R"({"a": ["x"]})"), false,
     "attribute /a is absent (or not a scalar)"},
    {"attribute list element", attribute("/hosts/1/name", eq, {"srv02"}),
     attributes(R"({"hosts": [{"name": "srv01"}, {"name": "srv02"}]})"), true, "attribute /hosts/1/name = 'srv02'"},
    {"attribute list index out of range", attribute("/hosts/5", eq, {"x"}), attributes(R"({"hosts": ["x"]})"), false,
     "attribute /hosts/5 is absent (or not a scalar)"},
    {"attribute list index not a number", attribute("/hosts/first", eq, {"x"}), attributes(R"({"hosts": ["x"]})"),
     false, "attribute /hosts/first is absent (or not a scalar)"},
    {"attribute ~1 is a slash", attribute("/paths/C:~1temp", eq, {"yes"}),
     attributes(R"({"paths": {"C:/temp": "yes"}})"), true, "attribute /paths/C:~1temp = 'yes'"},
    {"attribute ~0 is a tilde", attribute("/a~0b", eq, {"yes"}), attributes(R"({"a~b": "yes"})"), true,
     "attribute /a~0b = 'yes'"},
    {"attribute ~01 is a tilde then 1", attribute("/a~01", eq, {"yes"}), attributes(R"({"a~1": "yes", "a/": "no"})"),
     true, "attribute /a~01 = 'yes'"},
    {"attribute empty key", attribute("/", eq, {"root"}), attributes(R"({"": "root"})"), true, "attribute / = 'root'"},
    {"attribute pointer of a config built in code, invalid", attribute("no-slash", eq, {"x"}),
     attributes(R"({"no-slash": "x"})"), false, "attribute no-slash is absent (or not a scalar)"},
    {"attribute unicode value", attribute("/city", eq, {"M\u00FCnchen"}), attributes(R"({"city": "M\u00fcnchen"})"),
     true, "attribute /city = 'M\u00FCnchen'"},
    // attributes: in
    {"attribute in", attribute("/src", in, {"Behavior", "Signature"}), attributes(R"({"src": "Signature"})"), true,
     "attribute /src = 'Signature'"},
    {"attribute not in", attribute("/src", in, {"Behavior", "Signature"}), attributes(R"({"src": "Manual"})"), false,
     "attribute /src = 'Manual' is not in [Behavior, Signature]"},
    {"attribute in with numbers", attribute("/port", in, {"22", "3389"}), attributes(R"({"port": 3389})"), true,
     "attribute /port = '3389'"},
    // attributes: regex
    {"attribute regex", attribute("/os", re, {}, "^Win"), attributes(R"({"os": "Windows 11"})"), true,
     "attribute /os matches /^Win/"},
    {"attribute regex fails", attribute("/os", re, {}, "^Win"), attributes(R"({"os": "Linux"})"), false,
     "attribute /os = 'Linux' does not match /^Win/"},
    {"attribute regex (?i)", attribute("/os", re, {}, "(?i)^win"), attributes(R"({"os": "WINDOWS"})"), true,
     "attribute /os matches /(?i)^win/"},
    {"attribute regex on a number", attribute("/score", re, {}, R"(^[89]\.)"), attributes(R"({"score": 8.5})"), true,
     R"(attribute /score matches /^[89]\./)"},
    {"attribute regex on a boolean", attribute("/ok", re, {}, "^t"), attributes(R"({"ok": true})"), true,
     "attribute /ok matches /^t/"},
    {"attribute regex on a missing value", attribute("/os", re, {}, ""), attributes("{}"), false,
     "attribute /os is absent (or not a scalar)"},
};

TEST(RulesetMatch, EachConditionKind) {
  for (const condition_case& c : condition_cases) {
    SCOPED_TRACE(c.label);
    ts::config::config cfg = base_config();
    match_spec m;
    c.spec(m);
    cfg.rules.push_back(make_rule("r", m, 7));
    ts::event ev = base_event();
    c.event(ev);
    const decision d = decide(cfg, ev);
    ASSERT_FALSE(d.checks.empty());
    EXPECT_EQ(d.checks[0].rule, "r");
    EXPECT_EQ(d.checks[0].line, 7);
    EXPECT_EQ(d.checks[0].matched, c.matches);
    EXPECT_EQ(d.checks[0].why, std::vector<std::string>{c.why});
    EXPECT_EQ(d.rule, c.matches ? "r" : "default");
    EXPECT_EQ(d.rule_index, c.matches ? 0 : -1);
  }
}

// Every condition that held is listed, in a fixed order; on failure, only the
// first condition that failed (the ones before it held).
TEST(RulesetMatch, WhyListsEveryConditionThatHeld) {
  match_spec m;
  m.sources = {"defender"};
  m.tenants = {"globex"};
  m.severities = {ts::severity::critical};
  m.min_severity = ts::severity::high;
  m.categories = {"ransom*"};
  m.tags_any = {"endpoint"};
  m.tags_all = {"ransomware", "endpoint"};
  m.title_regex = "(?i)ransomware";
  m.attributes = {{"/device/name", eq, {"FIN-LT-0231"}, {}},
                  {"/detection_source", in, {"Behavior", "Signature"}, {}},
                  {"/device/os", re, {}, "^Windows"}};
  ts::config::config cfg = base_config();
  cfg.rules.push_back(make_rule("everything", m));

  ts::event ev = base_event();
  ev.source = "defender";
  ev.tenant = "globex";
  ev.severity = ts::severity::critical;
  ev.category = "Ransomware";  // globs are case-sensitive: fails below first
  ev.tags = {"ransomware", "endpoint"};
  ev.title = "Ransomware behavior detected on FIN-LT-0231";
  ev.attributes =
      json::parse(R"({"device": {"name": "FIN-LT-0231", "os": "Windows 11 23H2"}, "detection_source": "Behavior"})");

  decision d = decide(cfg, ev);
  ASSERT_EQ(d.checks.size(), 2u);
  EXPECT_FALSE(d.checks[0].matched);
  EXPECT_EQ(d.checks[0].why, std::vector<std::string>{"category 'Ransomware' matches none of [ransom*]"});

  ev.category = "ransomware";
  d = decide(cfg, ev);
  ASSERT_EQ(d.checks.size(), 1u);
  EXPECT_TRUE(d.checks[0].matched);
  const std::vector<std::string> want = {
      "source 'defender' is in [defender]",         "tenant 'globex' matches 'globex'",
      "severity critical is in [critical]",         "severity critical is at least high",
      "category 'ransomware' matches 'ransom*'",    "tag 'endpoint' is one of [endpoint]",
      "tags include all of [ransomware, endpoint]", "title matches /(?i)ransomware/",
      "attribute /device/name = 'FIN-LT-0231'",     "attribute /detection_source = 'Behavior'",
      "attribute /device/os matches /^Windows/",
  };
  EXPECT_EQ(d.checks[0].why, want);
  EXPECT_EQ(d.rule, "everything");

  // The last attribute fails: only that is said, the rest held.
  ev.attributes["device"]["os"] = "macOS 14";
  d = decide(cfg, ev);
  EXPECT_EQ(d.checks[0].why, std::vector<std::string>{"attribute /device/os = 'macOS 14' does not match /^Windows/"});
}

TEST(RulesetMatch, CatchAll) {
  ts::config::config cfg = base_config();
  cfg.rules.push_back(make_rule("all", {}));
  const decision d = decide(cfg, base_event());
  EXPECT_EQ(d.rule, "all");
  ASSERT_EQ(d.checks.size(), 1u);
  EXPECT_EQ(d.checks[0].why, std::vector<std::string>{"no conditions: matches every event"});
}

TEST(RulesetMatch, FirstMatchWins) {
  ts::config::config cfg = base_config();
  match_spec guardz, high, wazuh;
  guardz.sources = {"guardz"};
  high.min_severity = ts::severity::high;
  wazuh.sources = {"wazuh"};
  cfg.rules = {make_rule("guardz", guardz, 10), make_rule("high", high, 14), make_rule("wazuh", wazuh, 18),
               make_rule("rest", {}, 22)};
  cfg.rules[1].ticket.board = "High Board";
  cfg.rules[2].ticket.board = "Wazuh Board";

  const decision d = decide(cfg, base_event());  // wazuh, high: rules 1 and 2 both match
  EXPECT_EQ(d.rule, "high");
  EXPECT_EQ(d.rule_index, 1);
  ASSERT_EQ(d.checks.size(), 2u);  // up to and including the match
  EXPECT_EQ(d.checks[0].rule, "guardz");
  EXPECT_EQ(d.checks[0].line, 10);
  EXPECT_FALSE(d.checks[0].matched);
  EXPECT_EQ(d.checks[0].why, std::vector<std::string>{"source 'wazuh' is not in [guardz]"});
  EXPECT_EQ(d.checks[1].rule, "high");
  EXPECT_EQ(d.checks[1].line, 14);
  EXPECT_TRUE(d.checks[1].matched);
  ASSERT_TRUE(d.desired.has_value());
  EXPECT_EQ(d.desired->board, "High Board");
  EXPECT_EQ(d.desired->rule, "high");

  ts::event low = base_event();
  low.severity = ts::severity::low;
  const decision d2 = decide(cfg, low);
  EXPECT_EQ(d2.rule, "wazuh");
  EXPECT_EQ(d2.checks.size(), 3u);
  EXPECT_EQ(d2.checks[1].why, std::vector<std::string>{"severity low is below high"});
  EXPECT_EQ(d2.desired->board, "Wazuh Board");

  ts::event other = base_event();
  other.source = "huntress";
  other.severity = ts::severity::info;
  const decision d3 = decide(cfg, other);
  EXPECT_EQ(d3.rule, "rest");
  EXPECT_EQ(d3.rule_index, 3);
  EXPECT_EQ(d3.checks.size(), 4u);
}

TEST(RulesetMatch, DefaultWhenNoRuleMatches) {
  ts::config::config cfg = base_config();
  match_spec guardz;
  guardz.sources = {"guardz"};
  cfg.rules = {make_rule("guardz", guardz, 3)};
  cfg.rules[0].ticket.board = "Guardz Board";
  const auto shared = std::make_shared<const ts::config::config>(cfg);
  const ruleset rs(shared);

  const decision d = rs.decide(base_event());
  EXPECT_EQ(d.rule, "default");
  EXPECT_EQ(d.rule_index, -1);
  EXPECT_EQ(d.ticket, &shared->ticket);
  ASSERT_EQ(d.checks.size(), 2u);
  EXPECT_FALSE(d.checks[0].matched);
  EXPECT_EQ(d.checks[1].rule, "default");
  EXPECT_EQ(d.checks[1].line, 0);
  EXPECT_TRUE(d.checks[1].matched);
  EXPECT_EQ(d.checks[1].why, std::vector<std::string>{"no rule matched: the top-level ticket applies"});
  ASSERT_TRUE(d.desired.has_value());
  EXPECT_EQ(d.desired->rule, "default");
  EXPECT_EQ(d.desired->board, "Security Incidents");

  const decision none = decide(base_config(), base_event());
  ASSERT_EQ(none.checks.size(), 1u);
  EXPECT_EQ(none.checks[0].why, std::vector<std::string>{"no rules: the top-level ticket applies"});
  EXPECT_EQ(none.rule, "default");
}

TEST(RulesetMatch, DecisionPointsIntoTheConfigTheRulesetKeepsAlive) {
  auto cfg = std::make_shared<ts::config::config>(base_config());
  match_spec m;
  m.sources = {"wazuh"};
  cfg->rules = {make_rule("wazuh", m)};
  cfg->rules[0].ticket.board = "Wazuh Board";
  const ruleset rs(cfg);
  const ts::config::config* raw = cfg.get();
  cfg.reset();  // the ruleset holds the only reference now
  const decision d = rs.decide(base_event());
  EXPECT_EQ(d.ticket, &raw->rules[0].ticket);
  EXPECT_EQ(d.ticket->board, "Wazuh Board");
  EXPECT_EQ(&rs.cfg(), raw);
}

// A regex that does not compile can only come from a config built in code (the
// loader refuses it): its rule never matches and nothing throws.
TEST(RulesetMatch, UncompilableRegexNeverMatches) {
  ts::config::config cfg = base_config();
  match_spec title;
  title.title_regex = "(";
  cfg.rules.push_back(make_rule("bad-title", title));
  cfg.rules.push_back(make_rule("bad-attr", attr("/a", re, {}, "[")));
  ts::event ev = base_event();
  ev.title = "(";
  ev.attributes = json{{"a", "["}};
  const decision d = decide(cfg, ev);
  EXPECT_EQ(d.rule, "default");
  EXPECT_EQ(d.checks[0].why, std::vector<std::string>{"title does not match /(/"});
  EXPECT_EQ(d.checks[1].why, std::vector<std::string>{"attribute /a = '[' does not match /[/"});
}

// Regexes cannot run away: a catastrophic pattern hits PCRE2's match limit and
// counts as no match; invalid UTF-8 in the subject is no match either.
TEST(RulesetMatch, RegexLimitsAndInvalidSubjects) {
  std::string why;
  const auto evil = ts::rules::regex::compile("^(a+)+$", &why);
  ASSERT_TRUE(evil.has_value()) << why;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(evil->search(std::string(5000, 'a') + "b"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_TRUE(evil->search("aaaa"));

  // Backtracking frames grow with the capture groups: 5000 groups would take
  // ~800 MB of heap; the heap limit (32 MiB) stops the match, which then
  // counts as no match even though the pattern could match the empty string.
  std::string groups;
  for (int i = 0; i < 5000; ++i) groups += "(a?)";
  const auto greedy = ts::rules::regex::compile(groups, &why);
  ASSERT_TRUE(greedy.has_value()) << why;
  EXPECT_FALSE(greedy->search("x"));

  const auto any = ts::rules::regex::compile("x", &why);
  ASSERT_TRUE(any.has_value());
  EXPECT_TRUE(any->search("ab\xFFx"));  // invalid bytes elsewhere do not stop a match
  EXPECT_FALSE(any->search("\xC3\x28"));
  EXPECT_FALSE(any->search(""));
  EXPECT_EQ(any->pattern(), "x");

  EXPECT_FALSE(ts::rules::regex::compile("a(b", &why).has_value());
  EXPECT_EQ(why, "missing closing parenthesis at offset 3");
  EXPECT_FALSE(ts::rules::regex::compile("\xFF", &why).has_value());  // the pattern must be UTF-8
  EXPECT_NE(why.find("UTF-8"), std::string::npos) << why;
  EXPECT_FALSE(ts::rules::regex::compile("x{2,1}", nullptr).has_value());  // `error` is optional
}

//------------------------------------------------------------------------------
// Globs

struct glob_case {
  const char* pattern;
  std::string text;
  bool matches;
};

TEST(GlobMatch, Table) {
  const glob_case cases[] = {
      {"", "", true},
      {"", "a", false},
      {"a", "", false},
      {"*", "", true},
      {"*", "anything at all", true},
      {"**", "", true},
      {"***", "abc", true},
      {"?", "", false},
      {"?", "a", true},
      {"?", "ab", false},
      {"??", "ab", true},
      {"*?", "", false},
      {"*?*", "x", true},
      {"a*", "a", true},
      {"a*", "ba", false},
      {"*a", "ba", true},
      {"*a", "ab", false},
      {"a*b", "ab", true},
      {"a**b", "ab", true},
      {"a*b", "axxbxxb", true},
      {"a*b", "axxbxxc", false},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "abcb", false},
      {"*-prod", "acme-prod", true},
      {"*-prod", "acme-production", false},
      {"acme-*-eu", "acme-x-y-eu", true},
      {"ACME-*", "acme-prod", false},  // case-sensitive
      {"a.b", "axb", false},           // no regex meaning
      {"[ab]", "a", false},
      {"[ab]", "[ab]", true},
      {"\\*", "\\x", true},    // no escapes: '\' is a literal
      {"?", "\u00E9", false},  // '?' is one byte, and é is two
      {"??", "\u00E9", true},
      {"caf*", "caf\u00E9", true},
      {"*\u691C*", "\u691C\u51FA", true},
  };
  for (const glob_case& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " ~ " + c.text);
    EXPECT_EQ(glob_match(c.pattern, c.text), c.matches);
  }
}

TEST(GlobMatch, ManyStarsStayFast) {
  const std::string text(20000, 'a');
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
  EXPECT_TRUE(glob_match("*a*a*a*a*a*a*a*a*a*a*", text));
  EXPECT_TRUE(glob_match(std::string(1000, '*') + "a", text));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

//------------------------------------------------------------------------------
// The company

struct company_case {
  const char* label;
  std::function<void(ts::config::companies_config&)> companies;
  std::string source, tenant;
  std::string identifier;
  std::string why;
  bool held;
};

TEST(RulesetCompany, Choice) {
  const auto mapped = [](ts::config::companies_config& c) {
    c.tenants = {{"acme-prod", "AcmeCorp"}, {"blank", ""}};
    c.by_source = {{"defender", {{"acme-prod", "AcmeSecurity"}, {"4f1c", "Umbrella"}, {"blank2", ""}}}};
  };
  const company_case cases[] = {
      {"source-specific wins over global", mapped, "defender", "acme-prod", "AcmeSecurity",
       "companies.sources.defender.acme-prod", false},
      {"global for another source", mapped, "wazuh", "acme-prod", "AcmeCorp", "companies.tenants.acme-prod", false},
      {"source-specific only", mapped, "defender", "4f1c", "Umbrella", "companies.sources.defender.4f1c", false},
      {"source-specific tenant is not global", mapped, "wazuh", "4f1c", "", "", true},
      {"unmapped goes to the default",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.default_company = "MSPInternal";
         c.unmapped = ts::config::unmapped_policy::default_company;
       },
       "wazuh", "umbrella-labs", "MSPInternal", "companies.default (tenant 'umbrella-labs' is not mapped)", false},
      {"hold with a default",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.default_company = "MSPInternal";
         c.unmapped = ts::config::unmapped_policy::hold;
       },
       "wazuh", "umbrella-labs", "",
       "tenant 'umbrella-labs' (source 'wazuh') is not mapped and companies.unmapped is hold", true},
      {"hold without a default",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.unmapped = ts::config::unmapped_policy::hold;
       },
       "guardz", "x", "", "tenant 'x' (source 'guardz') is not mapped and companies.unmapped is hold", true},
      {"default policy without a default holds",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.unmapped = ts::config::unmapped_policy::default_company;
       },
       "guardz", "x", "", "tenant 'x' (source 'guardz') is not mapped and companies.default is not set", true},
      {"hold still maps mapped tenants",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.unmapped = ts::config::unmapped_policy::hold;
       },
       "defender", "acme-prod", "AcmeSecurity", "companies.sources.defender.acme-prod", false},
      {"empty global identifier is unmapped",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.default_company = "MSPInternal";
       },
       "wazuh", "blank", "MSPInternal", "companies.default (tenant 'blank' is not mapped)", false},
      {"empty source identifier falls back to global",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.tenants["blank2"] = "Globex";
       },
       "defender", "blank2", "Globex", "companies.tenants.blank2", false},
      {"empty identifier everywhere is held", mapped, "defender", "blank", "", "", true},
      {"empty default is unmapped too",
       [&](ts::config::companies_config& c) {
         mapped(c);
         c.default_company = "";
       },
       "wazuh", "nobody", "", "", true},
      {"tenants are exact", mapped, "wazuh", "ACME-PROD", "", "", true},
  };
  for (const company_case& c : cases) {
    SCOPED_TRACE(c.label);
    ts::config::config cfg = base_config();
    cfg.companies = {};
    c.companies(cfg.companies);
    ts::event ev = base_event();
    ev.source = c.source;
    ev.tenant = c.tenant;
    const ts::rules::company_choice choice = ts::rules::choose_company(ev, cfg.companies);
    EXPECT_EQ(choice.identifier, c.identifier);
    EXPECT_EQ(choice.held, c.held);
    if (!c.why.empty()) {
      EXPECT_EQ(choice.why, c.why);
    }
    if (c.held) {
      EXPECT_FALSE(choice.why.empty());
    }

    // decide() agrees, and renders only for a company.
    const decision d = decide(cfg, ev);
    EXPECT_EQ(d.held(), c.held);
    EXPECT_EQ(d.company.identifier, c.identifier);
    EXPECT_EQ(d.desired.has_value(), !c.held);
    EXPECT_FALSE(d.error.has_value());
    if (d.desired) {
      EXPECT_EQ(d.desired->company_identifier, c.identifier);
    }
  }
}

// A held event still says which rule would decide, and a template error does
// not show while the tenant is held (nothing is rendered).
TEST(RulesetCompany, HeldDecisionKeepsTheRule) {
  ts::config::config cfg = base_config();
  match_spec m;
  m.sources = {"wazuh"};
  cfg.rules = {make_rule("wazuh", m)};
  cfg.rules[0].ticket.summary_template = "{{#broken}}";
  ts::event ev = base_event();
  ev.tenant = "unmapped";
  const decision d = decide(cfg, ev);
  EXPECT_TRUE(d.held());
  EXPECT_EQ(d.rule, "wazuh");
  EXPECT_FALSE(d.desired.has_value());
  EXPECT_FALSE(d.error.has_value());
}

//------------------------------------------------------------------------------
// Severity maps

TEST(RulesetTicket, SeverityMapsPickByEventSeverity) {
  ts::config::config cfg = base_config();
  cfg.ticket.priority = {{ts::severity::critical, "P1"},
                         {ts::severity::high, "P2"},
                         {ts::severity::medium, "P3"},
                         {ts::severity::low, "P4"},
                         {ts::severity::info, "P5"}};
  const struct {
    ts::severity sev;
    const char* priority;
    const char* cw_severity;  // built-in defaults (config.hpp)
    const char* cw_impact;
  } cases[] = {
      {ts::severity::critical, "P1", "High", "High"},   {ts::severity::high, "P2", "High", "Medium"},
      {ts::severity::medium, "P3", "Medium", "Medium"}, {ts::severity::low, "P4", "Low", "Low"},
      {ts::severity::info, "P5", "Low", "Low"},
  };
  for (const auto& c : cases) {
    ts::event ev = base_event();
    ev.severity = c.sev;
    SCOPED_TRACE(std::string(ts::to_text(c.sev)));
    const decision d = decide(cfg, ev);
    ASSERT_TRUE(d.desired.has_value());
    EXPECT_EQ(d.desired->priority, c.priority);
    EXPECT_EQ(d.desired->cw_severity, c.cw_severity);
    EXPECT_EQ(d.desired->cw_impact, c.cw_impact);
  }
}

TEST(RulesetTicket, RuleSeverityMapsOverrideAndMissingEntriesAreEmpty) {
  ts::config::config cfg = base_config();
  match_spec m;
  m.sources = {"wazuh"};
  ts::config::rule r = make_rule("wazuh", m);
  r.ticket = cfg.ticket;
  r.ticket.priority = {{ts::severity::high, "Priority 1 - Emergency Response"}};  // built in code: partial
  r.ticket.cw_severity = {{ts::severity::high, "Low"}};
  r.ticket.cw_impact.clear();
  cfg.rules.push_back(r);
  ts::event ev = base_event();
  decision d = decide(cfg, ev);
  ASSERT_TRUE(d.desired.has_value());
  EXPECT_EQ(d.desired->priority, "Priority 1 - Emergency Response");
  EXPECT_EQ(d.desired->cw_severity, "Low");
  EXPECT_EQ(d.desired->cw_impact, "");
  ev.severity = ts::severity::low;
  d = decide(cfg, ev);
  EXPECT_EQ(d.desired->priority, "");
  EXPECT_EQ(d.desired->cw_severity, "");
}

//------------------------------------------------------------------------------
// Rendering through a decision

class RulesetRender : public testing::Test {
 protected:
  RulesetRender() : cfg_(base_config()), ev_(base_event()) {}

  ts::rules::desired_ticket rendered() {
    const decision d = decide(cfg_, ev_);
    if (d.error) ADD_FAILURE() << d.error->what;
    if (!d.desired) {
      ADD_FAILURE() << "no ticket";
      return {};
    }
    return *d.desired;
  }

  std::string summary_of(const std::string& title, const std::string& tmpl = "{{title}}") {
    ev_.title = title;
    cfg_.ticket.summary_template = tmpl;
    return rendered().summary;
  }

  ts::config::config cfg_;
  ts::event ev_;
};

TEST_F(RulesetRender, EveryFieldOfTheTicketSection) {
  cfg_.ticket.closed_status = "Resolved";
  cfg_.ticket.reopen_status = "Reopened";
  cfg_.ticket.type = "Incident";
  cfg_.ticket.subtype = "Malware";
  cfg_.ticket.item = "Investigate";
  cfg_.ticket.team = "SOC Tier 2";
  cfg_.ticket.source = "Security Tool";
  const auto t = rendered();
  EXPECT_EQ(t.rule, "default");
  EXPECT_EQ(t.company_identifier, "AcmeCorp");
  EXPECT_EQ(t.board, "Security Incidents");
  EXPECT_EQ(t.status, "New");
  EXPECT_EQ(t.closed_status, "Resolved");
  EXPECT_EQ(t.reopen_status, "Reopened");
  EXPECT_EQ(t.priority, "Priority 3 - Normal Response");
  EXPECT_EQ(t.type, "Incident");
  EXPECT_EQ(t.subtype, "Malware");
  EXPECT_EQ(t.item, "Investigate");
  EXPECT_EQ(t.team, "SOC Tier 2");
  EXPECT_EQ(t.source, "Security Tool");
  EXPECT_EQ(t.summary, "[high] SSH brute force on srv01");
  EXPECT_EQ(t.external_xref, ts::correlation_key({"wazuh", "acme-prod", "alert-42"}));
}

TEST_F(RulesetRender, UnicodeTitles) {
  const struct {
    const char* label;
    std::string title;
  } cases[] = {
      {"emoji", "\U0001F6A8 Ransomware \U0001F512 on FIN-LT-0231"},
      {"ZWJ emoji sequence", "Analyst \U0001F469\u200D\U0001F4BB flagged it"},
      {"flag", "Sign-in from \U0001F1F5\U0001F1F9"},
      {"CJK", "\u4E0D\u5BE9\u306A\u30ED\u30B0\u30A4\u30F3\u3092\u691C\u51FA"},
      {"combining marks", "Cafe\u0301 server: Zo\u0308e's account"},
      {"right-to-left", "\u05D4\u05EA\u05E8\u05D0\u05D4 on srv01"},
      {"non-breaking space kept", "a\u00A0b"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_EQ(summary_of(c.title), c.title);
    EXPECT_EQ(summary_of(c.title, "[{{severity}}] {{title}}"), "[high] " + c.title);
  }
}

TEST_F(RulesetRender, LongTitlesAreCutOnACodePointBoundary) {
  // 60 CJK (1 unit each) + 30 emoji (2 units each) = 120 units: 99 units fit
  // before "…", and the 20th emoji would straddle the limit.
  std::string cjk, emoji;
  for (int i = 0; i < 60; ++i) cjk += "\u691C";
  for (int i = 0; i < 30; ++i) emoji += "\U0001F600";
  std::string s = summary_of(cjk + emoji);
  EXPECT_EQ(s, cjk + emoji.substr(0, 19 * 4) + ellipsis);
  EXPECT_EQ(utf16_length(s), 99u);

  // The prefix of the template counts too.
  s = summary_of(std::string(200, 'x'), "[{{severity}}] {{title}}");
  EXPECT_EQ(s, "[high] " + std::string(92, 'x') + ellipsis);
  EXPECT_EQ(utf16_length(s), 100u);

  // A letter and its combining mark are one character (grapheme cluster):
  // the cut keeps both or neither.
  s = summary_of(std::string(98, 'a') + "e\u0301" + "tail");
  EXPECT_EQ(s, std::string(98, 'a') + ellipsis);
  s = summary_of(std::string(97, 'a') + "e\u0301" + "tail");
  EXPECT_EQ(s, std::string(97, 'a') + "e\u0301" + ellipsis);

  // Exactly 100 units is not cut; 101 is.
  EXPECT_EQ(summary_of(std::string(98, 'a') + "\U0001F600"), std::string(98, 'a') + "\U0001F600");
  EXPECT_EQ(summary_of(std::string(99, 'a') + "\U0001F600"), std::string(99, 'a') + ellipsis);

  for (std::size_t lead = 80; lead <= 100; ++lead) {
    std::string title(lead, 'x');
    for (int i = 0; i < 10; ++i) title += "\U0001F469\u200D\U0001F4BB\u00E9\u691C";
    SCOPED_TRACE(lead);
    s = summary_of(title);
    EXPECT_LE(utf16_length(s), 100u);
    EXPECT_TRUE(is_valid_utf8(s));
    EXPECT_TRUE(s.ends_with(ellipsis));
    EXPECT_EQ(title.rfind(s.substr(0, s.size() - ellipsis.size()), 0), 0u);
  }
}

TEST_F(RulesetRender, ControlCharactersInTitlesBecomeOneLine) {
  EXPECT_EQ(summary_of("line one\nline two\r\n\tindented"), "line one line two indented");
  EXPECT_EQ(summary_of("\n\n  leading and trailing \r\n"), "leading and trailing");
  EXPECT_EQ(summary_of("bell\abell"), "bell bell");
  EXPECT_EQ(summary_of("\x1B[31mred\x1B[0m"), "[31mred [0m");
  EXPECT_EQ(summary_of(std::string("nul\0byte", 8)), "nul byte");
  EXPECT_EQ(summary_of("a\u2028b\u2029c\u0085d\x7F"
                       "e"),
            "a b c d e");
  // The description is not one line: it is rendered as it is.
  ev_.title = "two\nlines";
  cfg_.ticket.description_template = "{{title}}";
  EXPECT_EQ(rendered().description, "two\nlines");
  // A title that is only layout still gives a summary: the template's text.
  EXPECT_EQ(summary_of("\n\t\r", "[{{severity}}] {{title}}"), "[high]");
}

TEST_F(RulesetRender, CustomFieldTemplates) {
  cfg_.ticket.custom_fields = {{"Source Product", "{{source}}"},
                               {"Security Issue Key", "{{source}}/{{tenant}}/{{issue_id}}"},
                               {"Risk Score", "{{attributes.risk.score}}"},
                               {"Tags", "{{#tags}}{{.}};{{/tags}}"},
                               {"Constant", "from ticketsync"},
                               {"Missing", "{{attributes.nope}}"}};
  ev_.tags = {"ssh", "brute-force"};
  ev_.attributes = json::parse(R"({"risk": {"score": 87.5}})");
  const auto t = rendered();
  const std::map<std::string, std::string> want{
      {"Source Product", "wazuh"},     {"Security Issue Key", "wazuh/acme-prod/alert-42"},
      {"Risk Score", "87.5"},          {"Tags", "ssh;brute-force;"},
      {"Constant", "from ticketsync"}, {"Missing", ""}};
  EXPECT_EQ(t.custom_fields, want);
}

TEST_F(RulesetRender, RuleTicketWinsOverTheTopLevel) {
  match_spec m;
  m.sources = {"wazuh"};
  ts::config::rule r = make_rule("wazuh", m);
  r.ticket = cfg_.ticket;  // as the loader does: the rule starts from the top level
  r.ticket.board = "Help Desk";
  r.ticket.custom_fields = {{"Source Product", "rule: {{source}}"}};
  r.ticket.summary_template = "[rule] {{title}}";
  cfg_.rules.push_back(r);
  cfg_.ticket.custom_fields = {{"Source Product", "top"}};
  const auto t = rendered();
  EXPECT_EQ(t.rule, "wazuh");
  EXPECT_EQ(t.board, "Help Desk");
  EXPECT_EQ(t.status, "New");
  EXPECT_EQ(t.summary, "[rule] SSH brute force on srv01");
  EXPECT_EQ(t.custom_fields, (std::map<std::string, std::string>{{"Source Product", "rule: wazuh"}}));
}

TEST_F(RulesetRender, TemplateErrorsAreTheDecisionsError) {
  const struct {
    const char* label;
    std::function<void(ts::config::ticket_config&)> set;
    std::string error;
  } cases[] = {
      {"summary", [](ts::config::ticket_config& t) { t.summary_template = "{{#title}}"; },
       "template 'summary': Unclosed section \"title\" at 0"},
      {"description", [](ts::config::ticket_config& t) { t.description_template = "ok {{/x}}"; },
       "template 'description': Unopened section \"x\" at 3"},
      {"custom field",
       [](ts::config::ticket_config& t) {
         t.custom_fields = {{"Risk Score", "{{score"}};
       },
       "template 'custom field Risk Score': Unclosed tag at 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    ts::config::config cfg = base_config();
    match_spec m;
    m.sources = {"wazuh"};
    cfg.rules.push_back(make_rule("wazuh", m));
    cfg.rules[0].ticket = cfg.ticket;
    c.set(cfg.rules[0].ticket);
    const decision d = decide(cfg, base_event());
    EXPECT_EQ(d.rule, "wazuh");
    EXPECT_FALSE(d.held());
    EXPECT_FALSE(d.desired.has_value());
    ASSERT_TRUE(d.error.has_value());
    EXPECT_EQ(d.error->what, c.error);

    // map_event reports the same error.
    const auto mapped = ts::rules::map_event(base_event(), cfg);
    ASSERT_FALSE(mapped);
    EXPECT_EQ(mapped.error().what, c.error);
  }
}

//------------------------------------------------------------------------------
// ticket_for

TEST(RulesetTicketFor, NamedRuleOrTheDefaultAfterAReload) {
  ts::config::config before = base_config();
  match_spec m;
  m.categories = {"vulnerability"};
  before.rules.push_back(make_rule("vulns", m));
  before.rules[0].ticket = before.ticket;
  before.rules[0].ticket.board = "Help Desk";
  const ruleset old_rules(std::make_shared<const ts::config::config>(before));
  EXPECT_EQ(&old_rules.ticket_for("vulns"), &old_rules.cfg().rules[0].ticket);
  EXPECT_EQ(old_rules.ticket_for("vulns").board, "Help Desk");
  EXPECT_EQ(&old_rules.ticket_for("default"), &old_rules.cfg().ticket);
  EXPECT_EQ(&old_rules.ticket_for(""), &old_rules.cfg().ticket);
  EXPECT_EQ(&old_rules.ticket_for("VULNS"), &old_rules.cfg().ticket);  // names are exact

  // After a reload without the rule, its tickets fall back to the top level.
  ts::config::config after = base_config();
  after.ticket.board = "Security Incidents v2";
  const ruleset new_rules(std::make_shared<const ts::config::config>(after));
  EXPECT_EQ(&new_rules.ticket_for("vulns"), &new_rules.cfg().ticket);
  EXPECT_EQ(new_rules.ticket_for("vulns").board, "Security Incidents v2");

  // A renamed rule is a different rule.
  ts::config::config renamed = before;
  renamed.rules[0].name = "vulnerabilities";
  const ruleset renamed_rules(std::make_shared<const ts::config::config>(renamed));
  EXPECT_EQ(renamed_rules.ticket_for("vulns").board, "Security Incidents");
  EXPECT_EQ(renamed_rules.ticket_for("vulnerabilities").board, "Help Desk");
}

//------------------------------------------------------------------------------
// From YAML to a decision

TEST(RulesetFromYaml, LoadedRulesDecide) {
  constexpr std::string_view text = R"(psa:
  site: na
  company_id: c
  public_key: p
  private_key: {env: K}
  client_id: id
companies:
  default: MSPInternal
  tenants: {acme-prod: AcmeCorp, globex: Globex}
  sources:
    defender: {"4f1c": Umbrella}
ticket:
  board: Security Incidents
  status: New
  priority: {critical: P1, high: P2, medium: P3, low: P4, info: P5}
  type: Security Alert
rules:
  - name: critical-ransomware
    match:
      severity: critical
      title: '(?i)\bransom'
    ticket:
      type: Incident
      subtype: Malware
      team: SOC Tier 2
  - name: risky-sign-ins
    match:
      source: defender
      attributes:
        - {pointer: /mfa_passed, equals: false}
        - {pointer: /risk/level, in: [high, medium]}
    ticket:
      subtype: Identity
      custom_fields: {Risk Score: "{{attributes.risk.score}}"}
  - name: vulnerabilities
    match: {category: "vulnerability*"}
    ticket: {board: Help Desk, status: New, type: Problem}
)";
  auto loaded = ts::config::load_config_from_string(text, "rules.yaml");
  ASSERT_TRUE(loaded.cfg.has_value()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  const ruleset rs(std::make_shared<const ts::config::config>(std::move(*loaded.cfg)));

  ts::event ransom = base_event();
  ransom.source = "defender";
  ransom.tenant = "4f1c";
  ransom.severity = ts::severity::critical;
  ransom.title = "Ransomware behavior detected";
  decision d = rs.decide(ransom);
  EXPECT_EQ(d.rule, "critical-ransomware");
  ASSERT_TRUE(d.desired.has_value());
  EXPECT_EQ(d.desired->company_identifier, "Umbrella");
  EXPECT_EQ(d.desired->type, "Incident");
  EXPECT_EQ(d.desired->subtype, "Malware");
  EXPECT_EQ(d.desired->team, "SOC Tier 2");
  EXPECT_EQ(d.desired->priority, "P1");
  EXPECT_EQ(d.desired->cw_severity, "High");

  ts::event signin = base_event();
  signin.source = "defender";
  signin.tenant = "globex";
  signin.attributes = json::parse(R"({"mfa_passed": false, "risk": {"level": "high", "score": 91}})");
  d = rs.decide(signin);
  EXPECT_EQ(d.rule, "risky-sign-ins");
  ASSERT_TRUE(d.desired.has_value());
  EXPECT_EQ(d.desired->type, "Security Alert");  // inherited
  EXPECT_EQ(d.desired->subtype, "Identity");
  EXPECT_EQ(d.desired->custom_fields.at("Risk Score"), "91");
  ASSERT_EQ(d.checks.size(), 2u);
  EXPECT_EQ(d.checks[0].why, std::vector<std::string>{"severity high is not in [critical]"});
  EXPECT_EQ(d.checks[1].why,
            (std::vector<std::string>{"source 'defender' is in [defender]", "attribute /mfa_passed = 'false'",
                                      "attribute /risk/level = 'high'"}));
  EXPECT_EQ(d.checks[1].line, 26);

  signin.attributes["mfa_passed"] = true;
  signin.category = "vulnerability/cve";
  d = rs.decide(signin);
  EXPECT_EQ(d.rule, "vulnerabilities");
  EXPECT_EQ(d.checks[1].why, std::vector<std::string>{"attribute /mfa_passed = 'true' is not 'false'"});
  EXPECT_EQ(d.desired->board, "Help Desk");
  EXPECT_EQ(d.desired->type, "Problem");

  ts::event plain = base_event();
  plain.tenant = "somebody-else";
  d = rs.decide(plain);
  EXPECT_EQ(d.rule, "default");
  EXPECT_EQ(d.desired->company_identifier, "MSPInternal");
  EXPECT_EQ(d.desired->type, "Security Alert");
}

}  // namespace
