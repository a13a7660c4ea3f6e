#include "store/group_commit.hpp"

#include "store/wal_sync.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ts::store {

namespace net = boost::asio;

net::awaitable<void> group_commit::commit(std::function<void()> write) {
  if (!current_) {
    current_ = std::make_shared<batch>(ex_);
    current_->done.expires_at(net::steady_timer::time_point::max());
    // Everything queued before this runs shares the transaction. While a
    // batch waits for its sync, the next one gathers writes until that sync
    // is done: it could not be synced any sooner, and fewer, larger commits
    // write fewer WAL frames.
    if (syncing_ == 0) net::post(ex_, [this] { flush(); });
  }
  auto b = current_;
  const std::size_t index = b->writes.size();
  b->writes.push_back({std::move(write), nullptr});
  co_await b->done.async_wait(net::as_tuple(net::use_awaitable));
  if (b->error) std::rethrow_exception(b->error);
  if (b->writes[index].error) std::rethrow_exception(b->writes[index].error);
}

void group_commit::flush() {
  auto b = std::move(current_);
  current_.reset();
  if (!b) return;
  try {
    store::transaction tx(store_);
    for (auto& w : b->writes) {
      store::savepoint sp(store_);
      try {
        w.fn();
        sp.release();
      } catch (...) {
        w.error = std::current_exception();  // sp rolls back this writer's changes only
      }
    }
    tx.commit();
    ++batches_;
    writes_ += b->writes.size();
  } catch (...) {
    b->error = std::current_exception();
  }
  if (sync_ && !b->error) {
    // Durable only once the sync thread says so; the writers wait till then.
    ++syncing_;
    sync_->request([this, b](std::exception_ptr e) {
      net::post(ex_, [this, b, e] {
        b->error = e;
        b->done.cancel();
        if (--syncing_ == 0 && current_) flush();
      });
    });
    return;
  }
  b->done.cancel();
}

}  // namespace ts::store
