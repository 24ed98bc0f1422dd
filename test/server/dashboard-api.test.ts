// What the dashboard adds to the server: browser sessions (cookie + CSRF), the page with its
// CSP, and the routes it reads (placement, lock timeline, orders by ids, positions by names,
// schedule preview).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PAGE_CSP } from '../../src/server/web-static.js';
import { harness, type ErrorJson, type Harness } from './support.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

async function login(body: Record<string, string>): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const r = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: body });
  expect(r.statusCode, r.body).toBe(200);
  const setCookie = String(r.headers['set-cookie']);
  const cookie = /orderly_session=([^;]+)/.exec(setCookie)![1]!;
  return { cookie: `orderly_session=${cookie}`, csrf: r.json<{ csrfToken: string }>().csrfToken, setCookie };
}

describe('browser sessions', () => {
  it('a token login sets an HttpOnly SameSite=Strict cookie that authenticates; changes need the CSRF token', async () => {
    const s = await login({ token: h.tokens.operator });
    expect(s.setCookie).toMatch(/HttpOnly/);
    expect(s.setCookie).toMatch(/SameSite=Strict/);
    expect(s.setCookie).toMatch(/Path=\//);
    expect(s.setCookie).not.toContain(h.tokens.operator);
    const me = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: s.cookie } });
    expect(me.json()).toMatchObject({ name: 'op', role: 'operator' });

    const add = { workflow: 'pdSerialSingle', id: 'c1' };
    let r = await h.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: s.cookie }, payload: add });
    expect(r.statusCode).toBe(403);
    expect(r.json<ErrorJson>().error.message).toContain('x-csrf-token');
    r = await h.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: s.cookie, 'x-csrf-token': 'wrong' }, payload: add });
    expect(r.statusCode).toBe(403);
    expect(h.orderly.getOrder('c1')).toBeUndefined();
    r = await h.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload: add });
    expect(r.statusCode).toBe(201);
    // The role still holds: an operator may not deploy.
    r = await h.app.inject({ method: 'PUT', url: '/api/v1/locks/zz', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload: { limit: 1 } });
    expect(r.statusCode).toBe(403);
  });

  it('refuses unknown credentials alike, and an unknown cookie', async () => {
    for (const body of [{ token: 'oly_nope' }, { username: 'nobody', password: 'whatever-1' }]) {
      const r = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: body });
      expect(r.statusCode).toBe(401);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    const r = await h.app.inject({ method: 'GET', url: '/api/v1/locks', headers: { cookie: 'orderly_session=forged' } });
    expect(r.statusCode).toBe(401);
    const bad = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { token: 'x', extra: 1 } });
    expect(bad.statusCode).toBe(400);
  });

  it('a user login (an Actian user too) makes a login session; logging out revokes it', async () => {
    await h.auth.createUser({ name: 'ann', password: 'ann-password', role: 'viewer' });
    const s = await login({ username: 'ann', password: 'ann-password' });
    const sessions = h.auth.listTokens().filter((t) => t.kind === 'session' && t.user === 'ann');
    expect(sessions).toHaveLength(1);
    const got = await h.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } });
    expect(got.json()).toMatchObject({ role: 'viewer', user: 'ann', csrfToken: s.csrf });
    let r = await h.app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: s.cookie } });
    expect(r.statusCode).toBe(403);
    r = await h.app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(r.statusCode).toBe(204);
    expect(h.auth.listTokens().filter((t) => t.kind === 'session' && t.user === 'ann')).toHaveLength(0);
    r = await h.app.inject({ method: 'GET', url: '/api/v1/locks', headers: { cookie: s.cookie } });
    expect(r.statusCode).toBe(401);
  });

  it('a revoked token ends the sessions opened with it', async () => {
    const { info, token } = await h.auth.createToken({ name: 'temp', role: 'viewer' });
    const s = await login({ token });
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/locks', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    await h.auth.deleteToken(info.id);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/locks', headers: { cookie: s.cookie } })).statusCode).toBe(401);
  });

  it('keeps at most sessionsMax sessions (the oldest goes) and ends idle ones', async () => {
    await h.close();
    let now = 1_000_000;
    h = await harness({ server: { webSessions: { sessionsMax: 2, idleMs: 60_000, clock: () => now } } });
    const a = await login({ token: h.tokens.viewer });
    const b = await login({ token: h.tokens.viewer });
    const c = await login({ token: h.tokens.viewer });
    const status = async (x: { cookie: string }): Promise<number> => (await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: x.cookie } })).statusCode;
    expect(await status(a)).toBe(401);
    expect(await status(b)).toBe(200);
    now += 30_000;
    expect(await status(c)).toBe(200);
    now += 40_000;
    expect(await status(b)).toBe(401);
    expect(await status(c)).toBe(200);
  });
});

describe('the page', () => {
  it('is served with a strict CSP; other paths still need a token', async () => {
    const r = await h.app.inject({ method: 'GET', url: '/' });
    if (r.statusCode === 200) {
      expect(r.headers['content-type']).toContain('text/html');
      expect(r.body).not.toMatch(/<script>(?!<)/);
    } else {
      expect(r.statusCode).toBe(503);
    }
    expect(r.headers['content-security-policy'] ?? PAGE_CSP).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).not.toContain('unsafe');
    expect((await h.app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(401);
  });

  it('says how to build it when it is not built', async () => {
    await h.close();
    h = await harness({ server: { webRoot: mkdtempSync(join(tmpdir(), 'orderly-noweb-')) } });
    const r = await h.app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
  });
});

describe('routes the dashboard reads', () => {
  it('placement: one order holds the lock (waiting for a job slot), the others wait in front of it in line', async () => {
    await h.orderly.addOrders(['s1', 's2', 's3'].map((id) => ({ workflow: 'pdSerialSingle', id })));
    await h.orderly.changePriority('s3', 5);
    const r = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle/placement', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const p = r.json<{ active: number; positions: { position: unknown[]; where: string; counts: Record<string, number>; orders: { id: string; kind: string; place?: number; locksHeld: string[] }[] }[] }>();
    expect(p.active).toBe(3);
    const front = p.positions.find((x) => JSON.stringify(x.position) === '[0]')!;
    expect(front.counts).toEqual({ locks: 2 });
    expect(front.orders.map((o) => [o.id, o.place])).toEqual([
      ['s3', 1],
      ['s2', 2],
    ]);
    expect(front.where).toBe('Lock pdSerialLockSingle (exclusive)');
    const inside = p.positions.find((x) => JSON.stringify(x.position) === '[0,"lock",0]')!;
    expect(inside.orders).toMatchObject([{ id: 's1', kind: 'job', locksHeld: ['pdSerialLockSingle'] }]);
    expect(inside.where).toContain('job job1');

    const small = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle/placement?ordersMax=1', as: 'viewer' });
    expect(small.json<{ positions: { orders: unknown[]; counts: Record<string, number> }[] }>().positions.find((x) => x.counts['locks'] === 2)!.orders).toHaveLength(1);
    expect((await h.call({ method: 'GET', url: '/api/v1/workflows/nope/placement', as: 'viewer' })).statusCode).toBe(404);
    const bad = await h.call({ method: 'GET', url: '/api/v1/workflows/pdSerialSingle/placement?ordersMax=5000', as: 'viewer' });
    expect(bad.json<ErrorJson>().error.problems?.[0]?.path).toBe('query.ordersMax');
  });

  it('orders by ids, and an order with its position by names', async () => {
    await h.orderly.addOrders(['a', 'b', 'c'].map((id) => ({ workflow: 'pdSerialShared', id })));
    const r = await h.call({ method: 'GET', url: '/api/v1/orders?ids=c,a,zz', as: 'viewer' });
    expect(r.json<{ items: { id: string }[] }>().items.map((o) => o.id)).toEqual(['a', 'c']);
    const bad = await h.call({ method: 'GET', url: '/api/v1/orders?ids=a,,b', as: 'viewer' });
    expect(bad.json<ErrorJson>().error.problems?.[0]?.path).toBe('query.ids');
    const d = await h.call({ method: 'GET', url: '/api/v1/orders/a', as: 'viewer' });
    expect(d.json<{ where: { name: string }[] }>().where.map((w) => w.name)).toEqual(['Lock pdSerialLockMulti (shared, weight 1)', 'job job1']);
  });

  it('lock timeline: holds with fencing tokens and waits, from the journal', async () => {
    const t0 = Date.now() - 1;
    await h.orderly.addOrders(['t1', 't2'].map((id) => ({ workflow: 'pdSerialSingle', id })));
    await h.orderly.cancelOrder('t2');
    const r = await h.call({ method: 'GET', url: `/api/v1/timeline/locks?from=${t0}&to=${Date.now() + 1000}&lock=pdSerialLockSingle`, as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const tl = r.json<{ intervals: { orderId: string; kind: string; to?: number; token?: number; exclusive?: boolean; ended?: string }[]; locks: string[] }>();
    expect(tl.locks).toEqual(['pdSerialLockSingle']);
    const hold = tl.intervals.find((i) => i.kind === 'hold' && i.orderId === 't1')!;
    expect(hold).toMatchObject({ exclusive: true });
    expect(hold.token).toBeGreaterThan(0);
    expect(hold.to).toBeUndefined();
    expect(tl.intervals.find((i) => i.kind === 'wait' && i.orderId === 't2')).toMatchObject({ ended: 'left' });

    // Started before the window: found in the order's own history.
    const later = Date.now() + 1;
    const r2 = await h.call({ method: 'GET', url: `/api/v1/timeline/locks?from=${later}&to=${later + 1000}`, as: 'viewer' });
    const hold2 = r2.json<{ intervals: { orderId: string; kind: string; from: number }[] }>().intervals.find((i) => i.orderId === 't1' && i.kind === 'hold')!;
    expect(hold2.from).toBe(later);

    const bad = await h.call({ method: 'GET', url: '/api/v1/timeline/locks?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', as: 'viewer' });
    expect(bad.json<ErrorJson>().error.problems?.[0]?.path).toBe('query.from');
    const bad2 = await h.call({ method: 'GET', url: '/api/v1/timeline/locks?to=yesterday', as: 'viewer' });
    expect(bad2.json<ErrorJson>().error.problems?.[0]?.path).toBe('query.to');
  });

  it('schedule preview: the next fire times, or the place of the problem', async () => {
    const r = await h.call({ method: 'POST', url: '/api/v1/schedules/preview', payload: { schedule: { type: 'interval', intervalSeconds: 3600 }, count: 3 }, as: 'viewer' });
    const times = r.json<{ nextFireTimes: string[] }>().nextFireTimes;
    expect(times).toHaveLength(3);
    expect(Date.parse(times[1]!) - Date.parse(times[0]!)).toBe(3600_000);
    const bad = await h.call({ method: 'POST', url: '/api/v1/schedules/preview', payload: { schedule: { type: 'cron', cron: '99 * * * *' } }, as: 'viewer' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorJson>().error.problems?.[0]?.path).toBe('body.schedule.cron');
  });
});
