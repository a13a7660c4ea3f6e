// Helpers of the in-process engine tests: events of one tenant on a fixed
// timeline, and what the fake ConnectWise ended up with.
#pragma once

#include "core/issue_key.hpp"
#include "support/engine_rig.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <string>

namespace ts::test {

/// 2026-11-01T10:00:00Z plus `minutes`.
inline std::string at_minute(int minutes) {
  const int total = 10 * 60 + minutes;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:00Z", 1 + total / (24 * 60), total % (24 * 60) / 60,
                total % 60);
  return buf;
}

inline std::string event(const std::string& id, const std::string& state, const std::string& severity,
                         const std::string& title, int minute, const std::string& tenant = "acme-prod") {
  return nlohmann::json{{"source", "wazuh"},
                        {"tenant", tenant},
                        {"issue_id", id},
                        {"state", state},
                        {"severity", severity},
                        {"title", title},
                        {"updated_at", at_minute(minute)}}
      .dump();
}

inline std::string xref(const std::string& id, const std::string& tenant = "acme-prod") {
  return correlation_key({"wazuh", tenant, id});
}

inline int notes_starting(const fake_psa::ticket& t, const std::string& prefix) {
  int n = 0;
  for (const auto& note : t.notes) n += note.text.rfind(prefix, 0) == 0;
  return n;
}

/// Every note text on the ticket appears once.
inline void expect_no_duplicate_notes(const fake_psa::ticket& t) {
  std::map<std::string, int> seen;
  for (const auto& note : t.notes) ++seen[note.text];
  for (const auto& [text, n] : seen)
    EXPECT_EQ(n, 1) << "note posted " << n << " times on ticket " << t.id << ": " << text;
}

/// The one ticket with externalXRef `x`; fails the test when there is not exactly one.
inline const fake_psa::ticket* only_ticket(const fake_psa& psa, const std::string& x) {
  const auto all = psa.with_xref(x);
  EXPECT_EQ(all.size(), 1u) << "tickets with externalXRef " << x;
  return all.size() == 1 ? all.front() : nullptr;
}

}  // namespace ts::test
