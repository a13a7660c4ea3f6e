// A level-triggered wake-up for a single-threaded coroutine loop: notify()
// from anywhere on the same executor; wait_for() returns at once if a
// notification is pending, else when notified or after the timeout.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace ts::ops {

class wakeup {
 public:
  explicit wakeup(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

  boost::asio::awaitable<void> wait_for(std::chrono::steady_clock::duration d) {
    if (!pending_) {
      timer_.expires_after(d);
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    pending_ = false;
  }

 private:
  boost::asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace ts::ops
