// Unit tests for rules/mapping: company selection, template rendering (no HTML
// escaping, dotted attributes, errors), the summary's UTF-16 length limit.
#include "rules/mapping.hpp"
#include "support/utf8.hpp"

#include "core/issue_key.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace {

using ts::test::is_valid_utf8;

using json = nlohmann::json;
using ts::rules::map_event;
using ts::rules::render_template;
using ts::rules::truncate_utf16;
using ts::rules::utf16_length;

const std::string ellipsis = "\u2026";

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

class MapEvent : public testing::Test {
 protected:
  MapEvent() {
    cfg_.companies.tenants = {{"acme-prod", "AcmeCorp"}, {"globex", "Globex"}, {"blank", ""}};
    cfg_.ticket.board = "Security Incidents";
    cfg_.ticket.status = "New (Automated)";
    for (auto sev :
         {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low, ts::severity::info})
      cfg_.ticket.priority[sev] = "Priority 2 - High";
    ev_.source = "wazuh";
    ev_.tenant = "acme-prod";
    ev_.issue_id = "alert-42";
    ev_.severity = ts::severity::high;
    ev_.title = "SSH brute force on srv01";
    ev_.updated_at_text = "2026-01-02T03:04:05Z";
  }

  ts::rules::desired_ticket mapped() {
    auto r = map_event(ev_, cfg_);
    if (!r) {
      ADD_FAILURE() << r.error().what;
      return {};
    }
    return *r;
  }

  std::string summary_of(const std::string& tmpl) {
    cfg_.ticket.summary_template = tmpl;
    return mapped().summary;
  }

  std::string description_of(const std::string& tmpl) {
    cfg_.ticket.description_template = tmpl;
    return mapped().description;
  }

  ts::config::config cfg_;
  ts::event ev_;
};

// ---------------------------------------------------------------------------
// Company, board, status, priority, key

TEST_F(MapEvent, MappedTenant) {
  const auto t = mapped();
  EXPECT_EQ(t.company_identifier, "AcmeCorp");
  EXPECT_EQ(t.board, "Security Incidents");
  EXPECT_EQ(t.status, "New (Automated)");
  EXPECT_EQ(t.priority, "Priority 2 - High");
  EXPECT_EQ(t.external_xref, ts::correlation_key({"wazuh", "acme-prod", "alert-42"}));
}

TEST_F(MapEvent, MappingWinsOverDefault) {
  cfg_.companies.default_company = "Catchall";
  ev_.tenant = "globex";
  EXPECT_EQ(mapped().company_identifier, "Globex");
}

TEST_F(MapEvent, UnmappedTenantUsesDefault) {
  cfg_.companies.default_company = "Catchall";
  ev_.tenant = "umbrella-labs";
  EXPECT_EQ(mapped().company_identifier, "Catchall");
}

TEST_F(MapEvent, EmptyMappingCountsAsUnmapped) {
  ev_.tenant = "blank";
  EXPECT_FALSE(map_event(ev_, cfg_));
  cfg_.companies.default_company = "Catchall";
  EXPECT_EQ(mapped().company_identifier, "Catchall");
}

TEST_F(MapEvent, UnmappedTenantWithoutDefaultIsAnError) {
  ev_.tenant = "umbrella-labs";
  auto r = map_event(ev_, cfg_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "tenant 'umbrella-labs' (source 'wazuh') is not mapped and companies.default is not set");
  EXPECT_THROW((void)r.value(), std::invalid_argument);
  try {
    (void)r.value();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), r.error().what);
  }
}

TEST_F(MapEvent, UnmappedTenantUnderHoldIsAnErrorEvenWithADefault) {
  cfg_.companies.default_company = "Catchall";
  cfg_.companies.unmapped = ts::config::unmapped_policy::hold;
  ev_.tenant = "umbrella-labs";
  auto r = map_event(ev_, cfg_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "tenant 'umbrella-labs' (source 'wazuh') is not mapped and companies.unmapped is hold");
  ev_.tenant = "globex";  // a mapped tenant is not affected
  EXPECT_EQ(mapped().company_identifier, "Globex");
}

TEST_F(MapEvent, TenantMatchIsExact) {
  ev_.tenant = "ACME-PROD";
  EXPECT_FALSE(map_event(ev_, cfg_));
}

TEST_F(MapEvent, KeyFollowsIdentityOnly) {
  const std::string key = mapped().external_xref;
  ev_.title = "something else";
  ev_.severity = ts::severity::low;
  EXPECT_EQ(mapped().external_xref, key);
  ev_.issue_id = "alert-43";
  EXPECT_NE(mapped().external_xref, key);
}

TEST_F(MapEvent, TicketFieldsAreCopiedFromTheTicketSection) {
  cfg_.ticket.closed_status = "Resolved";
  cfg_.ticket.type = "Security Alert";
  cfg_.ticket.subtype = "Endpoint";
  cfg_.ticket.item = "Investigate";
  cfg_.ticket.team = "SOC Tier 1";
  cfg_.ticket.source = "Security Tool";
  const auto t = mapped();
  EXPECT_EQ(t.rule, "default");  // no rules
  EXPECT_EQ(t.closed_status, "Resolved");
  EXPECT_EQ(t.reopen_status, "New (Automated)");  // effective: the new-ticket status
  EXPECT_EQ(t.cw_severity, "High");               // built-in map, severity high
  EXPECT_EQ(t.cw_impact, "Medium");
  EXPECT_EQ(t.type, "Security Alert");
  EXPECT_EQ(t.subtype, "Endpoint");
  EXPECT_EQ(t.item, "Investigate");
  EXPECT_EQ(t.team, "SOC Tier 1");
  EXPECT_EQ(t.source, "Security Tool");
  EXPECT_TRUE(t.custom_fields.empty());
}

// ---------------------------------------------------------------------------
// Default templates

TEST_F(MapEvent, DefaultTemplates) {
  ev_.asset = "srv01";
  ev_.description = "**312** failed logins\nfrom `203.0.113.7`";
  const auto t = mapped();
  EXPECT_EQ(t.summary, "[high] SSH brute force on srv01");
  // The "\n" right after {{#description}} sits on a standalone tag line, which
  // mustache removes: no blank line before the description text.
  EXPECT_EQ(t.description,
            "SSH brute force on srv01\n\nSource: wazuh\nTenant: acme-prod\nSeverity: high\nAsset: srv01\n"
            "**312** failed logins\nfrom `203.0.113.7`\n");
}

TEST_F(MapEvent, DefaultDescriptionOmitsAbsentSections) {
  EXPECT_EQ(mapped().description, "SSH brute force on srv01\n\nSource: wazuh\nTenant: acme-prod\nSeverity: high\n");
}

// ---------------------------------------------------------------------------
// Rendering

TEST_F(MapEvent, NoHtmlEscaping) {
  ev_.title = R"(<b>Fish & Chips</b> "quoted" 'single' `tick` a=b /x)";
  EXPECT_EQ(summary_of("{{title}}"), ev_.title);
  EXPECT_EQ(summary_of("{{{title}}}"), ev_.title);
  EXPECT_EQ(summary_of("{{&title}}"), ev_.title);
  EXPECT_EQ(description_of("<{{title}}>"), "<" + ev_.title + ">");
}

TEST_F(MapEvent, UnicodeTemplatesAndValues) {
  ev_.title = "Verd\u00E4chtige Anmeldung \u2014 \u691C\u51FA \U0001F6A8";
  ev_.tenant = "globex";
  EXPECT_EQ(summary_of("\u26A0 {{title}} \u00B7 {{tenant}}"),
            "\u26A0 Verd\u00E4chtige Anmeldung \u2014 \u691C\u51FA \U0001F6A8 \u00B7 globex");
}

TEST_F(MapEvent, DottedAttributesAndJsonTypes) {
  ev_.attributes = json::parse(R"({
    "host": {"name": "srv01", "ip": "10.0.0.5", "os": {"family": "linux"}},
    "count": 312, "ratio": 0.25, "negative": -7, "big": 18446744073709551615,
    "flag": true, "off": false, "nothing": null,
    "list": ["x", "y", null, 3], "empty": [], "objs": [{"n": "a"}, {"n": "b"}]
  })");
  EXPECT_EQ(description_of("{{attributes.host.name}} {{attributes.host.ip}} {{attributes.host.os.family}}"),
            "srv01 10.0.0.5 linux");
  EXPECT_EQ(description_of("{{attributes.count}} {{attributes.ratio}} {{attributes.negative}} {{attributes.big}}"),
            "312 0.25 -7 18446744073709551615");
  EXPECT_EQ(description_of("{{#attributes.flag}}yes{{/attributes.flag}}{{^attributes.off}}no{{/attributes.off}}"),
            "yesno");
  EXPECT_EQ(description_of("[{{attributes.nothing}}]{{^attributes.nothing}}absent{{/attributes.nothing}}"), "[]absent");
  EXPECT_EQ(description_of("{{#attributes.list}}{{.}},{{/attributes.list}}"), "x,y,3,");
  EXPECT_EQ(description_of("{{^attributes.empty}}none{{/attributes.empty}}"), "none");
  EXPECT_EQ(description_of("{{#attributes.objs}}{{n}};{{/attributes.objs}}"), "a;b;");
  EXPECT_EQ(description_of("{{#attributes.host}}{{name}}@{{ip}}{{/attributes.host}}"), "srv01@10.0.0.5");
  EXPECT_EQ(description_of("[{{attributes.missing.deeper}}]"), "[]");
}

TEST_F(MapEvent, TagsExtraAndOptionalFields) {
  ev_.tags = {"ssh", "brute-force"};
  ev_.extra = {{"cvss", 8.1}, {"scanner", "wazuh-vd"}};
  ev_.url = "https://wazuh.example/a?b=1&c=2";
  EXPECT_EQ(description_of("{{#tags}}#{{.}} {{/tags}}{{cvss}} {{scanner}} {{url}} {{updated_at}} {{state}}"),
            "#ssh #brute-force 8.1 wazuh-vd https://wazuh.example/a?b=1&c=2 2026-01-02T03:04:05Z open");
}

TEST_F(MapEvent, DescriptionIsRenderedAsIs) {
  ev_.description = "# Heading\n\n- item 1\n- item 2\n\n\ttabbed  spaced  \n";
  EXPECT_EQ(description_of("{{description}}"), *ev_.description);
}

TEST_F(MapEvent, PartialsRenderNothingSoEventTextIsNeverATemplate) {
  ev_.title = "{{source}}";
  EXPECT_EQ(description_of("[{{> title}}]"), "[]");
  EXPECT_EQ(description_of("{{title}}"), "{{source}}");
}

TEST_F(MapEvent, SummaryIsOneLine) {
  ev_.category = "auth";
  EXPECT_EQ(summary_of("  {{title}}\n\t{{category}}\r\n  x  "), "SSH brute force on srv01 auth x");
  ev_.extra = {{"weird", "a\u0007b\u001Bc\u0085d\u2028e\u2029\u007F f\u00A0g"}};
  EXPECT_EQ(summary_of("{{weird}}"), "a b c d e f\u00A0g");  // NBSP is text, not layout
}

TEST_F(MapEvent, EmptySummaryFallsBackToTitle) {
  EXPECT_EQ(summary_of(""), "SSH brute force on srv01");
  EXPECT_EQ(summary_of("{{missing}}"), "SSH brute force on srv01");
  EXPECT_EQ(summary_of(" \n\t "), "SSH brute force on srv01");
  ev_.title = std::string(150, 'T');
  const std::string s = summary_of("{{nothing}}");
  EXPECT_EQ(s, std::string(99, 'T') + ellipsis);
}

TEST_F(MapEvent, TemplateSyntaxErrorsNameTheTemplate) {
  cfg_.ticket.summary_template = "{{#title}}unclosed";
  auto r = map_event(ev_, cfg_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "template 'summary': Unclosed section \"title\" at 0");

  cfg_.ticket.summary_template = "ok";
  cfg_.ticket.description_template = "Details: {{title";
  r = map_event(ev_, cfg_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what.rfind("template 'description': Unclosed tag", 0), 0u) << r.error().what;

  cfg_.ticket.description_template = "{{/x}}";
  r = map_event(ev_, cfg_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "template 'description': Unopened section \"x\" at 0");
}

// ---------------------------------------------------------------------------
// Summary length

TEST_F(MapEvent, LongAsciiTitleIsCutTo100Units) {
  ev_.title = std::string(300, 'a');
  const std::string s = summary_of("{{title}}");
  EXPECT_EQ(utf16_length(s), 100u);
  EXPECT_EQ(s, std::string(99, 'a') + ellipsis);
  ev_.title = std::string(100, 'a');
  EXPECT_EQ(summary_of("{{title}}"), ev_.title);  // exactly 100: untouched
  ev_.title = std::string(101, 'a');
  EXPECT_EQ(summary_of("{{title}}"), std::string(99, 'a') + ellipsis);
}

// Walks a multi-unit character across the cut point: whatever the alignment,
// the summary fits, ends with "…", is valid UTF-8, and is a prefix of the text.
TEST_F(MapEvent, CutNeverSplitsACharacter) {
  const std::string wide[] = {"\U0001F6A8", "\u4E2D", "\u00E9", "\U0001F469\u200D\U0001F4BB"};
  for (const std::string& w : wide) {
    for (std::size_t lead = 90; lead <= 101; ++lead) {
      ev_.title = std::string(lead, 'x');
      for (int i = 0; i < 20; ++i) ev_.title += w;
      SCOPED_TRACE(std::to_string(lead) + " + " + w);
      const std::string s = summary_of("{{title}}");
      EXPECT_LE(utf16_length(s), 100u);
      EXPECT_GT(utf16_length(s), 100u - utf16_length(w));  // less than one character of slack
      EXPECT_TRUE(is_valid_utf8(s));
      ASSERT_TRUE(ends_with(s, ellipsis)) << s;
      const std::string kept = s.substr(0, s.size() - ellipsis.size());
      EXPECT_EQ(ev_.title.rfind(kept, 0), 0u);
      EXPECT_EQ((kept.size() - std::min(kept.size(), lead)) % w.size(), 0u) << kept;  // whole characters only
    }
  }
}

TEST_F(MapEvent, EmojiAtTheBoundary) {
  // 98 units + a surrogate pair would be 100, leaving no room for "…".
  ev_.title = std::string(98, 'a') + "\U0001F600" + "tail";
  EXPECT_EQ(summary_of("{{title}}"), std::string(98, 'a') + ellipsis);
  // 97 units + the pair = 99, then "…" = 100.
  ev_.title = std::string(97, 'a') + "\U0001F600" + "tail";
  EXPECT_EQ(summary_of("{{title}}"), std::string(97, 'a') + "\U0001F600" + ellipsis);
  // CJK is one unit per character even though it is three UTF-8 bytes.
  std::string cjk;
  for (int i = 0; i < 120; ++i) cjk += "\u691C";
  ev_.title = cjk;
  const std::string s = summary_of("{{title}}");
  EXPECT_EQ(s, cjk.substr(0, 99 * 3) + ellipsis);
  EXPECT_EQ(s.size(), 99u * 3 + 3);
}

// ---------------------------------------------------------------------------
// render_template directly

TEST(RenderTemplate, Basics) {
  const json ctx = {{"a", "<x>"}, {"n", {{"m", "deep"}}}};
  auto r = render_template("t", "{{a}}/{{n.m}}", ctx);
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(*r, "<x>/deep");
  auto bad = render_template("ticket.summary", "{{#a}}", ctx);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what, "template 'ticket.summary': Unclosed section \"a\" at 0");
  EXPECT_EQ(*render_template("t", "plain", json::object()), "plain");
  EXPECT_EQ(*render_template("t", "[{{x}}]", nullptr), "[]");
}

// ---------------------------------------------------------------------------
// utf16_length / truncate_utf16

struct length_case {
  std::string text;
  std::size_t units;
};

TEST(Utf16Length, Table) {
  const length_case cases[] = {
      {"", 0},
      {"abc", 3},
      {"\u00E9", 1},      // 2 bytes
      {"\u691C", 1},      // 3 bytes
      {"\U0001F600", 2},  // 4 bytes: surrogate pair
      {"a\U0001F600b", 4},
      {"\U0001F469\u200D\U0001F4BB", 5},  // ZWJ sequence: 2 + 1 + 2
      {"\xEF\xBF\xBF", 1},                // U+FFFF
      {"\xF4\x8F\xBF\xBF", 2},            // U+10FFFF
      {"\xFF", 1},                        // invalid bytes count one each
      {"a\xC3", 2},                       // truncated sequence
      {"\xED\xA0\x80", 3},                // encoded surrogate: three invalid bytes
      {std::string("a\0b", 3), 3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(json(c.text).dump(-1, ' ', false, json::error_handler_t::replace));
    EXPECT_EQ(utf16_length(c.text), c.units);
  }
}

struct truncate_case {
  std::string text;
  std::size_t max_units;
  std::string expected;
};

TEST(TruncateUtf16, Table) {
  const std::string e = "\u2026";
  const std::string smile = "\U0001F600";
  const truncate_case cases[] = {
      {"", 0, ""},
      {"", 5, ""},
      {"hello", 5, "hello"},
      {"hello", 10, "hello"},
      {"hello", 4, "hel" + e},
      {"hello", 1, e},
      {"hello", 0, ""},
      {"hello world", 7, "hello" + e},  // the space before "…" is dropped
      {"hello world", 6, "hello" + e},
      {"hello   world", 9, "hello" + e},
      {smile + smile + smile, 6, smile + smile + smile},
      {smile + smile + smile, 5, smile + smile + e},
      {smile + smile + smile, 4, smile + e},
      {smile + smile + smile, 3, smile + e},
      {smile + smile + smile, 2, e},
      {smile + smile + smile, 1, e},
      {"\u691C\u51FA\u691C\u51FA", 3, "\u691C\u51FA" + e},
      {"ab\xFF"
       "cd",
       10,
       "ab\uFFFD"
       "cd"},  // invalid bytes become U+FFFD ...
      {"ab\xFF"
       "cd",
       4, "ab\uFFFD" + e},  // ... counted as one unit each
      {"abc\xE4\xB8", 10, "abc\uFFFD\uFFFD"},
      {"x" + e + "y", 2, "x" + e},  // an existing "…" is just a character
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(json(c.text).dump(-1, ' ', false, json::error_handler_t::replace) + " / " +
                 std::to_string(c.max_units));
    const std::string out = truncate_utf16(c.text, c.max_units);
    EXPECT_EQ(out, c.expected);
    EXPECT_LE(utf16_length(out), c.max_units);
    EXPECT_TRUE(is_valid_utf8(out));
  }
}

// What a reader sees as one character (a UAX #29 extended grapheme cluster)
// is kept whole or dropped whole, wherever the 100-unit limit falls in it.
struct cluster_case {
  const char* name;
  std::string cluster;
  std::size_t units;  // UTF-16 code units of `cluster`
};

const cluster_case clusters[] = {
    {"flag (two regional indicators)", "\U0001F1E9\U0001F1EA", 4},
    {"emoji + skin tone modifier", "\U0001F44D\U0001F3FD", 4},
    {"e + combining acute accent", "e\u0301", 2},
    {"ZWJ sequence (family)", "\U0001F468\u200D\U0001F469\u200D\U0001F467", 8},
    {"invalid byte + combining accent", "\xFF\u0301", 2},  // U+FFFD then the accent: one cluster
};

TEST(TruncateUtf16, ClusterAcrossTheLimitIsDroppedWhole) {
  constexpr std::size_t limit = 100;
  constexpr std::size_t budget = limit - 1;  // "…" takes the last unit
  for (const auto& c : clusters) {
    // `lead` ASCII characters before the cluster, so that the cut falls after
    // each of its units but the last.
    for (std::size_t lead = budget - c.units + 1; lead < budget; ++lead) {
      SCOPED_TRACE(std::string(c.name) + " after " + std::to_string(lead) + " units");
      const std::string text = std::string(lead, 'a') + c.cluster + std::string(20, 'b');
      const std::string out = truncate_utf16(text, limit);
      EXPECT_EQ(out, std::string(lead, 'a') + ellipsis);
      EXPECT_LE(utf16_length(out), limit);
      EXPECT_TRUE(is_valid_utf8(out));
    }
  }
}

TEST(TruncateUtf16, ClusterBeforeTheLimitIsKeptWhole) {
  constexpr std::size_t limit = 100;
  for (const auto& c : clusters) {
    SCOPED_TRACE(c.name);
    const std::string kept = c.cluster.starts_with("\xFF") ? "\uFFFD" + c.cluster.substr(1) : c.cluster;
    // The cluster ends exactly at unit 99, right before the "…".
    const std::size_t lead = limit - 1 - c.units;
    const std::string out = truncate_utf16(std::string(lead, 'a') + c.cluster + std::string(20, 'b'), limit);
    EXPECT_EQ(out, std::string(lead, 'a') + kept + ellipsis);
    EXPECT_EQ(utf16_length(out), limit);
    // A string of such clusters filling the limit exactly is not cut at all.
    std::string full, full_kept;
    for (std::size_t n = 0; n < limit / c.units; ++n) {
      full += c.cluster;
      full_kept += kept;
    }
    full.append(limit % c.units, 'x');
    full_kept.append(limit % c.units, 'x');
    EXPECT_EQ(truncate_utf16(full, limit), full_kept);
    // One unit more and it is cut after the last whole cluster (or 'x') that
    // leaves room for the "…".
    std::string expected;
    std::size_t used = 0;
    for (std::size_t n = 0; n < limit / c.units && used + c.units < limit; ++n, used += c.units) expected += kept;
    for (std::size_t n = 0; n < limit % c.units && used + 1 < limit; ++n, ++used) expected += 'x';
    const std::string cut = truncate_utf16(full + "y", limit);
    EXPECT_EQ(cut, expected + ellipsis);
    EXPECT_LE(utf16_length(cut), limit);
  }
}

TEST(TruncateUtf16, GraphemeBoundaryCases) {
  const std::string e = ellipsis;
  const std::string flag_de = "\U0001F1E9\U0001F1EA", flag_fr = "\U0001F1EB\U0001F1F7";
  const std::string acute = "e\u0301";
  const truncate_case cases[] = {
      // Plain ASCII is cut as before.
      {std::string(150, 'a'), 100, std::string(99, 'a') + e},
      {std::string(100, 'a'), 100, std::string(100, 'a')},
      {std::string(101, 'a'), 100, std::string(99, 'a') + e},
      // Within the limit nothing changes, clusters or not.
      {flag_de + acute + "x", 100, flag_de + acute + "x"},
      {flag_de + flag_fr, 8, flag_de + flag_fr},
      // Adjacent flags pair up from the left: the first one survives whole.
      {flag_de + flag_fr, 7, flag_de + e},
      {flag_de + flag_fr, 4, e},
      // The space before a dropped cluster is trimmed before the "…".
      {std::string(97, 'a') + " " + acute + "bb", 100, std::string(97, 'a') + e},
      {"x " + flag_de + "yz", 5, "x" + e},
      // A space carrying a combining mark is a character, not trailing space.
      {"x \u0301" + std::string(5, 'y'), 4, "x \u0301" + e},
      {acute + acute, 1, e},
      {acute + acute, 0, ""},
      // A cluster longer than the whole budget (a letter under 120 combining
      // marks) is dropped whole too, even when nothing is left but the "…".
      {"a" +
           [] {
             std::string m;
             for (int i = 0; i < 120; ++i) m += "\u0301";
             return m;
           }() +
           "bc",
       100, e},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(json(c.text).dump(-1, ' ', false, json::error_handler_t::replace) + " / " +
                 std::to_string(c.max_units));
    const std::string out = truncate_utf16(c.text, c.max_units);
    EXPECT_EQ(out, c.expected);
    EXPECT_LE(utf16_length(out), c.max_units);
    EXPECT_TRUE(is_valid_utf8(out));
  }
}

TEST(TruncateUtf16, InvalidInputNeverProducesInvalidOutput) {
  const std::string nasty[] = {"\xFF\xFE",         "\xC0\xAF", "\xED\xA0\x80\xED\xB0\x80",
                               "\xF5\x80\x80\x80", "\x80\x80", std::string(150, '\xE4'),
                               "ok\xF0\x9F\x98"};
  for (const std::string& s : nasty) {
    for (std::size_t max : {0u, 1u, 2u, 3u, 100u, 1000u}) {
      const std::string out = truncate_utf16(s, max);
      EXPECT_TRUE(is_valid_utf8(out)) << max;
      EXPECT_LE(utf16_length(out), max);
    }
  }
}

}  // namespace
