// A full disk is survived: `orderly serve` with its data dir on an 8 MiB tmpfs. When the
// journal cannot be written, commands get 503 naming the cause, reads keep answering, the
// process lives on, and when space returns Orderly goes on by itself with nothing lost.
// Mounting needs root; without it the test is skipped, and its name says why.
// Needs the build (dist/): `npm run build`.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const TOKEN = 'e2e-admin-token-0123456789';
const LISTENING = /Orderly listening on (http:\/\/127\.0\.0\.1:(\d+))/;
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

let child: ChildProcess | undefined;
let mountPoint: string | undefined;

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  if (mountPoint) {
    try {
      execFileSync('umount', ['-l', mountPoint]);
    } catch {
      // not mounted
    }
    rmSync(mountPoint, { recursive: true, force: true });
  }
  mountPoint = undefined;
});

function serve(data: string): { p: ChildProcess; out: { text: string } } {
  const out = { text: '' };
  const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', data], {
    env: { ...process.env, ORDERLY_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout!.setEncoding('utf8');
  p.stderr!.setEncoding('utf8');
  p.stdout!.on('data', (d: string) => (out.text += d));
  p.stderr!.on('data', (d: string) => (out.text += d));
  return { p, out };
}

function listening(p: ChildProcess, out: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const m = LISTENING.exec(out.text);
      if (m) resolve(m[1]!);
    };
    p.stdout!.on('data', check);
    p.once('exit', (code) => reject(new Error(`serve exited with ${code}; output:\n${out.text}`)));
    check();
  });
}

/** Fills the file system with one file until it is full; returns its path. */
function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // Smaller pieces into what is left.
  const fd2 = openSync(join(dir, 'filler-2'), 'w');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd2);
  }
  return file;
}

const addOrder = (base: string, id: string): Promise<Response> =>
  fetch(`${base}/api/v1/orders`, {
    method: 'POST',
    headers: AUTH,
    // Far in the future: the order waits, only its commits matter here.
    body: JSON.stringify({ workflow: 'pdSerialSingle', id, scheduledFor: Date.now() + 86_400_000 }),
  });

describe('a full disk', () => {
  it.skipIf(!isRoot)(`is survived by orderly serve on an 8 MiB tmpfs${isRoot ? '' : ' (SKIPPED: mounting a tmpfs needs root)'}`, async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'orderly-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
    const data = join(mountPoint, 'data');
    mkdirSync(data);
    const started = serve(data);
    child = started.p;
    const base = await listening(child, started.out);

    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await addOrder(base, `before-${i}`);
      expect(r.status).toBe(201);
      accepted.push(`before-${i}`);
    }

    fill(mountPoint);
    // Commits go on until SQLite needs a page it cannot have; from then on: 503, naming the cause.
    let refused: { status: number; body: { error: { code: string; message: string } } } | undefined;
    for (let i = 0; i < 20_000 && !refused; i++) {
      const r = await addOrder(base, `full-${i}`);
      if (r.status === 201) accepted.push(`full-${i}`);
      else refused = { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
    }
    expect(refused, 'no command was refused on a full disk').toBeDefined();
    expect(refused!.status).toBe(503);
    expect(refused!.body.error.code).toBe('unavailable');
    expect(refused!.body.error.message).toMatch(/full/);
    // Still refusing, still alive, reads still answering.
    expect((await addOrder(base, 'refused-again')).status).toBe(503);
    expect(child.exitCode).toBeNull();
    const read = await fetch(`${base}/api/v1/orders/${accepted.at(-1)!}`, { headers: AUTH });
    expect(read.status).toBe(200);
    expect((await fetch(`${base}/api/v1/orders/refused-again`, { headers: AUTH })).status).toBe(404);

    // Space returns: Orderly goes on by itself.
    rmSync(join(mountPoint, 'filler'));
    rmSync(join(mountPoint, 'filler-2'));
    let after: Response | undefined;
    for (let i = 0; ; i++) {
      after = await addOrder(base, `after-${i}`);
      if (after.status === 201) {
        accepted.push(`after-${i}`);
        break;
      }
      expect(after.status).toBe(503);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(child.exitCode).toBeNull();

    // Nothing lost: every accepted order is there, also after a restart.
    const stopped = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await stopped;
    const again = serve(data);
    child = again.p;
    const base2 = await listening(child, again.out);
    for (const id of accepted) {
      const r = await fetch(`${base2}/api/v1/orders/${id}`, { headers: AUTH });
      expect(r.status, id).toBe(200);
    }
    expect((await fetch(`${base2}/api/v1/orders/refused-again`, { headers: AUTH })).status).toBe(404);
  }, 180_000);
});
