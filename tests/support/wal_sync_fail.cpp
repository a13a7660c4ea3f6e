// LD_PRELOAD shim for the integration test of a failing disk: while the file
// named by TS_TEST_WAL_SYNC_FAIL_FLAG exists, fsync() and fdatasync() of a
// file whose name ends in "-wal" (SQLite's write-ahead log) fail with EIO
// without syncing, as they do when the kernel could not write the pages back.
// Other files sync normally.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using sync_fn = int (*)(int);

bool failing(int fd) {
  const char* flag = std::getenv("TS_TEST_WAL_SYNC_FAIL_FLAG");
  if (flag == nullptr || ::access(flag, F_OK) != 0) return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char path[4096];
  const ssize_t n = ::readlink(link, path, sizeof path - 1);
  if (n < 4) return false;
  path[n] = '\0';
  return std::strcmp(path + n - 4, "-wal") == 0;
}

int call(const char* name, int fd) {
  const int saved = errno;
  if (failing(fd)) {
    errno = EIO;
    return -1;
  }
  errno = saved;
  static_assert(sizeof(void*) == sizeof(sync_fn));
  const auto real = reinterpret_cast<sync_fn>(::dlsym(RTLD_NEXT, name));
  return real(fd);
}

}  // namespace

extern "C" int fsync(int fd) { return call("fsync", fd); }
extern "C" int fdatasync(int fd) { return call("fdatasync", fd); }
