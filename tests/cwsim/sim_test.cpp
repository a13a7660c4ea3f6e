// Unit tests of cwsim's pure parts: simulator::handle (auth, companyinfo, lookups,
// ticket creation and validation, PATCH, notes, conditions, paging, faults, deny
// permissions, /__sim endpoints), the seed validator, the text helpers, the command line
// and the TLS material. Most cases are tables; the simulator runs on
// tests/cwsim/seed.json with a settable clock (pinned at 2026-01-01T00:00:00Z).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "conditions.hpp"
#include "psa/cw_sweep.hpp"
#include "sim.hpp"
#include "tls_cert.hpp"
#include "util.hpp"

namespace {

using json = nlohmann::json;
using cwsim::header_map;
using cwsim::sim_request;
using cwsim::sim_response;
using disposition = cwsim::sim_response::disposition;

constexpr std::string_view api = "/v2025_1/apis/3.0";
constexpr std::string_view api_base_url = "https://cw.test/v2025_1/apis/3.0";
constexpr std::string_view client_id = "2f4b7c9e-1111-4a4a-9c9c-000000000001";
const auto pinned_now =
    std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));  // 2026-01-01T00:00:00Z

const json& seed() {
  static const json s = cwsim::load_seed_file(CWSIM_SEED_FILE);
  return s;
}

std::string base64(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

header_map good_headers() {
  return header_map{{"Authorization", "Basic " + base64("demo+demo-public-key:demo-private-key")},
                    {"clientId", std::string(client_id)},
                    {"Accept", "application/vnd.connectwise.com+json; version=2025.8"},
                    {"Content-Type", "application/json"},
                    {"Host", "cw.test"}};
}

std::string header(const sim_response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (cwsim::ci_equal(k, name)) return v;
  return {};
}

json body_of(const sim_response& r) { return json::parse(r.body); }

class sim_test : public ::testing::Test {
 protected:
  sim_response call(const std::string& method, const std::string& target, const std::string& body = {},
                    header_map headers = good_headers()) {
    return sim_.handle(sim_request{method, target, std::move(headers), body});
  }
  sim_response api_call(const std::string& method, const std::string& path, const std::string& body = {}) {
    return call(method, std::string(api) + path, body);
  }
  json create(const json& ticket) {
    const sim_response r = api_call("POST", "/service/tickets", ticket.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r);
  }
  std::vector<std::int64_t> ids_of(const sim_response& r) {
    std::vector<std::int64_t> ids;
    for (const auto& t : body_of(r)) ids.push_back(t.at("id").get<std::int64_t>());
    return ids;
  }
  std::size_t stored_tickets() { return body_of(call("GET", "/__sim/tickets")).size(); }
  void set_faults(const json& knobs) {
    const sim_response r = call("POST", "/__sim/faults", knobs.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  sim_response patch(std::int64_t ticket, const json& ops) {
    return api_call("PATCH", "/service/tickets/" + std::to_string(ticket), ops.dump());
  }
  sim_response add_note(std::int64_t ticket, const json& note) {
    return api_call("POST", "/service/tickets/" + std::to_string(ticket) + "/notes", note.dump());
  }
  json stored_ticket(std::int64_t id) {
    for (const auto& t : body_of(call("GET", "/__sim/tickets")))
      if (t["id"] == id) return t;
    return nullptr;
  }

  std::chrono::system_clock::time_point now_ = pinned_now;  // the simulator's clock
  cwsim::simulator sim_{seed(), {}, 1, [this] { return now_; }};
};

// ---------------------------------------------------------------------------------
// Authentication

TEST_F(sim_test, authentication_table) {
  const json unauthorized = {
      {"code", "Unauthorized"}, {"message", "The supplied authentication is incorrect"}, {"errors", nullptr}};
  struct row {
    const char* name;
    std::vector<std::pair<std::string, std::string>> set;  // header → value ("" = remove)
    std::string path;
    int status;
    const char* code;  // expected error code, "" for success
  };
  const std::vector<row> rows = {
      {"good credentials", {}, "/system/info", 200, ""},
      {"company id is case-insensitive",
       {{"Authorization", "Basic " + base64("DEMO+demo-public-key:demo-private-key")}},
       "/system/info",
       200,
       ""},
      {"wrong private key",
       {{"Authorization", "Basic " + base64("demo+demo-public-key:nope")}},
       "/system/info",
       401,
       "Unauthorized"},
      {"wrong public key",
       {{"Authorization", "Basic " + base64("demo+other:demo-private-key")}},
       "/system/info",
       401,
       "Unauthorized"},
      {"wrong company",
       {{"Authorization", "Basic " + base64("acme+demo-public-key:demo-private-key")}},
       "/system/info",
       401,
       "Unauthorized"},
      {"colon instead of plus",
       {{"Authorization", "Basic " + base64("demo:demo-public-key:demo-private-key")}},
       "/system/info",
       401,
       "Unauthorized"},
      {"missing authorization", {{"Authorization", ""}}, "/system/info", 401, "Unauthorized"},
      {"bearer scheme", {{"Authorization", "Bearer abc"}}, "/system/info", 401, "Unauthorized"},
      {"garbage base64", {{"Authorization", "Basic !!!"}}, "/system/info", 401, "Unauthorized"},
      {"missing clientId", {{"clientId", ""}}, "/system/info", 401, "InvalidClientId"},
      {"wrong clientId",
       {{"clientId", "00000000-0000-0000-0000-000000000000"}},
       "/system/info",
       401,
       "InvalidClientId"},
      {"clientId upper case", {{"clientId", "2F4B7C9E-1111-4A4A-9C9C-000000000001"}}, "/system/info", 200, ""},
      {"auth checked before routing", {{"Authorization", ""}}, "/no/such/thing", 401, "Unauthorized"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    header_map h = good_headers();
    for (const auto& [k, v] : r.set) {
      h.erase(k);
      if (!v.empty()) h[k] = v;
    }
    const sim_response res = call("GET", std::string(api) + r.path, {}, h);
    EXPECT_EQ(res.status, r.status) << res.body;
    if (std::string_view(r.code) == "Unauthorized") {
      EXPECT_EQ(body_of(res), unauthorized);
    }
    if (std::string_view(r.code) == "InvalidClientId") {
      EXPECT_EQ(body_of(res)["code"], "InvalidClientId");
      EXPECT_FALSE(body_of(res)["message"].get<std::string>().empty());
      EXPECT_TRUE(body_of(res)["errors"].is_null());
    }
  }
}

TEST_F(sim_test, header_names_are_case_insensitive_and_v4_6_release_is_accepted) {
  header_map h;
  for (const auto& [k, v] : good_headers()) h[cwsim::to_lower(k)] = v;
  EXPECT_EQ(call("GET", std::string(api) + "/system/info", {}, h).status, 200);
  EXPECT_EQ(call("GET", "/v4_6_release/apis/3.0/system/info").status, 200);
  EXPECT_EQ(call("GET", "/v2019_1/apis/3.0/system/info").status, 404);
}

TEST_F(sim_test, system_info) {
  const sim_response r = api_call("GET", "/system/info");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), (json{{"version", "v2025.1.10234"},
                              {"isCloud", false},
                              {"serverTimeZone", "Eastern Standard Time"},
                              {"cloudRegion", "NA"}}));
  EXPECT_EQ(header(r, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(r, "api-current-version"), "2025.1");
}

TEST_F(sim_test, companyinfo_table) {
  struct row {
    const char* path;
    bool known;
  };
  for (const row& r : {row{"/login/companyinfo/demo", true}, row{"/login/companyinfo/DEMO", true},
                       row{"/login/companyinfo/acme", false}}) {
    SCOPED_TRACE(r.path);
    const sim_response res = call("GET", r.path, {}, header_map{{"Host", "cw.test"}});  // no credentials needed
    ASSERT_EQ(res.status, 200);
    if (!r.known) {
      EXPECT_EQ(res.body, "null");
      continue;
    }
    const json b = body_of(res);
    EXPECT_EQ(b["Codebase"], "v2025_1/");
    EXPECT_EQ(b["CompanyID"], "demo");
    EXPECT_EQ(b["VersionCode"], "v2025.1");
    EXPECT_EQ(b["IsCloud"], "False");
    EXPECT_EQ(b["CompanyName"], "Demo MSP");
    EXPECT_TRUE(b["VersionNumber"].get<std::string>().rfind("v4.6.", 0) == 0);
    EXPECT_EQ(b["SiteUrl"], "cw.test");
  }
  EXPECT_EQ(call("POST", "/login/companyinfo/demo").status, 405);
}

// ---------------------------------------------------------------------------------
// Tickets

TEST_F(sim_test, create_ticket_returns_the_stored_ticket) {
  const json t = create({{"summary", "Malware on srv01"},
                         {"board", {{"id", 1}}},
                         {"company", {{"identifier", "acmecorp"}}},
                         {"status", {{"name", "in progress"}}},
                         {"priority", {{"id", 15}}},
                         {"type", {{"name", "Security Alert"}}},
                         {"subType", {{"id", 401}}},
                         {"item", {{"id", 501}}},
                         {"source", {{"name", "Security Tool"}}},
                         {"externalXRef", "ts1:abc"},
                         {"severity", "high"},
                         {"impact", "Low"},
                         {"initialDescription", "Details here"},
                         {"processNotifications", false},
                         {"someFutureField", 42}});
  EXPECT_EQ(t["id"], 1001);
  EXPECT_EQ(t["summary"], "Malware on srv01");
  EXPECT_EQ(t["recordType"], "ServiceTicket");
  EXPECT_EQ(t["board"]["id"], 1);
  EXPECT_EQ(t["board"]["name"], "Security Incidents");
  EXPECT_EQ(t["status"]["id"], 102);
  EXPECT_EQ(t["status"]["name"], "In Progress");
  EXPECT_EQ(t["company"], (json{{"id", 250},
                                {"identifier", "AcmeCorp"},
                                {"name", "Acme Corporation"},
                                {"_info", {{"company_href", std::string(api_base_url) + "/company/companies/250"}}}}));
  EXPECT_EQ(t["priority"]["id"], 15);
  EXPECT_EQ(t["priority"]["name"], "Priority 1 - Emergency Response");
  EXPECT_EQ(t["priority"]["sort"], 1);
  EXPECT_EQ(t["type"]["name"], "Security Alert");
  EXPECT_EQ(t["subType"]["name"], "Malware");
  EXPECT_EQ(t["item"]["name"], "Investigate");
  EXPECT_EQ(t["source"]["id"], 9);
  EXPECT_EQ(t["externalXRef"], "ts1:abc");
  EXPECT_EQ(t["severity"], "High");
  EXPECT_EQ(t["impact"], "Low");
  EXPECT_EQ(t["closedFlag"], false);
  EXPECT_FALSE(t.contains("initialDescription"));
  EXPECT_FALSE(t.contains("processNotifications"));
  EXPECT_FALSE(t.contains("someFutureField"));
  EXPECT_FALSE(t.contains("closedDate"));
  EXPECT_EQ(t["_info"]["dateEntered"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(t["_info"]["lastUpdated"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(t["_info"]["notes_href"], std::string(api_base_url) + "/service/tickets/1001/notes");
  EXPECT_EQ(t["board"]["_info"]["board_href"], std::string(api_base_url) + "/service/boards/1");

  const sim_response got = api_call("GET", "/service/tickets/1001");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got), t);

  const sim_response notes = api_call("GET", "/service/tickets/1001/notes");
  ASSERT_EQ(notes.status, 200);
  const json n = body_of(notes);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0]["text"], "Details here");
  EXPECT_EQ(n[0]["ticketId"], 1001);
  EXPECT_EQ(n[0]["detailDescriptionFlag"], true);
  EXPECT_EQ(n[0]["internalAnalysisFlag"], false);

  EXPECT_EQ(create({{"summary", "second"}, {"company", {{"id", 251}}}})["id"], 1002);
}

TEST_F(sim_test, create_ticket_defaults_and_closed_status) {
  const json t = create({{"summary", "minimal"}, {"company", {{"id", 251}}}});
  EXPECT_EQ(t["board"]["id"], 1);
  EXPECT_EQ(t["status"]["id"], 101);   // the board's defaultFlag status
  EXPECT_EQ(t["priority"]["id"], 17);  // the defaultFlag priority
  EXPECT_FALSE(t.contains("type"));
  EXPECT_FALSE(t.contains("externalXRef"));

  const json help = create({{"summary", "help desk"}, {"company", {{"id", 251}}}, {"board", {{"name", "Help Desk"}}}});
  EXPECT_EQ(help["status"]["id"], 201);

  const json closed = create({{"summary", "closed"}, {"company", {{"id", 251}}}, {"status", {{"id", 105}}}});
  EXPECT_EQ(closed["closedFlag"], true);
  EXPECT_EQ(closed["closedDate"], "2026-01-01T00:00:00Z");
}

TEST_F(sim_test, create_ticket_validation_table) {
  const std::string s100(100, 'x');
  std::string emoji50, emoji51;  // U+1F6A8 counts as two UTF-16 code units
  for (int i = 0; i < 50; ++i) emoji50 += "\xF0\x9F\x9A\xA8";
  emoji51 = emoji50 + "\xF0\x9F\x9A\xA8";
  const json acme = {{"id", 250}};
  struct row {
    const char* name;
    std::string body;
    const char* field;  // expected ValidationError.field ("" for body-level errors)
    const char* code;   // expected ValidationError.code
    const char* message_part;
  };
  const std::vector<row> rows = {
      {"missing summary", json{{"company", acme}}.dump(), "summary", "Required", "The summary field is required."},
      {"blank summary", json{{"summary", "  "}, {"company", acme}}.dump(), "summary", "Required", "required"},
      {"summary not a string", json{{"summary", 5}, {"company", acme}}.dump(), "summary", "InvalidField",
       "must be a string"},
      {"101-char summary", json{{"summary", s100 + "x"}, {"company", acme}}.dump(), "summary", "MaxLength", "100"},
      {"51 emoji = 102 UTF-16 units", json{{"summary", emoji51}, {"company", acme}}.dump(), "summary", "MaxLength",
       "102"},
      {"missing company", json{{"summary", "s"}}.dump(), "company", "Required", "The company field is required."},
      {"company not an object", json{{"summary", "s"}, {"company", "AcmeCorp"}}.dump(), "company", "InvalidField",
       "object"},
      {"unknown company id", json{{"summary", "s"}, {"company", {{"id", 999}}}}.dump(), "company", "InvalidField",
       "999"},
      {"unknown company identifier", json{{"summary", "s"}, {"company", {{"identifier", "Nope"}}}}.dump(), "company",
       "InvalidField", "Nope"},
      {"company reference without id", json{{"summary", "s"}, {"company", {{"name", "Acme Corporation"}}}}.dump(),
       "company", "InvalidField", "identifier"},
      {"unknown board", json{{"summary", "s"}, {"company", acme}, {"board", {{"id", 9}}}}.dump(), "board",
       "InvalidField", "9"},
      {"status of another board",
       json{{"summary", "s"}, {"company", acme}, {"board", {{"id", 1}}}, {"status", {{"id", 201}}}}.dump(), "status",
       "InvalidField", "belongs to board 2"},
      {"status name not on board", json{{"summary", "s"}, {"company", acme}, {"status", {{"name", "Assigned"}}}}.dump(),
       "status", "InvalidField", "Assigned"},
      {"type of another board", json{{"summary", "s"}, {"company", acme}, {"type", {{"id", 311}}}}.dump(), "type",
       "InvalidField", "belongs to board 2"},
      {"priority id as string", json{{"summary", "s"}, {"company", acme}, {"priority", {{"id", "15"}}}}.dump(),
       "priority", "InvalidField", "integer"},
      {"unknown priority", json{{"summary", "s"}, {"company", acme}, {"priority", {{"name", "P0"}}}}.dump(), "priority",
       "InvalidField", "P0"},
      {"externalXRef too long", json{{"summary", "s"}, {"company", acme}, {"externalXRef", s100 + "y"}}.dump(),
       "externalXRef", "MaxLength", "100"},
      {"externalXRef not a string", json{{"summary", "s"}, {"company", acme}, {"externalXRef", 7}}.dump(),
       "externalXRef", "InvalidField", "string"},
      {"severity out of enum", json{{"summary", "s"}, {"company", acme}, {"severity", "Urgent"}}.dump(), "severity",
       "InvalidField", "Low, Medium, High"},
      {"initialDescription not a string",
       json{{"summary", "s"}, {"company", acme}, {"initialDescription", json::array()}}.dump(), "initialDescription",
       "InvalidField", "string"},
      {"malformed JSON", "{\"summary\": \"s\",", "", "InvalidObject", "not valid JSON"},
      {"empty body", "", "", "InvalidObject", "not valid JSON"},
      {"array body", "[]", "", "InvalidObject", "JSON object"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const sim_response res = api_call("POST", "/service/tickets", r.body);
    ASSERT_EQ(res.status, 400) << res.body;
    const json b = body_of(res);
    EXPECT_EQ(b["code"], "InvalidObject");
    EXPECT_TRUE(b["message"].is_string());
    ASSERT_TRUE(b["errors"].is_array());
    ASSERT_FALSE(b["errors"].empty());
    bool found = false;
    for (const auto& e : b["errors"]) {
      EXPECT_EQ(e["resource"], "ticket");
      for (const char* key : {"code", "message", "resource", "field"}) EXPECT_TRUE(e.contains(key)) << key;
      if (e["field"] == r.field && e["code"] == r.code) {
        found = true;
        EXPECT_NE(e["message"].get<std::string>().find(r.message_part), std::string::npos) << e["message"];
      }
    }
    EXPECT_TRUE(found) << b.dump();
  }
  EXPECT_EQ(stored_tickets(), 0u);

  // Boundaries that pass.
  create({{"summary", s100}, {"company", acme}});
  create({{"summary", emoji50}, {"company", acme}, {"externalXRef", s100}});
}

TEST_F(sim_test, all_validation_errors_are_reported_together) {
  const sim_response r = api_call("POST", "/service/tickets", json{{"severity", "x"}}.dump());
  ASSERT_EQ(r.status, 400);
  const json b = body_of(r);
  EXPECT_EQ(b["message"], "ticket object is invalid");
  EXPECT_EQ(b["errors"].size(), 3u) << b.dump();
}

TEST_F(sim_test, unknown_ticket_and_routes) {
  const sim_response r = api_call("GET", "/service/tickets/4242");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r), (json{{"code", "NotFound"}, {"message", "Ticket not found"}, {"errors", nullptr}}));
  EXPECT_EQ(api_call("GET", "/service/tickets/4242/notes").status, 404);
  EXPECT_EQ(api_call("GET", "/service/nothing").status, 404);
  EXPECT_EQ(call("GET", "/").status, 404);

  EXPECT_EQ(body_of(api_call("PATCH", "/service/tickets/4242", "[]")), body_of(r));
  EXPECT_EQ(api_call("POST", "/service/tickets/4242/notes", R"({"text":"x","internalAnalysisFlag":true})").status, 404);
  EXPECT_EQ(api_call("GET", "/service/tickets/4242/notes/1").status, 404);

  const sim_response put = api_call("PUT", "/service/tickets/1001", "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(header(put, "Allow"), "GET, PATCH, DELETE");
  const sim_response del = api_call("DELETE", "/service/tickets/1001/notes");
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(header(del, "Allow"), "GET, POST");
}

// ---------------------------------------------------------------------------------
// Ticket updates (PATCH)

// A ticket with every patchable reference set, created afresh for each table row.
json patch_base_ticket() {
  return {{"summary", "original"},
          {"company", {{"id", 250}}},
          {"board", {{"id", 1}}},
          {"status", {{"id", 101}}},
          {"type", {{"id", 301}}},
          {"subType", {{"id", 401}}},
          {"item", {{"id", 501}}},
          {"team", {{"id", 601}}},
          {"source", {{"id", 9}}},
          {"externalXRef", "ts1:orig"},
          {"severity", "Medium"},
          {"impact", "Low"},
          {"contactEmailAddress", "soc@acme.test"},
          {"customFields", json::array({{{"id", 7}, {"value", "a"}}})}};
}

TEST_F(sim_test, patch_operations_table) {
  using ops = std::vector<json>;
  const auto op = [](const char* kind, const char* path, json value) {
    return json{{"op", kind}, {"path", path}, {"value", std::move(value)}};
  };
  const auto remove = [](const char* path) { return json{{"op", "remove"}, {"path", path}}; };
  struct row {
    const char* name;
    ops body;
    std::function<void(const json&)> check;  // on the 200 body
  };
  const std::vector<row> rows = {
      {"replace summary",
       {op("replace", "summary", "New summary")},
       [](const json& t) { EXPECT_EQ(t["summary"], "New summary"); }},
      {"leading slash, upper-case op and path",
       {op("REPLACE", "/Summary", "slashed")},
       [](const json& t) { EXPECT_EQ(t["summary"], "slashed"); }},
      {"add acts as replace", {op("add", "summary", "added")}, [](const json& t) { EXPECT_EQ(t["summary"], "added"); }},
      {"status by id",
       {op("replace", "status", {{"id", 102}})},
       [](const json& t) {
         EXPECT_EQ(t["status"]["name"], "In Progress");
         EXPECT_EQ(t["closedFlag"], false);
       }},
      {"status by name",
       {op("replace", "status", {{"name", "waiting on customer"}})},
       [](const json& t) { EXPECT_EQ(t["status"]["id"], 103); }},
      {"priority by name",
       {op("replace", "priority", {{"name", "Priority 1 - Emergency Response"}})},
       [](const json& t) { EXPECT_EQ(t["priority"]["id"], 15); }},
      {"company by identifier",
       {op("replace", "company", {{"identifier", "globex"}})},
       [](const json& t) { EXPECT_EQ(t["company"]["id"], 251); }},
      {"company by id",
       {op("replace", "company", {{"id", 252}})},
       [](const json& t) { EXPECT_EQ(t["company"]["identifier"], "Initech"); }},
      {"board change resets status, type, subType, item, team",
       {op("replace", "board", {{"id", 2}})},
       [](const json& t) {
         EXPECT_EQ(t["board"]["name"], "Help Desk");
         EXPECT_EQ(t["status"]["id"], 201);  // the new board's default status
         EXPECT_FALSE(t.contains("type"));
         EXPECT_FALSE(t.contains("subType"));
         EXPECT_FALSE(t.contains("item"));
         EXPECT_FALSE(t.contains("team"));
         EXPECT_EQ(t["source"]["id"], 9);  // not board-scoped
       }},
      {"status of the new board listed before the board",
       {op("replace", "status", {{"id", 202}}), op("replace", "board", {{"name", "help desk"}})},
       [](const json& t) { EXPECT_EQ(t["status"]["name"], "Assigned"); }},
      {"type of the new board",
       {op("replace", "board", {{"id", 2}}), op("replace", "type", {{"name", "Problem"}})},
       [](const json& t) { EXPECT_EQ(t["type"]["id"], 312); }},
      {"team of the new board",
       {op("replace", "team", {{"id", 611}}), op("replace", "board", {{"id", 2}})},
       [](const json& t) { EXPECT_EQ(t["team"]["name"], "Service Desk"); }},
      {"same board keeps the status",
       {op("replace", "board", {{"id", 1}})},
       [](const json& t) { EXPECT_EQ(t["status"]["id"], 101); }},
      {"severity and impact normalised",
       {op("replace", "severity", "high"), op("replace", "impact", "MEDIUM")},
       [](const json& t) {
         EXPECT_EQ(t["severity"], "High");
         EXPECT_EQ(t["impact"], "Medium");
       }},
      {"replace externalXRef",
       {op("replace", "externalXRef", "ts1:new")},
       [](const json& t) { EXPECT_EQ(t["externalXRef"], "ts1:new"); }},
      {"remove externalXRef",
       {remove("externalXRef")},
       [](const json& t) { EXPECT_FALSE(t.contains("externalXRef")); }},
      {"replace with null clears",
       {op("replace", "type", nullptr)},
       [](const json& t) {
         EXPECT_FALSE(t.contains("type"));
         EXPECT_EQ(t["subType"]["id"], 401);
       }},
      {"remove references",
       {remove("subType"), remove("/item"), remove("source")},
       [](const json& t) {
         EXPECT_FALSE(t.contains("subType"));
         EXPECT_FALSE(t.contains("item"));
         EXPECT_FALSE(t.contains("source"));
         EXPECT_EQ(t["type"]["id"], 301);
       }},
      {"contactEmailAddress",
       {op("replace", "contactemailaddress", "noc@acme.test")},
       [](const json& t) { EXPECT_EQ(t["contactEmailAddress"], "noc@acme.test"); }},
      {"customFields replaced whole: listed set, unlisted unset, caption ignored",
       {op("replace", "customFields", json::array({{{"id", 8}, {"caption", "Risk"}, {"value", 9}}}))},
       [](const json& t) {
         ASSERT_EQ(t["customFields"].size(), 3u);
         EXPECT_EQ(t["customFields"][0]["value"], nullptr);  // id 7 was "a"
         EXPECT_EQ(t["customFields"][1]["caption"], "Security Issue Key");
         EXPECT_EQ(t["customFields"][1]["value"], 9);
       }},
      {"remove customFields unsets every value",
       {remove("customFields")},
       [](const json& t) {
         ASSERT_EQ(t["customFields"].size(), 3u);
         for (const auto& cf : t["customFields"]) EXPECT_EQ(cf["value"], nullptr);
       }},
      {"team by name",
       {op("replace", "team", {{"name", "soc tier 2"}})},
       [](const json& t) { EXPECT_EQ(t["team"]["id"], 602); }},
      {"remove team", {remove("team")}, [](const json& t) { EXPECT_FALSE(t.contains("team")); }},
      {"the last operation on a field wins",
       {op("replace", "summary", "A"), op("replace", "summary", "B")},
       [](const json& t) { EXPECT_EQ(t["summary"], "B"); }},
      {"remove then add",
       {remove("externalXRef"), op("add", "externalXRef", "ts1:again")},
       [](const json& t) { EXPECT_EQ(t["externalXRef"], "ts1:again"); }},
      {"the Developer Guide example",
       {op("replace", "summary", "New Summary"), op("replace", "company", {{"identifier", "Umbrella"}}),
        op("replace", "status", {{"id", 103}})},
       [](const json& t) {
         EXPECT_EQ(t["summary"], "New Summary");
         EXPECT_EQ(t["company"]["id"], 253);
         EXPECT_EQ(t["status"]["id"], 103);
       }},
      {"processNotifications accepted, not echoed",
       {op("replace", "processNotifications", false)},
       [](const json& t) { EXPECT_FALSE(t.contains("processNotifications")); }},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
    create(patch_base_ticket());
    const sim_response res = patch(1001, r.body);
    ASSERT_EQ(res.status, 200) << res.body;
    const json t = body_of(res);
    EXPECT_EQ(t["id"], 1001);
    r.check(t);
    EXPECT_EQ(body_of(api_call("GET", "/service/tickets/1001")), t);  // stored as returned
  }
}

TEST_F(sim_test, patch_validation_table_changes_nothing) {
  const std::string s100(100, 'x');
  std::string emoji51;  // 102 UTF-16 code units
  for (int i = 0; i < 51; ++i) emoji51 += "\xF0\x9F\x9A\xA8";
  const auto op = [](const char* path, json value) {
    return json{{"op", "replace"}, {"path", path}, {"value", std::move(value)}};
  };
  const auto ops = [](std::initializer_list<json> list) { return json(list).dump(); };
  struct row {
    const char* name;
    std::string body;
    const char* field;  // expected ValidationError.field
    const char* code;   // expected ValidationError.code; "InvalidObject" for body-level errors
    const char* message_part;
  };
  const std::vector<row> rows = {
      {"path into a reference", ops({op("status/id", 104)}), "status", "InvalidField", "replace the whole status"},
      {"path into company with slash", ops({op("/company/identifier", "Globex")}), "company", "InvalidField",
       "points inside company"},
      {"path into a scalar", ops({op("summary/x", "y")}), "summary", "InvalidField", "points inside summary"},
      {"closedFlag is read-only", ops({op("closedFlag", true)}), "closedFlag", "InvalidField", "read-only"},
      {"id is read-only", ops({op("id", 5)}), "id", "InvalidField", "read-only"},
      {"initialDescription only on POST", ops({op("initialDescription", "x")}), "initialDescription", "InvalidField",
       "add a note"},
      {"unknown field", ops({op("colour", "red")}), "colour", "InvalidField", "unknown ticket field 'colour'"},
      {"two leading slashes", ops({op("//summary", "x")}), "/summary", "InvalidField", "unknown ticket field"},
      {"empty path", ops({op("", "x")}), "", "InvalidField", "unknown ticket field"},
      {"op move", ops({{{"op", "move"}, {"path", "summary"}, {"value", "x"}}}), "summary", "InvalidField",
       "op must be add, replace or remove (got \"move\")"},
      {"op missing", ops({{{"path", "summary"}, {"value", "x"}}}), "summary", "InvalidField", "op must be"},
      {"path missing", ops({{{"op", "replace"}, {"value", "x"}}}), "", "InvalidField", "path must be a string"},
      {"path not a string", ops({{{"op", "replace"}, {"path", 3}, {"value", "x"}}}), "", "InvalidField",
       "path must be a string"},
      {"value missing", ops({{{"op", "replace"}, {"path", "summary"}}}), "summary", "InvalidField", "needs a value"},
      {"operation not an object", "[1]", "", "InvalidField", "must be an object {op, path, value}"},
      {"empty summary", ops({op("summary", "")}), "summary", "Required", "required"},
      {"blank summary", ops({op("summary", "   ")}), "summary", "Required", "required"},
      {"summary of 101", ops({op("summary", s100 + "x")}), "summary", "MaxLength", "100"},
      {"summary of 102 UTF-16 units", ops({op("summary", emoji51)}), "summary", "MaxLength", "102"},
      {"summary not a string", ops({op("summary", 5)}), "summary", "InvalidField", "string"},
      {"externalXRef of 101", ops({op("externalXRef", s100 + "y")}), "externalXRef", "MaxLength", "100"},
      {"status of another board", ops({op("status", {{"id", 201}})}), "status", "InvalidField", "belongs to board 2"},
      {"status name not on board", ops({op("status", {{"name", "Assigned"}})}), "status", "InvalidField", "Assigned"},
      {"status of the old board with a board change", ops({op("board", {{"id", 2}}), op("status", {{"id", 102}})}),
       "status", "InvalidField", "not to the ticket's board 2"},
      {"status as a bare id", ops({op("status", 104)}), "status", "InvalidField", "must be an object"},
      {"unknown board", ops({op("board", {{"id", 9}})}), "board", "InvalidField", "9"},
      {"unknown company identifier", ops({op("company", {{"identifier", "Nope"}})}), "company", "InvalidField", "Nope"},
      {"company by name", ops({op("company", {{"name", "Globex Corporation"}})}), "company", "InvalidField",
       "identifier"},
      {"unknown priority", ops({op("priority", {{"id", 99}})}), "priority", "InvalidField", "99"},
      {"type of another board", ops({op("type", {{"id", 311}})}), "type", "InvalidField", "belongs to board 2"},
      {"unknown source", ops({op("source", {{"name", "Fax"}})}), "source", "InvalidField", "Fax"},
      {"severity out of enum", ops({op("severity", "Urgent")}), "severity", "InvalidField", "Low, Medium, High"},
      {"impact out of enum", ops({op("impact", "none")}), "impact", "InvalidField", "Low, Medium, High"},
      {"contactEmailAddress too long", ops({op("contactEmailAddress", std::string(251, 'a'))}), "contactEmailAddress",
       "MaxLength", "250"},
      {"customFields not an array", ops({op("customFields", {{"id", 1}})}), "customFields", "InvalidField", "array"},
      {"customFields unknown id", ops({op("customFields", json::array({{{"id", 1}, {"value", "x"}}}))}), "customFields",
       "InvalidField", "custom field 1 is not defined"},
      {"team of another board", ops({op("team", {{"id", 611}})}), "team", "InvalidField", "belongs to board 2"},
      {"unknown team", ops({op("team", {{"name", "SOC Tier 3"}})}), "team", "InvalidField", "SOC Tier 3"},
      {"remove summary", ops({{{"op", "remove"}, {"path", "summary"}}}), "summary", "Required", "cannot be removed"},
      {"status replaced by null", ops({op("status", nullptr)}), "status", "Required", "cannot be removed"},
      {"remove board", ops({{{"op", "remove"}, {"path", "/board"}}}), "board", "Required", "cannot be removed"},
      {"one bad operation among good ones", ops({op("summary", "changed"), op("status/name", "Closed")}), "status",
       "InvalidField", "replace the whole status"},
      {"malformed JSON", "[{\"op\":", "", "InvalidObject", "not valid JSON"},
      {"empty body", "", "", "InvalidObject", "not valid JSON"},
      {"object body", op("summary", "x").dump(), "", "InvalidObject", "JSON array of patch operations"},
  };
  create(patch_base_ticket());
  const json original = body_of(api_call("GET", "/service/tickets/1001"));
  now_ += std::chrono::hours(1);
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const sim_response res = api_call("PATCH", "/service/tickets/1001", r.body);
    ASSERT_EQ(res.status, 400) << res.body;
    const json b = body_of(res);
    EXPECT_EQ(b["code"], "InvalidObject");
    if (std::string_view(r.code) != "InvalidObject") {
      EXPECT_EQ(b["message"], "ticket object is invalid");
    }
    ASSERT_TRUE(b["errors"].is_array());
    bool found = false;
    for (const auto& e : b["errors"]) {
      EXPECT_EQ(e["resource"], "ticket");
      for (const char* key : {"code", "message", "resource", "field"}) EXPECT_TRUE(e.contains(key)) << key;
      if (e["field"] == r.field && e["code"] == r.code) {
        found = true;
        EXPECT_NE(e["message"].get<std::string>().find(r.message_part), std::string::npos) << e["message"];
      }
    }
    EXPECT_TRUE(found) << b.dump();
    EXPECT_EQ(body_of(api_call("GET", "/service/tickets/1001")), original);  // all or nothing
  }
}

TEST_F(sim_test, patch_reports_all_errors_together) {
  create(patch_base_ticket());
  const sim_response r = patch(1001, json::parse(R"([{"op":"replace","path":"summary","value":""},
      {"op":"replace","path":"status/id","value":105},{"op":"replace","path":"severity","value":"x"}])"));
  ASSERT_EQ(r.status, 400);
  const json b = body_of(r);
  ASSERT_EQ(b["errors"].size(), 3u) << b.dump();
  EXPECT_EQ(b["errors"][0]["field"], "status");  // operation errors first, then field validation
}

TEST_F(sim_test, patch_closes_and_reopens_by_status) {
  const auto at = [](int hour) { return cwsim::format_datetime(pinned_now + std::chrono::hours(hour)); };
  const auto status = [](int id) {
    return json::array({{{"op", "replace"}, {"path", "status"}, {"value", {{"id", id}}}}});
  };
  create(patch_base_ticket());  // at hour 0, status New
  struct row {
    const char* name;
    json ops;
    int hour;  // the clock when patching
    int status_id;
    bool closed;
    int closed_hour;  // closedDate; -1 when absent
    int updated_hour;
  };
  const std::vector<row> rows = {
      {"close via Resolved", status(104), 1, 104, true, 1, 1},
      {"Resolved to Closed keeps closedDate", status(105), 2, 105, true, 1, 2},
      {"an empty patch changes nothing", json::array(), 3, 105, true, 1, 2},
      {"summary edit on a closed ticket", json::parse(R"([{"op":"replace","path":"summary","value":"s"}])"), 4, 105,
       true, 1, 4},
      {"reopen clears closedDate", status(106), 5, 106, false, -1, 5},
      {"close again", status(105), 6, 105, true, 6, 6},
      {"board change reopens at the new board's default status",
       json::parse(R"([{"op":"replace","path":"board","value":{"id":2}}])"), 7, 201, false, -1, 7},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    now_ = pinned_now + std::chrono::hours(r.hour);
    const sim_response res = patch(1001, r.ops);
    ASSERT_EQ(res.status, 200) << res.body;
    const json t = body_of(res);
    EXPECT_EQ(t["status"]["id"], r.status_id);
    EXPECT_EQ(t["closedFlag"], r.closed);
    EXPECT_EQ(t.contains("closedDate") ? t["closedDate"].get<std::string>() : "none",
              r.closed_hour < 0 ? "none" : at(r.closed_hour));
    EXPECT_EQ(t.contains("closedBy") ? t["closedBy"].get<std::string>() : "none", r.closed ? "TicketSyncAPI" : "none");
    EXPECT_EQ(t["_info"]["lastUpdated"], at(r.updated_hour));
    EXPECT_EQ(t["_info"]["dateEntered"], at(0));
  }
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=closedFlag%3Dfalse")), std::vector<std::int64_t>{1001});
}

// ---------------------------------------------------------------------------------
// Notes

TEST_F(sim_test, create_note_returns_the_note) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}, {"initialDescription", "opened"}});  // note 1
  create({{"summary", "b"}, {"company", {{"id", 251}}}});
  now_ += std::chrono::minutes(5);
  const sim_response r = add_note(1001, {{"text", "Remediation ran: OK"},
                                         {"internalAnalysisFlag", true},
                                         {"processNotifications", false},
                                         {"member", {{"id", 1}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json expected = {{"id", 2},
                         {"ticketId", 1001},
                         {"text", "Remediation ran: OK"},
                         {"detailDescriptionFlag", false},
                         {"internalAnalysisFlag", true},
                         {"resolutionFlag", false},
                         {"issueFlag", false},
                         {"customerUpdatedFlag", false},
                         {"internalFlag", true},
                         {"externalFlag", false},
                         {"dateCreated", "2026-01-01T00:05:00Z"},
                         {"createdBy", "TicketSyncAPI"},
                         {"_info", {{"lastUpdated", "2026-01-01T00:05:00Z"}, {"updatedBy", "TicketSyncAPI"}}}};
  EXPECT_EQ(body_of(r), expected);
  EXPECT_EQ(body_of(api_call("GET", "/service/tickets/1001/notes/2")), expected);

  // Note ids are global and increasing across tickets.
  const sim_response other =
      add_note(1002, {{"text", "Fixed"}, {"resolutionFlag", true}, {"detailDescriptionFlag", true}});
  ASSERT_EQ(other.status, 201);
  EXPECT_EQ(body_of(other)["id"], 3);
  EXPECT_EQ(body_of(other)["externalFlag"], true);
  EXPECT_EQ(body_of(add_note(1001, {{"text", "again"}, {"detailDescriptionFlag", true}}))["id"], 4);

  // Adding a note saves the ticket; /__sim/tickets lists the notes.
  EXPECT_EQ(body_of(api_call("GET", "/service/tickets/1001"))["_info"]["lastUpdated"], "2026-01-01T00:05:00Z");
  const json stored = stored_ticket(1001);
  ASSERT_EQ(stored["notes"].size(), 3u);
  EXPECT_EQ(stored["notes"][0]["text"], "opened");
  EXPECT_EQ(stored["notes"][1]["text"], "Remediation ran: OK");
  EXPECT_EQ(stored["notes"][2]["id"], 4);
  EXPECT_EQ(stored_ticket(1002)["notes"].size(), 1u);
}

TEST_F(sim_test, create_note_validation_table) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  const json no_display = {{"code", "InvalidObject"},
                           {"message", "serviceNote object is invalid"},
                           {"errors",
                            {{{"code", "InvalidField"},
                              {"message", "Please choose where to display the notes in order to save this record."},
                              {"resource", "serviceNote"},
                              {"field", "detailDescriptionFlag"}}}}};
  EXPECT_EQ(body_of(add_note(1001, {{"text", "x"}})), no_display);
  EXPECT_EQ(body_of(add_note(1001, {{"text", "x"},
                                    {"detailDescriptionFlag", false},
                                    {"internalAnalysisFlag", false},
                                    {"resolutionFlag", false},
                                    {"internalFlag", true}})),
            no_display);

  struct row {
    const char* name;
    std::string body;
    const char* field;
    const char* code;
    const char* message_part;
  };
  const json flag = {{"internalAnalysisFlag", true}};
  const auto with = [&](const json& extra) {
    json b = flag;
    b.update(extra);
    return b.dump();
  };
  const std::vector<row> rows = {
      {"missing text", flag.dump(), "text", "Required", "The text field is required."},
      {"null text", with({{"text", nullptr}}), "text", "Required", "required"},
      {"empty text", with({{"text", ""}}), "text", "Required", "required"},
      {"blank text", with({{"text", " \t"}}), "text", "Required", "required"},
      {"text not a string", with({{"text", 42}}), "text", "InvalidField", "string"},
      {"display flag not a boolean", json{{"text", "x"}, {"detailDescriptionFlag", "yes"}}.dump(),
       "detailDescriptionFlag", "InvalidField", "true or false"},
      {"processNotifications not a boolean", with({{"text", "x"}, {"processNotifications", "no"}}),
       "processNotifications", "InvalidField", "true or false"},
      {"internalFlag not a boolean", with({{"text", "x"}, {"internalFlag", 1}}), "internalFlag", "InvalidField",
       "true or false"},
      {"externalFlag not a boolean", with({{"text", "x"}, {"externalFlag", "false"}}), "externalFlag", "InvalidField",
       "true or false"},
      {"malformed JSON", "{\"text\":", "", "InvalidObject", "not valid JSON"},
      {"array body", "[]", "", "InvalidObject", "JSON object"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const sim_response res = api_call("POST", "/service/tickets/1001/notes", r.body);
    ASSERT_EQ(res.status, 400) << res.body;
    const json b = body_of(res);
    EXPECT_EQ(b["code"], "InvalidObject");
    bool found = false;
    for (const auto& e : b["errors"]) {
      EXPECT_EQ(e["resource"], "serviceNote");
      found = found || (e["field"] == r.field && e["code"] == r.code &&
                        e["message"].get<std::string>().find(r.message_part) != std::string::npos);
    }
    EXPECT_TRUE(found) << b.dump();
  }
  EXPECT_TRUE(stored_ticket(1001)["notes"].empty());
  // Passes: camel-case-insensitive names, the optional booleans, unknown fields ignored.
  EXPECT_EQ(add_note(1001, {{"TEXT", "ok"},
                            {"ResolutionFlag", true},
                            {"processNotifications", false},
                            {"internalFlag", false},
                            {"externalFlag", true},
                            {"sentimentScore", 0.5}})
                .status,
            201);
}

TEST_F(sim_test, note_lists_page_order_and_filter) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  create({{"summary", "b"}, {"company", {{"id", 250}}}});
  for (const char* text : {"Alert opened", "Remediation started", "Remediation done", "Alert closed", "Follow-up"})
    ASSERT_EQ(add_note(1001, {{"text", text}, {"internalAnalysisFlag", true}}).status, 201);           // notes 1-5
  ASSERT_EQ(add_note(1002, {{"text", "Alert opened"}, {"detailDescriptionFlag", true}}).status, 201);  // note 6

  const std::string notes = std::string(api_base_url) + "/service/tickets/1001/notes?";
  const auto link = [&](const std::string& query, int page, const char* rel) {
    return "<" + notes + query + "page=" + std::to_string(page) + ">; rel=\"" + rel + "\"";
  };
  struct row {
    std::string query;
    std::vector<std::int64_t> ids;
    std::string link;
  };
  const std::vector<row> rows = {
      {"", {1, 2, 3, 4, 5}, ""},
      {"orderBy=id%20desc", {5, 4, 3, 2, 1}, ""},
      {"orderBy=id+asc", {1, 2, 3, 4, 5}, ""},
      {"pageSize=2", {1, 2}, link("pageSize=2&", 2, "next") + ", " + link("pageSize=2&", 3, "last")},
      {"pageSize=2&page=3", {5}, link("pageSize=2&", 1, "first") + ", " + link("pageSize=2&", 2, "prev")},
      {"orderBy=id%20desc&pageSize=2&page=2",
       {3, 2},
       link("orderBy=id%20desc&pageSize=2&", 1, "first") + ", " + link("orderBy=id%20desc&pageSize=2&", 1, "prev") +
           ", " + link("orderBy=id%20desc&pageSize=2&", 3, "next") + ", " +
           link("orderBy=id%20desc&pageSize=2&", 3, "last")},
      {"conditions=text%3D%22alert+closed%22", {4}, ""},
      {"conditions=text%20like%20%22Remediation%25%22", {2, 3}, ""},
      {"conditions=text%20contains%20%27alert%27", {1, 4}, ""},
      {"conditions=text%20not%20contains%20%22Remediation%22%20and%20id%3C5", {1, 4}, ""},
      {"conditions=id%3E3", {4, 5}, ""},
      {"conditions=id%3D6", {}, ""},  // another ticket's note
      {"conditions=id%20in%20(2,4)&orderBy=id%20desc", {4, 2}, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.query);
    const sim_response res = api_call("GET", "/service/tickets/1001/notes?" + r.query);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(ids_of(res), r.ids);
    EXPECT_EQ(header(res, "Link"), r.link);
    if (r.query.rfind("conditions=", 0) == 0) {
      const sim_response count = api_call("GET", "/service/tickets/1001/notes/count?" + r.query);
      ASSERT_EQ(count.status, 200) << count.body;
      EXPECT_EQ(body_of(count), (json{{"count", r.ids.size()}}));
    }
  }
  EXPECT_EQ(body_of(api_call("GET", "/service/tickets/1001/notes/count")), (json{{"count", 5}}));
  EXPECT_EQ(body_of(api_call("GET", "/service/tickets/1001/notes/3"))["text"], "Remediation done");
  const sim_response foreign = api_call("GET", "/service/tickets/1001/notes/6");
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(body_of(foreign), (json{{"code", "NotFound"}, {"message", "Note not found"}, {"errors", nullptr}}));
  EXPECT_EQ(api_call("GET", "/service/tickets/1001/notes/99").status, 404);
  const sim_response bad = api_call("GET", "/service/tickets/1001/notes?conditions=colour%3D1");
  ASSERT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(bad)["errors"][0]["field"], "conditions");
  EXPECT_EQ(body_of(bad)["errors"][0]["resource"], "serviceNote");
  EXPECT_EQ(api_call("GET", "/service/tickets/1001/notes?orderBy=colour").status, 400);
}

// ---------------------------------------------------------------------------------
// Conditions, counting, paging

class sim_query_test : public sim_test {
 protected:
  void SetUp() override {
    create({{"summary", "Malware alert"}, {"company", {{"identifier", "AcmeCorp"}}}, {"externalXRef", "ts1:aaa"}});
    create({{"summary", "Resolved alert"},
            {"company", {{"identifier", "Globex"}}},
            {"externalXRef", "ts1:bbb"},
            {"status", {{"name", "Resolved"}}},
            {"priority", {{"id", 16}}}});
    create({{"summary", "Printer"},
            {"company", {{"identifier", "AcmeCorp"}}},
            {"externalXRef", "ts1:ccc"},
            {"board", {{"id", 2}}}});
    create({{"summary", "Phishing mail reported"}, {"company", {{"identifier", "Initech"}}}});
  }
  sim_response query(const std::string& conditions, const std::string& extra = {}) {
    return api_call("GET", "/service/tickets?conditions=" + url_encode(conditions) + extra);
  }
  static std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/')
        out += ch;
      else if (c == ' ')
        out += '+';
      else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }
};

TEST_F(sim_query_test, conditions_table) {
  using ids = std::vector<std::int64_t>;
  const std::vector<std::pair<std::string, ids>> rows = {
      {"", {1001, 1002, 1003, 1004}},
      {R"(externalXRef="ts1:bbb")", {1002}},
      {"externalXRef='ts1:bbb'", {1002}},
      {R"(externalXRef = "TS1:BBB")", {1002}},
      {R"(externalXRef="ts1:zzz")", {}},
      {"id=1003", {1003}},
      {"id >= 1002 and id < 1004", {1002, 1003}},
      {R"(company/identifier="AcmeCorp")", {1001, 1003}},
      {"company/id=252", {1004}},
      {R"(company/identifier="AcmeCorp" and board/id=2)", {1003}},
      {R"(company/identifier="Globex" OR company/identifier="Initech")", {1002, 1004}},
      {R"((company/identifier="Globex" or id=1001) and closedFlag=false)", {1001}},
      {R"(company/identifier="Globex" or id=1001 and closedFlag=false)", {1001, 1002}},  // and binds tighter
      {"closedFlag=True", {1002}},
      {"id in (1001, 1004)", {1001, 1004}},
      {"id not in (1001,1004)", {1002, 1003}},
      {R"(externalXRef in ("ts1:aaa", 'ts1:ccc'))", {1001, 1003}},
      {R"(summary contains "phish")", {1004}},
      {R"(summary not contains "alert")", {1003, 1004}},
      {R"(summary like "%alert")", {1001, 1002}},
      {R"(summary like "Phish*")", {1004}},
      {"externalXRef = null", {1004}},
      {"externalXRef != null", {1001, 1002, 1003}},
      {R"(externalXRef != "ts1:aaa")", {1002, 1003}},  // null never compares
      {R"(status/name="resolved")", {1002}},
      {"status/id=101", {1001, 1004}},
      {R"(board/name="Help Desk")", {1003}},
      {"priority/id=17", {1001, 1003, 1004}},
      {"lastUpdated >= [2026-01-01T00:00:00Z]", {1001, 1002, 1003, 1004}},
      {"lastUpdated < [2025-12-31T00:00:00Z]", {}},
  };
  for (const auto& [conditions, expected] : rows) {
    SCOPED_TRACE(conditions);
    const sim_response r = query(conditions);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(ids_of(r), expected);
    const sim_response count = api_call("GET", "/service/tickets/count?conditions=" + url_encode(conditions));
    ASSERT_EQ(count.status, 200) << count.body;
    EXPECT_EQ(body_of(count), (json{{"count", expected.size()}}));
  }
}

TEST_F(sim_query_test, condition_errors_table) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"foo=1", "unknown field 'foo'"},
      {"company/zip=\"1\"", "unknown field 'company/zip'"},
      {"id=", "expected a value"},
      {"id=1 and", "expected a field name"},
      {"id=1 id=2", "unexpected 'id'"},
      {"summary=unquoted", "enclosed with double or single quotes"},
      {"id=\"1001\"", "expects a number"},
      {"closedFlag=1", "true or false"},
      {"lastUpdated > \"2025-01-01\"", "square brackets"},
      {"lastUpdated > [yesterday]", "malformed datetime"},
      {"(id=1", "expected ')'"},
      {"externalXRef=\"abc", "unterminated string"},
      {"id ~ 1", "unexpected character '~'"},
      {"id contains 1", "needs a string field"},
      {"closedFlag > true", "supports only = and !="},
      {"id in 1", "expected '('"},
      {"id > null", "null can only be compared"},
      {"id between 1", "unknown operator 'between'"},
  };
  for (const auto& [conditions, message] : rows) {
    SCOPED_TRACE(conditions);
    const sim_response r = query(conditions);
    ASSERT_EQ(r.status, 400) << r.body;
    const json b = body_of(r);
    EXPECT_EQ(b["code"], "InvalidObject");
    EXPECT_NE(b["message"].get<std::string>().find(message), std::string::npos) << b["message"];
    EXPECT_EQ(b["errors"][0]["field"], "conditions");
    EXPECT_EQ(api_call("GET", "/service/tickets/count?conditions=" + url_encode(conditions)).status, 400);
  }
}

TEST_F(sim_query_test, search_post_takes_conditions_from_the_body) {
  const sim_response r =
      api_call("POST", "/service/tickets/search", json{{"conditions", "company/identifier='AcmeCorp'"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ids_of(r), (std::vector<std::int64_t>{1001, 1003}));
}

TEST_F(sim_query_test, order_by_and_fields) {
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?orderBy=id+desc")),
            (std::vector<std::int64_t>{1004, 1003, 1002, 1001}));
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?orderBy=company/identifier%20asc,id%20desc")),
            (std::vector<std::int64_t>{1003, 1001, 1002, 1004}));
  EXPECT_EQ(api_call("GET", "/service/tickets?orderBy=nope").status, 400);

  const sim_response r = api_call("GET", "/service/tickets?fields=id,status/name&conditions=id%3D1002");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), json::parse(R"([{"id":1002,"status":{"name":"Resolved"}}])"));
}

// Contract: the polling sweep's pages as lib/psa builds them (psa/cw_sweep)
// are understood by the simulator: the externalXRef prefix, the lastUpdated
// window and key paging in (lastUpdated, id) order, the fields. Tickets
// changed in the same second as the cursor with a lower id sort behind it,
// which is why psa::next_sweep_mark restarts from the sweep's start.
TEST_F(sim_test, the_sweep_pages_of_lib_psa_read_each_changed_ticket_once_in_order) {
  for (int i = 0; i < 5; ++i)
    create({{"summary", "t" + std::to_string(i)},
            {"company", {{"id", 250}}},
            {"externalXRef", "ts1:k" + std::to_string(i)}});
  create({{"summary", "not ours"}, {"company", {{"id", 250}}}, {"externalXRef", "other:1"}});
  now_ += std::chrono::seconds(10);
  ASSERT_EQ(patch(1002, json::array({{{"op", "replace"}, {"path", "summary"}, {"value", "changed"}}})).status, 200);

  auto page = [&](std::optional<ts::sys_ms> since, const std::optional<ts::psa::sweep_cursor>& after) {
    const sim_response r = call("GET", ts::psa::sweep_page_target(api, "ts1:", since, after, 2));
    EXPECT_EQ(r.status, 200) << r.body;
    auto rows = ts::psa::parse_ticket_list(r.body);
    EXPECT_TRUE(rows);
    return rows ? *rows : std::vector<ts::psa::ticket_info>{};
  };
  std::vector<std::int64_t> order;
  std::optional<ts::psa::sweep_cursor> cursor;
  for (bool more = true; more;) {
    const auto rows = page(std::nullopt, cursor);
    auto r = ts::psa::read_sweep_page(std::nullopt, cursor, rows, 2);
    ASSERT_TRUE(r);
    for (const auto& t : rows) {
      order.push_back(t.id);
      EXPECT_TRUE(t.last_updated) << t.id;
      EXPECT_TRUE(t.summary.empty()) << "fields= limits the answer";
    }
    cursor = r->cursor;
    more = r->more;
  }
  // Oldest first, ids in order within a second; the changed ticket last; not the foreign one.
  EXPECT_EQ(order, (std::vector<std::int64_t>{1001, 1003, 1004, 1005, 1002}));
  // From a mark: only what changed at or after it.
  const ts::sys_ms since = *ts::parse_rfc3339("2026-01-01T00:00:10Z");
  const auto changed = page(since, std::nullopt);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].id, 1002);
  EXPECT_EQ(changed[0].last_updated, since);
}

TEST_F(sim_test, paging_and_link_header) {
  for (int i = 0; i < 7; ++i) create({{"summary", "t" + std::to_string(i)}, {"company", {{"id", 250}}}});
  const std::string base = std::string(api_base_url) + "/service/tickets?pageSize=3&";
  const auto link = [&](int page, const char* rel) {
    return "<" + base + "page=" + std::to_string(page) + ">; rel=\"" + rel + "\"";
  };
  struct row {
    std::string query;
    std::vector<std::int64_t> ids;
    std::string link;
  };
  const std::vector<row> rows = {
      {"pageSize=3", {1001, 1002, 1003}, link(2, "next") + ", " + link(3, "last")},
      {"pageSize=3&page=1", {1001, 1002, 1003}, link(2, "next") + ", " + link(3, "last")},
      {"pageSize=3&page=2",
       {1004, 1005, 1006},
       link(1, "first") + ", " + link(1, "prev") + ", " + link(3, "next") + ", " + link(3, "last")},
      {"pageSize=3&page=3", {1007}, link(1, "first") + ", " + link(2, "prev")},
      {"pageSize=3&page=4", {}, link(1, "first") + ", " + link(3, "prev")},
      {"", {1001, 1002, 1003, 1004, 1005, 1006, 1007}, ""},
      {"pageSize=5000", {1001, 1002, 1003, 1004, 1005, 1006, 1007}, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.query);
    const sim_response res = api_call("GET", "/service/tickets?" + r.query);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(ids_of(res), r.ids);
    EXPECT_EQ(header(res, "Link"), r.link);
  }
  // Other parameters are carried over into the links, as sent.
  const sim_response filtered = api_call("GET", "/service/tickets?conditions=id%3E1001&pageSize=2");
  EXPECT_EQ(header(filtered, "Link"), "<" + std::string(api_base_url) +
                                          "/service/tickets?conditions=id%3E1001&pageSize=2&page=2>; rel=\"next\", <" +
                                          std::string(api_base_url) +
                                          "/service/tickets?conditions=id%3E1001&pageSize=2&page=3>; rel=\"last\"");
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?pageSize=1000&page=9223372036854775807")),
            std::vector<std::int64_t>{});
  for (const char* bad : {"page=0", "pageSize=0", "page=x", "pageSize=-5", "page=99999999999999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(api_call("GET", std::string("/service/tickets?") + bad).status, 400);
  }
  // The maximum page size is 1000.
  for (int i = 0; i < 1001 - 7; ++i) create({{"summary", "bulk"}, {"company", {{"id", 250}}}});
  const sim_response capped = api_call("GET", "/service/tickets?pageSize=5000");
  EXPECT_EQ(body_of(capped).size(), 1000u);
  EXPECT_NE(header(capped, "Link").find("page=2>; rel=\"next\""), std::string::npos);
}

// ---------------------------------------------------------------------------------
// Lookups

TEST_F(sim_test, lookups_table) {
  struct row {
    std::string path;
    int status;
    std::size_t count;  // list length (or 1 for a single object)
  };
  const std::vector<row> rows = {
      {"/service/boards", 200, 2},
      {"/service/boards/2", 200, 1},
      {"/service/boards/9", 404, 0},
      {"/service/boards/1/statuses", 200, 6},
      {"/service/boards/2/statuses", 200, 5},
      {"/service/boards/1/statuses?conditions=closedStatus%3Dtrue", 200, 2},
      {"/service/boards/1/statuses/105", 200, 1},
      {"/service/boards/1/statuses/205", 404, 0},
      {"/service/boards/9/statuses", 404, 0},
      {"/service/boards/1/types", 200, 3},
      {"/service/boards/1/subtypes", 200, 5},
      {"/service/boards/2/items", 200, 2},
      {"/service/boards/1/teams", 200, 2},
      {"/service/boards/2/teams", 200, 1},
      {"/service/boards/1/teams/602", 200, 1},
      {"/service/boards/1/teams/611", 404, 0},  // a team of board 2
      {"/service/boards/9/teams", 404, 0},
      {"/service/boards/1/teams?conditions=name%3D%22soc+tier+1%22", 200, 1},
      {"/service/priorities", 200, 5},
      {"/service/priorities?conditions=level%3D%22Low%22", 200, 2},
      {"/service/sources", 200, 4},
      {"/company/companies", 200, 5},
      {"/company/companies?conditions=identifier%3D%22acmecorp%22", 200, 1},
      {"/service/boards?conditions=name%3D%22Help+Desk%22", 200, 1},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path);
    const sim_response res = api_call("GET", r.path);
    ASSERT_EQ(res.status, r.status) << res.body;
    if (r.status != 200) continue;
    const json b = body_of(res);
    EXPECT_EQ(b.is_array() ? b.size() : 1u, r.count);
  }
  EXPECT_EQ(body_of(api_call("GET", "/service/boards/1/statuses/count?conditions=closedStatus%3Dtrue")),
            (json{{"count", 2}}));

  const json status = body_of(api_call("GET", "/service/boards/1/statuses/104"));
  EXPECT_EQ(status["name"], "Resolved");
  EXPECT_EQ(status["closedStatus"], true);
  EXPECT_EQ(status["defaultFlag"], false);
  EXPECT_EQ(status["inactive"], false);
  EXPECT_EQ(status["board"]["id"], 1);
  EXPECT_EQ(status["board"]["name"], "Security Incidents");

  const json board = body_of(api_call("GET", "/service/boards/1"));
  EXPECT_EQ(board["inactiveFlag"], false);
  EXPECT_EQ(board["projectFlag"], false);
  EXPECT_TRUE(board["_info"].is_object());

  const json p = body_of(api_call("GET", "/service/priorities?conditions=id%3D17"))[0];
  EXPECT_EQ(p["name"], "Priority 3 - Normal Response");
  EXPECT_EQ(p["level"], "Medium");
  EXPECT_EQ(p["sortOrder"], 3);
  EXPECT_EQ(p["defaultFlag"], true);
  EXPECT_EQ(p["color"], "Green");

  const json c = body_of(api_call("GET", "/company/companies/250"));
  EXPECT_EQ(c["identifier"], "AcmeCorp");
  EXPECT_EQ(c["name"], "Acme Corporation");

  // BoardTeam: boardId rather than a board reference.
  const json team = body_of(api_call("GET", "/service/boards/1/teams/601"));
  EXPECT_EQ(team["name"], "SOC Tier 1");
  EXPECT_EQ(team["boardId"], 1);
  EXPECT_EQ(team["defaultFlag"], false);
  EXPECT_TRUE(team["_info"].is_object());
  EXPECT_EQ(body_of(api_call("GET", "/service/boards/1/teams/count")), (json{{"count", 2}}));
  EXPECT_EQ(body_of(api_call("GET", "/service/boards/2/teams"))[0]["name"], "Service Desk");
  EXPECT_EQ(body_of(api_call("GET", "/service/boards/1/teams/404")),
            (json{{"code", "NotFound"}, {"message", "BoardTeam not found"}, {"errors", nullptr}}));
  const json subtypes = body_of(api_call("GET", "/service/boards/1/subtypes?conditions=id%3D404"));
  EXPECT_EQ(subtypes[0]["typeAssociationIds"], (json{301, 302}));
}

// ---------------------------------------------------------------------------------
// Teams and custom fields on tickets

TEST_F(sim_test, ticket_team_table) {
  const json acme = {{"id", 250}};
  struct row {
    const char* name;
    json body;                 // the create body
    int status;                // 201 or 400
    std::int64_t team;         // expected team id on 201 (0: none)
    const char* message_part;  // on 400: in the team error's message
  };
  const std::vector<row> rows = {
      {"team by id", {{"summary", "s"}, {"company", acme}, {"team", {{"id", 601}}}}, 201, 601, ""},
      {"team by name, case-insensitive",
       {{"summary", "s"}, {"company", acme}, {"team", {{"name", "soc TIER 2"}}}},
       201,
       602,
       ""},
      {"team of the ticket's explicit board",
       {{"summary", "s"}, {"company", acme}, {"board", {{"id", 2}}}, {"team", {{"id", 611}}}},
       201,
       611,
       ""},
      {"no team", {{"summary", "s"}, {"company", acme}}, 201, 0, ""},
      {"null team counts as absent", {{"summary", "s"}, {"company", acme}, {"team", nullptr}}, 201, 0, ""},
      {"team of another board",
       {{"summary", "s"}, {"company", acme}, {"team", {{"id", 611}}}},
       400,
       0,
       "Team 611 (Service Desk) belongs to board 2 (Help Desk), not to the ticket's board 1"},
      {"unknown team id",
       {{"summary", "s"}, {"company", acme}, {"team", {{"id", 999}}}},
       400,
       0,
       "Team with id 999 was not found on board 1"},
      {"unknown team name",
       {{"summary", "s"}, {"company", acme}, {"team", {{"name", "Red Team"}}}},
       400,
       0,
       "'Red Team' was not found"},
      {"team not an object", {{"summary", "s"}, {"company", acme}, {"team", 601}}, 400, 0, "must be an object"},
      {"team id as string", {{"summary", "s"}, {"company", acme}, {"team", {{"id", "601"}}}}, 400, 0, "integer"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const sim_response res = api_call("POST", "/service/tickets", r.body.dump());
    ASSERT_EQ(res.status, r.status) << res.body;
    const json b = body_of(res);
    if (r.status == 400) {
      EXPECT_EQ(b["code"], "InvalidObject");
      ASSERT_EQ(b["errors"].size(), 1u) << b.dump();
      EXPECT_EQ(b["errors"][0]["field"], "team");
      EXPECT_EQ(b["errors"][0]["resource"], "ticket");
      EXPECT_NE(b["errors"][0]["message"].get<std::string>().find(r.message_part), std::string::npos) << b.dump();
      continue;
    }
    if (r.team == 0) {
      EXPECT_FALSE(b.contains("team"));
      continue;
    }
    EXPECT_EQ(b["team"]["id"], r.team);
    EXPECT_TRUE(b["team"]["name"].is_string());
    EXPECT_EQ(b["team"]["_info"]["team_href"], std::string(api_base_url) + "/service/boards/" +
                                                   b["board"]["id"].dump() + "/teams/" + std::to_string(r.team));
    EXPECT_EQ(body_of(api_call("GET", "/service/tickets/" + b["id"].dump())), b);  // shown on GET
  }
  // team/id and team/name are searchable.
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=team/id%3D602")), std::vector<std::int64_t>{1002});
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=team/name%3D%22Service+Desk%22")),
            std::vector<std::int64_t>{1003});
}

TEST_F(sim_test, ticket_custom_fields_table) {
  const json acme = {{"id", 250}};
  const auto field = [](std::int64_t id, json value) { return json{{"id", id}, {"value", std::move(value)}}; };
  struct row {
    const char* name;
    json custom_fields;  // the create body's customFields (null: omitted)
    int status;
    json values;          // expected values of fields 7, 8, 9 on 201
    const char* message;  // on 400: part of the customFields error's message
  };
  const std::vector<row> rows = {
      {"omitted: every field listed, unset", nullptr, 201, {nullptr, nullptr, nullptr}, ""},
      {"empty array", json::array(), 201, {nullptr, nullptr, nullptr}, ""},
      {"values as sent", json::array({field(7, "Wazuh"), field(9, 7.5)}), 201, {"Wazuh", nullptr, 7.5}, ""},
      {"number sent as a string is kept", json::array({field(9, "7.5")}), 201, {nullptr, nullptr, "7.5"}, ""},
      {"caption and type are ignored",
       json::array({{{"id", 8}, {"caption", "Whatever"}, {"type", "Number"}, {"value", "ts1:k"}}}),
       201,
       {nullptr, "ts1:k", nullptr},
       ""},
      {"null value leaves it unset", json::array({field(7, nullptr)}), 201, {nullptr, nullptr, nullptr}, ""},
      {"entry without value leaves it unset", json::array({{{"id", 7}}}), 201, {nullptr, nullptr, nullptr}, ""},
      {"unknown id", json::array({field(7, "a"), field(42, "x")}), 400, nullptr,
       "customFields[1]: custom field 42 is not defined for tickets (defined: 7 (Source Product), 8 (Security Issue "
       "Key), 9 (Risk Score))."},
      {"id as string", json::array({{{"id", "7"}, {"value", "x"}}}), 400, nullptr,
       "customFields[0] must be an object with an integer id."},
      {"entry not an object", json::array({7}), 400, nullptr, "customFields[0] must be an object"},
      {"not an array", json{{"id", 7}}, 400, nullptr, "must be an array"},
      {"object value", json::array({field(7, {{"a", 1}})}), 400, nullptr, "value must be a string, number, boolean"},
      {"listed twice", json::array({field(7, "a"), field(7, "b")}), 400, nullptr, "custom field 7 is listed twice"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    json body = {{"summary", "s"}, {"company", acme}};
    if (!r.custom_fields.is_null()) body["customFields"] = r.custom_fields;
    const sim_response res = api_call("POST", "/service/tickets", body.dump());
    ASSERT_EQ(res.status, r.status) << res.body;
    const json b = body_of(res);
    if (r.status == 400) {
      ASSERT_EQ(b["errors"].size(), 1u) << b.dump();
      EXPECT_EQ(b["errors"][0]["field"], "customFields");
      EXPECT_EQ(b["errors"][0]["code"], "InvalidField");
      EXPECT_NE(b["errors"][0]["message"].get<std::string>().find(r.message), std::string::npos) << b.dump();
      continue;
    }
    const json want = json::array({{{"id", 7},
                                    {"caption", "Source Product"},
                                    {"type", "Text"},
                                    {"entryMethod", "EntryField"},
                                    {"numberOfDecimals", 0},
                                    {"value", r.values[0]}},
                                   {{"id", 8},
                                    {"caption", "Security Issue Key"},
                                    {"type", "Text"},
                                    {"entryMethod", "EntryField"},
                                    {"numberOfDecimals", 0},
                                    {"value", r.values[1]}},
                                   {{"id", 9},
                                    {"caption", "Risk Score"},
                                    {"type", "Number"},
                                    {"entryMethod", "EntryField"},
                                    {"numberOfDecimals", 0},
                                    {"value", r.values[2]}}});
    EXPECT_EQ(b["customFields"], want);
    EXPECT_EQ(body_of(api_call("GET", "/service/tickets/" + b["id"].dump()))["customFields"], want);
  }
  const std::size_t created = stored_tickets();
  EXPECT_EQ(created, 7u);  // the 400s stored nothing

  // The partial response ticketsync reads the definitions from.
  const json defs = body_of(api_call("GET", "/service/tickets?pageSize=1&fields=id,customFields"));
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_EQ(defs[0].size(), 2u);
  EXPECT_EQ(defs[0]["customFields"].size(), 3u);
  ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
  EXPECT_EQ(body_of(api_call("GET", "/service/tickets?pageSize=1&fields=id,customFields")), json::array());
}

TEST(cwsim_seed, tickets_without_custom_field_definitions_show_an_empty_array) {
  json s = seed();
  s.erase("custom_fields");
  cwsim::simulator sim(s);
  const sim_response r =
      sim.handle(sim_request{"POST", std::string(api) + "/service/tickets", good_headers(),
                             R"({"summary":"s","company":{"id":2},"customFields":[{"id":7,"value":"x"}]})"});
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("(none are)"), std::string::npos) << r.body;
  const sim_response ok = sim.handle(sim_request{"POST", std::string(api) + "/service/tickets", good_headers(),
                                                 R"({"summary":"s","company":{"id":2}})"});
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["customFields"], json::array());
}

// ---------------------------------------------------------------------------------
// Faults

TEST_F(sim_test, fault_decisions_table) {
  const json ticket = {{"summary", "f"}, {"company", {{"id", 250}}}};
  struct row {
    const char* knob;
    disposition action;
    int status;      // when answered
    bool processed;  // whether the ticket was created
    const char* stat;
  };
  const std::vector<row> rows = {
      {"p429", disposition::respond, 429, false, "429"},
      {"p500", disposition::respond, 500, false, "500"},
      {"p_reset", disposition::reset_before_processing, 0, false, "reset"},
      {"p_hang", disposition::hang, 0, false, "hang"},
      {"p_commit_drop", disposition::drop_after_processing, 0, true, "commit_drop"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.knob);
    ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
    set_faults({{"preset", "none"}, {r.knob, 1.0}, {"retry_after", 7}, {"latency_ms", 15}});
    const sim_response res = api_call("POST", "/service/tickets", ticket.dump());
    EXPECT_EQ(res.action, r.action);
    EXPECT_EQ(res.delay, std::chrono::milliseconds(15));
    if (r.action == disposition::respond) {
      EXPECT_EQ(res.status, r.status);
    }
    if (r.status == 429) {
      EXPECT_EQ(header(res, "Retry-After"), "7");
      EXPECT_EQ(body_of(res)["code"], "TooManyRequests");
      EXPECT_EQ(body_of(res)["message"], "Too many requests. Please try again in 7 seconds.");
    }
    if (r.status == 500) {
      EXPECT_EQ(body_of(res)["code"], "UnexpectedError");
      EXPECT_EQ(body_of(res)["message"], "An unexpected error occurred");
    }
    set_faults({{"preset", "none"}});
    EXPECT_EQ(stored_tickets(), r.processed ? 1u : 0u);
    const json stats = body_of(call("GET", "/__sim/stats"));
    EXPECT_EQ(stats["faults"][r.stat], 1) << stats.dump();
    // Faults never touch the unauthenticated and control endpoints.
    set_faults({{r.knob, 1.0}});
    EXPECT_EQ(call("GET", "/login/companyinfo/demo").action, disposition::respond);
    EXPECT_EQ(call("GET", "/__sim/stats").status, 200);
  }
}

TEST_F(sim_test, faults_apply_to_patch_and_notes) {
  struct request {
    const char* name;
    std::string method, path, body;
    std::function<bool(const json&)> processed;  // on the stored ticket
  };
  const std::vector<request> requests = {
      {"PATCH", "PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"summary","value":"patched"}])",
       [](const json& t) { return t["summary"] == "patched"; }},
      {"POST notes", "POST", "/service/tickets/1001/notes", R"({"text":"n","internalAnalysisFlag":true})",
       [](const json& t) { return t["notes"].size() == 1; }},
  };
  struct row {
    const char* knob;
    disposition action;
    int status;  // when answered
    bool processed;
  };
  const std::vector<row> rows = {
      {"p429", disposition::respond, 429, false},
      {"p500", disposition::respond, 500, false},
      {"p_reset", disposition::reset_before_processing, 0, false},
      {"p_hang", disposition::hang, 0, false},
      {"p_commit_drop", disposition::drop_after_processing, 0, true},
  };
  for (const auto& q : requests) {
    for (const auto& r : rows) {
      SCOPED_TRACE(std::string(q.name) + " " + r.knob);
      ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
      create({{"summary", "f"}, {"company", {{"id", 250}}}});
      set_faults({{"preset", "none"}, {r.knob, 1.0}, {"latency_ms", 15}});
      const sim_response res = api_call(q.method, q.path, q.body);
      EXPECT_EQ(res.action, r.action);
      EXPECT_EQ(res.delay, std::chrono::milliseconds(15));
      if (r.action == disposition::respond) {
        EXPECT_EQ(res.status, r.status);
      }
      set_faults({{"preset", "none"}});
      EXPECT_EQ(q.processed(stored_ticket(1001)), r.processed);
    }
  }
}

TEST_F(sim_test, fault_draws_are_reproducible_from_the_seed) {
  const auto sequence = [](std::uint64_t fault_seed) {
    cwsim::fault_knobs k;
    k.p429 = 0.25;
    k.p500 = 0.25;
    cwsim::simulator sim(seed(), k, fault_seed);
    std::vector<int> statuses;
    for (int i = 0; i < 64; ++i)
      statuses.push_back(sim.handle(sim_request{"GET", std::string(api) + "/system/info", good_headers(), ""}).status);
    return statuses;
  };
  const auto a = sequence(42);
  EXPECT_EQ(a, sequence(42));
  EXPECT_NE(a, sequence(43));
  for (int status : {200, 429, 500}) EXPECT_NE(std::find(a.begin(), a.end(), status), a.end()) << status;
}

// ---------------------------------------------------------------------------------
// /__sim

TEST_F(sim_test, sim_stats_requests_and_reset) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  api_call("GET", "/service/tickets/1001");
  api_call("GET", "/service/tickets?conditions=id%3D1001");
  call("GET", "/login/companyinfo/demo");

  const json stats = body_of(call("GET", "/__sim/stats"));
  EXPECT_EQ(stats["requests"]["POST /service/tickets"], 1);
  EXPECT_EQ(stats["requests"]["GET /service/tickets/{id}"], 1);
  EXPECT_EQ(stats["requests"]["GET /service/tickets"], 1);
  EXPECT_EQ(stats["requests"]["GET /login/companyinfo/{id}"], 1);
  EXPECT_EQ(stats["responses"]["201"], 1);
  EXPECT_EQ(stats["responses"]["200"], 3);
  EXPECT_EQ(stats["accept_versions"]["2025.8"], 3);
  EXPECT_EQ(stats["faults"]["429"], 0);
  EXPECT_EQ(stats["tickets"], 1);

  const json log = body_of(call("GET", "/__sim/requests?limit=2"));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["target"], std::string(api) + "/service/tickets?conditions=id%3D1001");
  EXPECT_EQ(log[1]["target"], "/login/companyinfo/demo");
  const json all = body_of(call("GET", "/__sim/requests"));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]["method"], "POST");
  EXPECT_EQ(all[0]["body"]["summary"], "a");  // parsed JSON
  EXPECT_EQ(all[0]["status"], 201);
  EXPECT_TRUE(all[1]["body"].is_null());
  EXPECT_EQ(call("GET", "/__sim/requests?limit=x").status, 400);
  api_call("POST", "/service/tickets", std::string(std::size_t{100} * 1024, ' '));
  EXPECT_EQ(body_of(call("GET", "/__sim/requests?limit=1"))[0]["body"], "(102400 bytes, not logged)");

  const json tickets = body_of(call("GET", "/__sim/tickets"));
  ASSERT_EQ(tickets.size(), 1u);
  EXPECT_TRUE(tickets[0]["notes"].is_array());

  ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
  EXPECT_EQ(stored_tickets(), 0u);
  EXPECT_TRUE(body_of(call("GET", "/__sim/stats"))["requests"].empty());
  EXPECT_EQ(create({{"summary", "b"}, {"company", {{"id", 250}}}})["id"], 1001);
}

TEST_F(sim_test, sim_stats_count_requests_per_host_header) {
  header_map other = good_headers();
  other["Host"] = "localhost:8443";
  header_map none = good_headers();
  none.erase("Host");
  api_call("GET", "/system/info");         // Host: cw.test
  call("GET", "/login/companyinfo/demo");  // not an API call: counted too
  call("GET", std::string(api) + "/system/info", {}, other);
  call("GET", std::string(api) + "/system/info", {}, other);
  call("GET", std::string(api) + "/no/such/route", {}, none);  // unknown routes too
  call("GET", "/__sim/tickets", {}, other);                    // control endpoints are not counted
  const json stats = body_of(call("GET", "/__sim/stats"));
  EXPECT_EQ(stats["hosts"], (json{{"cw.test", 2}, {"localhost:8443", 2}, {"none", 1}})) << stats.dump();
  ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
  EXPECT_TRUE(body_of(call("GET", "/__sim/stats"))["hosts"].empty());
}

TEST_F(sim_test, request_log_stamps_each_request_with_the_simulator_clock) {
  api_call("GET", "/system/info");
  now_ += std::chrono::milliseconds(1234);
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  call("GET", "/login/companyinfo/demo");  // not an API call: stamped too
  const json log = body_of(call("GET", "/__sim/requests"));
  ASSERT_EQ(log.size(), 3u);
  const std::int64_t pinned_ms = 1767225600LL * 1000;
  EXPECT_EQ(log[0]["received_at_ms"], pinned_ms);
  EXPECT_EQ(log[1]["received_at_ms"], pinned_ms + 1234);
  EXPECT_EQ(log[2]["received_at_ms"], pinned_ms + 1234);
}

TEST_F(sim_test, request_log_keeps_the_last_20000_requests) {
  for (int i = 0; i < 20'005; ++i) call("GET", "/login/companyinfo/r" + std::to_string(i));
  const json all = body_of(call("GET", "/__sim/requests?limit=1000000"));
  ASSERT_EQ(all.size(), 20'000u);
  EXPECT_EQ(all.front()["target"], "/login/companyinfo/r5");  // the 5 oldest were dropped
  EXPECT_EQ(all.back()["target"], "/login/companyinfo/r20004");
  EXPECT_EQ(body_of(call("GET", "/__sim/requests?limit=20000")).size(), 20'000u);
  EXPECT_EQ(body_of(call("GET", "/__sim/requests?limit=0")).size(), 0u);
}

TEST_F(sim_test, sim_stats_count_patch_and_note_routes) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  patch(1001, json::parse(R"([{"op":"replace","path":"summary","value":"b"}])"));
  add_note(1001, {{"text", "n"}, {"internalAnalysisFlag", true}});
  api_call("GET", "/service/tickets/1001/notes/1");
  api_call("GET", "/service/tickets/1001/notes/count");
  const json more = body_of(call("GET", "/__sim/stats"));
  EXPECT_EQ(more["requests"]["PATCH /service/tickets/{id}"], 1);
  EXPECT_EQ(more["requests"]["POST /service/tickets/{id}/notes"], 1);
  EXPECT_EQ(more["requests"]["GET /service/tickets/{id}/notes/{id}"], 1);
  EXPECT_EQ(more["requests"]["GET /service/tickets/{id}/notes/count"], 1);
  EXPECT_EQ(more["responses"]["201"], 2);
  EXPECT_EQ(more["responses"]["200"], 3);
  const json log = body_of(call("GET", "/__sim/requests?limit=4"));
  EXPECT_EQ(log[0]["method"], "PATCH");
  EXPECT_EQ(log[0]["body"][0]["path"], "summary");
  EXPECT_EQ(log[1]["body"]["text"], "n");
}

TEST_F(sim_test, scripted_faults_hit_exactly_the_nth_api_request) {
  ASSERT_EQ(call("POST", "/__sim/faults", R"({"script":[{"at":2,"kind":"500"},{"at":3,"kind":"commit_drop"}]})").status,
            200);
  EXPECT_EQ(body_of(call("GET", "/__sim/faults"))["script"].size(), 2u);
  EXPECT_EQ(api_call("GET", "/system/info").status, 200);  // 1st: no fault
  EXPECT_EQ(api_call("GET", "/system/info").status, 500);  // 2nd: scripted 500
  const sim_response dropped =
      api_call("POST", "/service/tickets", R"({"summary":"s","company":{"identifier":"AcmeCorp"}})");
  EXPECT_EQ(dropped.action, sim_response::disposition::drop_after_processing);  // 3rd: processed, not answered
  EXPECT_EQ(body_of(call("GET", "/__sim/tickets")).size(), 1u);
  EXPECT_EQ(api_call("GET", "/system/info").status, 200);  // script used up
  EXPECT_TRUE(body_of(call("GET", "/__sim/faults"))["script"].empty());
  for (const char* bad :
       {R"({"script":[{"at":0,"kind":"500"}]})", R"({"script":[{"at":1,"kind":"boom"}]})", R"({"script":{"at":1}})"})
    EXPECT_EQ(call("POST", "/__sim/faults", bad).status, 400) << bad;
}

TEST_F(sim_test, sim_fault_knobs) {
  const json initial = body_of(call("GET", "/__sim/faults"));
  json expected = cwsim::to_json(cwsim::fault_knobs{});
  expected["deny"] = json::array();
  expected["script"] = json::array();
  expected["api_requests"] = 0;
  EXPECT_EQ(initial, expected);

  const sim_response partial = call("POST", "/__sim/faults", R"({"p429":0.5,"retry_after":3})");
  ASSERT_EQ(partial.status, 200);
  EXPECT_EQ(body_of(partial)["p429"], 0.5);
  EXPECT_EQ(body_of(partial)["retry_after"], 3);
  EXPECT_EQ(body_of(partial)["p500"], 0.0);

  for (const char* bad :
       {R"({"p429":1.5})", R"({"p500":"x"})", R"({"latency":1})", R"({"preset":"nope"})", "[1]", "{"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(call("POST", "/__sim/faults", bad).status, 400);
  }
  EXPECT_EQ(sim_.faults().p429, 0.5);  // unchanged by the rejected updates

  const sim_response preset = call("POST", "/__sim/faults", R"({"preset":"throttled","retry_after":9,"seed":5})");
  ASSERT_EQ(preset.status, 200);
  EXPECT_EQ(body_of(preset)["p429"], 0.3);
  EXPECT_EQ(body_of(preset)["retry_after"], 9);
}

// ---------------------------------------------------------------------------------
// Permissions ("deny")

TEST_F(sim_test, deny_areas_table) {
  const json forbidden = {
      {"code", "Forbidden"}, {"message", "You do not have permission to perform this action."}, {"errors", nullptr}};
  struct probe {
    std::string method, path, body;
    std::vector<std::string> areas;  // denying any of these answers 403
  };
  const std::vector<probe> probes = {
      {"GET", "/company/companies", "", {"companies"}},
      {"GET", "/company/companies/250", "", {"companies"}},
      {"GET", "/service/tickets", "", {"tickets.read"}},
      {"GET", "/service/tickets/count", "", {"tickets.read"}},
      {"GET", "/service/tickets/1001", "", {"tickets.read"}},
      {"GET", "/service/tickets/1001/notes", "", {"tickets.read"}},
      {"POST", "/service/tickets/search", "{}", {"tickets.read"}},
      {"POST", "/service/tickets", R"({"summary":"n","company":{"id":250}})", {"tickets.add"}},
      {"PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"summary","value":"e"}])", {"tickets.edit"}},
      {"POST", "/service/tickets/1001/notes", R"({"text":"n","internalAnalysisFlag":true})", {"tickets.edit"}},
      {"PATCH",
       "/service/tickets/1001",
       R"([{"op":"replace","path":"status","value":{"id":105}}])",
       {"tickets.edit", "tickets.close"}},
      {"GET", "/service/boards", "", {"table_setup"}},
      {"GET", "/service/boards/1/statuses", "", {"table_setup"}},
      {"GET", "/service/boards/1/types/count", "", {"table_setup"}},
      {"GET", "/service/boards/1/teams", "", {"table_setup"}},
      {"GET", "/service/boards/1/teams/601", "", {"table_setup"}},
      {"GET", "/service/priorities", "", {"table_setup"}},
      {"GET", "/service/sources/9", "", {"table_setup"}},
      {"GET", "/system/info", "", {"system"}},
  };
  for (const char* area :
       {"", "companies", "tickets.read", "tickets.add", "tickets.edit", "tickets.close", "table_setup", "system"}) {
    ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
    set_faults({{"deny", json::array()}});
    create({{"summary", "t"}, {"company", {{"id", 250}}}});
    set_faults({{"deny", *area ? json::array({area}) : json::array()}});
    for (const auto& p : probes) {
      SCOPED_TRACE(std::string(area) + ": " + p.method + " " + p.path + " " + p.body);
      const bool denied = std::find(p.areas.begin(), p.areas.end(), area) != p.areas.end();
      const sim_response res = api_call(p.method, p.path, p.body);
      if (denied) {
        EXPECT_EQ(res.status, 403);
        EXPECT_EQ(body_of(res), forbidden);
      } else {
        EXPECT_LT(res.status, 300) << res.body;
      }
    }
  }
}

TEST_F(sim_test, deny_tickets_close_only_blocks_moves_to_a_closed_status) {
  create({{"summary", "open"}, {"company", {{"id", 250}}}});
  create({{"summary", "born closed"}, {"company", {{"id", 250}}}, {"status", {{"id", 104}}}});  // POST: tickets.add
  set_faults({{"deny", {"tickets.close"}}});
  const auto status = [](int id) {
    return json::array({{{"op", "replace"}, {"path", "status"}, {"value", {{"id", id}}}}});
  };
  struct row {
    const char* name;
    std::int64_t ticket;
    json ops;
    int status;
  };
  const std::vector<row> rows = {
      {"summary edit", 1001, json::parse(R"([{"op":"replace","path":"summary","value":"x"}])"), 200},
      {"to an open status", 1001, status(102), 200},
      {"to a closed status", 1001, status(105), 403},
      {"to a closed status of a new board", 1001, json::parse(R"([{"op":"replace","path":"board","value":{"id":2}},
                       {"op":"replace","path":"status","value":{"name":"Completed"}}])"),
       403},
      {"invalid patch is still a 400", 1001, json::parse(R"([{"op":"replace","path":"status/id","value":105}])"), 400},
      {"edit of an already closed ticket", 1002, json::parse(R"([{"op":"replace","path":"summary","value":"y"}])"),
       200},
      {"from one closed status to another", 1002, status(105), 403},
      {"reopen", 1002, status(106), 200},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const json before = stored_ticket(r.ticket);
    const sim_response res = patch(r.ticket, r.ops);
    EXPECT_EQ(res.status, r.status) << res.body;
    if (r.status != 200) {
      EXPECT_EQ(stored_ticket(r.ticket), before);
    }
  }
  set_faults({{"deny", json::array()}});
  EXPECT_EQ(patch(1001, status(105)).status, 200);
}

// Without tickets.close, a PATCH naming a closed status is refused before the ticket is
// looked up, so a harmless probe on a ticket that does not exist shows the missing right.
TEST_F(sim_test, deny_tickets_close_answers_before_the_ticket_lookup) {
  const auto to = [](json value) {
    return json::array({{{"op", "replace"}, {"path", "status"}, {"value", std::move(value)}}}).dump();
  };
  struct row {
    const char* name;
    std::string body;
    int denied;   // status with tickets.close denied
    int allowed;  // status without
  };
  const std::vector<row> rows = {
      {"closed status by id", to({{"id", 105}}), 403, 404},
      {"closed status of another board by id", to({{"id", 204}}), 403, 404},
      {"closed status by name", to({{"name", "closed"}}), 403, 404},
      {"open status by id", to({{"id", 101}}), 404, 404},
      {"open status by name", to({{"name", "New"}}), 404, 404},
      {"unknown status id", to({{"id", 99999}}), 404, 404},
      {"empty patch", "[]", 404, 404},
      {"summary only", R"([{"op":"replace","path":"summary","value":"x"}])", 404, 404},
      {"leading slash, upper-case op and path", R"([{"op":"REPLACE","path":"/Status","value":{"id":104}}])", 403, 404},
      {"add works like replace", R"([{"op":"add","path":"status","value":{"id":104}}])", 403, 404},
      {"remove names no status", R"([{"op":"remove","path":"status"}])", 404, 404},
      {"path into status names no status", R"([{"op":"replace","path":"status/id","value":105}])", 404, 404},
      {"among other operations", R"([{"op":"replace","path":"summary","value":""},
                                     {"op":"replace","path":"status","value":{"id":205}}])",
       403, 404},
      {"malformed JSON", "[{", 404, 404},
  };
  for (const bool deny : {true, false}) {
    set_faults({{"deny", deny ? json::array({"tickets.close"}) : json::array()}});
    for (const auto& r : rows) {
      SCOPED_TRACE(std::string(r.name) + (deny ? " (denied)" : " (allowed)"));
      const sim_response res = api_call("PATCH", "/service/tickets/2147483000", r.body);
      EXPECT_EQ(res.status, deny ? r.denied : r.allowed) << res.body;
    }
  }
  // On an existing ticket an invalid patch naming a closed status is now a 403 too.
  create({{"summary", "t"}, {"company", {{"id", 250}}}});
  set_faults({{"deny", {"tickets.close"}}});
  const json before = stored_ticket(1001);
  EXPECT_EQ(api_call("PATCH", "/service/tickets/1001", rows.back().body).status, 400);
  EXPECT_EQ(api_call("PATCH", "/service/tickets/1001", rows[12].body).status, 403);
  EXPECT_EQ(stored_ticket(1001), before);
}

TEST_F(sim_test, deny_precedence_and_knob) {
  set_faults({{"deny", {"Tickets.Read", "system"}}});  // matched case-insensitively, stored canonically
  EXPECT_EQ(body_of(call("GET", "/__sim/faults"))["deny"], (json{"system", "tickets.read"}));
  // Authentication, unknown routes and methods come first; a missing ticket is never revealed.
  header_map no_auth = good_headers();
  no_auth.erase("Authorization");
  EXPECT_EQ(call("GET", std::string(api) + "/system/info", {}, no_auth).status, 401);
  EXPECT_EQ(api_call("GET", "/system/nothing").status, 404);
  EXPECT_EQ(api_call("PUT", "/service/tickets/1").status, 405);
  EXPECT_EQ(api_call("GET", "/service/tickets/4242").status, 403);
  EXPECT_EQ(body_of(call("GET", "/__sim/stats"))["responses"]["403"], 1);

  for (const char* bad :
       {R"({"deny":"system"})", R"({"deny":["nope"]})", R"({"deny":[1]})", R"({"deny":["companies"],"p429":2})"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(call("POST", "/__sim/faults", bad).status, 400);
  }
  EXPECT_EQ(body_of(call("GET", "/__sim/faults"))["deny"], (json{"system", "tickets.read"}));  // unchanged
  set_faults({{"preset", "none"}});                     // presets leave deny alone
  ASSERT_EQ(call("POST", "/__sim/reset").status, 200);  // so does reset
  EXPECT_EQ(api_call("GET", "/system/info").status, 403);
  set_faults({{"deny", json::array()}});
  EXPECT_EQ(api_call("GET", "/system/info").status, 200);
}

TEST(cwsim_seed, deny_from_the_seed) {
  json s = seed();
  s["deny"] = {"companies", "tickets.add"};
  cwsim::simulator sim(s);
  header_map h = good_headers();
  EXPECT_EQ(sim.handle(sim_request{"GET", std::string(api) + "/company/companies", h, ""}).status, 403);
  EXPECT_EQ(
      sim.handle(sim_request{"POST", std::string(api) + "/service/tickets", h, R"({"summary":"s","company":{"id":2}})"})
          .status,
      403);
  EXPECT_EQ(sim.handle(sim_request{"GET", std::string(api) + "/system/info", h, ""}).status, 200);
  EXPECT_EQ(json::parse(sim.handle(sim_request{"GET", "/__sim/faults", {}, ""}).body)["deny"],
            (json{"companies", "tickets.add"}));
}

// ---------------------------------------------------------------------------------
// Seed validation

TEST(cwsim_seed, rejects_inconsistent_seeds) {
  struct row {
    const char* name;
    std::function<void(json&)> edit;
    const char* message_part;
  };
  const std::vector<row> rows = {
      {"missing key", [](json& s) { s.erase("private_key"); }, "private_key"},
      {"codebase without slash", [](json& s) { s["codebase"] = "v2025_1"; }, "codebase"},
      {"duplicate company id", [](json& s) { s["companies"][1]["id"] = 2; }, "duplicate id 2"},
      {"duplicate identifier", [](json& s) { s["companies"][1]["identifier"] = "MSPINTERNAL"; },
       "duplicate identifier"},
      {"status id reused across boards", [](json& s) { s["boards"][1]["statuses"][0]["id"] = 101; },
       "duplicate id 101"},
      {"two default statuses", [](json& s) { s["boards"][0]["statuses"][1]["defaultFlag"] = true; }, "defaultFlag"},
      {"board without statuses", [](json& s) { s["boards"][0]["statuses"] = json::array(); }, "statuses"},
      {"id not an integer", [](json& s) { s["priorities"][0]["id"] = "15"; }, "priorities[0]"},
      {"unknown deny area",
       [](json& s) {
         s["deny"] = {"companies", "billing"};
       },
       "deny[1]"},
      {"deny not an array", [](json& s) { s["deny"] = "companies"; }, "\"deny\" must be an array"},
      {"team id reused across boards", [](json& s) { s["boards"][1]["teams"][0]["id"] = 601; }, "duplicate id 601"},
      {"duplicate team name", [](json& s) { s["boards"][0]["teams"][1]["name"] = "soc tier 1"; },
       "boards[0].teams[1]: duplicate name"},
      {"team without name", [](json& s) { s["boards"][0]["teams"][0].erase("name"); }, "boards[0].teams[0]"},
      {"custom field without caption", [](json& s) { s["custom_fields"][0].erase("caption"); }, "custom_fields[0]"},
      {"custom field of unknown type", [](json& s) { s["custom_fields"][1]["type"] = "Colour"; },
       "custom_fields[1]: \"type\" must be one of"},
      {"duplicate custom field id", [](json& s) { s["custom_fields"][2]["id"] = 7; }, "duplicate id 7"},
      {"duplicate custom field caption", [](json& s) { s["custom_fields"][1]["caption"] = "SOURCE PRODUCT"; },
       "duplicate caption"},
      {"custom_fields not an array", [](json& s) { s["custom_fields"] = json::object(); }, "custom_fields"},
      {"member naming an unknown role",
       [](json& s) {
         s["members"][1]["security_role"] = {{"id", 9}};
       },
       "members[1]: \"security_role\""},
      {"duplicate member id", [](json& s) { s["members"][1]["id"] = 1; }, "members[1]: duplicate id 1"},
      {"member identifier over 15", [](json& s) { s["members"][1]["identifier"] = "a-very-long-identifier"; },
       "longer than 15"},
      {"duplicate member identifier", [](json& s) { s["members"][1]["identifier"] = "TICKETSYNCAPI"; },
       "members[1]: duplicate identifier"},
      {"integration member with other keys",
       [](json& s) {
         s["members"][0]["public_key"] = "x";
         s["members"][0]["private_key"] = "demo-private-key";
       },
       "top-level public_key"},
      {"member with only one key", [](json& s) { s["members"][1].erase("private_key"); }, "members[1]: missing"},
      {"members share a public key", [](json& s) { s["members"][1]["public_key"] = "demo-public-key"; },
       "share a public_key"},
      {"inactive integration member", [](json& s) { s["members"][0]["inactiveFlag"] = true; }, "cannot be inactive"},
      {"bad role level", [](json& s) { s["security_roles"][0]["settings"][0]["addLevel"] = "Some"; },
       "security_roles[0].settings[0]: \"addLevel\" must be None, My or All"},
      {"setting without a function name",
       [](json& s) { s["security_roles"][1]["settings"][0].erase("moduleFunctionName"); },
       "security_roles[1].settings[0]"},
      {"duplicate function in a role",
       [](json& s) { s["security_roles"][1]["settings"][1]["moduleFunctionName"] = "company maintenance"; },
       "duplicate moduleFunctionName"},
      {"duplicate role name", [](json& s) { s["security_roles"][1]["name"] = "ticketsync integration"; },
       "security_roles[1]: duplicate name"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    json s = seed();
    r.edit(s);
    try {
      cwsim::simulator sim(s);
      ADD_FAILURE() << "accepted";
    } catch (const cwsim::seed_error& e) {
      EXPECT_NE(std::string(e.what()).find(r.message_part), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------
// Members, attribution, Date, lastUpdated

std::string enc(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ',') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

header_map tech_headers() {
  header_map h = good_headers();
  h["Authorization"] = "Basic " + base64("demo+techpub:techpriv");
  return h;
}

class sim_member_test : public sim_test {
 protected:
  sim_response as_tech(const std::string& method, const std::string& path, const std::string& body = {}) {
    return call(method, std::string(api) + path, body, tech_headers());
  }
  json ticket(std::int64_t id) { return body_of(api_call("GET", "/service/tickets/" + std::to_string(id))); }
};

TEST_F(sim_member_test, any_members_keys_authenticate_as_that_member) {
  struct row {
    const char* name;
    std::string credentials;
    int status;
  };
  const std::vector<row> rows = {
      {"integration member", "demo+demo-public-key:demo-private-key", 200},
      {"tech1", "demo+techpub:techpriv", 200},
      {"tech1, company case-insensitive", "DEMO+techpub:techpriv", 200},
      {"tech1 public key with the integration private key", "demo+techpub:demo-private-key", 401},
      {"tech1 wrong private key", "demo+techpub:nope", 401},
      {"tech1 keys, other company", "acme+techpub:techpriv", 401},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    header_map h = good_headers();
    h["Authorization"] = "Basic " + base64(r.credentials);
    EXPECT_EQ(call("GET", std::string(api) + "/system/info", {}, h).status, r.status);
  }
  // An inactive member cannot call the API.
  json s = seed();
  s["members"][1]["inactiveFlag"] = true;
  cwsim::simulator sim(s);
  EXPECT_EQ(sim.handle(sim_request{"GET", std::string(api) + "/system/info", tech_headers(), ""}).status, 401);
}

TEST_F(sim_member_test, every_change_is_stamped_with_the_member_who_made_it) {
  const json created = create({{"summary", "a"}, {"company", {{"id", 250}}}, {"initialDescription", "first"}});
  EXPECT_EQ(created["_info"]["enteredBy"], "TicketSyncAPI");
  EXPECT_EQ(created["_info"]["updatedBy"], "TicketSyncAPI");
  const sim_response by_tech = as_tech(
      "POST", "/service/tickets", json{{"summary", "b"}, {"company", {{"id", 250}}}, {"status", {{"id", 105}}}}.dump());
  ASSERT_EQ(by_tech.status, 201) << by_tech.body;
  EXPECT_EQ(body_of(by_tech)["_info"]["enteredBy"], "tech1");
  EXPECT_EQ(body_of(by_tech)["closedBy"], "tech1");

  struct row {
    const char* name;
    std::function<sim_response()> act;
    const char* updated_by;
    const char* closed_by;  // "" = not closed
  };
  const std::vector<row> rows = {
      {"tech1 patches",
       [&] { return as_tech("PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"summary","value":"x"}])"); },
       "tech1", ""},
      {"integration adds a note",
       [&] {
         return add_note(1001, {{"text", "n"}, {"internalAnalysisFlag", true}});
       },
       "TicketSyncAPI", ""},
      {"tech1 closes",
       [&] {
         return as_tech("PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"status","value":{"id":104}}])");
       },
       "tech1", "tech1"},
      {"integration moves between closed statuses",
       [&] {
         return patch(1001, json::array({{{"op", "replace"}, {"path", "status"}, {"value", {{"id", 105}}}}}));
       },
       "TicketSyncAPI", "tech1"},
      {"tech1 adds a note",
       [&] { return as_tech("POST", "/service/tickets/1001/notes", R"({"text":"t","detailDescriptionFlag":true})"); },
       "tech1", "tech1"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    now_ += std::chrono::seconds(1);
    const sim_response res = r.act();
    ASSERT_LT(res.status, 300) << res.body;
    const json t = ticket(1001);
    EXPECT_EQ(t["_info"]["updatedBy"], r.updated_by);
    EXPECT_EQ(t["_info"]["enteredBy"], "TicketSyncAPI");
    EXPECT_EQ(t["_info"]["lastUpdated"], cwsim::format_datetime(now_));
    if (std::string_view(r.closed_by).empty()) {
      EXPECT_FALSE(t.contains("closedBy"));
    } else {
      EXPECT_EQ(t["closedBy"], r.closed_by);
    }
  }
  const json notes = body_of(api_call("GET", "/service/tickets/1001/notes"));
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0]["createdBy"], "TicketSyncAPI");
  EXPECT_EQ(notes[2]["createdBy"], "tech1");
  EXPECT_EQ(notes[2]["_info"]["updatedBy"], "tech1");
  // Attribution is queryable.
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=" + enc("updatedBy=\"tech1\""))),
            std::vector<std::int64_t>({1001, 1002}));
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=" + enc("_info/enteredBy=\"tech1\""))),
            std::vector<std::int64_t>({1002}));
}

TEST_F(sim_member_test, last_updated_changes_on_every_ticket_change_with_one_second_resolution) {
  create({{"summary", "parent"}, {"company", {{"id", 250}}}});
  create({{"summary", "child"}, {"company", {{"id", 250}}}});
  struct row {
    const char* name;
    std::int64_t ticket;
    std::function<sim_response()> act;
  };
  const std::vector<row> rows = {
      {"patch", 1001,
       [&] {
         return patch(1001, json::array({{{"op", "replace"}, {"path", "summary"}, {"value", "p"}}}));
       }},
      {"note", 1001,
       [&] {
         return add_note(1001, {{"text", "n"}, {"detailDescriptionFlag", true}});
       }},
      {"close", 1001,
       [&] {
         return patch(1001, json::array({{{"op", "replace"}, {"path", "status"}, {"value", {{"id", 104}}}}}));
       }},
      {"merge (child)", 1002,
       [&] { return api_call("POST", "/service/tickets/1001/merge", R"({"mergeTicketIds":[1002]})"); }},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const std::string before = ticket(r.ticket)["_info"]["lastUpdated"];
    now_ += std::chrono::milliseconds(1700);  // a fraction of a second is not shown
    const sim_response res = r.act();
    ASSERT_LT(res.status, 300) << res.body;
    const std::string after = ticket(r.ticket)["_info"]["lastUpdated"];
    EXPECT_NE(after, before);
    EXPECT_EQ(after, cwsim::format_datetime(now_));
    EXPECT_EQ(after.size(), 20u) << after;  // 2026-01-01T00:00:01Z: no fraction
    EXPECT_EQ(after.back(), 'Z');
    EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=" +
                                         enc("lastUpdated>=[" + after + "] and id=" + std::to_string(r.ticket)))),
              std::vector<std::int64_t>{r.ticket});
  }
}

TEST_F(sim_member_test, every_answer_carries_a_date_header_from_the_simulator_clock) {
  now_ = pinned_now + std::chrono::hours(36) + std::chrono::milliseconds(250);
  header_map no_auth = good_headers();
  no_auth.erase("Authorization");
  const std::vector<std::pair<const char*, sim_response>> answers = {
      {"200", api_call("GET", "/system/info")},
      {"401", call("GET", std::string(api) + "/system/info", {}, no_auth)},
      {"404", api_call("GET", "/service/tickets/1")},
      {"405", api_call("PUT", "/service/tickets/1")},
      {"companyinfo", call("GET", "/login/companyinfo/demo")},
      {"unknown path", call("GET", "/nothing")},
      {"/__sim", call("GET", "/__sim/stats")},
  };
  for (const auto& [name, r] : answers) {
    SCOPED_TRACE(name);
    EXPECT_EQ(header(r, "Date"), "Fri, 02 Jan 2026 12:00:00 GMT");
  }
}

TEST_F(sim_member_test, members_routes_table) {
  struct row {
    std::string path;
    int status;
    std::vector<std::int64_t> ids;  // list: the ids; single: {id}
  };
  const std::vector<row> rows = {
      {"/system/members", 200, {1, 2}},
      {"/system/members?conditions=" + enc("identifier=\"tech1\""), 200, {2}},
      {"/system/members?conditions=" + enc("identifier=\"TICKETSYNCAPI\""), 200, {1}},
      {"/system/members?conditions=" + enc("id>1"), 200, {2}},
      {"/system/members?conditions=" + enc("inactiveFlag=false"), 200, {1, 2}},
      {"/system/members?conditions=" + enc("inactiveFlag=true"), 200, {}},
      {"/system/members?orderBy=" + enc("identifier asc"), 200, {2, 1}},  // tech1 < TicketSyncAPI, ignoring case
      {"/system/members/2", 200, {2}},
      {"/system/members/tech1", 200, {2}},
      {"/system/members/TECH1", 200, {2}},
      {"/system/members/TicketSyncAPI", 200, {1}},
      {"/system/members/nobody", 404, {}},
      {"/system/members/99", 404, {}},
      {"/system/members?conditions=" + enc("nickname=\"x\""), 400, {}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path);
    const sim_response res = api_call("GET", r.path);
    ASSERT_EQ(res.status, r.status) << res.body;
    if (r.status != 200) continue;
    const json b = body_of(res);
    if (b.is_array()) {
      EXPECT_EQ(ids_of(res), r.ids);
    } else {
      EXPECT_EQ(std::vector<std::int64_t>{b["id"].get<std::int64_t>()}, r.ids);
    }
  }
  const json tech = body_of(api_call("GET", "/system/members/tech1"));
  EXPECT_EQ(tech["identifier"], "tech1");
  EXPECT_EQ(tech["firstName"], "Tina");
  EXPECT_EQ(tech["lastName"], "Tech");
  EXPECT_EQ(tech["inactiveFlag"], false);
  EXPECT_EQ(tech["securityRole"]["id"], 2);
  EXPECT_EQ(tech["securityRole"]["name"], "Technician");
  EXPECT_EQ(tech["securityRole"]["_info"]["securityRole_href"], std::string(api_base_url) + "/system/securityRoles/2");
  EXPECT_TRUE(tech["_info"].contains("lastUpdated"));
  EXPECT_FALSE(tech.contains("public_key"));
  EXPECT_EQ(body_of(api_call("GET", "/system/members/count")), (json{{"count", 2}}));
  EXPECT_EQ(body_of(api_call("GET", "/system/members/count?conditions=" + enc("identifier like \"tech%\""))),
            (json{{"count", 1}}));
  EXPECT_EQ(body_of(api_call("GET", "/system/members/1?fields=id,identifier")),
            (json{{"id", 1}, {"identifier", "TicketSyncAPI"}}));
  EXPECT_EQ(body_of(call("GET", "/__sim/stats"))["requests"]["GET /system/members/{identifier}"], 5);
}

TEST(cwsim_seed, member_entries_with_or_without_keys) {
  json s = seed();
  s["members"][0]["public_key"] = "demo-public-key";  // repeating the top-level keys exactly is fine
  s["members"][0]["private_key"] = "demo-private-key";
  s["members"].push_back({{"id", 3}, {"identifier", "desk"}, {"name", "Front Desk"}});  // no keys: no API access
  cwsim::simulator sim(s);
  const sim_response list =
      sim.handle(sim_request{"GET", std::string(api) + "/system/members?fields=id,identifier", good_headers(), ""});
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(body_of(list), json::parse(R"([{"id":1,"identifier":"TicketSyncAPI"},{"id":2,"identifier":"tech1"},
    {"id":3,"identifier":"desk"}])"));
  EXPECT_EQ(sim.handle(sim_request{"GET", std::string(api) + "/system/info", good_headers(), ""}).status, 200);
  header_map blank = good_headers();
  blank["Authorization"] = "Basic " + base64("demo+:");
  EXPECT_EQ(sim.handle(sim_request{"GET", std::string(api) + "/system/info", blank, ""}).status, 401);
}

TEST(cwsim_seed, members_without_a_members_list_keep_the_top_level_member) {
  json s = seed();
  s.erase("members");
  cwsim::simulator sim(s);
  const sim_response r = sim.handle(sim_request{"GET", std::string(api) + "/system/members", good_headers(), ""});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), json::parse(R"([{"id":1,"identifier":"TicketSyncAPI","firstName":"TicketSyncAPI",
    "lastName":"","inactiveFlag":false,"_info":{"lastUpdated":"2025-01-01T00:00:00Z","updatedBy":"TicketSyncAPI"}}])"));
  EXPECT_EQ(sim.handle(sim_request{"GET", std::string(api) + "/system/info", tech_headers(), ""}).status, 401);
}

// ---------------------------------------------------------------------------------
// Delete and merge

TEST_F(sim_member_test, delete_ticket_removes_it) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}, {"initialDescription", "n"}});
  create({{"summary", "b"}, {"company", {{"id", 250}}}});
  const sim_response del = api_call("DELETE", "/service/tickets/1001");
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.body.empty());
  EXPECT_EQ(api_call("GET", "/service/tickets/1001").status, 404);
  EXPECT_EQ(api_call("GET", "/service/tickets/1001/notes").status, 404);
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets")), std::vector<std::int64_t>{1002});
  EXPECT_EQ(body_of(api_call("GET", "/service/tickets/count")), (json{{"count", 1}}));
  EXPECT_EQ(api_call("DELETE", "/service/tickets/1001").status, 404);
  EXPECT_EQ(api_call("PATCH", "/service/tickets/1001", "[]").status, 404);
  // tech1's role has Service Tickets delete None; the deny knob refuses it for everyone.
  EXPECT_EQ(as_tech("DELETE", "/service/tickets/1002").status, 403);
  set_faults({{"deny", {"tickets.delete"}}});
  EXPECT_EQ(api_call("DELETE", "/service/tickets/1002").status, 403);
  EXPECT_EQ(stored_tickets(), 1u);
  EXPECT_EQ(create({{"summary", "c"}, {"company", {{"id", 250}}}})["id"], 1003);  // ids are not reused
}

TEST_F(sim_member_test, merge_closes_the_children_and_links_them_to_the_parent) {
  create({{"summary", "parent"}, {"company", {{"id", 250}}}});                                     // 1001
  create({{"summary", "child a"}, {"company", {{"id", 250}}}});                                    // 1002
  create({{"summary", "child b"}, {"company", {{"id", 250}}}, {"board", {{"id", 2}}}});            // 1003
  create({{"summary", "child c closed"}, {"company", {{"id", 250}}}, {"status", {{"id", 104}}}});  // 1004
  create({{"summary", "other"}, {"company", {{"id", 250}}}});                                      // 1005
  now_ += std::chrono::seconds(10);
  const sim_response r =
      as_tech("POST", "/service/tickets/1001/merge", R"({"mergeTicketIds":[1002,1003,1004],"status":{"id":105}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["id"], 1001);
  EXPECT_EQ(body_of(r)["hasMergedChildTicketFlag"], true);
  struct expect_row {
    std::int64_t id;
    std::int64_t status;  // 105 as asked on board 1; board 2's first closed status (204) otherwise
    const char* closed_date;
    const char* closed_by;
  };
  for (const auto& e :
       {expect_row{1002, 105, "2026-01-01T00:00:10Z", "tech1"}, expect_row{1003, 204, "2026-01-01T00:00:10Z", "tech1"},
        expect_row{1004, 105, "2026-01-01T00:00:00Z", "TicketSyncAPI"}}) {
    SCOPED_TRACE(e.id);
    const json t = ticket(e.id);
    EXPECT_EQ(t["mergedParentTicket"]["id"], 1001);
    EXPECT_EQ(t["mergedParentTicket"]["summary"], "parent");
    EXPECT_EQ(t["mergedParentTicket"]["_info"]["ticket_href"], std::string(api_base_url) + "/service/tickets/1001");
    EXPECT_EQ(t["closedFlag"], true);
    EXPECT_EQ(t["status"]["id"], e.status);
    EXPECT_EQ(t["closedDate"], e.closed_date);
    EXPECT_EQ(t["closedBy"], e.closed_by);
    EXPECT_EQ(t["_info"]["lastUpdated"], "2026-01-01T00:00:10Z");
    EXPECT_EQ(t["_info"]["updatedBy"], "tech1");
  }
  EXPECT_FALSE(ticket(1005).contains("mergedParentTicket"));
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=" + enc("mergedParentTicket/id=1001"))),
            std::vector<std::int64_t>({1002, 1003, 1004}));
  EXPECT_EQ(ids_of(api_call("GET", "/service/tickets?conditions=" + enc("mergedParentTicket/id=null"))),
            std::vector<std::int64_t>({1001, 1005}));

  // The sweep's partial response works on lists.
  const sim_response list = api_call(
      "GET", "/service/tickets?conditions=" + enc("id in (1002,1005)") +
                 "&fields=mergedParentTicket/id,_info/lastUpdated,_info/updatedBy,closedFlag,status/id,board/id,"
                 "company/identifier,priority/id");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(body_of(list), json::parse(R"([
    {"mergedParentTicket":{"id":1001},"_info":{"lastUpdated":"2026-01-01T00:00:10Z","updatedBy":"tech1"},
     "closedFlag":true,"status":{"id":105},"board":{"id":1},"company":{"identifier":"AcmeCorp"},"priority":{"id":17}},
    {"_info":{"lastUpdated":"2026-01-01T00:00:00Z","updatedBy":"TicketSyncAPI"},
     "closedFlag":false,"status":{"id":101},"board":{"id":1},"company":{"identifier":"AcmeCorp"},"priority":{"id":17}}
  ])"));
  // Without a status: the child's board's first closed status.
  ASSERT_EQ(api_call("POST", "/service/tickets/1001/merge", R"({"mergeTicketIds":[1005]})").status, 200);
  EXPECT_EQ(ticket(1005)["status"]["id"], 104);
}

TEST_F(sim_member_test, merge_validation_table_changes_nothing) {
  create({{"summary", "parent"}, {"company", {{"id", 250}}}});  // 1001
  create({{"summary", "child"}, {"company", {{"id", 250}}}});   // 1002
  create({{"summary", "merged"}, {"company", {{"id", 250}}}});  // 1003
  create({{"summary", "host"}, {"company", {{"id", 250}}}});    // 1004
  ASSERT_EQ(api_call("POST", "/service/tickets/1004/merge", R"({"mergeTicketIds":[1003]})").status, 200);
  const json before = body_of(call("GET", "/__sim/tickets"));
  struct row {
    const char* name;
    std::int64_t parent;
    std::string body;
    int status;
    const char* message_part;
  };
  const std::vector<row> rows = {
      {"unknown child", 1001, R"({"mergeTicketIds":[4242]})", 400, "Ticket 4242 was not found"},
      {"self", 1001, R"({"mergeTicketIds":[1001]})", 400, "cannot be merged into itself"},
      {"already merged", 1001, R"({"mergeTicketIds":[1002,1003]})", 400, "already merged into ticket 1004"},
      {"listed twice", 1001, R"({"mergeTicketIds":[1002,1002]})", 400, "listed twice"},
      {"parent already merged", 1003, R"({"mergeTicketIds":[1002]})", 400, "was merged into ticket 1004"},
      {"missing ids", 1001, R"({"status":{"id":105}})", 400, "mergeTicketIds field is required"},
      {"empty ids", 1001, R"({"mergeTicketIds":[]})", 400, "non-empty array"},
      {"ids not integers", 1001, R"({"mergeTicketIds":["1002"]})", 400, "non-empty array"},
      {"unknown status", 1001, R"({"mergeTicketIds":[1002],"status":{"id":999}})", 400, "status"},
      {"not JSON", 1001, "{", 400, "not valid JSON"},
      {"array body", 1001, "[]", 400, "JSON object"},
      {"unknown parent", 4242, R"({"mergeTicketIds":[1002]})", 404, "Ticket not found"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const sim_response res = api_call("POST", "/service/tickets/" + std::to_string(r.parent) + "/merge", r.body);
    ASSERT_EQ(res.status, r.status) << res.body;
    EXPECT_NE(res.body.find(r.message_part), std::string::npos) << res.body;
    if (r.status == 400) {
      EXPECT_EQ(body_of(res)["code"], "InvalidObject");
      EXPECT_EQ(body_of(res)["errors"][0]["resource"], "ticketMerge");
    }
  }
  EXPECT_EQ(body_of(call("GET", "/__sim/tickets")), before);
  set_faults({{"deny", {"tickets.close"}}});  // merging closes the children
  EXPECT_EQ(api_call("POST", "/service/tickets/1001/merge", R"({"mergeTicketIds":[1002]})").status, 403);
}

// ---------------------------------------------------------------------------------
// Query parameters cwsim must not ignore

TEST_F(sim_member_test, fields_on_single_record_gets) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}, {"initialDescription", "n"}});
  struct row {
    std::string path;
    json expected;
  };
  const std::vector<row> rows = {
      {"/service/tickets/1001?fields=id,status/id,_info/lastUpdated",
       {{"id", 1001}, {"status", {{"id", 101}}}, {"_info", {{"lastUpdated", "2026-01-01T00:00:00Z"}}}}},
      {"/service/tickets/1001?fields=id,noSuchField", {{"id", 1001}}},
      {"/service/tickets/1001/notes/1?fields=id,text", {{"id", 1}, {"text", "n"}}},
      {"/service/boards/1?fields=name", {{"name", "Security Incidents"}}},
      {"/company/companies/250?fields=identifier", {{"identifier", "AcmeCorp"}}},
      {"/system/members/tech1?fields=id,securityRole/id", {{"id", 2}, {"securityRole", {{"id", 2}}}}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path);
    const sim_response res = api_call("GET", r.path);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(body_of(res), r.expected);
  }
}

TEST_F(sim_member_test, forward_only_paging) {
  for (int i = 0; i < 5; ++i) create({{"summary", "t" + std::to_string(i)}, {"company", {{"id", 250}}}});
  ASSERT_EQ(api_call("DELETE", "/service/tickets/1002").status, 204);  // ids 1001, 1003, 1004, 1005
  header_map h = good_headers();
  h["pagination-type"] = "forward-only";
  struct row {
    std::string query;
    int status;
    std::vector<std::int64_t> ids;
    std::string next;  // the Link rel="next" target ("" = no Link header)
  };
  const std::string base = "https://cw.test/v2025_1/apis/3.0/service/tickets?";
  const std::vector<row> rows = {
      {"pageSize=2", 200, {1001, 1003}, base + "pageSize=2&pageId=1003"},
      {"pageSize=2&pageId=1003", 200, {1004, 1005}, ""},
      {"pageId=1001&pageSize=2&page=7", 200, {1003, 1004}, base + "pageSize=2&page=7&pageId=1004"},
      {"pageId=1005", 200, {}, ""},
      {"pageId=0&pageSize=3&conditions=" + enc("id!=1004"), 200, {1001, 1003, 1005}, ""},
      {"pageSize=1&fields=id,summary", 200, {1001}, base + "pageSize=1&fields=id,summary&pageId=1001"},
      {"orderBy=" + enc("id desc"), 400, {}, ""},
      {"pageId=x", 400, {}, ""},
      {"pageId=-1", 400, {}, ""},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.query);
    const sim_response res = call("GET", std::string(api) + "/service/tickets?" + r.query, {}, h);
    ASSERT_EQ(res.status, r.status) << res.body;
    if (r.status != 200) {
      EXPECT_EQ(body_of(res)["code"], "InvalidObject");
      continue;
    }
    EXPECT_EQ(ids_of(res), r.ids);
    EXPECT_EQ(header(res, "Link"), r.next.empty() ? std::string() : "<" + r.next + ">; rel=\"next\"");
  }
  // Following the Link header visits every row once.
  std::vector<std::int64_t> seen;
  std::string target = std::string(api) + "/service/tickets?pageSize=1";
  for (int guard = 0; guard < 10 && !target.empty(); ++guard) {
    const sim_response res = call("GET", target, {}, h);
    ASSERT_EQ(res.status, 200);
    for (const auto id : ids_of(res)) seen.push_back(id);
    const std::string link = header(res, "Link");
    target = link.empty() ? std::string() : link.substr(link.find("/v2025_1"), link.find('>') - link.find("/v2025_1"));
  }
  EXPECT_EQ(seen, std::vector<std::int64_t>({1001, 1003, 1004, 1005}));
  // POST .../search follows the header too; a body orderBy is refused.
  EXPECT_EQ(ids_of(call("POST", std::string(api) + "/service/tickets/search?pageId=1003", "{}", h)),
            std::vector<std::int64_t>({1004, 1005}));
  EXPECT_EQ(call("POST", std::string(api) + "/service/tickets/search", R"({"orderBy":"id desc"})", h).status, 400);
  // pageId without the header, or another pagination-type, is refused rather than ignored.
  const sim_response no_header = api_call("GET", "/service/tickets?pageId=1001");
  EXPECT_EQ(no_header.status, 400);
  EXPECT_NE(body_of(no_header)["message"].get<std::string>().find("pagination-type: forward-only"), std::string::npos);
  h["pagination-type"] = "navigable";
  EXPECT_EQ(call("GET", std::string(api) + "/service/tickets", {}, h).status, 400);
}

TEST_F(sim_member_test, unsupported_list_parameters_are_refused) {
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  struct row {
    std::string method, path, body;
    const char* parameter;
  };
  const std::vector<row> rows = {
      {"GET", "/service/tickets?childConditions=" + enc("x=1"), "", "childConditions"},
      {"GET", "/service/tickets?customFieldConditions=" + enc("caption=\"Risk Score\" AND value != null"), "",
       "customFieldConditions"},
      {"GET", "/service/tickets/count?customfieldconditions=" + enc("caption=\"x\""), "", "customFieldConditions"},
      {"GET", "/company/companies?childconditions=" + enc("a=1"), "", "childConditions"},
      {"POST", "/service/tickets/search", R"({"childConditions":"x=1"})", "childConditions"},
      {"POST", "/service/tickets/search", R"({"customFieldConditions":"caption=\"x\""})", "customFieldConditions"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path + r.body);
    const sim_response res = api_call(r.method, r.path, r.body);
    ASSERT_EQ(res.status, 400) << res.body;
    const json b = body_of(res);
    EXPECT_EQ(b["code"], "InvalidObject");
    EXPECT_EQ(b["message"], std::string("cwsim does not support the ") + r.parameter + " parameter");
    EXPECT_EQ(b["errors"][0]["field"], r.parameter);
  }
  // Blank values are ignored like a blank conditions.
  EXPECT_EQ(api_call("GET", "/service/tickets?childConditions=").status, 200);
}

// ---------------------------------------------------------------------------------
// Callbacks

std::string independent_signature(const std::string& signing_key, const std::string& body) {
  unsigned char key[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(signing_key.data()), signing_key.size(), key);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return base64(std::string_view(reinterpret_cast<const char*>(mac), len));
}

class sim_callback_test : public sim_member_test {
 protected:
  json register_callback(const json& entry, bool as_tech1 = false) {
    const sim_response r = as_tech1 ? as_tech("POST", "/system/callbacks", entry.dump())
                                    : api_call("POST", "/system/callbacks", entry.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r);
  }
  static json entry(const char* level, std::int64_t object_id, const std::string& url = "https://hooks.test/cw") {
    return {{"url", url}, {"objectId", object_id}, {"type", "Ticket"}, {"level", level}, {"description", "t"}};
  }
  using fired = std::vector<std::tuple<std::int64_t, std::string, std::int64_t>>;  // callback id, Action, ID
  static fired fired_by(const sim_response& r) {
    fired out;
    for (const auto& d : r.deliveries) {
      const json b = json::parse(d.body);
      out.emplace_back(d.callback_id, b["Action"].get<std::string>(), b["ID"].get<std::int64_t>());
    }
    return out;
  }
};

TEST_F(sim_callback_test, crud) {
  const json created = register_callback({{"url", "https://hooks.test/cw?recordId="},
                                          {"objectId", 1},
                                          {"type", "ticket"},
                                          {"level", "owner"},
                                          {"description", "ticketsync"},
                                          {"payloadVersion", "2025.1"},
                                          {"id", 77},
                                          {"memberId", 9}});
  EXPECT_EQ(created["id"], 1);  // read-only members ignored
  EXPECT_EQ(created["memberId"], 1);
  EXPECT_EQ(created["url"], "https://hooks.test/cw?recordId=");
  EXPECT_EQ(created["type"], "ticket");
  EXPECT_EQ(created["level"], "owner");
  EXPECT_EQ(created["objectId"], 1);
  EXPECT_EQ(created["description"], "ticketsync");
  EXPECT_EQ(created["payloadVersion"], "2025.1");
  EXPECT_EQ(created["inactiveFlag"], false);
  EXPECT_EQ(created["isSoapCallbackFlag"], false);
  EXPECT_EQ(created["isSelfSuppressedFlag"], false);
  EXPECT_EQ(created["connectWiseID"].get<std::string>().size(), 36u);
  EXPECT_EQ(created["_info"]["updatedBy"], "TicketSyncAPI");
  EXPECT_FALSE(created.contains("signing_key"));
  const json by_tech = register_callback(entry("Board", 1), true);
  EXPECT_EQ(by_tech["memberId"], 2);
  register_callback(entry("Status", 104, "http://127.0.0.1:9/hook"));

  struct row {
    std::string query;
    std::vector<std::int64_t> ids;
  };
  for (const auto& r : std::vector<row>{{"", {1, 2, 3}},
                                        {"?conditions=" + enc("url contains \"recordId\""), {1}},
                                        {"?conditions=" + enc("type=\"TICKET\" and level=\"board\""), {2}},
                                        {"?conditions=" + enc("objectId=104"), {3}},
                                        {"?conditions=" + enc("description=\"t\""), {2, 3}},
                                        {"?conditions=" + enc("inactiveFlag=false and memberId=2"), {2}},
                                        {"?pageSize=2&page=2", {3}}}) {
    SCOPED_TRACE(r.query);
    const sim_response res = api_call("GET", "/system/callbacks" + r.query);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(ids_of(res), r.ids);
  }
  EXPECT_EQ(body_of(api_call("GET", "/system/callbacks/count")), (json{{"count", 3}}));
  EXPECT_EQ(body_of(api_call("GET", "/system/callbacks/2"))["level"], "Board");

  now_ += std::chrono::seconds(5);
  const sim_response put = as_tech("PUT", "/system/callbacks/2", entry("Board", 2).dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(body_of(put)["objectId"], 2);
  EXPECT_EQ(body_of(put)["memberId"], 2);
  EXPECT_EQ(body_of(put)["_info"]["lastUpdated"], "2026-01-01T00:00:05Z");
  const sim_response patched =
      api_call("PATCH", "/system/callbacks/2",
               R"([{"op":"replace","path":"/inactiveFlag","value":true},{"op":"remove","path":"description"}])");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(body_of(patched)["inactiveFlag"], true);
  EXPECT_EQ(body_of(patched)["description"], "");
  EXPECT_EQ(body_of(patched)["objectId"], 2);
  EXPECT_EQ(body_of(patched)["_info"]["updatedBy"], "TicketSyncAPI");

  const sim_response del = api_call("DELETE", "/system/callbacks/2");
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(api_call("GET", "/system/callbacks/2").status, 404);
  EXPECT_EQ(api_call("DELETE", "/system/callbacks/2").status, 404);
  EXPECT_EQ(api_call("PUT", "/system/callbacks/2", entry("Board", 2).dump()).status, 404);
  EXPECT_EQ(ids_of(api_call("GET", "/system/callbacks")), std::vector<std::int64_t>({1, 3}));
  set_faults({{"deny", {"callbacks"}}});
  EXPECT_EQ(api_call("GET", "/system/callbacks").status, 403);
}

TEST_F(sim_callback_test, validation_table_changes_nothing) {
  register_callback(entry("Owner", 1));
  register_callback(entry("Board", 1));
  const json before = body_of(api_call("GET", "/system/callbacks"));
  const auto without = [](const char* key) {
    json e = entry("Owner", 5);
    e.erase(key);
    return e.dump();
  };
  const auto with = [](const char* key, json value) {
    json e = entry("Owner", 5);
    e[key] = std::move(value);
    return e.dump();
  };
  struct row {
    const char* name;
    std::string method, path, body;
    const char* code;
    const char* field;
    const char* message_part;
  };
  const std::vector<row> rows = {
      {"missing url", "POST", "/system/callbacks", without("url"), "Required", "url", "url field is required"},
      {"missing objectId", "POST", "/system/callbacks", without("objectId"), "Required", "objectId", "objectId"},
      {"missing type", "POST", "/system/callbacks", without("type"), "Required", "type", "type field is required"},
      {"missing level", "POST", "/system/callbacks", without("level"), "Required", "level", "level field"},
      {"objectId not an integer", "POST", "/system/callbacks", with("objectId", "5"), "InvalidField", "objectId",
       "integer"},
      {"url not http(s)", "POST", "/system/callbacks", with("url", "ftp://x/y"), "InvalidField", "url", "http"},
      {"description too long", "POST", "/system/callbacks", with("description", std::string(101, 'd')), "MaxLength",
       "description", "100"},
      {"type not modelled", "POST", "/system/callbacks", with("type", "Company"), "InvalidField", "type",
       "not modelled"},
      {"level not modelled", "POST", "/system/callbacks", with("level", "Project"), "InvalidField", "level",
       "not modelled"},
      {"level unknown", "POST", "/system/callbacks", with("level", "Galaxy"), "InvalidField", "level", "one of"},
      {"flag not boolean", "POST", "/system/callbacks", with("inactiveFlag", "yes"), "InvalidField", "inactiveFlag",
       "true or false"},
      {"duplicate", "POST", "/system/callbacks", entry("owner", 1).dump(), "ObjectExists", "objectId",
       "A matching callback entry already exists"},
      {"PUT onto another entry", "PUT", "/system/callbacks/2", entry("OWNER", 1).dump(), "ObjectExists", "objectId",
       "already exists"},
      {"PATCH read-only", "PATCH", "/system/callbacks/2", R"([{"op":"replace","path":"memberId","value":2}])",
       "InvalidField", "memberId", "read-only"},
      {"PATCH unknown field", "PATCH", "/system/callbacks/2", R"([{"op":"replace","path":"colour","value":2}])",
       "InvalidField", "colour", "unknown"},
      {"PATCH removes a required field", "PATCH", "/system/callbacks/2", R"([{"op":"remove","path":"url"}])",
       "Required", "url", "required"},
      {"PATCH into a duplicate", "PATCH", "/system/callbacks/2", R"([{"op":"replace","path":"level","value":"Owner"}])",
       "ObjectExists", "objectId", "already exists"},
      {"PATCH not an array", "PATCH", "/system/callbacks/2", "{}", "InvalidObject", "", "array"},
      {"POST not JSON", "POST", "/system/callbacks", "{", "InvalidObject", "", "not valid JSON"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const sim_response res = api_call(r.method, r.path, r.body);
    ASSERT_EQ(res.status, 400) << res.body;
    const json b = body_of(res);
    EXPECT_EQ(b["code"], "InvalidObject");
    EXPECT_EQ(b["errors"][0]["code"], r.code);
    EXPECT_EQ(b["errors"][0]["field"], r.field);
    EXPECT_EQ(b["errors"][0]["resource"], "callbackEntry");
    EXPECT_NE(b["errors"][0]["message"].get<std::string>().find(r.message_part), std::string::npos) << b.dump();
  }
  EXPECT_EQ(
      body_of(api_call("POST", "/system/callbacks", entry("Owner", 1).dump())),
      json::parse(
          R"({"code":"InvalidObject","message":"callbackEntry object is invalid","errors":[{"code":"ObjectExists","message":"A matching callback entry already exists","resource":"callbackEntry","field":"objectId"}]})"));
  EXPECT_EQ(body_of(api_call("GET", "/system/callbacks")), before);
}

TEST_F(sim_callback_test, signing_keys_are_served_without_credentials) {
  register_callback(entry("Owner", 1));
  register_callback(entry("Board", 1));
  const sim_response one =
      call("GET", std::string(api) + "/system/callbackkeys/1", {}, header_map{{"Host", "cw.test"}});
  const sim_response two =
      call("GET", std::string(api) + "/system/callbackkeys/2", {}, header_map{{"Host", "cw.test"}});
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(two.status, 200);
  const std::string key = body_of(one)["signing_key"];
  EXPECT_GE(key.size(), 32u);
  EXPECT_NE(key, body_of(two)["signing_key"].get<std::string>());  // one key per entry
  EXPECT_EQ(call("GET", std::string(api) + "/system/callbackkeys/3", {}, header_map{}).status, 404);
  ASSERT_EQ(api_call("DELETE", "/system/callbacks/1").status, 204);
  EXPECT_EQ(call("GET", std::string(api) + "/system/callbackkeys/1", {}, header_map{}).status, 404);
}

TEST_F(sim_callback_test, which_entries_fire_for_each_ticket_change) {
  register_callback(entry("Owner", 1));      // 1: every ticket
  register_callback(entry("Board", 2));      // 2: board 2
  register_callback(entry("Status", 104));   // 3: status Resolved
  register_callback(entry("Ticket", 1002));  // 4: one ticket
  json inactive = entry("Owner", 7);
  inactive["inactiveFlag"] = true;
  register_callback(inactive);  // 5: never
  struct row {
    const char* name;
    std::function<sim_response()> act;
    fired expected;
  };
  const std::vector<row> rows = {
      {"create on board 1",
       [&] { return api_call("POST", "/service/tickets", R"({"summary":"a","company":{"id":250}})"); },
       {{1, "added", 1001}}},
      {"create the watched ticket",
       [&] { return api_call("POST", "/service/tickets", R"({"summary":"b","company":{"id":250}})"); },
       {{1, "added", 1002}, {4, "added", 1002}}},
      {"move to board 2 (the board after the change)",
       [&] {
         return patch(1001, json::array({{{"op", "replace"}, {"path", "board"}, {"value", {{"id", 2}}}}}));
       },
       {{1, "updated", 1001}, {2, "updated", 1001}}},
      {"close to status 104",
       [&] {
         return patch(1002, json::array({{{"op", "replace"}, {"path", "status"}, {"value", {{"id", 104}}}}}));
       },
       {{1, "updated", 1002}, {3, "updated", 1002}, {4, "updated", 1002}}},
      {"note",
       [&] {
         return add_note(1002, {{"text", "n"}, {"detailDescriptionFlag", true}});
       },
       {{1, "updated", 1002}, {3, "updated", 1002}, {4, "updated", 1002}}},
      {"merge: child, then parent",
       [&] { return api_call("POST", "/service/tickets/1001/merge", R"({"mergeTicketIds":[1002]})"); },
       {{1, "updated", 1002}, {3, "updated", 1002}, {4, "updated", 1002}, {1, "updated", 1001}, {2, "updated", 1001}}},
      {"delete",
       [&] { return api_call("DELETE", "/service/tickets/1001"); },
       {{1, "deleted", 1001}, {2, "deleted", 1001}}},
      {"rejected patch",
       [&] {
         return patch(1002, json::array({{{"op", "replace"}, {"path", "id"}, {"value", 1}}}));
       },
       {}},
      {"empty patch", [&] { return patch(1002, json::array()); }, {}},
      {"read", [&] { return api_call("GET", "/service/tickets/1002"); }, {}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(fired_by(r.act()), r.expected);
  }
  EXPECT_EQ(body_of(call("GET", "/__sim/callbacks/deliveries")).size(), 18u);  // 1+2+2+3+3+5+2
}

TEST_F(sim_callback_test, delivery_body_headers_and_signature) {
  register_callback(entry("Owner", 1, "https://hooks.test/cw?recordId="));
  register_callback(entry("Board", 1, "http://127.0.0.1:9/plain"));
  const sim_response r = as_tech("POST", "/service/tickets", R"({"summary":"a","company":{"id":250}})");
  ASSERT_EQ(r.status, 201);
  ASSERT_EQ(r.deliveries.size(), 2u);
  const cwsim::callback_delivery& d = r.deliveries[0];
  EXPECT_EQ(d.callback_id, 1);
  EXPECT_EQ(d.url, "https://hooks.test/cw?recordId=1001&action=added");  // the URL ended in '='
  EXPECT_EQ(r.deliveries[1].url, "http://127.0.0.1:9/plain");            // kept as registered
  EXPECT_EQ(d.delay, std::chrono::milliseconds(0));
  const json body = json::parse(d.body);
  EXPECT_EQ(body["FromUrl"], api_base_url);
  EXPECT_EQ(body["CompanyId"], "demo");
  EXPECT_EQ(body["MemberId"], "tech1");
  EXPECT_EQ(body["Action"], "added");
  EXPECT_EQ(body["Type"], "ticket");
  EXPECT_EQ(body["ID"], 1001);
  EXPECT_FALSE(body.contains("MessageId"));  // not documented: off by default
  ASSERT_TRUE(body["Entity"].is_string());
  EXPECT_EQ(json::parse(body["Entity"].get<std::string>()), body_of(api_call("GET", "/service/tickets/1001")));
  const std::string key_url = body["Metadata"]["key_url"];
  EXPECT_EQ(key_url, std::string(api_base_url) + "/system/callbackkeys/1");
  std::map<std::string, std::string, cwsim::ci_less> headers(d.headers.begin(), d.headers.end());
  EXPECT_EQ(headers["content-type"], "application/json");
  // The signature verifies with the key the key_url serves.
  const sim_response key = call("GET", key_url.substr(std::string("https://cw.test").size()), {}, header_map{});
  ASSERT_EQ(key.status, 200);
  const std::string signing_key = body_of(key)["signing_key"];
  EXPECT_EQ(headers["x-content-signature"], independent_signature(signing_key, d.body));
  EXPECT_EQ(cwsim::callback_signature(signing_key, d.body), headers["x-content-signature"]);
  EXPECT_NE(headers["x-content-signature"], independent_signature(signing_key, d.body + " "));

  const sim_response del = api_call("DELETE", "/service/tickets/1001");
  ASSERT_EQ(del.deliveries.size(), 2u);
  const json gone = json::parse(del.deliveries[0].body);
  EXPECT_EQ(gone["Action"], "deleted");
  EXPECT_TRUE(gone["Entity"].is_null());
  EXPECT_EQ(gone["MemberId"], "TicketSyncAPI");
  EXPECT_EQ(del.deliveries[0].url, "https://hooks.test/cw?recordId=1001&action=deleted");
}

TEST_F(sim_callback_test, callback_knobs) {
  json suppressed = entry("Owner", 1);
  suppressed["isSelfSuppressedFlag"] = true;
  register_callback(suppressed);  // registered by the integration member
  const auto create_as = [&](bool tech) {
    const std::string body = R"({"summary":"a","company":{"id":250}})";
    return tech ? as_tech("POST", "/service/tickets", body) : api_call("POST", "/service/tickets", body);
  };
  struct row {
    const char* name;
    json knobs;
    bool by_tech;
    std::size_t sent;
    bool dropped;
  };
  const std::vector<row> rows = {
      {"self-suppression not honoured by default", json::object(), false, 1, false},
      {"honoured: own change not delivered", {{"honour_self_suppression", true}}, false, 0, false},
      {"honoured: another member's change is", {{"honour_self_suppression", true}}, true, 1, false},
      {"dropped", {{"p_callback_drop", 1.0}}, false, 0, true},
      {"delayed", {{"callback_delay_ms", 250}}, false, 1, false},
      {"message id", {{"callback_message_id", true}}, false, 1, false},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    set_faults({{"preset", "none"}});
    set_faults(r.knobs);
    ASSERT_EQ(call("DELETE", "/__sim/callbacks/deliveries").status, 200);
    const sim_response res = create_as(r.by_tech);
    ASSERT_EQ(res.status, 201);
    EXPECT_EQ(res.deliveries.size(), r.sent);
    const json log = body_of(call("GET", "/__sim/callbacks/deliveries"));
    EXPECT_EQ(log.size(), r.sent + (r.dropped ? 1 : 0));
    if (r.dropped) {
      ASSERT_EQ(log.size(), 1u);
      EXPECT_EQ(log[0]["dropped"], true);
      EXPECT_EQ(log[0]["state"], "dropped");
    }
    if (res.deliveries.empty()) continue;
    EXPECT_EQ(res.deliveries[0].delay, std::chrono::milliseconds(r.knobs.value("callback_delay_ms", 0)));
    const json body = json::parse(res.deliveries[0].body);
    EXPECT_EQ(body.contains("MessageId"), r.knobs.value("callback_message_id", false));
    if (body.contains("MessageId")) {
      EXPECT_EQ(body["MessageId"].get<std::string>().size(), 36u);
    }
  }
  for (const char* bad : {R"({"p_callback_drop":2})", R"({"callback_delay_ms":-1})", R"({"callback_delay_ms":700000})",
                          R"({"callback_message_id":1})", R"({"honour_self_suppression":"yes"})"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(call("POST", "/__sim/faults", bad).status, 400);
  }
  const json knobs = body_of(call("GET", "/__sim/faults"));
  EXPECT_EQ(knobs["callback_message_id"], true);
  EXPECT_EQ(knobs["p_callback_drop"], 0.0);
  EXPECT_EQ(knobs["honour_self_suppression"], false);
}

TEST_F(sim_callback_test, delivery_log_records_the_attempts) {
  register_callback(entry("Owner", 1, "http://127.0.0.1:9/a"));
  register_callback(entry("Ticket", 1001, "http://127.0.0.1:9/b"));
  const sim_response r = api_call("POST", "/service/tickets", R"({"summary":"a","company":{"id":250}})");
  ASSERT_EQ(r.deliveries.size(), 2u);
  sim_.record_delivery_attempt(r.deliveries[0].id, 409, "", false);
  sim_.record_delivery_attempt(r.deliveries[0].id, 204, "", true);
  sim_.record_delivery_attempt(r.deliveries[1].id, 0, "connect: Connection refused", true);
  sim_.record_delivery_attempt(999, 200, "", true);  // unknown: ignored
  const json log = body_of(call("GET", "/__sim/callbacks/deliveries"));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["callback_id"], 1);
  EXPECT_EQ(log[0]["url"], "http://127.0.0.1:9/a");
  EXPECT_EQ(log[0]["action"], "added");
  EXPECT_EQ(log[0]["ticket_id"], 1001);
  EXPECT_EQ(log[0]["attempts"], 2);
  EXPECT_EQ(log[0]["status"], 204);
  EXPECT_EQ(log[0]["state"], "delivered");
  EXPECT_EQ(log[0]["dropped"], false);
  EXPECT_EQ(log[1]["attempts"], 1);
  EXPECT_TRUE(log[1]["status"].is_null());
  EXPECT_EQ(log[1]["error"], "connect: Connection refused");
  EXPECT_EQ(log[1]["state"], "failed");
  const sim_response cleared = call("DELETE", "/__sim/callbacks/deliveries");
  EXPECT_EQ(body_of(cleared)["cleared"], 2);
  EXPECT_TRUE(body_of(call("GET", "/__sim/callbacks/deliveries")).empty());
  EXPECT_EQ(call("POST", "/__sim/callbacks/deliveries").status, 405);
  // /__sim/reset drops the entries too.
  ASSERT_EQ(call("POST", "/__sim/reset").status, 200);
  EXPECT_TRUE(body_of(api_call("GET", "/system/callbacks")).empty());
}

// ---------------------------------------------------------------------------------
// Security roles

TEST_F(sim_member_test, security_roles_and_settings) {
  struct row {
    std::string path;
    int status;
    std::vector<std::int64_t> ids;
  };
  const std::vector<row> rows = {
      {"/system/securityRoles", 200, {1, 2}},
      {"/system/securityRoles?conditions=" + enc("name=\"technician\""), 200, {2}},
      {"/system/securityRoles/1/settings", 200, {1, 2, 3, 4, 5, 6}},
      {"/system/securityRoles/1/settings?pageSize=4&page=2", 200, {5, 6}},
      {"/system/securityRoles/1/settings?conditions=" + enc("moduleFunctionName=\"Close Service Tickets\""), 200, {3}},
      {"/system/securityRoles/2/settings?conditions=" + enc("deleteLevel=\"None\" and moduleIdentifier=\"Service\""),
       200,
       {8, 9}},
      {"/system/securityRoles/9/settings", 404, {}},
      {"/system/securityRoles/9", 404, {}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.path);
    const sim_response res = api_call("GET", r.path);
    ASSERT_EQ(res.status, r.status) << res.body;
    if (r.status == 200) {
      EXPECT_EQ(ids_of(res), r.ids);
    }
  }
  EXPECT_EQ(body_of(api_call("GET", "/system/securityRoles/1"))["name"], "TicketSync Integration");
  EXPECT_EQ(body_of(api_call("GET", "/system/securityRoles/count")), (json{{"count", 2}}));
  EXPECT_EQ(body_of(api_call("GET", "/system/securityRoles/1/settings/count")), (json{{"count", 6}}));
  const json close = body_of(api_call("GET", "/system/securityRoles/1/settings/3"));
  EXPECT_EQ(close["moduleFunctionName"], "Close Service Tickets");
  EXPECT_EQ(close["moduleIdentifier"], "Service");
  EXPECT_EQ(close["editLevel"], "All");
  EXPECT_EQ(close["inquireLevel"], "All");
  EXPECT_EQ(close["deleteLevel"], "None");
  EXPECT_EQ(api_call("GET", "/system/securityRoles/2/settings/3").status, 404);  // another role's setting
}

TEST_F(sim_member_test, the_deny_knob_and_the_role_settings_agree) {
  const auto level = [&](std::int64_t role, const char* function, const char* field) {
    const sim_response r = api_call("GET", "/system/securityRoles/" + std::to_string(role) + "/settings?conditions=" +
                                               enc(std::string("moduleFunctionName=\"") + function + "\""));
    EXPECT_EQ(r.status, 200) << r.body;
    const json b = body_of(r);
    return b.empty() ? std::string("(missing)") : b[0][field].get<std::string>();
  };
  struct row {
    const char* area;
    const char* function;
    const char* field;
  };
  for (const auto& r :
       {row{"tickets.close", "Close Service Tickets", "editLevel"}, row{"tickets.add", "Service Tickets", "addLevel"},
        row{"tickets.edit", "Service Tickets", "editLevel"}, row{"tickets.read", "Service Tickets", "inquireLevel"},
        row{"tickets.delete", "Service Tickets", "deleteLevel"},
        row{"companies", "Company Maintenance", "inquireLevel"}, row{"table_setup", "Table Setup", "inquireLevel"},
        row{"members", "Member Maintenance", "inquireLevel"}}) {
    SCOPED_TRACE(r.area);
    set_faults({{"deny", json::array()}});
    EXPECT_EQ(level(1, r.function, r.field), "All");
    set_faults({{"deny", {r.area}}});
    EXPECT_EQ(level(1, r.function, r.field), "None");  // the knob shows in every role's settings
  }
  set_faults({{"deny", {"tickets.close"}}});
  EXPECT_EQ(level(1, "Close Service Tickets", "inquireLevel"), "All");  // only the mapped level
  EXPECT_EQ(level(1, "Service Tickets", "editLevel"), "All");
  set_faults({{"deny", {"security_roles"}}});
  EXPECT_EQ(api_call("GET", "/system/securityRoles/1/settings").status, 403);
  EXPECT_EQ(api_call("GET", "/system/securityRoles").status, 403);
  EXPECT_EQ(api_call("GET", "/system/members").status, 200);
  set_faults({{"deny", json::array()}});

  // The other way round: what a member's role does not grant is denied to that member.
  struct grant_row {
    const char* name;
    std::string method, path, body;
    int integration, tech;
  };
  create({{"summary", "a"}, {"company", {{"id", 250}}}});
  const std::vector<grant_row> grants = {
      {"members need Member Maintenance", "GET", "/system/members", "", 200, 403},
      {"roles need Security Roles", "GET", "/system/securityRoles/2", "", 200, 403},
      {"delete needs Service Tickets delete", "DELETE", "/service/tickets/4242", "", 404, 403},
      {"reading tickets", "GET", "/service/tickets/1001", "", 200, 200},
      {"closing", "PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"status","value":{"id":104}}])", 200,
       200},
      {"system/info follows the knob alone", "GET", "/system/info", "", 200, 200},
  };
  for (const auto& g : grants) {
    SCOPED_TRACE(g.name);
    EXPECT_EQ(as_tech(g.method, g.path, g.body).status, g.tech);
    EXPECT_EQ(api_call(g.method, g.path, g.body).status, g.integration);
  }
}

TEST(cwsim_seed, a_role_without_a_right_denies_it_and_shows_it) {
  json s = seed();
  s["security_roles"][0]["settings"][2]["editLevel"] = "none";  // Close Service Tickets, normalised
  s["security_roles"][0]["settings"].erase(5);                  // no Security Roles setting at all
  cwsim::simulator sim(s);
  const auto run = [&](const std::string& method, const std::string& path, const std::string& body) {
    return sim.handle(sim_request{method, std::string(api) + path, good_headers(), body});
  };
  ASSERT_EQ(run("POST", "/service/tickets", R"({"summary":"a","company":{"id":250}})").status, 201);
  EXPECT_EQ(run("PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"status","value":{"id":104}}])").status,
            403);
  EXPECT_EQ(run("PATCH", "/service/tickets/4242", R"([{"op":"replace","path":"status","value":{"id":104}}])").status,
            403);  // the early probe of README "Permissions" follows the role too
  EXPECT_EQ(run("PATCH", "/service/tickets/1001", R"([{"op":"replace","path":"summary","value":"b"}])").status, 200);
  EXPECT_EQ(run("GET", "/system/securityRoles/1/settings", "").status, 403);
  EXPECT_EQ(run("GET", "/system/members/TicketSyncAPI", "").status, 200);
}

// ---------------------------------------------------------------------------------
// Helpers

TEST(cwsim_util, encodings_dates_and_urls) {
  for (const std::string& text : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                                  std::string("foob"), std::string("\xFF\x00\x80", 3)}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(cwsim::base64_encode(text), base64(text));
    EXPECT_EQ(cwsim::base64_decode(cwsim::base64_encode(text)), text);
  }
  EXPECT_EQ(cwsim::format_http_date(pinned_now), "Thu, 01 Jan 2026 00:00:00 GMT");
  EXPECT_EQ(cwsim::format_http_date(pinned_now + std::chrono::hours(24 * 59) + std::chrono::seconds(61)),
            "Sun, 01 Mar 2026 00:01:01 GMT");

  struct row {
    const char* url;
    bool ok;
    bool tls;
    const char* host;
    int port;
    const char* target;
  };
  for (const auto& r :
       {row{"https://hooks.test/cw?recordId=", true, true, "hooks.test", 443, "/cw?recordId="},
        row{"http://127.0.0.1:8080", true, false, "127.0.0.1", 8080, "/"},
        row{"HTTP://[::1]:9/x#frag", true, false, "::1", 9, "/x"}, row{"https://h?q=1", true, true, "h", 443, "/?q=1"},
        row{"ftp://h/x", false, false, "", 0, ""}, row{"https://", false, false, "", 0, ""},
        row{"https://h:0/", false, false, "", 0, ""}, row{"https://h:99999/", false, false, "", 0, ""},
        row{"https://user@h/", false, false, "", 0, ""}, row{"https://[::1/", false, false, "", 0, ""}}) {
    SCOPED_TRACE(r.url);
    const auto u = cwsim::parse_http_url(r.url);
    ASSERT_EQ(u.has_value(), r.ok);
    if (!u) continue;
    EXPECT_EQ(u->tls, r.tls);
    EXPECT_EQ(u->host, r.host);
    EXPECT_EQ(u->port, r.port);
    EXPECT_EQ(u->target, r.target);
  }
}

TEST(cwsim_util, text_helpers) {
  EXPECT_EQ(cwsim::utf16_length("abc"), 3u);
  EXPECT_EQ(cwsim::utf16_length("\xC3\xA9"), 1u);          // é
  EXPECT_EQ(cwsim::utf16_length("\xE2\x82\xAC"), 1u);      // €
  EXPECT_EQ(cwsim::utf16_length("\xF0\x9F\x9A\xA8"), 2u);  // 🚨
  EXPECT_EQ(cwsim::base64_decode("ZGVtbytrOnA="), "demo+k:p");
  EXPECT_EQ(cwsim::base64_decode("ZGVtbytrOnA"), "demo+k:p");
  EXPECT_FALSE(cwsim::base64_decode("ZG*t"));
  EXPECT_EQ(cwsim::percent_decode("a+b%20c%3d%zz", true), "a b c=%zz");
  EXPECT_EQ(cwsim::percent_decode("a+b", false), "a+b");
  EXPECT_TRUE(cwsim::like_match("Phishing mail", "phish%"));
  EXPECT_TRUE(cwsim::like_match("abc", "a_c"));
  EXPECT_TRUE(cwsim::like_match("abc", "*"));
  EXPECT_FALSE(cwsim::like_match("abc", "a_"));
  EXPECT_EQ(cwsim::parse_datetime("1970-01-02T00:00:00Z"), 86400);
  EXPECT_EQ(cwsim::parse_datetime("2026-01-01T00:00:00Z"), 1767225600);
  EXPECT_EQ(cwsim::parse_datetime("2026-01-01"), 1767225600);
  EXPECT_EQ(cwsim::parse_datetime("2026-01-01T02:00:00.123+02:00"), 1767225600);
  EXPECT_FALSE(cwsim::parse_datetime("2026-13-01"));
  EXPECT_FALSE(cwsim::parse_datetime("yesterday"));
  EXPECT_EQ(cwsim::format_datetime(pinned_now), "2026-01-01T00:00:00Z");
}

TEST(cwsim_cli, parses_options) {
  const cwsim::options o =
      cwsim::parse_cli({"--seed", "s.json", "--listen", "[::1]:8443", "--port-file=p", "--tls-dir", "d", "--p429",
                        "0.5", "--preset", "chaos", "--fault-seed", "9", "--verbose"});
  EXPECT_EQ(o.seed_file, "s.json");
  EXPECT_EQ(o.listen_host, "::1");
  EXPECT_EQ(o.listen_port, 8443);
  EXPECT_EQ(o.port_file, "p");
  EXPECT_EQ(o.tls_dir, "d");
  EXPECT_EQ(o.faults.p429, 0.5);  // explicit knob beats the preset, whatever the order
  EXPECT_EQ(o.faults.p500, cwsim::fault_preset("chaos")->p500);
  EXPECT_EQ(o.fault_seed, 9u);
  EXPECT_TRUE(o.verbose);

  const cwsim::options defaults = cwsim::parse_cli({"--seed", "s", "--cert", "c.pem", "--key", "k.pem"});
  EXPECT_EQ(defaults.listen_host, "127.0.0.1");
  EXPECT_EQ(defaults.listen_port, 0);
  EXPECT_EQ(defaults.faults, cwsim::fault_knobs{});
  EXPECT_TRUE(cwsim::parse_cli({"--help"}).help);

  const cwsim::options callbacks =
      cwsim::parse_cli({"--seed", "s", "--tls-dir", "d", "--p-callback-drop", "0.25", "--callback-delay-ms=40",
                        "--callback-message-id", "--honour-self-suppression", "--callback-ca", "ca.pem"});
  EXPECT_EQ(callbacks.faults.p_callback_drop, 0.25);
  EXPECT_EQ(callbacks.faults.callback_delay_ms, 40);
  EXPECT_TRUE(callbacks.faults.callback_message_id);
  EXPECT_TRUE(callbacks.faults.honour_self_suppression);
  EXPECT_EQ(callbacks.callback_ca, "ca.pem");
  EXPECT_FALSE(defaults.faults.callback_message_id);
  EXPECT_TRUE(defaults.callback_ca.empty());

  const std::vector<std::vector<std::string>> bad = {
      {"--tls-dir", "d"},
      {"--seed", "s"},
      {"--seed", "s", "--cert", "c"},
      {"--seed", "s", "--tls-dir", "d", "--p429", "2"},
      {"--seed", "s", "--tls-dir", "d", "--p500", "x"},
      {"--seed", "s", "--tls-dir", "d", "--listen", "127.0.0.1"},
      {"--seed", "s", "--tls-dir", "d", "--listen", "127.0.0.1:70000"},
      {"--seed", "s", "--tls-dir", "d", "--preset", "wild"},
      {"--seed", "s", "--tls-dir", "d", "--bogus"},
      {"--seed", "s", "--tls-dir", "d", "--p-callback-drop", "1.5"},
      {"--seed", "s", "--tls-dir", "d", "--callback-delay-ms", "-1"},
      {"--seed", "s", "--tls-dir", "d", "--callback-message-id=yes"},
      {"--seed"},
  };
  for (const auto& args : bad) {
    SCOPED_TRACE(args.back());
    EXPECT_THROW(cwsim::parse_cli(args), cwsim::usage_error);
  }
}

TEST(cwsim_tls, generated_certificate_verifies_for_localhost_and_loopback) {
  const cwsim::tls_material m = cwsim::generate_tls_material();
  const auto load = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return std::unique_ptr<X509, decltype(&X509_free)>(cert, X509_free);
  };
  const auto ca = load(m.ca_cert_pem);
  const auto leaf = load(m.server_cert_pem);
  ASSERT_TRUE(ca && leaf);
  EXPECT_NE(m.server_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);

  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  ASSERT_EQ(X509_STORE_add_cert(store.get(), ca.get()), 1);
  for (const char* host : {"localhost", "127.0.0.1", "::1"}) {
    SCOPED_TRACE(host);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
    ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr), 1);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    if (std::string_view(host) == "localhost")
      X509_VERIFY_PARAM_set1_host(param, host, 0);
    else
      X509_VERIFY_PARAM_set1_ip_asc(param, host);
    EXPECT_EQ(X509_verify_cert(ctx.get()), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  }
  EXPECT_NE(X509_check_host(leaf.get(), "example.com", 0, 0, nullptr), 1);
}

}  // namespace
