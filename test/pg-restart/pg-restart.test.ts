// PostgreSQL restarted under a cluster of three real `orderly serve --database` nodes while
// orders are added and run: the nodes reconnect and nothing is lost. A restart breaks every
// other test's connections, so this file is not in the main run (vitest.config.ts leaves
// test/pg-restart/ out): `npm run test:pg-restart` runs it alone (.ci/run after the suite).
//
// The restart is `pg_ctlcluster --skip-systemctl-redirect VERSION main restart` (Debian's
// PostgreSQL, as .ci/run starts it). The lease is long (20 s) so that the restart, however
// slow on a loaded machine, ends well within it: a node whose lease or heartbeat runs out
// stops by design (test/e2e/cluster-faults.e2e.test.ts covers that).

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { checkIntervals, checkJournalLock, Cluster, lockedJobScript, lockedWorkflow, waitFor, type NodeProc } from '../support/cluster-nodes.js';
import { withClient } from '../support/postgres.js';

const LEASE_S = 20;

let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

async function postmasterStart(): Promise<string> {
  return withClient(async (c) => (await c.query<{ t: string }>('SELECT pg_postmaster_start_time()::text AS t')).rows[0]!.t);
}

/** Restarts the server; the test's other work (the adds) goes on meanwhile. */
async function restartPostgres(): Promise<void> {
  if (!existsSync('/etc/postgresql')) throw new Error('PostgreSQL restart: no /etc/postgresql (Debian cluster) on this machine: this test restarts the local server with pg_ctlcluster');
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { timeout: 120_000 });
}

describe('PostgreSQL restarted under load', () => {
  it('three nodes reconnect; every order added before, during and after the restart finishes; no lock held twice', async () => {
    const c = (cluster = new Cluster());
    const n1 = await c.start({ name: 'n1', leaseSeconds: LEASE_S });
    const [n2, n3] = await Promise.all([c.start({ name: 'n2', leaseSeconds: LEASE_S }), c.start({ name: 'n3', leaseSeconds: LEASE_S })]);
    const nodes: NodeProc[] = [n1, n2, n3];
    await waitFor('three live nodes', async () => ((await c.api<{ nodes: unknown[] }>(n1, 'GET', '/api/v1/cluster')).body.nodes.length === 3 ? true : undefined));
    const before = (await c.controller(n1))!;
    await c.deploy(
      n1,
      {
        locked: lockedWorkflow('L', lockedJobScript(c.log, 'L', { ticks: 2 })),
        quick: { TYPE: 'Workflow', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\nsleep 0.2\n' } } } },
      },
      ['L'],
    );

    // Orders are added one after another through the three nodes, up to `limit`; an add that
    // fails while the database is away is sent again (the same id: 409 then means it was
    // taken), so every id in `added` was acknowledged.
    const added: string[] = [];
    let limit = 10;
    let stop = false;
    const adder = (async () => {
      for (let i = 0; !stop; ) {
        if (added.length >= limit) {
          await sleep(50);
          continue;
        }
        const id = `o${i}`;
        await c.addOrderRetrying(nodes[i % 3]!, i % 2 === 0 ? 'locked' : 'quick', id);
        added.push(id);
        i++;
      }
    })();
    await waitFor('10 orders added', () => (added.length >= 10 ? true : undefined));
    const startedAt = await postmasterStart();
    limit = added.length + 30; // at most 30 more while it restarts
    await restartPostgres();
    expect(await postmasterStart()).not.toBe(startedAt);
    const duringRestart = added.length - 10;
    limit = added.length + 10;
    await waitFor('10 more orders added after the restart', () => (added.length >= limit ? true : undefined));
    stop = true;
    await adder;
    console.log(`PostgreSQL restarted: 10 orders added before, ${duringRestart} during the restart, 10 after`);

    // Every node is still up and sees every order finished.
    for (const n of nodes) expect(n.child.exitCode, `${n.name}:\n${n.output()}`).toBeNull();
    for (const n of nodes) {
      const ended = await c.allEnded(n, added);
      expect(ended.length).toBe(added.length);
      for (const o of ended) expect(o.state, `${o.id} on ${n.name}: ${JSON.stringify(o.outcome)}`).toBe('finished');
    }
    const after = (await c.controller(n2))!;
    expect(after.epoch).toBeGreaterThanOrEqual(before.epoch);

    const lockedIds = added.filter((_, i) => i % 2 === 0);
    const grants = checkJournalLock(await c.journal(), 'L');
    expect(grants.map((g) => g.order).sort()).toEqual([...lockedIds].sort());
    const runs = checkIntervals(c.logLines());
    expect(runs.map((r) => r.order).sort()).toEqual([...lockedIds].sort());
    expect(runs.every((r) => r.left)).toBe(true);
  }, 600_000);
});
