// Registering ticketsync's ConnectWise callbacks: one board-level ticket
// callback at reverse.callback_url for every board ticketsync writes to (the
// default ticket's board and every rule's). Shared by `ticketsyncd callbacks
// register` and the daemon (at start and after a reload); the decisions are
// plan_registration's (psa/cw_callbacks.hpp), this only asks and applies.
#pragma once

#include "config/config.hpp"
#include "psa/cw_callbacks.hpp"
#include "psa/cw_client.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ts::psa {

/// A board ticketsync writes to, resolved.
struct callback_board {
  std::int64_t id = 0;
  std::string name;  ///< as the configuration spells it
};

/// The boards of the default ticket and of every rule, distinct, resolved to
/// ids through GET /service/boards (resolve_name: exact, else a unique
/// case-insensitive match, active boards only). A name that does not resolve
/// is a `rejected` failure naming it, where it is used, and the closest names.
boost::asio::awaitable<psa_result<std::vector<callback_board>>> callback_boards(cw_client& client,
                                                                                const config::config& cfg);

/// What reconcile_callbacks found and did.
struct callback_report {
  enum class outcome {
    done,          ///< the registration matches the configuration (perhaps after changes)
    off,           ///< reverse.callback_url is empty: nothing asked, nothing changed
    config_error,  ///< a board name does not resolve: nothing changed
    psa_error,     ///< a request failed; `added`/`removed` say what happened before it
  };
  outcome result = outcome::done;
  std::optional<psa_failure> failure;  ///< psa_error and config_error: what went wrong
  std::string url;                     ///< reverse.callback_url
  std::vector<callback_board> boards;
  registration_plan plan;             ///< what was decided (empty unless boards and entries were read)
  std::vector<callback_entry> added;  ///< as ConnectWise stored them (ids set)
  std::vector<callback_removal> removed;

  bool ok() const noexcept { return result == outcome::done || result == outcome::off; }
  /// The name of a board id among `boards`, "" when unknown.
  std::string board_name(std::int64_t id) const;
};

/// What `ticketsyncd callbacks register` does: connects when not connected,
/// resolves the boards, lists the entries, applies plan_registration
/// (removals of entries at the wanted URL first, so a disabled entry can be
/// registered again; then the additions; then the other removals, so a board
/// keeps a callback while its URL changes). A duplicate answer
/// (400 ObjectExists) to an addition counts as registered. Logs
/// callbacks.added / callbacks.removed per change and callbacks.reconciled
/// (or callbacks.reconcile_failed) once. Never touches entries that are not
/// ticketsync's.
boost::asio::awaitable<callback_report> reconcile_callbacks(cw_client& client, const config::config& cfg,
                                                            spdlog::logger& log);

}  // namespace ts::psa
