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
// A controller that loses its lease (not renewed in time: the database was out of reach, or
// the process stalled) stops at once: it kills its running jobs before another node can be
// granted their locks, and the engine fails (`onFatal`; `orderly serve` exits with 1, to be
// restarted by its supervisor, and comes back as a stand-by).

import { randomUUID } from 'node:crypto';
import { CommandForwarder, CommandServer } from '../cluster/commands.js';
import type { PostgresStore } from '../journal/postgres.js';
import type { JournalStore } from '../journal/types.js';
import { LocalDispatcher, LocalWorker } from '../runtime/dispatcher.js';
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
  afterClose?: () => void | Promise<void>;
}

export interface ClusterNode {
  orderly: Orderly;
  /** Resolves once this node is the controller (at once when it was from the start). */
  readonly controlling: Promise<void>;
  /** Stops waiting for the lease and answering commands (the engine is closed by its owner). */
  close(): Promise<void>;
}

/** Starts this process as a node of the cluster whose journal `pg` is; `store` is `pg`, maybe wrapped (metrics). */
export async function startClusterNode(pg: PostgresStore, store: JournalStore, opts: ClusterNodeStart): Promise<ClusterNode> {
  const { pool, listener, schemaSql } = pg.shared;
  const tables = { pool, listener, schemaSql, schema: pg.schema, node: pg.node };
  // Job processes carry this mark: a restarted node kills what its former life left running,
  // and nothing of another node on the same machine.
  const mark = `cluster:${pg.schema}:${pg.node}`;
  await killOrphans(mark);
  const { scriptDir, afterClose, slots, logBytesMax, jobLauncher, agents: _agents, ...run } = opts;
  const functions = new FunctionExecutor(logBytesMax !== undefined ? { logBytesMax } : {});
  const shellOpts: ConstructorParameters<typeof ShellExecutor>[0] = { scriptDir, engineId: mark };
  if (logBytesMax !== undefined) shellOpts.logBytesMax = logBytesMax;
  const shell = jobLauncher === 'inline' ? new ShellExecutor(shellOpts) : new LauncherShellExecutor(shellOpts);
  // The worker of this life of the node: a new id each start.
  const worker = new LocalWorker(`${pg.node}:${randomUUID().slice(0, 8)}`, slots ?? 4, shell, functions);
  const dispatcher = new LocalDispatcher(worker);

  const forwarder = new CommandForwarder(tables);
  let server: CommandServer | undefined;
  let closed = false;
  const first = await pg.lease.tryAcquire();
  const leading = 'epoch' in first;
  const base = { ...run, ...(slots !== undefined ? { slots } : {}), ...(logBytesMax !== undefined ? { logBytesMax } : {}), store, scriptDir, dispatcher, functions };
  const orderly = await Orderly.start({
    ...base,
    ...(leading ? {} : { follow: forwarder.send }),
    afterClose: async () => {
      forwarder.close();
      await afterClose?.();
    },
  });

  // A lost lease: nothing more is written, and the jobs die before their locks can go elsewhere.
  pg.lease.onLost((err) => {
    orderly.engine.fail(err);
    orderly.engine.killRunning();
  });

  const serve = async (): Promise<void> => {
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
  if (leading) await controlling;

  return {
    orderly,
    controlling,
    async close() {
      closed = true;
      forwarder.close();
      await server?.close();
    },
  };
}

/** The nodes whose heartbeat is alive (the database's clock), for the cluster view. */
export async function liveNodeRows(pg: PostgresStore): Promise<NodeRowView[]> {
  const { pool, schemaSql } = pg.shared;
  const { rows } = await pool.query<{ name: string; worker_id: string; agents: string[] | null; slots: number; last_seen: number }>(
    `SELECT name, worker_id, agents, slots, (extract(epoch FROM last_seen) * 1000)::float8 AS last_seen
     FROM ${schemaSql}.nodes WHERE NOT stopped AND expires_at > now() ORDER BY name`,
  );
  return rows.map((r) => ({ name: r.name, workerId: r.worker_id, agents: r.agents ?? undefined, slots: r.slots, lastSeen: Math.round(Number(r.last_seen)) }));
}
