// Loads ticketsync's YAML configuration and reports every problem at once with
// file:line:col. The only user of yaml-cpp.
#pragma once

#include "config/config.hpp"

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace ts::config {

struct load_result {
  std::optional<config> cfg;         ///< set only when `errors` is empty
  std::vector<config_error> errors;  ///< every problem found, in file order
};

/// Reads and validates the file at `path`.
load_result load_config(const std::filesystem::path& path);

/// Parses `text` as if it were the file `name` (relative paths resolve against
/// the directory of `name`).
load_result load_config_from_string(std::string_view text, const std::string& name);

}  // namespace ts::config
