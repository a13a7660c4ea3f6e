// What a reload changes: the settings that differ between the running
// configuration and a newly loaded one, each with what a reload does with it
// (applied at once, or only at the next restart), and the configuration that
// is actually in force after the reload. Pure: the daemon's SIGHUP handler
// loads the file, and logs and applies what these functions say.
#pragma once

#include "config/config.hpp"
#include "core/enum_text.hpp"

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::config {

/// What a reload does with a changed setting.
enum class reload_effect {
  live,     ///< applied by the reload
  restart,  ///< kept at its running value until the daemon restarts
};

/// One changed setting.
struct config_change {
  /// Dotted path of the key in the file ("psa.timeouts.connect", "admin.token");
  /// the mapping is named by its section: "companies", "ticket", "rules", "storm".
  std::string key;
  reload_effect effect = reload_effect::live;

  friend bool operator==(const config_change&, const config_change&) = default;
};

/// Every setting that differs between `running` and `next`, in the order of
/// the reference file (config/ticketsync.yaml); empty when nothing differs.
/// A change is `live` exactly when effective_config(running, next) holds the
/// new value. Not settings, and never reported: `source_path`, and where in
/// the file a rule is written (`rule::line`). A rule whose ticket differs only
/// because the top-level ticket it inherits from changed is reported as
/// "ticket", not also as "rules".
std::vector<config_change> diff_config(const config& running, const config& next);

/// The configuration in force after reloading `next` over `running`: `next`,
/// with every restart-only setting taken from `running`, so that whoever reads
/// it never sees a value that is not in effect. One exception to the table of
/// effects: while the running TCP listener (admin.listen) stays until the
/// restart, so does its token if `next` removes it, rather than leaving the
/// listener without one.
config effective_config(const config& running, const config& next);

/// The keys of the changes with `effect`, joined by ", " in order
/// ("psa.site, storage.database"); empty when there are none. For the log.
std::string describe(const std::vector<config_change>& changes, reload_effect effect);

}  // namespace ts::config

template <>
struct ts::enum_text<ts::config::reload_effect> {
  static constexpr std::array<std::pair<config::reload_effect, std::string_view>, 2> names{{
      {config::reload_effect::live, "live"},
      {config::reload_effect::restart, "restart"},
  }};
};
