-- 0006_reverse: what the ConnectWise → ticketsync direction needs.

-- issues.seen: the issue's ticket as ticketsync last wrote or saw it in
-- ConnectWise (JSON, see ticket_view in lib/core/records.hpp): status,
-- board, priority, company, the server's lastUpdated and who made that
-- change, and what a person decided (a deletion, a priority a person set).
-- Every change heard from ConnectWise (a callback, the polling sweep) is
-- compared with it: what equals it is an echo of ticketsync's own writes.
-- '{}' on rows written by earlier releases: nothing seen yet.
ALTER TABLE issues ADD COLUMN seen TEXT NOT NULL DEFAULT '{}';

-- Durable marks of the reverse direction, in the server's time (Unix ms):
--   sweep.mark      : the polling sweep has read every change up to here
--   existence.at    : local time the last check that tracked tickets exist ended
CREATE TABLE reverse_marks (
  name       TEXT    PRIMARY KEY,
  value      INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- history.kind gains 'ticket': what a person (or ConnectWise) did to the
-- issue's ticket, as ticketsync heard it, and what followed. The table is
-- rebuilt to change the CHECK constraint (see 0004).
CREATE TABLE history_new (
  id        INTEGER PRIMARY KEY,
  issue     INTEGER NOT NULL REFERENCES issues(id),
  at        INTEGER NOT NULL,
  kind      TEXT    NOT NULL CHECK (kind IN ('decision', 'operation', 'operator', 'ticket')),
  operation INTEGER,
  detail    TEXT    NOT NULL
);
INSERT INTO history_new (id, issue, at, kind, operation, detail)
  SELECT id, issue, at, kind, operation, detail FROM history;
DROP TABLE history;
ALTER TABLE history_new RENAME TO history;
CREATE INDEX history_issue ON history(issue, id);

-- ticket_hints: tickets a verified ConnectWise callback said changed,
-- committed before the callback is answered 2xx. The engine re-reads them
-- (batched) and decides on what ConnectWise holds, never on the callback's
-- Entity; a row goes in the commit of those decisions.
CREATE TABLE ticket_hints (
  id          INTEGER PRIMARY KEY,
  ticket      INTEGER NOT NULL,
  action      TEXT    NOT NULL CHECK (action IN ('added', 'updated', 'deleted')),
  member      TEXT    NOT NULL DEFAULT '',  -- the callback's MemberId: who made the change
  received_at INTEGER NOT NULL
);

-- callback_deliveries: what identifies each callback delivery taken (a
-- message id, or ticket + action + the Entity's lastUpdated), so a repeat
-- is answered 2xx and dropped. Kept for a day.
CREATE TABLE callback_deliveries (
  key         TEXT    PRIMARY KEY,
  received_at INTEGER NOT NULL
);
CREATE INDEX callback_deliveries_age ON callback_deliveries(received_at);
