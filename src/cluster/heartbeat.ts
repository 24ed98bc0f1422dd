// A node's heartbeat: its row in `nodes` (its worker, the agents it serves, its slots and
// functions, its HTTP URL), renewed every ttlMs / 4 with an expiry by the database's clock.
// The controller counts a node whose row expired or stopped as gone and reports its worker
// lost; the node itself counts its heartbeat lost at ttlMs after it SENT its last successful
// renewal (its own monotonic clock, as the controller lease does: src/journal/renewal.ts),
// so it gives up — and kills its jobs — no later than the controller may take them from it.
//
// A renewal succeeds only while the row is this heartbeat's (same worker), not stopped and
// unexpired: a row that expired stays expired, since the controller may already have reported
// its worker lost. A lost heartbeat is lost for good; the node starts another life (a new
// worker id) to join again.

import { escapeIdentifier, type Pool } from 'pg';
import type { PgListener } from '../journal/postgres-listener.js';
import { Renewal } from '../journal/renewal.js';
import { clusterChannels, type ClusterChannels } from './channels.js';
import { checkAgents, checkFunctions, checkHttpUrl, checkNodeName, checkSlots, checkTtlMs, checkWorkerId } from './limits.js';

/** Live nodes read at most (a cluster is a handful of nodes). */
export const CLUSTER_NODES_MAX = 1_000;

export interface NodeHeartbeatOptions {
  pool: Pool;
  /** The journal's schema (unquoted). */
  schema: string;
  /** This node's name (the row's key). */
  node: string;
  /** The worker of this node's current life. */
  workerId: string;
  /** The agents this node serves; undefined: it runs jobs of any agent that no node serves. */
  agents?: string[] | undefined;
  slots: number;
  functions: string[];
  httpUrl?: string | undefined;
  /** Default 8,000 (the controller lease's); renewed every ttlMs / 4. */
  ttlMs?: number | undefined;
  /** Wakes `start` when a node of the same name stops, and `watch`es the nodes' changes. */
  listener?: PgListener | undefined;
}

export interface NodeRow {
  name: string;
  workerId: string;
  agents: string[] | undefined;
  slots: number;
  functions: string[];
  httpUrl: string | undefined;
  /** ms since 1970, the database's clock. */
  startedAt: number;
  lastSeen: number;
  expiresAt: number;
  /** expiresAt minus the database's now, when read (ms). */
  expiresInMs: number;
}

interface RawNode {
  name: string;
  worker_id: string;
  agents: string[] | null;
  slots: number;
  functions: string[];
  http_url: string | null;
  started_at: string;
  last_seen: string;
  expires_at: string;
  expires_in: number;
}

const ms = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8 AS ${column}`;

/** The nodes whose heartbeat is live now (unexpired by the database's clock, not stopped), by name. */
export async function readLiveNodes(pool: Pool, schema: string): Promise<NodeRow[]> {
  const { rows } = await pool.query<RawNode>(
    `SELECT name, worker_id, agents, slots, functions, http_url, ${ms('started_at')}, ${ms('last_seen')}, ${ms('expires_at')},
       (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in
     FROM ${escapeIdentifier(schema)}.nodes WHERE expires_at > now() AND NOT stopped ORDER BY name LIMIT $1`,
    [CLUSTER_NODES_MAX],
  );
  return rows.map((r) => ({
    name: r.name,
    workerId: r.worker_id,
    agents: r.agents ?? undefined,
    slots: r.slots,
    functions: r.functions,
    httpUrl: r.http_url ?? undefined,
    startedAt: Math.round(Number(r.started_at)),
    lastSeen: Math.round(Number(r.last_seen)),
    expiresAt: Math.round(Number(r.expires_at)),
    expiresInMs: Math.max(0, Math.round(Number(r.expires_in))),
  }));
}

export class HeartbeatLost extends Error {
  override name = 'HeartbeatLost';
}

export class NodeHeartbeat {
  readonly node: string;
  readonly workerId: string;
  readonly agents: string[] | undefined;
  readonly slots: number;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly channels: ClusterChannels;
  private functionList: string[];
  private readonly httpUrl: string | undefined;
  private readonly s: string;
  private readonly renewal: Renewal;
  private readonly lostHandlers = new Set<(err: HeartbeatLost) => void>();
  private state: 'new' | 'starting' | 'live' | 'lost' | 'stopped' = 'new';
  private lostError: HeartbeatLost | undefined;
  private wake: (() => void) | undefined;
  private listeningForStops: Promise<void> | undefined;
  private writingFunctions: Promise<void> = Promise.resolve();

  constructor(private readonly opts: NodeHeartbeatOptions) {
    const where = 'node heartbeat';
    this.node = checkNodeName(where, opts.node);
    this.workerId = checkWorkerId(where, opts.workerId);
    this.agents = checkAgents(where, opts.agents);
    this.slots = checkSlots(where, opts.slots);
    this.functionList = checkFunctions(where, opts.functions);
    this.httpUrl = checkHttpUrl(where, opts.httpUrl);
    this.ttlMs = checkTtlMs(where, opts.ttlMs);
    this.renewEveryMs = Math.floor(this.ttlMs / 4);
    this.s = escapeIdentifier(opts.schema);
    this.channels = clusterChannels(opts.schema);
    this.renewal = new Renewal({
      ttlMs: this.ttlMs,
      renewEveryMs: this.renewEveryMs,
      renew: () => this.renew(),
      expired: () => this.lose(`node ${this.node}: heartbeat not renewed within ${this.ttlMs} ms`),
    });
  }

  get functions(): readonly string[] {
    return this.functionList;
  }

  /** True from a successful start until it is lost or stopped. */
  get live(): boolean {
    return this.state === 'live';
  }

  get lost(): boolean {
    return this.state === 'lost';
  }

  /**
   * Writes this node's row and starts renewing it. When a live row of another life of this
   * node (another worker) is there, waits until it stops or expires (a node restarted after a
   * crash waits out its former heartbeat, so that its former jobs are reported lost first).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`node ${this.node}: heartbeat already started`);
    this.state = 'starting';
    // Listening first: a stop announced between a refused try and the wait is not missed.
    await this.listenForStops();
    for (;;) {
      const sentAt = performance.now();
      const { rows } = await this.opts.pool.query<{ expires_in: number | null; wrote: boolean }>(
        `WITH up AS (
           INSERT INTO ${this.s}.nodes AS n (name, worker_id, agents, slots, functions, http_url, started_at, last_seen, expires_at, stopped)
           VALUES ($1, $2, $3, $4, $5, $6, now(), now(), now() + $7 * interval '1 millisecond', false)
           ON CONFLICT (name) DO UPDATE SET
             worker_id = excluded.worker_id, agents = excluded.agents, slots = excluded.slots, functions = excluded.functions,
             http_url = excluded.http_url, started_at = excluded.started_at, last_seen = excluded.last_seen,
             expires_at = excluded.expires_at, stopped = false
           WHERE n.stopped OR n.expires_at <= now() OR n.worker_id = excluded.worker_id
           RETURNING name
         ), note AS (
           SELECT pg_notify($8, name) FROM up
         )
         SELECT EXISTS (SELECT 1 FROM up) AS wrote, (SELECT count(*) FROM note) AS noted,
           (SELECT (extract(epoch FROM expires_at - now()) * 1000)::float8 FROM ${this.s}.nodes WHERE name = $1) AS expires_in`,
        [this.node, this.workerId, this.agents ?? null, this.slots, this.functionList, this.httpUrl ?? null, this.ttlMs, this.channels.nodes],
      );
      const r = rows[0]!;
      if (this.state !== 'starting') {
        // Stopped while starting: a row written meanwhile is marked stopped at once.
        if (r.wrote) await this.markStopped();
        throw new Error(`node ${this.node}: heartbeat stopped while starting`);
      }
      if (r.wrote) {
        this.state = 'live';
        this.renewal.renewed(sentAt);
        return;
      }
      // Another life of this node is live: wait for its stop (notified) or its expiry (the database says when).
      const waitMs = Math.min(Math.max(Number(r.expires_in ?? 0), 0) + 20, this.ttlMs);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        this.wake = done;
      });
    }
  }

  /** Called once when the heartbeat is lost (not renewed in time, or the row is no longer this life's). Not after stop. */
  onLost(fn: (err: HeartbeatLost) => void): () => void {
    if (this.lostError) {
      const err = this.lostError;
      queueMicrotask(() => fn(err));
    }
    this.lostHandlers.add(fn);
    return () => this.lostHandlers.delete(fn);
  }

  /** Calls `fn` whenever a node joins, changes its worker or functions, or stops, and after the listener reconnects. */
  async watch(fn: () => void): Promise<void> {
    const listener = this.opts.listener;
    if (!listener) throw new Error(`node ${this.node}: the heartbeat needs a listener to watch the nodes`);
    listener.onReconnect(fn);
    await listener.listen(this.channels.nodes, () => fn());
  }

  /** The functions this node's worker runs changed (a function registered later): its row says so (announced). */
  setFunctions(functions: readonly string[]): Promise<void> {
    this.functionList = checkFunctions(`node ${this.node}`, functions);
    // One write at a time, each with the newest list: two registrations in a row never leave
    // the row with the older list (their commits could come in either order).
    const run = this.writingFunctions.then(() => this.writeFunctions());
    this.writingFunctions = run.catch(() => undefined);
    return run;
  }

  private async writeFunctions(): Promise<void> {
    if (this.state !== 'live') return;
    const fns = this.functionList;
    await this.opts.pool.query(
      `WITH u AS (
         UPDATE ${this.s}.nodes SET functions = $3
         WHERE name = $1 AND worker_id = $2 AND functions IS DISTINCT FROM $3::text[] RETURNING name
       )
       SELECT pg_notify($4, name) FROM u`,
      [this.node, this.workerId, fns, this.channels.nodes],
    );
  }

  /** The nodes whose heartbeat is live now (the database's clock). */
  liveNodes(): Promise<NodeRow[]> {
    return readLiveNodes(this.opts.pool, this.opts.schema);
  }

  /** Stops renewing and marks the row stopped (announced): the controller reports this worker lost at once. */
  async stop(): Promise<void> {
    const was = this.state;
    if (was === 'stopped') return;
    this.state = 'stopped';
    this.renewal.stop();
    this.wake?.();
    if (was === 'live' || was === 'lost') await this.markStopped();
  }

  private async markStopped(): Promise<void> {
    await this.opts.pool.query(
      `WITH u AS (
         UPDATE ${this.s}.nodes SET stopped = true, expires_at = least(expires_at, now())
         WHERE name = $1 AND worker_id = $2 RETURNING name
       )
       SELECT pg_notify($3, name) FROM u`,
      [this.node, this.workerId, this.channels.nodes],
    );
  }

  /** Renews now; false (and lost) when the row is no longer this life's, stopped or expired. */
  async renew(): Promise<boolean> {
    if (this.state !== 'live') return false;
    const sentAt = performance.now();
    const { rowCount } = await this.opts.pool.query(
      `UPDATE ${this.s}.nodes SET last_seen = now(), expires_at = now() + $3 * interval '1 millisecond'
       WHERE name = $1 AND worker_id = $2 AND NOT stopped AND expires_at > now()`,
      [this.node, this.workerId, this.ttlMs],
    );
    if (this.state !== 'live') return false;
    if (rowCount === 1) {
      this.renewal.renewed(sentAt);
      return true;
    }
    this.lose(`node ${this.node}: its heartbeat row was taken over, stopped or expired before it was renewed`);
    return false;
  }

  private lose(why: string): void {
    if (this.state !== 'live') return;
    this.state = 'lost';
    this.renewal.stop();
    const err = new HeartbeatLost(why);
    this.lostError = err;
    for (const f of this.lostHandlers) {
      try {
        f(err);
      } catch {
        // A handler's error is its own.
      }
    }
  }

  private listenForStops(): Promise<void> {
    const listener = this.opts.listener;
    if (!listener) return Promise.resolve();
    this.listeningForStops ??= listener.listen(this.channels.nodes, (name) => {
      if (name === this.node) this.wake?.();
    });
    return this.listeningForStops.catch(() => {
      this.listeningForStops = undefined;
    });
  }
}
