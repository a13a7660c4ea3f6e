// Durability off the committing thread.
//
// A store commits with synchronous=FULL: the commit returns after the WAL is
// fsynced, on the thread that committed. ticketsyncd's single event loop would
// then spend most of its time in fsync on a slow disk. With a wal_sync
// attached, the store commits with synchronous=NORMAL instead (in WAL mode the
// commit writes its frames to the WAL file and returns; a killed process loses
// nothing, the kernel holds the pages) and this class's thread makes the
// commits durable: request() asks that everything the store committed before
// the call reach the disk; the thread runs one fdatasync of the WAL file for
// every request gathered while the previous one ran, then calls their
// callbacks. The WAL is append-only between checkpoints, so a sync that starts
// after a commit returned covers that commit and every one before it.
//
// The contract for the caller: nothing may act on a commit (answer 202, delete
// a spool file, send a PSA request that must not be repeated blindly) before
// its request's callback ran without an error. The group commit
// (store/group_commit.hpp) does this for every writer.
//
// Checkpoints: the committing connection's automatic checkpoint (which would
// fsync twice on the committing thread) is replaced by a second thread with a
// connection of its own. Once a commit leaves `checkpoint_frames` frames in
// the WAL, that thread copies them into the database with a PASSIVE
// checkpoint, beside the commits that go on. That alone is not enough: under
// steady commits a PASSIVE checkpoint never finds the WAL fully copied, so
// the WAL never starts over and grows without end; and a checkpoint that
// waits for SQLite's write lock starves, because the committing thread takes
// it again within microseconds. So the next commit after the bulk copy pauses
// its thread (in SQLite's WAL hook, its locks released) while a FULL
// checkpoint copies the few frames committed meanwhile and syncs: about two
// fsyncs, once per `checkpoint_frames` frames. The WAL is then fully copied
// and the commit after starts it over from the beginning.
//
// Failure: a failed fdatasync is final. The kernel may have dropped the pages
// it could not write, so a later success proves nothing. That request and
// every later one fail with the same error, and `on_failure` runs once (on
// this thread); the daemon then exits so that systemd restarts it and SQLite
// recovers from what is on disk. No callback reports success for a commit
// that is not on disk.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct sqlite3;
namespace SQLite {
class Database;
}

namespace ts::store {

class store;

struct wal_sync_options {
  /// Checkpoint once the WAL holds this many frames (pages of 4 KiB; 64 MiB).
  /// Each checkpoint pauses the committing thread for about two fsyncs, and
  /// the commit after it syncs the WAL's new header, so this is far above the
  /// 1000 of SQLite's automatic checkpoint: at 500 events/s, one checkpoint
  /// in about 5 s rather than several a second (tests/bench/RESULTS.md).
  int checkpoint_frames = 16000;
  /// The sync call, ::fdatasync unless a test replaces it (to hold a sync back
  /// or make it fail). Returns 0 or -1 with errno set.
  std::function<int(int fd)> sync_fd;
  /// Runs once, on the sync thread, when a sync fails.
  std::function<void(std::exception_ptr)> on_failure;
};

class wal_sync {
 public:
  using callback = std::function<void(std::exception_ptr)>;

  /// Switches `st` (a file database, not ":memory:") to synchronous=NORMAL
  /// without automatic checkpoints and starts the thread. Call on the store's
  /// thread, outside a transaction. Throws std::runtime_error naming the file
  /// when the WAL or the checkpoint connection cannot be opened.
  explicit wal_sync(store& st, wal_sync_options opts = {});
  /// Syncs what was requested, stops the thread and gives the store back its
  /// synchronous=FULL and automatic checkpoints. Call on the store's thread.
  ~wal_sync();
  wal_sync(const wal_sync&) = delete;
  wal_sync& operator=(const wal_sync&) = delete;

  /// Everything the store committed before this call reaches the disk, then
  /// `done` runs on the sync thread: with nullptr, or with the error of a
  /// failed sync. Thread-safe.
  void request(callback done);

  std::uint64_t syncs() const noexcept { return syncs_.load(std::memory_order_relaxed); }
  /// Checkpoints that left the WAL fully copied into the database.
  std::uint64_t checkpoints() const noexcept { return checkpoints_.load(std::memory_order_relaxed); }
  /// Checkpoints that failed or could not finish (SQLITE_BUSY, an I/O error):
  /// the WAL grows until a later one, a second on, succeeds. Exposed as a metric.
  std::uint64_t checkpoint_failures() const noexcept { return checkpoint_failures_.load(std::memory_order_relaxed); }

 private:
  /// Where the checkpoint cycle is; guarded by mutex_.
  enum class cycle {
    idle,         ///< waiting for the WAL to reach checkpoint_frames
    due,          ///< a commit reached it; the thread starts
    copying,      ///< PASSIVE checkpoint, beside the commits
    wants_pause,  ///< the next commit pauses its thread
    paused,       ///< the committing thread waits; the FULL checkpoint runs
    finishing,    ///< the FULL checkpoint runs (no commit came to pause)
    cooling,      ///< a checkpoint failed: none for a second
  };
  static int on_wal_commit(void* self, ::sqlite3* db, const char* name, int frames);
  void run_syncs();
  void sync_once();
  void run_checkpoints();

  store& store_;
  wal_sync_options opts_;
  std::string wal_path_;
  int wal_fd_ = -1;
  std::uint64_t wal_inode_ = 0;
  std::unique_ptr<SQLite::Database> checkpointer_;  ///< used on the checkpoint thread only
  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> checkpoint_failures_{0};

  std::mutex mutex_;
  std::condition_variable sync_wake_;
  std::condition_variable cycle_changed_;
  std::vector<callback> pending_;  ///< guarded by mutex_
  std::exception_ptr failed_;      ///< guarded by mutex_; sticky
  cycle cycle_ = cycle::idle;      ///< guarded by mutex_
  bool stop_ = false;              ///< guarded by mutex_
  std::thread sync_thread_;        ///< the threads last: they start once the rest is built
  std::thread checkpoint_thread_;
};

}  // namespace ts::store
