// The ticket vocabulary shared by every layer: the ticket an issue should have
// (rendered by the rules, names not yet resolved to ids), the fields
// ticketsync keeps in step with the issue, and what the ticket is known to
// hold. Pure data.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ts {

/// The ticket fields ticketsync keeps in step with the issue.
struct ticket_fields {
  std::string summary;
  std::string priority;  ///< priority name
  std::string severity;  ///< ConnectWise severity: Low | Medium | High
  std::string impact;    ///< ConnectWise impact: Low | Medium | High
  friend bool operator==(const ticket_fields&, const ticket_fields&) = default;
};

/// One changed field, for patches and notes.
struct field_change {
  std::string field;  ///< ConnectWise field: summary, priority, severity, impact
  std::string from;
  std::string to;
  friend bool operator==(const field_change&, const field_change&) = default;
};

/// The fields of `desired` that differ from `applied`, in a fixed order
/// (summary, priority, severity, impact).
std::vector<field_change> diff_fields(const ticket_fields& applied, const ticket_fields& desired);

/// `- summary: old → new` lines, one per change (the {{changes}} of note templates).
std::string describe_changes(const std::vector<field_change>& changes);

/// The ticket an issue should have, with board/status/priority still by name.
struct desired_ticket {
  std::string rule;                ///< name of the rule that decided ("default": none matched)
  std::string company_identifier;  ///< ConnectWise company identifier
  std::string board;
  std::string status;
  std::string closed_status;
  std::string reopen_status;  ///< effective (the new-ticket status when not configured)
  std::string priority;
  std::string cw_severity;                           ///< Low | Medium | High
  std::string cw_impact;                             ///< Low | Medium | High
  std::string type, subtype, item, team, source;     ///< empty = not sent
  std::map<std::string, std::string> custom_fields;  ///< caption -> rendered value
  std::string summary;                               ///< rendered, cut to <= 100 UTF-16 units
  std::string description;                           ///< rendered initialDescription
  std::string external_xref;                         ///< the issue's correlation key (generation 1's externalXRef)
  friend bool operator==(const desired_ticket&, const desired_ticket&) = default;

  ticket_fields fields() const { return {summary, priority, cw_severity, cw_impact}; }
};

/// What the ticket is known to hold: the kept-in-step fields as last
/// sent or read back, and the ticket generation they belong to.
struct applied_ticket {
  ticket_fields fields;
  int generation = 1;
  friend bool operator==(const applied_ticket&, const applied_ticket&) = default;
};

/// externalXRef of an issue's ticket of generation `gen`: the correlation key
/// itself for the first, `key#2`, `key#3`, ... for the tickets of an issue that
/// came back after its reopen window.
std::string xref_for(const std::string& correlation_key, int gen);

}  // namespace ts
