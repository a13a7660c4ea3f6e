// Tests of store::wal_sync, the threads that make the store's commits durable
// and checkpoint its WAL off the event loop, against a real SQLite file in a
// fresh directory. The sync call is the real fdatasync behind a gate the test
// opens (support/sync_gate.hpp), so that "not before the sync" is observed
// without timing; a failing sync is an errno the gate returns.
#include "store/wal_sync.hpp"
#include "store/store.hpp"
#include "support/scratch_dir.hpp"
#include "support/sync_gate.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace ts::store;
using ::testing::HasSubstr;
using ts::test::sync_gate;

/// A request whose callback fulfils a future.
struct waiter {
  std::promise<std::exception_ptr> done;
  std::future<std::exception_ptr> result = done.get_future();
  wal_sync::callback callback() {
    return [this](std::exception_ptr e) { done.set_value(e); };
  }
  bool ready() { return result.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
};

void add_event(store& st, const std::string& id) {
  const inbox_entry e{"test", R"({"issue_id":")" + id + R"("})"};
  st.inbox_add({&e, 1}, ts::from_unix_ms(1));
}

/// A store on disk whose wal_sync's syncs wait for the gate.
class wal_sync_gated : public ::testing::Test {
 protected:
  ts::test::scratch_dir dir{"ts-wal-sync-test"};
  store st{(dir.path() / "ts.db").string()};
  sync_gate gate;
  wal_sync ws{st, gate.options()};
};

TEST(wal_sync, commits_unsynced_while_attached_and_fully_synced_after) {
  ts::test::scratch_dir dir("ts-wal-sync-test");
  store st((dir.path() / "ts.db").string());
  {
    wal_sync ws(st);
    EXPECT_EQ(st.db().execAndGet("PRAGMA synchronous").getInt(), 1);  // NORMAL: the thread syncs
  }
  EXPECT_EQ(st.db().execAndGet("PRAGMA synchronous").getInt(), 2);  // FULL again
}

TEST_F(wal_sync_gated, a_request_completes_only_after_a_sync_that_began_after_it) {
  add_event(st, "a-1");
  waiter w;
  ws.request(w.callback());
  gate.wait_entered(1);
  EXPECT_FALSE(w.ready()) << "the callback ran while its sync was still held";
  EXPECT_EQ(ws.syncs(), 0u);
  gate.open();
  EXPECT_EQ(w.result.get(), nullptr);
  EXPECT_EQ(ws.syncs(), 1u);
}

TEST_F(wal_sync_gated, requests_made_while_a_sync_runs_share_the_next_one) {
  add_event(st, "s-1");
  waiter first;
  ws.request(first.callback());
  gate.wait_entered(1);
  std::vector<std::unique_ptr<waiter>> later;
  for (int i = 0; i < 5; ++i) {
    add_event(st, "s-" + std::to_string(i + 2));
    later.push_back(std::make_unique<waiter>());
    ws.request(later.back()->callback());
  }
  EXPECT_FALSE(later[0]->ready()) << "a request made during a sync was answered by that sync";
  gate.open();
  EXPECT_EQ(first.result.get(), nullptr);
  for (auto& w : later) EXPECT_EQ(w->result.get(), nullptr);
  EXPECT_EQ(ws.syncs(), 2u) << "five requests made during one sync share one more";
  EXPECT_EQ(gate.calls(), 2);
}

TEST(wal_sync, a_failed_sync_fails_its_requests_and_every_later_one) {
  ts::test::scratch_dir dir("ts-wal-sync-test");
  const std::string db = (dir.path() / "ts.db").string();
  store st(db);
  sync_gate gate;
  gate.fail_with(EIO);
  gate.open();
  int failures_reported = 0;
  auto opts = gate.options();
  opts.on_failure = [&](std::exception_ptr) { ++failures_reported; };  // on the sync thread, once
  wal_sync ws(st, opts);
  add_event(st, "f-1");
  waiter w1;
  ws.request(w1.callback());
  const auto e1 = w1.result.get();
  ASSERT_NE(e1, nullptr);
  try {
    std::rethrow_exception(e1);
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(db + "-wal"));
    EXPECT_THAT(e.what(), HasSubstr("Input/output error"));
  }
  gate.fail_with(0);  // a later success would prove nothing: it is not tried
  add_event(st, "f-2");
  waiter w2;
  ws.request(w2.callback());
  EXPECT_NE(w2.result.get(), nullptr);
  EXPECT_EQ(gate.calls(), 1);
  EXPECT_EQ(ws.syncs(), 0u);
  EXPECT_EQ(failures_reported, 1);
}

/// Frames in the WAL now, read through a connection of the test's own (a
/// PASSIVE checkpoint reports them; with nothing new to copy it copies nothing).
int wal_frames(const fs::path& db) {
  SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
  SQLite::Statement q(raw, "PRAGMA wal_checkpoint(PASSIVE)");
  q.executeStep();
  return q.getColumn(1).getInt();
}

TEST(wal_sync, a_checkpoint_copies_the_log_into_the_database_and_the_log_starts_over) {
  ts::test::scratch_dir dir("ts-wal-sync-test");
  const fs::path db = dir.path() / "ts.db";
  store st(db.string());
  wal_sync_options opts;
  opts.checkpoint_frames = 40;
  wal_sync ws(st, opts);
  const auto db_size_before = fs::file_size(db);
  // One commit of 60 events leaves more than 40 frames: one checkpoint.
  std::vector<inbox_entry> batch;
  for (int i = 0; i < 60; ++i)
    batch.push_back({"test", R"({"issue_id":"c-)" + std::to_string(i) + std::string(2000, 'x') + R"("})"});
  st.inbox_add(batch, ts::from_unix_ms(1));
  for (int i = 0; i < 1000 && ws.checkpoints() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(ws.checkpoints(), 1u);
  EXPECT_EQ(ws.checkpoint_failures(), 0u);
  EXPECT_GT(fs::file_size(db), db_size_before + 60 * 2000) << "the events were not copied into the database file";
  add_event(st, "c-last");
  EXPECT_LT(wal_frames(db), opts.checkpoint_frames) << "the next commit did not start the log over";
  EXPECT_EQ(st.inbox_depth(), 61);
}

/// The WAL header's checkpoint sequence number: SQLite adds one each time a
/// commit starts the log over from its beginning.
std::uint32_t wal_restarts(const fs::path& db) {
  std::ifstream in(db.string() + "-wal", std::ios::binary);
  unsigned char h[16] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  return (std::uint32_t{h[12]} << 24) | (std::uint32_t{h[13]} << 16) | (std::uint32_t{h[14]} << 8) | h[15];
}

TEST(wal_sync, the_log_starts_over_under_steady_commits) {
  // Commits never pause here, so a checkpoint that only copied beside them
  // (PASSIVE) would never find the log fully copied: the log would never
  // start over, and would hold every frame ever written.
  ts::test::scratch_dir dir("ts-wal-sync-test");
  const fs::path db = dir.path() / "ts.db";
  store st(db.string());
  wal_sync_options opts;
  opts.checkpoint_frames = 100;
  wal_sync ws(st, opts);
  add_event(st, "b-first");
  const std::uint32_t restarts_before = wal_restarts(db);
  const std::string pad(3000, 'p');
  for (int i = 0; i < 4000; ++i) add_event(st, "b-" + std::to_string(i) + pad);
  EXPECT_GE(ws.checkpoints(), 3u) << "failed: " << ws.checkpoint_failures();
  EXPECT_GE(wal_restarts(db) - restarts_before, 2u);
  EXPECT_EQ(st.inbox_depth(), 4001);
}

TEST(wal_sync, a_memory_database_is_refused) {
  store st(":memory:");
  EXPECT_THROW(wal_sync ws(st), std::logic_error);
}

TEST(wal_sync, what_was_requested_before_destruction_is_synced) {
  ts::test::scratch_dir dir("ts-wal-sync-test");
  store st((dir.path() / "ts.db").string());
  waiter w;
  {
    wal_sync ws(st);
    add_event(st, "d-1");
    ws.request(w.callback());
  }
  ASSERT_TRUE(w.ready());
  EXPECT_EQ(w.result.get(), nullptr);
}

}  // namespace
