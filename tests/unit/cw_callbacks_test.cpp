// Unit tests for psa/cw_callbacks: the entry ticketsync registers and its JSON,
// the parser of ConnectWise's entry list (hostile input), and the plan that
// turns what is registered into what should be — registering twice is a
// no-op, a stale URL is replaced, others' entries are never touched.
#include "psa/cw_callbacks.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using ts::psa::board_callback;
using ts::psa::board_callback_state;
using ts::psa::callback_entry;
using ts::psa::removal_reason;

const std::string url = "https://ts.example.com/v1/connectwise/callback";
const std::string old_url = "https://old.example.com/v1/connectwise/callback";

callback_entry ours(std::int64_t id, std::int64_t board, const std::string& u = url, bool inactive = false) {
  callback_entry e = board_callback(board, u);
  e.id = id;
  e.inactive = inactive;
  return e;
}

callback_entry others(std::int64_t id, std::int64_t board, const std::string& u = url) {
  callback_entry e;
  e.id = id;
  e.url = u;
  e.object_id = board;
  e.type = "Ticket";
  e.level = "Board";
  e.description = "Produce8 activity feed";
  return e;
}

std::vector<std::int64_t> ids(const std::vector<callback_entry>& v) {
  std::vector<std::int64_t> out;
  for (const auto& e : v) out.push_back(e.id);
  return out;
}

std::vector<std::int64_t> boards_of(const std::vector<callback_entry>& v) {
  std::vector<std::int64_t> out;
  for (const auto& e : v) out.push_back(e.object_id);
  return out;
}

TEST(CwCallbacks, BoardCallbackAndItsJson) {
  const callback_entry e = board_callback(42, url);
  EXPECT_TRUE(e.ours());
  EXPECT_TRUE(e.board_level());
  EXPECT_LE(ts::psa::callback_description.size(), 100u);
  const json j = json::parse(ts::psa::encode_callback_entry(e));
  const json want = {{"url", url},
                     {"objectId", 42},
                     {"type", "ticket"},
                     {"level", "board"},
                     {"description", std::string(ts::psa::callback_description)},
                     {"inactiveFlag", false},
                     {"isSelfSuppressedFlag", true}};
  EXPECT_EQ(j, want);  // no id, memberId or payloadVersion
  callback_entry v = e;
  v.payload_version = "2";
  v.id = 9;
  v.member_id = 3;
  const json jv = json::parse(ts::psa::encode_callback_entry(v));
  EXPECT_EQ(jv.value("payloadVersion", ""), "2");
  EXPECT_FALSE(jv.contains("id"));
  EXPECT_FALSE(jv.contains("memberId"));
}

TEST(CwCallbacks, Ownership) {
  struct case_ {
    std::string description;
    bool ours;
  };
  const std::vector<case_> cases = {
      {std::string(ts::psa::callback_description), true},
      {"ticketsync: anything after the prefix", true},
      {"ticketsync", false},  // the prefix includes the colon
      {"Ticketsync: other case", false},
      {" ticketsync: leading blank", false},
      {"", false},
      {"daemon", false},
  };
  for (const auto& c : cases) {
    callback_entry e;
    e.description = c.description;
    EXPECT_EQ(e.ours(), c.ours) << c.description;
  }
}

TEST(CwCallbacks, ParsesAList) {
  const std::string body = R"([
    {"id": 3, "url": "https://a/cb?recordId=", "objectId": 1, "type": "Ticket", "level": "Board",
     "description": "ticketsync: x", "inactiveFlag": true, "isSelfSuppressedFlag": true, "memberId": 176,
     "payloadVersion": "2", "connectWiseID": "c3a1", "_info": {"lastUpdated": "2026-01-01T00:00:00Z"},
     "somethingNew": [1, 2, 3]},
    {"id": 4, "url": "https://b/", "objectId": 1, "type": "ticket", "level": "owner", "description": null,
     "inactiveFlag": null}
  ])";
  auto r = ts::psa::parse_callback_entries(body);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 2u);
  const auto& a = (*r)[0];
  EXPECT_EQ(a.id, 3);
  EXPECT_EQ(a.url, "https://a/cb?recordId=");
  EXPECT_EQ(a.object_id, 1);
  EXPECT_TRUE(a.inactive);
  EXPECT_TRUE(a.self_suppressed);
  EXPECT_EQ(a.member_id, 176);
  EXPECT_EQ(a.payload_version, "2");
  EXPECT_TRUE(a.ours());
  EXPECT_TRUE(a.board_level());
  const auto& b = (*r)[1];
  EXPECT_EQ(b.description, "");
  EXPECT_FALSE(b.inactive);
  EXPECT_FALSE(b.board_level());
  EXPECT_FALSE(b.ours());

  auto empty = ts::psa::parse_callback_entries("[]");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto one =
      ts::psa::parse_callback_entry(R"({"id":7,"url":"https://x/","objectId":2,"type":"ticket","level":"board"})");
  ASSERT_TRUE(one) << one.error();
  EXPECT_EQ(one->id, 7);
}

TEST(CwCallbacks, RejectsHostileLists) {
  const std::string entry = R"({"id":1,"url":"https://x/","objectId":2,"type":"ticket","level":"board"})";
  std::string too_many = "[";
  for (std::size_t i = 0; i <= ts::psa::max_callback_entries; ++i) too_many += (i ? "," : "") + entry;
  too_many += "]";
  const std::string deep = "[" + std::string(40, '[') + std::string(40, ']') + "]";
  const std::string huge = "[\"" + std::string(ts::psa::max_callback_list_bytes, 'x') + "\"]";
  struct case_ {
    std::string body;
    std::string error_has;
  };
  const std::vector<case_> cases = {
      {"", "not valid JSON"},
      {"{\"id\":1}", "must be a JSON array (got object)"},
      {"null", "must be a JSON array (got null)"},
      {"[1]", "entry 0: must be an object (got number)"},
      {"[" + entry + ",\"x\"]", "entry 1: must be an object (got string)"},
      {R"([{"url":"https://x/","objectId":2,"type":"ticket","level":"board"}])", "entry 0: field 'id' is missing"},
      {R"([{"id":0,"url":"https://x/","objectId":2,"type":"ticket","level":"board"}])",
       "field 'id' must be a positive integer (got 0)"},
      {R"([{"id":-5,"url":"https://x/","objectId":2,"type":"ticket","level":"board"}])",
       "field 'id' must be a positive integer (got -5)"},
      {R"([{"id":1.5,"url":"https://x/","objectId":2,"type":"ticket","level":"board"}])",
       "field 'id' must be a positive integer (got 1.5)"},
      {R"([{"id":18446744073709551615,"url":"https://x/","objectId":2,"type":"ticket","level":"board"}])",
       "field 'id' must be a positive integer"},
      {R"([{"id":"1","url":"https://x/","objectId":2,"type":"ticket","level":"board"}])",
       "field 'id' must be a positive integer (got string)"},
      {R"([{"id":1,"objectId":2,"type":"ticket","level":"board"}])", "field 'url' is missing"},
      {R"([{"id":1,"url":7,"objectId":2,"type":"ticket","level":"board"}])", "field 'url' must be a string (got 7)"},
      {R"([{"id":1,"url":"https://x/","type":"ticket","level":"board"}])", "field 'objectId' is missing"},
      {R"([{"id":1,"url":"https://x/","objectId":"2","type":"ticket","level":"board"}])",
       "field 'objectId' must be an integer (got string)"},
      {R"([{"id":1,"url":"https://x/","objectId":2,"level":"board"}])", "field 'type' is missing"},
      {R"([{"id":1,"url":"https://x/","objectId":2,"type":"ticket"}])", "field 'level' is missing"},
      {R"([{"id":1,"url":"https://x/","objectId":2,"type":"ticket","level":"board","description":5}])",
       "field 'description' must be a string"},
      {R"([{"id":1,"url":"https://x/","objectId":2,"type":"ticket","level":"board","inactiveFlag":"true"}])",
       "field 'inactiveFlag' must be true or false (got string)"},
      {R"([{"id":1,"url":"https://x/","objectId":2,"type":"ticket","level":"board","isSelfSuppressedFlag":1}])",
       "field 'isSelfSuppressedFlag' must be true or false (got 1)"},
      {R"([{"id":1,"url":"https://x/","objectId":2,"type":"ticket","level":"board","memberId":"me"}])",
       "field 'memberId' must be an integer (got string)"},
      {too_many, "1001 entries in one answer, more than the 1000"},
      {deep, "nests deeper than 16 levels"},
      {huge, "more than the 4194304 accepted"},
  };
  for (const auto& c : cases) {
    auto r = ts::psa::parse_callback_entries(c.body);
    ASSERT_FALSE(r) << c.body.substr(0, 200);
    EXPECT_NE(r.error().find(c.error_has), std::string::npos) << r.error() << "\n  wanted: " << c.error_has;
    EXPECT_EQ(r.error().rfind("callback list", 0), 0u) << r.error();
  }
  auto bad_one = ts::psa::parse_callback_entry("[]");
  ASSERT_FALSE(bad_one);
  EXPECT_EQ(bad_one.error(), "callback entry: must be an object (got array)");
}

TEST(CwCallbacks, PlanRegistration) {
  struct case_ {
    const char* name;
    std::vector<callback_entry> existing;
    std::vector<std::int64_t> boards;
    std::vector<std::int64_t> add_boards;
    std::vector<std::pair<std::int64_t, removal_reason>> removed;  // id, why
    std::vector<std::int64_t> kept;
    std::vector<std::int64_t> covered;
    std::size_t others;
  };
  callback_entry owner_level = ours(20, 1);
  owner_level.level = "owner";
  callback_entry capitalised = ours(21, 1);
  capitalised.type = "Ticket";
  capitalised.level = "Board";
  const std::vector<case_> cases = {
      {"nothing registered", {}, {2, 1}, {1, 2}, {}, {}, {}, 0},
      {"registered already: no change", {ours(5, 1), ours(6, 2)}, {1, 2}, {}, {}, {5, 6}, {}, 0},
      {"CW spells type and level capitalised", {capitalised}, {1}, {}, {}, {21}, {}, 0},
      {"stale URL: replaced", {ours(5, 1, old_url)}, {1}, {1}, {{5, removal_reason::stale_url}}, {}, {}, 0},
      {"board no longer wanted",
       {ours(5, 1), ours(6, 3)},
       {1},
       {},
       {{6, removal_reason::board_not_wanted}},
       {5},
       {},
       0},
      {"no boards: all of ours go", {ours(5, 1)}, {}, {}, {{5, removal_reason::board_not_wanted}}, {}, {}, 0},
      {"disabled by ConnectWise: registered again",
       {ours(5, 1, url, true)},
       {1},
       {1},
       {{5, removal_reason::inactive}},
       {},
       {},
       0},
      {"duplicates of ours: the lowest id stays",
       {ours(9, 1), ours(4, 1)},
       {1},
       {},
       {{9, removal_reason::duplicate}},
       {4},
       {},
       0},
      {"inactive and active at the URL: the active stays",
       {ours(3, 1, url, true), ours(8, 1)},
       {1},
       {},
       {{3, removal_reason::inactive}},
       {8},
       {},
       0},
      {"ours at another level", {owner_level}, {1}, {1}, {{20, removal_reason::not_board_level}}, {}, {}, 0},
      {"others are never touched", {others(1, 1, old_url), others(2, 7), ours(5, 1)}, {1}, {}, {}, {5}, {}, 2},
      {"another's entry is exactly ours: nothing added", {others(2, 1)}, {1, 2}, {2}, {}, {}, {2}, 1},
      {"duplicate and non-positive board ids ignored", {}, {3, 3, 0, -1}, {3}, {}, {}, {}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto plan = ts::psa::plan_registration(c.existing, c.boards, url);
    EXPECT_EQ(boards_of(plan.to_add), c.add_boards);
    for (const auto& a : plan.to_add) {
      EXPECT_EQ(a, board_callback(a.object_id, url));
      EXPECT_EQ(a.id, 0);
    }
    std::vector<std::pair<std::int64_t, removal_reason>> removed;
    for (const auto& r : plan.to_remove) {
      removed.emplace_back(r.entry.id, r.why);
      EXPECT_TRUE(r.entry.ours()) << "removes an entry that is not ticketsync's: " << r.entry.id;
    }
    EXPECT_EQ(removed, c.removed);
    EXPECT_EQ(ids(plan.kept), c.kept);
    EXPECT_EQ(ids(plan.covered_by_others), c.covered);
    EXPECT_EQ(plan.others, c.others);
    EXPECT_EQ(plan.changes(), !c.add_boards.empty() || !c.removed.empty());

    // Applied, the plan leaves nothing to do: registering twice is a no-op.
    std::vector<callback_entry> after;
    for (const auto& e : c.existing) {
      const bool gone =
          std::any_of(plan.to_remove.begin(), plan.to_remove.end(), [&](const auto& r) { return r.entry.id == e.id; });
      if (!gone) after.push_back(e);
    }
    std::int64_t next_id = 1000;
    for (auto a : plan.to_add) {
      a.id = next_id++;
      after.push_back(a);
    }
    const auto again = ts::psa::plan_registration(after, c.boards, url);
    EXPECT_FALSE(again.changes()) << again.to_add.size() << " to add, " << again.to_remove.size() << " to remove";
    EXPECT_EQ(again.others, c.others);
  }
}

TEST(CwCallbacks, BoardStatusForDoctor) {
  struct case_ {
    const char* name;
    std::vector<callback_entry> existing;
    board_callback_state want;
    std::int64_t entry_id;
  };
  const std::vector<case_> cases = {
      {"none", {}, board_callback_state::missing, 0},
      {"another board only", {ours(5, 2)}, board_callback_state::missing, 0},
      {"ours, active", {ours(5, 1)}, board_callback_state::active, 5},
      {"another's at the URL counts", {others(6, 1)}, board_callback_state::active, 6},
      {"another's at another URL does not", {others(6, 1, old_url)}, board_callback_state::missing, 0},
      {"ours, inactive", {ours(5, 1, url, true)}, board_callback_state::inactive, 5},
      {"an active one wins over an inactive one", {ours(5, 1, url, true), ours(7, 1)}, board_callback_state::active, 7},
      {"ours at an old URL", {ours(5, 1, old_url)}, board_callback_state::stale, 5},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto st = ts::psa::board_callback_status_of(c.existing, 1, url);
    EXPECT_EQ(st.state, c.want);
    EXPECT_EQ(st.entry.id, c.entry_id);
  }
}

TEST(CwCallbacks, RemovalReasonsHaveText) {
  for (auto r : {removal_reason::stale_url, removal_reason::board_not_wanted, removal_reason::inactive,
                 removal_reason::duplicate, removal_reason::not_board_level})
    EXPECT_NE(ts::psa::to_text(r), "unknown");
}

}  // namespace
