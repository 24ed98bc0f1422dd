// The HTTP server: Fastify with TypeBox schemas, under /api/v1, plus /metrics.
//
// - Every body, parameter and query has a TypeBox schema; the same schemas validate the
//   requests (validation.ts) and make the OpenAPI 3.1 document (GET /api/v1/openapi.json).
// - Every error answer is `{error: {code, message, problems?}}` (errors.ts).
// - Every route but GET /api/v1/health, POST /api/v1/login and POST /v2/api/login needs a bearer token whose role
//   is at least the route's (viewer < operator < admin).
// - Responses are written with JSON.stringify: the response schemas document, they never drop
//   a field.

import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';

import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';

import { OrderlyError } from '../runtime/orderly.js';
import { ActianAuth } from './actian-auth.js';
import { roleAtLeast, type AuthService } from './auth.js';
import { embeddedCluster, packageVersion, type Api, type ClusterSource, type ServerContext } from './context.js';
import { ACTIAN_PREFIX } from './actian-map.js';
import { fromOrderly, HttpError, invalidError, notFound } from './errors.js';
import { headersFor, securityHeaders } from './headers.js';
import { ServerMetrics } from './metrics.js';
import { actianRoutes } from './routes/actian.js';
import { authRoutes } from './routes/auth.js';
import { eventRoutes } from './routes/events.js';
import { jobConfigRoutes } from './routes/jobconfigs.js';
import { jobResourceRoutes } from './routes/jobresources.js';
import { lockRoutes } from './routes/locks.js';
import { orderRoutes } from './routes/orders.js';
import { placementRoutes } from './routes/placement.js';
import { timelineRoutes } from './routes/timeline.js';
import { metricsRoute, systemRoutes } from './routes/system.js';
import { workflowRoutes } from './routes/workflows.js';
import { validatorCompiler } from './validation.js';
import { registerDashboard } from './web-static.js';
import { sessionPrincipal, webSessionRoutes, WebSessions, type WebSessionOptions } from './web-session.js';
import type { Orderly } from '../runtime/orderly.js';

export const API_PREFIX = '/api/v1';
export const BODY_LIMIT_BYTES_DEFAULT = 1024 * 1024;
const HEARTBEAT_MS_DEFAULT = 15_000;

export interface ServerOptions {
  orderly: Orderly;
  auth: AuthService;
  /** Fastify's request log (pino, JSON on stdout). Default off. */
  logger?: boolean;
  /** Request bodies above this are refused with 413 (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Metrics to feed (e.g. with a commit timer on the store, see metrics.ts); default: new ones. */
  metrics?: ServerMetrics;
  /** SSE heartbeat period (default 15 s). */
  heartbeatMs?: number;
  /** Browser sessions of the dashboard (cookie + CSRF token); see web-session.ts. */
  webSessions?: WebSessionOptions;
  /** Folder of the built dashboard (default dist/web); `false`: no dashboard. */
  webRoot?: string | false;
  /** The cluster as this node sees it (GET /api/v1/cluster); default: one embedded node. */
  cluster?: ClusterSource;
}

/** Whatever a handler or hook threw, as an HttpError. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof OrderlyError) return fromOrderly(err);
  const fe = err as Partial<FastifyError> & { message?: string };
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('too-large', 'request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError('unsupported-media-type', 'request bodies must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidError([{ path: 'body', message: 'empty: send a JSON object, or no body and no content-type' }]);
    default:
      break;
  }
  if (status === 400 && (err instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY')) {
    return invalidError([{ path: 'body', message: `not JSON: ${fe.message ?? 'parse error'}` }]);
  }
  if (status === 413) return new HttpError('too-large', fe.message ?? 'request too large');
  if (status === 415) return new HttpError('unsupported-media-type', fe.message ?? 'unsupported media type');
  if (status === 404) return notFound(fe.message ?? 'not found');
  if (status >= 400 && status < 500) {
    const e = new HttpError('invalid', fe.message ?? 'bad request');
    return Object.assign(e, { statusCode: status });
  }
  return new HttpError('internal', 'internal error');
}

const UNAUTHORIZED_NO_TOKEN = (): HttpError => new HttpError('unauthorized', 'a bearer token is required (Authorization: Bearer <token>, or Basic base64(user:password))');

/** A request Node's parser refused, answered in Orderly's error shape (the socket then closes). */
function clientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const e = new HttpError(tooLarge ? 'too-large' : 'invalid', tooLarge ? 'request headers too large' : `malformed request (${err.code ?? 'parse error'})`);
  const body = JSON.stringify(e.body());
  const head = [
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headersFor(undefined)).map(([k, v]) => `${k}: ${v}`),
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** A deep copy without our `errorMessage` keyword (not part of JSON Schema). */
function stripErrorMessages(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripErrorMessages);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== 'errorMessage') out[k] = stripErrorMessages(x);
  return out;
}

/** A request body with no required field may be left out (the commands of orders): say so. */
function optionalBodies<T extends { paths?: unknown }>(doc: T): T {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: { required?: unknown[]; anyOf?: unknown } }> } }>>;
  for (const ops of Object.values(paths)) {
    for (const op of Object.values(ops)) {
      const body = op.requestBody;
      const schema = body?.content?.['application/json']?.schema;
      if (body && schema && !schema.anyOf && (!Array.isArray(schema.required) || schema.required.length === 0)) body.required = false;
    }
  }
  return doc;
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimitBytes ?? BODY_LIMIT_BYTES_DEFAULT,
    exposeHeadRoutes: false,
    // Refused by the hook below instead, in Orderly's error shape.
    return503OnClosing: false,
    // Errors Fastify finds before any route or hook runs: a URL that does not decode.
    frameworkErrors: (err, req, reply) => {
      void reply.headers(headersFor(undefined));
      const e = req.headers.authorization === undefined ? UNAUTHORIZED_NO_TOKEN() : toHttpError(err);
      if (e.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="orderly"');
      void (reply as FastifyReply).code(e.statusCode).send(e.body());
    },
    // Requests Node's HTTP parser refuses (headers too large, malformed): answered on the socket.
    clientErrorHandler: clientError,
  });
  securityHeaders(app);
  let closing = false;
  app.addHook('onRequest', async () => {
    if (closing) throw new HttpError('unavailable', 'the server is stopping');
  });
  const metrics = opts.metrics ?? new ServerMetrics();
  metrics.attach(opts.orderly);
  const startedAt = Date.now();
  const ctx: ServerContext = {
    orderly: opts.orderly,
    cluster: opts.cluster ?? embeddedCluster(hostname(), startedAt),
    auth: opts.auth,
    metrics,
    version: packageVersion(),
    startedAt,
    heartbeatMs: opts.heartbeatMs ?? HEARTBEAT_MS_DEFAULT,
    streams: new Set(),
  };

  // JSON only: no text/plain bodies (415).
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err);
    if (e.statusCode >= 500 && e.statusCode !== 501) {
      if (opts.logger) req.log.error({ err }, 'internal error');
      else process.stderr.write(`orderly server: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    if (e.statusCode === 401) void reply.header('www-authenticate', 'Bearer realm="orderly"');
    if (e.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.retryAfterSeconds));
    return reply.status(e.statusCode).send(e.body());
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    return reply.status(404).send(notFound(`no route ${req.method} ${path}`).body());
  });

  const webSessions = new WebSessions(opts.auth, opts.webSessions);

  // Authentication and roles, before the body is read. A browser sends its session cookie
  // (web-session.ts) instead of the bearer header; Actian's Basic and api key schemes: actian-auth.ts.
  const actianAuth = new ActianAuth(opts.auth, opts.orderly);
  app.addHook('onRequest', async (req) => {
    const cfg = req.routeOptions.config;
    if (cfg.public === true) return;
    const header = req.headers.authorization;
    const fromCookie = header === undefined && req.headers['x-api-key'] === undefined ? sessionPrincipal(webSessions, req) : undefined;
    if (fromCookie) {
      const need = cfg.role ?? 'viewer';
      if (!roleAtLeast(fromCookie.role, need)) {
        throw new HttpError('forbidden', `this needs the ${need} role; the session of ${JSON.stringify(fromCookie.user ?? fromCookie.name)} has ${fromCookie.role}`);
      }
      req.principal = fromCookie;
      return;
    }
    const other = await actianAuth.authenticate(req);
    if (other && 'alias' in other) {
      req.aliasAccess = other.alias;
      return;
    }
    let principal = other?.principal;
    if (!principal) {
      const m = header !== undefined ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
      if (!m) throw header === undefined ? UNAUTHORIZED_NO_TOKEN() : new HttpError('unauthorized', 'the Authorization header must be "Bearer <token>" or "Basic base64(user:password)"');
      principal = opts.auth.authenticate(m[1]!);
    }
    if (!principal) throw new HttpError('unauthorized', 'unknown or expired token');
    const need = cfg.role ?? 'viewer';
    if (!roleAtLeast(principal.role, need)) {
      throw new HttpError('forbidden', `this needs the ${need} role; the token ${JSON.stringify(principal.name)} has ${principal.role}`);
    }
    req.principal = principal;
  });

  // Open event streams would keep the server from closing.
  // On a cluster's stand-by, a request that changes something first reads the journal as far
  // as it is now: what the client wrote through another node is there (a job config created
  // through one node is found by a PATCH through another). Reads answer from the state as
  // followed so far. A database out of reach: the command itself says so.
  app.addHook('preHandler', async (req) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
    await opts.orderly.catchUp().catch(() => undefined);
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const s of [...ctx.streams]) s.end();
  });
  app.addHook('onClose', async () => {
    metrics.detach();
  });

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Orderly HTTP API',
        version: ctx.version,
        description:
          'Durable workflows and jobs with resource locks. Every route but GET /api/v1/health, POST /api/v1/login and POST /v2/api/login needs `Authorization: Bearer <token>`; roles viewer < operator < admin. Errors: `{"error": {"code", "message", "problems": [{"path", "message"}]}}`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
      tags: [
        { name: 'system' },
        { name: 'auth' },
        { name: 'locks' },
        { name: 'workflows' },
        { name: 'orders' },
        { name: 'events' },
        { name: 'jobconfigs', description: 'job templates, job configs, schedules and runs' },
        { name: 'actian', description: 'Actian Integration Manager compatibility (/v2/api)' },
      ],
    },
    transform: ({ schema, url }) => ({ schema: stripErrorMessages(schema) as typeof schema, url }),
    transformObject: (doc) => ('openapiObject' in doc ? optionalBodies(doc.openapiObject) : doc.swaggerObject),
  });

  void app.register(
    async (instance) => {
      const api = instance.withTypeProvider<TypeBoxTypeProvider>() as Api;
      systemRoutes(api, ctx);
      authRoutes(api, ctx);
      lockRoutes(api, ctx);
      workflowRoutes(api, ctx);
      jobResourceRoutes(api, ctx);
      orderRoutes(api, ctx);
      eventRoutes(api, ctx);
      jobConfigRoutes(api, ctx);
      placementRoutes(api, ctx);
      timelineRoutes(api, ctx);
      webSessionRoutes(api, opts.auth, webSessions);
    },
    { prefix: API_PREFIX },
  );
  // Actian compatibility: every route needs a token (the auth hook above) but POST /v2/api/login (`public`).
  void app.register(
    async (instance) => {
      actianRoutes(instance.withTypeProvider<TypeBoxTypeProvider>() as Api, ctx);
    },
    { prefix: ACTIAN_PREFIX },
  );
  void app.register(async (instance) => {
    metricsRoute(instance.withTypeProvider<TypeBoxTypeProvider>() as Api, ctx);
  });

  if (opts.webRoot !== false) {
    const root = opts.webRoot;
    void app.register(async (instance) => (root !== undefined ? registerDashboard(instance, root) : registerDashboard(instance)));
  }

  return app;
}
