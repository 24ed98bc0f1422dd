// Where a workflow's orders stand: per position, how many orders are there and in what
// state, with the first few of them (waiters in line order, with their place). What the
// dashboard's Workflows view draws; one answer however many orders there are.

import { Type } from '@sinclair/typebox';

import type { Order, Position } from '../../core/model.js';
import { lockView, positionNames } from '../../runtime/views.js';
import type { Api, ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { errors, PositionSchema, WorkflowParams } from '../schemas.js';

const posKey = (p: Position): string => JSON.stringify(p);

export const PLACED_ORDERS_DEFAULT = 20;
export const PLACED_ORDERS_MAX = 1000;

/** Where an order is, as the dashboard draws it. */
export type PlacedKind = 'running' | 'locks' | 'job' | 'admission' | 'time' | 'retry' | 'scheduled' | 'ready' | 'prompting' | 'forked' | 'cycle' | 'notice' | 'suspended' | 'failed' | 'stopped';

const KINDS: PlacedKind[] = ['running', 'locks', 'job', 'admission', 'time', 'retry', 'scheduled', 'ready', 'prompting', 'forked', 'cycle', 'notice', 'suspended', 'failed', 'stopped'];

export function placedKind(o: Order): PlacedKind | undefined {
  if (o.state === 'finished' || o.state === 'cancelled') return undefined;
  if (o.state === 'failed' || o.state === 'stopped') return o.state;
  if (o.suspended) return 'suspended';
  if (o.state === 'processing') return 'running';
  if (o.state === 'waiting') return o.waitingFor?.kind ?? 'ready';
  return o.state;
}

const PlacedOrderSchema = Type.Object({
  id: Type.String(),
  state: Type.String(),
  kind: Type.String({ description: KINDS.join(' | ') }),
  suspended: Type.Boolean(),
  priority: Type.Integer(),
  place: Type.Optional(Type.Integer({ description: 'waiting for locks: its place in the line of the first lock it waits for (1 = next)' })),
  waitingFor: Type.Optional(Type.String({ description: 'the lock(s) or job it waits for' })),
  locksHeld: Type.Array(Type.String(), { description: 'lock instances it holds, outermost first' }),
  since: Type.Optional(Type.Integer({ description: 'ms: when its wait or its job began' })),
});

const PlacementSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer({ description: 'the version whose positions these are' }),
  latest: Type.Integer(),
  active: Type.Integer({ description: 'orders of this version not ended' }),
  otherVersions: Type.Record(Type.String(), Type.Integer(), { description: 'version → orders not ended in it' }),
  positions: Type.Array(
    Type.Object({
      position: PositionSchema,
      where: Type.String({ description: 'the position by names, outermost first' }),
      counts: Type.Record(Type.String(), Type.Integer(), { description: 'kind → orders' }),
      orders: Type.Array(PlacedOrderSchema, { description: 'the first ones: waiters in line order, the others by id' }),
    }),
  ),
});

export function placementRoutes(app: Api, { orderly }: ServerContext): void {
  app.get(
    '/workflows/:name/placement',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Where the orders of a workflow stand, per position',
        description:
          'Role: viewer. Orders not ended of one version (default the latest), grouped by position: counts per kind (running, locks, job, time, retry, scheduled, ready, prompting, forked, cycle (between the cycles of a Cycle), notice (an ExpectNotices or ConsumeNotices), suspended, failed, stopped) and the first `ordersMax` orders (default 20, at most 1000), lock waiters in line order with their place.',
        tags: ['workflows'],
        params: WorkflowParams,
        querystring: Type.Object(
          {
            version: Type.Optional(Type.Integer({ minimum: 1, errorMessage: 'must be a whole number ≥ 1' })),
            ordersMax: Type.Optional(
              Type.Integer({ minimum: 0, maximum: PLACED_ORDERS_MAX, errorMessage: `must be a whole number from 0 to ${PLACED_ORDERS_MAX}` }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PlacementSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const name = req.params.name;
      const s = orderly.engine.state;
      const w = s.workflows.get(name);
      if (!w) throw notFound(`workflow ${name} not found`);
      const version = req.query.version ?? w.latest;
      const wf = w.versions.get(version);
      if (!wf) throw notFound(`workflow ${name} has no version ${version} (latest ${w.latest})`);
      const ordersMax = req.query.ordersMax ?? PLACED_ORDERS_DEFAULT;

      const groups = new Map<string, { position: Position; orders: Order[] }>();
      const otherVersions: Record<string, number> = {};
      let active = 0;
      for (const o of s.orders.values()) {
        if (o.workflow !== name) continue;
        if (placedKind(o) === undefined) continue;
        if (o.version !== version) {
          otherVersions[String(o.version)] = (otherVersions[String(o.version)] ?? 0) + 1;
          continue;
        }
        active++;
        const k = posKey(o.position);
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { position: o.position, orders: [] }));
        g.orders.push(o);
      }

      // Places in line, one lock view per lock waited for.
      const places = new Map<string, Map<string, number>>();
      const placeOf = (lock: string, id: string): number | undefined => {
        let m = places.get(lock);
        if (!m) {
          m = new Map((lockView(s, lock)?.queue ?? []).map((q) => [q.orderId, q.place]));
          places.set(lock, m);
        }
        return m.get(id);
      };

      const positions = [...groups.values()].map((g) => {
        const counts: Record<string, number> = {};
        const rows = g.orders.map((o) => {
          const kind = placedKind(o)!;
          counts[kind] = (counts[kind] ?? 0) + 1;
          const row: {
            id: string;
            state: string;
            kind: PlacedKind;
            suspended: boolean;
            priority: number;
            place?: number;
            waitingFor?: string;
            locksHeld: string[];
            since?: number;
          } = { id: o.id, state: o.state, kind, suspended: o.suspended, priority: o.priority, locksHeld: o.held.flatMap((h) => h.grants.map((x) => x.lock)) };
          const wf2 = o.waitingFor;
          if (wf2?.kind === 'locks') {
            row.waitingFor = wf2.locks.join(', ');
            const first = wf2.locks[0];
            const p = first !== undefined ? placeOf(first, o.id) : undefined;
            if (p !== undefined) row.place = p;
          } else if (wf2?.kind === 'job') {
            row.waitingFor = `job ${wf2.job}`;
          } else if (wf2?.kind === 'notice') {
            row.waitingFor = `notice ${wf2.notices.join(', ')}`;
          } else if (wf2?.kind === 'cycle') {
            row.waitingFor = `the next cycle at ${new Date(wf2.until).toISOString()}`;
          } else if (wf2?.kind === 'admission') {
            row.waitingFor = `admission of job ${wf2.job}`;
          }
          if (o.execution) row.since = o.execution.startedAt;
          else if (o.waitingSince !== undefined) row.since = o.waitingSince;
          return row;
        });
        rows.sort((a, b) => (a.place ?? Infinity) - (b.place ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        return {
          position: g.position,
          where: positionNames(wf, g.position)
            .map((n) => n.name)
            .join(' › '),
          counts,
          orders: rows.slice(0, ordersMax),
        };
      });
      positions.sort((a, b) => (posKey(a.position) < posKey(b.position) ? -1 : 1));
      return { name, version, latest: w.latest, active, otherVersions, positions };
    },
  );
}
