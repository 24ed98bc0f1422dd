// Actian compatibility under /v2/api: the job configuration and job execution calls of
// Actian's Integration Manager API (Swagger 2.0 documents "Job Configuration" and "Job
// Execution" 3.3.0), answered from Orderly's job configs, templates, schedules and runs, with
// the same bearer tokens and roles as /api/v1. Mappings: src/server/actian-map.ts and
// docs/http-api.md "Actian compatibility".
//
// Actian's request bodies are read as Actian's server reads them: `null` means "no value";
// properties Orderly does not use are kept with the job config or template and returned
// (clientFieldsOf); properties Orderly cannot honour (macro sets, job files, input messages,
// secure macros, webhooks, filters) are refused with 400 rather than ignored. More calls:
// actian-more.ts (and 501 for those not provided).

import { clampTime } from '../../core/time.js';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { isTimeZone } from '../../core/checks.js';
import type { ProblemItem } from '../../core/commands.js';
import type { JobConfig, JobTemplate } from '../../core/model.js';
import type { JobConfigView } from '../../runtime/orderly.js';
import type { OrderView } from '../../runtime/views.js';
import {
  ACTIAN_PREFIX,
  ACTIAN_STATES,
  actianStatus,
  configFromActian,
  jobHref,
  jobResponse,
  listPage,
  offsetId,
  offsetMinutes,
  PAGE_SIZE_MAX,
  parseDate,
  PENDING,
  type ActianStatus,
  refuseUnsupported,
  scheduleFromActian,
  schedulePath,
  scheduleResponse,
  sorter,
  statusMatches,
  templateFromActian,
  templateHref,
  templateResponse,
  fromMacros,
  javaDuration,
  type ActianConfigBody,
  type ActianScheduleBody,
  type ActianTemplateBody,
  type Macro,
} from '../actian-map.js';
import { newAliasCredentials } from '../actian-auth.js';
import { JobStats } from '../actian-stats.js';
import { ConfigParams, configAnswers, NoContent, open, UNSUPPORTED_FILTERS } from './actian-common.js';
import { actianMoreRoutes } from './actian-more.js';
import { RunTimes } from '../actian-times.js';
import type { Api, ServerContext } from '../context.js';
import { HttpError, invalidError, notFound, orderlyCall } from '../errors.js';
import { documented, errors, OrderIdSchema } from '../schemas.js';
import { configInput, ISO, JobConfigIdSchema, mustGetConfig, mustGetTemplate, saveConfig } from './jobconfigs.js';

// ---------------------------------------------------------------- schemas (Actian's, with Orderly's extensions)

const N = <T extends TSchema>(s: T, errorMessage: string) => Type.Optional(Type.Union([s, Type.Null()], { errorMessage }));
const Str = (max = 4096) => Type.String({ maxLength: max });
const STR = 'must be a string';
const BOOL = 'must be true or false';

const ReferenceSchema = Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()), type: Type.Optional(Type.String()), href: Type.Optional(Type.String()) }, open);

const MacroSchema = Type.Object(
  {
    key: N(Str(128), STR),
    value: N(Type.String(), STR),
    secure: N(Type.Boolean(), BOOL),
    description: N(Str(), STR),
    token: N(Str(), STR),
  },
  open,
);

const RuntimeConfigSchema = Type.Object(
  {
    packageName: N(Str(), STR),
    entryPoint: N(Str(256), STR),
    logLevel: N(Str(), STR),
    packageArtifactOverride: N(Type.Boolean(), BOOL),
    packageEntityType: N(Str(), STR),
    packageEntityId: N(Str(), STR),
    packagePrefix: N(Str(), STR),
    macros: N(Type.Array(MacroSchema, { maxItems: 200 }), 'must be a list of macros {key, value}'),
    inMessages: N(Type.Array(Type.Unknown()), 'must be a list'),
    outMessageNames: N(Type.Array(Type.String()), 'must be a list of strings'),
  },
  { ...open, description: '`entryPoint` names the workflow to run (when `workflow` and `command` are not given); `macros` are the default arguments. The rest is kept and returned as given.' },
);

const JobConfigRequestSchema = Type.Object(
  {
    id: Type.Optional(JobConfigIdSchema),
    name: N(Str(128), STR),
    active: N(Type.Boolean(), BOOL),
    blocking: N(Type.Boolean(), BOOL),
    jobTemplateId: N(Str(128), STR),
    destinationId: N(Str(), STR),
    agentId: N(Str(), STR),
    integrationId: N(Str(), STR),
    profileId: N(Str(), STR),
    runtimeConfig: N(RuntimeConfigSchema, 'must be an object'),
    macrosets: N(Type.Array(Type.String()), 'must be a list of strings'),
    schedule: N(Str(256), 'must be a cron expression or an interval (PT15M, 900)'),
    timeout: N(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 }), 'must be whole seconds from 0 (none) to 604800'),
    description: N(Str(), STR),
    tags: N(Type.Array(Type.String()), 'must be a list of strings'),
    workflow: N(Str(256), STR),
    command: N(Str(256 * 1024), STR),
  },
  {
    ...open,
    description:
      'Actian JobConfigRequest. Orderly extensions: `id` (on create), `workflow` (a deployed workflow) or `command` (one shell command) — else `runtimeConfig.entryPoint` names the workflow. `schedule`: a cron expression or an interval; the full schedule is at /jobconfigs/{id}/schedule.',
  },
);

const JobTemplateRequestSchema = Type.Object(
  {
    id: Type.Optional(JobConfigIdSchema),
    name: N(Str(128), STR),
    active: N(Type.Boolean(), BOOL),
    runtimeConfig: N(RuntimeConfigSchema, 'must be an object'),
    destinationId: N(Str(), STR),
    agentId: N(Str(), STR),
    description: N(Str(), STR),
    blocking: N(Type.Boolean(), BOOL),
    timeout: N(Type.Number({ minimum: 0, maximum: 7 * 24 * 3600 }), 'must be seconds from 0 (none) to 604800'),
  },
  { ...open, description: 'Actian JobTemplateRequest. Orderly extensions: `id`, `blocking` (the default of its job configs), `timeout` (seconds).' },
);

const TimeZoneSchema = Type.Object({ id: N(Str(64), STR), displayName: N(Str(), STR), rawOffset: N(Type.Integer(), 'must be an integer'), dstsavings: N(Type.Integer(), 'must be an integer') }, open);

const ScheduleRequestSchema = Type.Object(
  {
    name: N(Str(128), STR),
    type: N(Type.Union([Type.Literal('cron'), Type.Literal('interval')]), 'must be "cron" or "interval"'),
    cronSchedule: N(Str(256), STR),
    intervalFrequency: N(Type.Union([Str(64), Type.Integer()]), 'must be an ISO-8601 duration (PT15M) or seconds'),
    description: N(Str(), STR),
    timeZone: N(Type.Union([TimeZoneSchema, Str(64)]), 'must be a TimeZone object {id} or an IANA time zone id'),
    webhookConfig: Type.Optional(Type.Unknown()),
    overlap: N(Type.Union(['queue', 'skip', 'allow', 'replace'].map((s) => Type.Literal(s))), 'must be one of queue, skip, allow, replace'),
    queueLimit: N(Type.Integer({ minimum: 0 }), 'must be a whole number ≥ 0'),
    catchUp: N(Type.Union(['none', 'latest', 'all'].map((s) => Type.Literal(s))), 'must be one of none, latest, all'),
  },
  {
    ...open,
    description:
      'Actian ScheduleRequest. `intervalFrequency`: an ISO-8601 duration (PT15M, P1D) or whole seconds. `timeZone`: a TimeZone object (its `id`) or an IANA id, default Etc/UTC. Orderly extensions: `overlap`, `queueLimit`, `catchUp`.',
  },
);

const JobRequestSchema = Type.Object(
  {
    runtimeConfig: N(RuntimeConfigSchema, 'must be an object'),
    jobFiles: N(Type.Record(Type.String(), Type.String()), 'must be an object of strings'),
    macrosets: N(Type.Array(Type.String()), 'must be a list of strings'),
    tags: N(Type.Array(Type.String()), 'must be a list of strings'),
    id: Type.Optional(OrderIdSchema),
    priority: N(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }), 'must be a whole number from -1000000 to 1000000'),
  },
  { ...open, description: 'Actian JobRequest: `runtimeConfig.macros` are the run’s arguments. Orderly extensions: `id` (the run’s order id), `priority`.' },
);

const LoginRequestSchema = Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, open);
const BulkOperationSchema = Type.Object({ recordIds: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 1000 }) }, open);

// Responses (documentation; what is sent is built in actian-map.ts).
const AccessTokenResponse = Type.Object({ access_token: Type.String(), token_type: Type.String(), expires_in: Type.Integer() });
const JobConfigResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    href: Type.String(),
    created: Type.String({ format: 'date-time' }),
    lastModified: Type.String({ format: 'date-time' }),
    active: Type.Boolean(),
    blocking: Type.Boolean({ description: 'in force: its own, else its template’s' }),
    schedule: Type.Optional(Type.String()),
    nextFireTime: Type.Optional(Type.String({ format: 'date-time' })),
    timeout: Type.Optional(Type.Integer()),
    template: Type.Optional(ReferenceSchema),
    runtimeConfig: Type.Object({ entryPoint: Type.Optional(Type.String()), macros: Type.Array(Type.Object({ key: Type.String(), value: Type.String(), secure: Type.Boolean() })) }),
    description: Type.Optional(Type.String()),
    workflow: Type.Optional(Type.String()),
    command: Type.Optional(Type.String()),
    activeRuns: Type.Integer(),
    queuedRuns: Type.Integer({ description: 'Orderly: runs not started yet (pending: waiting or queued)' }),
    fires: Type.Array(
      Type.Object({ fireAt: Type.String({ format: 'date-time' }), jobId: Type.Optional(Type.String()), skipped: Type.Optional(Type.String({ description: 'why the fire was skipped' })) }),
      { description: 'Orderly: the newest schedule fires (at most 50), newest last' },
    ),
  },
  open,
);
const JobTemplateResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    href: Type.String(),
    active: Type.Boolean(),
    runtimeConfig: Type.Object({ macros: Type.Array(Type.Object({ key: Type.String(), value: Type.String(), secure: Type.Boolean() })) }),
    description: Type.Optional(Type.String()),
    blocking: Type.Optional(Type.Boolean()),
    timeout: Type.Optional(Type.Number()),
  },
  open,
);
const ListShape = <T extends TSchema>(item: T) =>
  Type.Object(
    {
      totalRecords: Type.Integer(),
      totalPages: Type.Integer(),
      size: Type.Integer(),
      pageNumber: Type.Integer({ description: 'zero based' }),
      sortBy: Type.Optional(Type.String()),
      direction: Type.Optional(Type.String()),
      items: Type.Array(item),
      links: Type.Object({ prev: Type.Optional(Type.String()), next: Type.Optional(Type.String()) }),
    },
    open,
  );
const ScheduleResponse = Type.Object(
  {
    name: Type.Optional(Type.String()),
    type: Type.String(),
    cronSchedule: Type.Optional(Type.String()),
    intervalFrequency: Type.Optional(Type.String()),
    nextFireTime: Type.Optional(Type.String({ format: 'date-time' })),
    description: Type.Optional(Type.String()),
    timeZone: Type.Object({ id: Type.String(), displayName: Type.String(), rawOffset: Type.Integer(), dstsavings: Type.Integer() }),
    timeZoneDisplayName: Type.String(),
    timeZoneShortId: Type.String(),
    timeZoneOffset: Type.Object({ totalSeconds: Type.Integer(), id: Type.String() }),
    resourceId: Type.String(),
    resourceType: Type.String(),
  },
  open,
);
const JobResponse = Type.Object(
  {
    id: Type.String(),
    status: Type.String({ description: 'waiting | queued | running | finished_ok | finished_error | cancelled | aborted' }),
    entryPoint: Type.String({ description: 'the workflow' }),
    href: Type.String(),
    scheduled: Type.Optional(Type.String({ format: 'date-time' })),
    received: Type.String({ format: 'date-time' }),
    started: Type.Optional(Type.String({ format: 'date-time' })),
    finished: Type.Optional(Type.String({ format: 'date-time' })),
    duration: Type.Optional(Type.String({ description: 'ISO-8601 (Java Duration), e.g. PT1M2.5S' })),
    engine: Type.String(),
    currentStep: Type.Optional(Type.String()),
    returnCode: Type.Optional(Type.String()),
    jobConfig: Type.Optional(ReferenceSchema),
    jobTemplate: Type.Optional(ReferenceSchema),
    jobLog: ReferenceSchema,
    orderlyState: Type.String(),
    priority: Type.Integer(),
  },
  open,
);
const JobStatsResponse = Type.Object(
  {
    queued: Type.Integer(),
    running: Type.Integer(),
    finished: Type.Integer(),
    error: Type.Integer(),
    failed: Type.Integer(),
    cancelled: Type.Integer(),
    totalJobs: Type.Integer(),
    totalDuration: Type.String(),
    skippedFires: Type.Optional(Type.Integer({ description: 'Orderly: schedule fires skipped in the window (of the newest 50 fires kept per job config); with a filter' })),
    window: Type.Object({ windowBegins: Type.Optional(Type.String()), windowEnds: Type.String(), windowDuration: Type.Optional(Type.String()) }),
  },
  open,
);
const IdList = Type.Array(Type.String());

// Parameters (unknown ones are ignored, as Actian's server does).
const JobParams = Type.Object({ id: OrderIdSchema });
const pageQuery = {
  offset: Type.Optional(Type.Integer({ minimum: 0, description: 'page number (zero based)', errorMessage: 'must be a page number ≥ 0' })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_SIZE_MAX, description: `page size (default 100, at most ${PAGE_SIZE_MAX})`, errorMessage: `must be a whole number from 1 to ${PAGE_SIZE_MAX}` })),
  sortby: Type.Optional(Type.String({ maxLength: 256, description: 'comma separated field names' })),
  direction: Type.Optional(Type.String({ maxLength: 256, description: 'asc or desc, one per sortby field' })),
  filter: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
  filterby: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
  operators: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
};
const ListConfigsQuery = Type.Object(
  {
    onlyfavs: Type.Optional(Type.Boolean({ description: 'Orderly has no favorites: true lists nothing' })),
    active: Type.Optional(Type.Boolean()),
    permissions: Type.Optional(Type.Boolean({ description: 'ignored' })),
    ...pageQuery,
  },
  open,
);
const jobQueryFields = {
  startdate: Type.Optional(Type.String({ maxLength: 64, description: 'received at or after: ms since the epoch or ISO-8601' })),
  enddate: Type.Optional(Type.String({ maxLength: 64, description: 'received at or before: ms since the epoch or ISO-8601' })),
  ...pageQuery,
};
const JobsQuery = Type.Object(
  {
    jobtemplateid: Type.Optional(Type.String({ maxLength: 128 })),
    jobconfigid: Type.Optional(Type.String({ maxLength: 128 })),
    integid: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
    userid: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
    state: Type.Optional(Type.Union(ACTIAN_STATES.map((s) => Type.Literal(s)), { errorMessage: `must be one of ${ACTIAN_STATES.join(', ')}` })),
    ...jobQueryFields,
  },
  open,
);
const ConfigJobsQuery = Type.Object(jobQueryFields, open);
const StatsQuery = Type.Object(
  {
    jobtemplateid: Type.Optional(Type.String({ maxLength: 128 })),
    jobconfigid: Type.Optional(Type.String({ maxLength: 128 })),
    integid: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
    userid: Type.Optional(Type.String({ description: 'not supported (400 when given)' })),
    startdate: jobQueryFields.startdate,
    enddate: jobQueryFields.enddate,
    filter: pageQuery.filter,
    filterby: pageQuery.filterby,
    operators: pageQuery.operators,
  },
  open,
);
const RunQuery = Type.Object({ ordered: Type.Optional(Type.Boolean({ description: 'accepted and ignored: serialize runs with `blocking`' })) }, open);
const LogQuery = Type.Object({ zoneid: Type.Optional(Type.String({ maxLength: 64, description: 'IANA time zone of the times in the log (default Etc/UTC)' })) }, open);
const DeleteTemplateQuery = Type.Object({ cascade: Type.Optional(Type.Boolean({ description: 'true is not supported (delete its job configs first)' })) }, open);

// ---------------------------------------------------------------- helpers

const str = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A time in a zone as ISO-8601 with its offset: 2026-01-02T10:00:00.000+01:00 (Z for UTC). */
function isoInZone(ms: number, tz: string): string {
  const at = clampTime(ms);
  const off = offsetMinutes(tz, at);
  const local = new Date(at + off * 60_000).toISOString().slice(0, -1);
  return `${local}${offsetId(off)}`;
}

/** A page of job configs or templates as their lists give it: none with `onlyfavs` (Orderly has no favorites), `active` kept, sorted (ties by id). */
function activePage<T extends { id: string; active: boolean }>(
  all: T[],
  q: Static<typeof ListConfigsQuery>,
  cmp: (a: T, b: T) => number,
  url: string,
): Record<string, unknown> & { items: T[] } {
  let some = q.onlyfavs === true ? [] : all;
  if (q.active !== undefined) some = some.filter((x) => x.active === q.active);
  some.sort((a, b) => cmp(a, b) || str(a.id, b.id));
  return listPage(some, q, url);
}

// ---------------------------------------------------------------- the routes

export function actianRoutes(app: Api, ctx: ServerContext): void {
  const { orderly, auth } = ctx;
  const tags = ['actian'];
  const times = new RunTimes(orderly);
  const stats = new JobStats(orderly, times);
  app.addHook('onClose', async () => {
    stats.close();
    times.close();
  });

  // Bodies are JSON whatever their Content-Type says (Actian's clients: `curl -d` sends a form
  // type, fetch with a string body text/plain). Only under /v2/api; /api/v1 stays strict.
  // POST /listener/{alias} takes any text (its message) as it is.
  const parseJson = (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void): void => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (req.routeOptions.config.alias === true) return done(null, text);
    if (/^multipart\//i.test(req.headers['content-type'] ?? '')) {
      return done(new HttpError('not-implemented', 'multipart uploads (files) are not provided: send the JSON document as the body (Content-Type: application/json)'));
    }
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(Object.assign(e instanceof Error ? e : new SyntaxError(String(e)), { statusCode: 400 }));
    }
  };
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, parseJson);
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson);
  const now = (): number => Date.now();

  const { configOf, configOut, created } = configAnswers(ctx);
  const maps = (): { configs: Map<string, JobConfig>; templates: Map<string, JobTemplate> } => ({
    configs: new Map([...orderly.engine.state.jobConfigs].map(([id, c]) => [id, c.def])),
    templates: orderly.engine.state.jobTemplates,
  });
  const jobsOut = async (orders: OrderView[]): Promise<Record<string, unknown>[]> => {
    const t = await times.all(orders);
    const { configs, templates } = maps();
    const at = now();
    return orders.map((o, i) => jobResponse(o, t[i] ?? {}, configs, templates, at));
  };
  const jobOut = async (id: string): Promise<Record<string, unknown>> => {
    const o = orderly.getOrder(id);
    if (!o) throw notFound(`job ${id} not found`);
    return (await jobsOut([o]))[0]!;
  };

  /** 202 with the JobResponse of a run just requested, and its Location. */
  const accepted = async (reply: FastifyReply, orderId: string): Promise<FastifyReply> => {
    const job = orderly.getOrder(orderId);
    const out = job ? (await jobsOut([job]))[0]! : { id: orderId, status: 'queued', href: jobHref(orderId) };
    return reply.status(202).header('location', jobHref(orderId)).send(out);
  };

  const jobSorter = (q: { sortby?: string; direction?: string }) =>
    sorter<OrderView>(
      {
        id: (o) => o.id,
        status: (o) => actianStatus(o),
        received: (o) => o.addedAt,
        scheduled: (o) => o.scheduledFor,
        finished: (o) => o.endedAt,
        priority: (o) => o.priority,
        entryPoint: (o) => o.workflow,
      },
      q.sortby,
      q.direction,
      { field: 'received', dir: 'desc' },
    );

  /** Orders filtered by Actian's job query; `received` within startdate..enddate. */
  const selectJobs = (q: { jobtemplateid?: string; jobconfigid?: string; state?: string; startdate?: string; enddate?: string }): OrderView[] => {
    const from = parseDate(q.startdate, 'query.startdate');
    const to = parseDate(q.enddate, 'query.enddate');
    const configs = orderly.engine.state.jobConfigs;
    return orderly.listOrders().filter((o) => {
      if (q.jobconfigid !== undefined && o.jobConfig !== q.jobconfigid) return false;
      if (q.jobtemplateid !== undefined && (o.jobConfig === undefined || configs.get(o.jobConfig)?.def.templateId !== q.jobtemplateid)) return false;
      if (q.state !== undefined && !statusMatches(actianStatus(o), q.state)) return false;
      if (from !== undefined && o.addedAt < from) return false;
      if (to !== undefined && o.addedAt > to) return false;
      return true;
    });
  };

  const idsWhere = (pred: (status: string) => boolean): string[] =>
    orderly
      .listOrders()
      .filter((o) => pred(actianStatus(o)))
      .sort((a, b) => a.addedAt - b.addedAt || str(a.id, b.id))
      .map((o) => o.id);

  // ------------------------------------------------------------ login

  app.post(
    '/login',
    {
      config: { public: true },
      schema: {
        summary: 'Actian: retrieve an access_token',
        description: 'Public. A session token for a user (POST /api/v1/users), as POST /api/v1/login. Use it as `Authorization: Bearer <access_token>`.',
        tags,
        security: [],
        body: LoginRequestSchema,
        response: { 200: AccessTokenResponse, ...errors(400, 401, 413) },
      },
    },
    async (req) => {
      const r = await auth.login(req.body.username, req.body.password, req.ip);
      if (!r) throw new HttpError('unauthorized', 'wrong user name or password');
      return r;
    },
  );

  // ------------------------------------------------------------ job configs

  app.get(
    '/jobconfigs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: get a list of job configs',
        description: 'Role: viewer. JobConfigListResponse. `offset` is the page number (zero based), `size` the page size (default 100). sortby: id, name, created, lastModified, active, blocking, nextFireTime (default name).',
        tags,
        querystring: ListConfigsQuery,
        response: documented({ 200: ListShape(JobConfigResponse), ...errors(400, 401) }),
      },
    },
    async (req) => {
      const q = req.query;
      refuseUnsupported(q, UNSUPPORTED_FILTERS);
      const cmp = sorter<JobConfigView>(
        {
          id: (c) => c.id,
          name: (c) => c.name,
          created: (c) => c.created,
          lastModified: (c) => c.modified,
          active: (c) => c.active,
          blocking: (c) => c.effectiveBlocking,
          nextFireTime: (c) => c.nextFireTime,
        },
        q.sortby,
        q.direction,
        { field: 'name', dir: 'asc' },
      );
      const page = activePage(orderly.listJobConfigs(), q, cmp, req.url);
      return { ...page, items: page.items.map(configOf) };
    },
  );

  app.post(
    '/jobconfigs',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: create a new job config',
        description: 'Role: admin. 201 JobConfigResponse. Needs `name` and what to run: `workflow` or `command` (Orderly) or `runtimeConfig.entryPoint` (a deployed workflow).',
        tags,
        body: JobConfigRequestSchema,
        response: documented({ 201: JobConfigResponse, ...errors(400, 401, 403, 409, 413) }),
      },
    },
    async (req, reply) => {
      const body = req.body as ActianConfigBody;
      const { doc, path } = configFromActian(body, {}, undefined);
      return created(reply, await saveConfig(ctx, doc, path, { create: true }));
    },
  );

  app.get(
    '/jobconfigs/:id',
    {
      config: { role: 'viewer' },
      schema: { summary: 'Actian: get a job config', description: 'Role: viewer. JobConfigResponse.', tags, params: ConfigParams, response: documented({ 200: JobConfigResponse, ...errors(400, 401, 404) }) },
    },
    async (req) => configOut(req.params.id),
  );

  /** PUT replaces the job config (but its schedule, unless given); PATCH changes the fields given. */
  const updateConfig = async (id: string, body: ActianConfigBody, patch: boolean): Promise<Record<string, unknown>> => {
    if (body.id !== undefined && body.id !== id) throw invalidError([{ path: 'body.id', message: `must be the id in the URL (${id}) or left out` }]);
    const current = mustGetConfig(ctx, id);
    const base = patch ? configInput(current) : { id, ...(current.schedule ? { schedule: current.schedule } : {}) };
    const { doc, path } = configFromActian(body, base, current);
    return configOf(await saveConfig(ctx, { ...doc, id }, path));
  };

  app.put(
    '/jobconfigs/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: update an existing job config',
        description: 'Role: admin. Replaces the job config: fields left out (or null) take their defaults, except the schedule (its own resource: /schedule), which stays unless `schedule` is given. 404 when it does not exist.',
        tags,
        params: ConfigParams,
        body: JobConfigRequestSchema,
        response: documented({ 200: JobConfigResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => updateConfig(req.params.id, req.body as ActianConfigBody, false),
  );

  app.patch(
    '/jobconfigs/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: patch an existing job config',
        description: 'Role: admin. Only the fields given change (null: back to the default). `{"blocking": true}` makes its runs one at a time, in the order they were requested.',
        tags,
        params: ConfigParams,
        body: JobConfigRequestSchema,
        response: documented({ 200: JobConfigResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => updateConfig(req.params.id, req.body as ActianConfigBody, true),
  );

  app.delete(
    '/jobconfigs/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: delete a job config',
        description: 'Role: admin. 204; 404; 409 while it has jobs that have not ended.',
        tags,
        params: ConfigParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      await orderlyCall(() => orderly.deleteJobConfig(req.params.id));
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ schedule

  const scheduleOut = (id: string): Record<string, unknown> => {
    const v = mustGetConfig(ctx, id);
    if (!v.schedule) throw notFound(`job config ${id} has no schedule`);
    return scheduleResponse(id, v.schedule, v.nextFireTime, now());
  };
  const saveSchedule = async (id: string, body: ActianScheduleBody): Promise<Record<string, unknown>> => {
    const current = configInput(mustGetConfig(ctx, id));
    const schedule = scheduleFromActian(body);
    await saveConfig(ctx, { ...current, schedule }, schedulePath);
    return scheduleOut(id);
  };

  app.get(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: retrieve a job config schedule',
        description: 'Role: viewer. ScheduleResponse with `nextFireTime`; 404 without a schedule.',
        tags,
        params: ConfigParams,
        response: documented({ 200: ScheduleResponse, ...errors(400, 401, 404) }),
      },
    },
    async (req) => scheduleOut(req.params.id),
  );

  app.post(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: create a job config schedule',
        description: 'Role: admin. 201 ScheduleResponse; 409 conflict when it has one (PUT replaces).',
        tags,
        params: ConfigParams,
        body: ScheduleRequestSchema,
        response: documented({ 201: ScheduleResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      if (mustGetConfig(ctx, id).schedule) throw new HttpError('conflict', `job config ${id} has a schedule already: PUT replaces it`);
      return reply.status(201).send(await saveSchedule(id, req.body as ActianScheduleBody));
    },
  );

  app.put(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: update a job config schedule',
        description: 'Role: admin. Replaces the schedule (or sets one). ScheduleResponse.',
        tags,
        params: ConfigParams,
        body: ScheduleRequestSchema,
        response: documented({ 200: ScheduleResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => saveSchedule(req.params.id, req.body as ActianScheduleBody),
  );

  app.delete(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: delete a job config schedule',
        description: 'Role: admin. 204; 404 without a schedule.',
        tags,
        params: ConfigParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const current = configInput(mustGetConfig(ctx, req.params.id));
      if (!current.schedule) throw notFound(`job config ${req.params.id} has no schedule`);
      delete current.schedule;
      await saveConfig(ctx, current, (p) => p);
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ runs of a job config

  app.post(
    '/jobconfigs/:id/jobs',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Actian: start a new job for this job config',
        description:
          'Role: operator. 202 with the JobResponse (Location: /v2/api/jobs/{id}). `runtimeConfig.macros` are the run’s arguments (over the job config’s). A blocking job config’s job is `waiting` while an earlier one runs. 404; 409 state when the job config is inactive.',
        tags,
        params: ConfigParams,
        querystring: RunQuery,
        body: JobRequestSchema,
        response: documented({ 202: JobResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req, reply) => {
      const b = req.body as { runtimeConfig?: { macros?: Macro[] | null; inMessages?: unknown[] | null } | null; jobFiles?: Record<string, string> | null; macrosets?: string[] | null; id?: string; priority?: number | null };
      const problems: ProblemItem[] = [];
      if (b.jobFiles && Object.keys(b.jobFiles).length > 0) problems.push({ path: 'body.jobFiles', message: 'job files are not supported' });
      if (b.macrosets && b.macrosets.length > 0) problems.push({ path: 'body.macrosets', message: 'macro sets are not supported: give the values as runtimeConfig.macros' });
      if (b.runtimeConfig?.inMessages && b.runtimeConfig.inMessages.length > 0) problems.push({ path: 'body.runtimeConfig.inMessages', message: 'input messages are not supported: pass values as macros' });
      const macros = b.runtimeConfig?.macros ?? [];
      const args = fromMacros(macros, 'body.runtimeConfig.macros', problems);
      if (problems.length > 0) throw invalidError(problems);
      const opts: { id?: string; arguments?: Record<string, string>; priority?: number } = {};
      if (b.id !== undefined) opts.id = b.id;
      if (Object.keys(args).length > 0) opts.arguments = args;
      if (typeof b.priority === 'number') opts.priority = b.priority;
      const keys = macros.map((m) => m.key);
      const orderId = await orderlyCall(
        () => orderly.runJobConfig(req.params.id, opts),
        (p) => {
          if (p.startsWith('arguments.')) {
            const i = keys.indexOf(p.slice('arguments.'.length));
            return i >= 0 ? `body.runtimeConfig.macros[${i}].key` : 'body.runtimeConfig.macros';
          }
          return p === 'arguments' ? 'body.runtimeConfig.macros' : `body.${p}`;
        },
      );
      return accepted(reply, orderId);
    },
  );

  app.get(
    '/jobconfigs/:id/jobs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: get a list of jobs for this job config',
        description: 'Role: viewer. JobListResponse, newest first by default (sortby: id, status, received, scheduled, finished, priority, entryPoint).',
        tags,
        params: ConfigParams,
        querystring: ConfigJobsQuery,
        response: documented({ 200: ListShape(JobResponse), ...errors(400, 401, 404) }),
      },
    },
    async (req) => {
      const q = req.query;
      refuseUnsupported(q, UNSUPPORTED_FILTERS);
      mustGetConfig(ctx, req.params.id);
      const cmp = jobSorter(q);
      const all = selectJobs({ ...q, jobconfigid: req.params.id }).sort((a, b) => cmp(a, b) || str(a.id, b.id));
      const page = listPage(all, q, req.url);
      return { ...page, items: await jobsOut(page.items) };
    },
  );

  // ------------------------------------------------------------ aliases (Orderly's: Actian's Swagger runs them but does not say how they are made)

  const aliasOut = (id: string, a: { name: string; secretHash?: string; created: number }): { alias: string; jobConfigId: string; secret: boolean; created: string; href: string } => ({
    alias: a.name,
    jobConfigId: id,
    secret: a.secretHash !== undefined,
    created: ISO(a.created),
    href: `${ACTIAN_PREFIX}/listener/${encodeURIComponent(a.name)}`,
  });
  const AliasResponse = Type.Object(
    {
      alias: Type.String(),
      jobConfigId: Type.String(),
      secret: Type.Boolean({ description: 'true: callers send Authorization: Basic base64(apiKey:apiSecret); false: x-api-key: apiKey' }),
      created: Type.String({ format: 'date-time' }),
      href: Type.String({ description: 'where to POST to run the job config' }),
      apiKey: Type.Optional(Type.String({ description: 'only in the answer that created it' })),
      apiSecret: Type.Optional(Type.String({ description: 'only in the answer that created it' })),
    },
    open,
  );
  const AliasParams = Type.Object({ id: JobConfigIdSchema, alias: JobConfigIdSchema });

  app.post(
    '/jobconfigs/:id/aliases',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Orderly: give a job config an alias with a new api key (and secret)',
        description:
          'Role: admin. Body `{alias, secret?}`: `alias` 1..128 of A-Z a-z 0-9 _ . - (unique over all job configs); `secret: true` also makes an api secret. 201 with `apiKey` (and `apiSecret`): shown this once, kept only as SHA-256 hashes. The same alias again replaces its key (rotation). With the key, a caller can only run this job config: `POST /v2/api/listener/{alias}` with `x-api-key: <apiKey>`, or with `Authorization: Basic base64(apiKey:apiSecret)` when there is a secret.',
        tags,
        params: ConfigParams,
        body: Type.Object(
          { alias: JobConfigIdSchema, secret: Type.Optional(Type.Boolean({ errorMessage: BOOL })) },
          { additionalProperties: false },
        ),
        response: { 201: AliasResponse, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const cred = newAliasCredentials(req.body.secret === true);
      const alias = { name: req.body.alias, keyHash: cred.keyHash, ...(cred.secretHash !== undefined ? { secretHash: cred.secretHash } : {}) };
      await orderlyCall(() => orderly.setJobConfigAlias(id, alias), (p) => (p.startsWith('alias') ? 'body.alias' : `body.${p}`));
      const a = orderly.listJobConfigAliases(id)!.find((x) => x.name === alias.name)!;
      return reply.status(201).send({ ...aliasOut(id, a), apiKey: cred.apiKey, ...(cred.apiSecret !== undefined ? { apiSecret: cred.apiSecret } : {}) });
    },
  );

  app.get(
    '/jobconfigs/:id/aliases',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Orderly: the aliases of a job config',
        description: 'Role: viewer. Without their keys (only hashes are kept).',
        tags,
        params: ConfigParams,
        response: { 200: Type.Object({ items: Type.Array(AliasResponse) }), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const list = orderly.listJobConfigAliases(req.params.id);
      if (!list) throw notFound(`job config ${req.params.id} not found`);
      return { items: list.map((a) => aliasOut(req.params.id, a)) };
    },
  );

  app.delete(
    '/jobconfigs/:id/aliases/:alias',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Orderly: revoke an alias (its api key and secret stop working at once)',
        description: 'Role: admin. 204; 404.',
        tags,
        params: AliasParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await orderlyCall(() => orderly.deleteJobConfigAlias(req.params.id, req.params.alias));
      return reply.status(204).send(null);
    },
  );

  const ListenerQuery = Type.Object(
    {
      messagename: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$', errorMessage: 'must be an argument name (a letter or _, then A-Z a-z 0-9 _ . -)' })),
      outmessagename: Type.Optional(Type.String({ maxLength: 128 })),
      async: Type.Optional(Type.Boolean({ errorMessage: BOOL })),
      ordered: Type.Optional(Type.Boolean({ errorMessage: BOOL })),
    },
    open,
  );
  const LISTENER_TEXT =
    'The body (any content type, as text) is the run’s argument named `messagename` (default `message`); an empty body gives none. 202 with the JobResponse (Location: /v2/api/jobs/{id}). Runs are always asynchronous: `async=false` and `outmessagename` are 501; `ordered=true` is 501 unless the job config is blocking (then its runs are ordered anyway).';

  /** A run of a job config with a text message (the listener calls). */
  const listen = async (jobConfigId: string, q: { messagename?: string; outmessagename?: string; async?: boolean; ordered?: boolean }, body: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    if (q.async === false) throw new HttpError('not-implemented', 'synchronous runs (async=false) are not provided: the run is started and answered 202; poll GET /v2/api/jobs/{id}');
    if (q.outmessagename !== undefined) throw new HttpError('not-implemented', 'output messages are not provided (outmessagename): read the job log, GET /v2/api/jobs/{id}/log');
    const c = mustGetConfig(ctx, jobConfigId);
    if (q.ordered === true && !c.effectiveBlocking) {
      throw new HttpError('not-implemented', `ordered=true on a job config that is not blocking is not provided: make job config ${c.id} blocking ({"blocking": true}) to run its jobs one at a time in order`);
    }
    const text = body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const argName = q.messagename ?? 'message';
    const opts: { arguments?: Record<string, string> } = text === '' ? {} : { arguments: { [argName]: text } };
    const orderId = await orderlyCall(() => orderly.runJobConfig(jobConfigId, opts), (p) => (p.startsWith('arguments') ? 'body' : `body.${p}`));
    return accepted(reply, orderId);
  };

  app.post(
    '/listener/:alias',
    {
      config: { role: 'operator', alias: true },
      schema: {
        summary: 'Actian: run a job via job config alias with text message input',
        description: `Authorization: the alias's \`x-api-key\` when it has only a key; \`Authorization: Basic base64(apiKey:apiSecret)\` when it has a secret too; or a user's bearer token or Basic name and password (role operator). ${LISTENER_TEXT}`,
        tags,
        params: Type.Object({ alias: JobConfigIdSchema }),
        querystring: ListenerQuery,
        response: documented({ 202: JobResponse, ...errors(400, 401, 403, 404, 409, 413, 501) }),
      },
    },
    async (req, reply) => {
      const name = req.params.alias;
      const found = orderly.findJobConfigAlias(name);
      if (!found) throw notFound(`alias ${name} not found`);
      if (req.aliasAccess && req.aliasAccess.alias !== name) throw new HttpError('forbidden', `these credentials run alias ${req.aliasAccess.alias} only`);
      return listen(found.jobConfig, req.query, req.body, reply);
    },
  );

  app.post(
    '/jobconfigs/:id/listener',
    {
      config: { role: 'operator', alias: true },
      schema: {
        summary: 'Actian: run a job for this job config with text message input',
        description: `Role: operator. ${LISTENER_TEXT}`,
        tags,
        params: ConfigParams,
        querystring: ListenerQuery,
        response: documented({ 202: JobResponse, ...errors(400, 401, 403, 404, 409, 413, 501) }),
      },
    },
    async (req, reply) => {
      if (req.aliasAccess) throw new HttpError('unauthorized', 'an alias api key runs POST /v2/api/listener/{alias} only');
      return listen(req.params.id, req.query, req.body, reply);
    },
  );

  // ------------------------------------------------------------ jobs

  app.get(
    '/jobs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: get a list of jobs',
        description:
          'Role: viewer. JobListResponse over the runs in memory (active ones and the newest ended ones; orders added without a job config too). Filters: jobconfigid, jobtemplateid, state (finished_all = finished_ok or finished_error), startdate/enddate (received). Newest first by default.',
        tags,
        querystring: JobsQuery,
        response: documented({ 200: ListShape(JobResponse), ...errors(400, 401) }),
      },
    },
    async (req) => {
      const q = req.query;
      refuseUnsupported(q, [...UNSUPPORTED_FILTERS, 'integid', 'userid']);
      const cmp = jobSorter(q);
      const all = selectJobs(q).sort((a, b) => cmp(a, b) || str(a.id, b.id));
      const page = listPage(all, q, req.url);
      return { ...page, items: await jobsOut(page.items) };
    },
  );

  const idListRoute = (path: string, summary: string, description: string, pred: (status: string) => boolean): void => {
    app.get(path, { config: { role: 'viewer' }, schema: { summary, description: `Role: viewer. ${description} Oldest first.`, tags, response: { 200: IdList, ...errors(401) } } }, async () => idsWhere(pred));
  };
  idListRoute('/jobs/pending', 'Actian: get a list of pending/queued job ids', 'Jobs `waiting` (for an earlier job of a blocking job config) or `queued`.', (s) => PENDING.has(s));
  idListRoute('/jobs/running', 'Actian: get a list of running job ids', 'Jobs `running`.', (s) => s === 'running');
  idListRoute('/jobs/unfinished', 'Actian: get a list of unfinished job ids (pending + running)', 'Jobs pending or running.', (s) => PENDING.has(s) || s === 'running');

  app.delete(
    '/jobs/stop',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Actian: bulk cancel queued jobs',
        description:
          'Role: operator. BulkOperation `{recordIds}`: cancels these pending (waiting or queued) jobs. All or nothing: 404 when one is unknown, 409 state when one is not pending (stop a running job with DELETE /jobs/{id}). 202.',
        tags,
        body: BulkOperationSchema,
        response: documented({ 202: Type.Null({ description: 'accepted (no content)' }), ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req, reply) => {
      const ids = req.body.recordIds;
      const missing: ProblemItem[] = [];
      const notPending: ProblemItem[] = [];
      ids.forEach((id, i) => {
        const o = orderly.getOrder(id);
        if (!o) missing.push({ path: `body.recordIds[${i}]`, message: `job ${id} not found` });
        else if (!PENDING.has(actianStatus(o))) notPending.push({ path: `body.recordIds[${i}]`, message: `job ${id} is ${actianStatus(o)}, not pending` });
      });
      const firstOf = (p: ProblemItem[]): string => `${p[0]!.message}${p.length > 1 ? ` (and ${p.length - 1} more)` : ''}`;
      if (missing.length > 0) throw new HttpError('not-found', firstOf(missing), missing);
      if (notPending.length > 0) throw new HttpError('state', firstOf(notPending), notPending);
      for (const id of new Set(ids)) await orderlyCall(() => orderly.cancelOrder(id));
      return reply.status(202).send();
    },
  );

  app.get(
    '/jobs/:id',
    {
      config: { role: 'viewer' },
      schema: { summary: 'Actian: get job info', description: 'Role: viewer. JobResponse.', tags, params: JobParams, response: documented({ 200: JobResponse, ...errors(400, 401, 404) }) },
    },
    async (req) => jobOut(req.params.id),
  );

  app.delete(
    '/jobs/:id',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Actian: stop or cancel a job',
        description: 'Role: operator. Cancels the job; a running job is killed (SIGTERM to its process group, SIGKILL after its grace timeout). 202 with the JobResponse as it is then; 404; 409 state when it has ended.',
        tags,
        params: JobParams,
        response: documented({ 202: JobResponse, ...errors(400, 401, 403, 404, 409) }),
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      if (!orderly.getOrder(id)) throw notFound(`job ${id} not found`);
      await orderlyCall(() => orderly.cancelOrder(id, { kill: true }));
      return reply.status(202).send(await jobOut(id));
    },
  );

  app.get(
    '/jobs/:id/log',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: retrieve the log of this job',
        description:
          'Role: viewer. application/octet-stream: the output of each job execution, oldest first, each under a header line with its time (in `zoneid`, an IANA zone; default Etc/UTC), job and execution id; stderr follows stdout. Empty while nothing has run. 404 for an unknown job.',
        tags,
        params: JobParams,
        querystring: LogQuery,
        response: documented({ 200: Type.String({ description: 'the log text (UTF-8)' }), ...errors(400, 401, 404) }),
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const tz = req.query.zoneid ?? 'Etc/UTC';
      if (!isTimeZone(tz)) throw invalidError([{ path: 'query.zoneid', message: `unknown time zone ${tz}` }]);
      const logs = await orderly.logs(id);
      if (logs.length === 0 && !orderly.getOrder(id)) throw notFound(`job ${id} not found`);
      let text = '';
      for (const l of logs) {
        text += `=== ${isoInZone(l.at, tz)} job ${l.job} (execution ${l.executionId}) ===\n`;
        if (l.stdoutDroppedBytes > 0) text += `[… ${l.stdoutDroppedBytes} bytes of stdout dropped]\n`;
        text += l.stdout;
        if (l.stdout !== '' && !l.stdout.endsWith('\n')) text += '\n';
        if (l.stderr !== '' || l.stderrDroppedBytes > 0) {
          text += '--- stderr ---\n';
          if (l.stderrDroppedBytes > 0) text += `[… ${l.stderrDroppedBytes} bytes of stderr dropped]\n`;
          text += l.stderr;
          if (l.stderr !== '' && !l.stderr.endsWith('\n')) text += '\n';
        }
      }
      return reply.header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="job-${id.replace(/[^A-Za-z0-9_.@-]/g, '_')}.log"`).send(text);
    },
  );

  app.get(
    '/jobstats',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: get job statistics',
        description:
          'Role: viewer. JobStatsResponse over the jobs in memory (filters as GET /jobs): queued = waiting + queued, running, finished = finished_ok, error = finished_error, failed = aborted, cancelled; totalDuration sums the jobs’ durations (ISO-8601); window: startdate..enddate, else the oldest job received..now.',
        tags,
        querystring: StatsQuery,
        response: documented({ 200: JobStatsResponse, ...errors(400, 401) }),
      },
    },
    async (req) => {
      const q = req.query;
      refuseUnsupported(q, [...UNSUPPORTED_FILTERS, 'integid', 'userid']);
      if (q.jobtemplateid === undefined && q.jobconfigid === undefined && (q.startdate ?? '') === '' && (q.enddate ?? '') === '') {
        // Every job in memory: from the counters.
        const at = now();
        const c = await stats.read(at);
        const n = (s: ActianStatus): number => c.counts.get(s) ?? 0;
        return {
          queued: [...PENDING].reduce((sum, s) => sum + n(s as ActianStatus), 0),
          running: n('running'),
          finished: n('finished_ok'),
          error: n('finished_error'),
          failed: n('aborted'),
          cancelled: n('cancelled'),
          totalJobs: c.totalJobs,
          totalDuration: javaDuration(c.totalMs),
          window: {
            ...(c.oldestAddedAt !== undefined ? { windowBegins: ISO(c.oldestAddedAt), windowDuration: javaDuration(at - c.oldestAddedAt) } : {}),
            windowEnds: ISO(at),
          },
        };
      }
      const orders = selectJobs(q);
      const jobs = await jobsOut(orders);
      const count = (pred: (s: string) => boolean): number => jobs.filter((j) => pred(j.status as string)).length;
      const at = now();
      const t = await times.all(orders);
      let total = 0;
      orders.forEach((o, i) => {
        const s = t[i]?.started ?? o.execution?.startedAt;
        if (s === undefined) return;
        const status = actianStatus(o);
        const end = o.endedAt ?? (status === 'finished_error' || status === 'aborted' ? t[i]?.settled : undefined) ?? at;
        total += Math.max(0, end - s);
      });
      const begins = parseDate(q.startdate, 'query.startdate') ?? (orders.length > 0 ? orders.reduce((m, o) => Math.min(m, o.addedAt), Infinity) : undefined);
      const ends = parseDate(q.enddate, 'query.enddate') ?? at;
      // Orderly's extension: schedule fires skipped (overlap, queueLimit, catch-up, inactive) in
      // the window, of the job configs selected (the newest 50 fires of each are kept).
      // Given with a job config or template filter (the unfiltered answer comes from counters).
      const byConfig = q.jobconfigid !== undefined || q.jobtemplateid !== undefined;
      let skippedFires = 0;
      if (byConfig) for (const [id, c] of orderly.engine.state.jobConfigs) {
        if (q.jobconfigid !== undefined && id !== q.jobconfigid) continue;
        if (q.jobtemplateid !== undefined && c.def.templateId !== q.jobtemplateid) continue;
        for (const f of c.fires) if (f.skipped !== undefined && (begins === undefined || f.fireAt >= begins) && f.fireAt <= ends) skippedFires++;
      }
      return {
        ...(byConfig ? { skippedFires } : {}),
        queued: count((s) => PENDING.has(s)),
        running: count((s) => s === 'running'),
        finished: count((s) => s === 'finished_ok'),
        error: count((s) => s === 'finished_error'),
        failed: count((s) => s === 'aborted'),
        cancelled: count((s) => s === 'cancelled'),
        totalJobs: jobs.length,
        totalDuration: javaDuration(total),
        window: {
          ...(begins !== undefined ? { windowBegins: ISO(begins), windowDuration: javaDuration(ends - begins) } : {}),
          windowEnds: ISO(ends),
        },
      };
    },
  );

  // ------------------------------------------------------------ job templates

  app.get(
    '/jobtemplates',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: get a list of job templates',
        description: 'Role: viewer. JobTemplateListResponse (sortby: id, name, active; default name).',
        tags,
        querystring: ListConfigsQuery,
        response: documented({ 200: ListShape(JobTemplateResponse), ...errors(400, 401) }),
      },
    },
    async (req) => {
      const q = req.query;
      refuseUnsupported(q, UNSUPPORTED_FILTERS);
      const cmp = sorter<JobTemplate>({ id: (t) => t.id, name: (t) => t.name, active: (t) => t.active }, q.sortby, q.direction, { field: 'name', dir: 'asc' });
      const page = activePage(orderly.listJobTemplates(), q, cmp, req.url);
      return { ...page, items: page.items.map(templateResponse) };
    },
  );

  app.post(
    '/jobtemplates',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: create a job template',
        description: 'Role: admin. 201 JobTemplateResponse. `runtimeConfig.macros`: default arguments of its job configs; `blocking` (Orderly): their default `blocking`.',
        tags,
        body: JobTemplateRequestSchema,
        response: documented({ 201: JobTemplateResponse, ...errors(400, 401, 403, 409, 413) }),
      },
    },
    async (req, reply) => {
      const body = req.body as ActianTemplateBody;
      const { doc, path } = templateFromActian(body, {});
      const t = await orderlyCall(() => orderly.saveJobTemplate(doc, { create: true }), path);
      return reply.status(201).header('location', templateHref(t.id)).send(templateResponse(t));
    },
  );

  app.get(
    '/jobtemplates/:id',
    {
      config: { role: 'viewer' },
      schema: { summary: 'Actian: get a job template', description: 'Role: viewer. JobTemplateResponse.', tags, params: ConfigParams, response: documented({ 200: JobTemplateResponse, ...errors(400, 401, 404) }) },
    },
    async (req) => templateResponse(mustGetTemplate(ctx, req.params.id)),
  );

  const updateTemplate = async (id: string, body: ActianTemplateBody, patch: boolean): Promise<Record<string, unknown>> => {
    if (body.id !== undefined && body.id !== id) throw invalidError([{ path: 'body.id', message: `must be the id in the URL (${id}) or left out` }]);
    const current = mustGetTemplate(ctx, id);
    const { doc, path } = templateFromActian(body, patch ? { ...current } : { id });
    return templateResponse(await orderlyCall(() => orderly.saveJobTemplate({ ...doc, id }), path));
  };

  app.put(
    '/jobtemplates/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: update a job template',
        description: 'Role: admin. Replaces it: fields left out (or null) take their defaults. 404 when it does not exist.',
        tags,
        params: ConfigParams,
        body: JobTemplateRequestSchema,
        response: documented({ 200: JobTemplateResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => updateTemplate(req.params.id, req.body as ActianTemplateBody, false),
  );

  app.patch(
    '/jobtemplates/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: patch a job template',
        description: 'Role: admin. Only the fields given change (null: back to the default).',
        tags,
        params: ConfigParams,
        body: JobTemplateRequestSchema,
        response: documented({ 200: JobTemplateResponse, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => updateTemplate(req.params.id, req.body as ActianTemplateBody, true),
  );

  app.delete(
    '/jobtemplates/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: delete a job template',
        description: 'Role: admin. 204; 404; 409 while a job config uses it. `cascade=true` is refused (400): delete its job configs first.',
        tags,
        params: ConfigParams,
        querystring: DeleteTemplateQuery,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      if (req.query.cascade === true) throw invalidError([{ path: 'query.cascade', message: 'not supported: delete the job configs of the template first' }]);
      await orderlyCall(() => orderly.deleteJobTemplate(req.params.id));
      return reply.status(204).send(null);
    },
  );

  actianMoreRoutes(app, ctx);
}
