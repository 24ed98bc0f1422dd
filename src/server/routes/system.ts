// Health, the OpenAPI document, the cluster, Prometheus metrics.

import { Type } from '@sinclair/typebox';

import { clusterView, type Api, type ServerContext } from '../context.js';
import { errors } from '../schemas.js';

export function systemRoutes(app: Api, ctx: ServerContext): void {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'Is the server up',
        description: 'Public.',
        tags: ['system'],
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptimeSeconds: Type.Number() }) },
      },
    },
    async () => ({ status: 'ok' as const, version: ctx.version, uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 100) / 10 }),
  );

  app.get(
    '/openapi.json',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'This API as an OpenAPI 3.1 document',
        description: 'Role: viewer. Generated from the same schemas that validate the requests.',
        tags: ['system'],
        response: { 200: Type.Object({ openapi: Type.String() }, { additionalProperties: true }), ...errors(401) },
      },
    },
    async () => app.swagger() as unknown as { openapi: string },
  );

  app.get(
    '/cluster',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The controller and the nodes',
        description:
          'Role: viewer. The controller writes the journal (embedded: this node, epoch 1; PostgreSQL: the holder of the controller lease, null before any node took it). `nodes`: every node alive (by its heartbeat; embedded: this node), the agents it serves (none: it runs the jobs of agents no node serves), its job slots and the executions running on it; `role` is `controller` for the lease holder, `standby` for the others. See docs/cluster.md.',
        tags: ['system'],
        response: { 200: ClusterSchema, ...errors(401) },
      },
    },
    async () => clusterView(ctx),
  );
}

const ClusterSchema = Type.Object({
  controller: Type.Union([
    Type.Object({
      node: Type.String(),
      epoch: Type.Integer({ description: 'raised by every new controller' }),
      since: Type.Number({ description: 'when it became the controller (ms since 1970)' }),
    }),
    Type.Null(),
  ]),
  nodes: Type.Array(
    Type.Object({
      name: Type.String(),
      role: Type.Union([Type.Literal('controller'), Type.Literal('standby')]),
      agents: Type.Array(Type.String(), { description: "the agents whose jobs it runs (a job's agentName); empty: it runs the jobs of agents no node serves" }),
      slots: Type.Integer({ description: 'their job slots' }),
      running: Type.Integer({ description: 'executions running on them' }),
      lastSeen: Type.Number({ description: 'when it was last known alive (ms since 1970)' }),
    }),
  ),
});

/** GET /metrics, outside /api/v1 as Prometheus expects. */
export function metricsRoute(app: Api, ctx: ServerContext): void {
  app.get(
    '/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Prometheus metrics',
        description: 'Role: viewer (scrape with a bearer token). Text exposition format.',
        tags: ['system'],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } }, ...errors(401) },
      },
    },
    async (_req, reply) => {
      const text = await ctx.metrics.metrics();
      return reply.header('content-type', ctx.metrics.contentType).send(text);
    },
  );
}
