// What the route modules share: the typed Fastify instance, the engine, auth and metrics.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';

import { EMBEDDED_EPOCH } from '../journal/types.js';
import type { Orderly } from '../runtime/orderly.js';
import type { AuthService, Principal, Role } from './auth.js';
import type { ServerMetrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role that may call the route (default viewer). */
    role?: Role;
    /** Answers without a token (health, login). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Who writes the journal, as the journal's store knows it (docs/cluster.md). */
export interface ControllerView {
  node: string;
  epoch: number;
  /** When it became the controller (ms since 1970). */
  since: number;
  /** When it was last known alive (ms since 1970): the lease's last renewal on PostgreSQL. */
  lastSeen: number;
  /** False once its lease was released or ran out. */
  live: boolean;
}

/** A node of a cluster as its heartbeat row says. */
export interface NodeRowView {
  name: string;
  /** The worker of the node's current life. */
  workerId: string;
  /** The agents it serves; undefined: none named (it runs the jobs of agents nobody serves). */
  agents: string[] | undefined;
  slots: number;
  /** Its last heartbeat (ms since 1970, the database's clock). */
  lastSeen: number;
}

/** The cluster as this node sees it: its own name and the journal's controller. */
export interface ClusterSource {
  /** This node's name. */
  node: string;
  /** The controller; undefined before any node took the lease. */
  controller(): Promise<ControllerView | undefined>;
  /** The nodes alive now (a cluster's heartbeats); absent: this node only. */
  nodes?(): Promise<NodeRowView[]>;
}

/** An embedded journal (SQLite, memory): this node is the controller, its one writer, since it started. */
export function embeddedCluster(node: string, since: number): ClusterSource {
  return { node, controller: async () => ({ node, epoch: EMBEDDED_EPOCH, since, lastSeen: Date.now(), live: true }) };
}

/** GET /api/v1/cluster, `orderly cluster`. */
export interface ClusterAnswer {
  controller: { node: string; epoch: number; since: number } | null;
  nodes: { name: string; role: 'controller' | 'standby'; agents: string[]; slots: number; running: number; lastSeen: number }[];
}

/**
 * The cluster as this node sees it: the controller as the store knows it, and this node with
 * its workers (agents), their slots and the executions running on them. A node is `standby`
 * when it does not hold the controller lease (it lost it: its engine stopped writing).
 */
export async function clusterView(ctx: { orderly: Orderly; cluster: ClusterSource }): Promise<ClusterAnswer> {
  const [c, rows] = await Promise.all([ctx.cluster.controller(), ctx.cluster.nodes?.()]);
  const engine = ctx.orderly.engine;
  const controller = c ? { node: c.node, epoch: c.epoch, since: c.since } : null;
  if (rows && rows.length > 0) {
    // Every node alive, by its heartbeat; what runs where as the (followed) journal says.
    const nodes = rows.map((r) => ({
      name: r.name,
      role: c !== undefined && c.live && c.node === r.name ? ('controller' as const) : ('standby' as const),
      agents: r.agents ?? [],
      slots: r.slots,
      running: engine.state.workers.get(r.workerId)?.running.size ?? 0,
      lastSeen: r.lastSeen,
    }));
    return { controller, nodes: nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  }
  // This node alone (embedded, or before any heartbeat): its workers as the engine knows them.
  let slots = 0;
  let running = 0;
  for (const w of engine.state.workers.values()) {
    slots += w.slots;
    running += w.running.size;
  }
  const isController = c !== undefined && c.live && c.node === ctx.cluster.node && c.epoch === engine.epoch;
  return {
    controller,
    nodes: [{ name: ctx.cluster.node, role: isController ? 'controller' : 'standby', agents: [], slots, running, lastSeen: isController ? c.lastSeen : Date.now() }],
  };
}

export interface ServerContext {
  orderly: Orderly;
  cluster: ClusterSource;
  auth: AuthService;
  metrics: ServerMetrics;
  version: string;
  startedAt: number;
  /** SSE heartbeat period (ms). */
  heartbeatMs: number;
  /** Open event streams, ended when the server closes. */
  streams: Set<{ end(): void }>;
}

let cachedVersion: string | undefined;

/** The package version (package.json two folders up, from src/server or dist/server). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}
