// The library's entry: `createOrderly()` starts a node (start.ts) without HTTP and without
// the control socket. With a data dir it takes the data dir's writer lock like `orderly serve`
// and `orderly run` do, so that no second writer (an engine, a CLI command) writes its journal
// while it is open; `orderly.close()` lets the lock go.

import type { JournalStore } from '../journal/types.js';
import type { EngineRunOptions, Orderly } from '../runtime/orderly.js';
import { startNode, type DatabaseOptions } from './start.js';

export type { DatabaseOptions } from './start.js';

export interface OrderlyOptions extends EngineRunOptions {
  /** Folder for the SQLite journal (created if missing). Absent: everything in memory. */
  dataDir?: string;
  /** A journal store of your own (overrides dataDir's SQLite). */
  store?: JournalStore;
  /** SQLite `synchronous`: FULL (default, every commit fsynced), NORMAL, or OFF. */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /**
   * The journal on PostgreSQL (a postgres:// URL, or with the node's name, the lease time, the
   * schema and the agents): this process is a node of the cluster on that journal. It is the
   * controller when it finds the lease free at the start; otherwise it follows the journal,
   * sends its commands to the controller and takes over when the controller is lost. A lost
   * lease stops the engine (`onFatal`). See docs/cluster.md.
   */
  database?: string | DatabaseOptions;
}

export async function createOrderly(opts: OrderlyOptions = {}): Promise<Orderly> {
  const { database, ...rest } = opts;
  const node = await startNode({ ...rest, ...(database !== undefined ? { database: typeof database === 'string' ? { url: database } : database } : {}) });
  return node.orderly;
}
