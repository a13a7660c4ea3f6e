// An in-memory ConnectWise for in-process engine tests: implements the
// psa::client seam with tickets, notes, the setup lists (boards, statuses,
// priorities, types, ..., from tests/cwsim/seed.json, the simulator's seed),
// companies, the externalXRef condition of a ticket search, and faults by
// call position: 429 with Retry-After, 5xx (before or after applying), a
// timeout, a reset, an answer lost after the change was applied, 4xx, 401,
// and "the process dies here" (before the request reaches ConnectWise or
// after it was applied), which parks the calling coroutine for ever and asks
// the rig to kill the engine. Every call is logged.
#pragma once

#include "core/time.hpp"
#include "psa/client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ts::test {

class fake_psa final : public psa::client {
 public:
  enum class fault {
    throttle,      ///< 429 with Retry-After: retry_after (not applied)
    server_error,  ///< 500, not applied
    server_after,  ///< the change is applied, then 500 (a proxy that timed out)
    timeout,       ///< no answer, not applied; the request may have been received
    reset,         ///< the connection broke before the request was written: not sent
    lost_answer,   ///< applied, then no answer (commit then lose the answer)
    rejected,      ///< 400
    auth,          ///< 401
    die_before,    ///< the process dies before the request leaves
    die_after,     ///< the process dies after the request was applied, before the answer
  };
  static std::string_view name(fault f);
  static const std::vector<fault>& all_faults();

  struct note {
    std::int64_t id = 0;
    std::string text;
    psa::note_area area = psa::note_area::internal_analysis;
    bool description = false;  ///< the ticket's initialDescription (ConnectWise keeps it as the first note)
  };
  struct ticket {
    std::int64_t id = 0;
    std::string summary;
    std::string company;  ///< identifier
    std::int64_t board_id = 0;
    std::int64_t status_id = 0;
    std::int64_t priority_id = 0;
    std::string severity, impact, xref;
    std::optional<std::int64_t> type_id, subtype_id, item_id, team_id, source_id;
    std::vector<psa::custom_field_value> custom_fields;
    std::vector<note> notes;
    ts::sys_ms last_updated{};  ///< whole seconds, like ConnectWise's
    std::string updated_by;
    std::optional<std::int64_t> merged_into;
  };
  struct call {
    std::string what;  ///< psa::describe(), or "connect"
    std::optional<fault> injected;
  };

  /// Seeded from tests/cwsim/seed.json.
  fake_psa();

  // ---- faults ------------------------------------------------------------
  /// The `n`-th call from now (1 = the next; connect() counts) gets `f`.
  void fail_call(int n, fault f);
  /// Every call whose describe() contains `what` gets `f`, `times` times.
  void fail_matching(std::string what, fault f, int times = 1);
  /// Every call gets fault `f` with probability `p` (drawn from `seed`);
  /// scripted faults win. For chaos runs.
  void fail_randomly(std::uint64_t seed, std::vector<std::pair<fault, double>> odds);
  std::chrono::milliseconds retry_after{1'000};
  /// Called when a die fault fires (the rig kills the engine).
  std::function<void()> on_die;

  // ---- what happened -----------------------------------------------------
  const std::vector<call>& calls() const noexcept { return calls_; }
  std::size_t count(std::string_view what) const;
  std::map<std::int64_t, ticket>& tickets() noexcept { return tickets_; }
  const std::map<std::int64_t, ticket>& tickets() const noexcept { return tickets_; }
  /// Tickets whose externalXRef is `xref`.
  std::vector<const ticket*> with_xref(std::string_view xref) const;
  bool is_closed(const ticket& t) const;
  std::string status_name(const ticket& t) const;
  std::string priority_name(const ticket& t) const;

  // ---- a technician at work ----------------------------------------------
  /// The member ticketsync's API calls are stamped with, and a person's.
  static constexpr std::string_view api_member = "TicketSyncAPI";
  static constexpr std::string_view technician = "tech1";
  /// Stamps every change's lastUpdated (floored to seconds); the rig sets its clock.
  std::function<ts::sys_ms()> clock = [] { return ts::sys_ms{}; };
  void set_status(std::int64_t ticket, std::string_view status_name, std::string_view by = technician);
  void set_priority(std::int64_t ticket, std::string_view priority_name, std::string_view by = technician);
  void move_board(std::int64_t ticket, std::string_view board_name, std::string_view by = technician);
  /// Merges `child` into `parent`: the child closes and names its parent.
  void merge(std::int64_t child, std::int64_t parent, std::string_view by = technician);
  /// Deletes a ticket.
  void remove(std::int64_t ticket);
  /// Loads tickets in the simulator's /__sim/tickets form (fixtures), and
  /// continues numbering tickets and notes after `next_ticket`, `next_note`.
  void load_tickets(const nlohmann::json& sim_tickets, std::int64_t next_ticket = 0, std::int64_t next_note = 0);

  // ---- psa::client --------------------------------------------------------
  boost::asio::awaitable<psa::psa_result<void>> connect() override;
  bool connected() const noexcept override { return connected_; }
  /// A new client (the process started again) has not connected yet.
  void disconnect() noexcept { connected_ = false; }
  boost::asio::awaitable<psa::answer> perform(psa::request r) override;

 private:
  std::optional<fault> take_fault(const std::string& what);
  psa::answer apply(const psa::request& r);
  psa::ticket_info info(const ticket& t) const;
  void touch(ticket& t, std::string_view by);
  const nlohmann::json* board(std::int64_t id) const;
  boost::asio::awaitable<void> park();

  nlohmann::json seed_;
  std::map<std::int64_t, ticket> tickets_;
  std::int64_t next_ticket_ = 1001;
  std::int64_t next_note_ = 1;
  bool connected_ = false;
  std::vector<call> calls_;
  std::map<int, fault> by_position_;  ///< absolute call number (1-based) -> fault
  struct matcher {
    std::string what;
    fault f;
    int times;
  };
  std::vector<matcher> matchers_;
  std::vector<std::pair<fault, double>> odds_;
  std::mt19937_64 rng_{1};
};

}  // namespace ts::test
