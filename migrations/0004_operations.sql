-- 0004_operations: what the operator commands need (`status`, `deadletter`,
-- `issue show`), which read and change this database while the daemon runs.

-- Facts only the running daemon knows, kept here for the commands of another
-- process: daemon.pid, daemon.started_at, daemon.stopped_at, psa.state
-- (connecting|connected|unreachable|blocked), psa.state_since,
-- psa.last_success_at, psa.last_error, config.last_reload, ... Any key may be
-- written; times in values are RFC 3339 UTC text. updated_at: Unix ms of the write.
CREATE TABLE runtime (
  key        TEXT    PRIMARY KEY,
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
);

-- operations.rerender: 1 after an operator retried the dead operation
-- (`deadletter retry`): before it runs again the daemon renders the issue's
-- ticket anew from the stored event with the mapping in effect then (which
-- may have been fixed meanwhile), and clears the mark.
ALTER TABLE operations ADD COLUMN rerender INTEGER NOT NULL DEFAULT 0;

-- history.kind gains 'operator': what an operator did to the issue's
-- operations (retry, drop), by whom and when. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt (nothing references it).
CREATE TABLE history_new (
  id        INTEGER PRIMARY KEY,
  issue     INTEGER NOT NULL REFERENCES issues(id),
  at        INTEGER NOT NULL,
  kind      TEXT    NOT NULL CHECK (kind IN ('decision', 'operation', 'operator')),
  operation INTEGER,
  detail    TEXT    NOT NULL
);
INSERT INTO history_new (id, issue, at, kind, operation, detail)
  SELECT id, issue, at, kind, operation, detail FROM history;
DROP TABLE history;
ALTER TABLE history_new RENAME TO history;
CREATE INDEX history_issue ON history(issue, id);

-- dead_letters.id is what operators name (`deadletter retry 12`): with
-- AUTOINCREMENT an id is never given again after its row was retried or
-- dropped, so a command typed from an older listing cannot hit another
-- operation's failure. Rebuilt like history (nothing references it).
CREATE TABLE dead_letters_new (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  operation   INTEGER NOT NULL UNIQUE REFERENCES operations(id),
  issue       INTEGER NOT NULL REFERENCES issues(id),
  kind        TEXT    NOT NULL,
  http_status INTEGER,
  cw_code     TEXT,
  cw_message  TEXT,
  cw_field    TEXT,
  error       TEXT    NOT NULL,
  attempts    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
);
INSERT INTO dead_letters_new (id, operation, issue, kind, http_status, cw_code, cw_message, cw_field, error,
                              attempts, created_at)
  SELECT id, operation, issue, kind, http_status, cw_code, cw_message, cw_field, error, attempts, created_at
  FROM dead_letters;
DROP TABLE dead_letters;
ALTER TABLE dead_letters_new RENAME TO dead_letters;
CREATE INDEX dead_letters_issue ON dead_letters(issue);
