// `orderly serve`: a node with the HTTP API and the control socket (so the other CLI commands
// keep working). `startServe` does the work and is what tests call in-process; `runServe`
// adds the printing and the signals for the command line.
//
// The node start-up (start.ts) takes the writer lock, opens the journal, starts the engine,
// listens and opens the control socket; here the examples folder is deployed once the engine
// runs (unchanged files change nothing). Close: stop listening (open event streams end), close
// the socket, close the engine (running jobs are killed; recovered on the next start), release
// the lock.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

import { formatProblem } from '../core/commands.js';
import { OrderlyError, type Orderly } from '../runtime/orderly.js';
import type { AuthService } from '../server/auth.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../server/defaults.js';
import { DEFAULT_DATA_DIR } from './data-dir.js';
import { startNode, type DatabaseOptions } from './start.js';

export { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT };
/** The package's examples/all (from src/node or dist/node). */
export const DEFAULT_EXAMPLES = fileURLToPath(new URL('../../examples/all', import.meta.url));

export interface ServeOptions {
  /** 0: any free port (the real one is in the result). Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default ./.orderly; false: none (with `database` only: no control socket). */
  dataDir?: string | false;
  /** JS7 inventory folder deployed at start; false: none. Default: the package's examples/all. */
  examples?: string | false;
  slots?: number;
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** The journal on PostgreSQL (--database, ORDERLY_DATABASE_URL) instead of the data dir's SQLite. */
  database?: DatabaseOptions;
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
  /** Absent: none (a node on PostgreSQL started without one). */
  dataDir?: string;
  /** The admin token generated at this start (no admin token existed): print it once. */
  adminToken?: string;
  /** What the examples deploy changed. */
  deployed?: { locks: string[]; workflows: { name: string; version: number }[] };
  orderly: Orderly;
  auth: AuthService;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServe(opts: ServeOptions = {}): Promise<Serving> {
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
  let testOffsetMs = 0;
  const testClock = opts.testClockStart === undefined ? undefined : (): number => opts.testClockStart! + testOffsetMs;
  let deployed: Serving['deployed'];
  if (opts.dataDir === false && opts.database === undefined) throw new Error('serve: a data dir is needed without a database');
  const dataDir = opts.dataDir === false ? undefined : (opts.dataDir ?? DEFAULT_DATA_DIR);
  const node = await startNode({
    ...(dataDir !== undefined ? { dataDir, controlSocket: opts.controlSocket !== false } : {}),
    ...(testClock ? { clock: testClock, autoSchedule: false } : {}),
    ...(opts.slots !== undefined ? { slots: opts.slots } : {}),
    ...(opts.synchronous !== undefined ? { synchronous: opts.synchronous } : {}),
    ...(opts.database !== undefined ? { database: opts.database } : {}),
    ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
    onEngine: async (orderly) => {
      if (examples === undefined) return;
      try {
        deployed = await orderly.deployDir(examples);
      } catch (err) {
        if (err instanceof OrderlyError) throw new Error(`cannot deploy ${examples}: ${formatProblem(err.problem)}`);
        throw err;
      }
    },
    http: {
      port: opts.port ?? DEFAULT_PORT,
      host: opts.host ?? DEFAULT_HOST,
      ...(opts.adminToken !== undefined ? { adminToken: opts.adminToken } : {}),
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      ...(opts.bodyLimitBytes !== undefined ? { bodyLimitBytes: opts.bodyLimitBytes } : {}),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(testClock
        ? {
            extraRoutes: (app: FastifyInstance, o: Orderly) => {
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
            },
          }
        : {}),
    },
  });
  const http = node.http!;
  const serving: Serving = {
    url: http.url,
    host: http.host,
    port: http.port,
    ...(node.paths ? { dataDir: node.paths.dir } : {}),
    orderly: node.orderly,
    auth: http.auth,
    app: http.app,
    close: node.close,
  };
  if (http.adminToken !== undefined) serving.adminToken = http.adminToken;
  if (deployed !== undefined) serving.deployed = deployed;
  return serving;
}

/** How long `orderly serve` waits for its close after the engine stopped on a fatal error before it exits anyway. */
export const FATAL_CLOSE_MS = 10_000;

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
  out(`Orderly listening on ${serving.url} (${serving.dataDir !== undefined ? `data dir ${serving.dataDir}` : 'no data dir'})`);
  const code = await stopped;
  // After a fatal error (a lost lease or heartbeat: the database may be out of reach) the close
  // may wait forever on a query that never gets an answer; the jobs were killed already, so
  // the process exits anyway, for its supervisor to start it again.
  const bound =
    code !== 0
      ? setTimeout(() => {
          process.stderr.write(`orderly: the close did not end within ${FATAL_CLOSE_MS} ms after the engine stopped: exiting\n`);
          process.exit(code);
        }, FATAL_CLOSE_MS)
      : undefined;
  try {
    await serving.close();
  } catch (err) {
    process.stderr.write(`orderly: closing: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    clearTimeout(bound);
  }
  out('orderly: stopped');
  setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}
