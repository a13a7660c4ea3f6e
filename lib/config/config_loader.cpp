// Loads ticketsync's YAML configuration into ts::config::config. yaml-cpp only
// parses; everything else is ours: a `map_walker` visits one mapping at a time,
// hands out typed values with their positions, and remembers which keys it was
// asked about so that every key nobody asked about becomes an "unknown key"
// error (with a did-you-mean suggestion). All problems are collected, never
// just the first, and reported as file:line:col in file order. The schema
// itself is the read_* functions at the bottom, one per section, and mirrors
// config/ticketsync.yaml.

#include "config/config_loader.hpp"

#include "rules/mapping.hpp"
#include "rules/regex.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

namespace ts::config {
namespace {

namespace fs = std::filesystem;

//------------------------------------------------------------------------------
// Collecting problems

/// Every problem of one file. yaml-cpp marks are 0-based; config_error is 1-based.
class diagnostics {
 public:
  explicit diagnostics(std::string file) : file_(std::move(file)) {}

  /// Records `message` at `at` (a null mark gives a position-less error).
  void report(const YAML::Mark& at, std::string message) {
    if (given_up_) return;
    config_error e{file_, 0, 0, std::move(message)};
    if (!at.is_null()) {
      e.line = at.line + 1;
      e.column = at.column + 1;
    }
    errors_.push_back(std::move(e));
  }

  bool empty() const noexcept { return errors_.empty(); }
  std::size_t count() const noexcept { return errors_.size(); }

  /// Records `message`, then ignores every later report: the walk is abandoned.
  void give_up(const YAML::Mark& at, std::string message) {
    report(at, std::move(message));
    given_up_ = true;
  }

  /// The problems in file order (the walk visits sections out of order: a
  /// missing key is only known once a whole mapping has been seen).
  std::vector<config_error> take() && {
    std::stable_sort(errors_.begin(), errors_.end(), [](const config_error& a, const config_error& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(errors_);
  }

 private:
  std::string file_;
  std::vector<config_error> errors_;
  bool given_up_ = false;
};

/// What the walk needs besides the node: where to report, and the directory
/// relative paths resolve against.
struct walk_context {
  diagnostics& diag;
  fs::path base_dir;
  /// Values the walk may still visit. YAML aliases let a small file expand to
  /// billions of values (a list referenced by every rule, rules that are all
  /// one alias, ...); a real configuration has a few thousand at most.
  std::size_t values_left = 200'000;

  /// Takes `n` values from the budget; when it is exhausted, reports that
  /// once, abandons the walk and returns false.
  bool take(std::size_t n, const YAML::Mark& at) {
    if (n <= values_left) {
      values_left -= n;
      return true;
    }
    values_left = 0;
    diag.give_up(at, "the configuration expands to more than 200000 values (through YAML aliases?); giving up");
    return false;
  }
};

// A node's kind in words, for "expected X, got Y". Scalars are never quoted
// back: the value might be a secret pasted into the wrong place.
const char* describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar value";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "an undefined value";
}

// Quotes a (non-secret) value for a message, cut to a readable length.
std::string quote(std::string_view text) {
  constexpr std::size_t max_shown = 40;
  if (text.size() > max_shown) {
    // Cut before a UTF-8 continuation byte's sequence, never inside it.
    std::size_t cut = max_shown;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return "'" + std::string(text.substr(0, cut)) + "...'";
  }
  return "'" + std::string(text) + "'";
}

// yaml-cpp's messages may quote a raw byte of the input ("unknown escape
// character: \xF5"): such bytes, and control characters, are shown as \xNN so
// that a message is always printable UTF-8.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F) {
      out.push_back(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned>(b));
      out += hex;
    }
  }
  return out;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions,
// so "stauts" is one edit from "status").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t w = b.size() + 1;
  std::vector<std::size_t> d((a.size() + 1) * w);
  for (std::size_t i = 0; i <= a.size(); ++i) d[i * w] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best = std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        best = std::min(best, d[(i - 2) * w + j - 2] + 1);
      d[i * w + j] = best;
    }
  }
  return d[a.size() * w + b.size()];
}

//------------------------------------------------------------------------------
// Parsing scalar values. Each parser returns an error message (without the
// key's name) or nullopt and sets `out`.

using parse_error = std::optional<std::string>;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Non-negative decimal integer, the whole text.
std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (!all_digits(text)) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Splits "10s" / "10 s" into the number and the unit.
std::pair<std::string_view, std::string_view> split_number_unit(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return {text.substr(0, i), unit};
}

// Multiplies with an overflow check.
std::optional<std::uint64_t> scaled(std::uint64_t n, std::uint64_t factor) {
  if (n > std::numeric_limits<std::uint64_t>::max() / factor) return std::nullopt;
  return n * factor;
}

/// "<int>ms|s|m|h", > 0.
parse_error parse_duration(std::string_view text, std::chrono::milliseconds& out) {
  const std::string wanted = "expected a duration such as 500ms, 10s, 2m, 1h or 7d, got " + quote(text);
  const auto [digits, unit] = split_number_unit(text);
  const auto n = parse_u64(digits);
  if (!n) return wanted;
  if (unit.empty()) return "a duration needs a unit (ms, s, m, h or d), got " + quote(text);
  std::uint64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1'000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return wanted;
  const auto ms = scaled(*n, factor);
  if (!ms || *ms > static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max()))
    return "duration " + quote(text) + " is too large";
  if (*ms == 0) return "duration must be greater than zero";
  out = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*ms));
  return std::nullopt;
}

/// Integer bytes or "<int>B|KiB|MiB|GiB".
parse_error parse_size(std::string_view text, std::uint64_t& out) {
  const std::string wanted = "expected a size in bytes or such as 512KiB, 8MiB or 1GiB, got " + quote(text);
  const auto [digits, unit] = split_number_unit(text);
  const auto n = parse_u64(digits);
  if (!n) return wanted;
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B")
    factor = 1;
  else if (unit == "KiB")
    factor = std::uint64_t{1} << 10;
  else if (unit == "MiB")
    factor = std::uint64_t{1} << 20;
  else if (unit == "GiB")
    factor = std::uint64_t{1} << 30;
  else
    return wanted;
  const auto bytes = scaled(*n, factor);
  if (!bytes) return "size " + quote(text) + " is too large";
  out = *bytes;
  return std::nullopt;
}

// "16MiB" rather than "16777216" in range messages.
std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (std::uint64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (std::uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (std::uint64_t{1} << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes) + "B";
}

//------------------------------------------------------------------------------
// Checks of string values (nullopt = fine)

using string_check = parse_error (*)(std::string_view);

parse_error check_site(std::string_view site) {
  for (std::string_view region : {"na", "eu", "au", "aus", "za", "staging"})
    if (site == region) return std::nullopt;
  const std::string_view https = "https://";
  if (site.starts_with("http://")) return std::string("plain http:// is not allowed: TLS is required (use https://)");
  if (!site.starts_with(https))
    return "must be one of na, eu, au, aus, za, staging, or an https:// URL, got " + quote(site);
  std::string_view rest = site.substr(https.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos)
    return "an https:// site is https://host[:port] only (no path, query or fragment), got " + quote(site);
  if (rest.find('@') != std::string_view::npos)
    return std::string("an https:// site must not carry credentials; use public_key/private_key");
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {  // IPv6 literal
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address in " + quote(site);
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return "invalid host in " + quote(site);
    if (!after.empty()) port = after.substr(1);
    if (host.size() == 2 || host.find_first_not_of("[]:.0123456789abcdefABCDEF") != std::string_view::npos)
      return "invalid IPv6 address in " + quote(site);
  } else {
    if (const std::size_t colon = rest.find(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return "missing port after ':' in " + quote(site);
    }
    const bool host_ok =
        !host.empty() && !host.starts_with('.') && !host.starts_with('-') &&
        std::all_of(host.begin(), host.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        });
    if (!host_ok) return "invalid host name in " + quote(site);
  }
  if (!port.empty()) {
    const auto p = parse_u64(port);
    if (!p || *p == 0 || *p > 65535) return "port must be a number from 1 to 65535 in " + quote(site);
  }
  return std::nullopt;
}

parse_error check_api_version(std::string_view v) {
  const std::size_t dot = v.find('.');
  if (dot == 4 && all_digits(v.substr(0, 4)) && all_digits(v.substr(5))) return std::nullopt;
  return "expected a ConnectWise API version YYYY.N such as 2025.8, got " + quote(v);
}

parse_error check_codebase(std::string_view v) {
  if (v.empty() || v.ends_with('/')) return std::nullopt;
  return "must end with '/' (such as v2025_1/), got " + quote(v);
}

// ConnectWise limits a company identifier to 30 characters.
parse_error check_company_identifier(std::string_view v) {
  constexpr std::size_t max_length = 30;
  if (v.empty()) return std::string("company identifier must not be empty");
  if (v.size() > max_length)
    return "company identifier has " + std::to_string(v.size()) + " characters; ConnectWise allows at most 30";
  return std::nullopt;
}

parse_error check_not_empty(std::string_view v) {
  if (v.empty()) return std::string("must not be empty");
  return std::nullopt;
}

// One of an enum's configuration names (ts::enum_text).
template <text_enum E>
parse_error check_choice(std::string_view v) {
  if (from_text<E>(v)) return std::nullopt;
  return "must be one of " + text_choices<E>() + ", got " + quote(v);
}

parse_error check_on_update(std::string_view v) { return check_choice<on_update_policy>(v); }

parse_error check_on_resolve(std::string_view v) { return check_choice<on_resolve_policy>(v); }

parse_error check_on_technician_close(std::string_view v) { return check_choice<technician_close_policy>(v); }

parse_error check_on_ticket_deleted(std::string_view v) { return check_choice<ticket_deleted_policy>(v); }

parse_error check_field_owner(std::string_view v) { return check_choice<field_owner>(v); }

parse_error check_unmapped(std::string_view v) { return check_choice<unmapped_policy>(v); }

parse_error check_cw_level(std::string_view v) {
  if (v == "Low" || v == "Medium" || v == "High") return std::nullopt;
  return "must be one of Low, Medium, High (as ConnectWise spells them), got " + quote(v);
}

parse_error check_severity(std::string_view v) {
  if (ts::from_text<ts::severity>(v)) return std::nullopt;
  return "must be one of critical, high, medium, low, info, got " + quote(v);
}

// A mustache template that renders (syntax only: unknown names render empty).
parse_error check_template(std::string_view v) {
  auto r = rules::render_template("template", v, nlohmann::json::object());
  if (r) return std::nullopt;
  std::string what = r.error().what;
  constexpr std::string_view prefix = "template 'template': ";
  if (what.starts_with(prefix)) what.erase(0, prefix.size());
  return "bad template: " + what;
}

parse_error check_non_empty_template(std::string_view v) {
  if (v.empty()) return std::string("must not be empty");
  return check_template(v);
}

parse_error check_regex(std::string_view v) {
  std::string why;
  if (rules::regex::compile(v, &why)) return std::nullopt;
  return "bad regular expression: " + why;
}

parse_error check_json_pointer(std::string_view v) {
  if (v.empty() || v.front() != '/') return "a JSON pointer starts with '/', such as /host/os, got " + quote(v);
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] == '~' && (i + 1 >= v.size() || (v[i + 1] != '0' && v[i + 1] != '1')))
      return "'~' in a JSON pointer must be followed by 0 or 1, got " + quote(v);
  return std::nullopt;
}

parse_error check_log_level(std::string_view v) {
  for (std::string_view level : {"trace", "debug", "info", "warn", "error"})
    if (v == level) return std::nullopt;
  return "must be one of trace, debug, info, warn, error, got " + quote(v);
}

// systemd credential names: a file name, no '/'.
parse_error check_credential_name(std::string_view v) {
  if (v.empty() || v == "." || v == ".." || v.find('/') != std::string_view::npos ||
      v.find('\0') != std::string_view::npos)
    return "expected a credential name (as in LoadCredential=NAME:PATH, no '/'), got " + quote(v);
  return std::nullopt;
}

parse_error check_log_format(std::string_view v) { return check_choice<logging_config::format>(v); }

// HOST:PORT with a numeric port 1..65535; an IPv6 host in brackets.
parse_error check_listen(std::string_view v) {
  const auto colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return "expected HOST:PORT, such as 127.0.0.1:9187, got " + quote(v);
  const std::string_view port = v.substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p > 65535)
    return "port must be a number from 0 (any free port) to 65535, got " + quote(v);
  const std::string_view host = v.substr(0, colon);
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos)
    return "an IPv6 address goes in brackets, such as [::1]:9187, got " + quote(v);
  return std::nullopt;
}

parse_error check_file_mode(std::string_view v) {
  unsigned m = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), m, 8);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || m > 0777)
    return "expected an octal file mode such as 0660, got " + quote(v);
  return std::nullopt;
}

parse_error check_env_name(std::string_view v) {
  const bool ok = !v.empty() && !(v.front() >= '0' && v.front() <= '9') && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (ok) return std::nullopt;
  return "expected an environment variable name (letters, digits, '_'), got " + quote(v);
}

//------------------------------------------------------------------------------
// The walker

enum class need { optional, required };

/// One `key: value` pair of a mapping.
struct entry {
  std::string key;
  std::string name;  ///< dotted path for messages, e.g. "psa.timeouts.connect"
  YAML::Node key_node;
  YAML::Node value;
  bool used = false;       ///< asked for by the schema (or reported otherwise)
  bool duplicate = false;  ///< a later repetition of a key; never read

  /// Where a problem with the value is reported. A missing value ("key:")
  /// has no position of its own worth showing (yaml-cpp puts it on the next
  /// line), so the key's is used.
  YAML::Mark value_mark() const { return value.IsNull() ? key_node.Mark() : value.Mark(); }
};

/// Walks one YAML mapping. The getters take a key, look it up, check the
/// value's type and content, and write it into a config field; problems go to
/// the diagnostics with the offending node's position and the field keeps its
/// default. Every key asked about is remembered as known, so finish() can
/// report the rest as unknown, with a suggestion among the known ones.
///
/// Absent keys, and keys whose value is null ("ca_file:" or "~"), leave the
/// field at its default; when required, they are reported as missing (at the
/// mapping's position, or at the key's when the key is there without value).
class map_walker {
 public:
  /// REQUIRES: node.IsMap(). `name` is the dotted path ("" for the document).
  /// Reports non-string keys and duplicate keys right away.
  map_walker(const YAML::Node& node, std::string name, walk_context& ctx)
      : node_(node), name_(std::move(name)), ctx_(ctx) {
    if (!ctx_.take(node_.size(), node_.Mark())) return;
    for (const auto& kv : node_) {
      entry e;
      e.key_node = kv.first;
      e.value = kv.second;
      if (!kv.first.IsScalar()) {
        ctx_.diag.report(kv.first.Mark(),
                         "keys must be plain strings, got " + std::string(describe(kv.first)) + where());
        e.used = true;
        continue;  // not kept: nothing can ask for it
      }
      e.key = kv.first.Scalar();
      e.name = name_.empty() ? e.key : name_ + "." + e.key;
      if (const entry* first = find(e.key)) {
        const YAML::Mark m = first->key_node.Mark();
        ctx_.diag.report(e.key_node.Mark(),
                         "duplicate key '" + e.name + "' (first defined at line " + std::to_string(m.line + 1) + ")");
        e.duplicate = true;
        e.used = true;
      }
      entries_.push_back(std::move(e));
    }
  }

  map_walker(const map_walker&) = delete;
  map_walker& operator=(const map_walker&) = delete;

  /// Text value. `check` (optional) vets the text; required strings must not be empty.
  void string(std::string_view key, std::string& out, need n = need::optional, string_check check = nullptr) {
    if (n == need::required && check == nullptr) check = check_not_empty;
    get_scalar(key, n, "a string", [&](std::string_view text) -> parse_error {
      if (check != nullptr)
        if (auto err = check(text)) return err;
      out = std::string(text);
      return std::nullopt;
    });
  }

  /// A filesystem path; a relative one is resolved against the configuration
  /// file's directory. An empty value is accepted only when `allow_empty`.
  void path(std::string_view key, std::string& out, need n, bool allow_empty) {
    std::string text;
    bool ok = false;
    get_scalar(key, n, "a path", [&](std::string_view t) -> parse_error {
      if (t.empty() && !allow_empty) return std::string("must not be empty");
      text = std::string(t);
      ok = true;
      return std::nullopt;
    });
    if (ok) out = resolve(text);
  }

  /// A string or a list of strings, each vetted by `check`. Returns whether
  /// the key was present.
  bool strings(std::string_view key, std::vector<std::string>& out, string_check check = check_not_empty) {
    entry* e = lookup(key, need::optional);
    if (e == nullptr) return false;
    auto take = [&](const YAML::Node& n, const std::string& name) {
      if (!n.IsScalar()) {
        ctx_.diag.report(n.Mark(), name + ": expected a string, got " + describe(n));
        return;
      }
      if (check != nullptr)
        if (auto err = check(n.Scalar())) {
          ctx_.diag.report(n.Mark(), name + ": " + *err);
          return;
        }
      out.push_back(n.Scalar());
    };
    if (e->value.IsSequence()) {
      if (!ctx_.take(e->value.size(), e->value.Mark())) return true;
      if (e->value.size() == 0) ctx_.diag.report(e->value_mark(), e->name + ": the list must not be empty");
      for (std::size_t i = 0; i < e->value.size(); ++i) take(e->value[i], e->name + "[" + std::to_string(i) + "]");
    } else {
      take(e->value, e->name);
    }
    return true;
  }

  /// Integer in [lo, hi].
  template <class Int>
  void integer(std::string_view key, Int& out, std::int64_t lo, std::int64_t hi) {
    get_scalar(key, need::optional, "an integer", [&](std::string_view text) -> parse_error {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size())
        return "expected an integer, got " + quote(text);
      if (ec == std::errc::result_out_of_range || v < lo || v > hi)
        return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + quote(text);
      out = static_cast<Int>(v);
      return std::nullopt;
    });
  }

  /// Decimal number in (lo, hi].
  void number(std::string_view key, double& out, double lo_exclusive, double hi) {
    get_scalar(key, need::optional, "a number", [&](std::string_view text) -> parse_error {
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v))
        return "expected a number, got " + quote(text);
      if (!(v > lo_exclusive) || v > hi) {
        char range[64];
        std::snprintf(range, sizeof range, "must be greater than %g and at most %g", lo_exclusive, hi);
        return std::string(range) + ", got " + quote(text);
      }
      out = v;
      return std::nullopt;
    });
  }

  /// Duration ("500ms", "10s", "2m", "1h", "7d"), > 0 (or >= 0 when `allow_zero`).
  void duration(std::string_view key, std::chrono::milliseconds& out, bool allow_zero = false) {
    get_scalar(key, need::optional, "a duration", [&](std::string_view text) -> parse_error {
      if (allow_zero && text == "0") {
        out = std::chrono::milliseconds{0};
        return std::nullopt;
      }
      return parse_duration(text, out);
    });
  }

  /// Size in bytes ("4096", "256KiB", "8MiB"), in [lo, hi].
  void size(std::string_view key, std::size_t& out, std::uint64_t lo, std::uint64_t hi) {
    get_scalar(key, need::optional, "a size", [&](std::string_view text) -> parse_error {
      std::uint64_t bytes = 0;
      if (auto err = parse_size(text, bytes)) return err;
      if (bytes < lo || bytes > hi) {
        if (hi == std::numeric_limits<std::uint64_t>::max())
          return lo == 1 ? std::string("must be greater than zero") : "must be at least " + format_size(lo);
        return "must be between " + format_size(lo) + " and " + format_size(hi) + ", got " + quote(text);
      }
      out = static_cast<std::size_t>(bytes);
      return std::nullopt;
    });
  }

  /// Walks the mapping at `key` with `fn(map_walker&)`, then reports its
  /// unknown keys. Returns whether the section was present and a mapping.
  template <class Fn>
  bool section(std::string_view key, need n, Fn&& fn) {
    entry* e = lookup(key, n);
    if (e == nullptr) return false;
    if (!e->value.IsMap()) {
      ctx_.diag.report(e->value_mark(), e->name + ": expected a mapping, got " + describe(e->value));
      return false;
    }
    map_walker inner(e->value, e->name, ctx_);
    std::forward<Fn>(fn)(inner);
    inner.finish();
    return true;
  }

  /// The raw entry at `key`, for shapes the getters don't cover; nullptr when
  /// absent or null (reported when required).
  entry* raw(std::string_view key, need n) { return lookup(key, n); }

  /// Whether `key` is present with a non-null value (does not mark it known).
  bool has(std::string_view key) const {
    const entry* e = find(key);
    return e != nullptr && !e->value.IsNull();
  }

  /// Every first occurrence of a key, each marked used: for mappings whose
  /// keys are data (companies.tenants), not schema.
  std::vector<entry*> all_entries() {
    std::vector<entry*> out;
    for (entry& e : entries_) {
      if (e.duplicate) continue;
      e.used = true;
      out.push_back(&e);
    }
    return out;
  }

  YAML::Mark mark() const { return node_.Mark(); }
  const std::string& name() const noexcept { return name_; }
  walk_context& context() noexcept { return ctx_; }

  /// Reports every key no getter asked for. Call once, after all getters.
  void finish() {
    for (const entry& e : entries_) {
      if (e.used) continue;
      std::string message = "unknown key '" + e.key + "'" + where();
      if (auto suggestion = closest_known(e.key)) message += "; did you mean '" + *suggestion + "'?";
      ctx_.diag.report(e.key_node.Mark(), std::move(message));
    }
  }

 private:
  std::string where() const { return name_.empty() ? " at the top level" : " in '" + name_ + "'"; }

  const entry* find(std::string_view key) const {
    for (const entry& e : entries_)
      if (!e.duplicate && e.key == key) return &e;
    return nullptr;
  }
  entry* find(std::string_view key) { return const_cast<entry*>(std::as_const(*this).find(key)); }

  // Marks `key` known and returns its entry when it has a value; reports a
  // missing required key.
  entry* lookup(std::string_view key, need n) {
    known_.emplace_back(key);
    entry* e = find(key);
    if (e != nullptr) e->used = true;
    if (e != nullptr && !e->value.IsNull()) return e;
    if (n == need::required) {
      const std::string full = name_.empty() ? std::string(key) : name_ + "." + std::string(key);
      if (e != nullptr)
        ctx_.diag.report(e->key_node.Mark(), full + ": a value is required");
      else
        ctx_.diag.report(mark(), "missing required key '" + full + "'");
    }
    return nullptr;
  }

  // Looks up a scalar and hands its text to `parse`, which returns an error
  // message or nullopt; errors are reported at the value as "<name>: <error>".
  template <class Parse>
  void get_scalar(std::string_view key, need n, const char* expected, Parse&& parse) {
    entry* e = lookup(key, n);
    if (e == nullptr) return;
    if (!e->value.IsScalar()) {
      ctx_.diag.report(e->value_mark(), e->name + ": expected " + expected + ", got " + describe(e->value));
      return;
    }
    if (auto err = parse(std::string_view(e->value.Scalar()))) ctx_.diag.report(e->value_mark(), e->name + ": " + *err);
  }

  std::string resolve(const std::string& text) const {
    const fs::path p(text);
    if (text.empty() || p.is_absolute()) return text;
    return (ctx_.base_dir / p).lexically_normal().string();
  }

  std::optional<std::string> closest_known(std::string_view key) const {
    constexpr std::size_t max_distance = 2;
    std::optional<std::string> best;
    std::size_t best_distance = max_distance + 1;
    for (const std::string& candidate : known_) {
      const std::size_t d = edit_distance(key, candidate);
      // d < key.size(): a two-letter typo is not "close" to every short key.
      if (d < best_distance && d < key.size()) {
        best = candidate;
        best_distance = d;
      }
    }
    return best;
  }

  YAML::Node node_;
  std::string name_;
  walk_context& ctx_;
  std::vector<entry> entries_;
  std::vector<std::string> known_;  ///< in schema order, so ties suggest the first
};

//------------------------------------------------------------------------------
// The schema, one function per section (reference: config/ticketsync.yaml)

// A secret: `{file: PATH}`, `{env: NAME}` or `{credential: NAME}` (a systemd
// credential), never the value inline. `what` names it in messages.
void read_secret(map_walker& w, std::string_view key, need n, secret_ref& out, std::string_view what) {
  entry* e = w.raw(key, n);
  if (e == nullptr) return;
  diagnostics& diag = w.context().diag;
  const std::string forms = "'file: PATH', 'credential: NAME' (systemd LoadCredential=) or 'env: NAME'";
  if (e->value.IsScalar()) {
    // Never echo the value: it is most likely the secret itself.
    diag.report(e->value_mark(),
                e->name + ": the " + std::string(what) + " must not be written inline; reference it with " + forms);
    return;
  }
  if (!e->value.IsMap()) {
    diag.report(e->value_mark(), e->name + ": expected a mapping with " + forms + ", got " + describe(e->value));
    return;
  }
  map_walker m(e->value, e->name, w.context());
  std::string file, env, credential;
  m.path("file", file, need::optional, false);
  m.string("credential", credential, need::optional, check_credential_name);
  m.string("env", env, need::optional, check_env_name);
  m.finish();
  const int given = int{m.has("file")} + int{m.has("credential")} + int{m.has("env")};
  if (given > 1) {
    diag.report(m.mark(), e->name + ": give exactly one of 'file', 'credential' or 'env'");
  } else if (given == 0) {
    diag.report(m.mark(), e->name + ": needs " + forms);
  } else if (!file.empty()) {
    out = {secret_ref::kind::file, file};
  } else if (!credential.empty()) {
    out = {secret_ref::kind::credential, credential};
  } else if (!env.empty()) {
    out = {secret_ref::kind::env, env};
  }
}

void read_psa(map_walker& w, psa_config& p) {
  constexpr auto no_limit = std::numeric_limits<std::uint64_t>::max();
  w.string("site", p.site, need::required, check_site);
  w.string("company_id", p.company_id, need::required);
  w.string("public_key", p.public_key, need::required);
  read_secret(w, "private_key", need::required, p.private_key, "private key");
  w.string("client_id", p.client_id, need::required);
  w.string("api_version", p.api_version, need::optional, check_api_version);
  w.string("codebase", p.codebase, need::optional, check_codebase);
  w.path("ca_file", p.ca_file, need::optional, true);
  w.section("timeouts", need::optional, [&](map_walker& t) {
    t.duration("connect", p.connect_timeout);
    t.duration("handshake", p.handshake_timeout);
    t.duration("request", p.request_timeout);
  });
  w.size("max_response_size", p.max_response_bytes, 1, no_limit);
  w.integer("max_connections", p.max_connections, 1, 64);
  w.number("requests_per_minute", p.requests_per_minute, 0, 600000);
}

// `tenant: COMPANY` entries of one mapping into `out`.
void read_tenant_map(map_walker& t, std::map<std::string, std::string>& out) {
  for (entry* e : t.all_entries()) {
    if (e->key.empty()) {
      t.context().diag.report(e->key_node.Mark(), t.name() + ": tenant names must not be empty");
      continue;
    }
    std::string company;
    t.string(e->key, company, need::required, check_company_identifier);
    if (!company.empty()) out[e->key] = company;
  }
}

void read_companies(map_walker& w, companies_config& c) {
  w.string("default", c.default_company, need::optional, check_company_identifier);
  std::string unmapped;
  w.string("unmapped", unmapped, need::optional, check_unmapped);
  w.section("tenants", need::optional, [&](map_walker& t) { read_tenant_map(t, c.tenants); });
  w.section("sources", need::optional, [&](map_walker& s) {
    for (entry* e : s.all_entries()) {
      if (e->key.empty()) {
        s.context().diag.report(e->key_node.Mark(), s.name() + ": source names must not be empty");
        continue;
      }
      s.section(e->key, need::required, [&](map_walker& t) { read_tenant_map(t, c.by_source[e->key]); });
    }
  });
  c.unmapped = !c.default_company.empty() ? unmapped_policy::default_company : unmapped_policy::hold;
  if (unmapped == "hold") c.unmapped = unmapped_policy::hold;
  if (unmapped == "default") {
    if (c.default_company.empty() && !w.has("default"))
      w.context().diag.report(w.mark(), "companies: 'unmapped: default' needs a 'default' company");
    c.unmapped = unmapped_policy::default_company;
  }
}

constexpr ts::severity all_severities[] = {ts::severity::critical, ts::severity::high, ts::severity::medium,
                                           ts::severity::low, ts::severity::info};

// `key: VALUE` (every severity) or `key: {critical: VALUE, ..., info: VALUE}`.
void read_by_severity(map_walker& w, std::string_view key, std::map<ts::severity, std::string>& out, need n,
                      string_check check) {
  entry* e = w.raw(key, n);
  if (e == nullptr) return;
  if (e->value.IsMap()) {
    std::map<ts::severity, std::string> m;
    w.section(key, need::required, [&](map_walker& s) {
      for (ts::severity sev : all_severities) s.string(ts::to_text(sev), m[sev], need::required, check);
    });
    out = std::move(m);
    return;
  }
  std::string value;
  w.string(key, value, need::required, check);
  if (!value.empty())
    for (ts::severity sev : all_severities) out[sev] = value;
}

// The keys of a `ticket` mapping, applied over `t`. The top-level ticket must
// name board, status and priority; a rule's inherits what it does not set.
void read_ticket(map_walker& w, ticket_config& t, bool top_level) {
  const need base = top_level ? need::required : need::optional;
  w.string("board", t.board, base, check_not_empty);
  w.string("status", t.status, base, check_not_empty);
  w.string("closed_status", t.closed_status, need::optional, check_not_empty);
  w.string("reopen_status", t.reopen_status);
  read_by_severity(w, "priority", t.priority, base, check_not_empty);
  read_by_severity(w, "severity", t.cw_severity, need::optional, check_cw_level);
  read_by_severity(w, "impact", t.cw_impact, need::optional, check_cw_level);
  w.string("type", t.type);
  w.string("subtype", t.subtype);
  w.string("item", t.item);
  w.string("team", t.team);
  w.string("source", t.source);
  if (!t.subtype.empty() && t.type.empty() && (w.has("subtype") || w.has("type")))
    w.context().diag.report(w.mark(), w.name() + ": 'subtype' needs a 'type'");
  w.string("summary", t.summary_template, need::optional, check_non_empty_template);
  w.string("description", t.description_template, need::optional, check_template);
  w.section("custom_fields", need::optional, [&](map_walker& c) {
    for (entry* e : c.all_entries()) {
      if (e->key.empty()) {
        c.context().diag.report(e->key_node.Mark(), c.name() + ": custom field captions must not be empty");
        continue;
      }
      std::string value;
      c.string(e->key, value, need::required, check_template);
      if (!value.empty()) t.custom_fields[e->key] = value;
    }
  });
  w.section("notes", need::optional, [&](map_walker& n) {
    n.string("update", t.update_note_template, need::optional, check_non_empty_template);
    n.string("resolve", t.resolve_note_template, need::optional, check_template);
    n.string("reopen", t.reopen_note_template, need::optional, check_non_empty_template);
  });
  w.section("lifecycle", need::optional, [&](map_walker& l) {
    std::string on_update, on_resolve, on_tech;
    l.string("on_update", on_update, need::optional, check_on_update);
    l.string("on_resolve", on_resolve, need::optional, check_on_resolve);
    if (auto v = from_text<on_update_policy>(on_update)) t.lifecycle.on_update = *v;
    if (auto v = from_text<on_resolve_policy>(on_resolve)) t.lifecycle.on_resolve = *v;
    l.duration("reopen_window", t.lifecycle.reopen_window, true);
    l.string("on_technician_close", on_tech, need::optional, check_on_technician_close);
    if (auto v = from_text<technician_close_policy>(on_tech)) t.lifecycle.on_technician_close = *v;
    std::string on_deleted, priority_owner;
    l.string("on_ticket_deleted", on_deleted, need::optional, check_on_ticket_deleted);
    if (auto v = from_text<ticket_deleted_policy>(on_deleted)) t.lifecycle.on_ticket_deleted = *v;
    l.string("priority_owner", priority_owner, need::optional, check_field_owner);
    if (auto v = from_text<field_owner>(priority_owner)) t.lifecycle.priority_owner = *v;
  });
}

void read_match(map_walker& m, match_spec& out) {
  m.strings("source", out.sources);
  m.strings("tenant", out.tenants);
  std::vector<std::string> sev;
  m.strings("severity", sev, check_severity);
  for (const auto& s : sev) out.severities.push_back(*ts::from_text<ts::severity>(s));
  std::string min;
  m.string("min_severity", min, need::optional, check_severity);
  if (!min.empty()) out.min_severity = ts::from_text<ts::severity>(min);
  m.strings("category", out.categories);
  m.section("tags", need::optional, [&](map_walker& t) {
    t.strings("any", out.tags_any);
    t.strings("all", out.tags_all);
    if (!t.has("any") && !t.has("all")) t.context().diag.report(t.mark(), t.name() + ": needs 'any' or 'all'");
  });
  m.string("title", out.title_regex, need::optional, check_regex);
  if (entry* e = m.raw("attributes", need::optional)) {
    diagnostics& diag = m.context().diag;
    if (!e->value.IsSequence()) {
      diag.report(e->value_mark(),
                  e->name + ": expected a list of {pointer, equals|in|regex}, got " + describe(e->value));
      return;
    }
    for (std::size_t i = 0; i < e->value.size(); ++i) {
      const YAML::Node& item = e->value[i];
      const std::string name = e->name + "[" + std::to_string(i) + "]";
      if (!item.IsMap()) {
        diag.report(item.Mark(), name + ": expected a mapping {pointer, equals|in|regex}, got " + describe(item));
        continue;
      }
      map_walker a(item, name, m.context());
      attribute_match am;
      a.string("pointer", am.pointer, need::required, check_json_pointer);
      // Known even when absent or null, so a misspelt one gets a suggestion.
      for (std::string_view op : {"equals", "in", "regex"}) a.raw(op, need::optional);
      int ops = 0;
      if (a.has("equals")) {
        ++ops;
        std::string v;
        a.string("equals", v);
        am.what = attribute_match::op::equals;
        am.values = {v};
      }
      if (a.has("in")) {
        ++ops;
        am.what = attribute_match::op::in;
        a.strings("in", am.values, nullptr);
      }
      if (a.has("regex")) {
        ++ops;
        am.what = attribute_match::op::regex;
        a.string("regex", am.regex, need::required, check_regex);
      }
      a.finish();
      if (ops != 1) diag.report(item.Mark(), name + ": give exactly one of 'equals', 'in' or 'regex'");
      out.attributes.push_back(std::move(am));
    }
  }
}

void read_rules(map_walker& w, config& cfg) {
  entry* e = w.raw("rules", need::optional);
  if (e == nullptr) return;
  diagnostics& diag = w.context().diag;
  if (!e->value.IsSequence()) {
    diag.report(e->value_mark(), "rules: expected a list of rules, got " + std::string(describe(e->value)));
    return;
  }
  std::map<std::string, int> names;      // name -> line
  std::optional<std::size_t> catch_all;  // index of the first rule without conditions
  for (std::size_t i = 0; i < e->value.size(); ++i) {
    const YAML::Node& item = e->value[i];
    const std::string where = "rules[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      diag.report(item.Mark(), where + ": expected a mapping with name, match and ticket, got " + describe(item));
      continue;
    }
    // Each rule copies the top-level ticket's custom fields.
    if (!w.context().take(cfg.ticket.custom_fields.size(), item.Mark())) return;
    rule r;
    r.line = item.Mark().line + 1;
    r.ticket = cfg.ticket;
    map_walker rw(item, where, w.context());
    rw.string("name", r.name, need::required);
    // "default" is how decisions and the history name the top-level ticket.
    if (r.name == "default") {
      diag.report(rw.raw("name", need::optional)->value_mark(),
                  where +
                      ".name: 'default' is reserved for the top-level ticket (used when no rule matches); "
                      "choose another name");
    }
    if (!r.name.empty()) {
      if (auto [it, fresh] = names.emplace(r.name, r.line); !fresh)
        diag.report(item.Mark(), where + ": duplicate rule name '" + r.name + "' (first at line " +
                                     std::to_string(it->second) + ")");
    }
    const std::size_t errors_before = diag.count();
    rw.section("match", need::optional, [&](map_walker& m) { read_match(m, r.match); });
    // A `match` whose conditions had errors lost them: not a catch-all.
    const bool match_ok = diag.count() == errors_before;
    rw.section("ticket", need::optional, [&](map_walker& t) { read_ticket(t, r.ticket, false); });
    rw.finish();
    if (catch_all)
      diag.report(item.Mark(), where + ": rule '" + r.name + "' can never match: rule '" + cfg.rules[*catch_all].name +
                                   "' (line " + std::to_string(cfg.rules[*catch_all].line) +
                                   ") above it matches every event; move it below, or give that rule a 'match'");
    cfg.rules.push_back(std::move(r));
    if (!catch_all && match_ok && cfg.rules.back().match.catch_all()) catch_all = cfg.rules.size() - 1;
  }
}

void read_storm(map_walker& w, storm_config& s) {
  w.integer("max_new_tickets_per_hour", s.max_new_tickets_per_hour, 0, 1'000'000);
  w.string("digest_summary", s.digest_summary, need::optional, check_non_empty_template);
  w.string("digest_note", s.digest_note, need::optional, check_non_empty_template);
}

void read_reverse(map_walker& w, reverse_config& r) {
  w.duration("poll_interval", r.poll_interval);
  w.duration("existence_interval", r.existence_interval);
  w.integer("page_size", r.page_size, 1, 1'000);
  w.string("callback_url", r.callback_url, need::optional, [](std::string_view v) -> parse_error {
    if (v.empty() || v.rfind("https://", 0) == 0) return std::nullopt;
    return "must be an https:// URL (ConnectWise posts callbacks over HTTPS), got " + quote(v);
  });
  w.string("callback_path", r.callback_path, need::optional, [](std::string_view v) -> parse_error {
    if (!v.empty() && v.front() == '/' && v.find_first_of("?# ") == std::string_view::npos) return std::nullopt;
    return "must be a path starting with '/', without query or blanks, got " + quote(v);
  });
  w.strings("key_hosts", r.key_hosts);
  if (r.poll_interval < std::chrono::seconds{1})
    w.context().diag.report(w.mark(), "reverse.poll_interval: must be at least 1s");
  if (r.existence_interval < std::chrono::seconds{1})
    w.context().diag.report(w.mark(), "reverse.existence_interval: must be at least 1s");
}

void read_intake(map_walker& w, intake_config& in) {
  w.path("spool_dir", in.spool_dir, need::optional, false);
  w.size("max_event_size", in.max_event_bytes, std::uint64_t{1} << 10, std::uint64_t{16} << 20);
  w.duration("rescan_interval", in.rescan_interval);
  w.integer("batch_size", in.batch_size, 1, 10'000);
}

void read_admin(map_walker& w, admin_config& a) {
  w.path("socket", a.socket, need::optional, true);
  std::string mode;
  w.string("socket_mode", mode, need::optional, check_file_mode);
  if (!mode.empty()) a.socket_mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
  w.string("socket_group", a.socket_group);
  w.string("listen", a.listen, need::optional,
           [](std::string_view v) -> parse_error { return v.empty() ? std::nullopt : check_listen(v); });
  read_secret(w, "token", need::optional, a.token, "admin token");
  w.size("max_body_size", a.max_body_bytes, std::uint64_t{1} << 10, std::uint64_t{64} << 20);
  w.integer("max_inbox_depth", a.max_inbox_depth, 1, 100'000'000);
  w.integer("max_connections", a.max_connections, 1, 10'000);
  if (!a.listen.empty() && a.token.from == secret_ref::kind::none && !w.has("token"))
    w.context().diag.report(w.mark(),
                            "admin.token: required when admin.listen is set (POST /v1/events over TCP "
                            "needs a bearer token); reference it with 'file: PATH' or 'credential: NAME'");
}

void read_public(map_walker& w, public_config& p) {
  w.string("listen", p.listen, need::optional,
           [](std::string_view v) -> parse_error { return v.empty() ? std::nullopt : check_listen(v); });
  w.path("cert_file", p.cert_file, need::optional, true);
  w.path("key_file", p.key_file, need::optional, true);
  w.size("max_body_size", p.max_body_bytes, std::uint64_t{1} << 10, std::uint64_t{16} << 20);
  w.integer("max_connections", p.max_connections, 1, 10'000);
  w.integer("requests_per_second", p.requests_per_second, 1, 1'000'000);
  if (p.cert_file.empty() != p.key_file.empty())
    w.context().diag.report(w.mark(),
                            "public: cert_file and key_file go together (TLS), or neither (plain HTTP "
                            "on loopback behind a reverse proxy)");
  const auto host = p.listen.substr(0, p.listen.rfind(':'));
  const bool loopback = host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]";
  if (!p.listen.empty() && !p.tls() && !loopback)
    w.context().diag.report(w.mark(), "public.listen: plain HTTP only on loopback (127.0.0.1, [::1]); on '" + p.listen +
                                          "' set cert_file and key_file, or put a TLS proxy in front");
}

void read_document(map_walker& w, config& cfg) {
  w.section("psa", need::required, [&](map_walker& s) { read_psa(s, cfg.psa); });
  w.section("companies", need::required, [&](map_walker& s) { read_companies(s, cfg.companies); });
  w.section("ticket", need::required, [&](map_walker& s) { read_ticket(s, cfg.ticket, true); });
  // After `ticket`: every rule starts from it.
  read_rules(w, cfg);
  w.section("storm", need::optional, [&](map_walker& s) { read_storm(s, cfg.storm); });
  w.section("reverse", need::optional, [&](map_walker& s) { read_reverse(s, cfg.reverse); });
  w.section("storage", need::optional,
            [&](map_walker& s) { s.path("database", cfg.storage.database, need::optional, false); });
  w.section("intake", need::optional, [&](map_walker& s) { read_intake(s, cfg.intake); });
  w.section("logging", need::optional, [&](map_walker& s) {
    s.string("level", cfg.logging.level, need::optional, check_log_level);
    std::string format;
    s.string("format", format, need::optional, check_log_format);
    if (auto v = from_text<logging_config::format>(format)) cfg.logging.fmt = *v;
  });
  w.section("admin", need::optional, [&](map_walker& s) { read_admin(s, cfg.admin); });
  w.section("public", need::optional, [&](map_walker& s) { read_public(s, cfg.public_listener); });
}

// Where the root of the file's second YAML document is, if it has one.
// YAML::LoadAll of yaml-cpp 0.7 never returns on some inputs (a lone ',':
// every further document comes back empty without consuming anything, see
// yaml-cpp issue 1040), so the documents are counted here instead: at most
// two, and none after an empty one (as yaml-cpp's later fix does).
class document_roots final : public YAML::EventHandler {
 public:
  bool empty = true;  ///< the root is null (or there was no node)
  YAML::Mark root;    ///< where the root node starts

  void OnDocumentStart(const YAML::Mark& at) override { root = at; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& at, YAML::anchor_t) override { first(at, true); }
  void OnAlias(const YAML::Mark& at, YAML::anchor_t) override { first(at, false); }
  void OnScalar(const YAML::Mark& at, const std::string&, YAML::anchor_t, const std::string&) override {
    first(at, false);
  }
  void OnSequenceStart(const YAML::Mark& at, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    first(at, false);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& at, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    first(at, false);
  }
  void OnMapEnd() override {}

 private:
  void first(const YAML::Mark& at, bool null) {
    if (seen_) return;
    seen_ = true;
    root = at;
    empty = null;
  }
  bool seen_ = false;
};

// Throws YAML::Exception on a syntax error in the first two documents.
std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  document_roots first, second;
  if (!parser.HandleNextDocument(first) || first.empty) return std::nullopt;
  if (!parser.HandleNextDocument(second)) return std::nullopt;
  return second.root;
}

// Parses and validates `text`; `name` is used in errors, `base_dir` for relative paths.
load_result load(std::string_view text, const std::string& name, const fs::path& base_dir) {
  diagnostics diag(name);
  YAML::Node root;
  std::optional<YAML::Mark> second;
  try {
    const std::string input(text);
    second = second_document(input);
    root = YAML::Load(input);  // the first document only
  } catch (const YAML::Exception& e) {
    diag.report(e.mark, "YAML syntax error: " + printable(e.msg));
    return {std::nullopt, std::move(diag).take()};
  }
  // A second document ("---") is most likely two files pasted together;
  // reading only the first would silently ignore half of it.
  if (second) diag.report(*second, "the file holds more than one YAML document ('---'); only one is allowed");

  config cfg;
  cfg.source_path = name;
  walk_context ctx{diag, base_dir};
  if (root.IsNull()) {
    diag.report(YAML::Mark::null_mark(), "the configuration is empty (expected sections psa, companies, ticket)");
  } else if (!root.IsMap()) {
    diag.report(root.Mark(), std::string("expected a mapping of sections at the top level, got ") + describe(root));
  } else {
    map_walker w(root, "", ctx);
    read_document(w, cfg);
    w.finish();
  }
  if (!diag.empty()) return {std::nullopt, std::move(diag).take()};
  return {std::move(cfg), {}};
}

}  // namespace

load_result load_config(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::string text;
  errno = 0;
  std::FILE* f = std::fopen(name.c_str(), "rb");
  int err = f == nullptr ? (errno != 0 ? errno : EIO) : 0;
  if (f != nullptr) {
    char buffer[8192];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
    if (std::ferror(f) != 0) err = errno != 0 ? errno : EIO;
    std::fclose(f);
  }
  if (err != 0)
    return {std::nullopt, {config_error{name, 0, 0, std::string("cannot read configuration: ") + std::strerror(err)}}};

  // Absolute, so resolved paths stay right if the daemon changes directory later.
  std::error_code ec;
  fs::path dir = fs::absolute(path, ec).parent_path();
  if (ec) dir = path.parent_path();
  return load(text, name, dir);
}

load_result load_config_from_string(std::string_view text, const std::string& name) {
  return load(text, name, fs::path(name).parent_path());
}

}  // namespace ts::config
