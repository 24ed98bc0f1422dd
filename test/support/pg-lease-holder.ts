// A separate process that opens a PostgreSQL journal, becomes its writer, appends one event,
// prints {"epoch": N} and then stays until killed: a controller that can be killed with -9.
// Run with `node --import tsx`; environment: URL, SCHEMA, NODE, LEASE_MS.

import { PostgresStore } from '../../src/journal/postgres.js';

const store = await PostgresStore.open({
  connectionString: process.env.URL!,
  schema: process.env.SCHEMA!,
  node: process.env.NODE_NAME!,
  leaseMs: Number(process.env.LEASE_MS),
});
const epoch = await store.acquireWriter();
await store.append([{ type: 'OrderDeleted', at: 1, orderId: `by-${process.env.NODE_NAME}` }], epoch);
process.stdout.write(`${JSON.stringify({ epoch })}\n`);
// Stays: the pool's connections and the lease's renewals keep it alive.
setInterval(() => undefined, 60_000);
