// Group commit: store writes requested by concurrent operations during one turn
// of the event loop are committed in one SQLite transaction (one fsync), and
// every requester resumes once that transaction is durable. Throughput is then
// bounded by the PSA, not by fsyncs. The daemon has one, shared by the intake
// API, the planner and the operations. Each write runs in a savepoint: one
// that throws loses only its own changes and gets its exception; the others
// commit. A failing commit (I/O error, disk full) fails every write of the
// batch. Single-threaded: use from the executor's thread only.
//
// Durability: by default the store's commit fsyncs (synchronous=FULL) on this
// thread. With sync_with(wal_sync), the commit returns unsynced and the
// writers resume only once the wal_sync thread has synced it; meanwhile the
// loop goes on, and the next batch gathers writes until that sync is done,
// then commits and asks for the next. Either way a writer never resumes
// before its writes are on disk.
#pragma once

#include "store/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <vector>

namespace ts::store {

class wal_sync;

class group_commit {
 public:
  group_commit(boost::asio::any_io_executor ex, store& st) : ex_(std::move(ex)), store_(st) {}

  /// Runs `write` inside the next batch transaction and returns after it
  /// committed. Rethrows `write`'s own exception (its changes were rolled
  /// back, the batch's others kept), or the commit's (nothing was kept).
  boost::asio::awaitable<void> commit(std::function<void()> write);

  /// From now on, batches are synced by `s` (which must outlive this, or be
  /// detached with nullptr first) instead of by the commit itself.
  void sync_with(wal_sync* s) noexcept { sync_ = s; }

  std::uint64_t batches() const noexcept { return batches_; }
  /// Batches committed whose sync has not answered yet.
  int syncing() const noexcept { return syncing_; }
  std::uint64_t writes() const noexcept { return writes_; }

 private:
  struct write {
    std::function<void()> fn;
    std::exception_ptr error;  ///< what fn threw
  };
  struct batch {
    explicit batch(const boost::asio::any_io_executor& ex) : done(ex) {}
    std::vector<write> writes;
    boost::asio::steady_timer done;  // waited on by the writers; cancelled when committed
    std::exception_ptr error;
  };
  void flush();

  boost::asio::any_io_executor ex_;
  store& store_;
  wal_sync* sync_ = nullptr;
  int syncing_ = 0;  ///< batches committed whose sync has not answered
  std::shared_ptr<batch> current_;
  std::uint64_t batches_ = 0;
  std::uint64_t writes_ = 0;
};

}  // namespace ts::store
