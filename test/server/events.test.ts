// GET /api/v1/events over a real socket: replay, live, resume with Last-Event-ID without gap
// or duplicate, heartbeats, clean-up when the client goes.

import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { MemoryStore } from '../../src/journal/memory.js';
import { SseClient, type Frame } from '../support/sse-client.js';
import { harness, type Harness } from './support.js';

class EventsClient extends SseClient {
  get events(): Frame[] {
    return this.frames.filter((f) => f.id !== undefined);
  }

  get ids(): number[] {
    return this.events.map((f) => f.id!);
  }
}

let h: Harness | undefined;
const clients: EventsClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
});

async function start(heartbeatMs?: number): Promise<{ h: Harness; port: number; connect: (path: string, headers?: Record<string, string>) => Promise<EventsClient> }> {
  h = await harness(heartbeatMs !== undefined ? { server: { heartbeatMs } } : {});
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as AddressInfo).port;
  const hh = h;
  return {
    h: hh,
    port,
    connect: async (path, headers = {}) => {
      const c = new EventsClient(port, path, { authorization: `Bearer ${hh.tokens.viewer}`, ...headers });
      clients.push(c);
      await c.open();
      return c;
    },
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe('GET /api/v1/events', () => {
  it('replays from ?after=0, then goes live; frames carry id, type and {seq, event}', async () => {
    const { h, connect } = await start();
    await h.orderly.addOrder({ workflow: 'pdSerialSingle', id: 'e1' });
    await h.orderly.engine.whenIdle();
    const last = await h.orderly.engine.store.lastSeq();
    const c = await connect('/api/v1/events?after=0');
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toContain('text/event-stream');
    await c.until(() => c.ids.includes(last));
    expect(c.ids).toEqual(range(1, last));
    const added = c.events.find((f) => f.event === 'OrderAdded')!;
    expect(JSON.parse(added.data!)).toMatchObject({ seq: added.id, event: { type: 'OrderAdded', orderId: 'e1' } });

    await h.orderly.addOrder({ workflow: 'pdSerialSingle', id: 'e2' });
    await h.orderly.engine.whenIdle();
    const now = await h.orderly.engine.store.lastSeq();
    await c.until(() => c.ids.includes(now));
    expect(c.ids).toEqual(range(1, now));
  });

  it('without a position starts with the next event', async () => {
    const { h, connect } = await start();
    const before = await h.orderly.engine.store.lastSeq();
    const c = await connect('/api/v1/events');
    await h.orderly.addOrder({ workflow: 'pdSerialSingle', id: 'n1' });
    await h.orderly.engine.whenIdle();
    const now = await h.orderly.engine.store.lastSeq();
    await c.until(() => c.ids.includes(now));
    expect(c.ids).toEqual(range(before + 1, now));
  });

  it('resumes with Last-Event-ID (which wins over ?after) with no gap and no duplicate, while events keep coming', async () => {
    const { h, connect } = await start();
    const first = await connect('/api/v1/events?after=0');
    await h.orderly.addOrder({ workflow: 'pdSerialSingle', id: 'r1' });
    await h.orderly.engine.whenIdle();
    const mid = await h.orderly.engine.store.lastSeq();
    await first.until(() => first.ids.includes(mid));
    first.close();
    const lastId = first.ids[first.ids.length - 1]!;

    // Events while nobody listens, and while the second client connects and replays.
    for (let i = 0; i < 20; i++) await h.orderly.addOrder({ workflow: 'pdSerialShared', id: `gap${i}` });
    const adding = (async () => {
      for (let i = 0; i < 40; i++) {
        await h.orderly.addOrder({ workflow: 'pdSerialShared', id: `seam${i}` });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const second = await connect('/api/v1/events?after=0', { 'last-event-id': String(lastId) });
    await adding;
    await h.orderly.engine.whenIdle();
    const end = await h.orderly.engine.store.lastSeq();
    await second.until(() => second.ids.includes(end));
    expect(second.ids).toEqual(range(lastId + 1, end));
  });

  it('has no gap and no duplicate at the seam when events are committed during a slow replay', async () => {
    const store = new MemoryStore();
    let slow = false;
    const readAfter = store.readAfter.bind(store);
    store.readAfter = async (after, limit) => {
      const page = await readAfter(after, limit);
      if (slow) await new Promise((r) => setTimeout(r, 40));
      return page;
    };
    h = await harness({ orderly: { store } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    for (let i = 0; i < 5; i++) await h.orderly.addOrder({ workflow: 'pdSerialShared', id: `pre${i}` });
    slow = true;
    const c = new EventsClient(port, '/api/v1/events', { authorization: `Bearer ${h.tokens.viewer}`, 'last-event-id': '3' });
    clients.push(c);
    await c.open();
    // Committed while the replay's first read is still sleeping: they reach the stream live
    // (buffered) and are also in the next replay page.
    for (let i = 0; i < 10; i++) {
      await h.orderly.addOrder({ workflow: 'pdSerialShared', id: `during${i}` });
      await new Promise((r) => setTimeout(r, 5));
    }
    await h.orderly.engine.whenIdle();
    const end = await h.orderly.engine.store.lastSeq();
    await c.until(() => c.ids.includes(end));
    // Let the replay finish (its last, empty read sleeps too), then one more live event.
    await new Promise((r) => setTimeout(r, 200));
    await h.orderly.addOrder({ workflow: 'pdSerialShared', id: 'after' });
    await h.orderly.engine.whenIdle();
    const final = await h.orderly.engine.store.lastSeq();
    await c.until(() => c.ids.includes(final));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.ids).toEqual(range(4, final));
  });

  it('refuses a bad Last-Event-ID or after with 400', async () => {
    const { connect } = await start();
    const a = await connect('/api/v1/events', { 'last-event-id': 'abc' });
    expect(a.status).toBe(400);
    const b = await connect('/api/v1/events?after=-1');
    expect(b.status).toBe(400);
  });

  it('sends heartbeats, and cleans up its subscription when the client goes', async () => {
    h = await harness({ server: { heartbeatMs: 30 } });
    const o = h.orderly;
    let active = 0;
    const subscribe = o.subscribe.bind(o);
    o.subscribe = (l) => {
      active++;
      const un = subscribe(l);
      return () => {
        active--;
        un();
      };
    };
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    const c = new EventsClient(port, '/api/v1/events', { authorization: `Bearer ${h.tokens.viewer}` });
    clients.push(c);
    await c.open();
    await c.until(() => c.frames.some((f) => f.comment === 'heartbeat'));
    expect(active).toBe(1);
    c.close();
    while (active !== 0) await new Promise((r) => setTimeout(r, 20)); // however long it takes (the test's timeout is the safety net)
    expect(active).toBe(0);
  });

  it('ends open streams when the server closes', async () => {
    const { h, connect } = await start();
    const c = await connect('/api/v1/events');
    await h.app.close();
    await c.until(() => c.ended);
    expect(c.ended).toBe(true);
  });
});
