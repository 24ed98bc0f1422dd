// The SQLite journal's side file (`journal-side.sqlite` beside `journal.sqlite`), shared by the
// store (sqlite.ts) and its sidecar worker: data derived from the journal that is written off
// the commit path — the order index and snapshots. A file of its own, so that writing it never
// takes the journal's write lock. It is repaired on open when it is missing, behind, or ahead
// of the journal (after a power loss with synchronous NORMAL).

/** Side meta key: the order index is complete up to this seq. */
export const SIDE_INDEX_SEQ_KEY = 'indexedSeq';

/** The side file's tables, as attached under the schema name `side`. */
export const SIDE_SCHEMA = `
CREATE TABLE IF NOT EXISTS side.order_events (
  order_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS side.snapshots (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS side.meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/** `journal.sqlite` → `journal-side.sqlite`; in memory → another in-memory database. */
export function sideFileOf(file: string): string {
  if (file === ':memory:' || file === '') return ':memory:';
  return file.endsWith('.sqlite') ? `${file.slice(0, -'.sqlite'.length)}-side.sqlite` : `${file}-side`;
}
