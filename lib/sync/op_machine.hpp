// The operation machine (pure, sans-IO): runs one PSA operation (create,
// update, close, reopen, note) from what the store holds. Given the
// operation, the issue (what the ticket is known to hold and should hold) and
// the answer to its previous request, it returns the next request to make,
// the store writes to commit first, and in the end the outcome written: done,
// skipped, retry at a time, or dead letter with the reason. Every decision
// about an operation lives here: the steps and their order, recovery of an
// uncertain create or note (look it up before sending again), the names a
// request needs, backoff with jitter, what a technician's close means under
// the rule's policy, dead letters.
//
// The loop (sync/engine.hpp) drives it:
//   auto n = m.start(now);
//   while (true) { commit n.writes; if (!n.request) break;
//                  commit n.mark (if any) just before the request leaves;
//                  n = m.resume(perform(*n.request), now); }
// Exactly one request is outstanding at a time; resume() must get its answer.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/records.hpp"
#include "core/time.hpp"
#include "psa/request.hpp"
#include "rules/ruleset.hpp"
#include "sync/effects.hpp"
#include "sync/name_cache.hpp"
#include "sync/planner.hpp"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ts::sync {

/// What the machine asks of the loop.
struct next_step {
  std::vector<write> writes;            ///< commit these first (durably)
  std::optional<psa::request> request;  ///< then send this, and resume() with its answer
  /// For a request unsafe to repeat: the maybe-sent mark, committed only once
  /// the request can actually leave (its budget granted, any pause over).
  std::optional<wr::mark_sent> mark;
  std::vector<notice> notices;  ///< log lines
  bool done() const noexcept { return !request; }
};

/// What the machine works with besides the operation and its issue.
struct machine_env {
  const rules::ruleset& rules;  ///< the mapping the operation started under
  name_cache& names;            ///< shared by the loop's operations; the machine fills it from its lookups
  engine_stats& stats;
  random_source& random;  ///< backoff jitter
  backoff_policy backoff;
  /// ConnectWise's callbacks arrive (one was heard lately): a ticket heard
  /// from since ticketsync's last write needs no read before the next.
  bool callbacks_live = false;
};

class op_machine {
 public:
  enum class state {
    idle,            ///< before start()
    checking,        ///< GET the ticket: did a technician close it?
    finding_ticket,  ///< an earlier create's outcome is uncertain: search by externalXRef
    adopting,        ///< found it: reading what it holds (its priority's name)
    listing,         ///< fetching a name list the next request needs
    creating,        ///< POST the ticket
    finding_note,    ///< an earlier note's outcome is uncertain: read the ticket's notes
    noting,          ///< POST the note
    patching,        ///< PATCH fields or status
    finished,
  };

  op_machine(operation_record op, issue_record issue, machine_env env);

  next_step start(sys_ms now);
  /// The answer to the request of the previous step.
  next_step resume(const psa::answer& answer, sys_ms now);

  state status() const noexcept { return state_; }  ///< exposed for tests
  /// Names the create needed that do not exist (after a refresh), e.g.
  /// "board: 'X' does not exist in ConnectWise; closest: ..." (for explain).
  const std::vector<std::string>& unresolved() const noexcept { return unresolved_; }

 private:
  /// What a name resolved to: its id, a list to fetch first, or failure.
  struct lookup {
    std::optional<psa::named_ref> ref;
    std::optional<psa::req::list_names> fetch;
    std::optional<std::string> missing;  ///< not found after a refresh
  };
  lookup resolve(psa::name_list list, std::int64_t board, std::string_view name, sys_ms now);

  next_step after_check(bool closed_by_technician, sys_ms now);
  next_step begin_step(sys_ms now);
  next_step step_done(sys_ms now);
  next_step finish(sys_ms now);
  next_step fail(const psa::psa_failure& f, bool unsafe_request, sys_ms now);
  next_step dead(const dead_letter_info& info, sys_ms now);

  next_step begin_post_ticket(sys_ms now);
  next_step adopt(sys_ms now);
  next_step prepare_create(sys_ms now);
  next_step begin_post_note(sys_ms now);
  next_step post_note(sys_ms now);
  next_step begin_patch(sys_ms now);

  next_step ask(psa::request r, state s);
  next_step ask_list(const psa::req::list_names& l);
  void record_ticket(const psa::ticket_info& t, const ticket_fields& fields, sys_ms now);
  void note(notice::level l, std::string text);
  void count(std::string_view outcome);

  operation_record op_;
  issue_record issue_;
  machine_env env_;
  const config::ticket_config* tcfg_ = nullptr;
  state state_ = state::idle;
  state after_list_ = state::idle;  ///< the state a list fetch serves
  psa::req::list_names listing_;    ///< the list being fetched
  op_kind kind_;                    ///< may become reopen (technician-close policy)
  bool note_only_ = false;          ///< an update reduced to its note
  bool patched_priority_ = false;   ///< the patch being sent writes the priority
  std::vector<step_kind> steps_;
  std::size_t step_ = 0;
  bool adopted_ = false;                   ///< the create found the ticket an earlier attempt made
  std::optional<psa::ticket_info> found_;  ///< that ticket, while it is being adopted
  std::string note_text_;
  note_kind which_ = note_kind::update;                          ///< the note being posted
  std::pair<std::int64_t, std::int64_t> created_ids_{};          ///< board and priority of the create (for the log)
  std::set<std::pair<psa::name_list, std::int64_t>> refreshed_;  ///< lists fetched by this run
  std::vector<std::string> unresolved_;
  next_step out_;  ///< what the current call returns (writes gather here)
};

}  // namespace ts::sync

template <>
struct ts::enum_text<ts::sync::op_machine::state> {
  using s = sync::op_machine::state;
  static constexpr std::array<std::pair<s, std::string_view>, 10> names{{
      {s::idle, "idle"},
      {s::checking, "checking"},
      {s::finding_ticket, "finding_ticket"},
      {s::adopting, "adopting"},
      {s::listing, "listing"},
      {s::creating, "creating"},
      {s::finding_note, "finding_note"},
      {s::noting, "noting"},
      {s::patching, "patching"},
      {s::finished, "finished"},
  }};
};
