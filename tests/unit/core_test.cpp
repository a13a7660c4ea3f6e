// Unit tests for core/: RFC 3339 time, issue identity and correlation key,
// SHA-256, the event enums and to_json, and the ticketsync error category.
#include "core/error.hpp"
#include "core/event.hpp"
#include "core/issue_key.hpp"
#include "core/time.hpp"
#include "support/enum_tables.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace {

// ---------------------------------------------------------------------------
// parse_rfc3339 / format_rfc3339

struct parse_case {
  const char* text;
  std::optional<std::int64_t> unix_ms;  // nullopt: must be rejected
};

class ParseRfc3339 : public testing::TestWithParam<parse_case> {};

TEST_P(ParseRfc3339, Table) {
  const parse_case& c = GetParam();
  const auto t = ts::parse_rfc3339(c.text);
  if (c.unix_ms) {
    ASSERT_TRUE(t) << c.text;
    EXPECT_EQ(ts::to_unix_ms(*t), *c.unix_ms);
  } else {
    EXPECT_FALSE(t) << c.text << " -> " << ts::format_rfc3339(*t);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Accepted, ParseRfc3339,
    testing::Values(
        parse_case{"1970-01-01T00:00:00Z", 0}, parse_case{"2026-01-02T03:04:05Z", 1767323045000},
        parse_case{"2026-01-02t03:04:05z", 1767323045000}, parse_case{"2026-01-02T04:04:05+01:00", 1767323045000},
        parse_case{"2026-01-01T22:34:05-04:30", 1767323045000}, parse_case{"2026-01-02T03:04:05-00:00", 1767323045000},
        parse_case{"2026-01-02T17:04:05+14:00", 1767323045000}, parse_case{"2026-01-01T15:04:05-12:00", 1767323045000},
        parse_case{"2026-01-02T03:04:05.5Z", 1767323045500}, parse_case{"2026-01-02T03:04:05.05Z", 1767323045050},
        parse_case{"2026-01-02T03:04:05.005Z", 1767323045005},
        parse_case{"2026-01-02T03:04:05.0059Z", 1767323045005},  // truncated, not rounded
        parse_case{"2026-01-02T03:04:05.999999999Z", 1767323045999},
        parse_case{"2026-01-02T03:04:05.000000000000000001Z", 1767323045000},
        parse_case{"2024-02-29T23:59:59.999Z", 1709251199999},  // leap day
        parse_case{"2000-03-01T00:00:00Z", 951868800000},
        parse_case{"2016-12-31T23:59:60Z", 1483228800000},  // leap second
        parse_case{"1969-12-31T23:59:59.999Z", -1}, parse_case{"0001-01-01T00:00:00Z", -62135596800000},
        parse_case{"9999-12-31T23:59:59.999Z", 253402300799999},
        parse_case{"2038-01-19T03:14:08Z", 2147483648000}));  // past 32-bit time_t

INSTANTIATE_TEST_SUITE_P(
    Rejected, ParseRfc3339,
    testing::Values(
        parse_case{"", std::nullopt}, parse_case{"2026", std::nullopt}, parse_case{"2026-01-02", std::nullopt},
        parse_case{"2026-01-02T03:04:05", std::nullopt}, parse_case{"2026-01-02T03:04", std::nullopt},
        parse_case{"2026-01-02T03:04Z", std::nullopt}, parse_case{"2026-01-02T03:04:05.123", std::nullopt},
        parse_case{"2026-02-30T00:00:00Z", std::nullopt}, parse_case{"2025-02-29T00:00:00Z", std::nullopt},
        parse_case{"2100-02-29T00:00:00Z", std::nullopt}, parse_case{"2026-06-31T00:00:00Z", std::nullopt},
        parse_case{"2026-13-01T00:00:00Z", std::nullopt}, parse_case{"2026-00-01T00:00:00Z", std::nullopt},
        parse_case{"2026-01-32T00:00:00Z", std::nullopt}, parse_case{"2026-01-00T00:00:00Z", std::nullopt},
        parse_case{"2026-01-02T24:00:00Z", std::nullopt}, parse_case{"2026-01-02T23:60:00Z", std::nullopt},
        parse_case{"2026-01-02T23:59:61Z", std::nullopt}, parse_case{"2026-01-02T03:04:05.Z", std::nullopt},
        parse_case{"2026-01-02T03:04:05+01", std::nullopt}, parse_case{"2026-01-02T03:04:05+0100", std::nullopt},
        parse_case{"2026-01-02T03:04:05+1:00", std::nullopt}, parse_case{"2026-01-02T03:04:05+24:00", std::nullopt},
        parse_case{"2026-01-02T03:04:05+01:60", std::nullopt}, parse_case{"2026-01-02T03:04:05+01:00Z", std::nullopt},
        parse_case{"2026-01-02T03:04:05Z ", std::nullopt}, parse_case{"2026-01-02T03:04:05ZZ", std::nullopt},
        parse_case{"2026-01-02X03:04:05Z", std::nullopt}, parse_case{"2026-01-02 03:04:05Z", std::nullopt},
        parse_case{"2026/01/02T03:04:05Z", std::nullopt}, parse_case{"2026-01-02T03-04-05Z", std::nullopt},
        parse_case{"20260102T030405Z", std::nullopt}, parse_case{"-2026-01-02T03:04:05Z", std::nullopt},
        parse_case{"2026-01-02T03:04:05,5Z", std::nullopt}, parse_case{"2026-01-02T03:04:05.5.5Z", std::nullopt}));

TEST(FormatRfc3339, Canonical) {
  EXPECT_EQ(ts::format_rfc3339(ts::from_unix_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(ts::format_rfc3339(ts::from_unix_ms(1767323045123)), "2026-01-02T03:04:05.123Z");
  EXPECT_EQ(ts::format_rfc3339(ts::from_unix_ms(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(ts::format_rfc3339(ts::from_unix_ms(1709251199999)), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(ts::format_rfc3339(ts::from_unix_ms(253402300799999)), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(ts::format_rfc3339(ts::from_unix_ms(-62135596800000)), "0001-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  const std::int64_t samples[] = {0,
                                  1,
                                  -1,
                                  999,
                                  1000,
                                  86399999,
                                  86400000,
                                  951782400000,
                                  951868799999,
                                  1709208000000,
                                  1767323045123,
                                  2147483648000,
                                  -2208988800000,
                                  253402300799999,
                                  -62135596800000};
  for (std::int64_t ms : samples) {
    SCOPED_TRACE(ms);
    const std::string text = ts::format_rfc3339(ts::from_unix_ms(ms));
    const auto back = ts::parse_rfc3339(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(ts::to_unix_ms(*back), ms);
    EXPECT_EQ(ts::format_rfc3339(*back), text);
  }
}

TEST(FormatRfc3339, ParseThenFormatNormalisesToUtcMilliseconds) {
  EXPECT_EQ(ts::format_rfc3339(*ts::parse_rfc3339("2026-01-02T05:04:05.1+02:00")), "2026-01-02T03:04:05.100Z");
  EXPECT_EQ(ts::format_rfc3339(*ts::parse_rfc3339("2026-12-31T23:30:00-01:00")), "2027-01-01T00:30:00.000Z");
  EXPECT_EQ(ts::format_rfc3339(*ts::parse_rfc3339("2026-03-01T00:30:00+01:00")), "2026-02-28T23:30:00.000Z");
}

TEST(UnixMs, Conversions) {
  EXPECT_EQ(ts::to_unix_ms(ts::from_unix_ms(1767323045123)), 1767323045123);
  EXPECT_EQ(ts::to_unix_ms(ts::sys_ms{}), 0);
}

// ---------------------------------------------------------------------------
// SHA-256, issue identity, correlation key

TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(ts::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ts::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ts::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ts::sha256_hex(std::string_view("\0", 1)),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST(IssueIdentity, Display) {
  EXPECT_EQ((ts::issue_identity{"wazuh", "acme-prod", "alert-42"}).display(), "wazuh/acme-prod/alert-42");
  EXPECT_EQ((ts::issue_identity{"a", "b", "c"}), (ts::issue_identity{"a", "b", "c"}));
  EXPECT_NE((ts::issue_identity{"a", "b", "c"}), (ts::issue_identity{"a", "b", "d"}));
}

bool is_lower_hex(std::string_view s) { return s.find_first_not_of("0123456789abcdef") == std::string_view::npos; }

TEST(CorrelationKey, Format) {
  const std::string key = ts::correlation_key({"wazuh", "acme-prod", "alert-42"});
  EXPECT_EQ(key.rfind("ts1:", 0), 0u) << key;
  EXPECT_EQ(key.size(), 68u);
  EXPECT_LE(key.size(), 100u);  // ConnectWise externalXRef limit
  EXPECT_TRUE(is_lower_hex(std::string_view(key).substr(4))) << key;
}

TEST(CorrelationKey, IsDeterministicAndPinned) {
  // Tickets in ConnectWise carry these keys: changing the encoding would orphan
  // every existing ticket, so the exact value is pinned.
  EXPECT_EQ(ts::correlation_key({"a", "b", "c"}),
            "ts1:321cf3124838eafcf3df515fc440c7452def249dc89643bb5fb8e1bc260b2191");
  EXPECT_EQ(ts::correlation_key({"wazuh", "acme-prod", "alert-42"}),
            "ts1:ddbd79338c711b9e8bc5f677fc27f91576e099542b132fd4832e715468012908");
  EXPECT_EQ(ts::correlation_key({"wazuh", "acme-prod", "alert-42"}),
            ts::correlation_key({"wazuh", "acme-prod", "alert-42"}));
}

TEST(CorrelationKey, DistinctIdentitiesNeverCollide) {
  const ts::issue_identity ids[] = {{"a/b", "c", "d"}, {"a", "b/c", "d"}, {"a", "b", "c/d"}, {"ab", "c", "d"},
                                    {"a", "bc", "d"},  {"a", "b", "cd"},  {"", "abc", "d"},  {"abc", "", "d"},
                                    {"a", "", ""},     {"", "", "a"},     {"", "", ""},      {"1:a", "b", "c"},
                                    {"a", "1:b", "c"}, {"A", "b", "c"},   {"a ", "b", "c"}};
  std::set<std::string> keys;
  for (const auto& id : ids) keys.insert(ts::correlation_key(id));
  EXPECT_EQ(keys.size(), std::size(ids));
  EXPECT_NE(ts::correlation_key({"a/b", "c", "d"}), ts::correlation_key({"a", "b/c", "d"}));
}

TEST(CorrelationKey, LongAndUnicodeIdentitiesStayWithinLimit) {
  const std::string key = ts::correlation_key({std::string(200, 's'), "m\u00FCller-\u4E2D", std::string(200, 'i')});
  EXPECT_EQ(key.size(), 68u);
  EXPECT_TRUE(is_lower_hex(std::string_view(key).substr(4)));
}

// ---------------------------------------------------------------------------
// Event model

TEST(EventEnums, RoundTrip) {
  for (auto s : {ts::issue_state::open, ts::issue_state::resolved})
    EXPECT_EQ(ts::from_text<ts::issue_state>(ts::to_text(s)), s);
  for (auto s :
       {ts::severity::critical, ts::severity::high, ts::severity::medium, ts::severity::low, ts::severity::info})
    EXPECT_EQ(ts::from_text<ts::severity>(ts::to_text(s)), s);
  EXPECT_EQ(ts::to_text(ts::severity::critical), "critical");
  EXPECT_EQ(ts::to_text(ts::issue_state::resolved), "resolved");
  EXPECT_FALSE(ts::from_text<ts::issue_state>("closed"));
  EXPECT_FALSE(ts::from_text<ts::issue_state>("Open"));
  EXPECT_FALSE(ts::from_text<ts::severity>("urgent"));
  EXPECT_FALSE(ts::from_text<ts::severity>(""));
  EXPECT_FALSE(ts::from_text<ts::severity>("HIGH"));
}

TEST(EnumText, TablesAreComplete) {
  ts::test::expect_bijective_table<ts::issue_state>(2);
  ts::test::expect_bijective_table<ts::severity>(5);
  EXPECT_EQ(ts::text_choices<ts::severity>(), "critical, high, medium, low, info");
  EXPECT_EQ(ts::text_choices<ts::issue_state>(" | "), "open | resolved");
}

TEST(EventToJson, ContainsEveryFieldAndKeepsExtra) {
  ts::event ev;
  ev.source = "wazuh";
  ev.tenant = "acme-prod";
  ev.issue_id = "42";
  ev.state = ts::issue_state::resolved;
  ev.severity = ts::severity::low;
  ev.title = "t";
  ev.url = "https://x.example";
  ev.tags = {"a"};
  ev.updated_at_text = "2026-01-02T03:04:05Z";
  ev.attributes = {{"k", 1}};
  ev.extra = {{"vendor_field", "v"}};
  const nlohmann::json j = ev.to_json();
  EXPECT_EQ(j["source"], "wazuh");
  EXPECT_EQ(j["state"], "resolved");
  EXPECT_EQ(j["severity"], "low");
  EXPECT_EQ(j["url"], "https://x.example");
  EXPECT_FALSE(j.contains("description"));  // absent optionals are omitted
  EXPECT_EQ(j["tags"], nlohmann::json::array({"a"}));
  EXPECT_EQ(j["updated_at"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(j["attributes"]["k"], 1);
  EXPECT_EQ(j["vendor_field"], "v");
}

// ---------------------------------------------------------------------------
// Errors

TEST(Errc, MessagesAndCategory) {
  const std::pair<ts::errc, const char*> expected[] = {
      {ts::errc::ok, "ok"},
      {ts::errc::invalid_config, "invalid configuration"},
      {ts::errc::psa_protocol, "PSA protocol error"},
      {ts::errc::psa_not_found, "not found in PSA"},
  };
  for (auto [e, message] : expected) {
    const boost::system::error_code ec = e;  // implicit: is_error_code_enum
    EXPECT_EQ(ec.message(), message);
    EXPECT_STREQ(ec.category().name(), "ticketsync");
    EXPECT_EQ(ec, ts::make_error_code(e));
  }
  EXPECT_EQ(ts::ts_category().message(9999), "unknown ticketsync error");
  EXPECT_FALSE(boost::system::error_code(ts::errc::ok).failed());
  EXPECT_TRUE(boost::system::error_code(ts::errc::psa_protocol).failed());
  EXPECT_EQ(&ts::make_error_code(ts::errc::psa_not_found).category(), &ts::ts_category());
}

TEST(Errc, ResultCarriesIt) {
  ts::result<int> r = ts::make_error_code(ts::errc::psa_not_found);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ts::errc::psa_not_found);
  EXPECT_THROW((void)r.value(), boost::system::system_error);
  ts::result<int> ok = 7;
  EXPECT_EQ(ok.value(), 7);
}

}  // namespace
