// How a CLI command reaches an engine: over the control socket of a running engine, or,
// when nothing answers there, straight through the data dir's journal (offline).
//
// Offline access does NOT open an Engine: an engine would recover (mark lost executions,
// fire due timers) and start jobs inside this short-lived process, and closing it would
// kill them, leaving their orders `disrupted`. Instead the journal is read into a state,
// the command is decided by the pure core, and the events are appended. Before them a
// `SlotsSet 0` event records that no worker is running here, so the core queues orders
// that reach a job (`waiting` for a job slot) instead of starting them; the next engine's
// start sets its slots, which starts them. Reads show the journal as it is, without the
// recovery an engine would do on start.
//
// Only one writer at a time: `<data-dir>/engine.pid` is created exclusively by `orderly run`
// for its lifetime and by an offline write for its few milliseconds.
//
// The offline part (journal-api.ts, with the journal and the core) is loaded only when no
// engine answers.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, relative, resolve } from 'node:path';

import type { ErrorBody, Reply, StatusInfo } from './control.js';
import type { JournalApi } from './journal-api.js';
import { ApiError } from './protocol.js';

export const SOCKET_NAME = 'orderly.sock';
export const PID_NAME = 'engine.pid';
export const JOURNAL_NAME = 'journal.sqlite';

/** UNIX socket paths are limited to ~107 bytes (sun_path). */
const SOCKET_PATH_BYTES_MAX = 104;

export { ApiError } from './protocol.js';

/** Nothing listens on the socket (missing file, or a stale one): go offline. */
export class NotRunning extends Error {
  override name = 'NotRunning';
}

export function dataDirPaths(dataDir: string): { dir: string; socket: string; pid: string; journal: string } {
  const dir = resolve(dataDir);
  return { dir, socket: join(dir, SOCKET_NAME), pid: join(dir, PID_NAME), journal: join(dir, JOURNAL_NAME) };
}

/** The address to bind or connect: the absolute path, or a relative one when that is too long. */
export function socketAddress(socketPath: string): string {
  if (Buffer.byteLength(socketPath) <= SOCKET_PATH_BYTES_MAX) return socketPath;
  const rel = relative(process.cwd(), socketPath);
  if (Buffer.byteLength(rel) <= SOCKET_PATH_BYTES_MAX) return rel;
  throw new Error(`socket path ${socketPath} is longer than ${SOCKET_PATH_BYTES_MAX} bytes: use a shorter --data-dir`);
}

// ---------------------------------------------------------------- the socket client

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ENOTDIR']);

/** One request over the socket. Rejects with NotRunning when the connection cannot be made. */
export function requestSocket(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    let connected = false;
    const req = httpRequest(
      {
        socketPath: socketAddress(socketPath),
        method,
        path,
        agent: false,
        headers: {
          connection: 'close',
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolvePromise({ status: res.statusCode ?? 500, body: text.trim() === '' ? undefined : (JSON.parse(text) as unknown) });
          } catch {
            reject(new Error(`the engine on ${socketPath} answered ${res.statusCode ?? '?'} with a body that is not JSON`));
          }
        });
      },
    );
    req.on('socket', (s) => s.once('connect', () => (connected = true)));
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`the engine on ${socketPath} did not answer ${method} ${path} within ${timeoutMs} ms`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code !== undefined && CONNECT_ERRORS.has(err.code)) reject(new NotRunning(`nothing answers on ${socketPath}`));
      else reject(err);
    });
    req.end(payload);
  });
}

/** The status of the engine answering on the socket, or undefined when none does. */
export async function probeEngine(socketPath: string, timeoutMs = 3_000): Promise<StatusInfo | undefined> {
  if (!existsSync(socketPath)) return undefined;
  try {
    const r = await requestSocket(socketPath, 'GET', '/status', undefined, timeoutMs);
    if (r.status === 200) return r.body as StatusInfo;
    throw new Error(`something on ${socketPath} answered /status with ${r.status}`);
  } catch (err) {
    if (err instanceof NotRunning) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------- the writer lock (engine.pid)

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export type PidLock = { ok: true; release: () => void } | { ok: false; pid: number };

/**
 * Takes the data dir's writer lock, waiting up to `waitMs` for a holder that does not
 * answer on the socket (an engine starting up, or an offline command: milliseconds).
 * Returns the release; throws `refuse(pid)` when the lock stays taken.
 */
export async function acquireWriterLock(pidFile: string, waitMs: number, refuse: (pid: number) => Error): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  let lock = acquirePidFile(pidFile);
  while (!lock.ok && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    lock = acquirePidFile(pidFile);
  }
  if (!lock.ok) throw refuse(lock.pid);
  return lock.release;
}

/**
 * Creates `file` exclusively with our pid. A file naming a dead process (or nothing) is stale
 * and replaced. Fails with the holder's pid while it lives.
 */
export function acquirePidFile(file: string): PidLock {
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = readPid(file);
      if (pid !== undefined && pid !== process.pid && pidAlive(pid)) return { ok: false, pid };
      // Stale (or half-written by a writer that is just starting: re-read before removing).
      if (readPid(file) === pid) rmSync(file, { force: true });
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      ok: true,
      release: () => {
        if (readPid(file) === process.pid) rmSync(file, { force: true });
      },
    };
  }
  throw new Error(`cannot create ${file}: it keeps reappearing`);
}

// ---------------------------------------------------------------- a connection, either way

export interface Connection {
  /**
   * `engine`: a running engine answered on the socket. `offline`: the journal directly.
   * `server`: an `orderly serve` over HTTP (--server, see http-client.ts).
   */
  readonly mode: 'engine' | 'offline' | 'server';
  /** The body of a 2xx reply; throws ApiError for an error reply. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

function unwrap<T>(r: Reply): T {
  if (r.status >= 200 && r.status < 300) return r.body as T;
  const e = (r.body as Partial<ErrorBody> | undefined)?.error;
  throw new ApiError(r.status, e?.code ?? 'internal', e?.message ?? `the engine answered ${r.status}`, e?.problems ?? []);
}

export interface ConnectOptions {
  /** The command changes the journal (else it only reads). */
  write: boolean;
  /** The command may create the data dir and its journal (deploy). */
  create?: boolean;
  /** How long to wait for a busy data dir (another offline writer, an engine starting). */
  busyWaitMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reaches the engine of a data dir: its socket when an engine answers there, else the journal
 * itself. For offline writes, holds `engine.pid` until `close()`.
 */
export async function connect(dataDir: string, opts: ConnectOptions): Promise<Connection> {
  const p = dataDirPaths(dataDir);
  const deadline = Date.now() + (opts.busyWaitMs ?? 5_000);
  for (;;) {
    if (existsSync(p.socket)) {
      try {
        // Probe first: a command must not be half-sent and then repeated offline.
        const st = await probeEngine(p.socket);
        if (st) {
          return {
            mode: 'engine',
            call: async <T>(method: string, path: string, body?: unknown): Promise<T> => unwrap<T>(await requestSocket(p.socket, method, path, body)),
            close: () => Promise.resolve(),
          };
        }
      } catch (err) {
        throw new Error(`${err instanceof Error ? err.message : String(err)} (is an engine hanging? its pid is in ${p.pid})`);
      }
    }
    if (!existsSync(p.journal) && !opts.create) {
      throw new ApiError(
        404,
        'not-found',
        `no Orderly data dir at ${p.dir} (no engine answers there and there is no ${JOURNAL_NAME}); give --data-dir or ORDERLY_DATA_DIR, or deploy first`,
      );
    }
    let lock: PidLock | undefined;
    if (opts.write) {
      mkdirSync(p.dir, { recursive: true });
      lock = acquirePidFile(p.pid);
      if (!lock.ok) {
        // An engine starting up (its socket comes soon) or another offline writer (done soon).
        if (Date.now() < deadline) {
          await sleep(100);
          continue;
        }
        throw new Error(`data dir ${p.dir} is in use by pid ${lock.pid}, which does not answer on ${p.socket}; try again, or stop pid ${lock.pid}`);
      }
    }
    const release = lock?.ok ? lock.release : (): void => undefined;
    // The journal, the core and the control routes are loaded only here: a command that
    // reaches a running engine does not pay for them.
    let api: JournalApi;
    let handle: typeof import('./control.js').handle;
    try {
      const [journalApi, control] = await Promise.all([import('./journal-api.js'), import('./control.js')]);
      handle = control.handle;
      api = await journalApi.JournalApi.open(p.journal);
    } catch (err) {
      release();
      throw err;
    }
    return {
      mode: 'offline',
      call: async <T>(method: string, path: string, body?: unknown): Promise<T> => {
        const r = await handle(api, method, path, body);
        // Through JSON, so that offline answers have exactly the socket's shapes.
        return unwrap<T>({ status: r.status, body: JSON.parse(JSON.stringify(r.body ?? null)) as unknown });
      },
      close: async () => {
        try {
          await api.close();
        } finally {
          release();
        }
      },
    };
  }
}
