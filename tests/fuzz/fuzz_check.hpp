// The fuzz targets' invariant check: CHECK(cond, detail) prints what failed
// and aborts, which libFuzzer reports as a crash with the input saved.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ts::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "invariant violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace ts::fuzz

#define CHECK(cond, ...)                                             \
  do {                                                               \
    if (!(cond)) ::ts::fuzz::fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (false)
