-- The PostgreSQL journal schema as it stands after every migration (migrations.version = 2).
-- For reading only: src/journal/postgres.ts creates the schema (one per journal, `orderly` by
-- default) and runs its MIGRATIONS inside it; test/contract/postgres.test.ts checks that this
-- file gives the same tables, columns, indexes and constraints.

-- Which migrations ran (entry i of MIGRATIONS is version i + 1). Created before them.
CREATE TABLE migrations (
  version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- The journal: one row per event. body is the event's JSON text (as JSON.stringify wrote it),
-- order_id the order it is about (NULL for events about no order). All events of one append
-- are inserted by one statement (group commit).
CREATE TABLE events (
  seq bigint PRIMARY KEY,
  order_id text,
  body text NOT NULL
);
CREATE INDEX events_order_id ON events (order_id, seq) WHERE order_id IS NOT NULL;

-- Snapshots of the state after event seq; the newest 2 are kept.
CREATE TABLE snapshots (
  seq bigint PRIMARY KEY,
  at bigint NOT NULL,
  state text NOT NULL
);

-- Bounded output of job executions; id keeps their order.
CREATE TABLE step_logs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id text NOT NULL,
  execution_id text NOT NULL,
  job text NOT NULL,
  stdout text NOT NULL,
  stderr text NOT NULL,
  stdout_dropped bigint NOT NULL,
  stderr_dropped bigint NOT NULL,
  at bigint NOT NULL
);
CREATE INDEX step_logs_order_id ON step_logs (order_id, id);

-- Small settings of the journal (engine id, …).
CREATE TABLE meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- Named leases (src/journal/postgres-lease.ts). 'controller' is the journal's writer: every
-- append checks, inside its own statement, that its epoch is this row's and unexpired.
-- epoch is raised by every new holder; holder is NULL once released; times are the database's.
CREATE TABLE leases (
  name text PRIMARY KEY,
  epoch bigint NOT NULL CHECK (epoch > 0),
  node text NOT NULL,
  holder text,
  since timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Users and tokens of the HTTP API (auth-postgres.ts), shared by every node; added keeps
-- the order rows were added in. A token is stored as its SHA-256 only.
CREATE TABLE auth_users (
  name text PRIMARY KEY,
  role text NOT NULL,
  created text NOT NULL,
  scrypt text NOT NULL,
  added bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE TABLE auth_tokens (
  id text PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  name text NOT NULL,
  role text NOT NULL,
  kind text NOT NULL,
  created text NOT NULL,
  expires text,
  user_name text,
  added bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_name) WHERE user_name IS NOT NULL;

-- The nodes of a cluster (src/cluster/): each node heartbeats its row while it runs; a node
-- whose expires_at passed (the database's clock) is gone, and the controller ends its
-- worker's executions (workerLost). worker_id is the worker of the node's current life;
-- agents NULL: the node serves no named agent (it runs jobs of any agent nobody serves).
CREATE TABLE nodes (
  name text PRIMARY KEY,
  worker_id text NOT NULL,
  agents text[],
  slots integer NOT NULL CHECK (slots >= 0),
  functions text[] NOT NULL DEFAULT '{}',
  http_url text,
  started_at timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  stopped boolean NOT NULL DEFAULT false
);

-- Executions the controller dispatched to the worker of another node. The worker claims its
-- rows (FOR UPDATE SKIP LOCKED, woken by NOTIFY), runs them and writes the result; the
-- controller turns the result into the order's jobFinished and deletes the row. epoch is the
-- controller's that dispatched it; request and result are JSON.
CREATE TABLE executions (
  execution_id text PRIMARY KEY,
  order_id text NOT NULL,
  worker_id text NOT NULL,
  epoch bigint NOT NULL,
  request text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  claimed_at timestamptz,
  result text,
  reported_at timestamptz
);
CREATE INDEX executions_unclaimed ON executions (worker_id, created_at) WHERE claimed_at IS NULL;
CREATE INDEX executions_reported ON executions (reported_at) WHERE result IS NOT NULL;

-- Commands that other nodes send to the controller (an API call on a stand-by node). The
-- controller takes them in id order, runs them and writes the answer (JSON) for the sender.
CREATE TABLE commands (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  answer text,
  answered_at timestamptz
);
CREATE INDEX commands_open ON commands (id) WHERE answer IS NULL;
