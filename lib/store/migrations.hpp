// Schema migrations: migrations/NNNN_name.sql, compiled into the binary
// (cmake/embed_migrations.cmake) and applied in order at start.
#pragma once

#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace ts::store {

struct migration {
  int version;       ///< NNNN
  std::string name;  ///< file name without .sql
  std::string sql;
};

/// All migrations shipped with this binary, ascending by version.
const std::vector<migration>& embedded_migrations();

/// Brings `db` to the newest version in `all`, applying each missing migration
/// and setting PRAGMA user_version inside one transaction (all or nothing).
/// Throws std::runtime_error naming both versions when the database is newer
/// than the newest migration known ("database schema version 7 is newer than
/// this ticketsyncd (knows up to 3); upgrade ticketsyncd or restore a backup").
/// Returns the number of migrations applied.
int migrate(SQLite::Database& db, const std::vector<migration>& all);

}  // namespace ts::store
