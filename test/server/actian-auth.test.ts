// Actian's authentication schemes: Basic base64(user:password) for users, and job config
// aliases run with an api key (x-api-key) or Basic base64(key:secret).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { harness, type ErrorJson, type Harness } from './support.js';

let h: Harness;
beforeEach(async () => {
  h = await harness({ orderly: { slots: 0 } });
  await h.auth.createUser({ name: 'ann', password: 'correct horse', role: 'operator' });
  await h.auth.createUser({ name: 'vic', password: 'viewer pass', role: 'viewer' });
  const r = await h.call({ method: 'POST', url: '/v2/api/jobconfigs', payload: { id: 'load', name: 'Load', command: 'true' } });
  expect(r.statusCode, r.body).toBe(201);
});
afterEach(() => h.close());

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function makeAlias(alias: string, secret: boolean): Promise<{ apiKey: string; apiSecret?: string; href: string; secret: boolean }> {
  const r = await h.call({ method: 'POST', url: '/v2/api/jobconfigs/load/aliases', payload: { alias, secret } });
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

describe('Authorization: Basic base64(user:password)', () => {
  it('works on every route with the user role; wrong passwords and unknown users are 401', async () => {
    const ok = await h.call({ as: null, method: 'GET', url: '/v2/api/jobconfigs/load', headers: { authorization: basic('ann', 'correct horse') } });
    expect(ok.statusCode, ok.body).toBe(200);
    const run = await h.call({ as: null, method: 'POST', url: '/v2/api/jobconfigs/load/jobs', payload: {}, headers: { authorization: basic('ann', 'correct horse') } });
    expect(run.statusCode, run.body).toBe(202);
    const me = await h.call({ as: null, method: 'GET', url: '/api/v1/me', headers: { authorization: basic('ann', 'correct horse') } });
    expect(me.json()).toMatchObject({ name: 'ann', role: 'operator', kind: 'basic' });
    const viewer = await h.call({ as: null, method: 'POST', url: '/v2/api/jobconfigs/load/jobs', payload: {}, headers: { authorization: basic('vic', 'viewer pass') } });
    expect(viewer.statusCode).toBe(403);
    for (const auth of [basic('ann', 'wrong'), basic('nobody', 'x'), 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
      const r = await h.call({ as: null, method: 'GET', url: '/v2/api/jobconfigs/load', headers: { authorization: auth } });
      expect(r.statusCode, auth).toBe(401);
    }
  });

  it('a deleted user is refused at once, also right after a successful call', async () => {
    const headers = { authorization: basic('ann', 'correct horse') };
    expect((await h.call({ as: null, method: 'GET', url: '/v2/api/jobconfigs', headers })).statusCode).toBe(200);
    await h.auth.deleteUser('ann');
    expect((await h.call({ as: null, method: 'GET', url: '/v2/api/jobconfigs', headers })).statusCode).toBe(401);
  });
});

describe('job config aliases', () => {
  it('x-api-key runs the job config of an alias with only a key, and can do nothing else', async () => {
    const a = await makeAlias('load-hook', false);
    expect(a.secret).toBe(false);
    expect(a.href).toBe('/v2/api/listener/load-hook');
    const r = await h.call({ as: null, method: 'POST', url: a.href, headers: { 'x-api-key': a.apiKey, 'content-type': 'text/plain' }, payload: 'hello' });
    expect(r.statusCode, r.body).toBe(202);
    const job = r.json<{ id: string; jobConfig: { id: string } }>();
    expect(job.jobConfig.id).toBe('load');
    expect(h.orderly.getOrder(job.id)!.arguments).toEqual({ message: 'hello' });
    // Nothing else: other routes, another alias.
    for (const [method, url] of [['GET', '/v2/api/jobconfigs/load'], ['POST', '/v2/api/jobconfigs/load/jobs'], ['GET', '/api/v1/orders']] as const) {
      const other = await h.call({ as: null, method, url, headers: { 'x-api-key': a.apiKey }, ...(method === 'POST' ? { payload: {} } : {}) });
      expect(other.statusCode, `${method} ${url}`).toBe(401);
    }
    await h.call({ method: 'POST', url: '/v2/api/jobconfigs', payload: { id: 'other', name: 'Other', command: 'true' } });
    const o = await h.call({ method: 'POST', url: '/v2/api/jobconfigs/other/aliases', payload: { alias: 'other-hook' } });
    expect(o.statusCode).toBe(201);
    const cross = await h.call({ as: null, method: 'POST', url: '/v2/api/listener/other-hook', headers: { 'x-api-key': a.apiKey } });
    expect(cross.statusCode).toBe(401);
    // A wrong key, and Basic when the alias has no secret (read as a user: unknown).
    expect((await h.call({ as: null, method: 'POST', url: a.href, headers: { 'x-api-key': 'olk_wrong' } })).statusCode).toBe(401);
  });

  it('with a secret, Basic base64(key:secret) is required; x-api-key alone is refused', async () => {
    const a = await makeAlias('secret-hook', true);
    expect(a.apiSecret).toMatch(/^ols_/);
    const keyOnly = await h.call({ as: null, method: 'POST', url: a.href, headers: { 'x-api-key': a.apiKey } });
    expect(keyOnly.statusCode).toBe(401);
    expect(keyOnly.json<ErrorJson>().error.message).toMatch(/Basic/);
    expect((await h.call({ as: null, method: 'POST', url: a.href, headers: { authorization: basic(a.apiKey, 'ols_wrong') } })).statusCode).toBe(401);
    const ok = await h.call({ as: null, method: 'POST', url: a.href, headers: { authorization: basic(a.apiKey, a.apiSecret!) } });
    expect(ok.statusCode, ok.body).toBe(202);
    // The key and secret are no user's name and password elsewhere.
    expect((await h.call({ as: null, method: 'GET', url: '/v2/api/jobconfigs', headers: { authorization: basic(a.apiKey, a.apiSecret!) } })).statusCode).toBe(401);
    // Users' credentials (bearer, Basic) also run an alias, with the operator role.
    expect((await h.call({ method: 'POST', url: a.href })).statusCode).toBe(202);
    expect((await h.call({ as: null, method: 'POST', url: a.href, headers: { authorization: basic('ann', 'correct horse') } })).statusCode).toBe(202);
    expect((await h.call({ as: 'viewer', method: 'POST', url: a.href })).statusCode).toBe(403);
  });

  it('keys are stored hashed, listed without keys, revocable, and go with the job config', async () => {
    const a = await makeAlias('hook', false);
    const journal = JSON.stringify(await h.orderly.engine.store.readAfter(0, 100_000));
    expect(journal).toContain('JobConfigAliasSet');
    expect(journal).not.toContain(a.apiKey);
    const list = await h.call({ method: 'GET', url: '/v2/api/jobconfigs/load/aliases' });
    expect(list.json()).toEqual({ items: [expect.objectContaining({ alias: 'hook', jobConfigId: 'load', secret: false })] });
    expect(list.body).not.toContain(a.apiKey);
    // Another job config cannot take the same alias.
    await h.call({ method: 'POST', url: '/v2/api/jobconfigs', payload: { id: 'b', name: 'B', command: 'true' } });
    expect((await h.call({ method: 'POST', url: '/v2/api/jobconfigs/b/aliases', payload: { alias: 'hook' } })).statusCode).toBe(409);
    // Rotation: the same alias again gives a new key; the old one stops working.
    const rotated = await makeAlias('hook', false);
    expect((await h.call({ as: null, method: 'POST', url: a.href, headers: { 'x-api-key': a.apiKey } })).statusCode).toBe(401);
    expect((await h.call({ as: null, method: 'POST', url: a.href, headers: { 'x-api-key': rotated.apiKey } })).statusCode).toBe(202);
    // Revocation.
    expect((await h.call({ method: 'DELETE', url: '/v2/api/jobconfigs/load/aliases/hook' })).statusCode).toBe(204);
    expect((await h.call({ as: null, method: 'POST', url: a.href, headers: { 'x-api-key': rotated.apiKey } })).statusCode).toBe(401);
    expect((await h.call({ method: 'POST', url: a.href })).statusCode).toBe(404);
  });

  it('refuses what it cannot do with 501: synchronous runs, output messages, ordered on a non-blocking job config', async () => {
    const a = await makeAlias('hook', false);
    for (const q of ['async=false', 'outmessagename=out', 'ordered=true']) {
      const r = await h.call({ as: null, method: 'POST', url: `${a.href}?${q}`, headers: { 'x-api-key': a.apiKey } });
      expect(r.statusCode, q).toBe(501);
    }
    await h.call({ method: 'PATCH', url: '/v2/api/jobconfigs/load', payload: { blocking: true } });
    expect((await h.call({ as: null, method: 'POST', url: `${a.href}?ordered=true&messagename=payload`, headers: { 'x-api-key': a.apiKey } })).statusCode).toBe(202);
  });
});
