-- 0002_lifecycle: what the lifecycle (update, close, reopen) needs.

-- issues:
--   generation  : 1 for the issue's first ticket; +1 for each new ticket opened
--                 when it comes back after the reopen window (externalXRef
--                 `<correlation_key>` for 1, `<correlation_key>#<n>` after)
--   phase       : the ticket's phase once the queued operations succeed
--                 (planning works on it); ticket_state is what is known to be true
--   resolved_at : updated_at of the event that resolved the issue (reopen window)
--   desired     : JSON, the ticket as the newest event wants it (rendered)
--   applied     : JSON, the fields the ticket is known to hold
ALTER TABLE issues ADD COLUMN generation  INTEGER NOT NULL DEFAULT 1;
ALTER TABLE issues ADD COLUMN phase       TEXT    NOT NULL DEFAULT 'none'
                                          CHECK (phase IN ('none', 'open', 'closed'));
ALTER TABLE issues ADD COLUMN resolved_at INTEGER;
ALTER TABLE issues ADD COLUMN desired     TEXT    NOT NULL DEFAULT '{}';
ALTER TABLE issues ADD COLUMN applied     TEXT    NOT NULL DEFAULT '{}';
UPDATE issues SET phase = 'open' WHERE ticket_id IS NOT NULL
   OR id IN (SELECT issue FROM operations WHERE status = 'pending' AND kind = 'create');

-- operations: the index of the next step to run (a retry never repeats a
-- finished step); payload keeps what must not change between attempts (the
-- text of a note already sent once).
ALTER TABLE operations ADD COLUMN step INTEGER NOT NULL DEFAULT 0;

-- Operations that failed permanently, with ConnectWise's answer.
CREATE TABLE dead_letters (
  id          INTEGER PRIMARY KEY,
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
CREATE INDEX dead_letters_issue ON dead_letters(issue);
