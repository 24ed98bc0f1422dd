// A server over an in-memory engine with examples/all deployed, and tokens for each role.

import { fileURLToPath } from 'node:url';

import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

import { createOrderly, type OrderlyOptions } from '../../src/node/library.js';
import type { Orderly } from '../../src/runtime/orderly.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { AuthService, type AuthOptions } from '../../src/server/auth.js';

export const EXAMPLES = fileURLToPath(new URL('../../examples/all', import.meta.url));
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface Harness {
  orderly: Orderly;
  auth: AuthService;
  app: FastifyInstance;
  tokens: { admin: string; operator: string; viewer: string };
  /** app.inject with `as: role` for the Authorization header. */
  call(opts: InjectOptions & { as?: 'admin' | 'operator' | 'viewer' | null }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function harness(
  o: { orderly?: OrderlyOptions; auth?: AuthOptions; server?: Partial<Omit<ServerOptions, 'orderly' | 'auth'>>; deploy?: boolean } = {},
): Promise<Harness> {
  // No worker slots by default: orders that reach a job wait for a slot (holding their locks), so states are stable.
  const orderly = await createOrderly({ slots: 0, ...o.orderly });
  if (o.deploy !== false) await orderly.deployDir(EXAMPLES);
  const auth = await AuthService.open(orderly.engine.store, o.auth);
  await auth.bootstrap(ADMIN_TOKEN);
  const operator = (await auth.createToken({ name: 'op', role: 'operator' })).token;
  const viewer = (await auth.createToken({ name: 'view', role: 'viewer' })).token;
  const app = buildServer({ orderly, auth, ...o.server });
  await app.ready();
  const tokens = { admin: ADMIN_TOKEN, operator, viewer };
  return {
    orderly,
    auth,
    app,
    tokens,
    call: ({ as = 'admin', ...opts }) => {
      const headers = { ...(opts.headers ?? {}) } as Record<string, string>;
      if (as !== null) headers['authorization'] = `Bearer ${tokens[as]}`;
      return app.inject({ ...opts, headers });
    },
    close: async () => {
      await app.close();
      await orderly.close();
    },
  };
}

export interface ErrorJson {
  error: { code: string; message: string; problems?: { path: string; message: string }[] };
}

/** A snapshot of everything a refused request must not change. */
export async function stateOf(h: Harness): Promise<string> {
  const store = h.orderly.engine.store;
  return JSON.stringify({
    seq: await store.lastSeq(),
    orders: h.orderly.listOrders(),
    locks: h.orderly.listLocks(),
    workflows: h.orderly.listWorkflows(),
    tokens: await store.auth.loadTokens(),
    users: await store.auth.loadUsers(),
  });
}

/**
 * Checks `cond` every 5 ms until it holds. The deadline is only a safety net (under the test's
 * 120 s) that says what was awaited: the condition is the event, however long a machine busy
 * with other work takes to get there.
 */
export async function until(cond: () => boolean, what: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
