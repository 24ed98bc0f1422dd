// Logins: rate-limited per client address and per user name (before any password is hashed),
// one scrypt at a time, sessions per user bounded; token names checked; users and tokens kept
// as rows (and moved into rows from the JSON lists of older data dirs).

import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { SqliteStore, MIGRATIONS } from '../../src/journal/sqlite.js';
import { AuthService, LOGINS_WAITING_MAX, sha256 } from '../../src/server/auth.js';
import { harness, type ErrorJson, type Harness } from './support.js';

let h: Harness | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const login = (x: Harness, username: string, password: string, remoteAddress = '10.0.0.1') =>
  x.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username, password }, remoteAddress });

describe('login limits', () => {
  it('per address: beyond the tries per minute 429 with Retry-After, other requests unaffected', async () => {
    h = await harness({ auth: { loginTriesPerAddressMax: 3 } });
    await h.auth.createUser({ name: 'ann', password: 'correct horse', role: 'viewer' });
    for (let i = 0; i < 3; i++) expect((await login(h, `user${i}`, 'nope nope')).statusCode).toBe(401);
    const before = h.auth.hashes;
    const r = await login(h, 'ann', 'correct horse');
    expect(r.statusCode).toBe(429);
    expect(r.json<ErrorJson>().error.code).toBe('too-many-requests');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(h.auth.hashes).toBe(before); // refused before hashing
    // Another address goes on; so do other requests of this one.
    expect((await login(h, 'ann', 'correct horse', '10.0.0.2')).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/health', remoteAddress: '10.0.0.1' })).statusCode).toBe(200);
    // The Actian login shares the limits.
    const v2 = await h.app.inject({ method: 'POST', url: '/v2/api/login', payload: { username: 'ann', password: 'correct horse' }, remoteAddress: '10.0.0.1' });
    expect(v2.statusCode).toBe(429);
  });

  it('per user name: failed tries from many addresses lock the name, a success starts over', async () => {
    h = await harness({ auth: { loginFailuresPerUserMax: 3 } });
    await h.auth.createUser({ name: 'ann', password: 'correct horse', role: 'viewer' });
    await h.auth.createUser({ name: 'bob', password: 'correct horse', role: 'viewer' });
    expect((await login(h, 'bob', 'wrong', '10.0.1.1')).statusCode).toBe(401);
    expect((await login(h, 'bob', 'correct horse', '10.0.1.2')).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login(h, 'ann', 'wrong', `10.0.2.${i}`)).statusCode).toBe(401);
    const before = h.auth.hashes;
    const r = await login(h, 'ann', 'correct horse', '10.0.3.1');
    expect(r.statusCode).toBe(429);
    expect(h.auth.hashes).toBe(before);
    // bob had one failure, then a success: not locked.
    for (let i = 0; i < 2; i++) expect((await login(h, 'bob', 'wrong', `10.0.4.${i}`)).statusCode).toBe(401);
    expect((await login(h, 'bob', 'correct horse', '10.0.5.1')).statusCode).toBe(200);
  });

  it('scrypt runs for one login at a time; a line longer than its bound is refused with 429', async () => {
    h = await harness();
    await h.auth.createUser({ name: 'ann', password: 'correct horse', role: 'viewer' });
    const n = LOGINS_WAITING_MAX + 4;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => login(h!, 'ann', 'correct horse', `10.1.${i >> 8}.${i & 255}`)));
    const codes = answers.map((a) => a.statusCode);
    expect(codes.filter((c) => c === 200).length).toBe(LOGINS_WAITING_MAX + 1);
    expect(codes.filter((c) => c === 429).length).toBe(n - LOGINS_WAITING_MAX - 1);
  });
});

describe('sessions and tokens', () => {
  it('sessions per user are bounded: a new login ends the oldest', async () => {
    h = await harness({ auth: { sessionsPerUserMax: 2 } });
    await h.auth.createUser({ name: 'ann', password: 'correct horse', role: 'viewer' });
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await login(h, 'ann', 'correct horse', `10.2.0.${i}`);
      tokens.push(r.json<{ access_token: string }>().access_token);
    }
    const me = (t: string) => h!.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${t}` } });
    expect((await me(tokens[0]!)).statusCode).toBe(401);
    expect((await me(tokens[1]!)).statusCode).toBe(200);
    expect((await me(tokens[2]!)).statusCode).toBe(200);
    const rows = await h.orderly.engine.store.auth.loadTokens();
    expect(rows.filter((t) => t.kind === 'session' && t.user === 'ann')).toHaveLength(2);
  });

  it.each([' lead', 'trail ', 'new\nline', 'tab\tin', 'nul\u0000', '', 'ORDERLY_ADMIN_TOKEN'])('token name %j is refused', async (name) => {
    h = await harness();
    const r = await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name, role: 'viewer' } });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems?.[0]?.path).toBe('body.name');
  });

  it('a token name with inner spaces and any script is fine', async () => {
    h = await harness();
    expect((await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'CI – déploiement 2', role: 'viewer' } })).statusCode).toBe(201);
  });
});

describe('users and tokens as rows', () => {
  function tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'orderly-auth-'));
    dirs.push(d);
    return d;
  }

  it('a login writes one token row (the JSON list is gone); a restart reads them', async () => {
    const dir = tempDir();
    const store = SqliteStore.open(join(dir, 'journal.sqlite'));
    const a = await AuthService.open(store);
    await a.bootstrap('env-token-0123456789');
    await a.createUser({ name: 'ann', password: 'correct horse', role: 'operator' });
    const s = (await a.login('ann', 'correct horse'))!;
    await store.close();
    const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM auth_tokens').get()).toEqual({ n: 2 });
    expect(db.prepare("SELECT kind, user_name FROM auth_tokens WHERE hash = ?").get(sha256(s.access_token))).toEqual({ kind: 'session', user_name: 'ann' });
    expect(db.prepare("SELECT count(*) AS n FROM meta WHERE key LIKE 'auth.%'").get()).toEqual({ n: 0 });
    db.close();
    const again = SqliteStore.open(join(dir, 'journal.sqlite'));
    const b = await AuthService.open(again);
    expect(b.authenticate(s.access_token)).toMatchObject({ user: 'ann', role: 'operator' });
    expect(b.authenticate('env-token-0123456789')).toMatchObject({ role: 'admin' });
    await again.close();
  });

  it('a data dir whose users and tokens are JSON lists in meta is moved to rows on open', async () => {
    const dir = tempDir();
    const file = join(dir, 'journal.sqlite');
    const old = new Database(file);
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    const salt = randomBytes(16);
    const hash = scryptSync('correct horse', salt, 64, { N: 16384, r: 8, p: 1, maxmem: 256 * 16384 * 8 });
    const users = [{ name: 'ann', role: 'operator', created: '2026-01-01T00:00:00.000Z', scrypt: { salt: salt.toString('base64'), hash: hash.toString('base64'), N: 16384, r: 8, p: 1, keylen: 64 } }];
    const tokens = [
      { id: 'tok_a', name: 'ci', role: 'viewer', kind: 'api', created: '2026-01-01T00:00:00.000Z', hash: sha256('old-api-token') },
      { id: 'tok_s', name: 'login ann', role: 'operator', kind: 'session', user: 'ann', created: '2026-01-01T00:00:00.000Z', expires: '9999-01-01T00:00:00.000Z', hash: sha256('old-session') },
    ];
    old.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('auth.users', JSON.stringify(users));
    old.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('auth.tokens', JSON.stringify(tokens));
    old.close();

    const store = SqliteStore.open(file);
    const a = await AuthService.open(store);
    expect(a.authenticate('old-api-token')).toMatchObject({ tokenId: 'tok_a', name: 'ci', role: 'viewer', kind: 'api' });
    expect(a.authenticate('old-session')).toMatchObject({ kind: 'session', user: 'ann' });
    expect(await a.login('ann', 'correct horse')).toBeDefined();
    expect(await store.getMeta('auth.tokens')).toBeUndefined();
    expect(a.listUsers()).toEqual([{ name: 'ann', role: 'operator', created: '2026-01-01T00:00:00.000Z' }]);
    await store.close();
  });
});
