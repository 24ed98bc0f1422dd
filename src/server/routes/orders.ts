// Orders: add (one or a batch), list (paged by id), show with history, commands, step logs.

import { Type, type TSchema } from '@sinclair/typebox';

import type { OrderState, Position } from '../../core/model.js';
import type { AddOrder, OrderFilter } from '../../runtime/orderly.js';
import { positionNames, type OrderView } from '../../runtime/views.js';
import type { Api, ServerContext } from '../context.js';
import { fromOrderly, invalidError, notFound, orderlyCall, pathOf, underPath } from '../errors.js';
import {
  AddOrderResultSchema,
  AddOrdersSchema,
  AddOrderSchema,
  BatchResultSchema,
  CancelSchema,
  ConfirmSchema,
  documented,
  errors,
  OrderIdParams,
  OrderReplySchema,
  OrdersPageSchema,
  ORDER_IDS_QUERY_MAX,
  OrdersQuerySchema,
  NamedStepSchema,
  OrderViewSchema,
  PrioritySchema,
  ResumeSchema,
  RunningLogSchema,
  StampedSchema,
  StepLogSchema,
  SuspendSchema,
  type AddOrderBody,
} from '../schemas.js';

const HISTORY_MAX = 1000;

/** The body of one order as the library's AddOrder; `base` is its path in the request. */
function toAddOrder(b: AddOrderBody, base: string): AddOrder {
  const o: AddOrder = { workflow: b.workflow };
  if (b.id !== undefined) o.id = b.id;
  if (b.arguments !== undefined) o.arguments = b.arguments;
  if (b.priority !== undefined) o.priority = b.priority;
  if (b.scheduledFor !== undefined) {
    const t = typeof b.scheduledFor === 'number' ? b.scheduledFor : Date.parse(b.scheduledFor);
    if (!Number.isFinite(t)) throw invalidError([{ path: pathOf(base, 'scheduledFor'), message: 'must be ms since the epoch or an ISO-8601 time' }]);
    o.scheduledFor = t;
  }
  return o;
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function orderRoutes(app: Api, { orderly }: ServerContext): void {
  app.post(
    '/orders',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Add an order, or a batch of orders',
        description:
          'Role: operator. One order `{workflow, id?, arguments?, priority?, scheduledFor?}` → 201 `{id}`; 409 conflict when the id exists. Or `{orders: [...]}` (at most 1000) → 200 `{results: [{id} | {error}]}`, each order judged on its own (a 207-like answer); a batch whose shape is wrong is refused as a whole (400).',
        tags: ['orders'],
        body: Type.Union([AddOrderSchema, AddOrdersSchema]),
        response: { 201: AddOrderResultSchema, 200: BatchResultSchema, ...errors(400, 401, 403, 409, 413) },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if ('orders' in body) {
        const adds = body.orders.map((o, i) => toAddOrder(o, pathOf('body', 'orders', i)));
        const results = await orderly.addOrders(adds);
        return reply.status(200).send({
          results: results.map((r, i) =>
            'id' in r ? { id: r.id } : { error: fromOrderly(r.error, (p) => underPath(pathOf('body', 'orders', i), p)).body().error },
          ),
        });
      }
      const add = toAddOrder(body, 'body');
      const id = await orderlyCall(() => orderly.addOrder(add), (p) => underPath('body', p));
      return reply.status(201).send({ id });
    },
  );

  app.get(
    '/orders',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List orders, by id, a page at a time',
        description:
          'Role: viewer. Orders in memory (active ones and the newest ended ones), sorted by id. `limit` 1..1000 (default 100); pass `next` of one page as `after` for the next.',
        tags: ['orders'],
        querystring: OrdersQuerySchema,
        response: documented({ 200: OrdersPageSchema, ...errors(400, 401) }),
      },
    },
    async (req) => {
      const q = req.query;
      const filter: OrderFilter = {};
      if (q.state !== undefined) filter.state = q.state as OrderState;
      if (q.workflow !== undefined) filter.workflow = q.workflow;
      const limit = q.limit ?? 100;
      const after = q.after;
      if (q.ids === undefined) return orderly.pageOrders({ limit, ...filter, ...(after !== undefined ? { after } : {}) });
      // A list of ids (bounded): those orders, filtered and paged alike.
      const ids = [...new Set(q.ids.split(','))];
      if (ids.length > ORDER_IDS_QUERY_MAX) throw invalidError([{ path: 'query.ids', message: `at most ${ORDER_IDS_QUERY_MAX} ids` }]);
      const all = ids
        .map((id) => orderly.getOrder(id))
        .filter((o): o is OrderView => o !== undefined && (filter.state === undefined || o.state === filter.state) && (filter.workflow === undefined || o.workflow === filter.workflow))
        .filter((o) => after === undefined || o.id > after)
        .sort(byId);
      const items = all.slice(0, limit);
      const last = items[items.length - 1];
      return all.length > limit && last ? { items, next: last.id } : { items };
    },
  );

  app.get(
    '/orders/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One order with its history',
        description:
          'Role: viewer. `order` (state, position, locks held with fencing tokens, what it waits for, outcome), `where`: its position by names (each enclosing instruction, outermost first, then the one it stands at: `Lock pdSerialLockMulti (shared, weight 1)`, `job job2`) and `history`: its journal events, oldest first (at most 1000, the newest kept).',
        tags: ['orders'],
        params: OrderIdParams,
        response: documented({
          200: Type.Object({ order: OrderViewSchema, where: Type.Array(NamedStepSchema), history: Type.Array(StampedSchema) }),
          ...errors(400, 401, 404),
        }),
      },
    },
    async (req) => {
      const id = req.params.id;
      const order = orderly.getOrder(id);
      if (!order) throw notFound(`order ${id} not found`);
      const wf = orderly.engine.state.workflows.get(order.workflow)?.versions.get(order.version);
      return { order, where: wf ? positionNames(wf, order.position) : [], history: await orderly.history(id, HISTORY_MAX) };
    },
  );

  app.get(
    '/orders/:id/log',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Output of the order’s job executions, and of the job running now',
        description:
          'Role: viewer. `logs`: one entry per ended execution, oldest first: the last 256 KiB of stdout and stderr, with how much was dropped. `running`: while the order runs a job on this node, its output so far (the last 256 Ki characters of each stream, with positions to append what `GET /orders/{id}/log/live` sends).',
        tags: ['orders'],
        params: OrderIdParams,
        response: { 200: Type.Object({ logs: Type.Array(StepLogSchema), running: Type.Optional(RunningLogSchema) }), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const id = req.params.id;
      // The running output first: a job that ends meanwhile has its log stored before its end is journaled.
      const running = orderly.runningLog(id);
      const logs = await orderly.logs(id);
      if (logs.length === 0 && !orderly.getOrder(id)) throw notFound(`order ${id} not found`);
      const ran = running !== undefined && logs.some((l) => l.executionId === running.executionId);
      return running && !ran ? { logs, running } : { logs };
    },
  );

  const after = (id: string): { order?: OrderView } => {
    const order = orderly.getOrder(id);
    return order ? { order } : {};
  };
  const bodyPath = (p: string): string => underPath('body', p);
  const commandSchema = <B extends TSchema>(summary: string, description: string, body: B) => ({
    summary,
    description: `Role: operator. ${description} Answers the order afterwards. 404 unknown order, 409 state when the order cannot do it now.`,
    tags: ['orders'],
    params: OrderIdParams,
    body,
    response: documented({ 200: OrderReplySchema, ...errors(400, 401, 403, 404, 409, 413) }),
  });

  app.post(
    '/orders/:id/cancel',
    {
      config: { role: 'operator' },
      schema: commandSchema(
        'Cancel an order',
        'It leaves lock queues and releases its locks; a running job ends first unless `kill: true` (SIGTERM to the process group, SIGKILL after graceTimeout).',
        CancelSchema,
      ),
    },
    async (req) => {
      const id = req.params.id;
      const kill = req.body.kill;
      await orderlyCall(() => orderly.cancelOrder(id, kill !== undefined ? { kill } : {}), bodyPath);
      return after(id);
    },
  );

  app.post(
    '/orders/:id/suspend',
    {
      config: { role: 'operator' },
      schema: commandSchema(
        'Suspend an order',
        'At its next instruction boundary; locks stay held. `reset: true`: a waiting order leaves the lock queues at once.',
        SuspendSchema,
      ),
    },
    async (req) => {
      const id = req.params.id;
      const reset = req.body.reset;
      await orderlyCall(() => orderly.suspendOrder(id, reset !== undefined ? { reset } : {}), bodyPath);
      return after(id);
    },
  );

  app.post(
    '/orders/:id/confirm',
    {
      config: { role: 'operator' },
      schema: commandSchema(
        'Confirm the Prompt an order waits at',
        'The order is `prompting` (a Prompt instruction asked `prompt.question`); confirmed, it goes on. To refuse, cancel it.',
        ConfirmSchema,
      ),
    },
    async (req) => {
      const id = req.params.id;
      await orderlyCall(() => orderly.confirmOrder(id), bodyPath);
      return after(id);
    },
  );

  app.post(
    '/orders/:id/resume',
    {
      config: { role: 'operator' },
      schema: commandSchema(
        'Resume a suspended, failed or stopped order',
        'A failed or stopped order at its position, at a chosen `position` (not into or out of a lock block), or `asSucceeded` (the failed step counts as successful). Not both.',
        ResumeSchema,
      ),
    },
    async (req) => {
      const id = req.params.id;
      const opts: { position?: Position; asSucceeded?: boolean } = {};
      if (req.body.position !== undefined) opts.position = req.body.position;
      if (req.body.asSucceeded !== undefined) opts.asSucceeded = req.body.asSucceeded;
      if (opts.position !== undefined && opts.asSucceeded === true) {
        throw invalidError([{ path: 'body.asSucceeded', message: 'give either position or asSucceeded, not both' }]);
      }
      await orderlyCall(() => orderly.resumeOrder(id, opts), bodyPath);
      return after(id);
    },
  );

  app.post(
    '/orders/:id/priority',
    {
      config: { role: 'operator' },
      schema: commandSchema('Change the priority of an order', 'Higher goes first; a waiting order is re-sorted in its queues.', PrioritySchema),
    },
    async (req) => {
      const id = req.params.id;
      await orderlyCall(() => orderly.changePriority(id, req.body.priority), bodyPath);
      return after(id);
    },
  );
}
