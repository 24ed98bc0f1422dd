-- The SQLite journal schema as it stands after every migration (PRAGMA user_version = 1).
-- For reading only: the migrations in src/journal/sqlite.ts are what runs;
-- test/contract/journal.test.ts checks that this file matches them.

-- The journal: one row per run of consecutive events about the same order within one
-- commit; seq is the first event's number, n how many, body their JSON array.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  n INTEGER NOT NULL,
  order_id TEXT,
  body TEXT NOT NULL
);

-- Which rows of events are about which order. Derived data, written in batches (not in
-- every commit): meta 'orderIndexSeq' says up to where; opening the journal catches up.
CREATE TABLE order_events (
  order_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;

-- The state after applying events up to seq; only the newest 2 are kept.
CREATE TABLE snapshots (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  state TEXT NOT NULL
);

-- Bounded output of job executions; id keeps their order (a VACUUM may renumber a plain rowid).
CREATE TABLE step_logs (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  job TEXT NOT NULL,
  stdout TEXT NOT NULL,
  stderr TEXT NOT NULL,
  stdout_dropped INTEGER NOT NULL,
  stderr_dropped INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX step_logs_order_id ON step_logs (order_id);

-- Settings of the data dir (engine id, …).
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
