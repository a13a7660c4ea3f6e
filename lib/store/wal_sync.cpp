#include "store/wal_sync.hpp"

#include "store/store.hpp"

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ts::store {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

wal_sync::wal_sync(store& st, wal_sync_options opts) : store_(st), opts_(std::move(opts)) {
  sqlite3* db = store_.db().getHandle();
  const char* file = sqlite3_db_filename(db, "main");
  if (file == nullptr || *file == '\0') throw std::logic_error("wal_sync needs a database file, not :memory:");
  const std::string db_path = file;
  wal_path_ = sqlite3_filename_wal(file);
  const std::string dir = std::filesystem::path(db_path).parent_path().string();

  // One descriptor for the daemon's life: a write-back error is reported to
  // every open file of the inode once, so a descriptor that was open all along
  // cannot miss one that another descriptor (SQLite's) saw first.
  wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0) throw std::runtime_error("cannot open the WAL file '" + wal_path_ + "': " + errno_text(errno));
  struct stat s {};
  if (::fstat(wal_fd_, &s) == 0) wal_inode_ = s.st_ino;
  try {
    // The WAL may have been created by this start: make its directory entry
    // durable too (once; it stays until the last connection closes).
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
      const int e = errno;
      if (dfd >= 0) ::close(dfd);
      throw std::runtime_error("cannot sync the directory '" + dir + "': " + errno_text(e));
    }
    ::close(dfd);
    checkpointer_ = std::make_unique<SQLite::Database>(db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
    // A connection learns the journal mode at its first read; until then a
    // checkpoint is a no-op that reports success.
    const std::string mode = checkpointer_->execAndGet("PRAGMA journal_mode").getString();
    if (mode != "wal") throw std::runtime_error("the journal mode is '" + mode + "', not 'wal'");
    store_.db().exec("PRAGMA synchronous = NORMAL");
  } catch (const std::exception& e) {
    ::close(wal_fd_);
    throw std::runtime_error("cannot sync '" + db_path + "' off the event loop: " + e.what());
  }
  // Replaces the automatic checkpoint (which is itself a WAL hook).
  sqlite3_wal_hook(db, &wal_sync::on_wal_commit, this);
  sync_thread_ = std::thread([this] { run_syncs(); });
  checkpoint_thread_ = std::thread([this] { run_checkpoints(); });
}

wal_sync::~wal_sync() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  sync_wake_.notify_one();
  cycle_changed_.notify_all();
  sync_thread_.join();
  checkpoint_thread_.join();
  checkpointer_.reset();
  sqlite3* db = store_.db().getHandle();
  sqlite3_wal_hook(db, nullptr, nullptr);
  sqlite3_wal_autocheckpoint(db, 1000);
  try {
    store_.db().exec("PRAGMA synchronous = FULL");
  } catch (const std::exception&) {
    // The store is closing; its close checkpoints with a sync either way.
  }
  ::close(wal_fd_);
}

int wal_sync::on_wal_commit(void* p, sqlite3*, const char*, int frames) {
  // On the committing thread, after the commit, its locks released.
  auto* self = static_cast<wal_sync*>(p);
  std::unique_lock lock(self->mutex_);
  if (self->cycle_ == cycle::idle && frames >= self->opts_.checkpoint_frames) {
    self->cycle_ = cycle::due;
    self->cycle_changed_.notify_all();
  } else if (self->cycle_ == cycle::wants_pause) {
    self->cycle_ = cycle::paused;
    self->cycle_changed_.notify_all();
    self->cycle_changed_.wait(lock, [self] { return self->cycle_ != cycle::paused; });
  }
  return SQLITE_OK;
}

void wal_sync::request(callback done) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(done));
  }
  sync_wake_.notify_one();
}

void wal_sync::run_syncs() {
  for (;;) {
    std::vector<callback> batch;
    std::exception_ptr failed;
    {
      std::unique_lock lock(mutex_);
      sync_wake_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and nothing asked
      batch.swap(pending_);
      failed = failed_;
    }
    // Every request in `batch` was made after its commit returned, so this
    // sync, which starts now, covers all of them.
    if (!failed) {
      try {
        sync_once();
      } catch (...) {
        failed = std::current_exception();
        {
          std::lock_guard lock(mutex_);
          failed_ = failed;
        }
        if (opts_.on_failure) opts_.on_failure(failed);
      }
    }
    for (auto& done : batch) done(failed);  // callbacks must not throw
  }
}

void wal_sync::sync_once() {
  const int r = opts_.sync_fd ? opts_.sync_fd(wal_fd_) : ::fdatasync(wal_fd_);
  if (r != 0) {
    const int e = errno;
    throw std::runtime_error("fdatasync of '" + wal_path_ + "' failed: " + errno_text(e) +
                             "; commits since the last sync may not be on disk");
  }
  // Only the last connection's close deletes the WAL, and ours is open: a
  // different file under the name means someone else replaced it.
  struct stat s {};
  if (::stat(wal_path_.c_str(), &s) != 0 || s.st_ino != wal_inode_)
    throw std::runtime_error("the WAL file '" + wal_path_ + "' was removed or replaced while the daemon ran");
  syncs_.fetch_add(1, std::memory_order_relaxed);
}

void wal_sync::run_checkpoints() {
  sqlite3* db = checkpointer_->getHandle();
  std::unique_lock lock(mutex_);
  for (;;) {
    cycle_changed_.wait(lock, [this] { return stop_ || cycle_ == cycle::due; });
    if (stop_) return;
    cycle_ = cycle::copying;
    lock.unlock();
    int log = 0;
    int copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    // PASSIVE never waits: it is BUSY when it reads the WAL index while a
    // commit updates it. Whatever it left, FULL copies.
    for (int i = 0; rc == SQLITE_BUSY && i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    }
    lock.lock();
    if (rc == SQLITE_OK || rc == SQLITE_BUSY) {
      // The rest needs the write lock: take it while the next commit's thread
      // waits. With no commit within 50 ms nothing contends for it anyway.
      cycle_ = cycle::wants_pause;
      cycle_changed_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_ || cycle_ == cycle::paused; });
      const bool paused = cycle_ == cycle::paused;
      if (!paused) cycle_ = cycle::finishing;  // no commit pauses from now on
      lock.unlock();
      // A reader on an old snapshot (an operator command) makes FULL wait:
      // not for long, the committing thread may be waiting too.
      sqlite3_busy_timeout(db, paused ? 100 : 1000);
      rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_FULL, &log, &copied);
      lock.lock();
    }
    const bool ok = rc == SQLITE_OK && log >= 0 && copied == log;
    (ok ? checkpoints_ : checkpoint_failures_).fetch_add(1, std::memory_order_relaxed);
    cycle_ = ok ? cycle::idle : cycle::cooling;
    cycle_changed_.notify_all();  // the paused commit goes on
    if (!ok) {
      // Something holds the database (a long read, an I/O error).
      if (cycle_changed_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) return;
      cycle_ = cycle::idle;
    }
  }
}

}  // namespace ts::store
