// Regular expressions of the mapping rules: PCRE2 (Perl syntax, UTF-8), with
// match and depth limits so that no pattern and no input can make a match run
// away (std::regex recurses per character and can overflow the stack on long
// attribute values). Pure: no IO.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ts::rules {

class regex {
 public:
  /// Compiles `pattern` (UTF-8 mode, unanchored). On failure returns nullopt
  /// and sets `error` to PCRE2's message with the character offset, e.g.
  /// "missing closing parenthesis at offset 7".
  static std::optional<regex> compile(std::string_view pattern, std::string* error);

  /// Whether the pattern matches somewhere in `subject`. Invalid UTF-8 in the
  /// subject, or a match that hits the limits, counts as no match.
  bool search(std::string_view subject) const;

  const std::string& pattern() const noexcept { return pattern_; }

 private:
  struct code;
  regex(std::string pattern, std::shared_ptr<const code> c) : pattern_(std::move(pattern)), code_(std::move(c)) {}

  std::string pattern_;
  std::shared_ptr<const code> code_;  // shared: compiled code is immutable and thread-safe to match with
};

}  // namespace ts::rules
