// The group commit (store/group_commit.hpp) over a real SQLite store on disk:
// concurrent writers share one transaction, a failing writer loses only its
// own writes, and no writer resumes before the sync thread has made its
// commit durable.
#include "store/group_commit.hpp"

#include "core/clock.hpp"
#include "store/store.hpp"
#include "store/wal_sync.hpp"
#include "support/scratch_dir.hpp"
#include "support/sync_gate.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

namespace net = boost::asio;
using nlohmann::json;

std::string event(const std::string& id) {
  return json{{"source", "wazuh"},
              {"tenant", "acme"},
              {"issue_id", id},
              {"state", "open"},
              {"severity", "high"},
              {"title", "Brute force"},
              {"updated_at", "2026-11-01T10:00:00Z"}}
      .dump();
}

struct fixture {
  fixture() {
    st.emplace((dir.path() / "state.db").string());
    commit.emplace(ioc.get_executor(), *st);
  }
  ~fixture() {
    commit.reset();
    st.reset();
  }

  ts::test::scratch_dir dir{"ts-group-commit"};
  net::io_context ioc;
  ts::system_clock clk;
  std::optional<ts::store::store> st;
  std::optional<ts::store::group_commit> commit;
};

net::awaitable<void> add_row(fixture& f, const char* id, bool fail) {
  co_await f.commit->commit([&f, id, fail] {
    const ts::store::inbox_entry e{"test", event(id)};
    f.st->inbox_append({&e, 1}, f.clk.now());
    if (fail) throw std::runtime_error(std::string("writer ") + id + " failed");
  });
}

TEST(GroupCommit, AFailingWriterLosesOnlyItsOwnWritesInTheSharedTransaction) {
  fixture f;
  auto a = net::co_spawn(f.ioc, add_row(f, "g-1", false), net::use_future);
  auto b = net::co_spawn(f.ioc, add_row(f, "g-2", true), net::use_future);
  auto c = net::co_spawn(f.ioc, add_row(f, "g-3", false), net::use_future);
  f.ioc.restart();
  f.ioc.run();
  EXPECT_NO_THROW(a.get());
  EXPECT_THROW(b.get(), std::runtime_error);
  EXPECT_NO_THROW(c.get());
  EXPECT_EQ(f.commit->batches(), 1u) << "the three writers share one transaction";
  const auto rows = f.st->inbox_peek(10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(json::parse(rows[0].body)["issue_id"], "g-1");
  EXPECT_EQ(json::parse(rows[1].body)["issue_id"], "g-3");
}

TEST(GroupCommit, WritersResumeOnlyOnceTheSyncThreadHasSyncedTheirCommit) {
  fixture f;
  ts::test::sync_gate gate;
  ts::store::wal_sync ws(*f.st, gate.options());
  f.commit->sync_with(&ws);
  auto a = net::co_spawn(f.ioc, add_row(f, "d-1", false), net::use_future);
  auto b = net::co_spawn(f.ioc, add_row(f, "d-2", false), net::use_future);
  f.ioc.restart();
  f.ioc.poll();  // the batch commits and asks for its sync
  gate.wait_entered(1);
  f.ioc.poll();
  EXPECT_EQ(a.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "resumed before the sync";
  EXPECT_EQ(b.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(f.st->inbox_depth(), 2) << "committed, not yet known durable";
  gate.open();
  f.ioc.run();  // until both writers resumed
  EXPECT_NO_THROW(a.get());
  EXPECT_NO_THROW(b.get());
  EXPECT_EQ(ws.syncs(), 1u);
  EXPECT_EQ(f.commit->batches(), 1u);
  f.commit->sync_with(nullptr);
}

TEST(GroupCommit, AFailedSyncFailsTheWritersOfTheBatch) {
  fixture f;
  ts::store::wal_sync_options o;
  o.sync_fd = [](int) {
    errno = ENOSPC;
    return -1;
  };
  ts::store::wal_sync ws(*f.st, o);
  f.commit->sync_with(&ws);
  auto a = net::co_spawn(f.ioc, add_row(f, "e-1", false), net::use_future);
  f.ioc.restart();
  f.ioc.run();
  try {
    a.get();
    ADD_FAILURE() << "a writer whose commit was never synced resumed without an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  f.commit->sync_with(nullptr);
}

}  // namespace
