// The ConnectWise names ticketsync resolves (boards, statuses, priorities,
// types, ...), with when each list was fetched. Pure: the operation machine
// asks it for ids and is told which list to fetch first; the loop persists the
// lists (the store's directory table) and loads them at start, so names
// resolve after a restart without lookups while the lists are fresh.
#pragma once

#include "core/time.hpp"
#include "psa/cw_codec.hpp"
#include "psa/request.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::sync {

struct name_cache_policy {
  /// A list older than this is fetched again before it is used.
  std::chrono::milliseconds max_age{std::chrono::minutes{10}};
  /// A name that is not found makes its list be fetched again, if the list is
  /// at least this old (someone may just have created the name).
  std::chrono::milliseconds min_refresh{std::chrono::seconds{30}};
};

class name_cache {
 public:
  explicit name_cache(name_cache_policy p = {}) : policy_(p) {}

  /// The list (kind, board) as fetched at `fetched_at` (board 0 for lists that
  /// are not per board).
  void put(psa::name_list kind, std::int64_t board, std::vector<psa::named_ref> items, sys_ms fetched_at);
  /// The list, fresh or not; nullptr when never fetched.
  const std::vector<psa::named_ref>* find(psa::name_list kind, std::int64_t board) const;
  /// Present and younger than max_age at `now`.
  bool fresh(psa::name_list kind, std::int64_t board, sys_ms now) const;
  /// Present and at least min_refresh old at `now`: a name missing from it
  /// justifies fetching it again.
  bool may_refresh(psa::name_list kind, std::int64_t board, sys_ms now) const;
  /// Every list becomes stale (a reload may have renamed things); they are
  /// kept to map ids back to names until fetched again.
  void invalidate();
  /// Forgets everything.
  void clear() { lists_.clear(); }
  bool empty() const noexcept { return lists_.empty(); }

  /// The name of `id` in the list, if the list is known and holds it.
  std::optional<std::string> name_of(psa::name_list kind, std::int64_t board, std::int64_t id) const;

  /// The stored form of a list (the directory table's body) and back;
  /// decode gives nullopt for a body that is not such a list.
  static std::string encode(const std::vector<psa::named_ref>& items);
  static std::optional<std::vector<psa::named_ref>> decode(std::string_view body);

 private:
  struct entry {
    std::vector<psa::named_ref> items;
    sys_ms fetched_at{};
    bool stale = false;
  };
  name_cache_policy policy_;
  std::map<std::pair<psa::name_list, std::int64_t>, entry> lists_;
};

/// The next list worth fetching right after connecting, so that the first
/// operations find the names of the default ticket (`board`) cached: boards,
/// priorities, then the board's statuses. nullopt when all are fresh.
std::optional<psa::req::list_names> next_warmup(const name_cache& names, std::string_view board, sys_ms now);

/// "board 'X' does not exist in ConnectWise; closest: 'A', 'B'".
std::string not_found_message(std::string_view what, std::string_view name, const std::vector<psa::named_ref>& items);

}  // namespace ts::sync
