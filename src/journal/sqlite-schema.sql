-- The SQLite journal schema as it stands after every migration (PRAGMA user_version = 2).
-- For reading only: the migrations in src/journal/sqlite.ts are what runs;
-- test/contract/journal.test.ts checks that this file matches them.

-- The journal: one row per commit; seq is the first event's number, n how many, body their
-- JSON array, order_id the order they are all about, or NULL when they are about several (or
-- none). Journals written before that rule have one row per run of consecutive events about
-- the same order within a commit; both read alike (src/journal/rows.ts).
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  n INTEGER NOT NULL,
  order_id TEXT,
  body TEXT NOT NULL
);

-- Which rows of events are about which order, as written before the side file existed
-- (complete up to meta 'orderIndexSeq'); read, no longer written. The order index now lives
-- in the side file (below).
CREATE TABLE order_events (
  order_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;

-- Snapshots from before the side file existed; read, no longer written (see below).
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

-- Users and tokens of the HTTP API, one row each (src/journal/auth-sqlite.ts). Before
-- user_version 2 they were JSON lists in meta ('auth.users', 'auth.tokens'); migration 2 moved
-- them here. scrypt is JSON {salt, hash, N, r, p, keylen}; a token is stored as its SHA-256.
CREATE TABLE auth_users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  created TEXT NOT NULL,
  scrypt TEXT NOT NULL
);
CREATE TABLE auth_tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  kind TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT,
  user_name TEXT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_name) WHERE user_name IS NOT NULL;

-- The side file, journal-side.sqlite (SIDE_SCHEMA in src/journal/sqlite.ts): data derived
-- from the journal, written off the commit path by the sidecar worker (sqlite-sidecar.ts) in
-- a file of its own so that it never takes the journal's write lock; repaired on open.
--   order_events (order_id, seq) WITHOUT ROWID  which rows are about which order
--   snapshots (seq, at, state)                  the state after event seq; the newest 2 kept
--   meta (key, value)                           'indexedSeq': the index is complete up to it
