#include "sync/timer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ts::sync {

namespace net = boost::asio;

net::awaitable<void> sleep_until(timer_source& timers, steady_time deadline) {
  if (deadline <= timers.clk().steady_now()) co_return;
  net::steady_timer t(co_await net::this_coro::executor);
  timers.arm(t, deadline);
  co_await t.async_wait(net::as_tuple(net::use_awaitable));
  timers.disarm(t);
}

net::awaitable<void> wakeup::wait_until(steady_time deadline) {
  if (!pending_) {
    timers_.arm(timer_, deadline);
    co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
    timers_.disarm(timer_);
  }
  pending_ = false;
}

}  // namespace ts::sync
