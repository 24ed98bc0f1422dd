// A runnable library example (also shown in the README; test/e2e/library-example.test.ts runs it).
import { createOrderly } from 'orderly-scheduler';

const orderly = await createOrderly(); // in memory; pass { dataDir: './data' } for the SQLite journal

orderly.registerFunction('load', async ({ arguments: args, locks, signal }) => {
  // `locks` carries the fencing token of every lock the order holds.
  console.log(`loading ${args.file} with token ${locks[0].token}`);
  await new Promise((resolve) => setTimeout(resolve, 10));
  if (signal.aborted) throw new Error('cancelled');
});

await orderly.deploy({
  locks: [{ name: 'warehouse', limit: 1 }],
  workflows: [
    {
      name: 'nightly-load',
      instructions: [
        {
          TYPE: 'Lock',
          demands: [{ lockName: 'warehouse' }], // exclusive: one load at a time
          lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'load' }] },
        },
      ],
      jobs: { load: { executable: { TYPE: 'FunctionExecutable', functionName: 'load' } } },
    },
  ],
});

const ids = await Promise.all(
  ['a.csv', 'b.csv', 'c.csv'].map((file) => orderly.addOrder({ workflow: 'nightly-load', arguments: { file } })),
);
console.log(orderly.getLock('warehouse').queue.length, 'orders wait for the warehouse lock');
for (const id of ids) {
  const order = await orderly.awaitOrder(id, { timeoutMs: 10_000 });
  console.log(order.arguments.file, order.state);
}
await orderly.close();
