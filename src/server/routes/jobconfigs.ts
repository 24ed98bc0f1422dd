// Job templates and job configs (semantics §5, §8): CRUD, schedules, runs.
//
// - Writes go through orderly.saveJobTemplate / saveJobConfig, so every rule of the core
//   applies (names unique, workflow deployed, template exists, cron and time zone valid) and
//   its problems come back with their place in the request (`body.schedule.cron`).
// - PUT replaces (and creates when the id is new: 201), PATCH is a JSON Merge Patch
//   (RFC 7396: objects merge, `null` removes a field) of the stored document.
// - Times in these answers are ISO-8601 (created, modified, nextFireTime, fires[].fireAt).

import { isoTime } from '../../core/time.js';
import { Type, type TSchema } from '@sinclair/typebox';

import { LIMITS, type JobConfig, type JobTemplate, type OrderState, type Schedule } from '../../core/model.js';
import { OrderlyError, type JobConfigInput, type JobConfigView, type JobTemplateInput } from '../../runtime/orderly.js';
import type { OrderView } from '../../runtime/views.js';
import { nextFireTime, validateSchedule } from '../../schedule/cron.js';
import type { Api, ServerContext } from '../context.js';
import { fromOrderly, invalidError, notFound, orderlyCall, underPath } from '../errors.js';
import { documented, errors, OrderIdSchema, OrderStateSchema, OrderViewSchema, WorkflowNameSchema } from '../schemas.js';

// ---------------------------------------------------------------- helpers shared with the Actian routes

/** Fire times one schedule preview may answer. */
export const SCHEDULE_PREVIEW_COUNT_MAX = 50;

/** ISO-8601 of a stored time (never throws: see core/time.ts). */
export const ISO = (ms: number): string => isoTime(ms);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON Merge Patch (RFC 7396): objects merge recursively, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The stored document of a job config (what saveJobConfig takes), without what the view adds. */
export function configInput(v: JobConfig | JobConfigView): JobConfigInput & { id: string; active: boolean } {
  const { created: _c, modified: _m, ...rest } = v;
  const out = { ...rest } as Partial<JobConfigView>;
  delete out.effectiveBlocking;
  delete out.nextFireTime;
  delete out.fires;
  delete out.activeRuns;
  delete out.queuedRuns;
  return out as JobConfigInput & { id: string; active: boolean };
}

/** A job config as the native API answers it: times as ISO-8601. */
export function jobConfigOut(v: JobConfigView): Record<string, unknown> {
  const { created, modified, nextFireTime, fires, ...rest } = v;
  const out: Record<string, unknown> = { ...rest, created: ISO(created), modified: ISO(modified) };
  if (nextFireTime !== undefined) out.nextFireTime = ISO(nextFireTime);
  out.fires = fires.map((f) => ({ ...f, fireAt: ISO(f.fireAt) }));
  return out;
}

/** orderly.saveJobConfig with its refusal as an HttpError at the request's places. */
export async function saveConfig(
  ctx: ServerContext,
  doc: JobConfigInput,
  mapPath: (p: string) => string,
  opts: { create?: boolean } = {},
): Promise<JobConfigView> {
  try {
    return await ctx.orderly.saveJobConfig(doc, opts);
  } catch (err) {
    if (!(err instanceof OrderlyError)) throw err;
    throw fromOrderly(err, mapPath);
  }
}

/** The job config or 404. */
export function mustGetConfig(ctx: ServerContext, id: string): JobConfigView {
  const v = ctx.orderly.getJobConfig(id);
  if (!v) throw notFound(`job config ${id} not found`);
  return v;
}

export function mustGetTemplate(ctx: ServerContext, id: string): JobTemplate {
  const t = ctx.orderly.getJobTemplate(id);
  if (!t) throw notFound(`job template ${id} not found`);
  return t;
}

const byKey = <T>(key: (x: T) => string) => (a: T, b: T): number => {
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

// ---------------------------------------------------------------- schemas

const ID_TEXT = 'must be 1 to 128 characters of A-Z a-z 0-9 _ . -';
export const JobConfigIdSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$', errorMessage: ID_TEXT });
const IdParams = Type.Object({ id: JobConfigIdSchema });

const nullable = <T extends TSchema>(s: T, errorMessage: string) => Type.Union([s, Type.Null()], { errorMessage });

const NameField = Type.String({ minLength: 1, maxLength: LIMITS.nameLengthMax, errorMessage: `must be 1 to ${LIMITS.nameLengthMax} characters long` });
const DescriptionField = Type.String({ maxLength: LIMITS.messageLengthMax, errorMessage: `must be a string of at most ${LIMITS.messageLengthMax} characters` });
const ArgumentsField = Type.Record(Type.String(), Type.String({ maxLength: LIMITS.argumentValueBytesMax }), {
  maxProperties: LIMITS.argumentsMax,
  errorMessage: 'must be an object of strings',
});
const TimeoutField = Type.Number({
  minimum: 1,
  maximum: LIMITS.timeoutSecondsMax,
  description: 'seconds',
  errorMessage: `must be a number of seconds from 1 to ${LIMITS.timeoutSecondsMax}`,
});
const CommandField = Type.String({ minLength: 1, maxLength: LIMITS.scriptBytesMax, description: 'one shell command (run by /bin/sh)', errorMessage: 'must be a non-empty string' });
const Bool = Type.Boolean({ errorMessage: 'must be true or false' });

const OVERLAP = ['queue', 'skip', 'allow', 'replace'];
const CATCH_UP = ['none', 'latest', 'all'];
const scheduleFields = {
  type: Type.Union([Type.Literal('cron'), Type.Literal('interval')], { errorMessage: 'must be "cron" or "interval"' }),
  cron: Type.String({ minLength: 1, maxLength: 256, description: '5 fields, or 6 with seconds first; @hourly, @daily …', errorMessage: 'must be a cron expression' }),
  intervalSeconds: Type.Integer({ minimum: 1, description: 'seconds between fires (anchored at the Unix epoch)', errorMessage: 'must be a whole number of seconds ≥ 1' }),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, default Etc/UTC', errorMessage: 'must be an IANA time zone' }),
  overlap: Type.Union(OVERLAP.map((s) => Type.Literal(s)), {
    description: 'when a fire finds a run still active: queue (default when blocking), skip, allow (default otherwise), replace',
    errorMessage: 'must be one of queue, skip, allow, replace',
  }),
  queueLimit: Type.Integer({ minimum: 0, description: 'at most this many runs waiting; further fires are skipped', errorMessage: 'must be a whole number ≥ 0' }),
  catchUp: Type.Union(CATCH_UP.map((s) => Type.Literal(s)), { description: 'missed fires after downtime (default latest)', errorMessage: 'must be one of none, latest, all' }),
  name: NameField,
  description: DescriptionField,
};

export const ScheduleSchema = Type.Object(
  {
    type: scheduleFields.type,
    cron: Type.Optional(scheduleFields.cron),
    intervalSeconds: Type.Optional(scheduleFields.intervalSeconds),
    timeZone: Type.Optional(scheduleFields.timeZone),
    overlap: Type.Optional(scheduleFields.overlap),
    queueLimit: Type.Optional(scheduleFields.queueLimit),
    catchUp: Type.Optional(scheduleFields.catchUp),
    name: Type.Optional(scheduleFields.name),
    description: Type.Optional(scheduleFields.description),
  },
  { additionalProperties: false, description: 'cron (with `cron`) or interval (with `intervalSeconds`)' },
);

const SchedulePatchSchema = Type.Object(
  Object.fromEntries(Object.entries(scheduleFields).map(([k, s]) => [k, Type.Optional(nullable(s, (s as { errorMessage?: string }).errorMessage ?? 'invalid'))])),
  { additionalProperties: false },
);

const JobConfigBodySchema = Type.Object(
  {
    id: Type.Optional(JobConfigIdSchema),
    name: NameField,
    workflow: Type.Optional(WorkflowNameSchema),
    command: Type.Optional(CommandField),
    defaultArguments: Type.Optional(ArgumentsField),
    timeout: Type.Optional(TimeoutField),
    active: Type.Optional(Bool),
    blocking: Type.Optional(Bool),
    templateId: Type.Optional(JobConfigIdSchema),
    description: Type.Optional(DescriptionField),
    schedule: Type.Optional(ScheduleSchema),
  },
  { additionalProperties: false, description: 'Exactly one of `workflow` (a deployed workflow) and `command`.' },
);

const JobConfigPatchSchema = Type.Object(
  {
    id: Type.Optional(JobConfigIdSchema),
    name: Type.Optional(NameField),
    workflow: Type.Optional(nullable(WorkflowNameSchema, 'must be a workflow name or null')),
    command: Type.Optional(nullable(CommandField, 'must be a non-empty string or null')),
    defaultArguments: Type.Optional(
      nullable(Type.Record(Type.String(), nullable(Type.String({ maxLength: LIMITS.argumentValueBytesMax }), 'must be a string or null')), 'must be an object or null'),
    ),
    timeout: Type.Optional(nullable(TimeoutField, `must be a number of seconds from 1 to ${LIMITS.timeoutSecondsMax}, or null`)),
    active: Type.Optional(Bool),
    blocking: Type.Optional(nullable(Bool, 'must be true, false or null (the template’s)')),
    templateId: Type.Optional(nullable(JobConfigIdSchema, `${ID_TEXT}, or null`)),
    description: Type.Optional(nullable(DescriptionField, 'must be a string or null')),
    schedule: Type.Optional(Type.Union([SchedulePatchSchema, Type.Null()], { errorMessage: 'must be a schedule object or null' })),
  },
  { additionalProperties: false, description: 'JSON Merge Patch: the fields given replace (objects merge); null removes.' },
);

const JobTemplateBodySchema = Type.Object(
  {
    id: Type.Optional(JobConfigIdSchema),
    name: NameField,
    description: Type.Optional(DescriptionField),
    active: Type.Optional(Bool),
    blocking: Type.Optional(Type.Boolean({ description: 'the default `blocking` of its job configs', errorMessage: 'must be true or false' })),
    defaultArguments: Type.Optional(ArgumentsField),
    timeout: Type.Optional(TimeoutField),
  },
  { additionalProperties: false },
);

const JobTemplatePatchSchema = Type.Object(
  {
    id: Type.Optional(JobConfigIdSchema),
    name: Type.Optional(NameField),
    description: Type.Optional(nullable(DescriptionField, 'must be a string or null')),
    active: Type.Optional(Bool),
    blocking: Type.Optional(nullable(Bool, 'must be true, false or null')),
    defaultArguments: Type.Optional(
      nullable(Type.Record(Type.String(), nullable(Type.String({ maxLength: LIMITS.argumentValueBytesMax }), 'must be a string or null')), 'must be an object or null'),
    ),
    timeout: Type.Optional(nullable(TimeoutField, 'must be a number of seconds or null')),
  },
  { additionalProperties: false, description: 'JSON Merge Patch: the fields given replace (objects merge); null removes.' },
);

const JobTemplateSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    active: Type.Boolean(),
    blocking: Type.Optional(Type.Boolean()),
    defaultArguments: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeout: Type.Optional(Type.Number()),
  },
  { additionalProperties: true },
);

const FireSchema = Type.Object({
  fireAt: Type.String({ description: 'ISO-8601' }),
  orderId: Type.Optional(Type.String({ description: 'the run it started' })),
  skipped: Type.Optional(Type.String({ description: 'why it started nothing' })),
  count: Type.Optional(Type.Integer({ description: 'a skip record standing for this many missed fires, the newest at fireAt (after long downtime)' })),
});

const ScheduleOutSchema = Type.Object(
  {
    type: Type.String(),
    cron: Type.Optional(Type.String()),
    intervalSeconds: Type.Optional(Type.Integer()),
    timeZone: Type.Optional(Type.String()),
    overlap: Type.Optional(Type.String()),
    queueLimit: Type.Optional(Type.Integer()),
    catchUp: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const JobConfigViewSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    workflow: Type.Optional(Type.String()),
    command: Type.Optional(Type.String()),
    defaultArguments: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeout: Type.Optional(Type.Number()),
    active: Type.Boolean(),
    blocking: Type.Optional(Type.Boolean({ description: 'its own setting; absent: the template’s' })),
    effectiveBlocking: Type.Boolean({ description: 'in force: its own, else its template’s, else false' }),
    templateId: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    schedule: Type.Optional(ScheduleOutSchema),
    nextFireTime: Type.Optional(Type.String({ description: 'ISO-8601; absent without a schedule or when inactive' })),
    fires: Type.Array(FireSchema, { description: 'the newest schedule fires' }),
    activeRuns: Type.Integer({ description: 'runs scheduled, waiting, processing or stopped' }),
    queuedRuns: Type.Integer({ description: 'runs not started yet (no job executed, no lock held)' }),
    created: Type.String({ description: 'ISO-8601' }),
    modified: Type.String({ description: 'ISO-8601' }),
  },
  { additionalProperties: true },
);

const ScheduleReplySchema = Type.Intersect([ScheduleOutSchema, Type.Object({ nextFireTime: Type.Optional(Type.String({ description: 'ISO-8601' })) })]);

const RunBodySchema = Type.Object(
  {
    id: Type.Optional(OrderIdSchema),
    arguments: Type.Optional(ArgumentsField),
    priority: Type.Optional(
      Type.Integer({
        minimum: -LIMITS.priorityAbsMax,
        maximum: LIMITS.priorityAbsMax,
        errorMessage: `must be a whole number from -${LIMITS.priorityAbsMax} to ${LIMITS.priorityAbsMax}`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const RUNS_PAGE_MAX = 1000;
const RunsQuerySchema = Type.Object(
  {
    state: Type.Optional(OrderStateSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: RUNS_PAGE_MAX, default: 100, errorMessage: `must be a whole number from 1 to ${RUNS_PAGE_MAX}` })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'cursor: the `next` of the previous page' })),
  },
  { additionalProperties: false },
);

const NoContent = Type.Null({ description: 'done (no content)' });

// ---------------------------------------------------------------- the routes

/** A problem of a job config document (`schedule.cron`) at its place in the request body. */
const bodyPath = (p: string): string => underPath('body', p);
/** A problem of the schedule inside a job config, for a body that is the schedule itself. */
const scheduleBodyPath = (p: string): string => (p === 'schedule' || p.startsWith('schedule.') ? underPath('body', p.slice('schedule.'.length)) : bodyPath(p));

function sameId(bodyId: string | undefined, id: string): void {
  if (bodyId !== undefined && bodyId !== id) throw invalidError([{ path: 'body.id', message: `must be the id in the URL (${id}) or left out` }]);
}

/** A patch that sets one of workflow/command drops the other: a job config runs one of them. */
function exclusiveWhat(patch: Record<string, unknown>): Record<string, unknown> {
  const p = { ...patch };
  if (typeof p.workflow === 'string' && !('command' in p)) p.command = null;
  if (typeof p.command === 'string' && !('workflow' in p)) p.workflow = null;
  return p;
}

export function jobConfigRoutes(app: Api, ctx: ServerContext): void {
  const { orderly } = ctx;
  const tags = ['jobconfigs'];

  // ------------------------------------------------------------ templates

  app.get(
    '/jobtemplates',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Job templates',
        description: 'Role: viewer. Sorted by id.',
        tags,
        response: { 200: Type.Object({ jobTemplates: Type.Array(JobTemplateSchema) }), ...errors(401) },
      },
    },
    async () => ({ jobTemplates: orderly.listJobTemplates().sort(byKey((t) => t.id)) }),
  );

  app.post(
    '/jobtemplates',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a job template',
        description: 'Role: admin. `id` defaults to a random UUID; an id that exists is 409 conflict, as is a name in use. `blocking` is the default of its job configs.',
        tags,
        body: JobTemplateBodySchema,
        response: documented({ 201: JobTemplateSchema, ...errors(400, 401, 403, 409, 413) }),
      },
    },
    async (req, reply) => {
      const body = req.body as JobTemplateInput;
      const t = await orderlyCall(() => orderly.saveJobTemplate(body, { create: true }), bodyPath);
      return reply.status(201).send(t);
    },
  );

  app.get(
    '/jobtemplates/:id',
    {
      config: { role: 'viewer' },
      schema: { summary: 'One job template', description: 'Role: viewer.', tags, params: IdParams, response: documented({ 200: JobTemplateSchema, ...errors(400, 401, 404) }) },
    },
    async (req) => mustGetTemplate(ctx, req.params.id),
  );

  app.put(
    '/jobtemplates/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Replace (or create) a job template',
        description: 'Role: admin. 200 replaced, 201 created. A changed `blocking` reaches the runs not yet started of the job configs that have none of their own.',
        tags,
        params: IdParams,
        body: JobTemplateBodySchema,
        response: documented({ 200: JobTemplateSchema, 201: JobTemplateSchema, ...errors(400, 401, 403, 409, 413) }),
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      sameId(req.body.id, id);
      const existed = orderly.getJobTemplate(id) !== undefined;
      const t = await orderlyCall(() => orderly.saveJobTemplate({ ...(req.body as JobTemplateInput), id }), bodyPath);
      return reply.status(existed ? 200 : 201).send(t);
    },
  );

  app.patch(
    '/jobtemplates/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Change some fields of a job template',
        description: 'Role: admin. JSON Merge Patch (RFC 7396): the fields given replace, `defaultArguments` merge, `null` removes a field.',
        tags,
        params: IdParams,
        body: JobTemplatePatchSchema,
        response: documented({ 200: JobTemplateSchema, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => {
      const id = req.params.id;
      sameId(req.body.id, id);
      const current = mustGetTemplate(ctx, id);
      const next = { ...(mergePatch(current, req.body) as JobTemplateInput), id };
      return orderlyCall(() => orderly.saveJobTemplate(next), bodyPath);
    },
  );

  app.delete(
    '/jobtemplates/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete a job template',
        description: 'Role: admin. 204; 404; 409 conflict while a job config uses it.',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      await orderlyCall(() => orderly.deleteJobTemplate(req.params.id));
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ job configs

  app.get(
    '/jobconfigs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Job configs',
        description: 'Role: viewer. Sorted by id, each with `effectiveBlocking`, `nextFireTime`, the newest `fires` and `activeRuns`.',
        tags,
        response: documented({ 200: Type.Object({ jobConfigs: Type.Array(JobConfigViewSchema) }), ...errors(401) }),
      },
    },
    async () => ({ jobConfigs: orderly.listJobConfigs().sort(byKey((c) => c.id)).map(jobConfigOut) }),
  );

  app.post(
    '/jobconfigs',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a job config',
        description:
          'Role: admin. Runs a deployed `workflow` or one shell `command` (exactly one). `id` defaults to a random UUID; an id or a name that exists is 409 conflict. 400 with paths, e.g. `body.schedule.cron`.',
        tags,
        body: JobConfigBodySchema,
        response: documented({ 201: JobConfigViewSchema, ...errors(400, 401, 403, 409, 413) }),
      },
    },
    async (req, reply) => {
      const body = req.body as JobConfigInput;
      const v = await saveConfig(ctx, body, bodyPath, { create: true });
      return reply.status(201).send(jobConfigOut(v));
    },
  );

  app.get(
    '/jobconfigs/:id',
    {
      config: { role: 'viewer' },
      schema: { summary: 'One job config', description: 'Role: viewer.', tags, params: IdParams, response: documented({ 200: JobConfigViewSchema, ...errors(400, 401, 404) }) },
    },
    async (req) => jobConfigOut(mustGetConfig(ctx, req.params.id)),
  );

  app.put(
    '/jobconfigs/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Replace (or create) a job config',
        description:
          'Role: admin. The whole document: fields left out take their defaults (a schedule left out is removed). 200 replaced, 201 created. A change of `blocking` reaches runs not yet started.',
        tags,
        params: IdParams,
        body: JobConfigBodySchema,
        response: documented({ 200: JobConfigViewSchema, 201: JobConfigViewSchema, ...errors(400, 401, 403, 409, 413) }),
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      sameId(req.body.id, id);
      const existed = orderly.getJobConfig(id) !== undefined;
      const v = await saveConfig(ctx, { ...(req.body as JobConfigInput), id }, bodyPath);
      return reply.status(existed ? 200 : 201).send(jobConfigOut(v));
    },
  );

  app.patch(
    '/jobconfigs/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Change some fields of a job config',
        description:
          'Role: admin. JSON Merge Patch (RFC 7396): the fields given replace, objects (`defaultArguments`, `schedule`) merge, `null` removes a field (`"blocking": null`: the template’s again; `"schedule": null`: no schedule). Setting `workflow` drops `command` and the other way round.',
        tags,
        params: IdParams,
        body: JobConfigPatchSchema,
        response: documented({ 200: JobConfigViewSchema, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => {
      const id = req.params.id;
      sameId(req.body.id, id);
      const current = configInput(mustGetConfig(ctx, id));
      const next = { ...(mergePatch(current, exclusiveWhat(req.body as Record<string, unknown>)) as JobConfigInput), id };
      return jobConfigOut(await saveConfig(ctx, next, bodyPath));
    },
  );

  app.delete(
    '/jobconfigs/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete a job config',
        description: 'Role: admin. 204; 404; 409 conflict while it has runs that have not ended (cancel them first).',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      await orderlyCall(() => orderly.deleteJobConfig(req.params.id));
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ schedule

  app.post(
    '/schedules/preview',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The next fire times of a schedule (not saved)',
        description: `Role: viewer. Checks a schedule as PUT /jobconfigs/{id}/schedule would and answers its next \`count\` fire times after now (default 5, at most ${SCHEDULE_PREVIEW_COUNT_MAX}), ISO-8601. 400 names the place (\`body.schedule.cron\`).`,
        tags,
        body: Type.Object(
          {
            schedule: ScheduleSchema,
            count: Type.Optional(Type.Integer({ minimum: 1, maximum: SCHEDULE_PREVIEW_COUNT_MAX, errorMessage: `must be a whole number from 1 to ${SCHEDULE_PREVIEW_COUNT_MAX}` })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ nextFireTimes: Type.Array(Type.String({ description: 'ISO-8601' })) }), ...errors(400, 401, 413) },
      },
    },
    async (req) => {
      const sched = req.body.schedule as Schedule;
      const problem = validateSchedule(sched);
      if (problem !== undefined) {
        const field = /cron/.test(problem) ? 'cron' : /interval/.test(problem) ? 'intervalSeconds' : /zone/.test(problem) ? 'timeZone' : 'type';
        throw invalidError([{ path: `body.schedule.${field}`, message: problem }]);
      }
      const out: string[] = [];
      let t = Date.now();
      for (let i = 0; i < (req.body.count ?? 5); i++) {
        const next = nextFireTime(sched, t);
        if (next === undefined) break;
        out.push(ISO(next));
        t = next;
      }
      return { nextFireTimes: out };
    },
  );

  const scheduleReply = (v: JobConfigView): Record<string, unknown> => {
    if (!v.schedule) throw notFound(`job config ${v.id} has no schedule`);
    return { ...v.schedule, ...(v.nextFireTime !== undefined ? { nextFireTime: ISO(v.nextFireTime) } : {}) };
  };

  app.get(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The schedule of a job config',
        description: 'Role: viewer. The schedule with `nextFireTime` (ISO-8601; absent when the job config is inactive). 404 without a schedule.',
        tags,
        params: IdParams,
        response: documented({ 200: ScheduleReplySchema, ...errors(400, 401, 404) }),
      },
    },
    async (req) => scheduleReply(mustGetConfig(ctx, req.params.id)),
  );

  app.put(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Set the schedule of a job config',
        description: 'Role: admin. Replaces the schedule (cron or interval, time zone, overlap, queueLimit, catchUp). 400 with paths, e.g. `body.cron`.',
        tags,
        params: IdParams,
        body: ScheduleSchema,
        response: documented({ 200: ScheduleReplySchema, ...errors(400, 401, 403, 404, 409, 413) }),
      },
    },
    async (req) => {
      const current = configInput(mustGetConfig(ctx, req.params.id));
      const v = await saveConfig(ctx, { ...current, schedule: req.body as Schedule }, scheduleBodyPath);
      return scheduleReply(v);
    },
  );

  app.delete(
    '/jobconfigs/:id/schedule',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Remove the schedule of a job config',
        description: 'Role: admin. 204; 404 when it has none.',
        tags,
        params: IdParams,
        response: { 204: NoContent, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const current = configInput(mustGetConfig(ctx, req.params.id));
      if (!current.schedule) throw notFound(`job config ${req.params.id} has no schedule`);
      delete current.schedule;
      await saveConfig(ctx, current, bodyPath);
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ runs

  app.post(
    '/jobconfigs/:id/runs',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Start a run of a job config',
        description:
          'Role: operator. 202 `{orderId}`: the run is an order (see /orders/{orderId}). Arguments: the template’s, then the job config’s `defaultArguments`, then these. A blocking job config’s run waits for the runs before it. 404; 409 state when inactive; 409 conflict for an id that exists.',
        tags,
        params: IdParams,
        body: RunBodySchema,
        response: { 202: Type.Object({ orderId: Type.String() }), ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const opts: { id?: string; arguments?: Record<string, string>; priority?: number } = {};
      if (req.body.id !== undefined) opts.id = req.body.id;
      if (req.body.arguments !== undefined) opts.arguments = req.body.arguments;
      if (req.body.priority !== undefined) opts.priority = req.body.priority;
      const orderId = await orderlyCall(() => orderly.runJobConfig(req.params.id, opts), (p) => underPath('body', p === 'orderId' ? 'id' : p));
      return reply.status(202).send({ orderId });
    },
  );

  app.get(
    '/jobconfigs/:id/runs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Runs of a job config, oldest first',
        description:
          'Role: viewer. Its runs still in memory (active ones and the newest ended ones), oldest first; `state` filters. `limit` 1..1000 (default 100); pass `next` as `after` for the next page.',
        tags,
        params: IdParams,
        querystring: RunsQuerySchema,
        response: documented({
          200: Type.Object({ items: Type.Array(OrderViewSchema), next: Type.Optional(Type.String()) }),
          ...errors(400, 401, 404),
        }),
      },
    },
    async (req) => {
      mustGetConfig(ctx, req.params.id);
      const q = req.query;
      let runs: OrderView[] = orderly.listRuns(req.params.id).sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (q.state !== undefined) runs = runs.filter((o) => o.state === (q.state as OrderState));
      let start = 0;
      if (q.after !== undefined) {
        const i = runs.findIndex((o) => o.id === q.after);
        if (i < 0) throw invalidError([{ path: 'query.after', message: `no run ${q.after} in this list (ended and dropped, or another filter)` }]);
        start = i + 1;
      }
      const limit = q.limit ?? 100;
      const items = runs.slice(start, start + limit);
      const last = items[items.length - 1];
      return start + limit < runs.length && last ? { items, next: last.id } : { items };
    },
  );
}
