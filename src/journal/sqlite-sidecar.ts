// The SQLite journal's sidecar: a worker thread that does the journal's background work, so
// that the engine's event loop only ever appends events.
//
// Every `intervalMs` it
//   1. reads the events committed since its last turn (its own read connection; WAL lets it
//      read while the engine writes),
//   2. writes the order index for them (which rows are about which order) into the SIDE
//      database file — a file of its own, so that this write never waits for, nor holds up,
//      the engine's commits (SQLite locks a whole file),
//   3. applies them to its own copy of the state (the pure core's `evolve`; loaded from the
//      newest snapshot only once `snapshotEveryEvents` events follow it) and, every
//      max(snapshotEveryEvents, 10 × orders) events, writes a snapshot of it into the side
//      file: serializing a large state (tens of ms) no longer pauses the engine,
//   4. copies the WAL into the database file (a passive checkpoint: it never waits for the
//      writer).
// Everything it writes is derived from the journal: a side file that is lost, behind, or (after
// a power loss) ahead of the journal is repaired when the journal is opened (sqlite.ts).
//
// Messages: engine → sidecar 'stop' (finish this turn, close, exit); sidecar → engine
// {t:'error', message} when it cannot go on (the store then does the work itself).

import { parentPort, workerData } from 'node:worker_threads';

import Database from 'better-sqlite3';

import { upcast } from '../core/events.js';
import { evolve } from '../core/evolve.js';
import { deserializeState, emptyState, serializeState, snapshotSpacing, type State } from '../core/state.js';
import { orderIdsOf } from './rows.js';
import { SIDE_INDEX_SEQ_KEY } from './side-file.js';
import { SNAPSHOTS_KEPT } from './types.js';
import { ReadGate } from './wal-restart.js';

export interface SidecarData {
  file: string;
  sideFile: string;
  intervalMs: number;
  /** Snapshots are written by the sidecar (else the engine writes them). */
  snapshots: boolean;
  snapshotEveryEvents: number;
  /** The writer's ReadGate (wal-restart.ts): every statement on the journal goes through it. */
  gate: SharedArrayBuffer;
}

/** Rows read per round; a turn does at most ROUNDS_MAX rounds before it lets messages in. */
const ROWS_PER_ROUND = 4096;
const ROUNDS_MAX = 16;

interface Row {
  seq: number;
  n: number;
  order_id: string | null;
  body: string;
}

function run(data: SidecarData): void {
  const port = parentPort!;
  const main = new Database(data.file, { fileMustExist: true, timeout: 0 });
  // Each statement on the journal waits while the writer makes the WAL start over (wal-restart.ts).
  const gate = new ReadGate(data.gate);
  const side = new Database(data.sideFile, { fileMustExist: true, timeout: 5000 });
  side.pragma('journal_mode = WAL');
  side.pragma('synchronous = NORMAL');

  const selectRows = main.prepare<[number, number], Row>('SELECT seq, n, order_id, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
  const lastSeq = main.prepare<[], number>('SELECT coalesce(max(seq + n - 1), 0) FROM (SELECT seq, n FROM events ORDER BY seq DESC LIMIT 1)').pluck();
  const insertIndex = side.prepare<[string, number]>('INSERT OR IGNORE INTO order_events (order_id, seq) VALUES (?, ?)');
  const getMeta = side.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck();
  const setMeta = side.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const insertSnapshot = side.prepare<[number, number, string]>('INSERT OR REPLACE INTO snapshots (seq, at, state) VALUES (?, ?, ?)');
  const trimSnapshots = side.prepare<[number]>('DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)');

  let indexedSeq = Number(getMeta.get(SIDE_INDEX_SEQ_KEY) ?? 0);
  // The sidecar's copy of the state is loaded only once a snapshot can come due: no snapshot is
  // written before `snapshotEveryEvents` events past the newest one, so until then the state is
  // not needed. Loading it at start would parse the whole snapshot a second time (the engine
  // does too) while the engine opens, and hold a second copy of every order in memory while
  // nothing happens (a reopened data dir with 100,000 waiting orders and no events). With no
  // snapshot at all the state to start from is the empty one, which costs nothing: it is kept
  // from the start, as the events are read, instead of being caught up later by reading and
  // parsing again every event indexed meanwhile (tens of thousands, on the other core while the
  // engine commits).
  type Newest = { seq: number; state?: string };
  const newestSnapshot = (upTo: number, what: 'seq, state' | 'seq'): Newest | undefined =>
    [
      side.prepare<[number], Newest>(`SELECT ${what} FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1`).get(upTo),
      gate.read(() => main.prepare<[number], Newest>(`SELECT ${what} FROM snapshots WHERE seq <= ? ORDER BY seq DESC LIMIT 1`).get(upTo)),
    ]
      .filter((s) => s !== undefined)
      .sort((a, b) => b.seq - a.seq)[0];
  let state: State | undefined;
  let sinceSnapshot = 0;
  const base = data.snapshots ? newestSnapshot(gate.read(() => lastSeq.get()!), 'seq') : undefined;
  /** The seq of the snapshot the state will start from (while it is not loaded). */
  let baseSeq = base?.seq ?? 0;
  /** Loads the newest snapshot the journal reaches (side file, or the main file's from before there was one). */
  const loadState = (): State => {
    const newest = newestSnapshot(gate.read(() => lastSeq.get()!), 'seq, state');
    const s = newest?.state !== undefined ? deserializeState(newest.state) : emptyState();
    if (newest) s.seq = newest.seq;
    baseSeq = s.seq;
    sinceSnapshot = 0;
    return s;
  };
  if (data.snapshots && base === undefined) {
    state = emptyState();
    sinceSnapshot = 0;
  }

  /** Each row's events, parsed once per round for the index and the state alike. */
  let parsed = new Map<number, unknown[]>();
  const eventsOf = (r: Row): unknown[] => {
    let events = parsed.get(r.seq);
    if (!events) parsed.set(r.seq, (events = JSON.parse(r.body) as unknown[]));
    return events;
  };
  const indexRows = side.transaction((rows: Row[], upTo: number) => {
    const fresh: [string, number][] = [];
    for (const r of rows) {
      if (r.seq <= indexedSeq) continue;
      if (r.order_id !== null) fresh.push([r.order_id, r.seq]);
      else for (const id of orderIdsOf(eventsOf(r))) fresh.push([id, r.seq]); // a row about several orders (rows.ts)
    }
    // In key order: neighbouring inserts then land on the same B-tree pages.
    fresh.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    for (const [id, seq] of fresh) insertIndex.run(id, seq);
    setMeta.run(SIDE_INDEX_SEQ_KEY, String(upTo));
  });
  const saveSnapshot = side.transaction((s: State) => {
    insertSnapshot.run(s.seq, Date.now(), serializeState(s));
    trimSnapshots.run(SNAPSHOTS_KEPT);
  });

  /** `final`: the turn before stopping, which indexes what is left and loads no state (the engine snapshots at close). */
  const turn = (final = false): void => {
    for (let round = 0; round < ROUNDS_MAX; round++) {
      if (data.snapshots && !state && !final && indexedSeq - baseSeq >= data.snapshotEveryEvents) state = loadState();
      const from = state ? Math.min(state.seq, indexedSeq) : indexedSeq;
      const rows = gate.read(() => selectRows.all(from, ROWS_PER_ROUND));
      if (rows.length === 0) break;
      parsed = new Map();
      const last = rows[rows.length - 1]!;
      const upTo = last.seq + last.n - 1;
      if (upTo > indexedSeq) {
        indexRows(rows, upTo);
        indexedSeq = upTo;
      }
      if (state) {
        for (const r of rows) {
          if (r.seq + r.n - 1 <= state.seq) continue;
          const events = eventsOf(r);
          for (let i = 0; i < events.length; i++) {
            const seq = r.seq + i;
            if (seq <= state.seq) continue;
            evolve(state, upcast(events[i]));
            state.seq = seq;
            sinceSnapshot++;
          }
        }
      }
      if (rows.length < ROWS_PER_ROUND) break;
    }
    parsed = new Map();
    if (state && sinceSnapshot >= snapshotSpacing(state, data.snapshotEveryEvents)) {
      saveSnapshot(state);
      sinceSnapshot = 0;
    }
    try {
      gate.read(() => main.pragma('wal_checkpoint(PASSIVE)'));
    } catch {
      // busy: next turn
    }
  };

  let stopping = false;
  const fail = (err: unknown): void => {
    stopping = true;
    clearInterval(timer);
    port.postMessage({ t: 'error', message: err instanceof Error ? err.message : String(err) });
  };
  const timer = setInterval(() => {
    if (stopping) return;
    try {
      turn();
    } catch (err) {
      // A full disk or a failed write: nothing of the turn was kept (each write is one
      // transaction, and the state moves on only after the index did), so the next turn
      // does it again once there is room.
      if (transient(err)) return;
      fail(err);
    }
  }, data.intervalMs);
  port.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    clearInterval(timer);
    if (!stopping) {
      stopping = true;
      try {
        turn(true); // index what the engine wrote last, so the next open has little to catch up
      } catch {
        // stopping anyway
      }
    }
    for (const db of [main, side]) {
      try {
        db.close();
      } catch {
        // closing anyway
      }
    }
    port.close();
  });
}

/** SQLite errors that pass when the disk has room again. */
function transient(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_BUSY'));
}

if (parentPort && (workerData as { sidecar?: SidecarData } | undefined)?.sidecar) {
  run((workerData as { sidecar: SidecarData }).sidecar);
}
