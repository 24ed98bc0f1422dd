// Crash safety, end to end: the engine as a real process, kill -9 while orders run, hold
// locks and wait; restart; check the journal, the orders, the locks and the job processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { State } from '../../src/core/state.js';
import { alive, startEngine } from '../support/engine-process.js';
import { replayChecked } from '../support/journal-check.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'orderly-crash-'));
const inv = join(root, 'inventory');
const data = join(root, 'data');
const audit = join(root, 'audit.log');
/** Jobs wait for this file: the test decides when they may end, not the machine's speed. */
const go = join(root, 'go');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

// Each job appends "start|end <order> <pid> <token>" to the audit file and runs until the go file exists.
const job = (sleep: string, lock: string, extra: Record<string, unknown> = {}) => ({
  executable: {
    TYPE: 'ShellScriptExecutable',
    script: `#!/bin/sh\necho "start $ORDERLY_ORDER_ID $$ $ORDERLY_LOCK_TOKEN_${lock}" >> "$AUDIT"\nwhile [ ! -f "$GO" ]; do sleep 0.05; done\nsleep ${sleep}\necho "end $ORDERLY_ORDER_ID $$" >> "$AUDIT"\n`,
    env: { AUDIT: `'${audit}'`, GO: `'${go}'` },
  },
  ...extra,
});

function writeInventory(): void {
  mkdirSync(inv, { recursive: true });
  writeFileSync(join(inv, 'Serial.lock.json'), JSON.stringify({ TYPE: 'Lock', limit: 1 }));
  writeFileSync(join(inv, 'Shared.lock.json'), JSON.stringify({ TYPE: 'Lock', limit: 3 }));
  const lockWf = (lockName: string, count: number | undefined, j: unknown) => ({
    TYPE: 'Workflow',
    instructions: [{ TYPE: 'Lock', demands: [count === undefined ? { lockName } : { lockName, count }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
    jobs: { j },
  });
  writeFileSync(join(inv, 'serial.workflow.json'), JSON.stringify(lockWf('Serial', undefined, job('0.3', 'SERIAL'))));
  writeFileSync(join(inv, 'shared.workflow.json'), JSON.stringify(lockWf('Shared', 1, job('0.3', 'SHARED', { parallelism: 3 }))));
  writeFileSync(join(inv, 'again.workflow.json'), JSON.stringify(lockWf('Serial', undefined, job('0.3', 'SERIAL', { restartable: true }))));
}

const start = (): Promise<ChildProcess> => startEngine(inv, data, children);

function cliJson<T>(...args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cli, ...args, '--data-dir', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('exit', (code) => (code === 0 ? resolve((args.includes('--json') ? JSON.parse(out) : out.trim()) as T) : reject(new Error(`orderly ${args.join(' ')}: ${err}`))));
  });
}

interface OrderJson {
  id: string;
  state: string;
  position: unknown[];
  outcome?: { reason?: string; type: string };
  locks: unknown[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const auditLines = (): string[][] => (existsSync(audit) ? readFileSync(audit, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')) : []);

/** Replays the journal event by event and checks the lock table after each one. */
const checkJournal = (): Promise<{ events: number; state: State }> => replayChecked(join(data, 'journal.sqlite'));

describe('crash safety (kill -9)', () => {
  it('every order survives; locks never doubled; interrupted orders fail disrupted or rerun; orphans die', async () => {
    writeInventory();
    const first = await start();
    const ids: string[] = [];
    ids.push(await cliJson<string>('order', 'add', 'again', '--id', 'again-0')); // holds Serial at the crash
    const adds = [
      ...Array.from({ length: 4 }, (_, i) => cliJson<string>('order', 'add', 'serial', '--id', `serial-${i}`)),
      ...Array.from({ length: 5 }, (_, i) => cliJson<string>('order', 'add', 'shared', '--id', `shared-${i}`)),
    ];
    ids.push(...(await Promise.all(adds)));
    // Wait until the jobs that can start have started (they block on the go file), however long
    // that takes (the test's timeout is the safety net).
    let before: OrderJson[] = [];
    for (;; await sleep(100)) {
      before = await cliJson<OrderJson[]>('orders', '--json');
      if (before.filter((o) => o.state === 'processing').length === 4 && auditLines().length === 4) break;
    }
    const running = before.filter((o) => o.state === 'processing').map((o) => o.id);
    expect(running).toContain('again-0');
    expect(running.some((id) => id.startsWith('shared'))).toBe(true);
    expect(before.filter((o) => o.state === 'waiting').length).toBeGreaterThan(0);
    const started = auditLines().filter((l) => l[0] === 'start');
    const orphanPids = started.map((l) => Number(l[2]));
    expect(orphanPids.length).toBeGreaterThan(0);

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(orphanPids.some(alive)).toBe(true); // the jobs outlived the engine…

    await start();
    for (const pid of orphanPids) expect(alive(pid)).toBe(false); // …until the restart killed them
    writeFileSync(go, ''); // from now on jobs end

    // Every order is there; those whose jobs died are disrupted failures, at the outermost Lock, holding nothing.
    const after = await cliJson<OrderJson[]>('orders', '--json');
    expect(after.map((o) => o.id).sort()).toEqual([...ids].sort());
    for (const id of running) {
      const o = after.find((x) => x.id === id)!;
      if (id === 'again-0') continue;
      expect(o.state).toBe('failed');
      expect(o.outcome?.reason).toBe('disrupted');
      expect(o.position).toEqual([0]);
      expect(o.locks).toEqual([]);
    }

    // The others finish (the restartable one ran again).
    for (;;) {
      const now = await cliJson<OrderJson[]>('orders', '--json');
      const open = now.filter((o) => o.state !== 'finished' && o.state !== 'failed');
      if (open.length === 0) {
        for (const o of now) if (!running.includes(o.id)) expect(o.state).toBe('finished');
        expect(now.find((o) => o.id === 'again-0')!.state).toBe('finished');
        // The restartable job ran twice: once killed with the engine, once to the end.
        expect(auditLines().filter((l) => l[0] === 'start' && l[1] === 'again-0').length).toBe(2);
        break;
      }
      await sleep(200);
    }

    // No two Serial jobs ran at once, judging by the job processes themselves: each start
    // after the first follows the previous one's end, or the previous one's death by restart.
    const serialStarts = auditLines().filter((l) => l[0] === 'start' && (l[1]!.startsWith('serial') || l[1]!.startsWith('again')));
    const tokens = serialStarts.map((l) => Number(l[3]));
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens); // fencing tokens only grow
    // Distinct per grant; the restartable order kept its grant (and token) across its rerun.
    expect(new Set(tokens).size).toBe(tokens.length - 1);

    const { events } = await checkJournal();
    expect(events).toBeGreaterThan(20);
  });
});
