// Tests of the state store and the migration runner against real SQLite:
// ":memory:" for behaviour, a file in a fresh temporary directory for WAL,
// reopening and durability. Nothing is mocked; assertions go through the
// public API, with a raw look through store::db() only where the contract is
// about the database itself (user_version, PRAGMAs, tables).
#include "store/store.hpp"
#include "store/migrations.hpp"
#include "support/scratch_dir.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ts::from_unix_ms;
using ts::sys_ms;
using namespace ts::store;
using ::testing::HasSubstr;

sys_ms at(std::int64_t ms) { return from_unix_ms(ms); }

retry_plan retry_at(sys_ms next, std::string error, bool clear_sent) {
  retry_plan r;
  r.next = next;
  r.error = std::move(error);
  r.clear_sent = clear_sent;
  return r;
}

int newest_version() { return embedded_migrations().back().version; }

// A fresh directory, removed with everything in it at the end of the test.
struct temp_dir : ts::test::scratch_dir {
  temp_dir() : scratch_dir("ts-store-test") {}
};

issue_record make_issue(const std::string& issue_id, ts::issue_state state = ts::issue_state::open) {
  issue_record r;
  r.identity = {"wazuh", "acme", issue_id};
  r.correlation_key = ts::correlation_key(r.identity);
  r.state = state;
  r.severity = ts::severity::high;
  r.last_event_at = at(1'000);
  r.event_json = R"({"issue_id":")" + issue_id + R"("})";
  return r;
}

// Why an operation was given up; the cw_* fields stay empty.
dead_letter_info failure(std::string error, int http_status = 0) {
  dead_letter_info info;
  info.http_status = http_status;
  info.error = std::move(error);
  return info;
}

class store_test : public ::testing::Test {
 protected:
  std::int64_t new_issue(const std::string& issue_id) { return st_.save_issue(make_issue(issue_id), at(1)); }

  std::vector<std::int64_t> due_ids(std::int64_t now_ms, std::size_t limit = 100) {
    std::vector<std::int64_t> ids;
    for (const auto& op : st_.due_operations(at(now_ms), limit)) ids.push_back(op.id);
    return ids;
  }

  store st_{":memory:"};
};

//------------------------------------------------------------------------------
// open and migrations

TEST_F(store_test, open_applies_migrations_and_sets_user_version) {
  EXPECT_EQ(st_.schema_version(), newest_version());
  EXPECT_TRUE(st_.db().tableExists("inbox"));
  EXPECT_TRUE(st_.db().tableExists("issues"));
  EXPECT_TRUE(st_.db().tableExists("operations"));
  EXPECT_TRUE(st_.db().tableExists("dead_letters"));
  EXPECT_EQ(st_.db().execAndGet("PRAGMA foreign_keys").getInt(), 1);
}

TEST(store_open, file_database_uses_wal_and_full_sync) {
  temp_dir dir;
  store st((dir.path() / "ts.db").string());
  EXPECT_EQ(st.db().execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(st.db().execAndGet("PRAGMA synchronous").getInt(), 2);  // FULL
  EXPECT_EQ(st.db().execAndGet("PRAGMA foreign_keys").getInt(), 1);
  EXPECT_EQ(st.db().execAndGet("PRAGMA busy_timeout").getInt(), 5000);
}

TEST(store_open, reopening_applies_nothing) {
  temp_dir dir;
  const std::string path = (dir.path() / "ts.db").string();
  { store st(path); }
  store st(path);
  EXPECT_EQ(st.schema_version(), newest_version());
  EXPECT_EQ(migrate(st.db(), embedded_migrations()), 0);
  EXPECT_EQ(st.schema_version(), newest_version());
}

TEST(store_open, newer_schema_is_refused_naming_both_versions) {
  temp_dir dir;
  const std::string path = (dir.path() / "ts.db").string();
  const int future = newest_version() + 5;
  {
    store st(path);
    st.db().exec("PRAGMA user_version = " + std::to_string(future));
  }
  try {
    store st(path);
    FAIL() << "opened a database newer than the binary";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("database schema version " + std::to_string(future)));
    EXPECT_THAT(e.what(), HasSubstr("knows up to " + std::to_string(newest_version())));
  }
  // Refused without touching the file.
  SQLite::Database raw(path);
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), future);
}

TEST(store_open, unopenable_path_is_reported_with_the_path) {
  temp_dir dir;
  const std::string path = (dir.path() / "missing" / "ts.db").string();
  try {
    store st(path);
    FAIL() << "opened a database in a directory that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot open database '" + path + "'"));
  }
}

TEST(store_open, file_that_is_not_a_database_is_reported) {
  temp_dir dir;
  const std::string path = (dir.path() / "garbage.db").string();
  std::ofstream(path) << std::string(4096, 'x');
  try {
    store st(path);
    FAIL() << "opened a file that is not a database";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot open database '" + path + "'"));
  }
}

TEST(migrate, applies_in_order_and_counts) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  std::vector<migration> all = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                                {2, "0002_b", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);"}};
  EXPECT_EQ(migrate(db, all), 2);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 2);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM a").getInt(), 1);
  all.push_back({5, "0005_c", "CREATE TABLE c (z INTEGER);"});
  EXPECT_EQ(migrate(db, all), 1);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 5);
  EXPECT_EQ(migrate(db, all), 0);
}

TEST(migrate, failure_rolls_back_every_migration_of_the_run) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  const std::vector<migration> all = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                                      {2, "0002_broken", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"}};
  try {
    migrate(db, all);
    FAIL() << "a broken migration was applied";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("0002_broken"));
  }
  EXPECT_FALSE(db.tableExists("a"));
  EXPECT_FALSE(db.tableExists("b"));
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 0);
  // The connection is usable afterwards: no transaction was left open.
  EXPECT_EQ(migrate(db, {all[0]}), 1);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 1);
}

TEST(migrate, newer_database_throws) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA user_version = 7");
  try {
    migrate(db, {{1, "0001_a", "CREATE TABLE a (x INTEGER);"}, {3, "0003_b", "CREATE TABLE b (x INTEGER);"}});
    FAIL() << "migrated a newer database";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "database schema version 7 is newer than this ticketsyncd (knows up to 3); "
                 "upgrade ticketsyncd or restore a backup");
  }
  EXPECT_FALSE(db.tableExists("a"));
}

TEST(migrate, list_out_of_order_is_a_programming_error) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  EXPECT_THROW(migrate(db, {{2, "0002_b", "SELECT 1;"}, {1, "0001_a", "SELECT 1;"}}), std::logic_error);
  EXPECT_THROW(migrate(db, {{1, "0001_a", "SELECT 1;"}, {1, "0001_b", "SELECT 1;"}}), std::logic_error);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 0);
}

TEST(migrate, version_1_database_gains_the_lifecycle_columns_with_backfill) {
  const std::vector<migration>& shipped = embedded_migrations();
  ASSERT_GE(shipped.size(), 2u);
  ASSERT_EQ(shipped[0].version, 1);
  ASSERT_EQ(shipped[0].name, "0001_init");
  ASSERT_EQ(shipped[1].version, 2);

  temp_dir dir;
  const std::string path = (dir.path() / "v1.db").string();
  std::int64_t with_ticket = 0, creating = 0, untouched = 0, create_op = 0;
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_EQ(migrate(raw, {shipped[0]}), 1);
    ASSERT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), 1);
    ASSERT_FALSE(raw.tableExists("dead_letters"));

    // As a version-1 ticketsyncd left them: one issue with its ticket, one
    // whose create is still queued, one with neither.
    raw.exec(
        "INSERT INTO issues (source, tenant, issue_id, correlation_key, state, severity, last_event_at, event,"
        " ticket_id, ticket_state, created_at, updated_at)"
        " VALUES ('wazuh', 'acme', 'T', 'ts1:t', 'open', 'high', 10, '{\"v\":1}', 4711, 'open', 10, 11)");
    with_ticket = raw.getLastInsertRowid();
    raw.exec(
        "INSERT INTO issues (source, tenant, issue_id, correlation_key, state, severity, last_event_at, event,"
        " created_at, updated_at)"
        " VALUES ('wazuh', 'acme', 'C', 'ts1:c', 'open', 'low', 20, '{}', 20, 20)");
    creating = raw.getLastInsertRowid();
    raw.exec(
        "INSERT INTO issues (source, tenant, issue_id, correlation_key, state, severity, last_event_at, event,"
        " created_at, updated_at)"
        " VALUES ('wazuh', 'acme', 'N', 'ts1:n', 'resolved', 'low', 30, '{}', 30, 30)");
    untouched = raw.getLastInsertRowid();
    SQLite::Statement add_op(raw,
                             "INSERT INTO operations (issue, kind, payload, attempts, sent, next_attempt_at,"
                             " created_at, updated_at) VALUES (?1, 'create', '{\"s\":1}', 2, 1, 40, 40, 40)");
    add_op.bind(1, creating);
    add_op.exec();
    create_op = raw.getLastInsertRowid();

    EXPECT_EQ(migrate(raw, shipped), static_cast<int>(shipped.size()) - 1);
    EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), newest_version());
    EXPECT_TRUE(raw.tableExists("dead_letters"));
    EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM dead_letters").getInt(), 0);
    EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM issues WHERE resolved_at IS NOT NULL").getInt(), 0);
  }

  // Read back through the store (which finds nothing more to apply).
  store st(path);
  EXPECT_EQ(st.schema_version(), newest_version());

  auto t = st.get_issue(with_ticket);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->phase, ticket_phase::open);
  EXPECT_EQ(t->generation, 1);
  EXPECT_FALSE(t->resolved_at);
  EXPECT_EQ(t->desired.fields(), ts::ticket_fields{});
  EXPECT_EQ(t->applied, ts::applied_ticket{});
  EXPECT_EQ(t->ticket_id, 4711);  // version-1 data is kept
  EXPECT_EQ(t->ticket, ticket_state::open);
  EXPECT_EQ(t->event_json, R"({"v":1})");

  auto c = st.get_issue(creating);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->phase, ticket_phase::open);
  EXPECT_EQ(c->generation, 1);
  EXPECT_FALSE(c->resolved_at);
  EXPECT_EQ(c->desired.fields(), ts::ticket_fields{});
  EXPECT_EQ(c->applied, ts::applied_ticket{});
  EXPECT_FALSE(c->ticket_id);

  auto n = st.get_issue(untouched);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->phase, ticket_phase::none);

  auto op = st.get_operation(create_op);
  ASSERT_TRUE(op);
  EXPECT_EQ(op->step, 0);
  EXPECT_EQ(op->attempts, 2);
  EXPECT_TRUE(op->sent);
  EXPECT_EQ(op->payload, ts::op_payload{});  // keys this release does not know read as defaults
  EXPECT_TRUE(st.dead_letters(10).empty());
}

//------------------------------------------------------------------------------
// inbox

TEST_F(store_test, inbox_keeps_arrival_order_and_depth) {
  const std::vector<inbox_entry> first = {{"spool:a", R"({"n":1})"}, {"spool:b", R"({"n":2})"}};
  const std::vector<inbox_entry> second = {{"http:1", R"({"n":3})"}};
  st_.inbox_add(first, at(100));
  st_.inbox_add(second, at(200));
  EXPECT_EQ(st_.inbox_depth(), 3);

  auto rows = st_.inbox_peek(10);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].origin, "spool:a");
  EXPECT_EQ(rows[0].body, R"({"n":1})");
  EXPECT_EQ(rows[0].received_at, at(100));
  EXPECT_EQ(rows[1].origin, "spool:b");
  EXPECT_EQ(rows[2].origin, "http:1");
  EXPECT_EQ(rows[2].received_at, at(200));
  EXPECT_LT(rows[0].id, rows[1].id);
  EXPECT_LT(rows[1].id, rows[2].id);

  ASSERT_EQ(st_.inbox_peek(2).size(), 2u);
  EXPECT_TRUE(st_.inbox_peek(0).empty());

  st_.inbox_remove(rows[0].id);
  st_.inbox_remove(rows[0].id);  // missing is not an error
  EXPECT_EQ(st_.inbox_depth(), 2);
  rows = st_.inbox_peek(1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].origin, "spool:b");
}

TEST_F(store_test, inbox_add_is_all_or_nothing) {
  // A trigger makes the third row of the batch fail after two were inserted.
  st_.db().exec(
      "CREATE TEMP TRIGGER refuse_bad BEFORE INSERT ON inbox WHEN NEW.body = 'bad'"
      " BEGIN SELECT RAISE(ABORT, 'refused'); END");
  const std::vector<inbox_entry> batch = {{"a", "ok1"}, {"b", "ok2"}, {"c", "bad"}, {"d", "ok3"}};
  EXPECT_THROW(st_.inbox_add(batch, at(1)), SQLite::Exception);
  EXPECT_EQ(st_.inbox_depth(), 0);

  // The store is usable afterwards (no transaction left open).
  st_.db().exec("DROP TRIGGER refuse_bad");
  st_.inbox_add(batch, at(1));
  EXPECT_EQ(st_.inbox_depth(), 4);
  st_.inbox_add({}, at(2));
  EXPECT_EQ(st_.inbox_depth(), 4);
}

TEST_F(store_test, inbox_add_inside_a_transaction_is_refused) {
  store::transaction tx(st_);
  const std::vector<inbox_entry> one = {{"a", "{}"}};
  EXPECT_THROW(st_.inbox_add(one, at(1)), SQLite::Exception);
}

//------------------------------------------------------------------------------
// issues

TEST_F(store_test, issue_insert_and_lookups) {
  const issue_record rec = make_issue("I-1");
  const std::int64_t id = st_.save_issue(rec, at(5));
  EXPECT_GT(id, 0);

  auto found = st_.find_issue(rec.identity);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->identity, rec.identity);
  EXPECT_EQ(found->correlation_key, rec.correlation_key);
  EXPECT_EQ(found->state, ts::issue_state::open);
  EXPECT_EQ(found->severity, ts::severity::high);
  EXPECT_EQ(found->last_event_at, at(1'000));
  EXPECT_EQ(found->event_json, rec.event_json);
  EXPECT_FALSE(found->ticket_id);
  EXPECT_EQ(found->ticket, ticket_state::none);

  auto by_id = st_.get_issue(id);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->identity, rec.identity);
  auto by_key = st_.find_issue_by_correlation(rec.correlation_key);
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->id, id);

  EXPECT_FALSE(st_.find_issue({"wazuh", "acme", "I-2"}));
  EXPECT_FALSE(st_.find_issue({"wazuh", "other", "I-1"}));
  EXPECT_FALSE(st_.get_issue(id + 1));
  EXPECT_FALSE(st_.find_issue_by_correlation("ts1:nope"));
}

TEST_F(store_test, empty_correlation_key_is_derived_from_identity) {
  issue_record rec = make_issue("I-1");
  rec.correlation_key.clear();
  const std::int64_t id = st_.save_issue(rec, at(5));
  EXPECT_EQ(st_.get_issue(id)->correlation_key, ts::correlation_key(rec.identity));
}

TEST_F(store_test, issue_update_changes_event_fields_only) {
  issue_record rec = make_issue("I-1");
  rec.id = st_.save_issue(rec, at(5));
  st_.set_ticket(rec.id, 4711, ticket_state::open, at(6));

  rec.state = ts::issue_state::resolved;
  rec.severity = ts::severity::low;
  rec.last_event_at = at(2'000);
  rec.event_json = R"({"v":2})";
  rec.ticket_id = 99;                 // ignored: only set_ticket changes it
  rec.ticket = ticket_state::closed;  // ignored
  rec.identity.issue_id = "renamed";  // ignored: identity is fixed
  EXPECT_EQ(st_.save_issue(rec, at(7)), rec.id);

  auto got = st_.get_issue(rec.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, ts::issue_state::resolved);
  EXPECT_EQ(got->severity, ts::severity::low);
  EXPECT_EQ(got->last_event_at, at(2'000));
  EXPECT_EQ(got->event_json, R"({"v":2})");
  EXPECT_EQ(got->ticket_id, 4711);
  EXPECT_EQ(got->ticket, ticket_state::open);
  EXPECT_EQ(got->identity.issue_id, "I-1");
  EXPECT_EQ(st_.get_counts().issues, 1);
}

TEST_F(store_test, issue_insert_defaults_the_lifecycle_fields) {
  const std::int64_t id = new_issue("I-1");
  auto got = st_.get_issue(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->generation, 1);
  EXPECT_EQ(got->phase, ticket_phase::none);
  EXPECT_FALSE(got->resolved_at);
  EXPECT_EQ(got->desired.fields(), ts::ticket_fields{});
  EXPECT_EQ(got->applied, ts::applied_ticket{});
}

TEST_F(store_test, issue_insert_stores_the_lifecycle_fields) {
  issue_record rec = make_issue("I-1");
  rec.generation = 3;
  rec.phase = ticket_phase::closed;
  rec.resolved_at = at(900);
  rec.desired.summary = "s";
  rec.desired.status = "Closed";
  rec.applied.fields.summary = "old";
  rec.ticket_id = 31;
  rec.ticket = ticket_state::closed;
  const std::int64_t id = st_.save_issue(rec, at(5));

  auto got = st_.find_issue(rec.identity);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, id);
  EXPECT_EQ(got->generation, 3);
  EXPECT_EQ(got->phase, ticket_phase::closed);
  EXPECT_EQ(got->resolved_at, at(900));
  EXPECT_EQ(got->desired.summary, "s");
  EXPECT_EQ(got->desired.status, "Closed");
  EXPECT_EQ(got->desired.external_xref, got->correlation_key);
  EXPECT_EQ(got->applied.fields.summary, "old");
  EXPECT_EQ(got->ticket_id, 31);  // an insert stores the ticket fields too
  EXPECT_EQ(got->ticket, ticket_state::closed);
}

TEST_F(store_test, issue_update_writes_lifecycle_fields_but_not_applied) {
  issue_record rec = make_issue("I-1");
  rec.applied.fields.summary = "a0";
  rec.id = st_.save_issue(rec, at(5));

  rec.generation = 2;
  rec.phase = ticket_phase::open;
  rec.resolved_at = at(1'500);
  rec.desired.summary = "d1";
  rec.applied.fields.summary = "a1";  // ignored: only set_applied changes it
  EXPECT_EQ(st_.save_issue(rec, at(6)), rec.id);
  auto got = st_.get_issue(rec.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->generation, 2);
  EXPECT_EQ(got->phase, ticket_phase::open);
  EXPECT_EQ(got->resolved_at, at(1'500));
  EXPECT_EQ(got->desired.summary, "d1");
  EXPECT_EQ(got->applied.fields.summary, "a0");

  // Reopened: resolved_at clears.
  rec.resolved_at.reset();
  rec.phase = ticket_phase::closed;
  st_.save_issue(rec, at(7));
  got = st_.get_issue(rec.id);
  EXPECT_FALSE(got->resolved_at);
  EXPECT_EQ(got->phase, ticket_phase::closed);
  EXPECT_EQ(got->applied.fields.summary, "a0");
}

TEST_F(store_test, update_issue_changes_only_the_fields_given) {
  issue_record rec = make_issue("I-1");
  rec.phase = ticket_phase::open;
  rec.desired.summary = "d1";
  rec.rule = "r1";
  rec.id = st_.save_issue(rec, at(1));
  st_.set_ticket(rec.id, 9, ticket_state::closed, at(2));

  issue_update u1;
  u1.tech_closed = true;
  u1.generation = 3;
  st_.update_issue(rec.id, u1, at(3));
  auto got = st_.get_issue(rec.id);
  EXPECT_TRUE(got->tech_closed);
  EXPECT_EQ(got->generation, 3);
  EXPECT_EQ(got->phase, ticket_phase::open);  // untouched
  EXPECT_EQ(got->desired.summary, "d1");
  EXPECT_EQ(got->rule, "r1");

  issue_update u2;
  u2.phase = ticket_phase::none;
  u2.desired = ts::desired_ticket{};
  u2.desired->summary = "d2";
  u2.rule = "r2";
  st_.update_issue(rec.id, u2, at(4));
  got = st_.get_issue(rec.id);
  EXPECT_EQ(got->phase, ticket_phase::none);
  EXPECT_EQ(got->desired.summary, "d2");
  EXPECT_EQ(got->rule, "r2");
  EXPECT_TRUE(got->tech_closed);

  // The phase taken from what the ticket is known to be, at the write.
  issue_update u3;
  u3.phase_from_ticket = true;
  st_.update_issue(rec.id, u3, at(5));
  EXPECT_EQ(st_.get_issue(rec.id)->phase, ticket_phase::closed);
  EXPECT_THROW(st_.update_issue(rec.id + 1, u3, at(6)), std::logic_error);
}

TEST_F(store_test, set_applied_records_the_ticket_fields_only) {
  issue_record rec = make_issue("I-1");
  rec.phase = ticket_phase::open;
  rec.desired.summary = "d1";
  rec.id = st_.save_issue(rec, at(1));
  st_.set_ticket(rec.id, 9, ticket_state::open, at(2));

  const ts::applied_ticket x{{"x", "P1", "", ""}, 2};
  st_.set_applied(rec.id, x, at(3));
  auto got = st_.get_issue(rec.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->applied, x);
  EXPECT_EQ(got->desired.summary, "d1");
  EXPECT_EQ(got->phase, ticket_phase::open);
  EXPECT_EQ(got->ticket_id, 9);
  EXPECT_EQ(got->ticket, ticket_state::open);
  EXPECT_EQ(got->event_json, rec.event_json);

  // A later event's save keeps it.
  rec.desired.summary = "d2";
  st_.save_issue(rec, at(4));
  EXPECT_EQ(st_.get_issue(rec.id)->applied, x);

  st_.set_applied(rec.id, ts::applied_ticket{}, at(5));
  EXPECT_EQ(st_.get_issue(rec.id)->applied, ts::applied_ticket{});

  EXPECT_THROW(st_.set_applied(rec.id + 1, x, at(6)), std::logic_error);
}

TEST_F(store_test, issue_identity_and_key_are_unique) {
  st_.save_issue(make_issue("I-1"), at(1));
  EXPECT_THROW(st_.save_issue(make_issue("I-1"), at(2)), SQLite::Exception);

  issue_record same_key = make_issue("I-2");
  same_key.correlation_key = make_issue("I-1").correlation_key;
  EXPECT_THROW(st_.save_issue(same_key, at(3)), SQLite::Exception);
  EXPECT_EQ(st_.get_counts().issues, 1);
  // The statements recover after a failed step.
  EXPECT_GT(st_.save_issue(make_issue("I-3"), at(4)), 0);
}

TEST_F(store_test, set_ticket_sets_and_clears) {
  const std::int64_t id = new_issue("I-1");
  st_.set_ticket(id, std::nullopt, ticket_state::creating, at(2));
  EXPECT_FALSE(st_.get_issue(id)->ticket_id);
  EXPECT_EQ(st_.get_issue(id)->ticket, ticket_state::creating);

  st_.set_ticket(id, 123, ticket_state::open, at(3));
  EXPECT_EQ(st_.get_issue(id)->ticket_id, 123);
  EXPECT_EQ(st_.get_issue(id)->ticket, ticket_state::open);
  EXPECT_EQ(st_.get_counts().tickets, 1);

  st_.set_ticket(id, 123, ticket_state::closed, at(4));
  EXPECT_EQ(st_.get_issue(id)->ticket, ticket_state::closed);
  st_.set_ticket(id, std::nullopt, ticket_state::none, at(5));
  EXPECT_FALSE(st_.get_issue(id)->ticket_id);
  EXPECT_EQ(st_.get_counts().tickets, 0);
}

TEST_F(store_test, writes_to_missing_issues_are_programming_errors) {
  EXPECT_THROW(st_.set_ticket(42, 1, ticket_state::open, at(1)), std::logic_error);
  issue_record rec = make_issue("I-1");
  rec.id = 42;
  EXPECT_THROW(st_.save_issue(rec, at(1)), std::logic_error);
  EXPECT_THROW(st_.add_operation(42, op_kind::create, {}, at(1)), SQLite::Exception);  // foreign key
}

TEST(store_enums, text_matches_the_schema) {
  EXPECT_EQ(ts::to_text(ticket_state::none), "none");
  EXPECT_EQ(ts::to_text(ticket_state::creating), "creating");
  EXPECT_EQ(ts::to_text(ticket_state::open), "open");
  EXPECT_EQ(ts::to_text(ticket_state::closed), "closed");
  EXPECT_EQ(ts::to_text(op_status::pending), "pending");
  EXPECT_EQ(ts::to_text(op_status::done), "done");
  EXPECT_EQ(ts::to_text(op_status::dead), "dead");
}

//------------------------------------------------------------------------------
// operations

TEST_F(store_test, new_operation_is_pending_and_due_now) {
  const std::int64_t issue = new_issue("I-1");
  EXPECT_FALSE(st_.has_pending_operation(issue));
  ts::op_payload payload;
  payload.generation = 3;
  const std::int64_t op = st_.add_operation(issue, op_kind::create, payload, at(100));

  auto rec = st_.get_operation(op);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, op);
  EXPECT_EQ(rec->issue, issue);
  EXPECT_EQ(rec->kind, op_kind::create);
  EXPECT_EQ(rec->payload, payload);
  EXPECT_EQ(rec->status, op_status::pending);
  EXPECT_EQ(rec->attempts, 0);
  EXPECT_FALSE(rec->sent);
  EXPECT_EQ(rec->next_attempt_at, at(100));
  EXPECT_EQ(rec->last_error, "");
  EXPECT_EQ(rec->step, 0);
  EXPECT_TRUE(st_.has_pending_operation(issue));
  EXPECT_FALSE(st_.get_operation(op + 1));
}

TEST_F(store_test, due_operations_filter_by_time_and_order) {
  const std::int64_t a = new_issue("A"), b = new_issue("B"), c = new_issue("C");
  const std::int64_t op_c = st_.add_operation(c, op_kind::create, {}, at(300));
  const std::int64_t op_a = st_.add_operation(a, op_kind::create, {}, at(100));
  const std::int64_t op_b = st_.add_operation(b, op_kind::create, {}, at(100));

  EXPECT_TRUE(due_ids(99).empty());
  EXPECT_EQ(due_ids(100), (std::vector<std::int64_t>{op_a, op_b}));  // same time: by id
  EXPECT_EQ(due_ids(299), (std::vector<std::int64_t>{op_a, op_b}));
  EXPECT_EQ(due_ids(300), (std::vector<std::int64_t>{op_a, op_b, op_c}));
  EXPECT_EQ(due_ids(300, 2), (std::vector<std::int64_t>{op_a, op_b}));
  EXPECT_TRUE(due_ids(300, 0).empty());
}

TEST_F(store_test, due_operations_give_only_the_oldest_of_each_issue) {
  const std::int64_t a = new_issue("A"), b = new_issue("B");
  const std::int64_t a1 = st_.add_operation(a, op_kind::create, {}, at(100));
  const std::int64_t a2 = st_.add_operation(a, op_kind::update, {}, at(50));  // earlier time, still second
  const std::int64_t b1 = st_.add_operation(b, op_kind::create, {}, at(200));
  EXPECT_EQ(due_ids(1'000), (std::vector<std::int64_t>{a1, b1}));

  // While the head waits for a retry, nothing behind it runs.
  st_.retry_operation(a1, retry_at(at(500), "503", true), at(150));
  EXPECT_EQ(due_ids(400), (std::vector<std::int64_t>{b1}));
  EXPECT_EQ(due_ids(500), (std::vector<std::int64_t>{b1, a1}));

  st_.complete_operation(a1, at(510));
  EXPECT_EQ(due_ids(510), (std::vector<std::int64_t>{a2, b1}));
  st_.fail_operation(a2, "400 bad", at(520));
  EXPECT_EQ(due_ids(520), (std::vector<std::int64_t>{b1}));
  EXPECT_FALSE(st_.has_pending_operation(a));
}

TEST_F(store_test, mark_sent_and_retry_track_attempts_and_uncertainty) {
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));

  // Sending is not a failure: attempts counts failed attempts only.
  st_.mark_sent(op, {}, at(110));
  auto rec = st_.get_operation(op);
  EXPECT_EQ(rec->attempts, 0);
  EXPECT_TRUE(rec->sent);

  // Timeout: the create may have landed, so `sent` stays; the failure counts.
  st_.retry_operation(op, retry_at(at(1'000), "timeout", false), at(120));
  rec = st_.get_operation(op);
  EXPECT_TRUE(rec->sent);
  EXPECT_EQ(rec->status, op_status::pending);
  EXPECT_EQ(rec->next_attempt_at, at(1'000));
  EXPECT_EQ(rec->last_error, "timeout");
  EXPECT_EQ(rec->attempts, 1);

  st_.mark_sent(op, {}, at(1'000));
  EXPECT_EQ(st_.get_operation(op)->attempts, 1);
  // Answered with an error: certainly not applied, `sent` clears.
  st_.retry_operation(op, retry_at(at(2'000), "503 busy", true), at(1'010));
  rec = st_.get_operation(op);
  EXPECT_EQ(rec->attempts, 2);
  EXPECT_FALSE(rec->sent);
  EXPECT_EQ(rec->last_error, "503 busy");

  // A retry before anything was sent counts too, and leaves `sent` clear.
  st_.retry_operation(op, retry_at(at(2'500), "rate limited", false), at(2'010));
  rec = st_.get_operation(op);
  EXPECT_EQ(rec->attempts, 3);
  EXPECT_FALSE(rec->sent);

  st_.mark_sent(op, {}, at(2'500));
  st_.complete_operation(op, at(2'510));
  rec = st_.get_operation(op);
  EXPECT_EQ(rec->status, op_status::done);
  EXPECT_FALSE(rec->sent);
  EXPECT_EQ(rec->attempts, 3);  // success adds nothing
}

TEST_F(store_test, a_retry_that_does_not_count_leaves_the_attempts_and_records_the_cause) {
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));
  st_.mark_sent(op, {}, at(110));
  EXPECT_EQ(st_.get_operation(op)->cause, sent_cause::interrupted);  // until an answer says otherwise

  // A 429: told to wait, not a failure.
  retry_plan throttled = retry_at(at(1'000), "HTTP 429", true);
  throttled.counts = false;
  st_.retry_operation(op, throttled, at(120));
  auto rec = st_.get_operation(op);
  EXPECT_EQ(rec->attempts, 0);
  EXPECT_FALSE(rec->sent);
  EXPECT_EQ(rec->next_attempt_at, at(1'000));

  // A 5xx after the request was sent: it may have been applied.
  st_.mark_sent(op, {}, at(1'000));
  retry_plan server = retry_at(at(2'000), "HTTP 500", false);
  server.cause = sent_cause::server;
  st_.retry_operation(op, server, at(1'010));
  rec = st_.get_operation(op);
  EXPECT_EQ(rec->attempts, 1);
  EXPECT_TRUE(rec->sent);
  EXPECT_EQ(rec->cause, sent_cause::server);
  // A later failure of a lookup, knowing nothing new, keeps the cause.
  st_.retry_operation(op, retry_at(at(3'000), "timeout", false), at(2'010));
  EXPECT_EQ(st_.get_operation(op)->cause, sent_cause::server);
}

TEST_F(store_test, fail_makes_an_operation_dead) {
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));
  st_.mark_sent(op, {}, at(100));
  st_.fail_operation(op, "400: company not found", at(110));
  auto rec = st_.get_operation(op);
  EXPECT_EQ(rec->status, op_status::dead);
  EXPECT_EQ(rec->last_error, "400: company not found");
  EXPECT_TRUE(due_ids(10'000).empty());
  EXPECT_EQ(st_.get_counts().dead, 1);
}

TEST_F(store_test, transitions_require_a_pending_operation) {
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));
  st_.complete_operation(op, at(110));
  EXPECT_THROW(st_.mark_sent(op, {}, at(120)), std::logic_error);
  EXPECT_THROW(st_.complete_operation(op, at(120)), std::logic_error);
  EXPECT_THROW(st_.retry_operation(op, retry_at(at(200), "x", true), at(120)), std::logic_error);
  EXPECT_THROW(st_.fail_operation(op, "x", at(120)), std::logic_error);
  EXPECT_THROW(st_.mark_sent(op + 100, {}, at(120)), std::logic_error);
  EXPECT_EQ(st_.get_operation(op)->status, op_status::done);
}

TEST_F(store_test, newest_pending_operation_of_an_issue) {
  const std::int64_t a = new_issue("A"), b = new_issue("B");
  EXPECT_FALSE(st_.newest_pending_operation(a));
  EXPECT_FALSE(st_.newest_pending_operation(a + b + 1));  // no such issue

  const std::int64_t a1 = st_.add_operation(a, op_kind::create, {}, at(100));
  const std::int64_t a2 = st_.add_operation(a, op_kind::update, {}, at(50));  // earlier time, still newer
  const std::int64_t a3 = st_.add_operation(a, op_kind::note, {}, at(100));
  const std::int64_t b1 = st_.add_operation(b, op_kind::create, {}, at(200));  // other issue, newest overall

  auto newest = st_.newest_pending_operation(a);
  ASSERT_TRUE(newest);
  EXPECT_EQ(newest->id, a3);
  EXPECT_EQ(newest->issue, a);
  EXPECT_EQ(newest->kind, op_kind::note);
  EXPECT_EQ(newest->status, op_status::pending);
  EXPECT_EQ(st_.newest_pending_operation(b)->id, b1);

  // Done and dead operations are not pending.
  st_.complete_operation(a3, at(110));
  EXPECT_EQ(st_.newest_pending_operation(a)->id, a2);
  st_.fail_operation(a2, "400", at(120));
  EXPECT_EQ(st_.newest_pending_operation(a)->id, a1);
  st_.fail_operation(a1, failure("400", 400), at(130));
  EXPECT_FALSE(st_.newest_pending_operation(a));
  EXPECT_EQ(st_.newest_pending_operation(b)->id, b1);
}

TEST_F(store_test, mark_sent_stores_the_payload) {
  ts::op_payload planned;
  planned.note = ts::note_kind::resolve;
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::note, planned, at(100));
  ts::op_payload sent = planned;
  sent.note_text = "Resolved at 10:00";
  st_.mark_sent(op, sent, at(110));
  auto rec = st_.get_operation(op);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->payload, sent);
  EXPECT_TRUE(rec->sent);
  EXPECT_EQ(rec->attempts, 0);
  EXPECT_EQ(rec->status, op_status::pending);

  // The payload survives a retry: the next attempt repeats the same request.
  st_.retry_operation(op, retry_at(at(500), "timeout", false), at(120));
  rec = st_.get_operation(op);
  EXPECT_EQ(rec->payload, sent);
  EXPECT_EQ(rec->attempts, 1);

  st_.complete_operation(op, at(510));
  EXPECT_THROW(st_.mark_sent(op, planned, at(520)), std::logic_error);
  EXPECT_THROW(st_.mark_sent(op + 100, planned, at(520)), std::logic_error);
  EXPECT_EQ(st_.get_operation(op)->payload, sent);
}

TEST(stored_forms, desired_applied_and_payload_round_trip_and_read_old_rows) {
  ts::desired_ticket d;
  d.rule = "r";
  d.company_identifier = "Acme";
  d.board = "B";
  d.status = "New";
  d.closed_status = "Closed";
  d.reopen_status = "Reopened";
  d.priority = "P1";
  d.cw_severity = "High";
  d.cw_impact = "Low";
  d.type = "T";
  d.subtype = "S";
  d.item = "I";
  d.team = "Tm";
  d.source = "Src";
  d.custom_fields = {{"Source Product", "wazuh"}};
  d.summary = "sum \u00e9";
  d.description = "desc";
  EXPECT_EQ(ts::decode_desired(ts::encode_desired(d)), d);
  const ts::applied_ticket a{{"s", "P2", "Medium", "High"}, 4};
  EXPECT_EQ(ts::decode_applied(ts::encode_applied(a)), a);
  ts::op_payload p;
  p.note = ts::note_kind::digest;
  p.generation = 2;
  p.member = 17;
  p.text = "line";
  p.note_text = "posted";
  EXPECT_EQ(ts::decode_payload(ts::encode_payload(p)), p);

  // Rows of the previous release: an "xref" key in desired, no generation in
  // applied, "{}" payloads, and anything unreadable, all read as defaults.
  const auto old = ts::decode_desired(R"({"summary":"x","xref":"ts1:ab#2","custom_fields":{"a":1,"b":"v"}})");
  EXPECT_EQ(old.summary, "x");
  EXPECT_EQ(old.custom_fields, (std::map<std::string, std::string>{{"b", "v"}}));
  EXPECT_EQ(ts::decode_applied(R"({"summary":"y"})").generation, 1);
  EXPECT_EQ(ts::decode_applied("{}"), ts::applied_ticket{});
  EXPECT_EQ(ts::decode_payload("{}"), ts::op_payload{});
  EXPECT_EQ(ts::decode_payload(R"({"note":"resolve","note_text":"t"})").note, ts::note_kind::resolve);
  EXPECT_EQ(ts::decode_payload("not json"), ts::op_payload{});
  EXPECT_EQ(ts::decode_desired("[1,2]"), ts::desired_ticket{});
}

TEST_F(store_test, advance_step_records_progress_and_clears_sent) {
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::close, {}, at(100));
  st_.retry_operation(op, retry_at(at(200), "503", true), at(110));
  st_.mark_sent(op, {}, at(200));
  ASSERT_TRUE(st_.get_operation(op)->sent);

  st_.advance_step(op, 1, at(210));
  auto rec = st_.get_operation(op);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->step, 1);
  EXPECT_FALSE(rec->sent);
  EXPECT_EQ(rec->status, op_status::pending);
  EXPECT_EQ(rec->attempts, 1);  // untouched

  st_.mark_sent(op, {}, at(220));
  st_.advance_step(op, 2, at(230));
  rec = st_.get_operation(op);
  EXPECT_EQ(rec->step, 2);
  EXPECT_FALSE(rec->sent);

  st_.complete_operation(op, at(240));
  EXPECT_THROW(st_.advance_step(op, 3, at(250)), std::logic_error);
  EXPECT_EQ(st_.get_operation(op)->step, 2);
  EXPECT_THROW(st_.advance_step(op + 100, 1, at(250)), std::logic_error);

  const std::int64_t dead = st_.add_operation(new_issue("B"), op_kind::close, {}, at(100));
  st_.fail_operation(dead, "gone", at(110));
  EXPECT_THROW(st_.advance_step(dead, 1, at(120)), std::logic_error);
  EXPECT_EQ(st_.get_operation(dead)->step, 0);
}

TEST_F(store_test, fail_with_dead_letter_info_records_why) {
  const std::int64_t issue = new_issue("A");
  const std::int64_t op1 = st_.add_operation(issue, op_kind::create, {}, at(100));
  const std::int64_t op2 = st_.add_operation(issue, op_kind::note, {}, at(100));
  st_.retry_operation(op1, retry_at(at(200), "503", true), at(110));
  st_.mark_sent(op1, {}, at(200));
  st_.retry_operation(op1, retry_at(at(300), "timeout", false), at(210));
  ASSERT_EQ(st_.get_operation(op1)->attempts, 2);
  EXPECT_EQ(due_ids(300), (std::vector<std::int64_t>{op1}));

  dead_letter_info info = failure("400 InvalidObject: company not found (company/identifier)", 400);
  info.cw_code = "InvalidObject";
  info.cw_message = "company not found";
  info.cw_field = "company/identifier";
  st_.fail_operation(op1, info, at(5'000));

  auto rec = st_.get_operation(op1);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, op_status::dead);
  EXPECT_EQ(rec->last_error, info.error);
  EXPECT_EQ(st_.get_counts().dead, 1);

  const auto letters = st_.dead_letters(10);
  ASSERT_EQ(letters.size(), 1u);
  const dead_letter& d = letters[0];
  EXPECT_GT(d.id, 0);
  EXPECT_EQ(d.operation, op1);
  EXPECT_EQ(d.issue, issue);
  EXPECT_EQ(d.kind, op_kind::create);
  EXPECT_EQ(d.info.http_status, 400);
  EXPECT_EQ(d.info.cw_code, "InvalidObject");
  EXPECT_EQ(d.info.cw_message, "company not found");
  EXPECT_EQ(d.info.cw_field, "company/identifier");
  EXPECT_EQ(d.info.error, info.error);
  EXPECT_EQ(d.attempts, 2);  // copied from the operation
  EXPECT_EQ(d.created_at, at(5'000));

  // The issue's queue moves on.
  EXPECT_EQ(due_ids(5'000), (std::vector<std::int64_t>{op2}));
  EXPECT_TRUE(st_.has_pending_operation(issue));
}

TEST_F(store_test, dead_letter_without_http_answer_stores_nulls) {
  const std::int64_t issue = new_issue("A");
  const std::int64_t op = st_.add_operation(issue, op_kind::create, {}, at(100));
  st_.fail_operation(op, failure("board 'Nope' does not resolve"), at(200));

  SQLite::Statement raw(st_.db(),
                        "SELECT http_status IS NULL, cw_code IS NULL, cw_message IS NULL, cw_field IS NULL,"
                        " error, attempts FROM dead_letters WHERE operation = ?1");
  raw.bind(1, op);
  ASSERT_TRUE(raw.executeStep());
  EXPECT_EQ(raw.getColumn(0).getInt(), 1);
  EXPECT_EQ(raw.getColumn(1).getInt(), 1);
  EXPECT_EQ(raw.getColumn(2).getInt(), 1);
  EXPECT_EQ(raw.getColumn(3).getInt(), 1);
  EXPECT_EQ(raw.getColumn(4).getString(), "board 'Nope' does not resolve");
  EXPECT_EQ(raw.getColumn(5).getInt(), 0);
  raw.reset();

  const auto letters = st_.dead_letters(10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].info.http_status, 0);
  EXPECT_EQ(letters[0].info.cw_code, "");
  EXPECT_EQ(letters[0].info.cw_message, "");
  EXPECT_EQ(letters[0].info.cw_field, "");
  EXPECT_EQ(letters[0].attempts, 0);
  EXPECT_EQ(st_.get_operation(op)->status, op_status::dead);
}

// Like the other transitions: std::logic_error, and nothing written, when the
// operation does not exist or is not pending.
TEST_F(store_test, fail_with_dead_letter_requires_a_pending_operation) {
  const dead_letter_info info = failure("400", 400);
  EXPECT_THROW(st_.fail_operation(12345, info, at(1)), std::logic_error);
  EXPECT_TRUE(st_.dead_letters(10).empty());

  const std::int64_t done = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));
  st_.complete_operation(done, at(110));
  EXPECT_THROW(st_.fail_operation(done, info, at(120)), std::logic_error);
  EXPECT_EQ(st_.get_operation(done)->status, op_status::done);
  EXPECT_TRUE(st_.dead_letters(10).empty()) << "a dead letter was written for a done operation";
}

TEST_F(store_test, fail_with_dead_letter_twice_is_refused_like_any_transition) {
  const dead_letter_info info = failure("400", 400);
  const std::int64_t dead = st_.add_operation(new_issue("B"), op_kind::create, {}, at(100));
  st_.fail_operation(dead, info, at(110));
  ASSERT_EQ(st_.dead_letters(10).size(), 1u);
  EXPECT_THROW(st_.fail_operation(dead, info, at(120)), std::logic_error);
  const auto letters = st_.dead_letters(10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].operation, dead);
  EXPECT_EQ(letters[0].created_at, at(110));

  // Failed with a plain error first: no dead letter yet, but not pending either.
  const std::int64_t plain = st_.add_operation(new_issue("C"), op_kind::create, {}, at(100));
  st_.fail_operation(plain, "gone", at(110));
  EXPECT_THROW(st_.fail_operation(plain, info, at(120)), std::logic_error);
  EXPECT_EQ(st_.dead_letters(10).size(), 1u) << "a dead letter was written for an operation already dead";
  EXPECT_EQ(st_.get_operation(plain)->last_error, "gone");
}

TEST_F(store_test, fail_with_dead_letter_rolls_back_with_the_transaction) {
  const std::int64_t op = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));
  {
    store::transaction tx(st_);
    st_.fail_operation(op, failure("400", 400), at(110));
  }
  EXPECT_TRUE(st_.dead_letters(10).empty());
  EXPECT_EQ(st_.get_operation(op)->status, op_status::pending);
}

TEST_F(store_test, dead_letters_newest_first_with_limit) {
  EXPECT_TRUE(st_.dead_letters(10).empty());
  const std::int64_t o1 = st_.add_operation(new_issue("A"), op_kind::create, {}, at(100));
  const std::int64_t o2 = st_.add_operation(new_issue("B"), op_kind::update, {}, at(100));
  const std::int64_t o3 = st_.add_operation(new_issue("C"), op_kind::close, {}, at(100));
  // Failed in an order unlike the operation ids.
  st_.fail_operation(o2, failure("second"), at(1'000));
  st_.fail_operation(o3, failure("third"), at(2'000));
  st_.fail_operation(o1, failure("first"), at(3'000));

  const auto all = st_.dead_letters(10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].operation, o1);
  EXPECT_EQ(all[0].created_at, at(3'000));
  EXPECT_EQ(all[1].operation, o3);
  EXPECT_EQ(all[1].kind, op_kind::close);
  EXPECT_EQ(all[2].operation, o2);
  EXPECT_EQ(all[2].info.error, "second");

  const auto two = st_.dead_letters(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].operation, o1);
  EXPECT_EQ(two[1].operation, o3);
  EXPECT_EQ(st_.dead_letters(1).size(), 1u);
  EXPECT_TRUE(st_.dead_letters(0).empty());
}

TEST_F(store_test, next_due_time_follows_the_issue_heads) {
  EXPECT_FALSE(st_.next_due_time());
  const std::int64_t a = new_issue("A"), b = new_issue("B");
  const std::int64_t a1 = st_.add_operation(a, op_kind::create, {}, at(300));
  EXPECT_EQ(st_.next_due_time(), at(300));
  const std::int64_t b1 = st_.add_operation(b, op_kind::create, {}, at(200));
  EXPECT_EQ(st_.next_due_time(), at(200));

  // b2 is due earlier than its head b1 waits, but cannot run before it.
  st_.retry_operation(b1, retry_at(at(5'000), "503", true), at(210));
  st_.add_operation(b, op_kind::update, {}, at(220));
  EXPECT_EQ(st_.next_due_time(), at(300));

  st_.complete_operation(a1, at(310));
  EXPECT_EQ(st_.next_due_time(), at(5'000));
  st_.fail_operation(b1, "gone", at(320));
  EXPECT_EQ(st_.next_due_time(), at(220));
}

TEST_F(store_test, counts_reflect_every_table) {
  EXPECT_EQ(st_.get_counts().inbox, 0);
  const std::vector<inbox_entry> two = {{"a", "{}"}, {"b", "{}"}};
  st_.inbox_add(two, at(1));
  const std::int64_t a = new_issue("A"), b = new_issue("B"), c = new_issue("C");
  st_.set_ticket(a, 7, ticket_state::open, at(2));
  st_.add_operation(a, op_kind::update, {}, at(3));
  st_.add_operation(b, op_kind::create, {}, at(3));
  const std::int64_t dead = st_.add_operation(c, op_kind::create, {}, at(3));
  st_.fail_operation(dead, "400", at(4));

  const counts n = st_.get_counts();
  EXPECT_EQ(n.inbox, 2);
  EXPECT_EQ(n.issues, 3);
  EXPECT_EQ(n.pending, 2);
  EXPECT_EQ(n.dead, 1);
  EXPECT_EQ(n.tickets, 1);
}

//------------------------------------------------------------------------------
// operator commands: runtime keys, dead letter retry/drop, status queries

TEST(migrate, version_3_history_is_kept_and_takes_operator_rows) {
  const std::vector<migration>& shipped = embedded_migrations();
  ASSERT_GE(shipped.size(), 4u);
  ASSERT_EQ(shipped[3].name, "0004_operations");
  temp_dir dir;
  const std::string path = (dir.path() / "v3.db").string();
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_EQ(migrate(raw, {shipped[0], shipped[1], shipped[2]}), 3);
    raw.exec(
        "INSERT INTO issues (id, source, tenant, issue_id, correlation_key, state, severity, last_event_at, event,"
        " created_at, updated_at) VALUES (7, 'wazuh', 'acme', 'H', 'ts1:h', 'open', 'high', 10, '{}', 10, 10)");
    raw.exec(
        "INSERT INTO history (id, issue, at, kind, operation, detail) VALUES"
        " (40, 7, 11, 'decision', NULL, '{\"rule\":\"r\"}'),"
        " (41, 7, 12, 'operation', 3, '{\"outcome\":\"done\"}')");
    raw.exec(
        "INSERT INTO operations (id, issue, kind, payload, status, next_attempt_at, created_at, updated_at)"
        " VALUES (3, 7, 'create', '{}', 'dead', 10, 10, 12)");
    raw.exec(
        "INSERT INTO dead_letters (id, operation, issue, kind, http_status, error, attempts, created_at)"
        " VALUES (5, 3, 7, 'create', 400, 'refused', 2, 12)");
    EXPECT_THROW(raw.exec("INSERT INTO history (issue, at, kind, detail) VALUES (7, 13, 'operator', '{}')"),
                 SQLite::Exception);
    EXPECT_EQ(migrate(raw, shipped), static_cast<int>(shipped.size()) - 3);
  }
  store st(path);
  const auto rows = st.history(7);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, 40);
  EXPECT_EQ(rows[0].kind, "decision");
  EXPECT_EQ(rows[0].detail, R"({"rule":"r"})");
  EXPECT_EQ(rows[1].kind, "operation");
  EXPECT_EQ(rows[1].operation, 3);
  EXPECT_EQ(rows[1].at, at(12));
  st.add_history(7, "operator", 3, "{}", at(14));
  EXPECT_EQ(st.history(7).size(), 3u);
  EXPECT_THROW(st.add_history(7, "bogus", std::nullopt, "{}", at(15)), SQLite::Exception);
  EXPECT_EQ(st.db().execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE name = 'history_issue'").getInt(), 1);
  const auto op = st.get_operation(3);  // with the new column
  ASSERT_TRUE(op);
  EXPECT_FALSE(op->rerender);
  const auto letter = st.find_dead_letter(5);
  ASSERT_TRUE(letter);
  EXPECT_EQ(letter->operation, 3);
  EXPECT_EQ(letter->info.http_status, 400);
  EXPECT_EQ(letter->attempts, 2);
  // Retried, failed again: the new letter does not take the old id.
  ASSERT_EQ(st.retry_dead_letter(5, "alice", "", at(20)).outcome, dead_letter_outcome::done);
  st.fail_operation(3, failure("refused again", 400), at(30));
  EXPECT_GT(st.dead_letters_of(7).at(0).id, 5);
}

TEST_F(store_test, runtime_keys_are_inserted_and_replaced) {
  EXPECT_TRUE(st_.runtime().empty());
  st_.set_runtime("psa.state", "connecting", at(10));
  st_.set_runtime("daemon.pid", "4242", at(10));
  st_.set_runtime("psa.state", "connected", at(20));
  const auto rt = st_.runtime();
  ASSERT_EQ(rt.size(), 2u);
  EXPECT_EQ(rt.at("psa.state").value, "connected");
  EXPECT_EQ(rt.at("psa.state").updated_at, at(20));
  EXPECT_EQ(rt.at("daemon.pid").value, "4242");
  EXPECT_EQ(rt.at("daemon.pid").updated_at, at(10));
  EXPECT_EQ(rt.begin()->first, "daemon.pid");  // sorted by key
}

// An issue whose create reached ConnectWise once without an answer (sent), and
// was then refused with a 400: dead, with a dead letter.
class dead_letter_test : public store_test {
 protected:
  struct dead_op {
    std::int64_t issue = 0, op = 0, letter = 0;
  };

  dead_op make_dead(const std::string& issue_id) {
    dead_op d;
    d.issue = new_issue(issue_id);
    d.op = st_.add_operation(d.issue, op_kind::create, {}, at(100));
    st_.mark_sent(d.op, {}, at(110));
    st_.retry_operation(d.op, retry_at(at(200), "timeout", false), at(120));
    dead_letter_info info = failure("400 InvalidObject: company (company)", 400);
    info.cw_code = "InvalidObject";
    info.cw_message = "ticket object is invalid";
    info.cw_field = "company";
    st_.fail_operation(d.op, info, at(300));
    const auto letters = st_.dead_letters_of(d.issue);
    EXPECT_EQ(letters.size(), 1u);
    d.letter = letters.at(0).id;
    return d;
  }

  std::vector<history_entry> operator_rows(std::int64_t issue) {
    std::vector<history_entry> out;
    for (auto& h : st_.history(issue))
      if (h.kind == "operator") out.push_back(std::move(h));
    return out;
  }

  dead_letter_change settle(const std::string& action, std::int64_t id, std::string_view who, std::string_view reason,
                            sys_ms now) {
    return action == "retry" ? st_.retry_dead_letter(id, who, reason, now) : st_.drop_dead_letter(id, who, reason, now);
  }
};

TEST_F(dead_letter_test, retry_and_drop_record_who_and_remove_the_letter) {
  struct settle_case {
    std::string action;
    std::string reason;
    op_status status_after;
  };
  const std::vector<settle_case> cases{
      {"retry", "", op_status::pending},
      {"retry", "mapping fixed", op_status::pending},
      {"drop", "customer closed the contract", op_status::dead},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.action + " '" + c.reason + "'");
    const dead_op d = make_dead("I-" + std::to_string(++n));
    const auto before = st_.find_dead_letter(d.letter);
    ASSERT_TRUE(before);
    EXPECT_EQ(before->operation, d.op);
    EXPECT_EQ(before->info.http_status, 400);

    const dead_letter_change r = settle(c.action, d.letter, "alice via sudo (root)", c.reason, at(5'000));
    EXPECT_EQ(r.outcome, dead_letter_outcome::done);
    ASSERT_TRUE(r.letter);
    EXPECT_EQ(r.letter->id, d.letter);
    EXPECT_EQ(r.letter->info.cw_field, "company");
    EXPECT_FALSE(st_.find_dead_letter(d.letter));
    EXPECT_TRUE(st_.dead_letters_of(d.issue).empty());

    const auto rows = operator_rows(d.issue);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].operation, d.op);
    EXPECT_EQ(rows[0].at, at(5'000));
    const auto detail = nlohmann::json::parse(rows[0].detail);
    EXPECT_EQ(detail["action"], c.action);
    EXPECT_EQ(detail["by"], "alice via sudo (root)");
    EXPECT_EQ(detail["at"], "1970-01-01T00:00:05.000Z");
    if (c.reason.empty()) {
      EXPECT_TRUE(detail["reason"].is_null()) << rows[0].detail;
    } else {
      EXPECT_EQ(detail["reason"], c.reason);
    }
    const auto& dl = detail["dead_letter"];
    EXPECT_EQ(dl["id"], d.letter);
    EXPECT_EQ(dl["operation"], d.op);
    EXPECT_EQ(dl["kind"], "create");
    EXPECT_EQ(dl["http_status"], 400);
    EXPECT_EQ(dl["cw_code"], "InvalidObject");
    EXPECT_EQ(dl["cw_message"], "ticket object is invalid");
    EXPECT_EQ(dl["cw_field"], "company");
    EXPECT_EQ(dl["error"], "400 InvalidObject: company (company)");
    EXPECT_EQ(dl["attempts"], 1);
    EXPECT_EQ(dl["created_at"], "1970-01-01T00:00:00.300Z");

    const auto op = st_.get_operation(d.op);
    ASSERT_TRUE(op);
    EXPECT_EQ(op->status, c.status_after);
    EXPECT_TRUE(op->sent) << "the request may have reached ConnectWise: recovery must still look it up";
    EXPECT_EQ(op->payload.generation, 1);
    if (c.status_after == op_status::pending) {
      EXPECT_EQ(op->attempts, 0);
      EXPECT_EQ(op->next_attempt_at, at(5'000));
      EXPECT_EQ(op->last_error, "");
      EXPECT_TRUE(op->rerender);
      EXPECT_EQ(due_ids(5'000), (std::vector<std::int64_t>{d.op}));
      st_.complete_operation(d.op, at(5'100));  // out of the way of the next case
    } else {
      EXPECT_EQ(op->last_error, "400 InvalidObject: company (company)");
      EXPECT_FALSE(op->rerender);
      EXPECT_TRUE(due_ids(5'000).empty());
    }
  }
}

TEST_F(dead_letter_test, refusals_change_nothing) {
  struct refusal_case {
    std::string what;
    std::string action;
    dead_letter_outcome expected;
  };
  const std::vector<refusal_case> cases{
      {"unknown id", "retry", dead_letter_outcome::not_found},
      {"unknown id", "drop", dead_letter_outcome::not_found},
      {"settled already", "retry", dead_letter_outcome::not_found},
      {"settled already", "drop", dead_letter_outcome::not_found},
      {"operation not dead", "retry", dead_letter_outcome::not_dead},
      {"operation not dead", "drop", dead_letter_outcome::not_dead},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.action + " of " + c.what);
    const dead_op d = make_dead("R-" + std::to_string(++n));
    std::int64_t id = d.letter;
    if (c.what == "unknown id") id = d.letter + 1000;
    if (c.what == "settled already") {
      ASSERT_EQ(st_.drop_dead_letter(d.letter, "bob", "", at(400)).outcome, dead_letter_outcome::done);
    }
    if (c.what == "operation not dead") {
      // Not reachable through the store's API; a hand-edited database.
      SQLite::Statement revive(st_.db(), "UPDATE operations SET status = 'pending' WHERE id = ?1");
      revive.bind(1, d.op);
      revive.exec();
    }
    const auto op_before = st_.get_operation(d.op);
    const auto history_before = st_.history(d.issue).size();
    const auto letters_before = st_.dead_letters_of(d.issue).size();

    const dead_letter_change r = settle(c.action, id, "alice", "why", at(5'000));
    EXPECT_EQ(r.outcome, c.expected);
    EXPECT_EQ(r.letter.has_value(), c.expected == dead_letter_outcome::not_dead);
    EXPECT_EQ(st_.history(d.issue).size(), history_before);
    EXPECT_EQ(st_.dead_letters_of(d.issue).size(), letters_before);
    const auto op_after = st_.get_operation(d.op);
    EXPECT_EQ(op_after->status, op_before->status);
    EXPECT_EQ(op_after->rerender, op_before->rerender);
    EXPECT_EQ(op_after->next_attempt_at, op_before->next_attempt_at);
  }
}

TEST_F(dead_letter_test, retried_operation_can_fail_again_and_clear_its_mark) {
  const dead_op d = make_dead("A");
  ASSERT_EQ(st_.retry_dead_letter(d.letter, "alice", "", at(1'000)).outcome, dead_letter_outcome::done);
  EXPECT_TRUE(st_.get_operation(d.op)->rerender);
  st_.clear_rerender(d.op, at(1'010));
  EXPECT_FALSE(st_.get_operation(d.op)->rerender);
  EXPECT_EQ(st_.get_operation(d.op)->status, op_status::pending);

  // It fails again: a new dead letter (no clash with the one retried).
  st_.fail_operation(d.op, failure("400 again", 400), at(2'000));
  const auto letters = st_.dead_letters_of(d.issue);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_GT(letters[0].id, d.letter);  // ids are never given again
  EXPECT_EQ(letters[0].info.error, "400 again");
  EXPECT_EQ(letters[0].attempts, 0);                                    // attempts started again at the retry
  EXPECT_THROW(st_.clear_rerender(d.op, at(2'010)), std::logic_error);  // dead: not pending
  EXPECT_THROW(st_.clear_rerender(d.op + 100, at(2'010)), std::logic_error);
}

TEST_F(dead_letter_test, retry_inside_an_open_transaction_is_refused) {
  const dead_op d = make_dead("A");
  store::transaction tx(st_);
  EXPECT_THROW(st_.retry_dead_letter(d.letter, "alice", "", at(1'000)), SQLite::Exception);
}

TEST_F(store_test, operations_of_an_issue_in_every_status) {
  const std::int64_t a = new_issue("A"), b = new_issue("B");
  const std::int64_t done = st_.add_operation(a, op_kind::create, {}, at(1));
  const std::int64_t dead = st_.add_operation(a, op_kind::update, {}, at(2));
  const std::int64_t pending = st_.add_operation(a, op_kind::close, {}, at(3));
  st_.add_operation(b, op_kind::create, {}, at(4));
  st_.complete_operation(done, at(5));
  st_.fail_operation(dead, failure("400", 400), at(6));
  std::vector<std::pair<std::int64_t, op_status>> got;
  for (const auto& op : st_.operations_of(a)) got.emplace_back(op.id, op.status);
  EXPECT_EQ(got, (std::vector<std::pair<std::int64_t, op_status>>{
                     {done, op_status::done}, {dead, op_status::dead}, {pending, op_status::pending}}));
  EXPECT_TRUE(st_.operations_of(a + b + 100).empty());
}

TEST_F(store_test, queue_status_splits_pending_by_due_time_and_sent) {
  const queue_status empty = st_.get_queue_status(at(1'000));
  EXPECT_EQ(empty.inbox, 0);
  EXPECT_FALSE(empty.oldest_inbox);
  EXPECT_EQ(empty.pending_due + empty.pending_waiting + empty.sent + empty.dead_letters, 0);

  const std::vector<inbox_entry> one = {{"a", "{}"}};
  st_.inbox_add(one, at(500));
  st_.inbox_add(one, at(700));
  st_.hold_event(inbox_row{9, at(600), "spool:h", "{}"}, "wazuh", "newco", "unmapped", at(650));
  const std::int64_t a = new_issue("A"), b = new_issue("B"), c = new_issue("C"), d = new_issue("D");
  st_.set_ticket(a, 1001, ticket_state::open, at(2));
  st_.add_operation(a, op_kind::update, {}, at(900));  // due
  const std::int64_t waiting = st_.add_operation(b, op_kind::create, {}, at(900));
  st_.retry_operation(waiting, retry_at(at(5'000), "503", true), at(950));  // waiting for its retry
  const std::int64_t sent = st_.add_operation(c, op_kind::create, {}, at(900));
  st_.mark_sent(sent, {}, at(960));  // due and sent
  st_.fail_operation(st_.add_operation(d, op_kind::create, {}, at(900)), failure("400", 400), at(970));

  const queue_status q = st_.get_queue_status(at(1'000));
  EXPECT_EQ(q.inbox, 2);
  EXPECT_EQ(q.oldest_inbox, at(500));
  EXPECT_EQ(q.held, 1);
  EXPECT_EQ(q.pending_due, 2);
  EXPECT_EQ(q.pending_waiting, 1);
  EXPECT_EQ(q.sent, 1);
  EXPECT_EQ(q.dead_letters, 1);
  EXPECT_EQ(q.issues, 4);
  EXPECT_EQ(q.tickets, 1);
  EXPECT_EQ(st_.get_queue_status(at(5'000)).pending_due, 3);  // the retry time has come
}

TEST_F(store_test, recent_errors_are_pending_operations_newest_failure_first) {
  const std::int64_t a = new_issue("A"), b = new_issue("B");
  const std::int64_t older = st_.add_operation(a, op_kind::create, {}, at(1));
  const std::int64_t newer = st_.add_operation(b, op_kind::create, {}, at(1));
  const std::int64_t recovered = st_.add_operation(b, op_kind::update, {}, at(1));
  st_.add_operation(a, op_kind::update, {}, at(1));  // never failed
  st_.retry_operation(older, retry_at(at(900), "HTTP 500", true), at(100));
  st_.retry_operation(newer, retry_at(at(900), "timeout", false), at(300));
  st_.retry_operation(recovered, retry_at(at(900), "HTTP 503", true), at(400));
  st_.complete_operation(recovered, at(500));  // no longer pending

  const auto errors = st_.recent_errors(10);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].op.id, newer);
  EXPECT_EQ(errors[0].op.last_error, "timeout");
  EXPECT_EQ(errors[0].op.attempts, 1);
  EXPECT_EQ(errors[0].updated_at, at(300));
  EXPECT_EQ(errors[0].issue, make_issue("B").identity);
  EXPECT_EQ(errors[1].op.id, older);
  EXPECT_EQ(errors[1].issue.issue_id, "A");
  ASSERT_EQ(st_.recent_errors(1).size(), 1u);
  EXPECT_EQ(st_.recent_errors(1)[0].op.id, newer);
}

//------------------------------------------------------------------------------
// transactions and durability

TEST_F(store_test, transaction_rolls_back_unless_committed) {
  {
    store::transaction tx(st_);
    const std::int64_t issue = new_issue("A");
    st_.add_operation(issue, op_kind::create, {}, at(1));
  }
  EXPECT_EQ(st_.get_counts().issues, 0);
  EXPECT_EQ(st_.get_counts().pending, 0);

  {
    store::transaction tx(st_);
    const std::int64_t issue = new_issue("A");
    st_.add_operation(issue, op_kind::create, {}, at(1));
    tx.commit();
  }
  EXPECT_EQ(st_.get_counts().issues, 1);
  EXPECT_EQ(st_.get_counts().pending, 1);
}

TEST_F(store_test, transactions_do_not_nest) {
  store::transaction outer(st_);
  EXPECT_THROW(store::transaction inner(st_), SQLite::Exception);
  outer.commit();
}

TEST(store_durability, committed_data_survives_close_and_reopen) {
  temp_dir dir;
  const std::string path = (dir.path() / "ts.db").string();
  std::int64_t issue = 0, op = 0;
  {
    store st(path);
    const std::vector<inbox_entry> one = {{"spool:x", R"({"a":1})"}};
    st.inbox_add(one, at(10));
    store::transaction tx(st);
    issue = st.save_issue(make_issue("I-1"), at(11));
    st.set_ticket(issue, 555, ticket_state::open, at(12));
    op = st.add_operation(issue, op_kind::update, {}, at(13));
    st.mark_sent(op, {}, at(14));
    tx.commit();
    {
      store::transaction lost(st);
      st.save_issue(make_issue("I-2"), at(15));
    }
  }
  store st(path);
  ASSERT_EQ(st.inbox_depth(), 1);
  EXPECT_EQ(st.inbox_peek(1)[0].body, R"({"a":1})");
  auto rec = st.find_issue(make_issue("I-1").identity);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, issue);
  EXPECT_EQ(rec->ticket_id, 555);
  EXPECT_FALSE(st.find_issue(make_issue("I-2").identity));
  auto o = st.get_operation(op);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->sent);
  EXPECT_EQ(o->attempts, 0);  // mark_sent is not a failed attempt
}

TEST(store_durability, reads_leave_no_snapshot_open) {
  // A cached SELECT left mid-step would pin a WAL read snapshot and block a
  // checkpoint from another connection.
  temp_dir dir;
  const std::string path = (dir.path() / "ts.db").string();
  store st(path);
  const std::int64_t issue = st.save_issue(make_issue("I-1"), at(1));
  st.add_operation(issue, op_kind::create, {}, at(1));
  st.add_operation(issue, op_kind::update, {}, at(1));
  const std::vector<inbox_entry> two = {{"a", "{}"}, {"b", "{}"}};
  st.inbox_add(two, at(1));
  ASSERT_TRUE(st.find_issue(make_issue("I-1").identity));
  ASSERT_EQ(st.due_operations(at(1), 1).size(), 1u);
  ASSERT_EQ(st.inbox_peek(1).size(), 1u);
  ASSERT_TRUE(st.get_operation(1));

  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  SQLite::Statement checkpoint(other, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(checkpoint.executeStep());
  EXPECT_EQ(checkpoint.getColumn(0).getInt(), 0) << "checkpoint blocked by an open read";
}

}  // namespace
