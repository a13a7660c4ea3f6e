// An upgrade: a database made by the previous release (0.1.0,
// tests/fixtures/v0.1.0, see its README), killed with work pending, some of
// it marked sent (a create applied whose answer was lost, one not applied,
// notes posted and not, patches pending, a create never sent), together
// with what ConnectWise held at that moment. This release migrates it and
// finishes the work: exactly one ticket per externalXRef, every note once,
// each ticket in the state the manifest says, nothing pending.
#include "inprocess/scenario.hpp"
#include "store/migrations.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace ts::test {
namespace {

using json = nlohmann::json;

json read_json(const std::string& relative) {
  std::ifstream in(std::string(TS_SOURCE_DIR) + "/" + relative);
  if (!in) throw std::runtime_error("cannot read " + relative);
  return json::parse(in);
}

TEST(Upgrade, ADatabaseOfThePreviousReleaseWithPendingSentWorkIsFinishedWithoutADuplicate) {
  const json manifest = read_json("tests/fixtures/v0.1.0/MANIFEST.json");
  const json psa_state = read_json("tests/fixtures/v0.1.0/psa.json");
  engine_rig rig(
      "companies:\n"
      "  default: MSPInternal\n"
      "  tenants: {acme-prod: AcmeCorp, globex: Globex, initech: Initech, umbrella: UmbrellaCorp}\n",
      std::string(TS_SOURCE_DIR) + "/tests/fixtures/v0.1.0/state.db");
  rig.psa.load_tickets(psa_state["tickets"], psa_state.value("next_ticket_id", 0), psa_state.value("next_note_id", 0));
  const auto before = rig.store().get_counts();
  ASSERT_GT(before.pending, 0);
  ASSERT_GT(rig.store().get_queue_status(rig.time.now()).sent, 0) << "the fixture has operations marked sent";
  EXPECT_EQ(rig.store().schema_version(), store::embedded_migrations().back().version) << "migrated at open";

  ASSERT_TRUE(rig.settle()) << rig.log();
  const auto after = rig.store().get_counts();
  EXPECT_EQ(after.pending, 0);
  EXPECT_EQ(after.dead, manifest["totals"]["dead_letters"].get<int>()) << "the dead letter stays";

  for (const json& issue : manifest["issues"]) {
    SCOPED_TRACE(issue["key"].get<std::string>());
    const json& want = issue["expected_after_finishing"];
    int tickets = 0;
    for (const json& t : want["tickets"]) {
      const auto found = rig.psa.with_xref(t["externalXRef"].get<std::string>());
      ASSERT_EQ(found.size(), 1u) << t["externalXRef"];
      const fake_psa::ticket& got = *found.front();
      ++tickets;
      EXPECT_EQ(rig.psa.status_name(got), t["status"]);
      EXPECT_EQ(rig.psa.is_closed(got), t["closedFlag"].get<bool>());
      EXPECT_EQ(got.summary, t["summary"]);
      EXPECT_EQ(rig.psa.priority_name(got), t["priority"]);
      for (const auto& [prefix, n] : t["notes_by_prefix"].items())
        EXPECT_EQ(notes_starting(got, prefix), n.get<int>()) << prefix;
      EXPECT_EQ(static_cast<int>(got.notes.size()), t["notes_total"].get<int>());
      expect_no_duplicate_notes(got);
    }
    EXPECT_EQ(tickets, want["ticket_count"].get<int>());
  }
  EXPECT_EQ(static_cast<int>(rig.psa.tickets().size()), manifest["totals"]["tickets_after_finishing"].get<int>());
}

}  // namespace
}  // namespace ts::test
