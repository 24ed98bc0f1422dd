// A cluster node: one of several Orderly processes on one PostgreSQL journal (docs/cluster.md).
//
// Every node starts the same way. It tries the controller lease once: if it is free, this node
// is the controller before the start returns (a single node on PostgreSQL is simply a cluster
// of one). Otherwise it follows the journal (Engine `following`): its API reads its own
// followed state and sends commands to the controller through the `commands` table, and it
// waits for the lease in the background. When the controller is lost, the lease expires and
// one stand-by takes it: it reads the rest of the journal, recovers, fires the schedules and
// answers the commands the others send (src/cluster/commands.ts).
//
// Every node also runs a worker (src/cluster/): its heartbeat row says it is alive, with its
// slots, agents and functions; the controller's dispatcher runs its own executions in this
// process and writes the others' into `executions`, where their node's ClusterWorker claims them
// and reports the outcome in the same row.
//
// A controller that loses its lease (not renewed in time: the database was out of reach, or
// the process stalled) stops at once: it kills its running jobs before another node can be
// granted their locks, and the engine fails (`onFatal`; `orderly serve` exits with 1, to be
// restarted by its supervisor, and comes back as a stand-by). A node whose heartbeat is lost
// does the same: the controller reports its worker lost once the heartbeat expires, and its
// jobs must be dead by then.

import { randomUUID } from 'node:crypto';
import { CommandForwarder, CommandServer } from '../cluster/commands.js';
import { ClusterDispatcher } from '../cluster/dispatcher.js';
import { NodeHeartbeat, readLiveNodes } from '../cluster/heartbeat.js';
import { ClusterWorker } from '../cluster/worker.js';
import { LIMITS } from '../core/model.js';
import type { PostgresStore } from '../journal/postgres.js';
import type { JournalStore } from '../journal/types.js';
import { LocalWorker } from '../runtime/dispatcher.js';
import { FunctionExecutor } from '../runtime/function-executor.js';
import { LauncherShellExecutor } from '../runtime/launcher-client.js';
import { Orderly, type EngineRunOptions } from '../runtime/orderly.js';
import { killOrphans } from '../runtime/orphans.js';
import { ShellExecutor } from '../runtime/shell-executor.js';
import type { NodeRowView } from '../server/context.js';

export interface ClusterNodeStart extends EngineRunOptions {
  scriptDir: string;
  /** The agents whose jobs this node's worker runs (undefined: a catch-all worker). */
  agents?: string[];
  /** Early starts while this node is the controller (DatabaseOptions.earlyStarts). */
  earlyStarts?: boolean;
  afterClose?: () => void | Promise<void>;
}

export interface ClusterNode {
  orderly: Orderly;
  /** Resolves once this node is the controller (at once when it was from the start). */
  readonly controlling: Promise<void>;
  /** This node's worker: its id (as the engine and the nodes table know it). */
  readonly workerId: string;
  /** Stops waiting for the lease, answering commands, taking work and its heartbeat (the engine is closed by its owner). */
  close(): Promise<void>;
}

/** A worker id for this life of `node`: its name made fit for a worker id, and a random part. */
export function clusterWorkerId(node: string): string {
  const name = node.replace(/[^A-Za-z0-9_.:@#-]/g, '_').slice(0, 100);
  return `${name}:${randomUUID().slice(0, 8)}`;
}

/** Starts this process as a node of the cluster whose journal `pg` is; `store` is `pg`, maybe wrapped (metrics). */
export async function startClusterNode(pg: PostgresStore, store: JournalStore, opts: ClusterNodeStart): Promise<ClusterNode> {
  const { pool, listener, schemaSql } = pg.shared;
  const tables = { pool, listener, schemaSql, schema: pg.schema, node: pg.node };
  // Job processes carry this mark: a restarted node kills what its former life left running,
  // and nothing of another node on the same machine.
  const mark = `cluster:${pg.schema}:${pg.node}`;
  await killOrphans(mark);
  const { scriptDir, afterClose, slots, logBytesMax, jobLauncher, agents, earlyStarts, ...run } = opts;
  const functions = new FunctionExecutor(logBytesMax !== undefined ? { logBytesMax } : {});
  const shellOpts: ConstructorParameters<typeof ShellExecutor>[0] = { scriptDir, engineId: mark };
  if (logBytesMax !== undefined) shellOpts.logBytesMax = logBytesMax;
  // A node killed with -9 takes its jobs along (the launcher kills them when its channel to
  // this process closes): the controller reports this node's worker lost once its heartbeat
  // expires and grants their locks to others. (`inline` jobs are this process's own children,
  // left running by a kill -9 until the node starts again.)
  const shell = jobLauncher === 'inline' ? new ShellExecutor(shellOpts) : new LauncherShellExecutor(shellOpts, { jobsDieWithEngine: true });
  // The worker of this life of the node: a new id each start. `slots` bounds this node's worker;
  // the engine's own bound is the cluster's (every worker counts its slots).
  const workerId = clusterWorkerId(pg.node);
  const worker = new LocalWorker(workerId, slots ?? 4, shell, functions);
  // The heartbeat lives as long as the lease would: a lost node's jobs are dead before its
  // worker is reported lost and their locks go elsewhere.
  const heartbeat = new NodeHeartbeat({
    pool,
    schema: pg.schema,
    node: pg.node,
    workerId,
    ...(agents !== undefined ? { agents } : {}),
    slots: worker.slots,
    functions: functions.names(),
    ttlMs: pg.lease.ttlMs,
    listener,
  });
  // A restarted node waits here until the heartbeat of its former life stopped or expired.
  await heartbeat.start();
  const dispatcher = new ClusterDispatcher({ pool, schema: pg.schema, listener, local: worker, heartbeat });
  const clusterWorker = new ClusterWorker({ pool, schema: pg.schema, listener, workerId, local: worker, store: pg, heartbeat });

  const forwarder = new CommandForwarder(tables);
  let server: CommandServer | undefined;
  let closed = false;
  let first: Awaited<ReturnType<typeof pg.lease.tryAcquire>>;
  try {
    first = await pg.lease.tryAcquire();
  } catch (err) {
    await heartbeat.stop().catch(() => undefined);
    throw err;
  }
  const leading = 'epoch' in first;
  const base = {
    ...run,
    slots: LIMITS.parallelismMax,
    ...(logBytesMax !== undefined ? { logBytesMax } : {}),
    ...(earlyStarts === true ? { earlyStarts } : {}),
    store,
    scriptDir,
    dispatcher,
    functions,
  };
  let orderly: Orderly;
  try {
    orderly = await Orderly.start({
      ...base,
      ...(leading ? {} : { follow: forwarder.send }),
      afterClose: async () => {
        forwarder.close();
        await afterClose?.();
      },
    });
  } catch (err) {
    forwarder.close();
    await heartbeat.stop().catch(() => undefined);
    throw err;
  }

  // A lost lease or heartbeat: nothing more is written or run here, and the jobs die before
  // their locks can go elsewhere.
  const stop = (err: Error): void => {
    clusterWorker.halt();
    dispatcher.stopControlling();
    orderly.engine.fail(err);
    orderly.engine.killRunning();
  };
  pg.lease.onLost(stop);
  heartbeat.onLost(stop);

  const serve = async (): Promise<void> => {
    if (closed) return;
    await dispatcher.startControlling(orderly.engine);
    if (closed) return;
    server = new CommandServer(tables, orderly.engine);
    await server.start();
  };
  const controlling = leading
    ? serve()
    : (async () => {
        const epoch = await pg.acquireWriter();
        if (closed) return;
        await orderly.promote(epoch);
        await serve();
      })();
  // Closed while waiting, or a database gone for good: the engine's owner sees the engine's mode.
  controlling.catch((err: unknown) => {
    if (!closed) orderly.engine.fail(err);
  });
  try {
    await clusterWorker.start();
    if (leading) await controlling;
  } catch (err) {
    closed = true;
    await orderly.close().catch(() => undefined);
    throw err;
  }

  return {
    orderly,
    controlling,
    workerId,
    async close() {
      if (closed) return;
      closed = true;
      forwarder.close();
      await server?.close();
      await clusterWorker.close();
      dispatcher.stopControlling();
      // Before the engine closes the store's pool: the row is marked stopped, and the controller
      // reports this worker lost at once instead of after its expiry.
      await heartbeat.stop().catch(() => undefined);
    },
  };
}

/** The nodes whose heartbeat is alive (the database's clock), for the cluster view. */
export async function liveNodeRows(pg: PostgresStore): Promise<NodeRowView[]> {
  const rows = await readLiveNodes(pg.shared.pool, pg.schema);
  return rows.map((r) => ({ name: r.name, workerId: r.workerId, agents: r.agents, slots: r.slots, lastSeen: Math.round(r.lastSeen) }));
}
