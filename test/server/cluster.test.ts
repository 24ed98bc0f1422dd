// GET /api/v1/cluster and `orderly cluster`: the controller (node, epoch, since) and the node
// answering with its workers, slots and running executions. On SQLite this node is the
// controller with the embedded epoch; on PostgreSQL the controller is the lease's holder, and
// a node that lost the lease shows as standby under the new controller. Real HTTP, real
// PostgreSQL (a schema per test), the built CLI.

import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { EMBEDDED_EPOCH } from '../../src/journal/types.js';
import { startServe, type Serving } from '../../src/node/serve.js';
import type { ClusterAnswer } from '../../src/server/context.js';
import { cli } from '../support/cli-process.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';

const SERIAL_SINGLE = resolve(import.meta.dirname, '../../examples/serial-single');

let dir: string | undefined;
const schemas: string[] = [];
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  for (const s of schemas.splice(0)) await dropSchema(s);
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function cluster(a: Serving, token = a.adminToken!): Promise<ClusterAnswer> {
  const r = await fetch(`${a.url}/api/v1/cluster`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as ClusterAnswer;
}

describe('the cluster view', () => {
  it('SQLite: this node is the controller with the embedded epoch, its slots and running executions; over HTTP, the control socket and offline', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-cluster-'));
    const data = join(dir, 'data');
    const a = await startServe({ port: 0, dataDir: data, examples: false, controlSocket: true, slots: 3 });
    open.push(a);
    const before = Date.now();
    const c = await cluster(a);
    expect(c.controller).toMatchObject({ node: hostname(), epoch: EMBEDDED_EPOCH });
    expect(c.controller!.since).toBeLessThanOrEqual(before);
    expect(c.nodes).toHaveLength(1);
    expect(c.nodes[0]).toMatchObject({ name: hostname(), role: 'controller', agents: [], slots: 3, running: 0 });
    expect(c.nodes[0]!.lastSeen).toBeGreaterThanOrEqual(before);
    // Any role may read it, none may without a token.
    expect((await fetch(`${a.url}/api/v1/cluster`)).status).toBe(401);

    // The CLI: through the engine's control socket, and through HTTP.
    const viaSocket = await cli(['cluster', '--json', '--data-dir', data]);
    expect(viaSocket.code, viaSocket.stderr).toBe(0);
    expect(JSON.parse(viaSocket.stdout)).toMatchObject({ controller: { node: hostname(), epoch: EMBEDDED_EPOCH }, nodes: [{ role: 'controller', slots: 3, agents: [] }] });
    const text = await cli(['cluster', '--server', a.url, '--token', a.adminToken!]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`controller: ${hostname()} (epoch ${EMBEDDED_EPOCH}, since `);
    expect(text.stdout).toMatch(/NODE\s+ROLE\s+AGENTS\s+SLOTS\s+RUNNING\s+LAST SEEN/);
    expect(text.stdout).toMatch(/controller\s+-\s+3\s+0\s/);

    // No engine: nobody controls the data dir.
    await a.close();
    const offline = await cli(['cluster', '--json', '--data-dir', data]);
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toEqual({ controller: null, nodes: [] });
  }, 120_000);

  it('PostgreSQL: the controller is the lease holder; after another node took the lease this node shows as standby', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-cluster-pg-'));
    const s = testSchemaName();
    schemas.push(s);
    let fatal: (err: unknown) => void = () => undefined;
    const failed = new Promise<unknown>((r) => (fatal = r));
    const a = await startServe({
      port: 0,
      dataDir: join(dir, 'data'),
      examples: SERIAL_SINGLE,
      controlSocket: false,
      slots: 2,
      database: { url: TEST_DATABASE_URL, schema: s, nodeName: 'node-a', leaseSeconds: 6 },
      onFatal: (err) => fatal(err),
    });
    open.push(a);
    const lease = await withClient(async (c) => (await c.query<{ epoch: string; since: Date }>(`SELECT epoch, since FROM ${c.escapeIdentifier(s)}.leases WHERE name = 'controller'`)).rows[0]!);
    const c = await cluster(a);
    // PostgreSQL keeps microseconds: the two readings of the same instant may round 1 ms apart.
    expect(c.controller).toMatchObject({ node: 'node-a', epoch: Number(lease.epoch) });
    expect(Math.abs(c.controller!.since - lease.since.getTime())).toBeLessThanOrEqual(1);
    expect(c.nodes).toEqual([{ name: 'node-a', role: 'controller', agents: [], slots: 2, running: 0, lastSeen: expect.any(Number) as number }]);

    // Another node takes the lease over: it is the controller now, this node a standby.
    await withClient((cl) =>
      cl.query(`UPDATE ${cl.escapeIdentifier(s)}.leases SET epoch = epoch + 1, node = 'node-b', holder = 'node-b/1/x', since = now(), renewed_at = now(), expires_at = now() + interval '1 hour' WHERE name = 'controller'`),
    );
    await failed;
    const after = await cluster(a);
    expect(after.controller).toMatchObject({ node: 'node-b', epoch: Number(lease.epoch) + 1 });
    expect(after.nodes).toEqual([expect.objectContaining({ name: 'node-a', role: 'standby' })]);
  }, 60_000);
});
