// Unit tests for psa/cw_sweep: the sweep's page targets, how a page moves the
// cursor, the next sweep's mark, and a model run showing that key-based paging
// over a table changing under it (one-second timestamps, same-second changes
// behind the cursor) neither loops nor loses a change.
#include "psa/cw_sweep.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ts::sys_ms;
using ts::psa::read_sweep_page;
using ts::psa::sweep_cursor;
using ts::psa::ticket_info;

sys_ms at(const char* rfc3339) { return *ts::parse_rfc3339(rfc3339); }

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

ticket_info row(std::int64_t id, std::optional<sys_ms> t) {
  ticket_info r;
  r.id = id;
  r.last_updated = t;
  return r;
}

TEST(CwSweep, PageTargets) {
  const std::string p = "/v4_6_release/apis/3.0";
  const std::string tail =
      "&orderBy=lastUpdated asc, id asc&fields=id,closedFlag,status/id,board/id,company/identifier,priority/id,"
      "mergedParentTicket/id,_info/lastUpdated,_info/updatedBy&pageSize=";
  struct case_ {
    std::optional<sys_ms> since;
    std::optional<sweep_cursor> after;
    std::size_t size;
    std::string want;
  };
  const std::vector<case_> cases = {
      {std::nullopt, std::nullopt, 1000, p + "/service/tickets?conditions=externalXRef like \"ts1:%\"" + tail + "1000"},
      {at("2026-12-03T10:00:00Z"), std::nullopt, 1000,
       p + "/service/tickets?conditions=externalXRef like \"ts1:%\" and lastUpdated >= [2026-12-03T10:00:00Z]" + tail +
           "1000"},
      {at("2026-12-03T10:00:00Z"), sweep_cursor{at("2026-12-03T10:04:59Z"), 1207}, 50,
       p +
           "/service/tickets?conditions=externalXRef like \"ts1:%\" and lastUpdated >= [2026-12-03T10:00:00Z]"
           " and (lastUpdated > [2026-12-03T10:04:59Z] or (lastUpdated = [2026-12-03T10:04:59Z] and id > 1207))" +
           tail + "50"},
      {std::nullopt, sweep_cursor{at("2026-12-03T10:04:59.250Z"), 3}, 2,
       p +
           "/service/tickets?conditions=externalXRef like \"ts1:%\""
           " and (lastUpdated > [2026-12-03T10:04:59.250Z] or (lastUpdated = [2026-12-03T10:04:59.250Z] and id > 3))" +
           tail + "2"},
  };
  for (const auto& c : cases) {
    const std::string target = ts::psa::sweep_page_target(p, "ts1:", c.since, c.after, c.size);
    EXPECT_EQ(percent_decode(target), c.want);
    // Only the query's values are encoded: no raw blank, quote or bracket leaves.
    EXPECT_EQ(target.find_first_of(" \"[]"), std::string::npos) << target;
  }
}

TEST(CwSweep, APageMovesTheCursorToItsLastRow) {
  const sys_ms t0 = at("2026-12-03T10:00:00Z");
  const sweep_cursor c{t0 + 5s, 20};
  struct case_ {
    const char* what;
    std::optional<sys_ms> since;
    std::optional<sweep_cursor> after;
    std::vector<ticket_info> page;
    std::size_t size;
    bool ok;
    std::optional<sweep_cursor> cursor;
    bool more;
  };
  const std::vector<case_> cases = {
      {"empty, first page", t0, std::nullopt, {}, 3, true, std::nullopt, false},
      {"empty, later page", t0, c, {}, 3, true, c, false},
      {"partial", t0, std::nullopt, {row(7, t0), row(3, t0 + 1s)}, 3, true, sweep_cursor{t0 + 1s, 3}, false},
      {"full: another page follows",
       t0,
       std::nullopt,
       {row(7, t0), row(3, t0 + 1s), row(9, t0 + 1s)},
       3,
       true,
       sweep_cursor{t0 + 1s, 9},
       true},
      {"after the cursor: same second, higher id",
       t0,
       c,
       {row(21, t0 + 5s), row(2, t0 + 6s)},
       3,
       true,
       sweep_cursor{t0 + 6s, 2},
       false},
      {"no since: anything ordered",
       std::nullopt,
       std::nullopt,
       {row(1, t0 - 100h)},
       3,
       true,
       sweep_cursor{t0 - 100h, 1},
       false},
      {"a row without lastUpdated", t0, std::nullopt, {row(7, std::nullopt)}, 3, false, std::nullopt, false},
      {"a row before since (filter ignored)", t0, std::nullopt, {row(7, t0 - 1s)}, 3, false, std::nullopt, false},
      {"the cursor's own row again", t0, c, {row(20, t0 + 5s)}, 3, false, std::nullopt, false},
      {"same second, lower id than the cursor", t0, c, {row(19, t0 + 5s)}, 3, false, std::nullopt, false},
      {"out of order: time", t0, std::nullopt, {row(7, t0 + 2s), row(3, t0 + 1s)}, 3, false, std::nullopt, false},
      {"out of order: id within a second", t0, std::nullopt, {row(7, t0), row(3, t0)}, 3, false, std::nullopt, false},
      {"a repeated row", t0, std::nullopt, {row(7, t0), row(7, t0)}, 3, false, std::nullopt, false},
      {"more rows than asked for",
       t0,
       std::nullopt,
       {row(1, t0), row(2, t0), row(3, t0)},
       2,
       false,
       std::nullopt,
       false},
  };
  for (const auto& k : cases) {
    auto r = read_sweep_page(k.since, k.after, k.page, k.size);
    ASSERT_EQ(r.has_value(), k.ok) << k.what;
    if (!r) {
      EXPECT_EQ(r.error(), ts::errc::psa_protocol) << k.what;
      continue;
    }
    EXPECT_EQ(r->cursor, k.cursor) << k.what;
    EXPECT_EQ(r->more, k.more) << k.what;
  }
}

TEST(CwSweep, TheNextMarkIsTheEarlierOfTheNewestRowAndTheServersStart) {
  const sys_ms t0 = at("2026-12-03T10:00:00Z");
  struct case_ {
    const char* what;
    std::optional<sys_ms> old_mark;
    std::optional<sweep_cursor> end;
    std::optional<sys_ms> server_start;
    std::optional<sys_ms> want;
  };
  const std::vector<case_> cases = {
      {"nothing known: keep", t0, std::nullopt, std::nullopt, t0},
      {"first sweep, nothing read, Date known", std::nullopt, std::nullopt, t0 + 300s, t0 + 300s},
      {"rows newer than the start: the start", t0, sweep_cursor{t0 + 310s, 4}, t0 + 300s, t0 + 300s},
      {"rows older than the start: the newest row", t0, sweep_cursor{t0 + 120s, 4}, t0 + 300s, t0 + 120s},
      {"no Date: the newest row", t0, sweep_cursor{t0 + 120s, 4}, std::nullopt, t0 + 120s},
      {"never back", t0 + 600s, sweep_cursor{t0 + 120s, 4}, t0 + 300s, t0 + 600s},
      {"never swept, nothing known", std::nullopt, std::nullopt, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ts::psa::next_sweep_mark(c.old_mark, c.end, c.server_start), c.want) << c.what;
}

// A model of ConnectWise's ticket table: lastUpdated in whole seconds, pages
// answered exactly as the conditions of sweep_page_target ask. Between pages,
// people change tickets (the server clock ticks in whole seconds and often
// stays within one, so a change can land on the cursor's second with a lower
// id, behind the cursor). Every change must be read, with its time or a later
// one, by the sweep during which it happened or by the next; a change
// overtaken by a newer change of the same ticket is carried by that one.
// Fewer changes than a page holds happen per page, so every sweep ends.
TEST(CwSweep, KeyPagingOverAChangingTableLosesNoChangeAndNeverLoops) {
  for (unsigned seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    std::map<std::int64_t, sys_ms> table;  // id -> lastUpdated
    sys_ms server = at("2026-12-03T10:00:00Z");
    const int tickets = 5 + static_cast<int>(rng() % 40);
    for (int id = 1; id <= tickets; ++id) table[id] = server - std::chrono::seconds(rng() % 600);
    const std::size_t page_size = 1 + rng() % 6;

    auto answer = [&](std::optional<sys_ms> since, const std::optional<sweep_cursor>& after) {
      std::vector<ticket_info> rows;
      for (const auto& [id, t] : table) {
        if (since && t < *since) continue;
        if (after && !(t > after->time || (t == after->time && id > after->id))) continue;
        rows.push_back(row(id, t));
      }
      std::sort(rows.begin(), rows.end(), [](const ticket_info& a, const ticket_info& b) {
        return *a.last_updated != *b.last_updated ? *a.last_updated < *b.last_updated : a.id < b.id;
      });
      if (rows.size() > page_size) rows.resize(page_size);
      return rows;
    };

    std::optional<sys_ms> mark;
    std::map<std::int64_t, sys_ms> carried;  // changes made during the previous sweep and not read by it
    const int sweeps = 8;
    for (int sweep = 0; sweep < sweeps; ++sweep) {
      const bool quiet = sweep >= sweeps - 2;  // the last two sweeps run with nobody changing anything
      const sys_ms start = server;             // the Date of the sweep's first answer
      std::map<std::int64_t, sys_ms> changed_now, seen;
      std::optional<sweep_cursor> cursor;
      int pages = 0;
      for (bool more = true; more;) {
        ASSERT_LT(++pages, 10000) << "seed " << seed << ": the sweep loops";
        const std::vector<ticket_info> page = answer(mark, cursor);
        auto r = read_sweep_page(mark, cursor, page, page_size);
        ASSERT_TRUE(r) << "seed " << seed;
        if (!page.empty()) {
          ASSERT_TRUE(r->cursor && (!cursor || r->cursor != cursor));
        }
        for (const ticket_info& t : page) seen[t.id] = *t.last_updated;
        cursor = r->cursor;
        more = r->more;
        server += std::chrono::seconds(rng() % 2);
        for (unsigned n = quiet ? 0 : rng() % page_size; n > 0; --n) {
          const auto id = static_cast<std::int64_t>(1 + rng() % table.size());
          table[id] = server;
          changed_now[id] = server;
        }
      }
      for (const auto& [id, t] : carried) {
        const auto s = seen.find(id);
        const bool read = s != seen.end() && s->second >= t;
        ASSERT_TRUE(read || changed_now.contains(id))
            << "seed " << seed << " sweep " << sweep << ": the change of ticket " << id << " was lost";
      }
      carried.clear();
      for (const auto& [id, t] : changed_now) {
        const auto s = seen.find(id);
        if (s == seen.end() || s->second < t) carried[id] = t;
      }
      mark = ts::psa::next_sweep_mark(mark, cursor, start);
      server += std::chrono::seconds(rng() % 3);
    }
    EXPECT_TRUE(carried.empty()) << "seed " << seed;
  }
}

TEST(CwCodec, ATicketsInfoAndMergeParentAreRead) {
  auto t = ts::psa::parse_ticket(
      R"({"id":12,"closedFlag":true,"mergedParentTicket":{"id":9},"_info":{"lastUpdated":"2026-12-03T10:00:00Z","updatedBy":"jsmith"}})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->last_updated, at("2026-12-03T10:00:00Z"));
  EXPECT_EQ(t->updated_by, "jsmith");
  EXPECT_EQ(t->merged_into, 9);
  auto bare = ts::psa::parse_ticket(R"({"id":12,"_info":{"lastUpdated":"yesterday"}})");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->last_updated);
  EXPECT_EQ(bare->updated_by, "");
  EXPECT_FALSE(bare->merged_into);
}

TEST(CwCodec, HttpDates) {
  EXPECT_EQ(ts::psa::parse_http_date("Thu, 03 Dec 2026 10:00:00 GMT"), at("2026-12-03T10:00:00Z"));
  for (const char* bad : {"", "Thu, 03 Dec 2026 10:00:00 UTC", "Thu, 03 Dez 2026 10:00:00 GMT",
                          "Thursday, 03-Dec-26 10:00:00 GMT", "Thu, 32 Dec 2026 10:00:00 GMT"})
    EXPECT_FALSE(ts::psa::parse_http_date(bad)) << bad;
}

}  // namespace
