// The name cache (sync/name_cache.hpp): freshness, the refresh rule for a
// name not found, per-board lists, the stored form, and the warm-up order.
#include "sync/name_cache.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using ts::psa::name_list;
using ts::sync::name_cache;

const ts::sys_ms t0 = ts::from_unix_ms(1'800'000'000'000);

ts::psa::named_ref ref(std::int64_t id, std::string name) {
  ts::psa::named_ref r;
  r.id = id;
  r.name = std::move(name);
  return r;
}

TEST(NameCache, ListsAreFreshForTenMinutesAndMayBeRefreshedAfterThirtySeconds) {
  name_cache c;
  EXPECT_FALSE(c.fresh(name_list::boards, 0, t0));
  EXPECT_FALSE(c.may_refresh(name_list::boards, 0, t0));
  c.put(name_list::boards, 0, {ref(1, "B")}, t0);
  EXPECT_TRUE(c.fresh(name_list::boards, 0, t0 + 9min));
  EXPECT_FALSE(c.fresh(name_list::boards, 0, t0 + 10min));
  EXPECT_FALSE(c.may_refresh(name_list::boards, 0, t0 + 29s));
  EXPECT_TRUE(c.may_refresh(name_list::boards, 0, t0 + 30s));
  EXPECT_FALSE(c.fresh(name_list::boards, 0, t0 - 1s)) << "a fetch time in the future counts as old";
  c.invalidate();
  EXPECT_FALSE(c.fresh(name_list::boards, 0, t0));
  EXPECT_TRUE(c.may_refresh(name_list::boards, 0, t0));
  EXPECT_EQ(c.name_of(name_list::boards, 0, 1), "B") << "kept to map ids back to names";
  EXPECT_FALSE(c.name_of(name_list::boards, 0, 2));
}

TEST(NameCache, PerBoardListsAreKeptApartAndGlobalOnesIgnoreTheBoard) {
  name_cache c;
  c.put(name_list::statuses, 1, {ref(101, "New")}, t0);
  c.put(name_list::statuses, 2, {ref(201, "New")}, t0);
  c.put(name_list::priorities, 9, {ref(15, "P1")}, t0);
  EXPECT_EQ(c.find(name_list::statuses, 1)->front().id, 101);
  EXPECT_EQ(c.find(name_list::statuses, 2)->front().id, 201);
  EXPECT_FALSE(c.find(name_list::statuses, 3));
  EXPECT_EQ(c.find(name_list::priorities, 0)->front().id, 15);
}

TEST(NameCache, TheStoredFormRoundTripsAndRefusesAnythingElse) {
  auto r = ref(401, "Malware");
  r.type_ids = {301, 303};
  r.closed_status = true;
  r.default_flag = true;
  const auto back = name_cache::decode(name_cache::encode({r, ref(2, "x")}));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].type_ids, r.type_ids);
  EXPECT_TRUE((*back)[0].closed_status);
  EXPECT_TRUE((*back)[0].default_flag);
  for (const char* bad : {"", "{}", "[1]", R"([{"id":"1","name":"x"}])", R"([{"id":1}])"})
    EXPECT_FALSE(name_cache::decode(bad)) << bad;
  // The previous release's rows (no type_ids, no default) read back.
  EXPECT_TRUE(name_cache::decode(R"([{"id":1,"name":"B","closed":false,"inactive":false}])"));
}

TEST(NameCache, TheWarmUpFetchesBoardsPrioritiesThenTheDefaultBoardsStatuses) {
  name_cache c;
  auto next = ts::sync::next_warmup(c, "Security Incidents", t0);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->list, name_list::boards);
  c.put(name_list::boards, 0, {ref(1, "Security Incidents")}, t0);
  EXPECT_EQ(ts::sync::next_warmup(c, "Security Incidents", t0)->list, name_list::priorities);
  c.put(name_list::priorities, 0, {ref(15, "P1")}, t0);
  next = ts::sync::next_warmup(c, "Security Incidents", t0);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->list, name_list::statuses);
  EXPECT_EQ(next->board, 1);
  c.put(name_list::statuses, 1, {ref(101, "New")}, t0);
  EXPECT_FALSE(ts::sync::next_warmup(c, "Security Incidents", t0));
  EXPECT_FALSE(ts::sync::next_warmup(c, "No Such Board", t0)) << "its statuses cannot be named";
}

}  // namespace
