// How a CLI command reaches an engine: over the control socket of a running engine, or,
// when nothing answers there, through a short-lived engine of its own (writes) or the
// journal read as it is (reads).
//
// No second writer: a command that changes something while no engine runs starts a
// short-lived engine through the node start-up (src/node/start.ts), which takes the data
// dir's writer lock (engine.pid) like `orderly serve` and `orderly run` do, recovers what the
// last engine left, applies the command and closes. It runs no jobs (0 job slots): orders
// that reach a job wait for a slot, and start when an engine runs there. An engine starting
// meanwhile waits for the lock (a moment); a command finding the lock held by a process that
// does not answer on the socket waits a little, then says so and changes nothing.
//
// Reads with no engine open the journal and read it into a state without writing anything:
// they show the journal as it is, without the recovery an engine would do on start.
//
// The engine, the journal and the control routes are loaded only when no engine answers.

import { existsSync, mkdirSync } from 'node:fs';

import { probeEngine, requestSocket } from '../node/control-client.js';
import type { Reply } from '../node/control.js';
import { dataDirPaths, JOURNAL_NAME } from '../node/data-dir.js';
import { ApiError, type ErrorBody } from '../node/protocol.js';

export { ApiError } from '../node/protocol.js';

// ---------------------------------------------------------------- a connection, either way

export interface Connection {
  /**
   * `engine`: a running engine answered on the socket. `short-lived`: no engine ran, this
   * command started one of its own (writes). `offline`: the journal read as it is (reads).
   * `server`: an `orderly serve` over HTTP (--server, see http-client.ts).
   */
  readonly mode: 'engine' | 'short-lived' | 'offline' | 'server';
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
  /** How long to wait for a busy data dir (another command's short-lived engine, an engine starting). */
  busyWaitMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reaches the engine of a data dir: its socket when an engine answers there; else, for a
 * write, a short-lived engine of this process (holding the writer lock until `close()`); else
 * the journal, read only.
 */
export async function connect(dataDir: string, opts: ConnectOptions): Promise<Connection> {
  const p = dataDirPaths(dataDir);
  const deadline = Date.now() + (opts.busyWaitMs ?? 5_000);
  for (;;) {
    if (existsSync(p.socket)) {
      try {
        // Probe first: a command must not be half-sent and then repeated elsewhere.
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
    // The node start-up, the journal and the control routes are loaded only here: a command
    // that reaches a running engine does not pay for them.
    const { handle } = await import('../node/control.js');
    const inProcess = (api: Parameters<typeof handle>[0]) => async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const r = await handle(api, method, path, body);
      // Through JSON, so that these answers have exactly the socket's shapes.
      return unwrap<T>({ status: r.status, body: JSON.parse(JSON.stringify(r.body ?? null)) as unknown });
    };
    if (!opts.write) {
      const { JournalReader } = await import('./journal-api.js');
      const reader = await JournalReader.open(p.journal);
      return { mode: 'offline', call: inProcess(reader), close: () => reader.close() };
    }
    mkdirSync(p.dir, { recursive: true });
    const [{ startNode }, { DataDirBusy }] = await Promise.all([import('../node/start.js'), import('../node/data-dir.js')]);
    let node: Awaited<ReturnType<typeof startNode>>;
    try {
      // No job slots: a command's engine runs no job (closing it would kill them). Shell jobs
      // would start inline, which they never do here; schedules fire as they would at any start.
      node = await startNode({ dataDir: p.dir, slots: 0, jobLauncher: 'inline', lockWaitMs: 0 });
    } catch (err) {
      if (!(err instanceof DataDirBusy)) throw err;
      // An engine starting up (its socket comes soon) or another command's short-lived engine
      // (done soon): look again, until the deadline.
      if (Date.now() < deadline) {
        await sleep(100);
        continue;
      }
      throw new Error(`data dir ${p.dir} is in use by pid ${err.pid}, which does not answer on ${p.socket}; nothing was changed; try again, or stop pid ${err.pid}`);
    }
    return { mode: 'short-lived', call: inProcess(node.orderly), close: () => node.close() };
  }
}
