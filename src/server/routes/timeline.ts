// The lock timeline: who held each lock and who waited for it over a time window, built
// from the journal.
//
// The journal is ordered by seq, and event times (`at`) grow with it, so the first event at
// or after `from` is found by a binary search over seq. From there the events up to `to` are
// read (at most EVENTS_SCANNED_MAX) and turned into intervals:
//   hold: OrderLocksAcquired → OrderLocksReleased (per lock instance)
//   wait: OrderLocksQueued → OrderLocksAcquired | OrderDequeued | OrderCancelled | OrderFailed | OrderSuspended
// What began before `from`: a release (or a grant) with no start in the window is an
// interval from before `from`; its start is looked up in the order's own history (indexed),
// for at most HISTORY_LOOKUPS_MAX orders, else it is drawn from `from` (`startsBefore`).
// Holders and waiters still there after the window are read from the state when nothing in
// the window mentions them.

import { Type } from '@sinclair/typebox';

import type { Event, Stamped } from '../../core/events.js';
import type { Orderly } from '../../runtime/orderly.js';
import type { Api, ServerContext } from '../context.js';
import { invalidError } from '../errors.js';
import { errors } from '../schemas.js';

export const TIMELINE_EVENTS_SCANNED_MAX = 200_000;
export const TIMELINE_INTERVALS_MAX = 20_000;
export const TIMELINE_WINDOW_MS_MAX = 31 * 24 * 3600_000;
const HISTORY_LOOKUPS_MAX = 500;
const PAGE = 2000;

export interface TimelineInterval {
  lock: string;
  orderId: string;
  kind: 'hold' | 'wait';
  from: number;
  /** Absent: still going at the end of the window. */
  to?: number;
  /** It began before the window and its start was not found: `from` is the window's start. */
  startsBefore?: true;
  exclusive?: boolean;
  count?: number;
  token?: number;
  /** How a wait ended: acquired, left (dequeued, cancelled, failed, suspended). */
  ended?: 'acquired' | 'left';
}

export interface Timeline {
  from: number;
  to: number;
  locks: string[];
  intervals: TimelineInterval[];
  eventsScanned: number;
  /** The window held more than the scan limit or the interval limit: the answer is cut. */
  truncated: boolean;
}

/** The first seq whose event is at or after `t` (lastSeq + 1 when none). */
async function firstSeqAtOrAfter(orderly: Orderly, t: number, lastSeq: number): Promise<number> {
  const store = orderly.engine.store;
  let lo = 1;
  let hi = lastSeq + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [s] = await store.readAfter(mid - 1, 1);
    if (!s) {
      hi = mid;
      continue;
    }
    if (s.event.at >= t) hi = Math.min(mid, s.seq);
    else lo = s.seq + 1;
  }
  return lo;
}

function orderIdOfEvent(e: Event): string | undefined {
  return 'orderId' in e && typeof e.orderId === 'string' ? e.orderId : undefined;
}

export async function buildTimeline(orderly: Orderly, from: number, to: number, lockFilter?: string): Promise<Timeline> {
  const lastSeq = orderly.engine.state.seq;
  const start = await firstSeqAtOrAfter(orderly, from, lastSeq);
  const store = orderly.engine.store;
  const want = (lock: string): boolean => lockFilter === undefined || lock === lockFilter || lock.startsWith(`${lockFilter}[`);

  const intervals: TimelineInterval[] = [];
  const openHolds = new Map<string, TimelineInterval>(); // order \u0000 lock
  const openWaits = new Map<string, TimelineInterval[]>(); // order → its open waits
  const seenHold = new Set<string>();
  const seenWait = new Set<string>();
  const beganBefore: TimelineInterval[] = [];
  let truncated = false;
  let scanned = 0;
  const k = (o: string, l: string): string => `${o}\u0000${l}`;

  const push = (iv: TimelineInterval): void => {
    if (intervals.length >= TIMELINE_INTERVALS_MAX) {
      truncated = true;
      return;
    }
    intervals.push(iv);
  };
  const endWaits = (orderId: string, at: number, how: 'acquired' | 'left', locks?: Set<string>): void => {
    const open = openWaits.get(orderId) ?? [];
    const keep: TimelineInterval[] = [];
    for (const w of open) {
      if (locks && !locks.has(w.lock)) keep.push(w);
      else {
        w.to = at;
        w.ended = how;
      }
    }
    if (keep.length > 0) openWaits.set(orderId, keep);
    else openWaits.delete(orderId);
  };

  let after = start - 1;
  outer: for (;;) {
    const page: Stamped[] = await store.readAfter(after, PAGE);
    if (page.length === 0) break;
    for (const s of page) {
      after = s.seq;
      const e = s.event;
      if (e.at > to) break outer;
      if (++scanned > TIMELINE_EVENTS_SCANNED_MAX) {
        truncated = true;
        break outer;
      }
      const orderId = orderIdOfEvent(e);
      if (orderId === undefined) continue;
      switch (e.type) {
        case 'OrderLocksQueued':
          for (const d of e.demands) {
            if (!want(d.lock)) continue;
            seenWait.add(k(orderId, d.lock));
            const iv: TimelineInterval = { lock: d.lock, orderId, kind: 'wait', from: e.at, exclusive: d.count === undefined };
            if (d.count !== undefined) iv.count = d.count;
            push(iv);
            const list = openWaits.get(orderId) ?? [];
            list.push(iv);
            openWaits.set(orderId, list);
          }
          break;
        case 'OrderLocksAcquired': {
          const locks = new Set(e.grants.map((g) => g.lock));
          for (const g of e.grants) {
            if (!want(g.lock)) continue;
            if (!seenWait.has(k(orderId, g.lock)) && !seenHold.has(k(orderId, g.lock))) {
              // Granted in the window: did it wait since before the window? (looked up below)
              const w: TimelineInterval = { lock: g.lock, orderId, kind: 'wait', from, to: e.at, ended: 'acquired', startsBefore: true };
              beganBefore.push(w);
            }
            seenHold.add(k(orderId, g.lock));
            const iv: TimelineInterval = { lock: g.lock, orderId, kind: 'hold', from: e.at, exclusive: g.count === undefined, token: g.token };
            if (g.count !== undefined) iv.count = g.count;
            push(iv);
            openHolds.set(k(orderId, g.lock), iv);
          }
          endWaits(orderId, e.at, 'acquired', locks);
          break;
        }
        case 'OrderLocksReleased':
          for (const lock of e.locks) {
            if (!want(lock)) continue;
            const open = openHolds.get(k(orderId, lock));
            if (open) {
              open.to = e.at;
              openHolds.delete(k(orderId, lock));
            } else if (!seenHold.has(k(orderId, lock))) {
              const iv: TimelineInterval = { lock, orderId, kind: 'hold', from, to: e.at, startsBefore: true };
              push(iv);
              beganBefore.push(iv);
            }
            seenHold.add(k(orderId, lock));
          }
          break;
        case 'OrderDequeued':
        case 'OrderCancelled':
        case 'OrderFailed':
        case 'OrderSuspended':
          endWaits(orderId, e.at, 'left');
          break;
        default:
          break;
      }
    }
    if (page.length < PAGE) break;
  }

  // Holders and waiters now whose interval spans the window without an event in it.
  const locksNow = orderly.listLocks();
  for (const l of locksNow) {
    if (!want(l.name)) continue;
    for (const h of l.holders) {
      if (h.since > to || seenHold.has(k(h.orderId, l.name))) continue;
      const iv: TimelineInterval = { lock: l.name, orderId: h.orderId, kind: 'hold', from: Math.max(h.since, from), exclusive: h.exclusive, token: h.token };
      if (h.count !== undefined) iv.count = h.count;
      push(iv);
    }
    for (const q of l.queue) {
      if (q.since === undefined || q.since > to || seenWait.has(k(q.orderId, l.name))) continue;
      const iv: TimelineInterval = { lock: l.name, orderId: q.orderId, kind: 'wait', from: Math.max(q.since, from), exclusive: q.demand.exclusive };
      if (q.demand.count !== undefined) iv.count = q.demand.count;
      push(iv);
    }
  }

  // Starts before the window: from the order's own history.
  let lookups = 0;
  for (const iv of beganBefore) {
    if (lookups >= HISTORY_LOOKUPS_MAX) break;
    lookups++;
    const hist = await orderly.history(iv.orderId, 1000);
    let startAt: number | undefined;
    let extra: Partial<TimelineInterval> = {};
    for (const s of hist) {
      const e = s.event;
      if (e.at >= from) break;
      if (iv.kind === 'hold' && e.type === 'OrderLocksAcquired') {
        const g = e.grants.find((x) => x.lock === iv.lock);
        if (g) {
          startAt = e.at;
          extra = { exclusive: g.count === undefined, token: g.token, ...(g.count !== undefined ? { count: g.count } : {}) };
        }
      } else if (iv.kind === 'wait' && e.type === 'OrderLocksQueued') {
        const d = e.demands.find((x) => x.lock === iv.lock);
        if (d) {
          startAt = e.at;
          extra = { exclusive: d.count === undefined, ...(d.count !== undefined ? { count: d.count } : {}) };
        }
      } else if (iv.kind === 'wait' && (e.type === 'OrderLocksAcquired' || e.type === 'OrderDequeued')) {
        startAt = undefined;
      }
    }
    if (startAt !== undefined) {
      iv.from = startAt;
      delete iv.startsBefore;
      Object.assign(iv, extra);
      if (iv.kind === 'wait') push(iv);
    }
  }

  const locks = [...new Set(intervals.map((i) => i.lock))].sort();
  return { from, to, locks, intervals, eventsScanned: Math.min(scanned, TIMELINE_EVENTS_SCANNED_MAX), truncated };
}

const IntervalSchema = Type.Object({
  lock: Type.String(),
  orderId: Type.String(),
  kind: Type.Union([Type.Literal('hold'), Type.Literal('wait')]),
  from: Type.Integer({ description: 'ms' }),
  to: Type.Optional(Type.Integer({ description: 'ms; absent: still going at the end of the window' })),
  startsBefore: Type.Optional(Type.Boolean()),
  exclusive: Type.Optional(Type.Boolean()),
  count: Type.Optional(Type.Integer()),
  token: Type.Optional(Type.Integer({ description: 'fencing token of the grant' })),
  ended: Type.Optional(Type.String({ description: 'how a wait ended: acquired | left' })),
});

const TimeField = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64 })], {
  errorMessage: 'must be ms since the epoch or an ISO-8601 time',
});

function parseTime(v: number | string | undefined, path: string): number | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw invalidError([{ path, message: 'must be ms since the epoch or an ISO-8601 time' }]);
  return t;
}

export function timelineRoutes(app: Api, { orderly }: ServerContext): void {
  app.get(
    '/timeline/locks',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Who held each lock and who waited, over a time window (from the journal)',
        description: `Role: viewer. \`from\`, \`to\`: ms since the epoch or ISO-8601 (default: the last hour until now; at most 31 days). \`lock\`: one lock (a keyed family: all its instances). Intervals \`hold\` (with weight and fencing token) and \`wait\`; \`to\` absent = still going at the window's end. At most ${TIMELINE_EVENTS_SCANNED_MAX} events are read and ${TIMELINE_INTERVALS_MAX} intervals answered (\`truncated\`).`,
        tags: ['locks'],
        querystring: Type.Object(
          { from: Type.Optional(TimeField), to: Type.Optional(TimeField), lock: Type.Optional(Type.String({ minLength: 1, maxLength: 258 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Type.Integer(),
            to: Type.Integer(),
            locks: Type.Array(Type.String()),
            intervals: Type.Array(IntervalSchema),
            eventsScanned: Type.Integer(),
            truncated: Type.Boolean(),
          }),
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const now = Date.now();
      const to = parseTime(req.query.to, 'query.to') ?? now;
      const from = parseTime(req.query.from, 'query.from') ?? to - 3600_000;
      if (from >= to) throw invalidError([{ path: 'query.from', message: 'must be before query.to' }]);
      if (to - from > TIMELINE_WINDOW_MS_MAX) throw invalidError([{ path: 'query.from', message: 'the window may be at most 31 days' }]);
      return buildTimeline(orderly, from, to, req.query.lock);
    },
  );
}
