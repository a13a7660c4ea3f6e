// Unit tests for sources/event_parser: schema v1 validation (DESIGN §3). Each
// rejection must name its field; each message must be printable, valid UTF-8.
#include "sources/event_parser.hpp"
#include "support/utf8.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ts::test::is_valid_utf8;

using json = nlohmann::json;
using ts::intake::event_error;
using ts::intake::parse_event;

const char* const required_fields[] = {"source", "tenant", "issue_id", "state", "severity", "title", "updated_at"};
const char* const string_fields[] = {"source",     "tenant",      "issue_id", "state", "severity", "title",
                                     "updated_at", "description", "category", "asset", "url"};
const char* const optional_string_fields[] = {"description", "category", "asset", "url"};
const char* const id_fields[] = {"source", "tenant", "issue_id"};

json valid_event() {
  return json{{"source", "wazuh"},
              {"tenant", "acme-prod"},
              {"issue_id", "alert-42"},
              {"state", "open"},
              {"severity", "high"},
              {"title", "Brute force on srv01"},
              {"updated_at", "2026-01-02T03:04:05Z"}};
}

json with(json doc, const std::string& field, json value) {
  doc[field] = std::move(value);
  return doc;
}

json without(json doc, const std::string& field) {
  doc.erase(field);
  return doc;
}

// The error of a document that must be rejected; also checks that every
// message is safe to write into a .reason file.
event_error error_of_text(std::string_view text) {
  auto r = parse_event(text);
  if (r.has_value()) {
    ADD_FAILURE() << "accepted: " << text;
    return {};
  }
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_TRUE(is_valid_utf8(r.error().to_string())) << r.error().to_string();
  return r.error();
}

event_error error_of(const json& doc) { return error_of_text(doc.dump()); }

ts::event parsed(const json& doc) {
  auto r = parse_event(doc.dump());
  if (!r.has_value()) {
    ADD_FAILURE() << "rejected: " << r.error().to_string() << "\n  " << doc.dump();
    return {};
  }
  return *r;
}

// ---------------------------------------------------------------------------
// Accepted events

TEST(EventParser, MinimalEvent) {
  const ts::event ev = parsed(valid_event());
  EXPECT_EQ(ev.source, "wazuh");
  EXPECT_EQ(ev.tenant, "acme-prod");
  EXPECT_EQ(ev.issue_id, "alert-42");
  EXPECT_EQ(ev.state, ts::issue_state::open);
  EXPECT_EQ(ev.severity, ts::severity::high);
  EXPECT_EQ(ev.title, "Brute force on srv01");
  EXPECT_EQ(ev.updated_at_text, "2026-01-02T03:04:05Z");
  EXPECT_EQ(ts::to_unix_ms(ev.updated_at), 1767323045000);
  EXPECT_FALSE(ev.description);
  EXPECT_FALSE(ev.category);
  EXPECT_FALSE(ev.asset);
  EXPECT_FALSE(ev.url);
  EXPECT_TRUE(ev.tags.empty());
  EXPECT_EQ(ev.attributes, json::object());
  EXPECT_EQ(ev.extra, json::object());
}

TEST(EventParser, AllOptionalFields) {
  json doc = valid_event();
  doc["description"] = "## Details\n\n- 312 failed logins\n- from `203.0.113.7`";
  doc["category"] = "authentication";
  doc["asset"] = "srv01.acme.local";
  doc["url"] = "https://wazuh.example/alerts/42";
  doc["tags"] = {"ssh", "brute-force", ""};
  doc["attributes"] = {{"host", {{"name", "srv01"}, {"ip", "10.0.0.5"}}}, {"count", 312}};
  const ts::event ev = parsed(doc);
  EXPECT_EQ(ev.description, "## Details\n\n- 312 failed logins\n- from `203.0.113.7`");
  EXPECT_EQ(ev.category, "authentication");
  EXPECT_EQ(ev.asset, "srv01.acme.local");
  EXPECT_EQ(ev.url, "https://wazuh.example/alerts/42");
  EXPECT_EQ(ev.tags, (std::vector<std::string>{"ssh", "brute-force", ""}));
  EXPECT_EQ(ev.attributes["host"]["name"], "srv01");
  EXPECT_EQ(ev.attributes["count"], 312);
  EXPECT_EQ(ev.extra, json::object());  // known fields never land in extra
}

TEST(EventParser, UnknownTopLevelFieldsAreKeptInExtra) {
  json doc = valid_event();
  doc["schema_version"] = 1;
  doc["vendor"] = {{"rule", {{"id", 5712}, {"groups", {"sshd", "authentication_failures"}}}}};
  doc["note"] = nullptr;
  const ts::event ev = parsed(doc);
  EXPECT_EQ(ev.extra.size(), 3u);
  EXPECT_EQ(ev.extra["schema_version"], 1);
  EXPECT_EQ(ev.extra["vendor"]["rule"]["id"], 5712);
  EXPECT_TRUE(ev.extra["note"].is_null());
  const json back = ev.to_json();
  EXPECT_EQ(back["vendor"], doc["vendor"]);
  EXPECT_EQ(back["source"], "wazuh");
}

TEST(EventParser, NullOptionalFieldsAreAbsent) {
  json doc = valid_event();
  for (const char* f : optional_string_fields) doc[f] = nullptr;
  doc["tags"] = nullptr;
  doc["attributes"] = nullptr;
  const ts::event ev = parsed(doc);
  EXPECT_FALSE(ev.description);
  EXPECT_FALSE(ev.category);
  EXPECT_FALSE(ev.asset);
  EXPECT_FALSE(ev.url);
  EXPECT_TRUE(ev.tags.empty());
  EXPECT_EQ(ev.attributes, json::object());
  EXPECT_EQ(ev.extra, json::object());  // a null known field is not "unknown"
}

TEST(EventParser, EmptyOptionalStringsAreAbsent) {
  json doc = valid_event();
  for (const char* f : optional_string_fields) doc[f] = "";
  const ts::event ev = parsed(doc);
  EXPECT_FALSE(ev.description);
  EXPECT_FALSE(ev.category);
  EXPECT_FALSE(ev.asset);
  EXPECT_FALSE(ev.url);
}

TEST(EventParser, EnumValues) {
  const std::pair<const char*, ts::issue_state> states[] = {{"open", ts::issue_state::open},
                                                            {"resolved", ts::issue_state::resolved}};
  for (auto [text, value] : states) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parsed(with(valid_event(), "state", text)).state, value);
  }
  const std::pair<const char*, ts::severity> severities[] = {{"critical", ts::severity::critical},
                                                             {"high", ts::severity::high},
                                                             {"medium", ts::severity::medium},
                                                             {"low", ts::severity::low},
                                                             {"info", ts::severity::info}};
  for (auto [text, value] : severities) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parsed(with(valid_event(), "severity", text)).severity, value);
  }
}

TEST(EventParser, UnicodeIsAccepted) {
  json doc = valid_event();
  doc["tenant"] = "müller-gmbh";
  doc["title"] = "Verdächtige Anmeldung — 検出 🚨\ttab";
  const ts::event ev = parsed(doc);
  EXPECT_EQ(ev.tenant, "müller-gmbh");
  EXPECT_EQ(ev.title, "Verdächtige Anmeldung — 検出 🚨\ttab");
}

TEST(EventParser, ByteOrderMarkAndSurroundingWhitespaceAreAccepted) {
  EXPECT_TRUE(parse_event("\xEF\xBB\xBF" + valid_event().dump()));
  EXPECT_TRUE(parse_event("\n  " + valid_event().dump(2) + "\n\n"));
}

TEST(EventParser, DuplicateKeysLastOneWins) {
  // nlohmann keeps the last duplicate; documented here so a change is noticed.
  const std::string text = R"({"source":"a","source":"wazuh","tenant":"t","issue_id":"i","state":"open",
    "severity":"low","title":"x","updated_at":"2026-01-02T03:04:05Z"})";
  auto r = parse_event(text);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->source, "wazuh");
}

TEST(EventParser, ToJsonRoundTrips) {
  json doc = valid_event();
  doc["description"] = "line 1\nline 2";
  doc["tags"] = {"a", "b"};
  doc["attributes"] = {{"x", {1, 2.5, "three", nullptr, true}}};
  doc["custom"] = {{"k", "v"}};
  const ts::event a = parsed(doc);
  const ts::event b = parsed(a.to_json());
  EXPECT_EQ(a.to_json(), b.to_json());
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(b.extra, a.extra);
}

// ---------------------------------------------------------------------------
// Required fields and types

TEST(EventParser, EveryRequiredFieldMissing) {
  for (const char* f : required_fields) {
    SCOPED_TRACE(f);
    const event_error e = error_of(without(valid_event(), f));
    EXPECT_EQ(e.field, f);
    EXPECT_EQ(e.message, "is required");
    EXPECT_EQ(e.to_string(), std::string("field '") + f + "': is required");
  }
}

TEST(EventParser, EveryRequiredFieldNull) {
  for (const char* f : required_fields) {
    SCOPED_TRACE(f);
    const event_error e = error_of(with(valid_event(), f, nullptr));
    EXPECT_EQ(e.field, f);
    EXPECT_EQ(e.message, "is required");
  }
}

TEST(EventParser, EveryStringFieldWithWrongType) {
  const std::pair<json, const char*> wrong[] = {
      {42, "number"}, {-1.5, "number"}, {true, "boolean"}, {json::array({"x"}), "array"}, {json::object(), "object"}};
  for (const char* f : string_fields) {
    for (const auto& [value, type] : wrong) {
      SCOPED_TRACE(std::string(f) + " = " + value.dump());
      const event_error e = error_of(with(valid_event(), f, value));
      EXPECT_EQ(e.field, f);
      EXPECT_EQ(e.message, std::string("must be a string (got ") + type + ")");
    }
  }
}

TEST(EventParser, TagsWrongType) {
  EXPECT_EQ(error_of(with(valid_event(), "tags", "ssh")).to_string(),
            "field 'tags': must be an array of strings (got string)");
  EXPECT_EQ(error_of(with(valid_event(), "tags", {{"a", 1}})).to_string(),
            "field 'tags': must be an array of strings (got object)");
  EXPECT_EQ(error_of(with(valid_event(), "tags", json::array({"ok", 7}))).to_string(),
            "field 'tags[1]': must be a string (got number)");
  EXPECT_EQ(error_of(with(valid_event(), "tags", json::array({"ok", nullptr}))).to_string(),
            "field 'tags[1]': must be a string (got null)");
}

TEST(EventParser, AttributesWrongType) {
  const std::pair<json, const char*> wrong[] = {
      {"x", "string"}, {1, "number"}, {false, "boolean"}, {json::array({1}), "array"}};
  for (const auto& [value, type] : wrong) {
    SCOPED_TRACE(value.dump());
    EXPECT_EQ(error_of(with(valid_event(), "attributes", value)).to_string(),
              std::string("field 'attributes': must be an object (got ") + type + ")");
  }
}

TEST(EventParser, BadEnumValues) {
  EXPECT_EQ(error_of(with(valid_event(), "severity", "urgent")).to_string(),
            R"(field 'severity': must be one of critical, high, medium, low, info (got "urgent"))");
  EXPECT_EQ(error_of(with(valid_event(), "state", "closed")).to_string(),
            R"(field 'state': must be one of open, resolved (got "closed"))");
  // Matching is exact: no case folding, no trimming.
  for (const char* v : {"High", "HIGH", " high", "high ", "", "critical\n"}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(error_of(with(valid_event(), "severity", v)).field, "severity");
  }
  for (const char* v : {"Open", "reopened", ""}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(error_of(with(valid_event(), "state", v)).field, "state");
  }
}

TEST(EventParser, QuotedBadValueIsEscapedAndCut) {
  const event_error e = error_of(with(valid_event(), "severity", std::string(500, 'x') + "\n\"<"));
  EXPECT_EQ(e.field, "severity");
  EXPECT_LT(e.message.size(), 200u);
  EXPECT_NE(e.message.find("xxxx\u2026\""), std::string::npos) << e.message;

  // Control characters JSON leaves raw (DEL, C1) are escaped too.
  EXPECT_EQ(error_of(with(valid_event(), "severity", "l\x7Fw\u0085")).message,
            R"(must be one of critical, high, medium, low, info (got "l\u007fw\u0085"))");

  // Cutting never splits a multi-byte character.
  std::string emoji;
  for (int i = 0; i < 40; ++i) emoji += "\U0001F600";
  const event_error u = error_of(with(valid_event(), "state", "x" + emoji));
  EXPECT_NE(u.message.find("\u2026"), std::string::npos) << u.message;
}

// ---------------------------------------------------------------------------
// Identity fields, title

TEST(EventParser, IdentityFieldLimits) {
  for (const char* f : id_fields) {
    SCOPED_TRACE(f);
    EXPECT_EQ(error_of(with(valid_event(), f, "")).to_string(), std::string("field '") + f + "': must not be empty");
    EXPECT_TRUE(parse_event(with(valid_event(), f, std::string(200, 'a')).dump()));
    EXPECT_EQ(error_of(with(valid_event(), f, std::string(201, 'a'))).to_string(),
              std::string("field '") + f + "': must be at most 200 bytes (got 201)");
    // The limit is in bytes: 67 three-byte characters are 201 bytes.
    std::string cjk;
    for (int i = 0; i < 67; ++i) cjk += "\u4E2D";
    EXPECT_EQ(error_of(with(valid_event(), f, cjk)).field, f);
    EXPECT_TRUE(parse_event(with(valid_event(), f, cjk.substr(3)).dump()));
  }
}

TEST(EventParser, ControlCharactersInIdentityFields) {
  const std::pair<std::string, const char*> controls[] = {{std::string("a\0b", 3), "U+0000 at byte 1"},
                                                          {"a\nb", "U+000A at byte 1"},
                                                          {"\tab", "U+0009 at byte 0"},
                                                          {"ab\x1F", "U+001F at byte 2"},
                                                          {"a\x7F", "U+007F at byte 1"},
                                                          {"ab\u0085", "U+0085 at byte 2"},
                                                          {"\u009Fx", "U+009F at byte 0"},
                                                          {"ab\r", "U+000D at byte 2"}};
  for (const char* f : id_fields) {
    for (const auto& [value, where] : controls) {
      SCOPED_TRACE(std::string(f) + " = " + json(value).dump());
      const event_error e = error_of(with(valid_event(), f, value));
      EXPECT_EQ(e.field, f);
      EXPECT_EQ(e.message, std::string("must not contain control characters (") + where + ")");
    }
  }
  // Spaces and non-control Unicode (U+00A0, U+2028) are fine in ids.
  EXPECT_TRUE(parse_event(with(valid_event(), "issue_id", "a b\u00A0c\u2028d").dump()));
}

TEST(EventParser, TitleRules) {
  const std::pair<std::string, std::string> bad[] = {
      {"", "must not be empty or blank"},
      {"   ", "must not be empty or blank"},
      {" \t ", "must not be empty or blank"},
      {"first line\nsecond line", "must be one line (line break at byte 10)"},
      {"first line\r\nsecond line", "must be one line (line break at byte 10)"},
      {"trailing\n", "must be one line (line break at byte 8)"},
      {"cr\r", "must be one line (line break at byte 2)"},
      {std::string("nul\0", 4), "must not contain control characters (U+0000 at byte 3)"},
      {"bell\a", "must not contain control characters (U+0007 at byte 4)"},
      {"esc\x1B[31m", "must not contain control characters (U+001B at byte 3)"},
      {"del\x7F", "must not contain control characters (U+007F at byte 3)"},
      {"c1\u0085", "must not contain control characters (U+0085 at byte 2)"},
      {std::string(1001, 't'), "must be at most 1000 bytes (got 1001)"},
  };
  for (const auto& [title, message] : bad) {
    SCOPED_TRACE(json(title).dump());
    const event_error e = error_of(with(valid_event(), "title", title));
    EXPECT_EQ(e.field, "title");
    EXPECT_EQ(e.message, message);
  }
  for (const std::string& ok : {std::string(1000, 't'), std::string("tab\tinside"), std::string(" padded "),
                                std::string("\u2028 is not CR/LF")}) {
    SCOPED_TRACE(json(ok).dump());
    EXPECT_EQ(parsed(with(valid_event(), "title", ok)).title, ok);
  }
}

// ---------------------------------------------------------------------------
// updated_at (RFC 3339)

struct time_case {
  const char* text;
  std::int64_t unix_ms;
};

TEST(EventParser, UpdatedAtAccepted) {
  const time_case good[] = {
      {"2026-01-02T03:04:05Z", 1767323045000},
      {"2026-01-02t03:04:05z", 1767323045000},
      {"2026-01-02T05:04:05+02:00", 1767323045000},
      {"2026-01-01T21:34:05-05:30", 1767323045000},
      {"2026-01-02T03:04:05+00:00", 1767323045000},
      {"2026-01-02T03:04:05-00:00", 1767323045000},
      {"2026-01-02T03:04:05.1Z", 1767323045100},
      {"2026-01-02T03:04:05.123Z", 1767323045123},
      {"2026-01-02T03:04:05.123456789Z", 1767323045123},  // beyond ms: truncated
      {"2026-01-02T03:04:05.999999+01:00", 1767319445999},
      {"2024-02-29T12:00:00Z", 1709208000000},  // leap day
      {"2000-02-29T00:00:00Z", 951782400000},   // divisible by 400: leap
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.999Z", -1},
      {"2016-12-31T23:59:60Z", 1483228800000},  // leap second folds into the next
  };
  for (const auto& c : good) {
    SCOPED_TRACE(c.text);
    const ts::event ev = parsed(with(valid_event(), "updated_at", c.text));
    EXPECT_EQ(ts::to_unix_ms(ev.updated_at), c.unix_ms);
    EXPECT_EQ(ev.updated_at_text, c.text);  // kept verbatim for templates
  }
}

TEST(EventParser, UpdatedAtRejected) {
  const char* bad[] = {
      "",
      "yesterday",
      "2026-01-02",               // date only
      "2026-01-02T03:04:05",      // missing zone
      "2026-01-02T03:04:05.123",  // missing zone after fraction
      "2026-01-02 03:04:05Z",     // space separator (RFC 3339 allows; we do not)
      "2026-02-30T00:00:00Z",     // Feb 30
      "2023-02-29T00:00:00Z",     // not a leap year
      "1900-02-29T00:00:00Z",     // divisible by 100: not a leap year
      "2026-04-31T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-00-10T00:00:00Z",
      "2026-01-00T00:00:00Z",
      "2026-01-02T24:00:00Z",
      "2026-01-02T03:60:00Z",
      "2026-01-02T03:04:61Z",
      "2026-1-2T03:04:05Z",
      "26-01-02T03:04:05Z",
      "2026-01-02T03:04:05.Z",     // empty fraction
      "2026-01-02T03:04:05+0200",  // offset without colon
      "2026-01-02T03:04:05+02",
      "2026-01-02T03:04:05+24:00",
      "2026-01-02T03:04:05+02:60",
      "2026-01-02T03:04:05 Z",
      "2026-01-02T03:04:05Z ",  // trailing space
      " 2026-01-02T03:04:05Z",
      "2026-01-02T03:04:05ZZ",
      "2026-01-02T03:04:05UTC",
      "+2026-01-02T03:04:05Z",
      "2026-01-02T03:04:05,123Z",  // comma fraction (ISO 8601, not RFC 3339)
      "１２３４-01-02T03:04:05Z",  // full-width digits
  };
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    const event_error e = error_of(with(valid_event(), "updated_at", text));
    EXPECT_EQ(e.field, "updated_at");
    EXPECT_EQ(e.message, "must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-02T03:04:05Z (got " +
                             json(text).dump() + ")");
  }
}

// ---------------------------------------------------------------------------
// Documents that are not events at all

TEST(EventParser, TopLevelMustBeAnObject) {
  const std::pair<const char*, const char*> cases[] = {{"[]", "array"},  {"[{}]", "array"}, {"\"event\"", "string"},
                                                       {"42", "number"}, {"null", "null"},  {"true", "boolean"}};
  for (auto [text, type] : cases) {
    SCOPED_TRACE(text);
    const event_error e = error_of_text(text);
    EXPECT_EQ(e.field, "");
    EXPECT_EQ(e.to_string(), std::string("must be a JSON object (got ") + type + ")");
  }
}

TEST(EventParser, EmptyDocument) {
  for (const char* text : {"", " ", "\n\t\r\n"}) {
    SCOPED_TRACE(json(text).dump());
    EXPECT_EQ(error_of_text(text).to_string(), "not valid JSON: empty document");
  }
}

TEST(EventParser, TruncatedDocumentSaysSoAtEveryCut) {
  json doc = valid_event();
  doc["description"] = "multi\nline \u00E9\u4E2D\U0001F600";
  doc["tags"] = {"a"};
  doc["attributes"] = {{"n", 1.25}, {"b", true}, {"z", nullptr}};
  const std::string text = doc.dump(2);
  for (std::size_t len = 1; len < text.size(); ++len) {
    const std::string_view cut(text.data(), len);
    // A cut inside a multi-byte character is invalid UTF-8 first.
    if ((static_cast<unsigned char>(text[len]) & 0xC0) == 0x80) continue;
    if (cut.find_first_not_of(" \n") == std::string_view::npos) continue;
    SCOPED_TRACE(len);
    const event_error e = error_of_text(cut);
    EXPECT_EQ(e.field, "");
    EXPECT_EQ(e.message.rfind("not valid JSON: unexpected end of input at line ", 0), 0u) << e.message;
    EXPECT_NE(e.message.find("(byte " + std::to_string(len) + "); the document looks truncated"), std::string::npos)
        << e.message;
  }
}

TEST(EventParser, TruncatedMessageFormat) {
  EXPECT_EQ(error_of_text("{\n  \"source\": \"waz").to_string(),
            "not valid JSON: unexpected end of input at line 2, column 17 (byte 18); the document looks truncated");
}

TEST(EventParser, SyntaxErrorsNamePosition) {
  for (const char* text : {"{\"a\":1}x", "{'a':1}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":nul}", "}"}) {
    SCOPED_TRACE(text);
    const event_error e = error_of_text(text);
    EXPECT_EQ(e.field, "");
    EXPECT_EQ(e.message.rfind("not valid JSON: ", 0), 0u) << e.message;
    EXPECT_NE(e.message.find(" at line 1, column "), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("last read"), std::string::npos) << e.message;  // raw input is never echoed
  }
  EXPECT_EQ(error_of_text("{\"a\":1}x").message,
            "not valid JSON: invalid literal; expected end of input at line 1, column 8 (byte 7)");
  EXPECT_EQ(error_of_text("{\"a\":1,}").message,
            "not valid JSON: unexpected '}'; expected string literal at line 1, column 8 (byte 7)");
  // The raw token nlohmann quotes ("last read") is dropped, however long, even
  // when it looks like part of the message.
  const std::string long_token = "{\"a\":\"" + std::string(3000, 'x') + "; expected ':'\\q\"}";
  const event_error e = error_of_text(long_token);
  EXPECT_EQ(e.message.rfind("not valid JSON: invalid string: forbidden character after backslash at line 1", 0), 0u)
      << e.message;
  EXPECT_LT(e.message.size(), 200u);
  // Raw control characters inside strings are not valid JSON.
  const event_error lf = error_of_text("{\"title\":\"a\nb\"}");
  EXPECT_NE(lf.message.find("U+000A"), std::string::npos) << lf.message;
  EXPECT_NE(lf.message.find("line 1, column 12 (byte 11)"), std::string::npos) << lf.message;
}

TEST(EventParser, NumbersBeyondDoubleAreRejected) {
  EXPECT_EQ(error_of_text("1e999").to_string(), "not valid JSON: number out of range (beyond a double)");
  EXPECT_EQ(error_of_text(R"({"source":"s","attributes":{"x":[-1e400]}})").to_string(),
            "field 'attributes': number out of range (beyond a double)");
  // Large but representable numbers are fine, in extra and attributes alike.
  json doc = valid_event();
  doc["attributes"] = json::parse(R"({"big":1e308,"huge_int":123456789012345678901234567890})");
  doc["x"] = json::parse("-1.7976931348623157e308");
  EXPECT_TRUE(parse_event(doc.dump()));
}

TEST(EventParser, LoneSurrogateEscapesAreRejected) {
  for (const char* esc : {R"(\ud800)", R"(\udc00)", R"(\ud83dx)"}) {
    SCOPED_TRACE(esc);
    const event_error e = error_of_text(std::string(R"({"title":")") + esc + "\"}");
    EXPECT_EQ(e.message.rfind("not valid JSON: ", 0), 0u) << e.message;
    EXPECT_NE(e.message.find("surrogate"), std::string::npos) << e.message;
  }
  // A proper pair is fine.
  auto ok = parse_event(R"({"source":"s","tenant":"t","issue_id":"i","state":"open","severity":"low",
      "title":"\ud83d\ude00","updated_at":"2026-01-02T03:04:05Z"})");
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->title, "\U0001F600");
}

TEST(EventParser, InvalidUtf8IsRejectedWithItsPosition) {
  const std::string base = valid_event().dump();
  const std::size_t at = base.find("Brute");  // inside the title string
  const std::pair<std::string, std::string> bytes[] = {
      {"\xFF", "0xFF"},
      {"\xFE", "0xFE"},
      {"\x80", "0x80"},  // never valid / stray
      {"\xC0\xAF", "0xC0"},
      {"\xE0\x80\xAF", "0xE0"},  // overlong
      {"\xED\xA0\x80", "0xED"},  // UTF-16 surrogate
      {"\xF4\x90\x80\x80", "0xF4"},
      {"\xF5\x80\x80\x80", "0xF5"},  // above U+10FFFF
      {"\xE4\xB8", "0xE4"},
      {"\xC3", "0xC3"},  // truncated sequence
  };
  for (const auto& [b, shown] : bytes) {
    SCOPED_TRACE(shown);
    std::string text = base;
    text.insert(at, b);
    const event_error e = error_of_text(text);
    EXPECT_EQ(e.field, "");
    EXPECT_EQ(e.message, "not valid JSON: invalid UTF-8 (byte " + shown + ") at line 1, column " +
                             std::to_string(at + 1) + " (byte " + std::to_string(at) + ")");
  }
  // Outside strings, in keys, and as the last byte of the document.
  EXPECT_NE(error_of_text("\xFF{}").message.find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of_text("{\"k\xFF\":1}").message.find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of_text(base + "\xE2").message.find("invalid UTF-8"), std::string::npos);
}

// A raw NUL byte is rejected wherever it is, with its position: nlohmann's
// lexer takes one for the end of the input, which would accept whatever
// follows it (and a spool file is read whole, NULs included).
TEST(EventParser, RawNulByteIsRejectedWithItsPosition) {
  using namespace std::string_literals;
  const std::string base = valid_event().dump();
  const std::size_t title = base.find("Brute");
  const std::size_t end = base.size();
  const struct {
    const char* name;
    std::string text;
    std::string position;
  } cases[] = {
      {"after the event, then garbage", base + "\0garbage"s,
       "line 1, column " + std::to_string(end + 1) + " (byte " + std::to_string(end) + ")"},
      {"after the event, last byte", base + "\0"s,
       "line 1, column " + std::to_string(end + 1) + " (byte " + std::to_string(end) + ")"},
      {"after the event and a newline", base + "\n\0{}"s, "line 2, column 1 (byte " + std::to_string(end + 1) + ")"},
      {"first byte", "\0"s + base, "line 1, column 1 (byte 0)"},
      {"after a BOM", "\xEF\xBB\xBF\0"s + base, "line 1, column 4 (byte 3)"},
      {"between tokens", "{\0"s + base.substr(1), "line 1, column 2 (byte 1)"},
      {"inside a string", base.substr(0, title) + "\0"s + base.substr(title),
       "line 1, column " + std::to_string(title + 1) + " (byte " + std::to_string(title) + ")"},
      {"alone", "\0"s, "line 1, column 1 (byte 0)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const event_error e = error_of_text(c.text);
    EXPECT_EQ(e.field, "");
    EXPECT_EQ(e.message, "not valid JSON: NUL byte (0x00) at " + c.position);
  }
  // An escaped NUL is a character like any other, not a raw byte.
  EXPECT_TRUE(parse_event(with(valid_event(), "description", std::string("a\0b", 3)).dump()));
}

TEST(EventParser, DeepNestingIsRejectedNamingTheField) {
  auto nested = [](int depth) {
    json j = "leaf";
    for (int i = 0; i < depth; ++i) j = json{{"k", j}};
    return j;
  };
  EXPECT_TRUE(parse_event(with(valid_event(), "attributes", nested(64)).dump()));
  EXPECT_EQ(error_of(with(valid_event(), "attributes", nested(65))).to_string(),
            "field 'attributes': nested deeper than 64 levels");

  // Far deeper than any stack could hold if it were materialised.
  const std::string deep = R"({"source":"s","x_blob":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_EQ(error_of_text(deep).to_string(), "field 'x_blob': nested deeper than 64 levels");
  // An unknown key is quoted when it could break the message's line.
  EXPECT_EQ(error_of_text(R"({"a\nb":)" + std::string(100, '[') + std::string(100, ']') + "}").to_string(),
            "field 'a\\nb': nested deeper than 64 levels");
  // Deep and truncated: the syntax error wins.
  EXPECT_EQ(error_of_text(R"({"x":)" + std::string(100000, '[')).message.rfind("not valid JSON: unexpected end", 0),
            0u);
}

TEST(EventParser, ValidationOrderReportsFirstRequiredFieldFirst) {
  EXPECT_EQ(error_of(json::object()).field, "source");
  EXPECT_EQ(error_of(json{{"source", "s"}}).field, "tenant");
}

// ---------------------------------------------------------------------------
// Error type

TEST(EventError, ToString) {
  EXPECT_EQ((event_error{"title", "is required"}).to_string(), "field 'title': is required");
  EXPECT_EQ((event_error{"", "not valid JSON: empty document"}).to_string(), "not valid JSON: empty document");
}

TEST(EventError, ValueThrowsInvalidArgumentWithTheMessage) {
  auto r = parse_event(without(valid_event(), "title").dump());
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "field 'title': is required");
  }
}

// ---------------------------------------------------------------------------
// The shipped examples (examples/events) are what docs and the demo use.

// The source tree's examples/events: from TS_SOURCE_DIR when the build defines
// it, else found by walking up from this file's path (absolute or relative to
// the build directory) and from the working directory.
std::filesystem::path examples_dir() {
  namespace fs = std::filesystem;
#ifdef TS_SOURCE_DIR
  return fs::path(TS_SOURCE_DIR) / "examples" / "events";
#else
  std::error_code ec;
  for (fs::path start : {fs::path(__FILE__).parent_path(), fs::current_path(ec)}) {
    for (fs::path p = fs::absolute(start, ec); !p.empty(); p = p.parent_path()) {
      if (fs::is_regular_file(p / "examples" / "events" / "README.md", ec)) return p / "examples" / "events";
      if (p == p.parent_path()) break;
    }
  }
  return {};
#endif
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EventExamples, AllSamplesParse) {
  const auto dir = examples_dir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().filename().string());
    auto r = parse_event(read_file(entry.path()));
    EXPECT_TRUE(r) << r.error().to_string();
    ++n;
  }
  EXPECT_GE(n, 8);
}

TEST(EventExamples, InvalidSamplesFailAsDocumented) {
  const auto dir = examples_dir() / "invalid";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  const std::pair<const char*, const char*> expected[] = {
      {"bad-severity.json", R"(field 'severity': must be one of critical, high, medium, low, info (got "urgent"))"},
      {"missing-title.json", "field 'title': is required"},
      {"truncated.json", "not valid JSON: unexpected end of input at line "},
  };
  for (auto [file, prefix] : expected) {
    SCOPED_TRACE(file);
    const event_error e = error_of_text(read_file(dir / file));
    EXPECT_EQ(e.to_string().rfind(prefix, 0), 0u) << e.to_string();
  }
}

}  // namespace

//------------------------------------------------------------------------------
// Batches (POST /v1/events)

TEST(EventBatch, OneObjectIsStoredAsGiven) {
  const std::string body = valid_event().dump(2);
  auto r = ts::intake::parse_event_batch(body, 10);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], body);
}

TEST(EventBatch, ArrayElementsAreEachValidatedAndReserialized) {
  json a = valid_event();
  json b = with(valid_event(), "issue_id", "alert-43");
  auto r = ts::intake::parse_event_batch(" \n[" + a.dump(2) + ", " + b.dump() + "]", 10);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(json::parse((*r)[0]), a);
  EXPECT_EQ(json::parse((*r)[1]), b);
  EXPECT_TRUE(parse_event((*r)[1]).has_value());
}

TEST(EventBatch, RefusalsNameTheElementAndField) {
  const json good = valid_event();
  const json bad = with(valid_event(), "severity", "urgent");
  const struct {
    std::string body;
    std::optional<std::size_t> index;
    std::string field;
    std::string fragment;
  } cases[] = {
      {"[" + good.dump() + "," + bad.dump() + "]", 1, "severity", "event [1]: field 'severity'"},
      {"[" + without(good, "title").dump() + "]", 0, "title", "event [0]: field 'title'"},
      {"[]", std::nullopt, "", "the array holds no events"},
      {"[" + good.dump() + "," + good.dump() + "," + good.dump() + "]", std::nullopt, "", "at most 2 per request"},
      {"[" + good.dump() + ",", std::nullopt, "", "not valid JSON"},
      {"[1]", 0, "", "event [0]: must be a JSON object"},
      {bad.dump(), std::nullopt, "severity", "field 'severity'"},
      {"", std::nullopt, "", "not valid JSON"},
      {"[\"\xff\"]", std::nullopt, "", "invalid UTF-8"},
      {std::string(70, '[') + std::string(70, ']'), 0, "", "event [0]: not valid JSON: nested deeper than 64 levels"},
      {good.dump() + std::string("\0garbage", 8), std::nullopt, "", "NUL byte (0x00)"},
      {"[" + good.dump() + "]" + std::string("\0garbage", 8), std::nullopt, "", "NUL byte (0x00)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 80));
    auto r = ts::intake::parse_event_batch(c.body, 2);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().index, c.index);
    EXPECT_EQ(r.error().error.field, c.field);
    EXPECT_NE(r.error().to_string().find(c.fragment), std::string::npos) << r.error().to_string();
  }
}

// Both intake paths (a spool file: parse_event; POST /v1/events:
// parse_event_batch, as one object or inside an array) refuse a raw NUL byte
// with the same message, wherever it is.
TEST(EventBatch, RawNulByteIsRefusedLikeInASpoolFile) {
  using namespace std::string_literals;
  const std::string event = valid_event().dump();
  const std::size_t title = event.find("Brute");
  const std::string inside = event.substr(0, title) + "\0"s + event.substr(title);
  const struct {
    const char* name;
    std::string body;
    std::string message;
  } cases[] = {
      {"object, then garbage", event + "\0garbage"s,
       "not valid JSON: NUL byte (0x00) at line 1, column " + std::to_string(event.size() + 1) + " (byte " +
           std::to_string(event.size()) + ")"},
      {"array, then garbage", "[" + event + "]\0garbage"s,
       "not valid JSON: NUL byte (0x00) at line 1, column " + std::to_string(event.size() + 3) + " (byte " +
           std::to_string(event.size() + 2) + ")"},
      {"array, then a second array", "[" + event + "]\0["s + event + "]",
       "not valid JSON: NUL byte (0x00) at line 1, column " + std::to_string(event.size() + 3) + " (byte " +
           std::to_string(event.size() + 2) + ")"},
      {"inside a string of an object", inside,
       "not valid JSON: NUL byte (0x00) at line 1, column " + std::to_string(title + 1) + " (byte " +
           std::to_string(title) + ")"},
      {"inside a string of an array element", "[" + inside + "]",
       "not valid JSON: NUL byte (0x00) at line 1, column " + std::to_string(title + 2) + " (byte " +
           std::to_string(title + 1) + ")"},
      {"between elements", "[" + event + ",\0"s + event + "]",
       "not valid JSON: NUL byte (0x00) at line 1, column " + std::to_string(event.size() + 3) + " (byte " +
           std::to_string(event.size() + 2) + ")"},
      {"before the array", "\0["s + event + "]", "not valid JSON: NUL byte (0x00) at line 1, column 1 (byte 0)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ts::intake::parse_event_batch(c.body, 10);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().index, std::nullopt);
    EXPECT_EQ(r.error().error.field, "");
    EXPECT_EQ(r.error().to_string(), c.message);
  }
  // A spool file holding the object body says the same.
  auto spooled = parse_event(event + "\0garbage"s);
  ASSERT_FALSE(spooled.has_value());
  EXPECT_EQ(spooled.error().to_string(), cases[0].message);
}

// The same over-deep event gets the same words from a spool file and from
// POST /v1/events, whether the body is the event itself or an array of events.
TEST(EventBatch, OverDeepNestingIsWordedAsForASpoolFile) {
  auto nested = [](int depth) {
    json j = "leaf";
    for (int i = 0; i < depth; ++i) j = json{{"k", j}};
    return j;
  };
  const json good = valid_event();
  const struct {
    const char* name;
    json event;
    std::string expected;
  } cases[] = {
      {"attributes", with(good, "attributes", nested(65)), "field 'attributes': nested deeper than 64 levels"},
      {"an unknown field", with(good, "x_blob", nested(100)), "field 'x_blob': nested deeper than 64 levels"},
      {"tags", with(good, "tags", json::array({nested(70)})), "field 'tags': nested deeper than 64 levels"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string text = c.event.dump();
    auto spooled = parse_event(text);
    ASSERT_FALSE(spooled.has_value());
    EXPECT_EQ(spooled.error().to_string(), c.expected);

    auto one = ts::intake::parse_event_batch(text, 10);
    ASSERT_FALSE(one.has_value());
    EXPECT_EQ(one.error().index, std::nullopt);
    EXPECT_EQ(one.error().error.to_string(), c.expected);

    for (std::size_t at : {0u, 2u}) {
      SCOPED_TRACE(at);
      std::string body = "[";
      for (std::size_t i = 0; i < 3; ++i) body += (i ? "," : "") + (i == at ? text : good.dump());
      auto batch = ts::intake::parse_event_batch(body + "]", 10);
      ASSERT_FALSE(batch.has_value());
      EXPECT_EQ(batch.error().index, at);
      EXPECT_EQ(batch.error().error.field, spooled.error().field);
      EXPECT_EQ(batch.error().error.to_string(), c.expected);
      EXPECT_EQ(batch.error().to_string(), "event [" + std::to_string(at) + "]: " + c.expected);
    }
  }
  // Elements that are not objects count as elements too.
  auto batch = ts::intake::parse_event_batch("[1, \"x\", " + with(good, "attributes", nested(65)).dump() + "]", 10);
  ASSERT_FALSE(batch.has_value());
  EXPECT_EQ(batch.error().to_string(), "event [2]: field 'attributes': nested deeper than 64 levels");
}
