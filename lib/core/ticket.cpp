#include "core/ticket.hpp"

namespace ts {

std::vector<field_change> diff_fields(const ticket_fields& a, const ticket_fields& d) {
  std::vector<field_change> out;
  if (a.summary != d.summary) out.push_back({"summary", a.summary, d.summary});
  if (a.priority != d.priority) out.push_back({"priority", a.priority, d.priority});
  if (a.severity != d.severity) out.push_back({"severity", a.severity, d.severity});
  if (a.impact != d.impact) out.push_back({"impact", a.impact, d.impact});
  return out;
}

std::string describe_changes(const std::vector<field_change>& changes) {
  std::string out;
  for (const auto& c : changes) {
    if (!out.empty()) out += '\n';
    out += "- " + c.field + ": " + c.from + " \u2192 " + c.to;
  }
  return out;
}

std::string xref_for(const std::string& correlation_key, int gen) {
  return gen <= 1 ? correlation_key : correlation_key + "#" + std::to_string(gen);
}

}  // namespace ts
