// Implementation of cwsim's command line and atomic file writes (see cli.hpp).
#include "cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace cwsim {

namespace {

double parse_double(const std::string& name, const std::string& value) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || errno != 0 || !std::isfinite(v))
    throw usage_error(name + " expects a number, got '" + value + "'");
  return v;
}

std::int64_t parse_integer(const std::string& name, const std::string& value, std::int64_t min, std::int64_t max) {
  const auto v = parse_int(value);
  if (!v || *v < min || *v > max)
    throw usage_error(name + " expects an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                      "], got '" + value + "'");
  return *v;
}

void parse_listen(const std::string& value, options& o) {
  std::string host;
  std::string port;
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':')
      throw usage_error("--listen expects HOST:PORT or [IPV6]:PORT, got '" + value + "'");
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || value.find(':') != colon)
      throw usage_error("--listen expects HOST:PORT or [IPV6]:PORT, got '" + value + "'");
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  if (host.empty()) throw usage_error("--listen needs an address, got '" + value + "'");
  o.listen_host = host;
  o.listen_port = static_cast<std::uint16_t>(parse_integer("--listen port", port, 0, 65535));
}

}  // namespace

options parse_cli(const std::vector<std::string>& args) {
  options o;
  std::optional<std::string> preset;
  // Explicit knobs override the preset whatever their order on the command line.
  std::optional<double> p429, p500, p_reset, p_hang, p_commit_drop, p_callback_drop;
  std::optional<int> latency_ms, retry_after, callback_delay_ms;
  std::optional<bool> callback_message_id, honour_self_suppression;

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw usage_error(name + " needs a value");
      return args[++i];
    };
    const auto flag = [&]() {
      if (inline_value) throw usage_error(name + " takes no value");
    };

    if (name == "--help" || name == "-h") {
      flag();
      o.help = true;
      return o;
    }
    if (name == "--seed")
      o.seed_file = value();
    else if (name == "--listen")
      parse_listen(value(), o);
    else if (name == "--port-file")
      o.port_file = value();
    else if (name == "--tls-dir")
      o.tls_dir = value();
    else if (name == "--cert")
      o.cert_file = value();
    else if (name == "--key")
      o.key_file = value();
    else if (name == "--latency-ms")
      latency_ms = static_cast<int>(parse_integer(name, value(), 0, 600000));
    else if (name == "--retry-after")
      retry_after = static_cast<int>(parse_integer(name, value(), 0, 3600));
    else if (name == "--p429")
      p429 = parse_double(name, value());
    else if (name == "--p500")
      p500 = parse_double(name, value());
    else if (name == "--p-reset")
      p_reset = parse_double(name, value());
    else if (name == "--p-hang")
      p_hang = parse_double(name, value());
    else if (name == "--p-commit-drop")
      p_commit_drop = parse_double(name, value());
    else if (name == "--p-callback-drop")
      p_callback_drop = parse_double(name, value());
    else if (name == "--callback-delay-ms")
      callback_delay_ms = static_cast<int>(parse_integer(name, value(), 0, 600000));
    else if (name == "--callback-message-id") {
      flag();
      callback_message_id = true;
    } else if (name == "--honour-self-suppression") {
      flag();
      honour_self_suppression = true;
    } else if (name == "--callback-ca")
      o.callback_ca = value();
    else if (name == "--preset")
      preset = value();
    else if (name == "--fault-seed") {
      const std::string v = value();
      const auto n = parse_int(v);
      if (!n || *n < 0) throw usage_error("--fault-seed expects a non-negative integer, got '" + v + "'");
      o.fault_seed = static_cast<std::uint64_t>(*n);
    } else if (name == "--verbose" || name == "-v") {
      flag();
      o.verbose = true;
    } else {
      throw usage_error("unknown option '" + name + "'");
    }
  }

  if (preset) {
    const auto knobs = fault_preset(*preset);
    if (!knobs) {
      std::string names;
      for (const auto& n : fault_preset_names()) names += (names.empty() ? "" : ", ") + n;
      throw usage_error("unknown --preset '" + *preset + "' (known: " + names + ")");
    }
    o.faults = *knobs;
  }
  if (latency_ms) o.faults.latency_ms = *latency_ms;
  if (retry_after) o.faults.retry_after = *retry_after;
  if (p429) o.faults.p429 = *p429;
  if (p500) o.faults.p500 = *p500;
  if (p_reset) o.faults.p_reset = *p_reset;
  if (p_hang) o.faults.p_hang = *p_hang;
  if (p_commit_drop) o.faults.p_commit_drop = *p_commit_drop;
  if (p_callback_drop) o.faults.p_callback_drop = *p_callback_drop;
  if (callback_delay_ms) o.faults.callback_delay_ms = *callback_delay_ms;
  if (callback_message_id) o.faults.callback_message_id = *callback_message_id;
  if (honour_self_suppression) o.faults.honour_self_suppression = *honour_self_suppression;
  try {
    validate(o.faults);
  } catch (const std::invalid_argument& e) {
    throw usage_error(e.what());
  }

  if (o.seed_file.empty()) throw usage_error("--seed FILE is required");
  if (o.cert_file.empty() != o.key_file.empty()) throw usage_error("--cert and --key go together");
  if (o.cert_file.empty() && o.tls_dir.empty())
    throw usage_error("--tls-dir DIR is required unless --cert and --key are given");
  return o;
}

std::string usage() {
  return "usage: cwsim --seed FILE [options]\n"
         "ConnectWise PSA simulator over HTTPS (see tests/cwsim/README.md).\n"
         "\n"
         "  --seed FILE           seed document (companies, boards, priorities, keys)\n"
         "  --listen ADDR:PORT    listen address (default 127.0.0.1:0 = any free port)\n"
         "  --port-file PATH      write the bound port here (atomically) once listening\n"
         "  --tls-dir DIR         generate a CA + server certificate, write DIR/ca.pem\n"
         "  --cert PEM --key PEM  use this certificate chain and key instead\n"
         "  --latency-ms N        delay every API answer by N ms\n"
         "  --p429 X --p500 X     probability of a 429 / 500 answer\n"
         "  --p-reset X           probability of a TCP reset, request not processed\n"
         "  --p-hang X            probability of never answering, request not processed\n"
         "  --p-commit-drop X     probability of processing, then closing without answer\n"
         "  --retry-after S       Retry-After seconds on 429 (default 1)\n"
         "  --preset NAME         none, flaky, throttled, slow, chaos (explicit knobs win)\n"
         "  --fault-seed N        seed of the fault PRNG (default 1)\n"
         "  --p-callback-drop X   probability a callback delivery is never sent\n"
         "  --callback-delay-ms N wait N ms before sending each callback delivery\n"
         "  --callback-message-id add a MessageId to callback bodies (not documented by CW)\n"
         "  --honour-self-suppression  skip isSelfSuppressedFlag entries' own changes\n"
         "  --callback-ca FILE    CA file for https callback receivers (default: system store)\n"
         "  --verbose             log every request to stderr\n";
}

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + tmp);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::system_error(err, std::generic_category(), "cannot write " + tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  int err = ::fsync(fd) == 0 ? 0 : errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw std::system_error(err, std::generic_category(), "cannot flush " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw std::system_error(err, std::generic_category(), "cannot rename " + tmp + " to " + path);
  }
}

}  // namespace cwsim
