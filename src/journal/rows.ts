// How the SQLite journal's rows hold events, shared by the store and its sidecar.
//
// One row per commit: `seq` is the first event's number, `n` how many, `body` their JSON array,
// and `order_id` the order they are all about, or NULL when they are about several orders (or
// none). Journals written before this rule have one row per run of consecutive events about the
// same order within a commit; both read the same way.

import { orderIdOf, type Event } from '../core/events.js';

/** The distinct order ids of a row's events (as appended, or parsed back), in order of appearance. */
export function orderIdsOf(events: readonly unknown[]): string[] {
  const ids: string[] = [];
  for (const e of events) {
    const id = orderIdOf(e as Event);
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/**
 * The text every row holding an event of `orderId` contains: events are stored with
 * JSON.stringify, which writes the field exactly like this. A pre-filter for NULL rows in SQL;
 * the events are checked one by one afterwards. It cannot match inside a string value (there
 * JSON.stringify writes the quotes as \"), and only events about an order have a field named
 * orderId, so a row it matches holds an event of that order.
 */
export function orderNeedle(orderId: string): string {
  return `"orderId":${JSON.stringify(orderId)}`;
}
