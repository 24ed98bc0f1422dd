// Health, the OpenAPI document, Prometheus metrics.

import { Type } from '@sinclair/typebox';

import type { Api, ServerContext } from '../context.js';
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
}

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
