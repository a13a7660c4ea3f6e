// LD_PRELOAD shim for bench_sync's slow-disk runs: fsync() and fdatasync()
// return TS_BENCH_FSYNC_DELAY_US microseconds later than the real call,
// emulating a disk whose cache flush costs that much (virtual disks under an
// IO budget, cloud block storage). Loaded into ticketsyncd only, by bench_sync.
#include <dlfcn.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace {

using sync_fn = int (*)(int);

long delay_us() {
  static const long us = [] {
    const char* v = std::getenv("TS_BENCH_FSYNC_DELAY_US");
    return v ? std::atol(v) : 0L;
  }();
  return us;
}

void pause_after_sync() {
  const long us = delay_us();
  if (us <= 0) return;
  timespec left{us / 1'000'000, (us % 1'000'000) * 1000};
  const int saved = errno;
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {}
  errno = saved;
}

sync_fn next(const char* name) { return reinterpret_cast<sync_fn>(::dlsym(RTLD_NEXT, name)); }

}  // namespace

extern "C" int fsync(int fd) {
  static const sync_fn real = next("fsync");
  const int r = real(fd);
  pause_after_sync();
  return r;
}

extern "C" int fdatasync(int fd) {
  static const sync_fn real = next("fdatasync");
  const int r = real(fd);
  pause_after_sync();
  return r;
}
