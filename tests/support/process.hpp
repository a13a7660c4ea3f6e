// Child processes for integration tests: start a program with arguments and
// extra environment, output to a log file; signal it; wait for it with a timeout.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ts::test {

class child_process {
 public:
  /// Starts `argv[0]` (a path) with `argv`, the current environment plus
  /// `env`, stdin from /dev/null and stdout+stderr appended to `log_path`.
  /// Throws std::system_error when it cannot be started.
  child_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const std::string& log_path);
  ~child_process();  ///< SIGKILLs and reaps a child still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  void signal(int sig);
  /// Waits for exit; returns the exit status (128+signal when killed), or
  /// nullopt on timeout (the child keeps running).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Runs a program to completion; returns its exit status and fills `output`
/// with stdout+stderr.
int run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                std::string* output, std::chrono::milliseconds timeout = std::chrono::seconds{60});

/// Polls `pred` every 20 ms until it is true or `timeout` passes.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout);

std::string read_file(const std::string& path);

}  // namespace ts::test

#include <thread>

template <class Pred>
bool ts::test::wait_until(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return pred();
}
