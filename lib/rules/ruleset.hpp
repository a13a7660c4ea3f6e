// Rule matching: the configured rules compiled once (regexes), and the
// decision for one event — which rule matched and why, why each earlier rule
// did not, the company and why, and the rendered ticket. Pure: the same
// decision feeds the engine, `explain` and the history.
#pragma once

#include "config/config.hpp"
#include "core/event.hpp"
#include "rules/mapping.hpp"
#include "rules/regex.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ts::rules {

/// How one rule fared against an event.
struct rule_check {
  std::string rule;
  int line = 0;  ///< where the rule is in the file (0: the default)
  bool matched = false;
  std::vector<std::string> why;  ///< matched: each condition that held; else the first that failed
};

struct decision {
  std::string rule = "default";                   ///< the rule that decided
  int rule_index = -1;                            ///< into config.rules; -1 = the top-level ticket (no rule matched)
  const config::ticket_config* ticket = nullptr;  ///< that rule's ticket section (points into the config)
  std::vector<rule_check> checks;                 ///< every rule tried, in order, up to and including the match
  company_choice company;
  std::optional<desired_ticket> desired;  ///< unset when held or when rendering failed
  std::optional<mapping_error> error;     ///< rendering failed (a template error)

  bool held() const noexcept { return company.held; }
};

class ruleset {
 public:
  /// Compiles the rules of `cfg` (kept alive by the ruleset). The config was
  /// validated by the loader, so every regex compiles; one that does not
  /// (a config built in code) never matches.
  explicit ruleset(std::shared_ptr<const config::config> cfg);

  decision decide(const ts::event& ev) const;

  /// The ticket section in effect for rule `name` (the default when no rule
  /// has that name any more, e.g. after a reload).
  const config::ticket_config& ticket_for(std::string_view rule_name) const;

  const config::config& cfg() const noexcept { return *cfg_; }

 private:
  struct compiled {
    std::optional<regex> title;
    std::vector<std::optional<regex>> attributes;  // per attribute condition (regex ones)
  };
  std::shared_ptr<const config::config> cfg_;
  std::vector<compiled> compiled_;
};

/// Whether `text` matches the glob `pattern` (`*` any run, `?` one byte).
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

/// Whether `ev` satisfies `m`, given the compiled regexes; `why` receives the
/// conditions that held, or the first that failed.
bool match_event(const config::match_spec& m, const std::optional<regex>& title,
                 const std::vector<std::optional<regex>>& attribute_res, const ts::event& ev,
                 std::vector<std::string>& why);

}  // namespace ts::rules
