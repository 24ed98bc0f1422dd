// One node of a benchmark's cluster that runs in-process function jobs: the library
// (`createOrderly` with `database`) in this process, a full cluster node (controller candidate
// and worker) on the given schema, with a no-op function `noop` registered on its worker. It
// deploys nothing by itself. Started by bench/cluster.js (`--job function`) as a child process
// with an IPC channel; it prints `ready <node name>` once the node runs, then answers messages
// `{ id, op, ... }` with `{ id, ok, value | error }`:
//   deploy { inventory }   orderly.deploy(inventory)
//   add { orders }         orderly.addOrders(orders) (this node's library: on the controller a
//                          command of its own engine, on a stand-by one forwarded to the controller)
//                          → the count of orders refused
//   lock { name }          orderly.getLock(name, { waitersMax: 0 }) → { queueLength, limit }
// SIGTERM (or the channel closing) closes the node and exits 0.
//
//   node bench/cluster-node.js --url postgres://… --schema S --name n1 [--slots 11]
//     [--lease-seconds 8] [--times FILE] [--early-starts]
//   --times: the function appends "s T order" when it starts and "e T order" when it ends (T: the
//   wall clock in seconds with microseconds, as bash's $EPOCHREALTIME), for the handoff shape.

import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createOrderly } from '../dist/index.js';
import { knownArgs } from './lib.js';

const a = knownArgs(['url', 'schema', 'name', 'slots', 'lease-seconds', 'times', 'early-starts']);
if (typeof a.url !== 'string' || typeof a.schema !== 'string' || typeof a.name !== 'string') {
  throw new Error('cluster-node: --url, --schema and --name are required');
}
const slots = Number(a.slots ?? 4);
const leaseSeconds = Number(a['lease-seconds'] ?? 8);
const timesFd = typeof a.times === 'string' ? openSync(a.times, 'a') : undefined;
const now = () => ((performance.timeOrigin + performance.now()) / 1000).toFixed(6);

const earlyStarts = a['early-starts'] === true;
const orderly = await createOrderly({ database: { url: a.url, schema: a.schema, nodeName: a.name, leaseSeconds, ...(earlyStarts ? { earlyStarts } : {}) }, slots });
orderly.registerFunction(
  'noop',
  timesFd === undefined
    ? () => undefined
    : (ctx) => {
        writeSync(timesFd, `s ${now()} ${ctx.orderId}\n`);
        writeSync(timesFd, `e ${now()} ${ctx.orderId}\n`);
      },
);

let closing;
const stop = () =>
  (closing ??= orderly
    .close()
    .catch(() => undefined)
    .then(() => {
      if (timesFd !== undefined) closeSync(timesFd);
      process.exit(0);
    }));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);

const ops = {
  deploy: async (m) => {
    await orderly.deploy(m.inventory);
    return true;
  },
  add: async (m) => {
    const r = await orderly.addOrders(m.orders);
    const bad = r.filter((x) => x.error);
    if (bad.length > 0) throw new Error(`${bad.length} orders refused, the first: ${bad[0].error.message}`);
    return 0;
  },
  lock: async (m) => {
    const l = orderly.getLock(m.name, { waitersMax: 0 });
    return l && { queueLength: l.queueLength, limit: l.limit };
  },
};

process.on('message', (m) => {
  const op = ops[m?.op];
  if (!op) {
    process.send?.({ id: m?.id, ok: false, error: `unknown op ${m?.op}` });
    return;
  }
  op(m).then(
    (value) => process.send?.({ id: m.id, ok: true, value }),
    (err) => process.send?.({ id: m.id, ok: false, error: String(err?.message ?? err) }),
  );
});

process.stdout.write(`ready ${a.name}\n`);
