-- 0001_init: inbox, issues and the operations outbox.
-- Times are Unix milliseconds (UTC).

-- Accepted events, committed before the producer is acknowledged (spool file
-- unlinked / HTTP 202). The sync engine consumes rows in id order.
CREATE TABLE inbox (
  id          INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  origin      TEXT    NOT NULL,          -- e.g. 'spool:NAME'
  body        TEXT    NOT NULL           -- the validated event JSON as received
);

-- One row per issue (source, tenant, issue_id): the newest event applied and
-- the ticket that represents the issue.
CREATE TABLE issues (
  id              INTEGER PRIMARY KEY,
  source          TEXT    NOT NULL,
  tenant          TEXT    NOT NULL,
  issue_id        TEXT    NOT NULL,
  correlation_key TEXT    NOT NULL UNIQUE, -- written to the ticket's externalXRef
  state           TEXT    NOT NULL CHECK (state IN ('open', 'resolved')),
  severity        TEXT    NOT NULL,
  last_event_at   INTEGER NOT NULL,        -- updated_at of the newest event applied
  event           TEXT    NOT NULL,        -- that event's JSON
  ticket_id       INTEGER,                 -- ConnectWise ticket id, once known
  ticket_state    TEXT    NOT NULL DEFAULT 'none'
                  CHECK (ticket_state IN ('none', 'creating', 'open', 'closed')),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (source, tenant, issue_id)
);
CREATE INDEX issues_ticket ON issues(ticket_id);

-- The outbox: PSA operations, persisted before they are sent. `sent` = 1 means
-- a request may have reached ConnectWise without its answer being recorded;
-- the next attempt must first find out what happened (e.g. look a create up
-- by externalXRef) before sending again.
CREATE TABLE operations (
  id              INTEGER PRIMARY KEY,
  issue           INTEGER NOT NULL REFERENCES issues(id),
  kind            TEXT    NOT NULL,        -- 'create' (more kinds come with the lifecycle)
  payload         TEXT    NOT NULL,        -- JSON: what to send
  status          TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'done', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  sent            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX operations_pending ON operations(status, next_attempt_at);
CREATE INDEX operations_by_issue ON operations(issue, status);
