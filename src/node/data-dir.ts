// A data dir's files and its writer lock. Kept light (node: modules only): the CLI loads it
// before it knows whether an engine runs.
//
//   <data-dir>/journal.sqlite   the journal
//   <data-dir>/orderly.sock     the control socket of the engine running there
//   <data-dir>/engine.pid       the writer lock: created exclusively by the one process that
//                               writes the journal (`orderly serve`, `orderly run`, the library,
//                               a CLI command's short-lived engine), for as long as it does.
//
// The pid file cannot tell two opens in one process apart (a file naming our own pid is taken
// for stale: after a crash a new process may well get the same pid, pid 1 in a container). So
// the process also keeps the data dirs it holds (their real paths) and refuses a second open.

import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const DEFAULT_DATA_DIR = './.orderly';
export const SOCKET_NAME = 'orderly.sock';
export const PID_NAME = 'engine.pid';
export const JOURNAL_NAME = 'journal.sqlite';

/** UNIX socket paths are limited to ~107 bytes (sun_path). */
const SOCKET_PATH_BYTES_MAX = 104;

export interface DataDirPaths {
  dir: string;
  socket: string;
  pid: string;
  journal: string;
}

export function dataDirPaths(dataDir: string): DataDirPaths {
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

/** The writer lock is held by another live process (`pid`). */
export class DataDirBusy extends Error {
  override name = 'DataDirBusy';
  constructor(
    readonly dir: string,
    readonly pid: number,
    message = `an engine is already running on ${dir} (pid ${pid})`,
  ) {
    super(message);
  }
}

/** The data dirs (real paths) whose writer lock this process holds. */
const heldHere = new Set<string>();

/** The data dir is already open in this process (an Orderly on it not closed yet). */
export class DataDirOpenHere extends DataDirBusy {
  override name = 'DataDirOpenHere';
  constructor(dir: string) {
    super(dir, process.pid, `the data dir ${dir} is already open in this process (pid ${process.pid}): close the Orderly on it (await close()) before opening it again`);
  }
}

/** Throws DataDirOpenHere when this process holds the writer lock of `dir` (an existing dir). */
export function refuseIfOpenHere(dir: string): void {
  const real = realpathSync(dir);
  if (heldHere.has(real)) throw new DataDirOpenHere(real);
}

/**
 * Takes the data dir's writer lock, waiting up to `waitMs` for another process's holder that
 * lets go (an engine starting up and failing, or a CLI command's short-lived engine: moments).
 * Returns the release; throws `refuse(pid)` (default: DataDirBusy) when the lock stays taken,
 * and DataDirOpenHere at once when this process holds it (the data dir must exist).
 */
export async function acquireWriterLock(pidFile: string, waitMs: number, refuse?: (pid: number) => Error): Promise<() => void> {
  const dir = realpathSync(resolve(pidFile, '..'));
  const attempt = (): PidLock => {
    if (heldHere.has(dir)) throw new DataDirOpenHere(dir);
    return acquirePidFile(pidFile);
  };
  const deadline = Date.now() + waitMs;
  let lock = attempt();
  while (!lock.ok && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    lock = attempt();
  }
  if (!lock.ok) throw refuse ? refuse(lock.pid) : new DataDirBusy(dir, lock.pid);
  heldHere.add(dir);
  const letGo = lock.release;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    heldHere.delete(dir);
    letGo();
  };
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
