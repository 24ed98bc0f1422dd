// `orderly serve`: the engine with the HTTP API (and the control socket, so the other CLI
// commands keep working). `startServe` does the work and is what tests call in-process;
// `runServe` adds the printing and the signals for the command line.
//
// Start: take the data dir's writer lock (engine.pid, as `orderly run` does), open the
// journal, deploy the examples folder (unchanged files change nothing), bootstrap auth,
// listen, open the control socket. Close: stop listening (open event streams end), close
// the socket, close the engine (running jobs are killed; recovered on the next start),
// release the lock.

import { mkdirSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

import { acquireWriterLock, dataDirPaths, probeEngine, socketAddress } from '../cli/client.js';
import { startControlServer, type ControlServer, type StatusInfo } from '../cli/control.js';
import { formatProblem } from '../core/commands.js';
import { SqliteStore } from '../journal/sqlite.js';
import { createOrderly, OrderlyError, type Orderly } from '../runtime/orderly.js';
import { buildServer } from './app.js';
import { AuthService } from './auth.js';
import { packageVersion } from './context.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './defaults.js';
import { ServerMetrics, timeCommits } from './metrics.js';

export { DEFAULT_HOST, DEFAULT_PORT };
export const DEFAULT_DATA_DIR = './.orderly';
/** The package's examples/all (from src/server or dist/server). */
export const DEFAULT_EXAMPLES = fileURLToPath(new URL('../../examples/all', import.meta.url));

const BUSY_WAIT_MS = 2_000;

export interface ServeOptions {
  /** 0: any free port (the real one is in the result). Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default ./.orderly */
  dataDir?: string;
  /** JS7 inventory folder deployed at start; false: none. Default: the package's examples/all. */
  examples?: string | false;
  slots?: number;
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** ORDERLY_ADMIN_TOKEN: the admin token to accept (its hash is stored). */
  adminToken?: string;
  /** Fastify's request log. */
  logger?: boolean;
  bodyLimitBytes?: number;
  heartbeatMs?: number;
  /** Also open the control socket in the data dir (default true). */
  controlSocket?: boolean;
  /** The engine stopped on a fatal error (a failed journal commit). */
  onFatal?: (err: unknown) => void;
  /**
   * For end-to-end tests only (env ORDERLY_TEST_CLOCK=<ISO time>): the engine's clock starts
   * at this time and moves only by `POST /api/v1/test/clock {advanceSeconds}` (admin), which
   * then fires due schedules. Never set in production: time would stand still.
   */
  testClockStart?: number;
}

export interface Serving {
  /** http://host:port */
  url: string;
  host: string;
  port: number;
  dataDir: string;
  /** The admin token generated at this start (no admin token existed): print it once. */
  adminToken?: string;
  /** What the examples deploy changed. */
  deployed?: { locks: string[]; workflows: { name: string; version: number }[] };
  orderly: Orderly;
  auth: AuthService;
  app: FastifyInstance;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startServe(opts: ServeOptions = {}): Promise<Serving> {
  const p = dataDirPaths(opts.dataDir ?? DEFAULT_DATA_DIR);
  const host = opts.host ?? DEFAULT_HOST;
  let examples: string | undefined;
  if (opts.examples !== false) {
    examples = resolve(opts.examples ?? DEFAULT_EXAMPLES);
    let isDir = false;
    try {
      isDir = statSync(examples).isDirectory();
    } catch {
      // below
    }
    if (!isDir) throw new Error(`${examples}: no such folder (--examples)`);
  }
  const useSocket = opts.controlSocket !== false;
  if (useSocket) socketAddress(p.socket); // refuse a too long path before anything else
  mkdirSync(p.dir, { recursive: true });

  const refuse = (pid: number): Error => new Error(`an engine is already running on ${p.dir} (pid ${pid})`);
  if (useSocket) {
    const running = await probeEngine(p.socket).catch((err: unknown) => {
      throw new Error(`something answers on ${p.socket}, but not as an Orderly engine: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (running) throw refuse(running.pid);
  }
  const release = await acquireWriterLock(p.pid, BUSY_WAIT_MS, refuse);

  let orderly: Orderly | undefined;
  let app: FastifyInstance | undefined;
  let control: ControlServer | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await app?.close();
        await control?.close().catch(() => undefined);
        await orderly?.close();
      } finally {
        release();
      }
    })());

  try {
    const startedAt = Date.now();
    const metrics = new ServerMetrics();
    const store = timeCommits(SqliteStore.open(p.journal, { checkpoint: 'worker', ...(opts.synchronous !== undefined ? { synchronous: opts.synchronous } : {}) }), metrics.observeCommit);
    let testOffsetMs = 0;
    const testClock = opts.testClockStart === undefined ? undefined : (): number => opts.testClockStart! + testOffsetMs;
    orderly = await createOrderly({
      dataDir: p.dir,
      store,
      ...(testClock ? { clock: testClock, autoSchedule: false } : {}),
      ...(opts.slots !== undefined ? { slots: opts.slots } : {}),
      ...(opts.synchronous !== undefined ? { synchronous: opts.synchronous } : {}),
      ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
    });
    let deployed: Serving['deployed'];
    if (examples !== undefined) {
      try {
        deployed = await orderly.deployDir(examples);
      } catch (err) {
        if (err instanceof OrderlyError) throw new Error(`cannot deploy ${examples}: ${formatProblem(err.problem)}`);
        throw err;
      }
    }
    const auth = await AuthService.open(orderly.engine.store);
    const boot = await auth.bootstrap(opts.adminToken);
    app = buildServer({
      orderly,
      auth,
      metrics,
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      ...(opts.bodyLimitBytes !== undefined ? { bodyLimitBytes: opts.bodyLimitBytes } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
    });
    if (testClock) {
      const o = orderly;
      app.post(
        '/api/v1/test/clock',
        {
          config: { role: 'admin' },
          schema: { body: Type.Object({ advanceSeconds: Type.Number({ minimum: 0, maximum: 366 * 86_400 }) }, { additionalProperties: false }) },
        },
        async (req) => {
          testOffsetMs += (req.body as { advanceSeconds: number }).advanceSeconds * 1000;
          await o.scheduler.poll();
          await o.engine.submit({ type: 'tick' });
          return { now: new Date(testClock()).toISOString() };
        },
      );
    }
    await app.listen({ port: opts.port ?? DEFAULT_PORT, host });
    const address = app.server.address() as AddressInfo;
    if (useSocket) {
      const o = orderly;
      const status = (): StatusInfo => ({ pid: process.pid, dataDir: p.dir, startedAt, version: packageVersion() });
      // We hold the writer lock: a socket file nobody answered on is stale.
      rmSync(p.socket, { force: true });
      control = await startControlServer(o, socketAddress(p.socket), status);
    }
    const serving: Serving = {
      url: `http://${hostForUrl(host)}:${address.port}`,
      host,
      port: address.port,
      dataDir: p.dir,
      orderly,
      auth,
      app,
      close,
    };
    if (boot.token !== undefined) serving.adminToken = boot.token;
    if (deployed !== undefined) serving.deployed = deployed;
    return serving;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/**
 * The `orderly serve` command: starts, prints the generated admin token (once) and where it
 * listens, and runs until SIGINT/SIGTERM. Resolves with the exit code.
 */
export async function runServe(opts: ServeOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let stopWith: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((r) => (stopWith = r));
  let stopping = false;
  let serving: Serving | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`orderly: ${sig} again: exiting without a clean close\n`);
      process.exit(1);
    }
    stopping = true;
    out(`orderly: ${sig}: stopping`);
    stopWith(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', () => undefined);
  try {
    const testClock = process.env['ORDERLY_TEST_CLOCK'];
    if (testClock !== undefined && opts.testClockStart === undefined) {
      const t = Date.parse(testClock);
      if (!Number.isFinite(t)) throw new Error(`ORDERLY_TEST_CLOCK: not an ISO time: ${testClock}`);
      opts = { ...opts, testClockStart: t };
      out(`orderly: TEST CLOCK at ${new Date(t).toISOString()}: time moves only by POST /api/v1/test/clock`);
    }
    serving = await startServe({
      ...opts,
      onFatal: (err) => {
        process.stderr.write(`orderly: the engine stopped: ${err instanceof Error ? err.message : String(err)}\n`);
        stopping = true;
        stopWith(1);
      },
    });
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }
  if (serving.adminToken !== undefined) {
    out(`admin token: ${serving.adminToken}`);
    out('(shown once: only its hash is kept; create more with POST /api/v1/tokens)');
  }
  out(`Orderly listening on ${serving.url} (data dir ${serving.dataDir})`);
  const code = await stopped;
  try {
    await serving.close();
  } catch (err) {
    process.stderr.write(`orderly: closing: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  out('orderly: stopped');
  setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}
