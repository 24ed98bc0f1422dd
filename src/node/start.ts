// The node start-up: the one way an Orderly engine starts. `createOrderly` (the library),
// `orderly serve`, `orderly run` and a CLI command's short-lived engine all come here.
//
//   1. the data dir: its paths; refuse when an engine answers on its control socket
//   2. the writer lock (engine.pid): one writer per data dir, whoever it is, also within
//      this process (a second open of a data dir not closed yet is refused)
//   3. the journal store: the data dir's SQLite journal, or PostgreSQL (`database`: the engine
//      waits for the controller lease, and stops writing when it loses it), or one given, or
//      memory
//   4. the engine: recovery of what a crash left, the local worker and its executors,
//      the scheduler (Orderly.start)
//   5. `onEngine`: what the caller does before anyone else can reach the engine (deploy)
//   6. HTTP (optional): the server's app builder, auth bootstrap, listen
//   7. the control socket (optional): the CLI's way in
//
// Close runs it backwards: HTTP, socket, engine (and its store), then the writer lock.
// The server and the runtime know nothing of this module; it sits above both. The HTTP
// parts are loaded only when HTTP is asked for, so the library and the CLI do not load them.

import { mkdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { invalid } from '../core/commands.js';
import { MemoryStore } from '../journal/memory.js';
import { SqliteStore, SYNCHRONOUS_SETTINGS } from '../journal/sqlite.js';
import type { JournalStore } from '../journal/types.js';
import { Orderly, OrderlyError, type EngineRunOptions } from '../runtime/orderly.js';
import type { AuthService } from '../server/auth.js';
import { clusterView, embeddedCluster, packageVersion, type ClusterSource } from '../server/context.js';
import { probeEngine } from './control-client.js';
import { startControlServer, type ControlServer, type StatusInfo } from './control.js';
import { acquireWriterLock, dataDirPaths, DataDirBusy, refuseIfOpenHere, socketAddress, type DataDirPaths } from './data-dir.js';
// The cluster's part (and with it the PostgreSQL client) is loaded only for a node on PostgreSQL.
import type { ClusterNode } from './cluster.js';
import { AGENT_NAME_LENGTH_MAX, AGENTS_PER_NODE_MAX } from './protocol.js';

/** How long a start waits for a writer lock held by a process that is about to let go. */
export const LOCK_WAIT_MS = 2_000;

export interface HttpOptions {
  /** 0: any free port (the real one is in the result). */
  port: number;
  host: string;
  /** The admin token to accept (its hash is stored); none: one is generated when no admin exists. */
  adminToken?: string;
  /** Fastify's request log. */
  logger?: boolean;
  bodyLimitBytes?: number;
  heartbeatMs?: number;
  /** Routes added before listening (the end-to-end test clock). */
  extraRoutes?: (app: FastifyInstance, orderly: Orderly) => void;
}

/** The journal on PostgreSQL (docs/cluster.md). */
export interface DatabaseOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** This node's name, shown as the controller while it writes. Default: the host name. */
  nodeName?: string;
  /** The controller lease's time in seconds (0.2 to 600, whole milliseconds): a lost controller is replaced after at most this. Default 8. */
  leaseSeconds?: number;
  /** The schema holding the journal's tables (created if missing). Default `orderly`. */
  schema?: string;
  /**
   * The agents whose jobs this node runs (a job's `agentName`), besides the jobs of no agent.
   * None: any agent that no node names (docs/cluster.md).
   */
  agents?: string[];
  /**
   * Early starts (docs/decisions.md): a job marked `restartable` that runs on this node when it
   * is the controller starts before the commit of its start, so that one commit carries several
   * handoffs of a lock. If that commit is lost (the controller dies first), the job ran though
   * the journal does not say so, and it runs again. Default false: every start is committed first.
   */
  earlyStarts?: boolean;
}

export interface NodeOptions extends EngineRunOptions {
  /** The data dir (created if missing): journal, writer lock, control socket. Absent: memory. */
  dataDir?: string;
  /** A journal store of your own (overrides the data dir's SQLite journal). */
  store?: JournalStore;
  /** The journal on PostgreSQL instead of the data dir's SQLite journal. */
  database?: DatabaseOptions;
  /** SQLite `synchronous` of the data dir's journal: FULL (default), NORMAL or OFF. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** How long to wait for a writer lock that is about to be let go (default LOCK_WAIT_MS). */
  lockWaitMs?: number;
  /** Open the control socket in the data dir (default false). */
  controlSocket?: boolean;
  /** Serve the HTTP API (default: no). */
  http?: HttpOptions;
  /**
   * Called once the engine runs, before HTTP and the control socket open (deploy here).
   * `seqBefore`: the journal's last sequence number before the engine's recovery.
   */
  onEngine?: (orderly: Orderly, started: { seqBefore: number }) => void | Promise<void>;
}

export interface HttpServing {
  app: FastifyInstance;
  auth: AuthService;
  host: string;
  port: number;
  /** http://host:port */
  url: string;
  /** The admin token generated at this start (no admin existed): to print once. */
  adminToken?: string;
}

export interface OrderlyNode {
  orderly: Orderly;
  /** The data dir's files (absent in memory). */
  paths?: DataDirPaths;
  startedAt: number;
  /** The journal's last sequence number before the engine started (its recovery follows it). */
  seqBefore: number;
  http?: HttpServing;
  /** The control socket's path, when it is open. */
  controlSocket?: string;
  /** On PostgreSQL: resolves once this node is the cluster's controller (at once when it was from the start). */
  controlling?: Promise<void>;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Problems with the options, before anything is created. */
function checkOptions(opts: NodeOptions): void {
  const problems = Orderly.checkOptions(opts);
  if (opts.synchronous !== undefined && !SYNCHRONOUS_SETTINGS.includes(opts.synchronous)) {
    problems.unshift({ path: 'synchronous', message: `must be one of ${SYNCHRONOUS_SETTINGS.join(', ')}` });
  }
  if (opts.controlSocket === true && opts.dataDir === undefined) problems.push({ path: 'controlSocket', message: 'needs a dataDir' });
  const db = opts.database;
  if (db !== undefined) {
    if (opts.store !== undefined) problems.push({ path: 'database', message: 'give either database or store, not both' });
    if (opts.synchronous !== undefined) problems.push({ path: 'synchronous', message: 'is a setting of the SQLite journal, not of database' });
    if (typeof db !== 'object' || db === null) problems.push({ path: 'database', message: 'must be a postgres:// URL or { url, nodeName?, leaseSeconds?, schema? }' });
    else {
      if (typeof db.url !== 'string' || !/^postgres(ql)?:\/\//.test(db.url)) problems.push({ path: 'database.url', message: 'must be a postgres:// or postgresql:// URL' });
      if (db.nodeName !== undefined && (typeof db.nodeName !== 'string' || db.nodeName === '')) problems.push({ path: 'database.nodeName', message: 'must be a non-empty string' });
      if (db.schema !== undefined && (typeof db.schema !== 'string' || db.schema === '')) problems.push({ path: 'database.schema', message: 'must be a non-empty string' });
      if (db.agents !== undefined) {
        const a = db.agents;
        if (!Array.isArray(a) || a.length > AGENTS_PER_NODE_MAX) problems.push({ path: 'database.agents', message: `must be a list of at most ${AGENTS_PER_NODE_MAX} agent names` });
        else {
          a.forEach((n, i) => {
            if (typeof n !== 'string' || n === '' || n.length > AGENT_NAME_LENGTH_MAX || /\p{Cc}/u.test(n)) {
              problems.push({ path: `database.agents[${i}]`, message: `must be 1 to ${AGENT_NAME_LENGTH_MAX} characters without control characters` });
            }
          });
          if (new Set(a).size !== a.length) problems.push({ path: 'database.agents', message: 'names an agent twice' });
        }
      }
      if (db.earlyStarts !== undefined && typeof db.earlyStarts !== 'boolean') problems.push({ path: 'database.earlyStarts', message: 'must be true or false' });
      const l = db.leaseSeconds;
      if (l !== undefined && (typeof l !== 'number' || !Number.isFinite(l) || l < 0.2 || l > 600 || !Number.isInteger(Math.round(l * 1e6) / 1e3))) {
        problems.push({ path: 'database.leaseSeconds', message: 'must be a number of seconds from 0.2 to 600 (whole milliseconds)' });
      }
    }
  }
  if (problems.length > 0) throw new OrderlyError(invalid(problems));
}

/** Starts a node: see the top of this file. Rejects (having undone what it did) when a step fails. */
export async function startNode(opts: NodeOptions): Promise<OrderlyNode> {
  checkOptions(opts);
  const paths = opts.dataDir !== undefined ? dataDirPaths(opts.dataDir) : undefined;
  const useSocket = opts.controlSocket === true && paths !== undefined;

  // 1, 2: the data dir and its writer lock.
  let release: () => void = () => undefined;
  if (paths) {
    if (useSocket) socketAddress(paths.socket); // refuse a too long path before anything else
    mkdirSync(paths.dir, { recursive: true });
    refuseIfOpenHere(paths.dir); // before asking the socket: it may be our own engine's
    const running = await probeEngine(paths.socket).catch((err: unknown) => {
      throw new Error(`something answers on ${paths.socket}, but not as an Orderly engine: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (running) throw new DataDirBusy(paths.dir, running.pid);
    const letGo = await acquireWriterLock(paths.pid, opts.lockWaitMs ?? LOCK_WAIT_MS, (pid) => new DataDirBusy(paths.dir, pid));
    let held = true;
    release = () => {
      if (held) letGo();
      held = false;
    };
  }

  let orderly: Orderly | undefined;
  let store: JournalStore | undefined;
  let app: FastifyInstance | undefined;
  let control: ControlServer | undefined;
  let clusterNode: ClusterNode | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await app?.close();
        await control?.close().catch(() => undefined);
        await clusterNode?.close();
        if (orderly) await orderly.close();
        else if (store && store !== opts.store) await store.close();
      } finally {
        release();
      }
    })());

  try {
    const startedAt = Date.now();
    // 3: the journal store.
    let scriptDir: string;
    let onPostgres: import('../journal/postgres.js').PostgresStore | undefined;
    if (opts.database) {
      const db = opts.database;
      const { PostgresStore } = await import('../journal/postgres.js');
      onPostgres = await PostgresStore.open({
        connectionString: db.url,
        ...(db.schema !== undefined ? { schema: db.schema } : {}),
        ...(db.nodeName !== undefined ? { node: db.nodeName } : {}),
        ...(db.leaseSeconds !== undefined ? { leaseMs: Math.round(db.leaseSeconds * 1000) } : {}),
      });
    }
    if (paths) {
      scriptDir = join(paths.dir, 'scripts');
      store =
        opts.store ??
        onPostgres ??
        SqliteStore.open(paths.journal, {
          checkpoint: 'worker',
          ...(opts.synchronous ? { synchronous: opts.synchronous } : {}),
          ...(opts.snapshotEveryEvents !== undefined ? { snapshotEveryEvents: opts.snapshotEveryEvents } : {}),
        });
    } else {
      scriptDir = join(tmpdir(), `orderly-scripts-${process.pid}`);
      store = opts.store ?? onPostgres ?? new MemoryStore();
    }
    let metrics: import('../server/metrics.js').ServerMetrics | undefined;
    if (opts.http) {
      const m = await import('../server/metrics.js');
      metrics = new m.ServerMetrics();
      store = m.timeCommits(store, metrics.observeCommit);
    }
    const seqBefore = await store.lastSeq();

    // 4: the engine, its recovery, its worker and executors, the scheduler. The lock is let
    // go once the engine (and its store) closed, however it is closed.
    const run: EngineRunOptions = {};
    for (const k of ['slots', 'endedOrdersKeptMax', 'snapshotEveryEvents', 'logBytesMax', 'clock', 'jobLauncher', 'onFatal', 'autoSchedule'] as const) {
      if (opts[k] !== undefined) (run as Record<string, unknown>)[k] = opts[k];
    }
    let o: Orderly;
    let liveNodeRows: typeof import('./cluster.js').liveNodeRows | undefined;
    if (onPostgres) {
      const c = await import('./cluster.js');
      liveNodeRows = c.liveNodeRows;
      clusterNode = await c.startClusterNode(onPostgres, store, {
        ...run,
        scriptDir,
        afterClose: () => release(),
        ...(opts.database?.agents !== undefined ? { agents: opts.database.agents } : {}),
        ...(opts.database?.earlyStarts === true ? { earlyStarts: true } : {}),
      });
      o = clusterNode.orderly;
    } else o = await Orderly.start({ ...run, store, scriptDir, afterClose: () => release() });
    orderly = o;

    // 5: the caller's part, before anyone else can reach the engine.
    await opts.onEngine?.(o, { seqBefore });

    const node: OrderlyNode = { orderly: o, startedAt, seqBefore, close };
    if (clusterNode) node.controlling = clusterNode.controlling;
    // Who writes the journal, for GET /api/v1/cluster and the control socket's /cluster.
    const pg = onPostgres;
    const rows = liveNodeRows;
    const cluster: ClusterSource =
      pg && rows
        ? {
            node: pg.node,
            controller: async () => {
              const c = await pg.controller();
              return c && { node: c.node, epoch: c.epoch, since: c.since, lastSeen: c.renewedAt, live: c.live };
            },
            nodes: () => rows(pg),
          }
        : embeddedCluster(hostname(), startedAt);
    if (paths) node.paths = paths;

    // 6: HTTP.
    if (opts.http) {
      const h = opts.http;
      const [{ buildServer }, { AuthService }] = await Promise.all([import('../server/app.js'), import('../server/auth.js')]);
      const auth = await AuthService.open(o.engine.store);
      const boot = await auth.bootstrap(h.adminToken);
      app = buildServer({
        orderly: o,
        auth,
        cluster,
        metrics: metrics!,
        ...(h.logger !== undefined ? { logger: h.logger } : {}),
        ...(h.bodyLimitBytes !== undefined ? { bodyLimitBytes: h.bodyLimitBytes } : {}),
        ...(h.heartbeatMs !== undefined ? { heartbeatMs: h.heartbeatMs } : {}),
      });
      h.extraRoutes?.(app, o);
      await app.listen({ port: h.port, host: h.host });
      const address = app.server.address() as AddressInfo;
      node.http = { app, auth, host: h.host, port: address.port, url: `http://${hostForUrl(h.host)}:${address.port}` };
      if (boot.token !== undefined) node.http.adminToken = boot.token;
    }

    // 7: the control socket.
    if (useSocket && paths) {
      const status = (): StatusInfo => ({ pid: process.pid, dataDir: paths.dir, startedAt, version: packageVersion() });
      // We hold the writer lock: a socket file nobody answered on is stale.
      rmSync(paths.socket, { force: true });
      control = await startControlServer(o, socketAddress(paths.socket), status, () => clusterView({ orderly: o, cluster }));
      node.controlSocket = paths.socket;
    }
    return node;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
