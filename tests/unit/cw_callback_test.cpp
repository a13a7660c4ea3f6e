// Unit tests for sources/cw_callback: ConnectWise callback bodies, the
// x-content-signature form, key_url and signing-key answers. Every rejection
// names its field; the signature vectors were computed independently (Python's
// hmac and hashlib: base64(HMAC-SHA256(SHA-256(key), body))).
#include "sources/cw_callback.hpp"
#include "support/utf8.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
using ts::intake::callback_action;
using ts::intake::check_key_url;
using ts::intake::parse_callback;
using ts::intake::parse_signing_key;

json ticket_entity() {
  return json{{"id", 1001},
              {"summary", "[high] Brute force on srv01"},
              {"status", {{"id", 5}, {"name", "Closed"}}},
              {"_info", {{"lastUpdated", "2026-12-03T10:00:00Z"}, {"updatedBy", "jsmith"}}}};
}

json valid_callback() {
  return json{{"Action", "updated"},
              {"Type", "ticket"},
              {"ID", 1001},
              {"MemberId", 176},
              {"CompanyId", "acme"},
              {"FromUrl", "https://na.myconnectwise.net"},
              {"Entity", ticket_entity().dump()},
              {"Metadata", {{"key_url", "https://na.myconnectwise.net/v4_6_release/apis/3.0/system/callbackkey/7"}}}};
}

TEST(CwCallback, AnUpdateWithItsEntityAsAStringIsParsed) {
  auto cb = parse_callback(valid_callback().dump());
  ASSERT_TRUE(cb) << cb.error().to_string();
  EXPECT_EQ(cb->action, callback_action::updated);
  EXPECT_EQ(cb->type, "ticket");
  EXPECT_EQ(cb->id, 1001);
  EXPECT_EQ(cb->member_id, "176");
  EXPECT_EQ(cb->company_id, "acme");
  EXPECT_EQ(cb->from_url, "https://na.myconnectwise.net");
  EXPECT_EQ(cb->key_url, "https://na.myconnectwise.net/v4_6_release/apis/3.0/system/callbackkey/7");
  ASSERT_TRUE(cb->entity);
  EXPECT_EQ((*cb->entity)["status"]["name"], "Closed");
  EXPECT_EQ(cb->last_updated, "2026-12-03T10:00:00Z");
  EXPECT_EQ(cb->updated_by, "jsmith");
  EXPECT_FALSE(cb->message_id);
  EXPECT_EQ(cb->delivery_key(), "c:1001:updated:2026-12-03T10:00:00Z");
}

TEST(CwCallback, AcceptedVariants) {
  struct row {
    const char* what;
    json body;
    callback_action action;
    std::string key;
  };
  auto with = [](std::initializer_list<std::pair<const char*, json>> changes) {
    json b = valid_callback();
    for (const auto& [k, v] : changes) {
      if (v.is_null() && std::string(k).starts_with("-")) {
        b.erase(k + 1);
      } else {
        b[k] = v;
      }
    }
    return b;
  };
  const std::vector<row> rows = {
      {"added", with({{"Action", "added"}}), callback_action::added, "c:1001:added:2026-12-03T10:00:00Z"},
      {"letter case of Action and Type", with({{"Action", "Updated"}, {"Type", "Ticket"}}), callback_action::updated,
       "c:1001:updated:2026-12-03T10:00:00Z"},
      {"deleted, Entity null", with({{"Action", "deleted"}, {"Entity", nullptr}}), callback_action::deleted,
       "c:1001:deleted"},
      {"deleted, no Entity", with({{"Action", "deleted"}, {"-Entity", nullptr}}), callback_action::deleted,
       "c:1001:deleted"},
      {"Entity as an object", with({{"Entity", ticket_entity()}}), callback_action::updated,
       "c:1001:updated:2026-12-03T10:00:00Z"},
      {"a MessageId wins", with({{"MessageId", "9f1c"}}), callback_action::updated, "m:9f1c"},
      {"an integer MessageId", with({{"MessageId", 77}}), callback_action::updated, "m:77"},
      {"no lastUpdated: no key", with({{"Entity", json{{"id", 1001}}.dump()}}), callback_action::updated, ""},
      {"no Entity on an update: no key", with({{"-Entity", nullptr}}), callback_action::updated, ""},
      {"MemberId as a string", with({{"MemberId", "jsmith"}}), callback_action::updated,
       "c:1001:updated:2026-12-03T10:00:00Z"},
      {"no MemberId, no FromUrl", with({{"-MemberId", nullptr}, {"-FromUrl", nullptr}}), callback_action::updated,
       "c:1001:updated:2026-12-03T10:00:00Z"},
      {"ID at 2^53", with({{"ID", 9007199254740992LL}, {"Entity", nullptr}}), callback_action::updated, ""},
  };
  for (const auto& r : rows) {
    auto cb = parse_callback(r.body.dump());
    ASSERT_TRUE(cb) << r.what << ": " << cb.error().to_string();
    EXPECT_EQ(cb->action, r.action) << r.what;
    EXPECT_EQ(cb->delivery_key(), r.key) << r.what;
  }
}

TEST(CwCallback, EveryRejectionNamesItsField) {
  struct row {
    const char* what;
    std::string body;
    std::string field;
    std::string message;  ///< a part of the message
  };
  auto with = [](const char* key, const json& v) {
    json b = valid_callback();
    if (std::string(key).starts_with("-")) {
      b.erase(key + 1);
    } else {
      b[key] = v;
    }
    return b.dump();
  };
  auto meta = [](const json& m) {
    json b = valid_callback();
    b["Metadata"] = m;
    return b.dump();
  };
  // 70 nested arrays: over the 64 levels allowed.
  const std::string deep = std::string(70, '[') + std::string(70, ']');
  const std::vector<row> rows = {
      {"not JSON", "{\"Action\":", "", "not valid JSON"},
      {"an array", "[1]", "", "must be a JSON object (got array)"},
      {"a NUL after the object", valid_callback().dump() + std::string(1, '\0') + "x", "", "NUL byte"},
      {"over-deep", "{\"X\":" + deep + "}", "X", "nested deeper than 64 levels"},
      {"no Action", with("-Action", nullptr), "Action", "is required"},
      {"unknown Action", with("Action", "closed"), "Action", "must be one of added, updated, deleted (got \"closed\")"},
      {"Action a number", with("Action", 1), "Action", "must be a string (got number)"},
      {"no Type", with("-Type", nullptr), "Type", "is required"},
      {"empty Type", with("Type", ""), "Type", "must not be empty"},
      {"Type with a control character",
       with("Type",
            "tick\x1b"
            "et"),
       "Type", "control characters (U+001B"},
      {"Type too long", with("Type", std::string(65, 't')), "Type", "at most 64 bytes (got 65)"},
      {"no ID", with("-ID", nullptr), "ID", "is required"},
      {"ID a string", with("ID", "1001"), "ID", "must be an integer (got string)"},
      {"ID a fraction", with("ID", 1.5), "ID", "must be an integer (got number)"},
      {"ID zero", with("ID", 0), "ID", "between 1 and 2^53 (got 0)"},
      {"ID negative", with("ID", -5), "ID", "between 1 and 2^53 (got -5)"},
      {"ID above 2^53", with("ID", 9007199254740993ULL), "ID", "between 1 and 2^53"},
      {"no CompanyId", with("-CompanyId", nullptr), "CompanyId", "is required"},
      {"empty CompanyId", with("CompanyId", ""), "CompanyId", "must not be empty"},
      {"MemberId an object", with("MemberId", json::object()), "MemberId", "a string or an integer (got object)"},
      {"MemberId too long", with("MemberId", std::string(201, 'm')), "MemberId", "at most 200 bytes"},
      {"MessageId a bool", with("MessageId", true), "MessageId", "a string or an integer (got boolean)"},
      {"FromUrl too long", with("FromUrl", std::string(2049, 'u')), "FromUrl", "at most 2048 bytes"},
      {"no Metadata", with("-Metadata", nullptr), "Metadata.key_url", "is required"},
      {"Metadata a string", with("Metadata", "x"), "Metadata", "must be an object (got string)"},
      {"no key_url", meta(json::object()), "Metadata.key_url", "is required"},
      {"key_url a number", meta({{"key_url", 3}}), "Metadata.key_url", "must be a string (got number)"},
      {"empty key_url", meta({{"key_url", ""}}), "Metadata.key_url", "must not be empty"},
      {"Entity a number", with("Entity", 5), "Entity", "a string holding a JSON object (got number)"},
      {"Entity not JSON", with("Entity", "{\"id\":"), "Entity", "not valid JSON"},
      {"Entity an array", with("Entity", "[1,2]"), "Entity", "must hold a JSON object (got array)"},
      {"Entity over-deep", with("Entity", "{\"a\":" + deep + "}"), "Entity.a", "nested deeper than 64 levels"},
      {"Entity of another record", with("Entity", json{{"id", 1002}}.dump()), "Entity.id",
       "must equal ID 1001 (got 1002)"},
      {"Entity.id not an integer (a long string is not quoted back)",
       with("Entity", json{{"id", std::string(5000, '9')}}.dump()), "Entity.id", "must be an integer (got string)"},
      {"Entity on a delete",
       [] {
         json b = valid_callback();
         b["Action"] = "deleted";
         return b.dump();
       }(),
       "Entity", "must be null for a deleted record"},
      {"_info not an object", with("Entity", json{{"id", 1001}, {"_info", 1}}.dump()), "Entity._info",
       "must be an object (got number)"},
      {"lastUpdated a number", with("Entity", json{{"_info", {{"lastUpdated", 5}}}}.dump()), "Entity._info.lastUpdated",
       "must be a string (got number)"},
  };
  for (const auto& r : rows) {
    auto cb = parse_callback(r.body);
    ASSERT_FALSE(cb) << r.what;
    EXPECT_EQ(cb.error().field, r.field) << r.what << ": " << cb.error().to_string();
    EXPECT_NE(cb.error().message.find(r.message), std::string::npos) << r.what << ": " << cb.error().to_string();
    EXPECT_TRUE(ts::test::is_valid_utf8(cb.error().to_string())) << r.what;
  }
}

TEST(CwCallback, ABodyOverTheLimitIsRefusedBeforeParsing) {
  const std::string body = valid_callback().dump();
  EXPECT_TRUE(parse_callback(body, body.size()));
  auto cb = parse_callback(body, body.size() - 1);
  ASSERT_FALSE(cb);
  EXPECT_EQ(cb.error().field, "");
  EXPECT_EQ(cb.error().message, "the body is " + std::to_string(body.size()) + " bytes; at most " +
                                    std::to_string(body.size() - 1) + " are accepted");
}

TEST(CwCallbackSignature, KnownAnswers) {
  EXPECT_EQ(ts::intake::callback_signature("signing-key-1", R"({"Action":"updated","ID":1001})"),
            "k5NFINbOkFs6WqoibsP0qEoTTx0WVgWgIs2SfDtrqhU=");
  EXPECT_EQ(ts::intake::callback_signature("", ""), "v+RScJHnKRxbmpNZxXmpcwK6On2WmZT4ClYtt7rUMVw=");
  EXPECT_EQ(ts::intake::callback_signature("k\xc3\xa9y", "caf\xc3\xa9"),
            "UnS/My+a8Z2Oc2hNrLTJd3HovU/xb/ucq7rHaQhRiog=");
}

TEST(CwCallbackSignature, OnlyTheExactBodyUnderTheRightKeyMatches) {
  const std::string key = "signing-key-1";
  const std::string body = R"({"Action":"updated","ID":1001})";
  const std::string sig = "k5NFINbOkFs6WqoibsP0qEoTTx0WVgWgIs2SfDtrqhU=";
  struct row {
    const char* what;
    std::string header, key, body;
    bool match;
  };
  std::string tampered = body;
  tampered[tampered.size() - 2] = '2';
  std::string lower_sig = sig;
  lower_sig[0] = 'K';
  const std::vector<row> rows = {
      {"valid", sig, key, body, true},
      {"valid, blanks around the header", " \t" + sig + " ", key, body, true},
      {"tampered body", sig, key, tampered, false},
      {"body re-serialised with a space", sig, key, R"({"Action": "updated","ID":1001})", false},
      {"wrong key", sig, "signing-key-2", body, false},
      {"missing header", "", key, body, false},
      {"blank header", "   ", key, body, false},
      {"truncated", sig.substr(0, sig.size() - 1), key, body, false},
      {"one letter's case changed", lower_sig, key, body, false},
      {"the key itself", key, key, body, false},
  };
  for (const auto& r : rows) EXPECT_EQ(ts::intake::signature_matches(r.header, r.key, r.body), r.match) << r.what;
}

TEST(CwCallbackKeyUrl, OnlyHttpsOnAnAllowedHostWithAPath) {
  const std::vector<std::string> allowed = {"na.myconnectwise.net", "API-NA.myconnectwise.net", "::1"};
  struct row {
    std::string url;
    bool ok;
    std::string host_or_message;  ///< the host when ok, else a part of the message
    std::string port = "443";
    std::string target = "/v4_6_release/apis/3.0/system/callbackkey/7";
  };
  const std::string path = "/v4_6_release/apis/3.0/system/callbackkey/7";
  const std::vector<row> rows = {
      {"https://na.myconnectwise.net" + path, true, "na.myconnectwise.net"},
      {"HTTPS://NA.MyConnectWise.net" + path, true, "na.myconnectwise.net"},
      {"https://api-na.myconnectwise.net" + path, true, "api-na.myconnectwise.net"},
      {"https://na.myconnectwise.net:8443" + path, true, "na.myconnectwise.net", "8443"},
      {"https://na.myconnectwise.net" + path + "?v=2", true, "na.myconnectwise.net", "443", path + "?v=2"},
      {"https://[::1]" + path, true, "::1"},
      {"http://na.myconnectwise.net" + path, false, "must use https"},
      {"https://evil.example" + path, false, "allowed host (na.myconnectwise.net, API-NA.myconnectwise.net, ::1)"},
      {"https://na.myconnectwise.net.evil.example" + path, false, "allowed host"},
      {"https://user:pw@na.myconnectwise.net" + path, false, "user information"},
      {"https://na.myconnectwise.net" + path + "#x", false, "fragment"},
      {"https://na.myconnectwise.net:0" + path, false, "port between 1 and 65535"},
      {"https://na.myconnectwise.net:99999" + path, false, "port between 1 and 65535"},
      {"https://na.myconnectwise.net:" + path, false, "port between 1 and 65535"},
      {"https://na.myconnectwise.net", false, "must have a path"},
      {"https://na.myconnectwise.net/", false, "must have a path"},
      {path, false, "absolute URL"},
      {"not a url", false, "absolute URL"},
      {"file:///etc/passwd", false, "must use https"},
  };
  for (const auto& r : rows) {
    auto loc = check_key_url(r.url, allowed);
    if (r.ok) {
      ASSERT_TRUE(loc) << r.url << ": " << loc.error().to_string();
      EXPECT_EQ(loc->host, r.host_or_message) << r.url;
      EXPECT_EQ(loc->port, r.port) << r.url;
      EXPECT_EQ(loc->target, r.target) << r.url;
    } else {
      ASSERT_FALSE(loc) << r.url;
      EXPECT_EQ(loc.error().field, "Metadata.key_url") << r.url;
      EXPECT_NE(loc.error().message.find(r.host_or_message), std::string::npos) << loc.error().to_string();
    }
  }
  // Found by fuzz_cw_callback: invalid UTF-8 in a refused URL made the
  // message's quoting throw.
  for (const std::string& bad : {std::string("\xda https://x/y"), "https://na.myconnectwise.net" + path + "\xff#x"}) {
    auto refused = check_key_url(bad, allowed);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(ts::test::is_valid_utf8(refused.error().to_string())) << refused.error().to_string();
  }
  auto none = check_key_url("https://na.myconnectwise.net" + path, {});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("none configured"), std::string::npos) << none.error().to_string();
}

TEST(CwCallbackSigningKey, TheAnswerOfKeyUrl) {
  auto ok = parse_signing_key(R"({"signing_key":"abc123"})");
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(*ok, "abc123");
  struct row {
    std::string body, field, message;
  };
  const std::vector<row> rows = {
      {"", "", "empty document"},
      {"[\"abc\"]", "", "must be a JSON object (got array)"},
      {"{}", "signing_key", "is required"},
      {R"({"signing_key":""})", "signing_key", "must not be empty"},
      {R"({"signing_key":5})", "signing_key", "must be a string (got number)"},
      {json{{"signing_key", std::string(1025, 'k')}}.dump(), "signing_key", "at most 1024 bytes (got 1025)"},
      {json{{"signing_key", "k"}, {"pad", std::string(16 * 1024, 'p')}}.dump(), "", "at most 16384 are accepted"},
  };
  for (const auto& r : rows) {
    auto key = parse_signing_key(r.body);
    ASSERT_FALSE(key) << r.body.substr(0, 40);
    EXPECT_EQ(key.error().field, r.field) << key.error().to_string();
    EXPECT_NE(key.error().message.find(r.message), std::string::npos) << key.error().to_string();
  }
}

}  // namespace
