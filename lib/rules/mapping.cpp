// Rules, first slice: event + configuration -> desired ticket (company, board,
// status, priority, rendered summary and description, correlation key). Pure.
//
// Templates are kainjow mustache over the event's JSON (event::to_json()).
// Ticket text is not HTML, so `{{x}}` is not escaped; partials (`{{> x}}`)
// render nothing, so that event data can never be interpreted as a template.
#include "rules/mapping.hpp"

#include "core/issue_key.hpp"
#include "core/text.hpp"

#include <unicode/ubrk.h>
#include <unicode/utext.h>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::rules {
namespace {

namespace mus = kainjow::mustache;
using json = nlohmann::json;

// ConnectWise's service ticket summary limit, in UTF-16 code units.
constexpr std::size_t max_summary_units = 100;

constexpr std::string_view ellipsis = "\u2026";          // 1 UTF-16 unit
constexpr std::string_view replacement_char = "\uFFFD";  // stands in for an invalid byte

// One step of UTF-8 decoding: `bytes` consumed and UTF-16 `units` produced.
// An ill-formed sequence (Unicode table 3-7: overlongs, surrogates, > U+10FFFF,
// truncated) consumes one byte, is `valid == false` and counts as one unit
// (it is output as U+FFFD).
struct utf8_step {
  std::size_t bytes;
  std::size_t units;
  bool valid;
};

utf8_step next_code_point(std::string_view s, std::size_t i) noexcept {
  const std::size_t len = utf8_sequence_length(s, i);
  if (len == 0) return {1, 1, false};
  return {len, len == 4 ? std::size_t{2} : std::size_t{1}, true};
}

// Calls `fits(end)` with the byte offset at which each extended grapheme
// cluster (UAX #29: what a reader sees as one character, such as a flag, an
// emoji with its skin tone, a letter with its accents or a ZWJ sequence) of
// valid UTF-8 `s` ends, in order, until it returns false. Should ICU fail to
// open its break iterator (only when its data is missing) or `s` be beyond
// its 32-bit break positions, code points stand in for clusters: a cut is
// then as good as a code-point cut, never invalid.
template <class Fits>
void for_each_cluster_end(const std::string& s, Fits fits) {
  UErrorCode status = s.size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())
                          ? U_ZERO_ERROR
                          : U_INDEX_OUTOFBOUNDS_ERROR;
  icu::LocalUTextPointer text(utext_openUTF8(nullptr, s.data(), static_cast<std::int64_t>(s.size()), &status));
  // The root locale: cluster boundaries do not depend on the daemon's LANG.
  icu::LocalUBreakIteratorPointer it(ubrk_open(UBRK_CHARACTER, "", nullptr, 0, &status));
  if (U_SUCCESS(status)) ubrk_setUText(it.getAlias(), text.getAlias(), &status);
  if (U_FAILURE(status)) {
    for (std::size_t i = 0; i < s.size();) {
      i += next_code_point(s, i).bytes;
      if (!fits(i)) return;
    }
    return;
  }
  ubrk_first(it.getAlias());
  for (std::int32_t end = ubrk_next(it.getAlias()); end != UBRK_DONE; end = ubrk_next(it.getAlias()))
    if (!fits(static_cast<std::size_t>(end))) return;
}

// JSON -> mustache data. Numbers become their JSON text, null is absent
// (dropped from objects and lists), binary (never produced by parsing) too.
mus::data to_mustache(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      mus::data obj{mus::data::type::object};
      for (auto it = j.begin(); it != j.end(); ++it)
        if (!it->is_null() && !it->is_binary()) obj.set(it.key(), to_mustache(*it));
      return obj;
    }
    case json::value_t::array: {
      mus::data list{mus::data::type::list};
      for (const json& item : j)
        if (!item.is_null() && !item.is_binary()) list.push_back(to_mustache(item));
      return list;
    }
    case json::value_t::string: return mus::data{j.get_ref<const std::string&>()};
    case json::value_t::boolean: return mus::data{j.get<bool>()};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return mus::data{j.dump()};
    case json::value_t::null:
    case json::value_t::binary:
    case json::value_t::discarded: break;
  }
  return mus::data{mus::data::type::object};
}

// kainjow's context, minus partials: by default `{{> name}}` looks `name` up in
// the data and renders its value as a template, which would let an event's
// text inject template syntax.
class data_only_context final : public mus::context<std::string> {
 public:
  explicit data_only_context(const mus::data* root) : mus::context<std::string>(root) {}
  const mus::data* get_partial(const std::string&) const override { return nullptr; }
};

// Bytes of the space-like character at s[i] (C0 controls, space, DEL, C1
// controls such as NEL, U+2028/U+2029 line/paragraph separators), else 0.
std::size_t space_like(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  if (at(i) <= 0x20 || at(i) == 0x7F) return 1;
  if (at(i) == 0xC2 && at(i + 1) >= 0x80 && at(i + 1) <= 0x9F) return 2;
  if (at(i) == 0xE2 && at(i + 1) == 0x80 && (at(i + 2) == 0xA8 || at(i + 2) == 0xA9)) return 3;
  return 0;
}

// One line: every run of space-like characters (CR, LF, tab, other controls,
// line separators) becomes a single space; leading and trailing ones are dropped.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = space_like(s, i)) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(s[i++]);
  }
  return out;
}

mapping_error template_error(std::string_view name, const std::string& why) {
  return mapping_error{"template '" + std::string(name) + "': " + why};
}

}  // namespace

std::size_t utf16_length(std::string_view s) noexcept {
  std::size_t units = 0;
  for (std::size_t i = 0; i < s.size();) {
    const utf8_step step = next_code_point(s, i);
    units += step.units;
    i += step.bytes;
  }
  return units;
}

// Invalid UTF-8 bytes are replaced by U+FFFD (one unit each) whether or not
// the string is cut, so the result is always valid UTF-8; clusters are found
// in the replaced text. Spaces right before the "…" are dropped ("word …"
// reads badly).
std::string truncate_utf16(std::string_view s, std::size_t max_units) {
  std::string clean;
  clean.reserve(s.size());
  std::size_t units = 0;
  for (std::size_t i = 0; i < s.size();) {
    const utf8_step step = next_code_point(s, i);
    if (step.valid) {
      clean.append(s.substr(i, step.bytes));
    } else {
      clean.append(replacement_char);
    }
    units += step.units;
    i += step.bytes;
  }
  if (units <= max_units) return clean;
  if (max_units == 0) return {};

  const std::size_t budget = max_units - 1;  // the "…" takes the last unit
  // Ends of the clusters kept, preceded by 0; at most budget + 1 entries.
  std::vector<std::size_t> ends{0};
  std::size_t used = 0;
  for_each_cluster_end(clean, [&](std::size_t end) {
    const std::size_t n = utf16_length(std::string_view(clean).substr(ends.back(), end - ends.back()));
    if (used + n > budget) return false;
    used += n;
    ends.push_back(end);
    return true;
  });
  // Whole clusters only: a space carrying a combining mark is not trailing space.
  while (ends.size() > 1 && ends.back() - ends[ends.size() - 2] == 1 && clean[ends.back() - 1] == ' ') ends.pop_back();
  clean.resize(ends.back());
  clean.append(ellipsis);
  return clean;
}

boost::system::result<std::string, mapping_error> render_template(std::string_view name, std::string_view tmpl,
                                                                  const nlohmann::json& context) {
  mus::mustache m{std::string(tmpl)};
  if (!m.is_valid()) return template_error(name, m.error_message());
  m.set_custom_escape([](const std::string& s) { return s; });
  const mus::data data = to_mustache(context);
  data_only_context ctx{&data};
  std::string out = m.render(ctx);
  // Rendering itself can fail too (lambdas; kept for future-proofing).
  if (!m.is_valid()) return template_error(name, m.error_message());
  // in_place_value: mapping_error is constructible from a string too.
  return {boost::system::in_place_value, std::move(out)};
}

company_choice choose_company(const ts::event& ev, const config::companies_config& c) {
  // An empty identifier counts as unmapped: ConnectWise would reject the
  // ticket anyway, with a less helpful message.
  if (auto src = c.by_source.find(ev.source); src != c.by_source.end())
    if (auto it = src->second.find(ev.tenant); it != src->second.end() && !it->second.empty())
      return {it->second, "companies.sources." + ev.source + "." + ev.tenant, false};
  if (auto it = c.tenants.find(ev.tenant); it != c.tenants.end() && !it->second.empty())
    return {it->second, "companies.tenants." + ev.tenant, false};
  if (c.unmapped == config::unmapped_policy::default_company && !c.default_company.empty())
    return {c.default_company, "companies.default (tenant '" + ev.tenant + "' is not mapped)", false};
  return {
      {},
      "tenant '" + ev.tenant + "' (source '" + ev.source + "') is not mapped and " +
          (c.unmapped == config::unmapped_policy::hold ? "companies.unmapped is hold" : "companies.default is not set"),
      true};
}

mapping_result render_ticket(const ts::event& ev, const config::ticket_config& cfg, std::string company,
                             std::string rule) {
  desired_ticket t;
  t.rule = std::move(rule);
  t.company_identifier = std::move(company);
  t.board = cfg.board;
  t.status = cfg.status;
  t.closed_status = cfg.closed_status;
  t.reopen_status = cfg.effective_reopen_status();
  const auto pick = [&](const std::map<ts::severity, std::string>& m) {
    auto it = m.find(ev.severity);
    return it != m.end() ? it->second : std::string{};
  };
  t.priority = pick(cfg.priority);
  t.cw_severity = pick(cfg.cw_severity);
  t.cw_impact = pick(cfg.cw_impact);
  t.type = cfg.type;
  t.subtype = cfg.subtype;
  t.item = cfg.item;
  t.team = cfg.team;
  t.source = cfg.source;

  const json context = ev.to_json();
  auto summary = render_template("summary", cfg.summary_template, context);
  if (!summary) return summary.error();
  std::string line = one_line(*summary);
  if (line.empty()) line = one_line(ev.title);
  t.summary = truncate_utf16(line, max_summary_units);

  auto description = render_template("description", cfg.description_template, context);
  if (!description) return description.error();
  t.description = std::move(*description);

  for (const auto& [caption, tmpl] : cfg.custom_fields) {
    auto value = render_template("custom field " + caption, tmpl, context);
    if (!value) return value.error();
    t.custom_fields[caption] = std::move(*value);
  }

  t.external_xref = correlation_key({ev.source, ev.tenant, ev.issue_id});
  return t;
}

void throw_exception_from_error(const mapping_error& e, const boost::source_location&) {
  throw std::invalid_argument(e.what);
}

}  // namespace ts::rules

namespace boost::system {

void throw_exception_from_error(const ts::rules::mapping_error& e, const boost::source_location& loc) {
  ts::rules::throw_exception_from_error(e, loc);
}

}  // namespace boost::system
