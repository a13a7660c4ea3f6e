// The subcommands that need no daemon: check-config and submit.
#include "commands.hpp"

#include "config/config_loader.hpp"
#include "intake/spool.hpp"
#include "sources/event_parser.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

namespace ts::daemon {

namespace {

/// Loads the configuration, printing every problem to stderr.
std::optional<config::config> load_or_report(const std::string& path) {
  auto loaded = config::load_config(path);
  for (const auto& e : loaded.errors) std::cerr << e.to_string() << "\n";
  if (!loaded.cfg && loaded.errors.empty()) std::cerr << path << ": cannot load configuration\n";
  return std::move(loaded.cfg);
}

std::optional<std::string> read_input(const std::string& file, std::string& error) {
  std::ostringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = "cannot open";
    return std::nullopt;
  }
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int cmd_check_config(const std::string& config_path) {
  auto cfg = load_or_report(config_path);
  if (!cfg) return 2;
  std::string why;
  if (!config::resolve_secret(cfg->psa.private_key, &why)) {
    std::cerr << config_path << ": psa.private_key: " << why << "\n";
    return 2;
  }
  std::cout << config_path << ": OK\n";
  return 0;
}

int cmd_submit(const std::string& config_path, const std::vector<std::string>& files, bool validate) {
  auto cfg = load_or_report(config_path);
  if (!cfg) return 2;
  const auto paths = intake::spool_paths::under(cfg->intake.spool_dir);
  intake::ensure_spool(paths);
  const ts::system_clock clk;
  ts::system_random random;
  int failures = 0;
  for (const auto& file : files) {
    std::string error;
    auto content = read_input(file, error);
    if (!content) {
      std::cerr << file << ": " << error << "\n";
      ++failures;
      continue;
    }
    if (content->size() > cfg->intake.max_event_bytes) {
      std::cerr << file << ": " << content->size() << " bytes, larger than intake.max_event_size ("
                << cfg->intake.max_event_bytes << ")\n";
      ++failures;
      continue;
    }
    if (validate) {
      auto ev = intake::parse_event(*content);
      if (!ev) {
        std::cerr << file << ": " << ev.error().to_string() << "\n";
        ++failures;
        continue;
      }
    }
    const std::string name = intake::spool_write(paths, *content, clk, random);
    std::cout << file << " -> " << (paths.fresh / name).string() << "\n";
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace ts::daemon
