// Nodes of a cluster in one process, on the machine's real PostgreSQL (a schema per test): the
// first node to start is the controller; another follows the journal, answers the API from its
// followed state and sends commands to the controller through the database; when the
// controller goes, the stand-by takes over and goes on from the journal.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { requestSocket } from '../../src/node/control-client.js';
import { startNode, type OrderlyNode } from '../../src/node/start.js';
import type { Orderly } from '../../src/runtime/orderly.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName } from '../support/postgres.js';

const schemas: string[] = [];
const open: OrderlyNode[] = [];

afterEach(async () => {
  for (const n of open.splice(0)) await n.close().catch(() => undefined);
  for (const s of schemas.splice(0)) await dropSchema(s);
});

function schema(): string {
  const s = testSchemaName();
  schemas.push(s);
  return s;
}

async function node(s: string, name: string, http = false, clock?: () => number, agents?: string[]): Promise<OrderlyNode> {
  const n = await startNode({
    database: { url: TEST_DATABASE_URL, schema: s, nodeName: name, leaseSeconds: 8, ...(agents ? { agents } : {}) },
    jobLauncher: 'inline',
    ...(clock ? { clock, autoSchedule: false } : {}),
    ...(http ? { http: { port: 0, host: '127.0.0.1', adminToken: 'cluster-test-admin-token-0123456789' } } : {}),
  });
  open.push(n);
  return n;
}

async function deploy(o: Orderly): Promise<void> {
  await o.deploy({
    locks: [{ name: 'only', limit: 1 }],
    workflows: [
      {
        name: 'serial',
        instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'only' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'step' } } },
      },
    ],
  });
}

/**
 * Holds a stand-by's reads of the journal until `release()`. `nextAsk()` resolves at the next
 * time it asks where the journal ends (what a command on a stand-by does first).
 */
function holdReads(n: OrderlyNode): { nextAsk: () => Promise<string>; release: () => void } {
  const store = n.orderly.engine.store as unknown as { readAfter: (...args: unknown[]) => Promise<unknown>; lastSeq: () => Promise<number> };
  const readAfter = store.readAfter.bind(store);
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  store.readAfter = async (...args) => {
    await released;
    return readAfter(...args);
  };
  const lastSeq = store.lastSeq.bind(store);
  let asked: () => void = () => undefined;
  store.lastSeq = async () => {
    const seq = await lastSeq();
    asked();
    return seq;
  };
  const nextAsk = (): Promise<string> => new Promise<string>((r) => (asked = () => r('asked')));
  return { nextAsk, release };
}

describe('cluster nodes on PostgreSQL', () => {
  it('a stand-by reads the followed state and sends its commands to the controller; it answers once it has read their events', async () => {
    const s = schema();
    const a = await node(s, 'a');
    a.orderly.registerFunction('step', async () => ({ returnCode: 0 }));
    const b = await node(s, 'b');
    expect(a.orderly.engine.mode).toBe('running');
    expect(b.orderly.engine.mode).toBe('following');

    // Commands through the stand-by: decided and journaled by the controller.
    await deploy(b.orderly);
    expect(a.orderly.listWorkflows().map((w) => w.name)).toEqual(['serial']);
    expect(b.orderly.listWorkflows().map((w) => w.name)).toEqual(['serial']);
    const id = await b.orderly.addOrder({ workflow: 'serial', id: 'o1' });
    expect(id).toBe('o1');
    // Read-your-writes on the stand-by: the order is in its state when addOrder resolved.
    expect(b.orderly.getOrder('o1')).toBeDefined();
    const done = await b.orderly.awaitOrder('o1', { orSettled: true });
    expect(done.state).toBe('finished');

    // A refusal comes back as the controller's problem.
    await expect(b.orderly.addOrder({ workflow: 'nope', id: 'o2' })).rejects.toMatchObject({ problem: { code: 'invalid', message: expect.stringMatching(/nope/) } });
    // Both states agree, event for event.
    await a.orderly.engine.whenIdle();
    expect(b.orderly.engine.state.seq).toBe(a.orderly.engine.state.seq);
  }, 60_000);

  it("every node runs jobs: a function only a stand-by registered runs there, and a job of the stand-by's agent too, its log stored", async () => {
    const s = schema();
    const a = await node(s, 'a');
    const b = await node(s, 'b', false, undefined, ['edge']);
    const ran: string[] = [];
    b.orderly.registerFunction('step', async (ctx) => {
      ran.push(`b ${ctx.orderId}`);
      return { returnCode: 0 };
    });
    await deploy(a.orderly);
    await a.orderly.deploy({
      workflows: [{ name: 'edge', instructions: [{ TYPE: 'Execute.Named', jobName: 'e' }], jobs: { e: { agentName: 'edge', executable: { TYPE: 'ShellScriptExecutable', script: 'echo "on the edge node"' } } } }],
    });
    await a.orderly.addOrder({ workflow: 'serial', id: 'f1' });
    await b.orderly.addOrder({ workflow: 'serial', id: 'f2' });
    await a.orderly.addOrder({ workflow: 'edge', id: 'e1' });
    for (const id of ['f1', 'f2', 'e1']) expect((await a.orderly.awaitOrder(id, { orSettled: true })).state).toBe('finished');
    expect(ran.sort()).toEqual(['b f1', 'b f2']);
    const bWorker = [...a.orderly.engine.state.workers.values()].find((w) => w.agents?.includes('edge'));
    expect(bWorker).toBeDefined();
    const logs = await a.orderly.logs('e1');
    expect(logs.map((l) => l.stdout)).toEqual(['on the edge node\n']);
    // The stand-by reads the same from its followed state.
    await b.orderly.awaitOrder('e1', { orSettled: true });
    expect(b.orderly.getOrder('e1')?.state).toBe('finished');
  }, 60_000);

  it('the stand-by takes over when the controller goes, and goes on from the journal', async () => {
    const s = schema();
    const a = await node(s, 'a');
    const b = await node(s, 'b');
    b.orderly.registerFunction('step', async () => ({ returnCode: 0 }));
    await deploy(a.orderly);
    // Waiting for a time far ahead: the order survives the take-over.
    await a.orderly.addOrder({ workflow: 'serial', id: 'later', scheduledFor: Date.now() + 3_600_000 });
    await a.close();
    await b.controlling;
    expect(b.orderly.engine.mode).toBe('running');
    expect(b.orderly.getOrder('later')?.state).toBe('scheduled');
    await b.orderly.addOrder({ workflow: 'serial', id: 'now' });
    expect((await b.orderly.awaitOrder('now', { orSettled: true })).state).toBe('finished');
  }, 60_000);

  it('any node answers the HTTP API: a command on the stand-by, read back there and on the controller', async () => {
    const s = schema();
    const a = await node(s, 'a', true);
    a.orderly.registerFunction('step', async () => ({ returnCode: 0 }));
    const b = await node(s, 'b', true);
    await deploy(a.orderly);
    const headers = { authorization: 'Bearer cluster-test-admin-token-0123456789', 'content-type': 'application/json' };
    const res = await fetch(`${b.http!.url}/api/v1/orders`, { method: 'POST', headers, body: JSON.stringify({ workflow: 'serial', id: 'h1' }) });
    expect(res.status, await res.clone().text()).toBe(201);
    await b.orderly.awaitOrder('h1', { orSettled: true });
    for (const n of [a, b]) {
      const got = await fetch(`${n.http!.url}/api/v1/orders/h1`, { headers });
      expect(got.status).toBe(200);
      expect(((await got.json()) as { order: { state: string } }).order.state).toBe('finished');
    }
    const cluster = (await (await fetch(`${b.http!.url}/api/v1/cluster`, { headers })).json()) as { controller: { node: string } };
    expect(cluster.controller.node).toBe('a');

    // Tokens are shared through the database: made on one node, taken by the other; revoked
    // on that one, refused by the first (each node reads them again when told of a change).
    const made = await fetch(`${b.http!.url}/api/v1/tokens`, { method: 'POST', headers, body: JSON.stringify({ name: 'ops', role: 'viewer' }) });
    expect(made.status).toBe(201);
    const { id, token } = (await made.json()) as { id: string; token: string };
    const status = (url: string): Promise<number> => fetch(`${url}/api/v1/orders/h1`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    await expect.poll(() => status(a.http!.url), { timeout: 20_000 }).toBe(200);
    const gone = await fetch(`${a.http!.url}/api/v1/tokens/${id}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    expect(gone.status).toBe(204);
    await expect.poll(() => status(b.http!.url), { timeout: 20_000 }).toBe(401);
  }, 60_000);

  it('a change through the stand-by first reads what was just written through the controller (a PATCH of a job config created there)', async () => {
    const s = schema();
    const a = await node(s, 'a', true);
    const b = await node(s, 'b', true);
    const headers = { authorization: 'Bearer cluster-test-admin-token-0123456789', 'content-type': 'application/json' };
    // The stand-by reads no more of the journal until the test lets it.
    const { nextAsk, release } = holdReads(b);
    const made = await fetch(`${a.http!.url}/v2/api/jobconfigs`, { method: 'POST', headers, body: JSON.stringify({ name: 'serial', command: 'true' }) });
    expect(made.status, await made.clone().text()).toBeLessThan(300);
    const { id } = (await made.json()) as { id: string };
    const askedForEnd = nextAsk();
    const patching = fetch(`${b.http!.url}/v2/api/jobconfigs/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ blocking: true }) });
    // The PATCH asks where the journal ends before it answers (it would answer 404 from the state followed so far).
    let first: string;
    try {
      first = await Promise.race([askedForEnd, patching.then((r) => `answered ${r.status}`)]);
    } finally {
      release();
    }
    expect(first).toBe('asked');
    const patched = await patching;
    expect(patched.status, await patched.text()).toBe(200);
  }, 60_000);

  it("a command through a stand-by's control socket first reads what was just written through the controller (a deploy using a lock deployed there)", async () => {
    const s = schema();
    const a = await node(s, 'a');
    const dir = mkdtempSync(join(tmpdir(), 'orderly-follow-'));
    const b = await startNode({ dataDir: dir, controlSocket: true, database: { url: TEST_DATABASE_URL, schema: s, nodeName: 'b', leaseSeconds: 8 }, jobLauncher: 'inline' });
    open.push(b);
    try {
      expect(b.orderly.engine.mode).toBe('following');
      // The stand-by reads no more of the journal until the test lets it.
      const { nextAsk, release } = holdReads(b);
      await a.orderly.deploy({ locks: [{ name: 'shared', limit: 1 }], workflows: [] });
      // A workflow that uses the lock without defining it: valid only where the lock is known.
      const inventory = join(dir, 'inventory');
      mkdirSync(inventory);
      const workflow = {
        instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'shared' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
        jobs: { j: { executable: { TYPE: 'FunctionExecutable', functionName: 'step' } } },
      };
      writeFileSync(join(inventory, 'uses.workflow.json'), JSON.stringify(workflow));
      const askedForEnd = nextAsk();
      const deploying = requestSocket(b.controlSocket!, 'POST', '/deploy', { dir: inventory });
      let first: string;
      try {
        first = await Promise.race([askedForEnd, deploying.then((r) => `answered ${r.status}: ${JSON.stringify(r.body)}`)]);
      } finally {
        release();
      }
      expect(first).toBe('asked');
      const deployed = await deploying;
      expect(deployed.status, JSON.stringify(deployed.body)).toBeLessThan(300);
      expect(b.orderly.listWorkflows().map((w) => w.name)).toContain('uses');
    } finally {
      await b.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('nodes started with the same admin token at once both accept it', async () => {
    const s = schema();
    const [a, b] = await Promise.all([node(s, 'a', true), node(s, 'b', true)]);
    for (const n of [a, b]) {
      const r = await fetch(`${n.http!.url}/api/v1/orders`, { headers: { authorization: 'Bearer cluster-test-admin-token-0123456789' } });
      expect(r.status).toBe(200);
    }
  }, 60_000);

  it('schedules fire once for the whole cluster: a stand-by fires nothing, the next controller goes on from the fires journaled', async () => {
    const s = schema();
    let now = Date.parse('2026-03-01T00:00:30Z');
    const clock = (): number => now;
    const a = await node(s, 'a', false, clock);
    const b = await node(s, 'b', false, clock);
    await deploy(a.orderly);
    await a.orderly.saveJobConfig({ id: 'every', name: 'Every minute', workflow: 'serial', schedule: { type: 'interval', intervalSeconds: 60 } });
    await b.orderly.engine.whenIdle();
    now += 5 * 60_000;
    // Both nodes are asked; only the controller fires.
    await Promise.all([b.orderly.scheduler.poll(), a.orderly.scheduler.poll()]);
    const fired = (o: Orderly): number[] => o.getJobConfig('every')!.fires.map((f) => f.fireAt);
    expect(fired(a.orderly)).toHaveLength(5);
    await a.close();
    await b.controlling;
    await b.orderly.scheduler.poll();
    expect(fired(b.orderly)).toHaveLength(5);
    now += 60_000;
    await b.orderly.scheduler.poll();
    const all = fired(b.orderly);
    expect(all).toHaveLength(6);
    expect(new Set(all).size).toBe(6);
  }, 60_000);
});
