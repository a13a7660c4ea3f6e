#include "rules/ruleset.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ts::rules {

namespace {

using json = nlohmann::json;

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string list_of(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// Severity rank: critical 4 ... info 0.
int rank(ts::severity s) noexcept { return 4 - static_cast<int>(s); }

// An attribute as text for comparisons: strings as they are, other scalars as JSON.
std::optional<std::string> attribute_text(const json& attrs, const std::string& pointer) {
  try {
    const json::json_pointer p(pointer);
    if (!attrs.contains(p)) return std::nullopt;
    const json& v = attrs.at(p);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null() || v.is_object() || v.is_array()) return std::nullopt;
    return v.dump();
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Iterative with one backtrack point: linear for patterns with one '*',
  // O(n*m) worst case, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool match_event(const config::match_spec& m, const std::optional<regex>& title,
                 const std::vector<std::optional<regex>>& attribute_res, const ts::event& ev,
                 std::vector<std::string>& why) {
  why.clear();
  const auto fail = [&](std::string reason) {
    why.clear();
    why.push_back(std::move(reason));
    return false;
  };
  if (m.catch_all()) {
    why.push_back("no conditions: matches every event");
    return true;
  }
  if (!m.sources.empty()) {
    if (std::find(m.sources.begin(), m.sources.end(), ev.source) == m.sources.end())
      return fail("source " + q(ev.source) + " is not in " + list_of(m.sources));
    why.push_back("source " + q(ev.source) + " is in " + list_of(m.sources));
  }
  if (!m.tenants.empty()) {
    const auto it = std::find_if(m.tenants.begin(), m.tenants.end(),
                                 [&](const std::string& g) { return glob_match(g, ev.tenant); });
    if (it == m.tenants.end()) return fail("tenant " + q(ev.tenant) + " matches none of " + list_of(m.tenants));
    why.push_back("tenant " + q(ev.tenant) + " matches " + q(*it));
  }
  const std::string sev(ts::to_text(ev.severity));
  if (!m.severities.empty()) {
    std::vector<std::string> names;
    for (auto s : m.severities) names.emplace_back(ts::to_text(s));
    if (std::find(m.severities.begin(), m.severities.end(), ev.severity) == m.severities.end())
      return fail("severity " + sev + " is not in " + list_of(names));
    why.push_back("severity " + sev + " is in " + list_of(names));
  }
  if (m.min_severity) {
    const std::string min(ts::to_text(*m.min_severity));
    if (rank(ev.severity) < rank(*m.min_severity)) return fail("severity " + sev + " is below " + min);
    why.push_back("severity " + sev + " is at least " + min);
  }
  if (!m.categories.empty()) {
    if (!ev.category) return fail("the event has no category (wanted " + list_of(m.categories) + ")");
    const auto it = std::find_if(m.categories.begin(), m.categories.end(),
                                 [&](const std::string& g) { return glob_match(g, *ev.category); });
    if (it == m.categories.end())
      return fail("category " + q(*ev.category) + " matches none of " + list_of(m.categories));
    why.push_back("category " + q(*ev.category) + " matches " + q(*it));
  }
  const auto has_tag = [&](const std::string& t) {
    return std::find(ev.tags.begin(), ev.tags.end(), t) != ev.tags.end();
  };
  if (!m.tags_any.empty()) {
    const auto it = std::find_if(m.tags_any.begin(), m.tags_any.end(), has_tag);
    if (it == m.tags_any.end()) return fail("tags " + list_of(ev.tags) + " include none of " + list_of(m.tags_any));
    why.push_back("tag " + q(*it) + " is one of " + list_of(m.tags_any));
  }
  if (!m.tags_all.empty()) {
    for (const auto& t : m.tags_all)
      if (!has_tag(t)) return fail("tag " + q(t) + " is missing (all of " + list_of(m.tags_all) + " wanted)");
    why.push_back("tags include all of " + list_of(m.tags_all));
  }
  if (!m.title_regex.empty()) {
    if (!title || !title->search(ev.title)) return fail("title does not match /" + m.title_regex + "/");
    why.push_back("title matches /" + m.title_regex + "/");
  }
  for (std::size_t i = 0; i < m.attributes.size(); ++i) {
    const auto& a = m.attributes[i];
    const auto value = attribute_text(ev.attributes, a.pointer);
    if (!value) return fail("attribute " + a.pointer + " is absent (or not a scalar)");
    switch (a.what) {
      case config::attribute_match::op::equals:
      case config::attribute_match::op::in:
        if (std::find(a.values.begin(), a.values.end(), *value) == a.values.end())
          return fail("attribute " + a.pointer + " = " + q(*value) + " is not " +
                      (a.values.size() == 1 ? q(a.values.front()) : "in " + list_of(a.values)));
        why.push_back("attribute " + a.pointer + " = " + q(*value));
        break;
      case config::attribute_match::op::regex: {
        const bool ok = i < attribute_res.size() && attribute_res[i] && attribute_res[i]->search(*value);
        if (!ok) return fail("attribute " + a.pointer + " = " + q(*value) + " does not match /" + a.regex + "/");
        why.push_back("attribute " + a.pointer + " matches /" + a.regex + "/");
        break;
      }
    }
  }
  return true;
}

ruleset::ruleset(std::shared_ptr<const config::config> cfg) : cfg_(std::move(cfg)) {
  for (const auto& r : cfg_->rules) {
    compiled c;
    if (!r.match.title_regex.empty()) c.title = regex::compile(r.match.title_regex, nullptr);
    for (const auto& a : r.match.attributes)
      c.attributes.push_back(a.what == config::attribute_match::op::regex ? regex::compile(a.regex, nullptr)
                                                                          : std::nullopt);
    compiled_.push_back(std::move(c));
  }
}

decision ruleset::decide(const ts::event& ev) const {
  decision d;
  d.ticket = &cfg_->ticket;
  for (std::size_t i = 0; i < cfg_->rules.size(); ++i) {
    const auto& r = cfg_->rules[i];
    rule_check check{r.name, r.line, false, {}};
    check.matched = match_event(r.match, compiled_[i].title, compiled_[i].attributes, ev, check.why);
    d.checks.push_back(std::move(check));
    if (d.checks.back().matched) {
      d.rule = r.name;
      d.rule_index = static_cast<int>(i);
      d.ticket = &r.ticket;
      break;
    }
  }
  if (d.rule_index < 0)
    d.checks.push_back({"default",
                        0,
                        true,
                        {cfg_->rules.empty() ? "no rules: the top-level ticket applies"
                                             : "no rule matched: the top-level ticket applies"}});
  d.company = choose_company(ev, cfg_->companies);
  if (d.company.held) return d;
  auto rendered = render_ticket(ev, *d.ticket, d.company.identifier, d.rule);
  if (rendered)
    d.desired = std::move(*rendered);
  else
    d.error = rendered.error();
  return d;
}

const config::ticket_config& ruleset::ticket_for(std::string_view rule_name) const {
  for (const auto& r : cfg_->rules)
    if (r.name == rule_name) return r.ticket;
  return cfg_->ticket;
}

mapping_result map_event(const ts::event& ev, const config::config& cfg) {
  const ruleset rs(std::make_shared<const config::config>(cfg));
  decision d = rs.decide(ev);
  if (d.held()) return mapping_error{d.company.why};
  if (d.error) return *d.error;
  return std::move(*d.desired);
}

}  // namespace ts::rules
