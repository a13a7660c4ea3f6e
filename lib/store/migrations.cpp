// The schema migration runner. The database records its schema version in
// PRAGMA user_version; migrate() applies every migration newer than that
// version, in ascending order, and bumps user_version — all inside one
// BEGIN IMMEDIATE transaction, so a failure leaves the database exactly as it
// was (SQLite DDL and user_version are both transactional). The version is read
// again under the write lock, so two processes opening the same file at once do
// not both apply the same migration. embedded_migrations() is generated at
// build time by cmake/embed_migrations.cmake and is not defined here.
#include "store/migrations.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include <stdexcept>
#include <string>

namespace ts::store {

namespace {

int user_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

// A list that is not strictly ascending (or has versions < 1) is a build
// defect, not a runtime condition; it must never reach a database.
void check_ascending(const std::vector<migration>& all) {
  int previous = 0;
  for (const migration& m : all) {
    if (m.version <= previous) {
      throw std::logic_error("migrations are not strictly ascending from 1: version " + std::to_string(m.version) +
                             " ('" + m.name + "') follows " + std::to_string(previous));
    }
    previous = m.version;
  }
}

void check_not_newer(int current, int newest) {
  if (current > newest) {
    throw std::runtime_error("database schema version " + std::to_string(current) +
                             " is newer than this ticketsyncd (knows up to " + std::to_string(newest) +
                             "); upgrade ticketsyncd or restore a backup");
  }
}

}  // namespace

int migrate(SQLite::Database& db, const std::vector<migration>& all) {
  check_ascending(all);
  const int newest = all.empty() ? 0 : all.back().version;

  // Cheap read-only check first: the common case (nothing to do) takes no
  // write lock.
  int current = user_version(db);
  check_not_newer(current, newest);
  if (current == newest) return 0;

  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  // Another process may have migrated between the read above and the lock.
  current = user_version(db);
  check_not_newer(current, newest);

  int applied = 0;
  for (const migration& m : all) {
    if (m.version <= current) continue;
    // Migration files must not contain BEGIN/COMMIT: they run inside `tx`.
    try {
      db.exec(m.sql);
    } catch (const SQLite::Exception& e) {
      // `tx` rolls back on the way out; say which file broke.
      throw std::runtime_error("migration " + m.name + " failed: " + e.what());
    }
    ++applied;
  }
  // PRAGMA takes no bound parameters; the value is an int we formatted.
  db.exec("PRAGMA user_version = " + std::to_string(newest));
  tx.commit();
  return applied;
}

}  // namespace ts::store
