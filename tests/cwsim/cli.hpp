// cwsim's command line and startup files: option parsing and validation, the usage
// text, and the atomic file write that publishes ca.pem and the port file (readers
// polling for those files never see a partial one). Kept apart from main.cpp so it is
// unit-tested and cheap to compile.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim.hpp"

namespace cwsim {

struct options {
  std::string seed_file;
  std::string listen_host = "127.0.0.1";  ///< an IP literal (IPv6 without brackets)
  std::uint16_t listen_port = 0;          ///< 0 = any free port
  std::string port_file;                  ///< empty = do not write
  std::string tls_dir;                    ///< where ca.pem goes when generating
  std::string cert_file, key_file;        ///< both or neither
  std::string callback_ca;  ///< verify https callback receivers against this CA file (else the system store)
  fault_knobs faults;       ///< --preset, then the explicit knobs
  std::uint64_t fault_seed = 1;
  bool verbose = false;
  bool help = false;
};

/// The command-line error to report with the usage text (exit status 2).
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses argv[1..] ("--name value" or "--name=value"). With --help only `help` is
/// meaningful. Throws usage_error.
options parse_cli(const std::vector<std::string>& args);

std::string usage();

/// Writes `content` to `path` through a temporary file in the same directory, fsync and
/// rename. Throws std::system_error.
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace cwsim
