// A stand-in for fdatasync in tests of store::wal_sync and its users: each
// call waits until the test opens the gate, then syncs for real (or fails
// with the errno the test chose), so a test can observe what happens while a
// sync is still running without timing anything.
#pragma once

#include "store/wal_sync.hpp"

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

namespace ts::test {

class sync_gate {
 public:
  /// Options whose sync call is this gate (which must outlive the wal_sync).
  store::wal_sync_options options() {
    store::wal_sync_options o;
    o.sync_fd = [this](int fd) { return sync(fd); };
    return o;
  }
  int sync(int fd) {
    std::unique_lock lock(m_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    if (fail_errno_ != 0) {
      errno = fail_errno_;
      return -1;
    }
    return ::fdatasync(fd);
  }
  /// Blocks until `n` calls have begun.
  void wait_entered(int n) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void open() {
    std::lock_guard lock(m_);
    open_ = true;
    cv_.notify_all();
  }
  /// Calls from now on fail with `e` (0: sync for real again).
  void fail_with(int e) {
    std::lock_guard lock(m_);
    fail_errno_ = e;
  }
  int calls() {
    std::lock_guard lock(m_);
    return entered_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
  int entered_ = 0;
  int fail_errno_ = 0;
};

}  // namespace ts::test
