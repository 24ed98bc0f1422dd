// Strict parameters, one error shape for every refusal (Fastify's own included), 401 before
// anything else, and the headers every answer carries.

import { request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { buildServer } from '../../src/server/app.js';
import { API_CONTENT_SECURITY_POLICY } from '../../src/server/headers.js';
import { harness, type ErrorJson, type Harness } from './support.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

function isOurShape(body: string): boolean {
  const j = JSON.parse(body) as Record<string, unknown>;
  const e = j['error'] as Record<string, unknown> | undefined;
  return Object.keys(j).length === 1 && typeof e === 'object' && typeof e['code'] === 'string' && typeof e['message'] === 'string';
}

/** Sends raw bytes to a listening server; resolves with what came back when the server closes. */
async function rawRequest(text: string): Promise<string> {
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

describe('integer query parameters are strict', () => {
  it.each(['1e400', '1.0', '0x10', '99999999999999999999', '+5', ' 5', '5 ', '', '-0x1'])('GET /api/v1/events?after=%s is a 400 naming query.after', async (v) => {
    const r = await h.call({ method: 'GET', url: `/api/v1/events?after=${encodeURIComponent(v)}`, as: 'viewer' });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems?.[0]?.path).toBe('query.after');
  });

  it('a parameter given twice is refused', async () => {
    const r = await h.call({ method: 'GET', url: '/api/v1/orders?limit=5&limit=6', as: 'viewer' });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems).toEqual([{ path: 'query.limit', message: 'given more than once' }]);
  });

  it('limit=1.0 and offset=1e1 on other routes too', async () => {
    expect((await h.call({ method: 'GET', url: '/api/v1/orders?limit=1.0', as: 'viewer' })).statusCode).toBe(400);
    expect((await h.call({ method: 'GET', url: '/v2/api/jobs?offset=1e1', as: 'viewer' })).statusCode).toBe(400);
    expect((await h.call({ method: 'GET', url: '/api/v1/orders?limit=7', as: 'viewer' })).statusCode).toBe(200);
  });
});

describe("every error in Orderly's shape", () => {
  it('bad URL encoding: 400 with a token, 401 without', async () => {
    let r = await h.call({ method: 'GET', url: '/api/v1/orders/%E0%A4%A', as: 'viewer' });
    expect(r.statusCode).toBe(400);
    expect(isOurShape(r.body)).toBe(true);
    r = await h.call({ method: 'GET', url: '/api/v1/orders/%E0%A4%A', as: null });
    expect(r.statusCode).toBe(401);
    expect(isOurShape(r.body)).toBe(true);
  });

  it('unknown route: 404 with a token, 401 without', async () => {
    let r = await h.call({ method: 'GET', url: '/api/v1/nothing', as: 'viewer' });
    expect(r.statusCode).toBe(404);
    expect(r.json<ErrorJson>().error.code).toBe('not-found');
    r = await h.call({ method: 'DELETE', url: '/nothing', as: null });
    expect(r.statusCode).toBe(401);
    expect(isOurShape(r.body)).toBe(true);
  });

  it('body parse errors: 400 with a token, 401 without (no body is read first)', async () => {
    const bad = { method: 'POST' as const, url: '/api/v1/orders', payload: '{"workflow":', headers: { 'content-type': 'application/json' } };
    let r = await h.call({ ...bad, as: 'operator' });
    expect(r.statusCode).toBe(400);
    expect(r.json<ErrorJson>().error.problems?.[0]?.path).toBe('body');
    r = await h.call({ ...bad, as: null });
    expect(r.statusCode).toBe(401);
    r = await h.call({ ...bad, headers: { 'content-type': 'text/xml' }, as: null });
    expect(r.statusCode).toBe(401);
    r = await h.call({ ...bad, url: '/api/v1/orders?limit=0x1', as: null });
    expect(r.statusCode).toBe(401);
  });

  it('headers too large: 431 in our shape, with the headers', async () => {
    const got = await rawRequest(`GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(got).toMatch(/^HTTP\/1\.1 431 /);
    expect(got.toLowerCase()).toContain('x-content-type-options: nosniff');
    expect(isOurShape(got.slice(got.indexOf('\r\n\r\n') + 4))).toBe(true);
  });

  it('a malformed request: 400 in our shape', async () => {
    const got = await rawRequest('GET /api/v1/health HTTP/1.1\r\nHost x\r\n\r\n');
    expect(got).toMatch(/^HTTP\/1\.1 400 /);
    expect(isOurShape(got.slice(got.indexOf('\r\n\r\n') + 4))).toBe(true);
  });
});

describe('headers', () => {
  it('nosniff, a strict CSP and no-store on answers, errors and refusals alike', async () => {
    const answers = [
      await h.call({ method: 'GET', url: '/api/v1/health', as: null }),
      await h.call({ method: 'GET', url: '/api/v1/orders', as: 'viewer' }),
      await h.call({ method: 'GET', url: '/api/v1/orders', as: null }),
      await h.call({ method: 'GET', url: '/api/v1/nothing', as: 'viewer' }),
      await h.call({ method: 'GET', url: '/api/v1/orders/%E0%A4%A', as: 'viewer' }),
      await h.call({ method: 'GET', url: '/v2/api/jobs', as: 'viewer' }),
      await h.call({ method: 'GET', url: '/metrics', as: 'viewer' }),
      await h.call({ method: 'GET', url: '/api/v1/tokens', as: 'admin' }),
      await h.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'ci', role: 'viewer' }, as: 'admin' }),
    ];
    for (const r of answers) {
      expect(r.headers['x-content-type-options'], r.body).toBe('nosniff');
      expect(r.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
      expect(r.headers['cache-control']).toBe('no-store');
    }
  });

  it('a route overrides them in one place (config.headers)', async () => {
    // A server of its own, since routes cannot be added after ready().
    const s = buildServer({ orderly: h.orderly, auth: h.auth });
    s.get('/page', { config: { public: true, headers: { 'content-security-policy': "default-src 'self'", 'cache-control': null } } }, async () => 'x');
    const r = await s.inject({ method: 'GET', url: '/page' });
    expect(r.headers['content-security-policy']).toBe("default-src 'self'");
    expect(r.headers['cache-control']).toBeUndefined();
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    await s.close();
  });

  it('the event stream carries them too', async () => {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/api/v1/events', headers: { authorization: `Bearer ${h.tokens.viewer}` } }, (res) => {
        resolve(res.headers);
        res.destroy();
      });
      req.on('error', reject);
      req.end();
    });
    expect(headers['content-type']).toContain('text/event-stream');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
  });
});
