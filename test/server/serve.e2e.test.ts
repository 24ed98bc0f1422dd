// End to end: `orderly serve --port 0` as a real process, driven over real HTTP.
// Needs the build (dist/): `npm run build`.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import type { LockView } from '../../src/runtime/views.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const TOKEN = 'e2e-admin-token-0123456789';

let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function serve(args: string[], env: Record<string, string | undefined>): { p: ChildProcess; out: { text: string } } {
  const out = { text: '' };
  const p = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.setEncoding('utf8');
  p.stderr!.setEncoding('utf8');
  p.stdout!.on('data', (d: string) => (out.text += d));
  p.stderr!.on('data', (d: string) => (out.text += d));
  return { p, out };
}

const LISTENING = /Orderly listening on (http:\/\/127\.0\.0\.1:(\d+)) \(data dir (.+)\)/;

function exitOf(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (p.exitCode !== null ? resolve(p.exitCode) : p.once('exit', (code) => resolve(code))));
}

// Waits for the line (or the exit); the timeout is only a safety net that shows the output,
// set under the test's own 120 s: a start on a machine busy with other work can take tens of seconds.
function waitForLine(p: ChildProcess, re: RegExp, out: { text: string }, timeoutMs = 90_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${out.text}`)), timeoutMs);
    const check = (): void => {
      const m = re.exec(out.text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    p.stdout!.on('data', check);
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before printing ${re}; output:\n${out.text}`));
    });
    check();
  });
}

/**
 * Calls `check` once, then again after every chunk of the journal's event stream (GET /events
 * from the start), until it gives true. No clock: the test's timeout is the safety net.
 */
async function afterEachEvent(base: string, headers: Record<string, string>, check: () => Promise<boolean>): Promise<void> {
  if (await check()) return;
  const stream = new AbortController();
  try {
    const r = await fetch(`${base}/api/v1/events?after=0`, { headers, signal: stream.signal });
    expect(r.status).toBe(200);
    for await (const _chunk of r.body!) if (await check()) return;
    throw new Error('the event stream ended before the condition held');
  } finally {
    stream.abort();
  }
}

describe('orderly serve (end to end)', () => {
  it('serves the examples over HTTP: 3 orders of pdSerialSingle → 1 holder + 2 waiters; SIGTERM exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-serve-'));
    const started = serve(['--port', '0', '--data-dir', join(dir, 'data')], { ORDERLY_ADMIN_TOKEN: TOKEN });
    child = started.p;
    const out = started.out;

    const m = await waitForLine(child, LISTENING, out);
    const base = m[1]!;
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(m[3]).toBe(join(dir, 'data'));
    // With ORDERLY_ADMIN_TOKEN set, no token is generated or printed.
    expect(out.text).not.toContain('admin token:');

    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    expect((await fetch(`${base}/api/v1/health`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/locks`)).status).toBe(401);

    for (const id of ['q1', 'q2', 'q3']) {
      const r = await fetch(`${base}/api/v1/orders`, { method: 'POST', headers: auth, body: JSON.stringify({ workflow: 'pdSerialSingle', id }) });
      expect(r.status).toBe(201);
      expect(await r.json()).toEqual({ id });
    }
    // The first order holds the lock while its jobs run (3 × 10 s); the others wait in line.
    // The lock is read again after every journal event the server streams, until it shows that.
    let single: LockView | undefined;
    await afterEachEvent(base, auth, async () => {
      const r = await fetch(`${base}/api/v1/locks`, { headers: auth });
      expect(r.status).toBe(200);
      single = ((await r.json()) as { locks: LockView[] }).locks.find((l) => l.name === 'pdSerialLockSingle');
      return single !== undefined && single.holders.length === 1 && single.queue.length === 2;
    });
    expect(single!.holders.map((x) => x.orderId)).toEqual(['q1']);
    expect(single!.queue.map((x) => [x.orderId, x.place])).toEqual([
      ['q2', 1],
      ['q3', 2],
    ]);

    const exited = exitOf(child);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('prints a generated admin token once, on the first start only; SIGINT exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-serve-'));
    const data = join(dir, 'data');
    const first = serve(['--port', '0', '--data-dir', data, '--no-examples'], { ORDERLY_ADMIN_TOKEN: undefined });
    child = first.p;
    const m = await waitForLine(first.p, LISTENING, first.out);
    const token = /^admin token: (oly_[A-Za-z0-9_-]+)$/m.exec(first.out.text)?.[1];
    expect(token, first.out.text).toBeDefined();
    const me = await fetch(`${m[1]!}/api/v1/me`, { headers: { authorization: `Bearer ${token!}` } });
    expect(await me.json()).toMatchObject({ role: 'admin' });
    // Nothing deployed with --no-examples.
    const wfs = await fetch(`${m[1]!}/api/v1/workflows`, { headers: { authorization: `Bearer ${token!}` } });
    expect(await wfs.json()).toEqual({ workflows: [] });
    let exited = exitOf(first.p);
    first.p.kill('SIGINT');
    expect(await exited).toBe(0);

    const second = serve(['--port', '0', '--data-dir', data, '--no-examples'], { ORDERLY_ADMIN_TOKEN: undefined });
    child = second.p;
    const m2 = await waitForLine(second.p, LISTENING, second.out);
    expect(second.out.text).not.toContain('admin token:');
    const again = await fetch(`${m2[1]!}/api/v1/me`, { headers: { authorization: `Bearer ${token!}` } });
    expect(again.status).toBe(200);
    exited = exitOf(second.p);
    second.p.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
