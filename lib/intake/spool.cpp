// Spool directory IO with maildir semantics: a file becomes visible in new/
// only by an atomic rename of a complete, fsync'ed file from tmp/, and every
// rename is made durable by an fsync of the directories involved. Plain POSIX
// calls (open/write/fsync/renameat2) where durability or "do not follow, do not
// replace" matters; std::filesystem only for creating and listing directories.
// Environmental failures throw std::system_error naming the path; a file that
// cannot be read is reported as data (spool_file::status), so one bad file
// never stops the intake.
#include "intake/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <queue>
#include <random>
#include <stdexcept>
#include <system_error>

namespace ts::intake {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// Owns a file descriptor; closes it (ignoring errors) unless released.
class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int get() const noexcept { return fd_; }
  /// close(2) with its result: on some filesystems it reports a failed write.
  int close() noexcept {
    if (fd_ < 0) return 0;
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd);
  }

 private:
  int fd_;
};

// Writes all of `data`, resuming after EINTR and short writes. Returns 0 or an errno.
int write_all(int fd, std::string_view data) noexcept {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

// fsync of a directory, so the renames and unlinks in it survive a crash.
void fsync_dir(const fs::path& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "spool: cannot open directory " + quoted(dir));
  if (::fsync(fd.get()) != 0) throw_errno(errno, "spool: cannot fsync directory " + quoted(dir));
}

// rename(2) that never replaces an existing `to` (fails with EEXIST instead).
// Filesystems without RENAME_NOREPLACE fall back to check-then-rename, which
// is enough while one process at a time moves files within a spool.
int rename_noreplace(const fs::path& from, const fs::path& to) noexcept {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) return EEXIST;
  if (errno != ENOENT) return errno;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

// Names come from spool_list or spool_write; anything that could leave new/
// is a caller bug.
bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

void require_plain_name(const std::string& name) {
  if (!is_plain_name(name)) throw std::invalid_argument("spool: invalid file name '" + name + "'");
}

// `<unix-ms, 13 digits>.<pid>.<seq, 10 digits>.<64 random bits, hex>.json`.
// Fixed-width time and sequence make names of one process sort in writing
// order (while the wall clock does not step back); the random part keeps
// names unique across hosts or PID namespaces sharing one spool.
std::string make_name(const ts::clock& clk, random_source& random) {
  static std::atomic<unsigned long long> seq{0};
  const auto ms = to_unix_ms(clk.now());
  // 64 random bits from two draws of 32.
  const auto draw32 = [&] { return static_cast<unsigned long long>(random.unit() * 4294967296.0) & 0xffffffffULL; };
  const unsigned long long bits = (draw32() << 32) | draw32();
  char buf[96];
  const int n = std::snprintf(buf, sizeof buf, "%013lld.%ld.%010llu.%016llx.json", static_cast<long long>(ms),
                              static_cast<long>(::getpid()), seq.fetch_add(1, std::memory_order_relaxed), bits);
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

spool_paths spool_paths::under(const fs::path& root) {
  return spool_paths{.root = root, .tmp = root / "tmp", .fresh = root / "new", .rejected = root / "rejected"};
}

void ensure_spool(const spool_paths& p) {
  for (const fs::path* dir : {&p.root, &p.tmp, &p.fresh, &p.rejected}) fs::create_directories(*dir);
}

std::string spool_write(const spool_paths& p, std::string_view content, const ts::clock& clk, random_source& random) {
  const std::string name = make_name(clk, random);
  const fs::path tmp = p.tmp / name;
  const fs::path dest = p.fresh / name;

  unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd.get() < 0) throw_errno(errno, "spool: cannot create " + quoted(tmp));

  // Any failure from here on: the tmp file goes, nothing reaches new/.
  auto fail = [&](int err, const std::string& what) {
    fd.close();
    ::unlink(tmp.c_str());
    throw_errno(err, what);
  };
  // Group-readable whatever the producer's umask: the daemon reads the file
  // through the spool's group (ticketsync-submit), not as its owner.
  if (::fchmod(fd.get(), 0640) != 0) fail(errno, "spool: cannot chmod " + quoted(tmp));
  if (const int err = write_all(fd.get(), content)) fail(err, "spool: cannot write " + quoted(tmp));
  if (::fsync(fd.get()) != 0) fail(errno, "spool: cannot fsync " + quoted(tmp));
  if (fd.close() != 0) fail(errno, "spool: cannot close " + quoted(tmp));
  if (const int err = rename_noreplace(tmp, dest)) {
    ::unlink(tmp.c_str());
    throw_errno(err, "spool: cannot rename " + quoted(tmp) + " to " + quoted(dest));
  }
  try {
    fsync_dir(p.fresh);
  } catch (...) {
    // Not durable, so not delivered: the caller will write it again. (If the
    // daemon took it in the meantime, the copy is a duplicate event, which
    // updated_at ordering makes harmless.)
    ::unlink(dest.c_str());
    throw;
  }
  return name;
}

std::vector<std::string> spool_list(const spool_paths& p, std::size_t limit) {
  if (limit == 0) return {};
  // Keep only the `limit` smallest names (max-heap), so a backlog of millions
  // costs O(limit) memory.
  std::priority_queue<std::string> smallest;
  for (const fs::directory_entry& entry : fs::directory_iterator(p.fresh)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name.front() == '.') continue;
    std::error_code ec;
    // symlink_status: a symlink is not a regular file, whatever it points to.
    if (!fs::is_regular_file(entry.symlink_status(ec)) || ec) continue;
    if (smallest.size() < limit) {
      smallest.push(std::move(name));
    } else if (name < smallest.top()) {
      smallest.pop();
      smallest.push(std::move(name));
    }
  }
  std::vector<std::string> names(smallest.size());
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    *it = smallest.top();
    smallest.pop();
  }
  return names;
}

spool_file spool_read(const spool_paths& p, const std::string& name, std::size_t max_bytes) {
  spool_file f;
  f.name = name;
  auto io_error = [&f](std::string why) {
    f.status = read_status::io_error;
    f.content.clear();
    f.error = std::move(why);
    return f;
  };
  if (!is_plain_name(name)) return io_error("invalid file name");

  const fs::path path = p.fresh / name;
  // O_NONBLOCK: opening a FIFO someone left in new/ must not wait for a
  // writer (fstat below then rejects it); reads of regular files ignore it.
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) {
      f.status = read_status::vanished;
      return f;
    }
    if (err == ELOOP) return io_error("cannot open " + quoted(path) + ": is a symbolic link");
    return io_error("cannot open " + quoted(path) + ": " + std::generic_category().message(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return io_error("cannot stat " + quoted(path) + ": " + std::generic_category().message(errno));
  }
  if (!S_ISREG(st.st_mode)) return io_error(quoted(path) + " is not a regular file");
  f.size = static_cast<std::uintmax_t>(st.st_size);
  if (f.size > max_bytes) {
    f.status = read_status::too_large;
    return f;
  }

  // Read what fstat promised and no more: a file that grows after this point
  // was not written through tmp/ and is cut at its size here.
  f.content.resize(static_cast<std::size_t>(f.size));
  std::size_t got = 0;
  while (got < f.content.size()) {
    const ssize_t n = ::read(fd.get(), f.content.data() + got, f.content.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read " + quoted(path) + ": " + std::generic_category().message(errno));
    }
    if (n == 0) break;  // shrank meanwhile
    got += static_cast<std::size_t>(n);
  }
  f.content.resize(got);
  f.size = got;
  f.status = read_status::ok;
  return f;
}

std::string spool_reject(const spool_paths& p, const std::string& name, std::string_view reason) {
  require_plain_name(name);
  const fs::path from = p.fresh / name;

  // Never replace an earlier rejected file of the same name: try NAME, NAME.1, …
  constexpr int max_suffix = 10'000;
  std::string target;
  for (int i = 0;; ++i) {
    target = i == 0 ? name : name + "." + std::to_string(i);
    const int err = rename_noreplace(from, p.rejected / target);
    if (err == 0) break;
    if (err != EEXIST || i == max_suffix) {
      throw_errno(err, "spool: cannot move " + quoted(from) + " to " + quoted(p.rejected / target));
    }
  }

  const fs::path reason_path = p.rejected / (target + ".reason");
  {
    unique_fd fd(::open(reason_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (fd.get() < 0) throw_errno(errno, "spool: cannot create " + quoted(reason_path));
    std::string text(reason);
    text += '\n';
    if (const int err = write_all(fd.get(), text)) throw_errno(err, "spool: cannot write " + quoted(reason_path));
    if (::fsync(fd.get()) != 0) throw_errno(errno, "spool: cannot fsync " + quoted(reason_path));
    if (fd.close() != 0) throw_errno(errno, "spool: cannot close " + quoted(reason_path));
  }
  fsync_dir(p.rejected);
  fsync_dir(p.fresh);
  return target;
}

void spool_remove(const spool_paths& p, const std::string& name) {
  require_plain_name(name);
  const fs::path path = p.fresh / name;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno(errno, "spool: cannot remove " + quoted(path));
}

void spool_sync(const spool_paths& p) { fsync_dir(p.fresh); }

}  // namespace ts::intake
