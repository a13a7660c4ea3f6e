// The state store: the only code that speaks SQL. SQLite on disk in WAL mode
// with synchronous=FULL, so a commit survives power loss; ticketsyncd attaches
// a wal_sync (wal_sync.hpp), which syncs its commits on a thread instead.
//
// Threading: one store per thread; ticketsyncd uses it from its single event
// loop thread, where the synchronous calls are short (indexed lookups, small
// batches). CLI commands open their own store on the same file; SQLite's
// busy_timeout arbitrates.
//
// Failure: SQLite errors (disk full, I/O error, corruption) throw
// SQLite::Exception / std::runtime_error; a transaction not committed is rolled
// back, so nothing half-written survives.
#pragma once

#include "core/event.hpp"
#include "core/issue_key.hpp"
#include "core/records.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace SQLite {
class Database;
class Transaction;
}  // namespace SQLite

namespace ts::store {

// The records (core/records.hpp) are the store's rows.
using ts::applied_ticket;
using ts::dead_letter_info;
using ts::issue_record;
using ts::op_kind;
using ts::op_payload;
using ts::op_status;
using ts::operation_record;
using ts::sent_cause;
using ts::ticket_phase;
using ts::ticket_state;

struct inbox_entry {
  std::string origin;  ///< e.g. "spool:1700000000.123.host"
  std::string body;    ///< validated event JSON
};

struct inbox_row {
  std::int64_t id = 0;
  sys_ms received_at{};
  std::string origin;
  std::string body;
};

/// An event of an unmapped tenant, waiting for a mapping.
struct held_event {
  std::int64_t id = 0;
  sys_ms received_at{};
  std::string origin;
  std::string body;
  std::string source;
  std::string tenant;
  std::string reason;
  sys_ms held_at{};
};

/// One line of an issue's history.
struct history_entry {
  std::int64_t id = 0;
  sys_ms at{};
  std::string kind;  ///< decision | operation | operator
  std::optional<std::int64_t> operation;
  std::string detail;  ///< JSON
};

/// A cached list of ConnectWise names (the name cache's rows).
struct directory_entry {
  std::string kind;        ///< boards, statuses, priorities, types, ... (psa::name_list's names)
  std::int64_t scope = 0;  ///< the board id for per-board lists, else 0
  std::string body;        ///< JSON
  sys_ms fetched_at{};
};

/// Fields of an issue to change and nothing else (unset: unchanged). The
/// operations change these while later events of the same issue are being
/// planned, so no writer rewrites the whole row from a stale copy.
struct issue_update {
  std::optional<ticket_phase> phase;
  /// phase = what the ticket is known to be (open, closed or none), read at
  /// the write: after a dead letter, planning starts again from the truth.
  bool phase_from_ticket = false;
  std::optional<bool> tech_closed;
  std::optional<int> generation;
  std::optional<desired_ticket> desired;
  std::optional<std::string> rule;
};

/// How a failed attempt is scheduled again.
struct retry_plan {
  sys_ms next{};      ///< when to try again
  std::string error;  ///< the failure, for `status` and the log
  /// The request was answered with an error: certainly not applied, so the
  /// next attempt need not look it up first (sent = 0).
  bool clear_sent = false;
  /// Whether this attempt counts towards the backoff (a 429 or a paused
  /// sender does not: the operation did not fail, it was told to wait).
  bool counts = true;
  /// Why a still-sent operation is uncertain, when this attempt knows.
  std::optional<sent_cause> cause;
};

struct dead_letter {
  std::int64_t id = 0;
  std::int64_t operation = 0;
  std::int64_t issue = 0;
  op_kind kind = op_kind::create;
  dead_letter_info info;
  int attempts = 0;
  sys_ms created_at{};
};

/// What retry_dead_letter / drop_dead_letter did.
enum class dead_letter_outcome {
  done,       ///< retried (the operation is pending again) or dropped (it stays dead)
  not_found,  ///< no dead letter has this id; nothing changed
  not_dead,   ///< the dead letter's operation is not dead; nothing changed
};

struct dead_letter_change {
  dead_letter_outcome outcome = dead_letter_outcome::not_found;
  std::optional<dead_letter> letter;  ///< the row as it was (unset when not_found)
};

/// One value of the runtime table (what the running daemon records for the
/// operator commands of other processes).
struct runtime_value {
  std::string value;
  sys_ms updated_at{};
};

/// Queue depths for `ticketsyncd status`.
struct queue_status {
  std::int64_t inbox = 0;
  std::optional<sys_ms> oldest_inbox;  ///< received_at of the oldest inbox row
  std::int64_t held = 0;               ///< held events (unmapped tenants)
  std::int64_t pending_due = 0;        ///< pending operations due now
  std::int64_t pending_waiting = 0;    ///< pending operations waiting for their retry time
  std::int64_t sent = 0;               ///< pending with sent = 1: a request in flight, or its outcome uncertain
  std::int64_t dead_letters = 0;
  std::int64_t issues = 0;
  std::int64_t tickets = 0;  ///< issues with a ticket id
};

/// A pending operation that failed at least once, with its issue.
struct operation_error {
  operation_record op;
  issue_identity issue;
  sys_ms updated_at{};  ///< when the error was recorded
};

struct counts {
  std::int64_t inbox = 0;
  std::int64_t issues = 0;
  std::int64_t pending = 0;
  std::int64_t dead = 0;
  std::int64_t tickets = 0;  ///< issues with a ticket id
  std::int64_t held = 0;     ///< held events (unmapped tenants)
};

class store {
 public:
  /// Opens (creating if needed) the database at `path` — ":memory:" for tests —
  /// sets WAL, synchronous=FULL, foreign_keys=ON, busy_timeout=5000, and applies
  /// the embedded migrations. Throws std::runtime_error with a clear message
  /// when the file cannot be opened or its schema is newer than this binary.
  explicit store(const std::string& path);
  /// Read-only (operator commands that must change nothing, e.g. `explain`):
  /// opens an existing database without creating, migrating or writing it.
  /// Throws std::runtime_error when the file is missing or its schema is not
  /// exactly this binary's.
  struct read_only_t {};
  store(const std::string& path, read_only_t);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  int schema_version();

  /// RAII write transaction (BEGIN IMMEDIATE); rolled back unless commit() is called.
  /// Transactions do not nest: beginning one while another is open on the same
  /// store throws SQLite::Exception. Every method below except inbox_add,
  /// retry_dead_letter and drop_dead_letter runs inside the caller's
  /// transaction when there is one.
  class transaction {
   public:
    explicit transaction(store& s);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit();

   private:
    std::unique_ptr<SQLite::Transaction> tx_;
  };

  /// A savepoint inside the open transaction: release() keeps its writes,
  /// destruction without release() rolls them back (and keeps the
  /// transaction). Lets one transaction carry independent writers (a group
  /// commit) so that one failing writer loses only its own writes.
  class savepoint {
   public:
    explicit savepoint(store& s);
    ~savepoint();
    savepoint(const savepoint&) = delete;
    savepoint& operator=(const savepoint&) = delete;
    void release();

   private:
    store& store_;
    bool done_ = false;
  };

  // ---- inbox ---------------------------------------------------------------
  /// Appends entries in one transaction of its own (all or none).
  /// REQUIRES: no store::transaction is open on this store.
  void inbox_add(std::span<const inbox_entry> entries, sys_ms now);
  /// Appends entries inside the caller's transaction (e.g. a group commit).
  void inbox_append(std::span<const inbox_entry> entries, sys_ms now);
  /// Oldest first, at most `limit`.
  std::vector<inbox_row> inbox_peek(std::size_t limit);
  /// Deletes the row; a missing id is not an error.
  void inbox_remove(std::int64_t id);
  std::int64_t inbox_depth();

  // ---- issues --------------------------------------------------------------
  std::optional<issue_record> find_issue(const issue_identity& id);
  std::optional<issue_record> get_issue(std::int64_t id);
  std::optional<issue_record> find_issue_by_correlation(std::string_view correlation_key);
  /// Inserts the issue when rec.id == 0 (returns the new id), else updates its
  /// state, severity, last_event_at, event_json, generation, phase,
  /// resolved_at and desired_json (returns rec.id). Ticket fields (ticket_id,
  /// ticket, applied_json) change only through set_ticket/set_applied (an
  /// insert stores rec's). An
  /// empty correlation_key is filled with correlation_key(rec.identity).
  /// Throws SQLite::Exception when the identity or key already exists, and
  /// std::logic_error when updating an id that does not exist.
  std::int64_t save_issue(const issue_record& rec, sys_ms now);
  /// Changes the fields set in `u` (and updated_at). Throws std::logic_error
  /// when the issue does not exist.
  void update_issue(std::int64_t issue, const issue_update& u, sys_ms now);
  /// Throws std::logic_error when the issue does not exist.
  void set_ticket(std::int64_t issue, std::optional<std::int64_t> ticket_id, ticket_state state, sys_ms now);
  /// Records the fields the ticket is now known to hold. Throws std::logic_error
  /// when the issue does not exist.
  void set_applied(std::int64_t issue, const applied_ticket& applied, sys_ms now);
  /// The ticket as last written or seen (issues.seen).
  void set_seen(std::int64_t issue, const ticket_view& seen, sys_ms now);
  /// The issues whose current ticket is `ticket_id` (more than one after a
  /// merge of two issues' tickets), in id order.
  std::vector<issue_record> issues_with_ticket(std::int64_t ticket_id);
  /// Ticket ids above `after` that issues hold open, ascending, at most `limit`.
  std::vector<std::int64_t> open_tickets(std::int64_t after, std::size_t limit);
  /// A ticket a verified callback named (ticket_hints).
  struct ticket_hint {
    std::int64_t id = 0;
    std::int64_t ticket = 0;
    std::string action;  ///< added | updated | deleted
    std::string member;  ///< who made the change (the callback's MemberId)
    sys_ms received_at{};
  };
  /// Records a callback delivery: false when `delivery_key` was taken before
  /// (a repeat: nothing is stored); else stores the hint. An empty key is
  /// never a repeat. Deliveries older than a day are forgotten here.
  bool add_ticket_hint(std::string_view delivery_key, std::int64_t ticket, std::string_view action,
                       std::string_view member, sys_ms now);
  /// The oldest hints, at most `limit`.
  std::vector<ticket_hint> ticket_hints(std::size_t limit);
  std::int64_t ticket_hint_count();
  void remove_ticket_hints(const std::vector<std::int64_t>& ids);
  /// A mark of the reverse direction (reverse_marks), when set.
  std::optional<std::int64_t> reverse_mark(std::string_view name);
  void set_reverse_mark(std::string_view name, std::int64_t value, sys_ms now);

  // ---- operations (outbox) ---------------------------------------------------
  std::int64_t add_operation(std::int64_t issue, op_kind kind, const op_payload& payload, sys_ms now);
  std::optional<operation_record> get_operation(std::int64_t id);
  /// True when the issue has a pending operation.
  bool has_pending_operation(std::int64_t issue);
  /// The issue's newest pending operation, if any (for coalescing).
  std::optional<operation_record> newest_pending_operation(std::int64_t issue);
  /// Pending operations due at `now`, at most one per issue (the oldest of that
  /// issue), ordered by next_attempt_at then id, at most `limit`.
  std::vector<operation_record> due_operations(sys_ms now, std::size_t limit);
  /// The earliest next_attempt_at among the operations due_operations can
  /// return (the oldest pending operation of each issue), if any. A later
  /// operation of an issue whose head waits for a retry is not counted, so a
  /// driver sleeping until this time never wakes to find nothing due.
  std::optional<sys_ms> next_due_time();
  // The four transitions below REQUIRE a pending operation and throw
  // std::logic_error when `op` does not exist or is not pending.
  /// Before a request that must not be repeated blindly goes out: sent = 1
  /// (cause interrupted until an answer says otherwise), and `payload` stored
  /// (what the request carries, e.g. a note's text, so an uncertain attempt
  /// can be recognised and repeated identically).
  void mark_sent(std::int64_t op, const op_payload& payload, sys_ms now);
  /// A step finished: the next one is `step`; sent = 0.
  void advance_step(std::int64_t op, int step, sys_ms now);
  /// The operation succeeded: status done, sent = 0.
  void complete_operation(std::int64_t op, sys_ms now);
  /// An attempt failed: try again at r.next (attempts += 1 when r.counts);
  /// `sent` is cleared when r.clear_sent, its cause set when r.cause.
  void retry_operation(std::int64_t op, const retry_plan& r, sys_ms now);
  /// Give up: status dead with `error`.
  void fail_operation(std::int64_t op, std::string_view error, sys_ms now);
  /// Give up: status dead, and a dead_letters row with ConnectWise's answer.
  void fail_operation(std::int64_t op, const dead_letter_info& info, sys_ms now);
  /// Dead letters, newest first, at most `limit`.
  std::vector<dead_letter> dead_letters(std::size_t limit);
  /// The dead letter with this id, if any.
  std::optional<dead_letter> find_dead_letter(std::int64_t id);
  /// The issue's dead letters, newest first.
  std::vector<dead_letter> dead_letters_of(std::int64_t issue);
  /// Every operation of the issue (any status), oldest first.
  std::vector<operation_record> operations_of(std::int64_t issue);

  // ---- operator actions on dead letters (`ticketsyncd deadletter`) -------------
  // Each runs in one transaction of its own (all or nothing) and REQUIRES that
  // no store::transaction is open on this store. `who` names the operator
  // (e.g. "alice via sudo (root)"); `reason` may be empty. Both record an
  // 'operator' history row on the issue, detail JSON {action, by, at, reason,
  // dead_letter: {id, operation, kind, http_status, cw_code, cw_message,
  // cw_field, error, attempts, created_at}}, and delete the dead letter. A
  // missing id (not_found) or an operation that is not dead (not_dead) changes
  // nothing.
  /// Retry: the operation becomes pending again, due at `now`, with attempts 0,
  /// no last_error and the rerender mark (the daemon renders the ticket anew
  /// with its current mapping first). `sent` and `step` are kept, so a request
  /// that may have reached the PSA is still looked up before it is repeated
  /// and finished steps are not repeated.
  dead_letter_change retry_dead_letter(std::int64_t id, std::string_view who, std::string_view reason, sys_ms now);
  /// Drop: the operation stays dead; only the dead letter goes.
  dead_letter_change drop_dead_letter(std::int64_t id, std::string_view who, std::string_view reason, sys_ms now);
  /// Clears the rerender mark (the daemon rendered the ticket anew). Throws
  /// std::logic_error when `op` does not exist or is not pending.
  void clear_rerender(std::int64_t op, sys_ms now);

  // ---- held events (unmapped tenants) -----------------------------------------
  void hold_event(const inbox_row& row, std::string_view source, std::string_view tenant, std::string_view reason,
                  sys_ms now);
  /// Oldest first, at most `limit`.
  std::vector<held_event> held_events(std::size_t limit);
  /// Moves every held event back to the end of the inbox, in arrival order
  /// (the planner holds again those still unmapped). Returns how many.
  std::int64_t release_held(sys_ms now);

  // ---- history -------------------------------------------------------------------
  void add_history(std::int64_t issue, std::string_view kind, std::optional<std::int64_t> operation,
                   std::string_view detail, sys_ms now);
  /// Oldest first.
  std::vector<history_entry> history(std::int64_t issue);

  // ---- storm protection ------------------------------------------------------------
  /// Create operations queued since `since` for issues of `tenant` (any
  /// source), digest tickets excluded.
  std::int64_t creates_since(std::string_view tenant, sys_ms since);

  // ---- directory cache -------------------------------------------------------------
  /// Replaces the list (kind, scope), fetched at `fetched_at`.
  void put_directory(std::string_view kind, std::int64_t scope, std::string_view body, sys_ms fetched_at);
  /// Every cached list (the daemon's name cache at start: names resolve after
  /// a restart without lookups while they are fresh).
  std::vector<directory_entry> directory();

  counts get_counts();

  // ---- status (`ticketsyncd status`) ----------------------------------------------
  /// Depths; an operation is due when its next_attempt_at <= `now`.
  queue_status get_queue_status(sys_ms now);
  /// Pending operations with a last_error, the most recently failed first, at
  /// most `limit`.
  std::vector<operation_error> recent_errors(std::size_t limit);

  // ---- runtime (what the running daemon records for other processes) ----------------
  /// Inserts or replaces `key`.
  void set_runtime(std::string_view key, std::string_view value, sys_ms now);
  /// Every key, sorted.
  std::map<std::string, runtime_value> runtime();

  /// For tests and CLIs that need a raw look.
  SQLite::Database& db() { return *db_; }

 private:
  struct statements;  // prepared statements of the hot paths (store.cpp)

  /// retry_dead_letter / drop_dead_letter; `action` is "retry" or "drop".
  dead_letter_change settle_dead_letter(std::int64_t id, std::string_view action, std::string_view who,
                                        std::string_view reason, sys_ms now);

  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<statements> stmts_;  // after db_: finalized before the close
};

}  // namespace ts::store
