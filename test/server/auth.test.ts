// Tokens, roles, users and login.

import { createHash } from 'node:crypto';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { MemoryStore } from '../../src/journal/memory.js';
import { AuthService, ENV_TOKEN_NAME } from '../../src/server/auth.js';
import { ADMIN_TOKEN, harness, stateOf, type ErrorJson, type Harness } from './support.js';

let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('tokens and roles', () => {
  it('401 without a token, with a bad one, with a malformed header', async () => {
    for (const headers of [{}, { authorization: 'Bearer oly_nope' }, { authorization: `Basic ${ADMIN_TOKEN}` }]) {
      const r = await h.app.inject({ method: 'GET', url: '/api/v1/orders', headers });
      expect(r.statusCode).toBe(401);
      expect(r.headers['www-authenticate']).toContain('Bearer');
      expect(r.json<ErrorJson>().error.code).toBe('unauthorized');
    }
  });

  it('only health and login answer without a token', async () => {
    const closed: [string, string][] = [
      ['GET', '/api/v1/openapi.json'],
      ['GET', '/metrics'],
      ['GET', '/api/v1/locks'],
      ['GET', '/api/v1/cluster'],
      ['GET', '/api/v1/events'],
      ['GET', '/api/v1/me'],
      ['GET', '/api/v1/no-such-route'],
      ['PUT', '/api/v1/locks/x'],
      ['POST', '/api/v1/orders'],
    ];
    expect((await h.call({ method: 'GET', url: '/api/v1/health', as: null })).statusCode).toBe(200);
    // Login answers without a token: here that the credentials are wrong.
    const login = await h.call({ method: 'POST', url: '/api/v1/login', payload: { username: 'x', password: 'y' }, as: null });
    expect(login.statusCode).toBe(401);
    expect(login.json<ErrorJson>().error.message).toBe('wrong user name or password');
    for (const [method, url] of closed) {
      const r = await h.call({ method: method as 'GET', url, as: null });
      expect(r.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('403 for a role too low; the refused request changes nothing', async () => {
    const wf = { TYPE: 'Workflow', instructions: [], jobs: {} };
    const before = await stateOf(h);
    let r = await h.call({ method: 'PUT', url: '/api/v1/workflows/w', payload: wf, as: 'viewer' });
    expect(r.statusCode).toBe(403);
    expect(r.json<ErrorJson>().error).toMatchObject({ code: 'forbidden' });
    expect(r.json<ErrorJson>().error.message).toContain('admin');
    r = await h.call({ method: 'PUT', url: '/api/v1/workflows/w', payload: wf, as: 'operator' });
    expect(r.statusCode).toBe(403);
    r = await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'pdSerialSingle' }, as: 'viewer' });
    expect(r.statusCode).toBe(403);
    r = await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'x', role: 'admin' }, as: 'operator' });
    expect(r.statusCode).toBe(403);
    r = await h.call({ method: 'DELETE', url: '/api/v1/locks/pdSerialLockMulti', as: 'operator' });
    expect(r.statusCode).toBe(403);
    expect(await stateOf(h)).toBe(before);
    r = await h.call({ method: 'PUT', url: '/api/v1/workflows/w', payload: wf, as: 'admin' });
    expect(r.statusCode).toBe(200);
    // Operators add orders; viewers read.
    expect((await h.call({ method: 'POST', url: '/api/v1/orders', payload: { workflow: 'w' }, as: 'operator' })).statusCode).toBe(201);
    expect((await h.call({ method: 'GET', url: '/api/v1/orders', as: 'viewer' })).statusCode).toBe(200);
  });

  it('creates, lists and deletes tokens; only hashes are stored', async () => {
    let r = await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'ci', role: 'operator' } });
    expect(r.statusCode).toBe(201);
    const created = r.json<{ id: string; name: string; role: string; token: string; created: string; kind: string }>();
    expect(created).toMatchObject({ name: 'ci', role: 'operator', kind: 'api' });
    expect(created.token).toMatch(/^oly_[A-Za-z0-9_-]{43}$/);

    const meta = JSON.stringify(await h.orderly.engine.store.auth.loadTokens());
    expect(meta).not.toContain(created.token);
    expect(meta).not.toContain(ADMIN_TOKEN);
    expect(meta).not.toContain(h.tokens.operator);
    const records = JSON.parse(meta) as { id: string; hash: string }[];
    expect(records.find((t) => t.id === created.id)!.hash).toBe(sha256(created.token));
    expect(records.every((t) => /^[0-9a-f]{64}$/.test(t.hash))).toBe(true);

    // The new token works with its role.
    r = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${created.token}` } });
    expect(r.json()).toMatchObject({ tokenId: created.id, name: 'ci', role: 'operator', kind: 'api' });

    r = await h.call({ method: 'GET', url: '/api/v1/tokens' });
    const list = r.json<{ tokens: Record<string, unknown>[] }>().tokens;
    expect(list.map((t) => t['name'])).toEqual([ENV_TOKEN_NAME, 'op', 'view', 'ci']);
    expect(list.every((t) => !('hash' in t) && !('token' in t))).toBe(true);

    r = await h.call({ method: 'DELETE', url: `/api/v1/tokens/${created.id}` });
    expect(r.statusCode).toBe(204);
    r = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${created.token}` } });
    expect(r.statusCode).toBe(401);
    expect((await h.call({ method: 'DELETE', url: `/api/v1/tokens/${created.id}` })).statusCode).toBe(404);
  });

  it('refuses deleting the last admin token, and token names over 128 characters', async () => {
    const adminId = h.auth.listTokens().find((t) => t.role === 'admin')!.id;
    const r = await h.call({ method: 'DELETE', url: `/api/v1/tokens/${adminId}` });
    expect(r.statusCode).toBe(409);
    const long = await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'x'.repeat(129), role: 'viewer' } });
    expect(long.statusCode).toBe(400);
    expect(long.json<ErrorJson>().error.problems).toEqual([{ path: 'body.name', message: 'must be 1 to 128 printable characters, without spaces at either end' }]);
    const role = await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'x', role: 'root' } });
    expect(role.json<ErrorJson>().error.problems).toEqual([{ path: 'body.role', message: 'must be viewer, operator or admin' }]);
  });
});

describe('users and login', () => {
  it('logs in a user (scrypt) and the session token carries the user’s role', async () => {
    let r = await h.call({ method: 'POST', url: '/api/v1/users', payload: { name: 'ann', password: 'correct horse', role: 'operator' } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ name: 'ann', role: 'operator' });
    const users = JSON.stringify(await h.orderly.engine.store.auth.loadUsers());
    expect(users).not.toContain('correct horse');
    const rec = (JSON.parse(users) as { name: string; scrypt: { salt: string; hash: string } }[])[0]!;
    expect(Buffer.from(rec.scrypt.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(rec.scrypt.hash, 'base64')).toHaveLength(64);

    r = await h.call({ method: 'POST', url: '/api/v1/login', payload: { username: 'ann', password: 'wrong horse' }, as: null });
    expect(r.statusCode).toBe(401);
    r = await h.call({ method: 'POST', url: '/api/v1/login', payload: { username: 'bob', password: 'correct horse' }, as: null });
    expect(r.statusCode).toBe(401);
    r = await h.call({ method: 'POST', url: '/api/v1/login', payload: { username: 'ann', password: 'correct horse' }, as: null });
    expect(r.statusCode).toBe(200);
    const s = r.json<{ access_token: string; token_type: string; expires_in: number }>();
    expect(s.token_type).toBe('Bearer');
    expect(s.expires_in).toBe(8 * 3600);
    expect(s.access_token).toMatch(/^oly_/);
    expect(JSON.stringify(await h.orderly.engine.store.auth.loadTokens())).not.toContain(s.access_token);

    const auth = { authorization: `Bearer ${s.access_token}` };
    r = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: auth });
    expect(r.json()).toMatchObject({ role: 'operator', kind: 'session', user: 'ann' });
    r = await h.app.inject({ method: 'POST', url: '/api/v1/orders', headers: auth, payload: { workflow: 'pdSerialSingle' } });
    expect(r.statusCode).toBe(201);
    r = await h.app.inject({ method: 'PUT', url: '/api/v1/locks/x', headers: auth, payload: { limit: 1 } });
    expect(r.statusCode).toBe(403);

    // Logout ends the session.
    r = await h.app.inject({ method: 'POST', url: '/api/v1/logout', headers: auth });
    expect(r.statusCode).toBe(204);
    r = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: auth });
    expect(r.statusCode).toBe(401);
  });

  it('lists and deletes users; deleting one ends its sessions; duplicates and short passwords are refused', async () => {
    await h.call({ method: 'POST', url: '/api/v1/users', payload: { name: 'cy', password: 'password1', role: 'viewer' } });
    let r = await h.call({ method: 'POST', url: '/api/v1/users', payload: { name: 'cy', password: 'password2', role: 'admin' } });
    expect(r.statusCode).toBe(409);
    r = await h.call({ method: 'POST', url: '/api/v1/users', payload: { name: 'dee', password: 'short', role: 'viewer' } });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems).toEqual([{ path: 'body.password', message: 'must be 8 to 1024 characters long' }]);
    r = await h.call({ method: 'POST', url: '/api/v1/users', payload: { name: 'dee', password: 'x'.repeat(1025), role: 'viewer' } });
    expect(r.statusCode).toBe(400);

    r = await h.call({ method: 'GET', url: '/api/v1/users' });
    expect(r.json<{ users: { name: string; role: string }[] }>().users.map((u) => [u.name, u.role])).toEqual([['cy', 'viewer']]);
    const s = (await h.call({ method: 'POST', url: '/api/v1/login', payload: { username: 'cy', password: 'password1' }, as: null })).json<{
      access_token: string;
    }>();
    r = await h.call({ method: 'DELETE', url: '/api/v1/users/cy' });
    expect(r.statusCode).toBe(204);
    r = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${s.access_token}` } });
    expect(r.statusCode).toBe(401);
    expect((await h.call({ method: 'DELETE', url: '/api/v1/users/cy' })).statusCode).toBe(404);
    expect((await h.call({ method: 'GET', url: '/api/v1/users', as: 'operator' })).statusCode).toBe(403);
  });

  it('sessions expire', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const short = await harness({ auth: { clock: () => now, sessionTtlSeconds: 60 } });
    try {
      await short.call({ method: 'POST', url: '/api/v1/users', payload: { name: 'eve', password: 'password1', role: 'viewer' } });
      const s = (await short.call({ method: 'POST', url: '/api/v1/login', payload: { username: 'eve', password: 'password1' }, as: null })).json<{
        access_token: string;
        expires_in: number;
      }>();
      expect(s.expires_in).toBe(60);
      const me = (): Promise<number> =>
        short.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${s.access_token}` } }).then((r) => r.statusCode);
      expect(await me()).toBe(200);
      now += 61_000;
      expect(await me()).toBe(401);
    } finally {
      await short.close();
    }
  });
});

describe('bootstrap', () => {
  it('creates a random admin token once when none exists and no env token is given', async () => {
    const store = new MemoryStore();
    const a = await AuthService.open(store);
    const first = await a.bootstrap();
    expect(first.token).toMatch(/^oly_/);
    expect(a.authenticate(first.token!)).toMatchObject({ role: 'admin' });
    expect(JSON.stringify(await store.auth.loadTokens())).not.toContain(first.token);
    // A restart reads the stored hash and makes no new one.
    const b = await AuthService.open(store);
    expect((await b.bootstrap()).token).toBeUndefined();
    expect(b.authenticate(first.token!)).toMatchObject({ role: 'admin' });
  });

  it('uses ORDERLY_ADMIN_TOKEN (stored hashed), and a changed value replaces the old one', async () => {
    const store = new MemoryStore();
    const a = await AuthService.open(store);
    expect(await a.bootstrap('first-env-token-000000')).toEqual({});
    expect(a.authenticate('first-env-token-000000')).toMatchObject({ role: 'admin', name: ENV_TOKEN_NAME });
    expect(JSON.stringify(await store.auth.loadTokens())).toContain(sha256('first-env-token-000000'));
    const b = await AuthService.open(store);
    await b.bootstrap('second-env-token-00000');
    expect(b.authenticate('second-env-token-00000')).toBeDefined();
    expect(b.authenticate('first-env-token-000000')).toBeUndefined();
    await expect(b.bootstrap('short')).rejects.toThrow(/16 to 1024/);
  });
});
