// Issue identity and the correlation key written into a ticket's externalXRef.
#pragma once

#include <string>
#include <string_view>

namespace ts {

struct issue_identity {
  std::string source;
  std::string tenant;
  std::string issue_id;

  /// Human-readable key for logs and CLIs: `source/tenant/issue_id`.
  std::string display() const;
  friend bool operator==(const issue_identity&, const issue_identity&) = default;
};

/// The `source` of the synthetic issues that carry storm digest tickets (no
/// event source may use it: the intake parser refuses it).
inline constexpr std::string_view digest_source = "ticketsync";

/// What every correlation key starts with (the polling sweep asks for
/// externalXRef like "ts1:%").
inline constexpr std::string_view correlation_prefix = "ts1:";

/// The deterministic correlation key of an issue: `ts1:` followed by the
/// lowercase hex SHA-256 of the length-prefixed identity (68 characters, within
/// ConnectWise's 100-character externalXRef). Distinct identities never share
/// an encoding, so `a/b` + `c` cannot collide with `a` + `b/c`.
std::string correlation_key(const issue_identity& id);

/// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace ts
