// Makes the WAL start over when SQLite's own way does not get there: what keeps it bounded.
//
// SQLite starts the WAL over from its beginning when a write transaction begins after a
// checkpoint copied every frame into the database file, and no reader uses the WAL (none of
// its read marks 1..N is held; https://sqlite.org/wal.html, "Avoiding Excessively Large WAL
// Files"). The writer's automatic checkpoint (every 10,000 pages) usually gets there within a
// few commits. But a reader that is mid-read whenever a commit begins (the sidecar reading
// behind a stream of commits, another process reading the journal) keeps the WAL from ever
// starting over, and it grows for as long as commits keep coming: how often that happens
// depends only on how the threads happen to be scheduled, so on a busy machine the WAL went
// past 64 MB.
//
// So: every few commits, read how far SQLite's frames reach (the wal-index header,
// wal-room.ts); past `restartBytes`, run a RESTART checkpoint on the writer's connection. It
// copies every frame, then waits (the connection's busy timeout) until the reads in progress
// have ended; a read that begins after every frame was copied reads the database file only and
// does not hold it up. The next commit then starts the WAL over. That wait blocks the writer
// for as long as the reads in progress last (a few ms), at most once per `restartBytes` of WAL.
// When it times out anyway (a reader holding one read for seconds), the next try waits until
// the WAL has grown by another `retryBytes`, so such a reader costs one wait, not one every few
// commits.
//
// The -shm descriptor stays open until the database is closed (wal-room.ts, Safety: closing a
// descriptor of a file drops the process's POSIX locks on it).

import { Buffer } from 'node:buffer';
import { closeSync, constants, openSync } from 'node:fs';
import { WAL_INDEX_HEADER_BYTES, walUsedBytes } from './wal-room.js';

export interface WalRestartOptions {
  /** Make the WAL start over once SQLite's frames fill this many bytes of it. */
  restartBytes: number;
  /** After a RESTART checkpoint that timed out, try again once the WAL grew by this much (default restartBytes / 4). */
  retryBytes?: number;
  /** Look every this many commits (default 32). */
  everyCommits?: number;
  /** Runs a RESTART checkpoint on the writer's connection; false when it timed out waiting for readers (or failed). */
  restart: () => boolean;
}

export class WalRestart {
  private shmFd: number | undefined;
  private commits = 0;
  private disabled = false;
  private nextTryBytes: number;
  private readonly header = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  private readonly retryBytes: number;
  private readonly everyCommits: number;
  /** RESTART checkpoints run, and how many of them timed out (tests, diagnostics). */
  checkpoints = 0;
  timedOut = 0;

  constructor(
    private readonly dbFile: string,
    private readonly opts: WalRestartOptions,
  ) {
    this.nextTryBytes = opts.restartBytes;
    this.retryBytes = opts.retryBytes ?? Math.ceil(opts.restartBytes / 4);
    this.everyCommits = opts.everyCommits ?? 32;
  }

  /** Called after each commit, between two transactions. */
  afterCommit(): void {
    if (++this.commits < this.everyCommits) return;
    this.commits = 0;
    this.check();
  }

  /** Runs the RESTART checkpoint when the WAL is past the limit. Never throws: the commit before it stands. */
  check(): void {
    if (this.disabled) return;
    let used: number | undefined;
    try {
      // Exists once the connection has read the database in WAL mode.
      this.shmFd ??= openSync(`${this.dbFile}-shm`, constants.O_RDONLY);
      used = walUsedBytes(this.shmFd, this.header);
    } catch {
      this.disabled = true; // no -shm file to read (not WAL): SQLite's own checkpoints only
      return;
    }
    if (used === undefined) return;
    if (used < this.opts.restartBytes) {
      this.nextTryBytes = this.opts.restartBytes;
      return;
    }
    if (used < this.nextTryBytes) return;
    this.checkpoints++;
    let done = false;
    try {
      done = this.opts.restart();
    } catch {
      // A failed checkpoint (a full disk): the commit before it stands; tried again later.
    }
    if (done) {
      this.nextTryBytes = this.opts.restartBytes;
    } else {
      this.timedOut++; // or failed
      this.nextTryBytes = used + this.retryBytes;
    }
  }

  /** After the database connection is closed. */
  close(): void {
    if (this.shmFd !== undefined) {
      try {
        closeSync(this.shmFd);
      } catch {
        // already gone
      }
    }
    this.shmFd = undefined;
    this.disabled = true;
  }
}

const GATE_WANT = 0; // 1 while the writer wants no reads of the journal (its RESTART checkpoint)
const GATE_READING = 1; // 1 while the reader thread reads (or checkpoints) the journal
/** Bytes of the SharedArrayBuffer a ReadGate works on. */
export const READ_GATE_BYTES = 8;

/**
 * Lets the writer's RESTART checkpoint go first before a reader thread of the same journal
 * (the sidecar): otherwise a reader that reads behind a stream of commits is mid-read at the
 * moments that count, and SQLite's busy handler, which looks now and then, may miss the short
 * gaps between its reads. The reader wraps each statement on the journal in `read`; the writer
 * runs its checkpoint in `closed`, which waits for the statement in progress to end and keeps
 * new ones from beginning until the checkpoint is done. Both sides store their flag and then
 * load the other's (sequentially consistent atomics): at least one of them sees the other.
 */
export class ReadGate {
  private readonly a: Int32Array;

  constructor(readonly shared: SharedArrayBuffer) {
    this.a = new Int32Array(shared, 0, READ_GATE_BYTES / 4);
  }

  /** Reader side: runs one statement on the journal, after the writer's checkpoint if one is under way. */
  read<T>(fn: () => T): T {
    const a = this.a;
    for (;;) {
      Atomics.store(a, GATE_READING, 1);
      if (Atomics.load(a, GATE_WANT) === 0) break;
      Atomics.store(a, GATE_READING, 0);
      Atomics.notify(a, GATE_READING);
      Atomics.wait(a, GATE_WANT, 1, 1000); // woken when the checkpoint is done; the timeout only looks again
    }
    try {
      return fn();
    } finally {
      Atomics.store(a, GATE_READING, 0);
      Atomics.notify(a, GATE_READING);
    }
  }

  /**
   * Writer side: runs `fn` once the reader's statement in progress has ended, with no new one
   * beginning meanwhile. After `waitMs` of waiting (a reader stuck in one statement) it runs
   * `fn` anyway, which then meets SQLite's own busy handling.
   */
  closed<T>(fn: () => T, waitMs: number): T {
    const a = this.a;
    Atomics.store(a, GATE_WANT, 1);
    try {
      const until = Date.now() + waitMs;
      for (let left = waitMs; Atomics.load(a, GATE_READING) === 1 && left > 0; left = until - Date.now()) {
        Atomics.wait(a, GATE_READING, 1, left);
      }
      return fn();
    } finally {
      Atomics.store(a, GATE_WANT, 0);
      Atomics.notify(a, GATE_WANT);
    }
  }
}
