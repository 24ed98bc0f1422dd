// Keeps room ahead of SQLite in the WAL file, so that commits with synchronous=FULL overwrite
// blocks that already exist instead of growing the file.
//
// Why: an fsync after a write that grows a file also commits the file system's metadata (the
// new size, the new blocks): on ext4 that is a second flush, and it roughly doubles the fsync
// (≈ 340 µs against ≈ 170 µs measured here). A WAL only grows until its first restart after a
// checkpoint; from then on SQLite writes from its beginning again, over blocks that exist. A
// freshly opened journal under load thus paid the growing fsync for its first ~10,000 pages.
// SQLite's own remedy, SQLITE_FCNTL_CHUNK_SIZE, is not reachable through better-sqlite3.
//
// How: every few commits, read where SQLite's next frame goes (the wal-index header in the
// -shm file, https://sqlite.org/walformat.html §2.1: page size at byte 14, mxFrame at byte 16,
// native byte order), and when fewer than `headroomBytes` are left before the end of the file,
// write zeros after the end and fdatasync them once. Zeros are never valid frames: SQLite stops
// reading the WAL at the first frame whose salt and checksum do not match, exactly as it does
// with the stale frames of a WAL it restarted.
//
// Safety: it only ever writes at or beyond the file's current end, and only while holding the
// WAL's write lock (`writeLocked`, a write transaction that changes nothing): no other
// connection, in this process or another, can write frames, restart or truncate the WAL
// meanwhile. It runs on the thread that does the engine's appends, between two transactions.
// The file descriptors stay open until the database is closed: closing any descriptor of a
// file drops the process's POSIX locks on it, and SQLite holds such locks on the -shm file.

import { Buffer } from 'node:buffer';
import { closeSync, constants, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';

export interface WalRoomOptions {
  /** Grow by this much at a time (default 4 MiB). */
  chunkBytes?: number;
  /** Grow when less than this is left ahead of SQLite (default 2 MiB). */
  headroomBytes?: number;
  /** Never beyond this size (the journal_size_limit). */
  limitBytes: number;
  /** Look every this many commits (default 32). */
  everyCommits?: number;
  /** Runs `fn` holding the WAL's write lock (a write transaction on the database that writes nothing). */
  writeLocked: (fn: () => void) => void;
}

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
/** Bytes of the wal-index header that `walUsedBytes` reads. */
export const WAL_INDEX_HEADER_BYTES = 20;

/**
 * Bytes of the WAL that SQLite's frames fill since it last started over: where its next frame
 * goes. Read from the wal-index header at the start of the -shm file (`shmFd`; page size at
 * byte 14, mxFrame at byte 16, native byte order); `header` is a buffer of
 * WAL_INDEX_HEADER_BYTES. Undefined while the -shm file is shorter than that.
 */
export function walUsedBytes(shmFd: number, header: Buffer): number | undefined {
  if (readSync(shmFd, header, 0, WAL_INDEX_HEADER_BYTES, 0) < WAL_INDEX_HEADER_BYTES) return undefined;
  const le = endianness() === 'LE';
  const rawPage = le ? header.readUInt16LE(14) : header.readUInt16BE(14);
  const pageBytes = rawPage === 1 ? 65536 : rawPage;
  const mxFrame = le ? header.readUInt32LE(16) : header.readUInt32BE(16);
  return pageBytes === 0 ? WAL_HEADER_BYTES : WAL_HEADER_BYTES + mxFrame * (pageBytes + FRAME_HEADER_BYTES);
}
let zeros: Buffer | undefined; // 1 MiB, allocated on first use

export class WalRoom {
  private walFd: number | undefined;
  private shmFd: number | undefined;
  private commits = 0;
  private disabled = false;
  private readonly header = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  private readonly chunkBytes: number;
  private readonly headroomBytes: number;
  private readonly everyCommits: number;
  /** Zero bytes written so far (for tests and metrics). */
  grownBytes = 0;

  constructor(
    private readonly dbFile: string,
    private readonly opts: WalRoomOptions,
  ) {
    this.chunkBytes = opts.chunkBytes ?? 4 * 1024 * 1024;
    this.headroomBytes = opts.headroomBytes ?? 2 * 1024 * 1024;
    this.everyCommits = opts.everyCommits ?? 32;
  }

  /** Called after each commit. */
  afterCommit(): void {
    if (++this.commits < this.everyCommits) return;
    this.commits = 0;
    this.check();
  }

  /** Grows the WAL if SQLite is near its end. Never throws: this is only about speed. */
  check(): void {
    if (this.disabled) return;
    try {
      // The -wal and -shm files exist once the connection has read the database in WAL mode.
      this.walFd ??= openSync(`${this.dbFile}-wal`, constants.O_RDWR);
      this.shmFd ??= openSync(`${this.dbFile}-shm`, constants.O_RDONLY);
      if (this.wanted() === undefined) return;
      this.opts.writeLocked(() => {
        // Again under the lock: another connection may have written or restarted the WAL.
        const want = this.wanted();
        if (want === undefined) return;
        const [size, target] = want;
        zeros ??= Buffer.alloc(1024 * 1024);
        for (let at = size; at < target; ) {
          const n = Math.min(zeros.length, target - at);
          at += writeSync(this.walFd!, zeros, 0, n, at);
        }
        fdatasyncSync(this.walFd!);
        this.grownBytes += target - size;
      });
    } catch {
      this.disabled = true;
    }
  }

  /** [current size, size wanted] when the room ahead of SQLite's next frame is short. */
  private wanted(): [number, number] | undefined {
    const used = walUsedBytes(this.shmFd!, this.header);
    if (used === undefined) return undefined;
    const size = fstatSync(this.walFd!).size;
    if (size - used >= this.headroomBytes) return undefined;
    const target = Math.min(this.opts.limitBytes, Math.max(size, used) + this.chunkBytes);
    return target > size ? [size, target] : undefined;
  }

  /** After the database connection is closed (see Safety above). */
  close(): void {
    for (const fd of [this.walFd, this.shmFd]) {
      if (fd === undefined) continue;
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
    this.walFd = this.shmFd = undefined;
    this.disabled = true;
  }
}
