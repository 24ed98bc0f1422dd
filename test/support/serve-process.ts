// A real `orderly serve` process (dist/cli/main.js) on a free port, and calls to its API, for the
// end-to-end tests and the dashboard's browser tests. Needs the build: `npm run build`.
import { spawn, type ChildProcess } from 'node:child_process';

import { expect } from 'vitest';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

export interface Served {
  proc: ChildProcess;
  /** Where it listens, e.g. http://127.0.0.1:40123. */
  base: string;
  /** Its stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit (nothing when it has exited already). */
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Added to the environment (the caller's, with ORDERLY_ADMIN_TOKEN set to the token). */
  env?: Record<string, string>;
  /** Only a safety net that shows the output (and kills the process): the start waits for the line that says where it listens, or the exit. */
  timeoutMs?: number;
}

/** Starts `orderly serve --port 0 --data-dir DATADIR ARGS` with `token` as the admin token; resolves once it listens. */
export function startServe(dataDir: string, token: string, args: string[] = [], opts: ServeOptions = {}): Promise<Served> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const proc = spawn(process.execPath, [cli, 'serve', '--port', '0', '--data-dir', dataDir, ...args], {
    env: { ...process.env, ORDERLY_ADMIN_TOKEN: token, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`orderly serve did not start within ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[1]!, output: () => out, stop });
      }
    });
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`orderly serve exited ${code}: ${out}`));
    });
  });
}

/**
 * Calls the API with the bearer token and gives the JSON answer (undefined when empty). Expects
 * the answer's status to be `status` when given, else any 2xx.
 */
export async function apiCall<T = Record<string, unknown>>(base: string, token: string, method: string, path: string, body?: unknown, status?: number): Promise<T> {
  const r = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (status !== undefined) expect(r.status, `${method} ${path}: ${text}`).toBe(status);
  else expect(r.ok, `${method} ${path}: ${r.status} ${text}`).toBe(true);
  return (text ? JSON.parse(text) : undefined) as T;
}
