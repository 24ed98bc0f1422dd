// The PostgreSQL journal (node-postgres). One schema per journal holds its tables
// (postgres-schema.sql); any number of nodes may open it, one of them writes.
//
// The writer is whoever holds the `controller` lease (postgres-lease.ts): `acquireWriter` waits
// for it, and its epoch is the writer's. Every append is one statement that locks the lease row
// (FOR SHARE), checks that its epoch is the one carried and unexpired, inserts the events and
// notifies followers; a deposed writer's append inserts nothing and is refused (StaleEpoch).
// Taking the lease over updates that row, so it waits for an append in flight, and an append
// that starts after it sees the new epoch. Followers wait for appends with LISTEN/NOTIFY.

import { hostname } from 'node:os';
import { escapeIdentifier, Pool, type PoolClient, type PoolConfig } from 'pg';
import { orderIdOf, upcast, type Event, type Stamped } from '../core/events.js';
import { AppendWaiters } from './append-waiters.js';
import { PostgresAuthStore } from './auth-postgres.js';
import type { AuthStore } from './auth-store.js';
import { Lease, LEASE_TTL_MS_DEFAULT, readLease, type LeaseRow } from './postgres-lease.js';
import { PgListener } from './postgres-listener.js';
import { SNAPSHOTS_KEPT, StaleEpoch, type JournalStore, type SnapshotRecord, type StepLog } from './types.js';

/**
 * Append-only: never edit an entry that may have shipped, add a new one. Entry i is version
 * i + 1 in the schema's `migrations` table; each runs with the journal's schema first on the
 * search path, so names are unqualified. src/journal/postgres-schema.sql shows the result of
 * all of them (a test keeps it in step).
 */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE events (
  seq bigint PRIMARY KEY,
  order_id text,
  body text NOT NULL
);
CREATE INDEX events_order_id ON events (order_id, seq) WHERE order_id IS NOT NULL;

CREATE TABLE snapshots (
  seq bigint PRIMARY KEY,
  at bigint NOT NULL,
  state text NOT NULL
);

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

CREATE TABLE meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE leases (
  name text PRIMARY KEY,
  epoch bigint NOT NULL CHECK (epoch > 0),
  node text NOT NULL,
  holder text,
  since timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);

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
`,
  `
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

CREATE TABLE commands (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  answer text,
  answered_at timestamptz
);
CREATE INDEX commands_open ON commands (id) WHERE answer IS NULL;
`,
];

/** The lease whose holder writes the journal. */
export const CONTROLLER_LEASE = 'controller';
export const SCHEMA_DEFAULT = 'orderly';
/** Lower case letters, digits and _, not starting with a digit; short enough for its notification channels (63 bytes). */
const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;
export const NODE_NAME_BYTES_MAX = 128;
export const POOL_SIZE_DEFAULT = 10;
export const POOL_SIZE_MAX = 100;
/** The meta key that `checkWritable` writes. */
const WRITE_CHECK_KEY = 'writeCheckAt';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database (libpq's URL form, as node-postgres reads it). */
  connectionString: string;
  /** The schema holding this journal's tables (created if missing). Default `orderly`. */
  schema?: string;
  /** This node's name, shown as the controller while it writes. Default: the host name. */
  node?: string;
  /** The controller lease's time to live (ms); a lost writer is replaced after at most this. Default 8,000. */
  leaseMs?: number;
  /** Connections in the pool (besides the one that listens and the writer's one for appends). Default 10. */
  poolSize?: number;
}

/** The writer's lease as the database holds it: who writes, since when, with which epoch. */
export interface ControllerInfo {
  node: string;
  epoch: number;
  /** When it took the lease (ms since 1970, the database's clock). */
  since: number;
  /** Its last renewal (ms since 1970, the database's clock). */
  renewedAt: number;
  expiresAt: number;
  /** False once released or expired: nobody writes until a node takes it. */
  live: boolean;
}

/** An append whose epoch is current but whose lease ran out: the writer may no longer write. */
export class LeaseExpired extends StaleEpoch {
  override name = 'LeaseExpired';
  constructor(epoch: number) {
    super(epoch, epoch);
    this.message = `journal: writer epoch ${epoch} let its lease expire; this writer may write no more`;
  }
}

function validate(opts: PostgresOptions): Required<Omit<PostgresOptions, 'connectionString'>> {
  const schema = opts.schema ?? SCHEMA_DEFAULT;
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new RangeError(`postgres: schema ${JSON.stringify(schema)} must be 1 to 48 of a-z, 0-9 and _, not starting with a digit`);
  }
  const node = opts.node ?? hostname();
  if (node.length === 0 || Buffer.byteLength(node) > NODE_NAME_BYTES_MAX || /\p{Cc}/u.test(node)) {
    throw new RangeError(`postgres: node name must be 1 to ${NODE_NAME_BYTES_MAX} bytes without control characters`);
  }
  const poolSize = opts.poolSize ?? POOL_SIZE_DEFAULT;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > POOL_SIZE_MAX) {
    throw new RangeError(`postgres: poolSize must be a whole number from 1 to ${POOL_SIZE_MAX}, got ${opts.poolSize}`);
  }
  // The lease checks its own range.
  return { schema, node, poolSize, leaseMs: opts.leaseMs ?? LEASE_TTL_MS_DEFAULT };
}

/** Brings `schema` up to the newest migration; two nodes starting at once wait for each other. */
async function migrate(pool: Pool, schema: string): Promise<void> {
  const s = escapeIdentifier(schema);
  const current = async (c: Pool | PoolClient): Promise<number | undefined> => {
    const { rows } = await c.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${s}.migrations`]);
    if (!rows[0]?.t) return undefined;
    const v = await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.migrations`);
    return v.rows[0]?.v ?? 0;
  };
  const newer = (v: number): Error =>
    new Error(`postgres: schema ${schema} has version ${v}, newer than this Orderly knows (${MIGRATIONS.length})`);
  const seen = await current(pool);
  if (seen !== undefined && seen >= MIGRATIONS.length) {
    if (seen > MIGRATIONS.length) throw newer(seen);
    return;
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Transaction-scoped (pg-boss does the same): released by COMMIT or by a dropped connection.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`orderly.migrate.${schema}`]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const v = (await current(client)) ?? 0;
    if (v > MIGRATIONS.length) throw newer(v);
    await client.query(`SET LOCAL search_path TO ${s}`);
    for (let i = v; i < MIGRATIONS.length; i++) {
      await client.query(MIGRATIONS[i]!);
      await client.query('INSERT INTO migrations (version) VALUES ($1)', [i + 1]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

interface EventRow {
  seq: string;
  body: string;
}

function stamp(rows: readonly EventRow[]): Stamped[] {
  return rows.map((r) => ({ seq: Number(r.seq), event: upcast(JSON.parse(r.body)) }));
}

interface LogRow {
  order_id: string;
  execution_id: string;
  job: string;
  stdout: string;
  stderr: string;
  stdout_dropped: string;
  stderr_dropped: string;
  at: string;
}

export class PostgresStore implements JournalStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly node: string;
  /** The controller lease of this store: held while it is the journal's writer. */
  readonly lease: Lease;
  /** Users and tokens, shared by every node on the schema. */
  readonly auth: AuthStore;
  private readonly s: string;
  private readonly eventsChannel: string;
  private readonly listener: PgListener;
  private following: Promise<void> | undefined;
  /** The highest seq this store knows of (its reads, its appends, notifications). */
  private known = 0;
  private readonly waiters: AppendWaiters;
  /** Appends run one after another (the engine sends one at a time anyway). */
  private appending: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly appendSql: string;
  /** The prepared statement's name: one per schema, within PostgreSQL's 63 bytes. */
  private readonly appendName: string;

  private constructor(
    private readonly pool: Pool,
    /**
     * The appends' own connection (a pool of one, so a broken connection is replaced): an
     * append never waits in the pool's queue behind other queries (the cluster's dispatch,
     * claims and results, logs, snapshots). Opened at the first append: a stand-by never does.
     */
    private readonly appendPool: Pool,
    config: PoolConfig,
    o: Required<Omit<PostgresOptions, 'connectionString'>>,
  ) {
    this.schema = o.schema;
    this.node = o.node;
    this.s = escapeIdentifier(o.schema);
    this.eventsChannel = `${o.schema}.events`;
    this.listener = new PgListener({ ...config, application_name: `orderly:listen:${o.schema}` });
    this.listener.onReconnect(() => void this.lastSeq().catch(() => undefined));
    this.waiters = new AppendWaiters(() => this.known);
    this.auth = new PostgresAuthStore(pool, this.s, `${o.schema}.auth`, this.listener);
    this.lease = new Lease({
      pool,
      schemaSql: this.s,
      channel: `${o.schema}.leases`,
      name: CONTROLLER_LEASE,
      node: o.node,
      ttlMs: o.leaseMs,
      listener: this.listener,
    });
    // One statement, so one transaction and one round trip. `w` locks the lease row: a
    // take-over waits for this append, and this append, if it waits for a take-over, reads the
    // new row (READ COMMITTED re-reads a locked row that changed). `last` is read in the
    // statement's snapshot; the writer's own appends run one at a time, so it holds them all.
    this.appendName = `orderly_append_${o.schema}`;
    this.appendSql = `
      WITH w AS (
        SELECT epoch, expires_at > now() AS live FROM ${this.s}.leases WHERE name = '${CONTROLLER_LEASE}' FOR SHARE
      ), last AS (
        SELECT coalesce((SELECT seq FROM ${this.s}.events ORDER BY seq DESC LIMIT 1), 0) AS seq
      ), ins AS (
        INSERT INTO ${this.s}.events (seq, order_id, body)
        SELECT last.seq + e.i, e.order_id, e.body
        FROM w, last, unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(order_id, body, i)
        WHERE w.epoch = $1 AND w.live
        RETURNING 1
      ), note AS (
        SELECT pg_notify($4, (last.seq + $5)::text) FROM w, last WHERE w.epoch = $1 AND w.live AND $5 > 0
      )
      SELECT (SELECT epoch FROM w) AS epoch, (SELECT live FROM w) AS live, (SELECT seq FROM last) AS last,
        (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM note) AS noted`;
  }

  /** Connects, creates or migrates the schema, and returns the store. Does not take the writer's lease. */
  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const o = validate(opts);
    const config: PoolConfig = {
      connectionString: opts.connectionString,
      max: o.poolSize,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      application_name: `orderly:${o.schema}`,
    };
    const pool = new Pool(config);
    // An idle connection that breaks is dropped by the pool; the next query opens another.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, o.schema);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    const { max: _max, ...listenerConfig } = config;
    const appendPool = new Pool({ ...listenerConfig, max: 1, application_name: `orderly:append:${o.schema}` });
    appendPool.on('error', () => undefined);
    return new PostgresStore(pool, appendPool, listenerConfig, o);
  }

  /** The pool, the listening connection and the schema (quoted for SQL): the cluster's tables live beside the journal's. */
  get shared(): { pool: Pool; listener: PgListener; schemaSql: string } {
    return { pool: this.pool, listener: this.listener, schemaSql: this.s };
  }

  /** Waits until this store holds the controller lease (it renews it from then on); returns its epoch. */
  async acquireWriter(): Promise<number> {
    this.check();
    return this.lease.acquire();
  }

  async append(events: readonly Event[], epoch: number): Promise<number> {
    this.check();
    // Serialized before anything is sent, so a bad event leaves the journal untouched.
    const bodies = events.map((e) => JSON.stringify(e));
    const orderIds = events.map((e) => orderIdOf(e) ?? null);
    const run = this.appending.then(() => this.appendNow(bodies, orderIds, epoch));
    this.appending = run.catch(() => undefined);
    return await run;
  }

  private async appendNow(bodies: string[], orderIds: (string | null)[], epoch: number): Promise<number> {
    this.check();
    // A named statement: each connection plans it once (planning the CTE took longer than
    // running it), then only binds and executes it.
    const { rows } = await this.appendPool.query<{ epoch: string | null; live: boolean | null; last: string; inserted: string }>({
      name: this.appendName,
      text: this.appendSql,
      values: [epoch, orderIds, bodies, this.eventsChannel, bodies.length],
    });
    const r = rows[0]!;
    const current = r.epoch === null ? 0 : Number(r.epoch);
    if (current !== epoch) throw new StaleEpoch(epoch, current);
    if (!r.live) throw new LeaseExpired(epoch);
    if (Number(r.inserted) !== bodies.length) throw new Error(`journal: append inserted ${r.inserted} of ${bodies.length} events`);
    const first = Number(r.last) + 1;
    this.seen(first + bodies.length - 1);
    return first;
  }

  async readAfter(afterSeq: number, limit: number): Promise<Stamped[]> {
    this.check();
    if (!(limit > 0)) return [];
    const { rows } = await this.pool.query<EventRow>(`SELECT seq, body FROM ${this.s}.events WHERE seq > $1 ORDER BY seq LIMIT $2`, [
      Math.max(0, afterSeq),
      limit,
    ]);
    const out = stamp(rows);
    if (out.length > 0) this.seen(out.at(-1)!.seq);
    return out;
  }

  async waitForAppend(afterSeq: number, timeoutMs: number): Promise<number> {
    this.check();
    // LISTEN first, then read: an append after the read is notified, one before it is read.
    this.following ??= this.listener.listen(this.eventsChannel, (payload) => {
      const seq = Number(payload);
      if (Number.isSafeInteger(seq)) this.seen(seq);
    });
    try {
      await this.following;
    } catch (err) {
      this.following = undefined;
      throw err;
    }
    await this.lastSeq();
    return this.waiters.wait(afterSeq, timeoutMs);
  }

  async readOrder(orderId: string, limit: number): Promise<Stamped[]> {
    this.check();
    if (!(limit > 0)) return [];
    const { rows } = await this.pool.query<EventRow>(
      `SELECT seq, body FROM (
         SELECT seq, body FROM ${this.s}.events WHERE order_id = $1 ORDER BY seq DESC LIMIT $2
       ) newest ORDER BY seq`,
      [orderId, limit],
    );
    return stamp(rows);
  }

  async lastSeq(): Promise<number> {
    this.check();
    const { rows } = await this.pool.query<{ seq: string }>(`SELECT coalesce(max(seq), 0) AS seq FROM ${this.s}.events`);
    const seq = Number(rows[0]!.seq);
    this.seen(seq);
    return seq;
  }

  async saveSnapshot(snapshot: SnapshotRecord): Promise<void> {
    this.check();
    // The delete does not see the row inserted by the same statement: `ins` adds it.
    await this.pool.query(
      `WITH ins AS (
         INSERT INTO ${this.s}.snapshots (seq, at, state) VALUES ($1, $2, $3)
         ON CONFLICT (seq) DO UPDATE SET at = excluded.at, state = excluded.state
         RETURNING seq
       )
       DELETE FROM ${this.s}.snapshots WHERE seq < (
         SELECT min(seq) FROM (
           SELECT seq FROM (SELECT seq FROM ${this.s}.snapshots UNION SELECT seq FROM ins) s ORDER BY seq DESC LIMIT $4
         ) kept
       )`,
      [snapshot.seq, snapshot.at, snapshot.state, SNAPSHOTS_KEPT],
    );
  }

  async loadSnapshot(): Promise<SnapshotRecord | undefined> {
    this.check();
    const { rows } = await this.pool.query<{ seq: string; at: string; state: string }>(
      `SELECT seq, at, state FROM ${this.s}.snapshots ORDER BY seq DESC LIMIT 1`,
    );
    const r = rows[0];
    return r && { seq: Number(r.seq), state: r.state, at: Number(r.at) };
  }

  async putLog(log: StepLog): Promise<void> {
    this.check();
    await this.pool.query(
      `INSERT INTO ${this.s}.step_logs (order_id, execution_id, job, stdout, stderr, stdout_dropped, stderr_dropped, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [log.orderId, log.executionId, log.job, log.stdout, log.stderr, log.stdoutDroppedBytes, log.stderrDroppedBytes, log.at],
    );
  }

  async getLogs(orderId: string): Promise<StepLog[]> {
    this.check();
    const { rows } = await this.pool.query<LogRow>(
      `SELECT order_id, execution_id, job, stdout, stderr, stdout_dropped, stderr_dropped, at
       FROM ${this.s}.step_logs WHERE order_id = $1 ORDER BY id`,
      [orderId],
    );
    return rows.map((r) => ({
      orderId: r.order_id,
      executionId: r.execution_id,
      job: r.job,
      stdout: r.stdout,
      stderr: r.stderr,
      stdoutDroppedBytes: Number(r.stdout_dropped),
      stderrDroppedBytes: Number(r.stderr_dropped),
      at: Number(r.at),
    }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    this.check();
    const { rows } = await this.pool.query<{ value: string }>(`SELECT value FROM ${this.s}.meta WHERE key = $1`, [key]);
    return rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.check();
    await this.pool.query(
      `INSERT INTO ${this.s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [key, value],
    );
  }

  async checkWritable(): Promise<void> {
    await this.setMeta(WRITE_CHECK_KEY, String(Date.now()));
  }

  /** The controller lease as the database holds it, or undefined before any node took it. */
  async controller(): Promise<ControllerInfo | undefined> {
    this.check();
    const row: LeaseRow | undefined = await readLease(this.pool, this.s, CONTROLLER_LEASE);
    return (
      row && {
        node: row.node,
        epoch: row.epoch,
        since: row.since,
        renewedAt: row.renewedAt,
        expiresAt: row.expiresAt,
        live: row.holder !== undefined && row.expiresInMs > 0,
      }
    );
  }

  /** Gives up the controller lease (a stand-by takes over at once), stops following, disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.close(this.known);
    // Appends in flight first: the lease is released after them.
    await this.appending;
    await this.lease.close().catch(() => undefined);
    await this.listener.close();
    await Promise.all([this.pool.end(), this.appendPool.end()]);
  }

  private seen(seq: number): void {
    if (seq <= this.known) return;
    this.known = seq;
    this.waiters.appended(seq);
  }

  private check(): void {
    if (this.closed) throw new Error(`journal: PostgreSQL store (schema ${this.schema}) is closed`);
  }
}
