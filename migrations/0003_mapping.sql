-- 0003_mapping: rules, held tenants, storm digests, technician-closed tickets,
-- the decision history and the PSA name cache.

-- issues:
--   rule        : name of the rule that decided the issue's ticket (newest event)
--   tech_closed : 1 when the ticket was found closed in ConnectWise while the
--                 issue was still open (closed by a person, not by ticketsync)
--   digest      : the storm digest issue this issue was folded into, if any
--                 (its ticket carries this issue as a note instead of a ticket of its own)
ALTER TABLE issues ADD COLUMN rule        TEXT    NOT NULL DEFAULT '';
ALTER TABLE issues ADD COLUMN tech_closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issues ADD COLUMN digest      INTEGER REFERENCES issues(id);
CREATE INDEX issues_tenant ON issues(tenant);

-- Events of unmapped tenants under `companies.unmapped: hold`: kept, in
-- arrival order, until a reload maps the tenant (they then go back to the inbox).
CREATE TABLE held_events (
  id          INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  origin      TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  tenant      TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  held_at     INTEGER NOT NULL
);

-- Why each issue's ticket is what it is: one 'decision' row per planned event
-- (rule, company and why, board, priority, the plan), one 'operation' row per
-- finished operation (outcome, ticket). detail is JSON.
CREATE TABLE history (
  id        INTEGER PRIMARY KEY,
  issue     INTEGER NOT NULL REFERENCES issues(id),
  at        INTEGER NOT NULL,
  kind      TEXT    NOT NULL CHECK (kind IN ('decision', 'operation')),
  operation INTEGER,
  detail    TEXT    NOT NULL
);
CREATE INDEX history_issue ON history(issue, id);

-- ConnectWise names cached with their fetch time: kind is 'boards',
-- 'priorities', 'sources', 'custom_fields' (scope 0) or 'statuses', 'types',
-- 'subtypes', 'items', 'teams' (scope = board id); body is a JSON list of
-- {id, name, closed, inactive, type_ids}.
CREATE TABLE directory (
  kind       TEXT    NOT NULL,
  scope      INTEGER NOT NULL,
  body       TEXT    NOT NULL,
  fetched_at INTEGER NOT NULL,
  PRIMARY KEY (kind, scope)
);
