// The state store over SQLiteCpp: the inbox of accepted events, one row per
// issue with its ticket, and the outbox of PSA operations. The connection is
// opened in WAL mode with synchronous=FULL, so a returned commit survives power
// loss (unless a wal_sync takes the syncs over); the embedded migrations are
// applied at open. Every statement is
// prepared once, in the constructor, and reused: the driver calls these methods
// thousands of times per second. A cached statement is reset as soon as its
// use ends, so no half-stepped SELECT keeps a WAL read snapshot open between
// calls. Only inbox_add begins a transaction of its own; everything else runs
// inside the caller's store::transaction, if any, or autocommits.
#include "store/store.hpp"

#include "store/migrations.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <initializer_list>
#include <limits>
#include <stdexcept>

namespace ts::store {

namespace {

// A value the schema forbids means the file was edited by hand or is corrupt:
// an environmental failure, reported with the column and the value.
[[noreturn]] void bad_value(std::string_view column, std::string_view value) {
  throw std::runtime_error("store: unexpected value '" + std::string(value) + "' in " + std::string(column));
}

/// The value of enum column `column`, or bad_value().
template <text_enum E>
E read_enum(std::string_view column, const std::string& text) {
  if (auto v = from_text<E>(text)) return *v;
  bad_value(column, text);
}

std::int64_t to_sql_limit(std::size_t limit) {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit < max ? limit : max);
}

// Scope of one use of a cached statement: bindings start clear, and the
// statement is reset on the way out (also after an exception) so it holds no
// read snapshot or lock until its next use. tryReset, because reset() would
// rethrow the error of a failed step from a destructor.
class statement_use {
 public:
  explicit statement_use(SQLite::Statement& s) : s_(s) {
    s_.tryReset();
    s_.clearBindings();
  }
  ~statement_use() { s_.tryReset(); }
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;

 private:
  SQLite::Statement& s_;
};

// Column lists shared by the SELECTs and the row readers below.
// SQL text from pieces (appending into one string, not chained operator+,
// which trips a GCC 12 -Warray-bounds false positive).
std::string sql(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (std::string_view p : parts) text.append(p);
  return text;
}

constexpr std::string_view issue_columns =
    "id, source, tenant, issue_id, correlation_key, state, severity, last_event_at, event, ticket_id, ticket_state,"
    " generation, phase, resolved_at, desired, applied, rule, tech_closed, digest, seen";
constexpr std::string_view operation_columns =
    "id, issue, kind, payload, status, attempts, sent, next_attempt_at, last_error, step, rerender, sent_cause";
constexpr std::string_view dead_letter_columns =
    "id, operation, issue, kind, http_status, cw_code, cw_message, cw_field, error, attempts, created_at";

// The oldest pending operation of an issue (ops of one issue run in order).
constexpr std::string_view is_issue_head =
    "o.id = (SELECT MIN(p.id) FROM operations AS p WHERE p.issue = o.issue AND p.status = 'pending')";

issue_record read_issue(const SQLite::Statement& s) {
  issue_record r;
  r.id = s.getColumn(0).getInt64();
  r.identity.source = s.getColumn(1).getString();
  r.identity.tenant = s.getColumn(2).getString();
  r.identity.issue_id = s.getColumn(3).getString();
  r.correlation_key = s.getColumn(4).getString();
  r.state = read_enum<issue_state>("issues.state", s.getColumn(5).getString());
  r.severity = read_enum<ts::severity>("issues.severity", s.getColumn(6).getString());
  r.last_event_at = from_unix_ms(s.getColumn(7).getInt64());
  r.event_json = s.getColumn(8).getString();
  if (!s.isColumnNull(9)) r.ticket_id = s.getColumn(9).getInt64();
  r.ticket = read_enum<ticket_state>("issues.ticket_state", s.getColumn(10).getString());
  r.generation = s.getColumn(11).getInt();
  r.phase = read_enum<ticket_phase>("issues.phase", s.getColumn(12).getString());
  if (!s.isColumnNull(13)) r.resolved_at = from_unix_ms(s.getColumn(13).getInt64());
  r.desired = decode_desired(s.getColumn(14).getString());
  r.desired.external_xref = r.correlation_key;
  r.applied = decode_applied(s.getColumn(15).getString());
  r.rule = s.getColumn(16).getString();
  r.tech_closed = s.getColumn(17).getInt() != 0;
  if (!s.isColumnNull(18)) r.digest = s.getColumn(18).getInt64();
  r.seen = decode_seen(s.getColumn(19).getString());
  return r;
}

operation_record read_operation(const SQLite::Statement& s) {
  operation_record r;
  r.id = s.getColumn(0).getInt64();
  r.issue = s.getColumn(1).getInt64();
  r.kind = read_enum<op_kind>("operations.kind", s.getColumn(2).getString());
  r.payload = decode_payload(s.getColumn(3).getString());
  r.status = read_enum<op_status>("operations.status", s.getColumn(4).getString());
  r.attempts = s.getColumn(5).getInt();
  r.sent = s.getColumn(6).getInt() != 0;
  r.next_attempt_at = from_unix_ms(s.getColumn(7).getInt64());
  r.last_error = s.getColumn(8).getString();  // NULL reads as ""
  r.step = s.getColumn(9).getInt();
  r.rerender = s.getColumn(10).getInt() != 0;
  if (!s.isColumnNull(11)) r.cause = read_enum<sent_cause>("operations.sent_cause", s.getColumn(11).getString());
  return r;
}

dead_letter read_dead_letter(const SQLite::Statement& s) {
  dead_letter d;
  d.id = s.getColumn(0).getInt64();
  d.operation = s.getColumn(1).getInt64();
  d.issue = s.getColumn(2).getInt64();
  d.kind = read_enum<op_kind>("dead_letters.kind", s.getColumn(3).getString());
  d.info.http_status = s.getColumn(4).getInt();  // NULL reads as 0, "" below
  d.info.cw_code = s.getColumn(5).getString();
  d.info.cw_message = s.getColumn(6).getString();
  d.info.cw_field = s.getColumn(7).getString();
  d.info.error = s.getColumn(8).getString();
  d.attempts = s.getColumn(9).getInt();
  d.created_at = from_unix_ms(s.getColumn(10).getInt64());
  return d;
}

std::optional<issue_record> one_issue(SQLite::Statement& s) {
  if (!s.executeStep()) return std::nullopt;
  return read_issue(s);
}

[[noreturn]] void no_pending_operation(std::int64_t op) {
  throw std::logic_error("store: operation " + std::to_string(op) + " does not exist or is not pending");
}

[[noreturn]] void no_issue(std::int64_t issue) {
  throw std::logic_error("store: issue " + std::to_string(issue) + " does not exist");
}

}  // namespace

//------------------------------------------------------------------------------

struct store::statements {
  explicit statements(SQLite::Database& db)
      : inbox_insert(db, "INSERT INTO inbox (received_at, origin, body) VALUES (?1, ?2, ?3)"),
        inbox_peek(db, "SELECT id, received_at, origin, body FROM inbox ORDER BY id LIMIT ?1"),
        inbox_delete(db, "DELETE FROM inbox WHERE id = ?1"),
        inbox_count(db, "SELECT COUNT(*) FROM inbox"),
        issue_by_identity(
            db, sql({"SELECT ", issue_columns, " FROM issues WHERE source = ?1 AND tenant = ?2 AND issue_id = ?3"})),
        issue_by_id(db, sql({"SELECT ", issue_columns, " FROM issues WHERE id = ?1"})),
        issue_by_key(db, sql({"SELECT ", issue_columns, " FROM issues WHERE correlation_key = ?1"})),
        issue_insert(db,
                     "INSERT INTO issues (source, tenant, issue_id, correlation_key, state, severity, last_event_at,"
                     " event, ticket_id, ticket_state, created_at, updated_at, generation, phase, resolved_at,"
                     " desired, applied, rule, tech_closed, digest)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
                     " ?19)"),
        issue_update(
            db,
            "UPDATE issues SET state = ?2, severity = ?3, last_event_at = ?4, event = ?5, updated_at = ?6,"
            " generation = ?7, phase = ?8, resolved_at = ?9, desired = ?10, rule = ?11, tech_closed = ?12, digest = ?13"
            " WHERE id = ?1"),
        issue_set_ticket(db, "UPDATE issues SET ticket_id = ?2, ticket_state = ?3, updated_at = ?4 WHERE id = ?1"),
        issue_set_applied(db, "UPDATE issues SET applied = ?2, updated_at = ?3 WHERE id = ?1"),
        issue_set_seen(db, "UPDATE issues SET seen = ?2, updated_at = ?3 WHERE id = ?1"),
        issues_by_ticket(db, sql({"SELECT ", issue_columns, " FROM issues WHERE ticket_id = ?1 ORDER BY id"})),
        // NULL leaves a column as it is; ?3 = 1 takes the phase from what the ticket is known to be.
        issue_patch(db,
                    "UPDATE issues SET phase = CASE WHEN ?3 THEN (CASE ticket_state WHEN 'open' THEN 'open'"
                    " WHEN 'closed' THEN 'closed' ELSE 'none' END) ELSE COALESCE(?2, phase) END,"
                    " tech_closed = COALESCE(?4, tech_closed), generation = COALESCE(?5, generation),"
                    " desired = COALESCE(?6, desired), rule = COALESCE(?7, rule), updated_at = ?8 WHERE id = ?1"),
        op_insert(db,
                  "INSERT INTO operations (issue, kind, payload, next_attempt_at, created_at, updated_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?4, ?4)"),
        op_by_id(db, sql({"SELECT ", operation_columns, " FROM operations WHERE id = ?1"})),
        op_has_pending(db, "SELECT EXISTS (SELECT 1 FROM operations WHERE issue = ?1 AND status = 'pending')"),
        op_newest_pending(db,
                          sql({"SELECT ", operation_columns,
                               " FROM operations WHERE issue = ?1 AND status = 'pending' ORDER BY id DESC LIMIT 1"})),
        op_mark_sent(db,
                     "UPDATE operations SET sent = 1, sent_cause = 'interrupted', payload = ?3, updated_at = ?2"
                     " WHERE id = ?1 AND status = 'pending'"),
        op_advance(db,
                   "UPDATE operations SET step = ?2, sent = 0, updated_at = ?3 WHERE id = ?1 AND status = 'pending'"),
        dead_insert(db,
                    "INSERT INTO dead_letters (operation, issue, kind, http_status, cw_code, cw_message, cw_field,"
                    " error, attempts, created_at)"
                    " SELECT id, issue, kind, ?2, ?3, ?4, ?5, ?6, attempts, ?7 FROM operations"
                    " WHERE id = ?1 AND status = 'pending'"),
        dead_list(db, sql({"SELECT ", dead_letter_columns, " FROM dead_letters ORDER BY id DESC LIMIT ?1"})),
        op_due(db, sql({"SELECT ", operation_columns,
                        " FROM operations AS o WHERE o.status = 'pending' AND o.next_attempt_at <= ?1 AND ",
                        is_issue_head, " ORDER BY o.next_attempt_at, o.id LIMIT ?2"})),
        // ORDER BY + LIMIT rather than MIN(): walks operations_pending in time
        // order and stops at the first head, even with a large backlog.
        op_next_due(db, sql({"SELECT o.next_attempt_at FROM operations AS o WHERE o.status = 'pending' AND ",
                             is_issue_head, " ORDER BY o.next_attempt_at LIMIT 1"})),
        op_complete(db,
                    "UPDATE operations SET status = 'done', sent = 0, updated_at = ?2"
                    " WHERE id = ?1 AND status = 'pending'"),
        op_retry(db,
                 "UPDATE operations SET attempts = attempts + ?6, next_attempt_at = ?2, last_error = ?3,"
                 " sent = CASE WHEN ?4 THEN 0 ELSE sent END, sent_cause = COALESCE(?7, sent_cause), updated_at = ?5"
                 " WHERE id = ?1 AND status = 'pending'"),
        op_fail(db,
                "UPDATE operations SET status = 'dead', last_error = ?2, updated_at = ?3"
                " WHERE id = ?1 AND status = 'pending'"),
        all_counts(db,
                   "SELECT (SELECT COUNT(*) FROM inbox), (SELECT COUNT(*) FROM issues),"
                   " (SELECT COUNT(*) FROM operations WHERE status = 'pending'),"
                   " (SELECT COUNT(*) FROM operations WHERE status = 'dead'),"
                   " (SELECT COUNT(*) FROM issues WHERE ticket_id IS NOT NULL), (SELECT COUNT(*) FROM held_events)"),
        history_insert(db, "INSERT INTO history (issue, at, kind, operation, detail) VALUES (?1, ?2, ?3, ?4, ?5)"),
        runtime_upsert(db,
                       "INSERT INTO runtime (key, value, updated_at) VALUES (?1, ?2, ?3)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at") {}

  SQLite::Statement inbox_insert, inbox_peek, inbox_delete, inbox_count;
  SQLite::Statement issue_by_identity, issue_by_id, issue_by_key, issue_insert, issue_update, issue_set_ticket,
      issue_set_applied, issue_set_seen, issues_by_ticket, issue_patch;
  SQLite::Statement op_insert, op_by_id, op_has_pending, op_newest_pending, op_mark_sent, op_advance, dead_insert,
      dead_list, op_due, op_next_due;
  SQLite::Statement op_complete, op_retry, op_fail;
  SQLite::Statement all_counts;
  SQLite::Statement history_insert;  // one per planned event: on the planning path
  SQLite::Statement runtime_upsert;  // the driver records each PSA failure
};

//------------------------------------------------------------------------------

store::store(const std::string& path) {
  // SQLite opens lazily: a file that is not a database, or a directory we
  // cannot write, fails at the first PRAGMA, so all of these count as "open".
  try {
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    // Before journal_mode: switching to WAL needs a lock another process may hold.
    db_->setBusyTimeout(5000);
    const std::string mode = db_->execAndGet("PRAGMA journal_mode = WAL").getString();
    const std::string expected = path == ":memory:" ? "memory" : "wal";
    if (mode != expected) {
      throw std::runtime_error("journal_mode is '" + mode + "', expected '" + expected + "'");
    }
    db_->exec("PRAGMA synchronous = FULL");
    db_->exec("PRAGMA foreign_keys = ON");
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open database '" + path + "': " + e.what());
  }
  migrate(*db_, embedded_migrations());
  // After migrate: preparing needs the tables.
  stmts_ = std::make_unique<statements>(*db_);
}

store::store(const std::string& path, read_only_t) {
  try {
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX);
    db_->setBusyTimeout(5000);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot open database '" + path + "' read-only: " + e.what());
  }
  const auto& all = embedded_migrations();
  const int latest = all.empty() ? 0 : all.back().version;
  const int have = schema_version();
  if (have != latest)
    throw std::runtime_error("database '" + path + "' has schema version " + std::to_string(have) +
                             ", this binary expects " + std::to_string(latest) +
                             " (start the daemon once to migrate it)");
  stmts_ = std::make_unique<statements>(*db_);
}

store::~store() = default;

int store::schema_version() { return db_->execAndGet("PRAGMA user_version").getInt(); }

store::transaction::transaction(store& s)
    : tx_(std::make_unique<SQLite::Transaction>(*s.db_, SQLite::TransactionBehavior::IMMEDIATE)) {}

// SQLite::Transaction's destructor rolls back unless committed and swallows
// the rollback's errors (SQLite may already have rolled back after I/O errors).
store::transaction::~transaction() = default;

void store::transaction::commit() { tx_->commit(); }

store::savepoint::savepoint(store& s) : store_(s) { store_.db_->exec("SAVEPOINT writer"); }

store::savepoint::~savepoint() {
  if (done_) return;
  try {
    store_.db_->exec("ROLLBACK TO writer");
    store_.db_->exec("RELEASE writer");
  } catch (const std::exception&) {
    // After an I/O error SQLite may have rolled the whole transaction back;
    // the transaction's own rollback or commit then reports it.
  }
}

void store::savepoint::release() {
  store_.db_->exec("RELEASE writer");
  done_ = true;
}

//------------------------------------------------------------------------------
// inbox

void store::inbox_add(std::span<const inbox_entry> entries, sys_ms now) {
  if (entries.empty()) return;
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  inbox_append(entries, now);
  tx.commit();
}

void store::inbox_append(std::span<const inbox_entry> entries, sys_ms now) {
  auto& s = stmts_->inbox_insert;
  for (const inbox_entry& e : entries) {
    statement_use use(s);
    s.bind(1, to_unix_ms(now));
    s.bindNoCopy(2, e.origin);
    s.bindNoCopy(3, e.body);  // bodies are up to 256 KiB: do not copy them
    s.exec();
  }
}

std::vector<inbox_row> store::inbox_peek(std::size_t limit) {
  std::vector<inbox_row> rows;
  if (limit == 0) return rows;
  auto& s = stmts_->inbox_peek;
  statement_use use(s);
  s.bind(1, to_sql_limit(limit));
  while (s.executeStep()) {
    rows.push_back(inbox_row{.id = s.getColumn(0).getInt64(),
                             .received_at = from_unix_ms(s.getColumn(1).getInt64()),
                             .origin = s.getColumn(2).getString(),
                             .body = s.getColumn(3).getString()});
  }
  return rows;
}

void store::inbox_remove(std::int64_t id) {
  auto& s = stmts_->inbox_delete;
  statement_use use(s);
  s.bind(1, id);
  s.exec();
}

std::int64_t store::inbox_depth() {
  auto& s = stmts_->inbox_count;
  statement_use use(s);
  s.executeStep();
  return s.getColumn(0).getInt64();
}

//------------------------------------------------------------------------------
// issues

std::optional<issue_record> store::find_issue(const issue_identity& id) {
  auto& s = stmts_->issue_by_identity;
  statement_use use(s);
  s.bindNoCopy(1, id.source);
  s.bindNoCopy(2, id.tenant);
  s.bindNoCopy(3, id.issue_id);
  return one_issue(s);
}

std::optional<issue_record> store::get_issue(std::int64_t id) {
  auto& s = stmts_->issue_by_id;
  statement_use use(s);
  s.bind(1, id);
  return one_issue(s);
}

std::optional<issue_record> store::find_issue_by_correlation(std::string_view correlation_key) {
  auto& s = stmts_->issue_by_key;
  statement_use use(s);
  s.bind(1, std::string(correlation_key));
  return one_issue(s);
}

std::int64_t store::save_issue(const issue_record& rec, sys_ms now) {
  if (rec.id == 0) {
    auto& s = stmts_->issue_insert;
    statement_use use(s);
    s.bindNoCopy(1, rec.identity.source);
    s.bindNoCopy(2, rec.identity.tenant);
    s.bindNoCopy(3, rec.identity.issue_id);
    s.bind(4, rec.correlation_key.empty() ? correlation_key(rec.identity) : rec.correlation_key);
    s.bindNoCopy(5, to_text(rec.state).data());  // string literals: NUL-terminated
    s.bindNoCopy(6, to_text(rec.severity).data());
    s.bind(7, to_unix_ms(rec.last_event_at));
    s.bindNoCopy(8, rec.event_json);
    if (rec.ticket_id) s.bind(9, *rec.ticket_id);  // else stays NULL (bindings were cleared)
    s.bindNoCopy(10, to_text(rec.ticket).data());
    s.bind(11, to_unix_ms(now));
    s.bind(12, rec.generation);
    s.bindNoCopy(13, to_text(rec.phase).data());
    if (rec.resolved_at) s.bind(14, to_unix_ms(*rec.resolved_at));
    s.bind(15, encode_desired(rec.desired));
    s.bind(16, encode_applied(rec.applied));
    s.bindNoCopy(17, rec.rule);
    s.bind(18, rec.tech_closed ? 1 : 0);
    if (rec.digest) s.bind(19, *rec.digest);
    s.exec();
    return db_->getLastInsertRowid();
  }
  auto& s = stmts_->issue_update;
  statement_use use(s);
  s.bind(1, rec.id);
  s.bindNoCopy(2, to_text(rec.state).data());
  s.bindNoCopy(3, to_text(rec.severity).data());
  s.bind(4, to_unix_ms(rec.last_event_at));
  s.bindNoCopy(5, rec.event_json);
  s.bind(6, to_unix_ms(now));
  s.bind(7, rec.generation);
  s.bindNoCopy(8, to_text(rec.phase).data());
  if (rec.resolved_at) s.bind(9, to_unix_ms(*rec.resolved_at));
  s.bind(10, encode_desired(rec.desired));
  s.bindNoCopy(11, rec.rule);
  s.bind(12, rec.tech_closed ? 1 : 0);
  if (rec.digest) s.bind(13, *rec.digest);
  if (s.exec() == 0) no_issue(rec.id);
  return rec.id;
}

void store::update_issue(std::int64_t issue, const issue_update& u, sys_ms now) {
  auto& s = stmts_->issue_patch;
  statement_use use(s);
  s.bind(1, issue);
  if (u.phase) s.bindNoCopy(2, to_text(*u.phase).data());
  s.bind(3, u.phase_from_ticket ? 1 : 0);
  if (u.tech_closed) s.bind(4, *u.tech_closed ? 1 : 0);
  if (u.generation) s.bind(5, *u.generation);
  if (u.desired) s.bind(6, encode_desired(*u.desired));
  if (u.rule) s.bind(7, *u.rule);
  s.bind(8, to_unix_ms(now));
  if (s.exec() == 0) no_issue(issue);
}

void store::set_applied(std::int64_t issue, const applied_ticket& applied, sys_ms now) {
  auto& s = stmts_->issue_set_applied;
  statement_use use(s);
  s.bind(1, issue);
  s.bind(2, encode_applied(applied));
  s.bind(3, to_unix_ms(now));
  if (s.exec() == 0) no_issue(issue);
}

void store::set_seen(std::int64_t issue, const ticket_view& seen, sys_ms now) {
  auto& s = stmts_->issue_set_seen;
  statement_use use(s);
  s.bind(1, issue);
  s.bind(2, encode_seen(seen));
  s.bind(3, to_unix_ms(now));
  if (s.exec() == 0) no_issue(issue);
}

std::vector<issue_record> store::issues_with_ticket(std::int64_t ticket_id) {
  auto& s = stmts_->issues_by_ticket;
  statement_use use(s);
  s.bind(1, ticket_id);
  std::vector<issue_record> out;
  while (s.executeStep()) out.push_back(read_issue(s));
  return out;
}

std::vector<std::int64_t> store::open_tickets(std::int64_t after, std::size_t limit) {
  SQLite::Statement s(*db_,
                      "SELECT DISTINCT ticket_id FROM issues WHERE ticket_id > ?1 AND ticket_state = 'open'"
                      " ORDER BY ticket_id LIMIT ?2");
  s.bind(1, after);
  s.bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::int64_t> out;
  while (s.executeStep()) out.push_back(s.getColumn(0).getInt64());
  return out;
}

bool store::add_ticket_hint(std::string_view delivery_key, std::int64_t ticket, std::string_view action,
                            std::string_view member, sys_ms now) {
  if (!delivery_key.empty()) {
    SQLite::Statement prune(*db_, "DELETE FROM callback_deliveries WHERE received_at < ?1");
    prune.bind(1, to_unix_ms(now - std::chrono::hours{24}));
    prune.exec();
    SQLite::Statement seen(*db_, "INSERT OR IGNORE INTO callback_deliveries (key, received_at) VALUES (?1, ?2)");
    seen.bind(1, std::string(delivery_key));
    seen.bind(2, to_unix_ms(now));
    if (seen.exec() == 0) return false;
  }
  SQLite::Statement s(*db_, "INSERT INTO ticket_hints (ticket, action, received_at, member) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, ticket);
  s.bind(2, std::string(action));
  s.bind(3, to_unix_ms(now));
  s.bind(4, std::string(member));
  s.exec();
  return true;
}

std::vector<store::ticket_hint> store::ticket_hints(std::size_t limit) {
  SQLite::Statement s(*db_, "SELECT id, ticket, action, received_at, member FROM ticket_hints ORDER BY id LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<ticket_hint> out;
  while (s.executeStep())
    out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getInt64(), s.getColumn(2).getString(),
                   s.getColumn(4).getString(), from_unix_ms(s.getColumn(3).getInt64())});
  return out;
}

std::int64_t store::ticket_hint_count() { return db_->execAndGet("SELECT COUNT(*) FROM ticket_hints").getInt64(); }

void store::remove_ticket_hints(const std::vector<std::int64_t>& ids) {
  SQLite::Statement s(*db_, "DELETE FROM ticket_hints WHERE id = ?1");
  for (const std::int64_t id : ids) {
    s.bind(1, id);
    s.exec();
    s.reset();
  }
}

std::optional<std::int64_t> store::reverse_mark(std::string_view name) {
  SQLite::Statement s(*db_, "SELECT value FROM reverse_marks WHERE name = ?1");
  s.bind(1, std::string(name));
  if (!s.executeStep()) return std::nullopt;
  return s.getColumn(0).getInt64();
}

void store::set_reverse_mark(std::string_view name, std::int64_t value, sys_ms now) {
  SQLite::Statement s(*db_,
                      "INSERT INTO reverse_marks (name, value, updated_at) VALUES (?1, ?2, ?3)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at");
  s.bind(1, std::string(name));
  s.bind(2, value);
  s.bind(3, to_unix_ms(now));
  s.exec();
}

void store::set_ticket(std::int64_t issue, std::optional<std::int64_t> ticket_id, ticket_state state, sys_ms now) {
  auto& s = stmts_->issue_set_ticket;
  statement_use use(s);
  s.bind(1, issue);
  if (ticket_id) s.bind(2, *ticket_id);
  s.bindNoCopy(3, to_text(state).data());
  s.bind(4, to_unix_ms(now));
  if (s.exec() == 0) no_issue(issue);
}

//------------------------------------------------------------------------------
// operations

std::int64_t store::add_operation(std::int64_t issue, op_kind kind, const op_payload& payload, sys_ms now) {
  auto& s = stmts_->op_insert;
  statement_use use(s);
  s.bind(1, issue);
  s.bindNoCopy(2, to_text(kind).data());
  s.bind(3, encode_payload(payload));
  s.bind(4, to_unix_ms(now));
  s.exec();
  return db_->getLastInsertRowid();
}

std::optional<operation_record> store::get_operation(std::int64_t id) {
  auto& s = stmts_->op_by_id;
  statement_use use(s);
  s.bind(1, id);
  if (!s.executeStep()) return std::nullopt;
  return read_operation(s);
}

bool store::has_pending_operation(std::int64_t issue) {
  auto& s = stmts_->op_has_pending;
  statement_use use(s);
  s.bind(1, issue);
  s.executeStep();
  return s.getColumn(0).getInt() != 0;
}

std::optional<operation_record> store::newest_pending_operation(std::int64_t issue) {
  auto& s = stmts_->op_newest_pending;
  statement_use use(s);
  s.bind(1, issue);
  if (!s.executeStep()) return std::nullopt;
  return read_operation(s);
}

void store::mark_sent(std::int64_t op, const op_payload& payload, sys_ms now) {
  auto& s = stmts_->op_mark_sent;
  statement_use use(s);
  s.bind(1, op);
  s.bind(2, to_unix_ms(now));
  s.bind(3, encode_payload(payload));
  if (s.exec() == 0) no_pending_operation(op);
}

void store::advance_step(std::int64_t op, int step, sys_ms now) {
  auto& s = stmts_->op_advance;
  statement_use use(s);
  s.bind(1, op);
  s.bind(2, step);
  s.bind(3, to_unix_ms(now));
  if (s.exec() == 0) no_pending_operation(op);
}

void store::fail_operation(std::int64_t op, const dead_letter_info& info, sys_ms now) {
  {
    auto& s = stmts_->dead_insert;
    statement_use use(s);
    s.bind(1, op);
    if (info.http_status != 0) s.bind(2, info.http_status);
    if (!info.cw_code.empty()) s.bind(3, info.cw_code);
    if (!info.cw_message.empty()) s.bind(4, info.cw_message);
    if (!info.cw_field.empty()) s.bind(5, info.cw_field);
    s.bind(6, info.error);
    s.bind(7, to_unix_ms(now));
    if (s.exec() == 0) no_pending_operation(op);
  }
  fail_operation(op, info.error, now);
}

std::vector<dead_letter> store::dead_letters(std::size_t limit) {
  std::vector<dead_letter> out;
  auto& s = stmts_->dead_list;
  statement_use use(s);
  s.bind(1, to_sql_limit(limit));
  while (s.executeStep()) out.push_back(read_dead_letter(s));
  return out;
}

std::vector<operation_record> store::due_operations(sys_ms now, std::size_t limit) {
  std::vector<operation_record> ops;
  if (limit == 0) return ops;
  auto& s = stmts_->op_due;
  statement_use use(s);
  s.bind(1, to_unix_ms(now));
  s.bind(2, to_sql_limit(limit));
  while (s.executeStep()) ops.push_back(read_operation(s));
  return ops;
}

std::optional<sys_ms> store::next_due_time() {
  auto& s = stmts_->op_next_due;
  statement_use use(s);
  if (!s.executeStep()) return std::nullopt;
  return from_unix_ms(s.getColumn(0).getInt64());
}

void store::complete_operation(std::int64_t op, sys_ms now) {
  auto& s = stmts_->op_complete;
  statement_use use(s);
  s.bind(1, op);
  s.bind(2, to_unix_ms(now));
  if (s.exec() == 0) no_pending_operation(op);
}

void store::retry_operation(std::int64_t op, const retry_plan& r, sys_ms now) {
  auto& s = stmts_->op_retry;
  statement_use use(s);
  s.bind(1, op);
  s.bind(2, to_unix_ms(r.next));
  s.bind(3, r.error);
  s.bind(4, r.clear_sent ? 1 : 0);
  s.bind(5, to_unix_ms(now));
  s.bind(6, r.counts ? 1 : 0);
  if (r.cause) s.bindNoCopy(7, to_text(*r.cause).data());
  if (s.exec() == 0) no_pending_operation(op);
}

void store::fail_operation(std::int64_t op, std::string_view error, sys_ms now) {
  auto& s = stmts_->op_fail;
  statement_use use(s);
  s.bind(1, op);
  s.bind(2, std::string(error));
  s.bind(3, to_unix_ms(now));
  if (s.exec() == 0) no_pending_operation(op);
}

counts store::get_counts() {
  auto& s = stmts_->all_counts;
  statement_use use(s);
  s.executeStep();
  return counts{.inbox = s.getColumn(0).getInt64(),
                .issues = s.getColumn(1).getInt64(),
                .pending = s.getColumn(2).getInt64(),
                .dead = s.getColumn(3).getInt64(),
                .tickets = s.getColumn(4).getInt64(),
                .held = s.getColumn(5).getInt64()};
}

// The statements below, but add_history, are not on hot paths: prepared per call.

void store::hold_event(const inbox_row& row, std::string_view source, std::string_view tenant, std::string_view reason,
                       sys_ms now) {
  SQLite::Statement s(*db_,
                      "INSERT INTO held_events (received_at, origin, body, source, tenant, reason, held_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.bind(1, to_unix_ms(row.received_at));
  s.bind(2, row.origin);
  s.bind(3, row.body);
  s.bind(4, std::string(source));
  s.bind(5, std::string(tenant));
  s.bind(6, std::string(reason));
  s.bind(7, to_unix_ms(now));
  s.exec();
}

std::vector<held_event> store::held_events(std::size_t limit) {
  SQLite::Statement s(*db_,
                      "SELECT id, received_at, origin, body, source, tenant, reason, held_at FROM held_events"
                      " ORDER BY id LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<held_event> out;
  while (s.executeStep())
    out.push_back({s.getColumn(0).getInt64(), from_unix_ms(s.getColumn(1).getInt64()), s.getColumn(2).getString(),
                   s.getColumn(3).getString(), s.getColumn(4).getString(), s.getColumn(5).getString(),
                   s.getColumn(6).getString(), from_unix_ms(s.getColumn(7).getInt64())});
  return out;
}

std::int64_t store::release_held(sys_ms now) {
  (void)now;  // received_at is kept: the event was received then
  SQLite::Statement move(*db_,
                         "INSERT INTO inbox (received_at, origin, body)"
                         " SELECT received_at, origin, body FROM held_events ORDER BY id");
  const int n = move.exec();
  db_->exec("DELETE FROM held_events");
  return n;
}

void store::add_history(std::int64_t issue, std::string_view kind, std::optional<std::int64_t> operation,
                        std::string_view detail, sys_ms now) {
  auto& s = stmts_->history_insert;
  statement_use use(s);
  s.bind(1, issue);
  s.bind(2, to_unix_ms(now));
  s.bind(3, std::string(kind));
  if (operation) s.bind(4, *operation);
  s.bind(5, std::string(detail));
  s.exec();
}

std::vector<history_entry> store::history(std::int64_t issue) {
  SQLite::Statement s(*db_, "SELECT id, at, kind, operation, detail FROM history WHERE issue = ?1 ORDER BY id");
  s.bind(1, issue);
  std::vector<history_entry> out;
  while (s.executeStep()) {
    history_entry h{s.getColumn(0).getInt64(), from_unix_ms(s.getColumn(1).getInt64()), s.getColumn(2).getString(),
                    std::nullopt, s.getColumn(4).getString()};
    if (!s.isColumnNull(3)) h.operation = s.getColumn(3).getInt64();
    out.push_back(std::move(h));
  }
  return out;
}

std::int64_t store::creates_since(std::string_view tenant, sys_ms since) {
  SQLite::Statement s(*db_,
                      "SELECT COUNT(*) FROM operations AS o JOIN issues AS i ON o.issue = i.id"
                      " WHERE i.tenant = ?1 AND o.kind = 'create' AND o.created_at >= ?2 AND i.source <> ?3");
  s.bind(1, std::string(tenant));
  s.bind(2, to_unix_ms(since));
  s.bind(3, std::string(digest_source));
  s.executeStep();
  return s.getColumn(0).getInt64();
}

void store::put_directory(std::string_view kind, std::int64_t scope, std::string_view body, sys_ms fetched_at) {
  SQLite::Statement s(
      *db_,
      "INSERT INTO directory (kind, scope, body, fetched_at) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (kind, scope) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at");
  s.bind(1, std::string(kind));
  s.bind(2, scope);
  s.bind(3, std::string(body));
  s.bind(4, to_unix_ms(fetched_at));
  s.exec();
}

std::vector<directory_entry> store::directory() {
  SQLite::Statement s(*db_, "SELECT kind, scope, body, fetched_at FROM directory ORDER BY kind, scope");
  std::vector<directory_entry> out;
  while (s.executeStep())
    out.push_back({s.getColumn(0).getString(), s.getColumn(1).getInt64(), s.getColumn(2).getString(),
                   from_unix_ms(s.getColumn(3).getInt64())});
  return out;
}

//------------------------------------------------------------------------------
// operator commands: dead letters, an issue's operations, status, runtime

std::optional<dead_letter> store::find_dead_letter(std::int64_t id) {
  SQLite::Statement s(*db_, sql({"SELECT ", dead_letter_columns, " FROM dead_letters WHERE id = ?1"}));
  s.bind(1, id);
  if (!s.executeStep()) return std::nullopt;
  return read_dead_letter(s);
}

std::vector<dead_letter> store::dead_letters_of(std::int64_t issue) {
  SQLite::Statement s(*db_,
                      sql({"SELECT ", dead_letter_columns, " FROM dead_letters WHERE issue = ?1 ORDER BY id DESC"}));
  s.bind(1, issue);
  std::vector<dead_letter> out;
  while (s.executeStep()) out.push_back(read_dead_letter(s));
  return out;
}

std::vector<operation_record> store::operations_of(std::int64_t issue) {
  SQLite::Statement s(*db_, sql({"SELECT ", operation_columns, " FROM operations WHERE issue = ?1 ORDER BY id"}));
  s.bind(1, issue);
  std::vector<operation_record> out;
  while (s.executeStep()) out.push_back(read_operation(s));
  return out;
}

namespace {

// The detail of an 'operator' history row (see store.hpp), built by SQLite's
// JSON functions so the store needs no JSON library. Empty texts and a zero
// HTTP status become null, as in the dead_letters row.
std::string operator_detail(SQLite::Database& db, std::string_view action, std::string_view who,
                            std::string_view reason, sys_ms now, const dead_letter& d) {
  SQLite::Statement s(db,
                      "SELECT json_object('action', ?1, 'by', ?2, 'at', ?3, 'reason', ?4, 'dead_letter',"
                      " json_object('id', ?5, 'operation', ?6, 'kind', ?7, 'http_status', ?8, 'cw_code', ?9,"
                      " 'cw_message', ?10, 'cw_field', ?11, 'error', ?12, 'attempts', ?13, 'created_at', ?14))");
  const auto text = [&](int i, std::string_view v) {
    if (!v.empty()) s.bind(i, std::string(v));
  };
  text(1, action);
  text(2, who);
  s.bind(3, format_rfc3339(now));
  text(4, reason);
  s.bind(5, d.id);
  s.bind(6, d.operation);
  text(7, to_text(d.kind));
  if (d.info.http_status != 0) s.bind(8, d.info.http_status);
  text(9, d.info.cw_code);
  text(10, d.info.cw_message);
  text(11, d.info.cw_field);
  text(12, d.info.error);
  s.bind(13, d.attempts);
  s.bind(14, format_rfc3339(d.created_at));
  s.executeStep();
  return s.getColumn(0).getString();
}

}  // namespace

// retry and drop share everything but what happens to the operation.
dead_letter_change store::retry_dead_letter(std::int64_t id, std::string_view who, std::string_view reason,
                                            sys_ms now) {
  return settle_dead_letter(id, "retry", who, reason, now);
}

dead_letter_change store::drop_dead_letter(std::int64_t id, std::string_view who, std::string_view reason, sys_ms now) {
  return settle_dead_letter(id, "drop", who, reason, now);
}

dead_letter_change store::settle_dead_letter(std::int64_t id, std::string_view action, std::string_view who,
                                             std::string_view reason, sys_ms now) {
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  dead_letter_change change;
  change.letter = find_dead_letter(id);
  if (!change.letter) return change;  // not_found; the transaction rolls back (nothing was written)
  const auto op = get_operation(change.letter->operation);
  if (!op || op->status != op_status::dead) {
    change.outcome = dead_letter_outcome::not_dead;
    return change;
  }
  add_history(change.letter->issue, "operator", op->id, operator_detail(*db_, action, who, reason, now, *change.letter),
              now);
  SQLite::Statement remove(*db_, "DELETE FROM dead_letters WHERE id = ?1");
  remove.bind(1, id);
  remove.exec();
  if (action == "retry") {
    SQLite::Statement again(*db_,
                            "UPDATE operations SET status = 'pending', attempts = 0, next_attempt_at = ?2,"
                            " last_error = NULL, rerender = 1, updated_at = ?2 WHERE id = ?1 AND status = 'dead'");
    again.bind(1, op->id);
    again.bind(2, to_unix_ms(now));
    again.exec();
  }
  tx.commit();
  change.outcome = dead_letter_outcome::done;
  return change;
}

void store::clear_rerender(std::int64_t op, sys_ms now) {
  SQLite::Statement s(*db_, "UPDATE operations SET rerender = 0, updated_at = ?2 WHERE id = ?1 AND status = 'pending'");
  s.bind(1, op);
  s.bind(2, to_unix_ms(now));
  if (s.exec() == 0) no_pending_operation(op);
}

queue_status store::get_queue_status(sys_ms now) {
  SQLite::Statement s(*db_,
                      "SELECT (SELECT COUNT(*) FROM inbox), (SELECT MIN(received_at) FROM inbox),"
                      " (SELECT COUNT(*) FROM held_events),"
                      " (SELECT COUNT(*) FROM operations WHERE status = 'pending' AND next_attempt_at <= ?1),"
                      " (SELECT COUNT(*) FROM operations WHERE status = 'pending' AND next_attempt_at > ?1),"
                      " (SELECT COUNT(*) FROM operations WHERE status = 'pending' AND sent = 1),"
                      " (SELECT COUNT(*) FROM dead_letters), (SELECT COUNT(*) FROM issues),"
                      " (SELECT COUNT(*) FROM issues WHERE ticket_id IS NOT NULL)");
  s.bind(1, to_unix_ms(now));
  s.executeStep();
  queue_status q;
  q.inbox = s.getColumn(0).getInt64();
  if (!s.isColumnNull(1)) q.oldest_inbox = from_unix_ms(s.getColumn(1).getInt64());
  q.held = s.getColumn(2).getInt64();
  q.pending_due = s.getColumn(3).getInt64();
  q.pending_waiting = s.getColumn(4).getInt64();
  q.sent = s.getColumn(5).getInt64();
  q.dead_letters = s.getColumn(6).getInt64();
  q.issues = s.getColumn(7).getInt64();
  q.tickets = s.getColumn(8).getInt64();
  return q;
}

std::vector<operation_error> store::recent_errors(std::size_t limit) {
  // The pending operations are few (the index operations_pending finds them);
  // sorting them by updated_at needs no index of its own.
  SQLite::Statement s(*db_, sql({"SELECT o.*, i.source, i.tenant, i.issue_id FROM (SELECT ", operation_columns,
                                 ", updated_at FROM operations WHERE status = 'pending' AND last_error IS NOT NULL"
                                 " ORDER BY updated_at DESC, id DESC LIMIT ?1) AS o JOIN issues AS i ON i.id = o.issue"
                                 " ORDER BY o.updated_at DESC, o.id DESC"}));
  s.bind(1, to_sql_limit(limit));
  std::vector<operation_error> out;
  while (s.executeStep()) {
    operation_error e;
    e.op = read_operation(s);
    e.updated_at = from_unix_ms(s.getColumn(12).getInt64());
    e.issue = {s.getColumn(13).getString(), s.getColumn(14).getString(), s.getColumn(15).getString()};
    out.push_back(std::move(e));
  }
  return out;
}

void store::set_runtime(std::string_view key, std::string_view value, sys_ms now) {
  auto& s = stmts_->runtime_upsert;
  statement_use use(s);
  s.bind(1, std::string(key));
  s.bind(2, std::string(value));
  s.bind(3, to_unix_ms(now));
  s.exec();
}

std::map<std::string, runtime_value> store::runtime() {
  SQLite::Statement s(*db_, "SELECT key, value, updated_at FROM runtime ORDER BY key");
  std::map<std::string, runtime_value> out;
  while (s.executeStep())
    out[s.getColumn(0).getString()] = {s.getColumn(1).getString(), from_unix_ms(s.getColumn(2).getInt64())};
  return out;
}

}  // namespace ts::store
