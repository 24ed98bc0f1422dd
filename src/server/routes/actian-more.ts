// More of Actian's Integration Manager calls under /v2/api (registered by actianRoutes, in its
// scope): product info, bulk activate/deactivate/delete, clone, macros (a job config's or
// template's default arguments), tags, export/import (JSON documents), a template's job
// configs, a job's out messages (none); and 501 for every other call of Actian's documents,
// so that a client learns at once what Orderly does not provide. docs/http-api.md lists them.

import { randomUUID } from 'node:crypto';

import { Type } from '@sinclair/typebox';

import type { ProblemItem } from '../../core/commands.js';
import type { JobConfig, Json } from '../../core/model.js';
import type { JobConfigInput, JobTemplateInput } from '../../runtime/orderly.js';
import { ACTIAN_PREFIX, MACRO_DESCRIPTIONS, configFromActian, configHref, configResponse, listPage, refuseUnsupported, templateHref, templateResponse, type ActianConfigBody } from '../actian-map.js';
import type { Api, ServerContext } from '../context.js';
import { ConfigParams, configAnswers, NoContent, open, UNSUPPORTED_FILTERS } from './actian-common.js';
import { HttpError, invalidError, notFound, orderlyCall } from '../errors.js';
import { errors, OrderIdSchema } from '../schemas.js';
import { configInput, ISO, JobConfigIdSchema, mustGetConfig, mustGetTemplate, saveConfig } from './jobconfigs.js';

const MacroName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$', errorMessage: 'must be a macro name: a letter or _, then A-Z a-z 0-9 _ . -' });
const MacroParams = Type.Object({ id: JobConfigIdSchema, name: MacroName });
const MacroRequest = Type.Object(
  {
    name: Type.Optional(Type.Union([MacroName, Type.Null()])),
    value: Type.Optional(Type.Union([Type.String({ maxLength: 64 * 1024 }), Type.Null()], { errorMessage: 'must be a string' })),
    secure: Type.Optional(Type.Union([Type.Boolean(), Type.Null()], { errorMessage: 'must be true or false' })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()], { errorMessage: 'must be a string' })),
  },
  open,
);
const BulkOperation = Type.Object({ recordIds: Type.Array(JobConfigIdSchema, { minItems: 1, maxItems: 1000 }) }, open);
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 1000, errorMessage: 'must be a list of tags (strings)' });
const NameQuery = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, open);
const PageQuery = Type.Object(
  {
    offset: Type.Optional(Type.Integer({ minimum: 0, errorMessage: 'must be a page number ≥ 0' })),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, errorMessage: 'must be a whole number from 1 to 1000' })),
    sortby: Type.Optional(Type.String({ maxLength: 256 })),
    direction: Type.Optional(Type.String({ maxLength: 256 })),
    filter: Type.Optional(Type.String()),
    filterby: Type.Optional(Type.String()),
    operators: Type.Optional(Type.String()),
  },
  open,
);
const Any = Type.Object({}, { ...open, description: 'see docs/http-api.md' });

export const EXPORT_FORMAT = 'orderly.actian-export/1';
/** Job configs exported with a template, at most. */
const EXPORT_CONFIGS_MAX = 1000;

type ClientFields = { [key: string]: Json };
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function descriptionsOf(cf: ClientFields | undefined): Record<string, string> {
  const d = cf?.[MACRO_DESCRIPTIONS];
  return isObj(d) ? (d as Record<string, string>) : {};
}

function withDescription(cf: ClientFields | undefined, name: string, description: string | null | undefined): ClientFields | undefined {
  if (description === undefined) return cf;
  const d = { ...descriptionsOf(cf) };
  if (description === null || description === '') delete d[name];
  else d[name] = description;
  const out: ClientFields = { ...(cf ?? {}) };
  if (Object.keys(d).length > 0) out[MACRO_DESCRIPTIONS] = d;
  else delete out[MACRO_DESCRIPTIONS];
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Routes without an Orderly counterpart: 501 with what to do instead. */
export const NOT_PROVIDED: readonly [method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, what: string][] = [
  ['GET', '/jobconfigs/dropdown', 'drop-down lists: use GET /v2/api/jobconfigs'],
  ['POST', '/jobconfigs/favorites', 'favorites'],
  ['DELETE', '/jobconfigs/favorites', 'favorites'],
  ['POST', '/jobconfigs/package', 'packages (djar): a job config runs a workflow or a command'],
  ['POST', '/jobconfigs/:id/favorites', 'favorites'],
  ['DELETE', '/jobconfigs/:id/favorites', 'favorites'],
  ['POST', '/jobconfigs/:id/filelinks', 'job config files and file links'],
  ['DELETE', '/jobconfigs/:id/filelinks/:linkid', 'job config files and file links'],
  ['GET', '/jobconfigs/:id/files', 'job config files'],
  ['POST', '/jobconfigs/:id/files', 'job config files'],
  ['GET', '/jobconfigs/:id/files/entrypoints/*', 'packages and entry points'],
  ['GET', '/jobconfigs/:id/files/:key', 'job config files'],
  ['PUT', '/jobconfigs/:id/files/:key', 'job config files'],
  ['DELETE', '/jobconfigs/:id/files/:key', 'job config files'],
  ['POST', '/jobconfigs/:id/macrodef', 'MacroDef files: set macros with POST /v2/api/jobconfigs/{id}/macros'],
  ['POST', '/jobconfigs/:id/macros/:name', 'macros from a file: POST /v2/api/jobconfigs/{id}/macros with a value'],
  ['GET', '/jobconfigs/:id/macrosets', 'macro sets'],
  ['PUT', '/jobconfigs/:id/owner', 'owners'],
  ['GET', '/jobconfigs/:id/package/entrypoints', 'packages and entry points'],
  ['POST', '/jobconfigs/:id/subscription', 'subscriptions: follow GET /api/v1/events (Server-Sent Events)'],
  ['GET', '/jobtemplates/dropdown', 'drop-down lists: use GET /v2/api/jobtemplates'],
  ['POST', '/jobtemplates/favorites', 'favorites'],
  ['DELETE', '/jobtemplates/favorites', 'favorites'],
  ['POST', '/jobtemplates/package', 'packages (djar)'],
  ['POST', '/jobtemplates/:id/favorites', 'favorites'],
  ['DELETE', '/jobtemplates/:id/favorites', 'favorites'],
  ['POST', '/jobtemplates/:id/filelinks', 'job template files and file links'],
  ['DELETE', '/jobtemplates/:id/filelinks/:linkid', 'job template files and file links'],
  ['GET', '/jobtemplates/:id/files', 'job template files'],
  ['POST', '/jobtemplates/:id/files', 'job template files'],
  ['GET', '/jobtemplates/:id/files/entrypoints/*', 'packages and entry points'],
  ['GET', '/jobtemplates/:id/files/:key', 'job template files'],
  ['PUT', '/jobtemplates/:id/files/:key', 'job template files'],
  ['DELETE', '/jobtemplates/:id/files/:key', 'job template files'],
  ['POST', '/jobtemplates/:id/jobconfigs/package', 'packages (djar)'],
  ['POST', '/jobtemplates/:id/macrodef', 'MacroDef files: set macros with POST /v2/api/jobtemplates/{id}/macros'],
  ['POST', '/jobtemplates/:id/macros/:name', 'macros from a file: POST /v2/api/jobtemplates/{id}/macros with a value'],
  ['PUT', '/jobtemplates/:id/macros/:name', 'macros from a file: POST /v2/api/jobtemplates/{id}/macros with a value'],
  ['PUT', '/jobtemplates/:id/owner', 'owners'],
  ['GET', '/jobtemplates/:id/package/entrypoints', 'packages and entry points'],
  ['GET', '/integrations/:id/jobs', 'integrations'],
  ['POST', '/integrations/:id/jobs', 'integrations'],
  ['POST', '/jobconfigs/:id/listener/file', 'file input: send the message as the body of POST /v2/api/jobconfigs/{id}/listener'],
  ['POST', '/jobs/package', 'ad hoc packages'],
  ['GET', '/jobs/:id/out/files', 'output files: read the job log, GET /v2/api/jobs/{id}/log'],
  ['GET', '/jobs/:id/out/files/:key', 'output files: read the job log, GET /v2/api/jobs/{id}/log'],
  ['GET', '/jobs/:id/out/:messagename', 'output messages: read the job log, GET /v2/api/jobs/{id}/log'],
  ['GET', '/jobs/:id/out/:messagename/text', 'output messages: read the job log, GET /v2/api/jobs/{id}/log'],
  ['GET', '/jobs/:id/package', 'packages'],
];

export function actianMoreRoutes(app: Api, ctx: ServerContext): void {
  const { orderly } = ctx;
  const tags = ['actian'];
  const { configOf, configOut, created } = configAnswers(ctx);

  // ------------------------------------------------------------ product

  app.get(
    '/product/info',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: retrieve product information',
        description: 'Role: viewer. InstalledProductInfo: Orderly and its version.',
        tags,
        response: { 200: Type.Object({ name: Type.String(), version: Type.String(), copyright: Type.String() }, open), ...errors(401) },
      },
    },
    async () => ({ name: 'Orderly', version: ctx.version, copyright: 'Orderly contributors', api: 'Actian Integration Manager /v2/api (job configuration and job execution)' }),
  );

  // ------------------------------------------------------------ bulk

  /** All ids must exist: 404 naming each that does not (all or nothing). */
  const mustAllExist = (ids: readonly string[]): void => {
    const problems: ProblemItem[] = [];
    ids.forEach((id, i) => {
      if (!orderly.getJobConfig(id)) problems.push({ path: `body.recordIds[${i}]`, message: `job config ${id} not found` });
    });
    if (problems.length > 0) throw new HttpError('not-found', `${problems.length} job config(s) not found: nothing changed`, problems);
  };

  for (const [path, active] of [['/jobconfigs/activate', true], ['/jobconfigs/deactivate', false]] as const) {
    app.patch(
      path,
      {
        config: { role: 'admin' },
        schema: {
          summary: `Actian: bulk ${active ? 'activation' : 'deactivation'} of job configs`,
          description: `Role: admin. BulkOperation {recordIds}. Every id must exist (else 404 naming them, nothing changed); 200 with the job configs as they are then \`{items: [JobConfigResponse]}\`.`,
          tags,
          body: BulkOperation,
          response: { 200: Type.Object({ items: Type.Array(Any) }), ...errors(400, 401, 403, 404, 413) },
        },
      },
      async (req) => {
        const ids = [...new Set(req.body.recordIds)];
        mustAllExist(ids);
        for (const id of ids) {
          const cur = configInput(mustGetConfig(ctx, id));
          if (cur.active !== active) await saveConfig(ctx, { ...cur, active }, (p) => `body.recordIds (${id}: ${p})`);
        }
        return { items: ids.map(configOut) };
      },
    );
  }

  app.delete(
    '/jobconfigs/delete',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: bulk delete of job configs',
        description: 'Role: admin. BulkOperation {recordIds}. All or nothing: 404 when one does not exist, 409 when one has jobs that have not ended (problems name `body.recordIds[i]`); 204.',
        tags,
        body: BulkOperation,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const ids = [...new Set(req.body.recordIds)];
      mustAllExist(ids);
      const busy: ProblemItem[] = [];
      ids.forEach((id, i) => {
        const n = mustGetConfig(ctx, id).activeRuns;
        if (n > 0 || orderly.listRuns(id).some((o) => o.endedAt === undefined)) busy.push({ path: `body.recordIds[${i}]`, message: `job config ${id} has jobs that have not ended: cancel them first` });
      });
      if (busy.length > 0) throw new HttpError('conflict', `${busy.length} job config(s) have jobs that have not ended: nothing deleted`, busy);
      for (const id of ids) await orderlyCall(() => orderly.deleteJobConfig(id));
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ clone

  /** `wanted`, else `<name> (copy)`, `<name> (copy 2)`, … that no job config (or template) has. */
  const freeName = (wanted: string | undefined, name: string, taken: (n: string) => boolean): string => {
    if (wanted !== undefined) return wanted;
    for (let i = 1; ; i++) {
      const n = `${name} (copy${i === 1 ? '' : ` ${i}`})`.slice(0, 128);
      if (!taken(n)) return n;
    }
  };

  app.post(
    '/jobconfigs/:id/clone',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: clone a job config',
        description: 'Role: admin. `name` (query) names the clone, default `<name> (copy)`. Everything is copied (schedule, arguments, client fields) but its aliases; the clone gets a new id. 201 JobConfigResponse; 404; 409 when the name is taken.',
        tags,
        params: ConfigParams,
        querystring: NameQuery,
        response: { 201: Any, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const src = configInput(mustGetConfig(ctx, req.params.id));
      const names = new Set(orderly.listJobConfigs().map((c) => c.name));
      const doc = { ...src, id: randomUUID(), name: freeName(req.query.name, src.name, (n) => names.has(n)) };
      return created(reply, await saveConfig(ctx, doc, (p) => (p === 'name' ? 'query.name' : `body.${p}`), { create: true }));
    },
  );

  app.post(
    '/jobtemplates/:id/clone',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: clone a job template',
        description: 'Role: admin. `name` (query) names the clone, default `<name> (copy)`. 201 JobTemplateResponse; 404; 409 when the name is taken.',
        tags,
        params: ConfigParams,
        querystring: NameQuery,
        response: { 201: Any, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const src = mustGetTemplate(ctx, req.params.id);
      const names = new Set(orderly.listJobTemplates().map((t) => t.name));
      const doc: JobTemplateInput = { ...src, id: randomUUID(), name: freeName(req.query.name, src.name, (n) => names.has(n)) };
      const t = await orderlyCall(() => orderly.saveJobTemplate(doc, { create: true }), (p) => (p === 'name' ? 'query.name' : `body.${p}`));
      return reply.status(201).header('location', templateHref(t.id)).send(templateResponse(t));
    },
  );

  // ------------------------------------------------------------ macros = default arguments

  interface Owner {
    kind: 'jobconfigs' | 'jobtemplates';
    args: Record<string, string>;
    clientFields: ClientFields | undefined;
    save(args: Record<string, string> | undefined, cf: ClientFields | undefined): Promise<void>;
  }
  /** `doc` with these default arguments and client fields (none: without the field). */
  const withMacros = <T extends { defaultArguments?: Record<string, string>; clientFields?: ClientFields }>(doc: T, args: Record<string, string> | undefined, cf: ClientFields | undefined): T => {
    const out: T = { ...doc };
    if (args && Object.keys(args).length > 0) out.defaultArguments = args;
    else delete out.defaultArguments;
    if (cf) out.clientFields = cf;
    else delete out.clientFields;
    return out;
  };
  const macroPath = (p: string): string => (p.startsWith('defaultArguments.') ? 'body.value' : `body.${p}`);
  const ownerOf = (kind: Owner['kind'], id: string): Owner => {
    if (kind === 'jobconfigs') {
      const cur = configInput(mustGetConfig(ctx, id));
      return {
        kind,
        args: { ...(cur.defaultArguments ?? {}) },
        clientFields: cur.clientFields,
        save: async (args, cf) => {
          await saveConfig(ctx, withMacros<JobConfigInput>(cur, args, cf), macroPath);
        },
      };
    }
    const cur = mustGetTemplate(ctx, id);
    return {
      kind,
      args: { ...(cur.defaultArguments ?? {}) },
      clientFields: cur.clientFields,
      save: async (args, cf) => {
        const doc = withMacros<JobTemplateInput>(cur, args, cf);
        await orderlyCall(() => orderly.saveJobTemplate(doc), macroPath);
      },
    };
  };
  const macroOut = (kind: Owner['kind'], id: string, name: string, value: string, cf: ClientFields | undefined): Record<string, unknown> => {
    const r: Record<string, unknown> = { id: name, name, href: `${ACTIAN_PREFIX}/${kind}/${encodeURIComponent(id)}/macros/${encodeURIComponent(name)}`, value, secure: false };
    const d = descriptionsOf(cf)[name];
    if (d !== undefined) r.description = d;
    return r;
  };
  const refuseSecure = (secure: boolean | null | undefined): void => {
    if (secure === true) throw invalidError([{ path: 'body.secure', message: 'secure macros are not supported: Orderly keeps arguments in its journal in clear text' }]);
  };

  for (const kind of ['jobconfigs', 'jobtemplates'] as const) {
    const what = kind === 'jobconfigs' ? 'job config' : 'job template';
    app.get(
      `/${kind}/:id/macros`,
      {
        config: { role: 'viewer' },
        schema: {
          summary: `Actian: list the macros of a ${what}`,
          description: `Role: viewer. MacroListResponse: the ${what}'s default arguments, by name. offset/size page it.`,
          tags,
          params: ConfigParams,
          querystring: PageQuery,
          response: { 200: Any, ...errors(400, 401, 404) },
        },
      },
      async (req) => {
        refuseUnsupported(req.query, UNSUPPORTED_FILTERS);
        const o = ownerOf(kind, req.params.id);
        const all = Object.keys(o.args).sort().map((n) => macroOut(kind, req.params.id, n, o.args[n]!, o.clientFields));
        return listPage(all, req.query, req.url);
      },
    );
    app.post(
      `/${kind}/:id/macros`,
      {
        config: { role: 'admin' },
        schema: {
          summary: `Actian: create a macro on a ${what}`,
          description: `Role: admin. MacroRequest {name, value, description?}: a default argument of the ${what}. 201 MacroResponse; 409 when it exists; \`secure: true\` is 400.`,
          tags,
          params: ConfigParams,
          body: MacroRequest,
          response: { 201: Any, ...errors(400, 401, 403, 404, 409, 413) },
        },
      },
      async (req, reply) => {
        const b = req.body;
        if (typeof b.name !== 'string') throw invalidError([{ path: 'body.name', message: 'required: the macro name' }]);
        refuseSecure(b.secure);
        const o = ownerOf(kind, req.params.id);
        if (b.name in o.args) throw new HttpError('conflict', `${what} ${req.params.id} has a macro ${b.name} already: PUT changes it`);
        const cf = withDescription(o.clientFields, b.name, b.description);
        await o.save({ ...o.args, [b.name]: b.value ?? '' }, cf);
        return reply.status(201).send(macroOut(kind, req.params.id, b.name, b.value ?? '', cf));
      },
    );
    app.get(
      `/${kind}/:id/macros/:name`,
      {
        config: { role: 'viewer' },
        schema: { summary: `Actian: get a macro of a ${what}`, description: 'Role: viewer. MacroResponse; 404.', tags, params: MacroParams, response: { 200: Any, ...errors(400, 401, 404) } },
      },
      async (req) => {
        const o = ownerOf(kind, req.params.id);
        const v = o.args[req.params.name];
        if (v === undefined) throw notFound(`${what} ${req.params.id} has no macro ${req.params.name}`);
        return macroOut(kind, req.params.id, req.params.name, v, o.clientFields);
      },
    );
    if (kind === 'jobconfigs') {
      app.put(
        `/${kind}/:id/macros/:name`,
        {
          config: { role: 'admin' },
          schema: {
            summary: `Actian: update a macro of a ${what}`,
            description: 'Role: admin. MacroRequest: the fields given change (`value`, `description`); a `name` other than the URL’s is 400. 200 MacroResponse; 404.',
            tags,
            params: MacroParams,
            body: MacroRequest,
            response: { 200: Any, ...errors(400, 401, 403, 404, 413) },
          },
        },
        async (req) => {
          const b = req.body;
          const name = req.params.name;
          if (typeof b.name === 'string' && b.name !== name) throw invalidError([{ path: 'body.name', message: `must be the name in the URL (${name}) or left out` }]);
          refuseSecure(b.secure);
          const o = ownerOf(kind, req.params.id);
          const cur = o.args[name];
          if (cur === undefined) throw notFound(`${what} ${req.params.id} has no macro ${name}`);
          const value = typeof b.value === 'string' ? b.value : cur;
          const cf = withDescription(o.clientFields, name, b.description);
          await o.save({ ...o.args, [name]: value }, cf);
          return macroOut(kind, req.params.id, name, value, cf);
        },
      );
    }
    app.delete(
      `/${kind}/:id/macros/:name`,
      {
        config: { role: 'admin' },
        schema: { summary: `Actian: delete a macro of a ${what}`, description: 'Role: admin. 204; 404.', tags, params: MacroParams, response: { 204: NoContent, ...errors(400, 401, 403, 404) } },
      },
      async (req, reply) => {
        const o = ownerOf(kind, req.params.id);
        const name = req.params.name;
        if (!(name in o.args)) throw notFound(`${what} ${req.params.id} has no macro ${name}`);
        const { [name]: _gone, ...rest } = o.args;
        await o.save(rest, withDescription(o.clientFields, name, null));
        return reply.status(204).send(null);
      },
    );
  }

  // ------------------------------------------------------------ tags

  const tagsOf = (cf: ClientFields | undefined): string[] => (Array.isArray(cf?.tags) ? (cf.tags as unknown[]).filter((t): t is string => typeof t === 'string') : []);
  const saveTags = async (id: string, next: string[]): Promise<void> => {
    const cur = configInput(mustGetConfig(ctx, id));
    const cf: ClientFields = { ...(cur.clientFields ?? {}) };
    if (next.length > 0) cf.tags = next;
    else delete cf.tags;
    const doc: JobConfigInput = { ...cur };
    if (Object.keys(cf).length > 0) doc.clientFields = cf;
    else delete doc.clientFields;
    await saveConfig(ctx, doc, () => 'body');
  };

  app.put(
    '/jobconfigs/:id/tags',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: attach tags to a job config',
        description: 'Role: admin. Body: a list of tags, added to those it has (kept with the job config; `tags` of the JobConfigResponse). 200 JobConfigTagsResponse {jobConfigId, tags}.',
        tags,
        params: ConfigParams,
        body: Tags,
        response: { 200: Type.Object({ jobConfigId: Type.String(), tags: Type.Array(Type.String()) }, open), ...errors(400, 401, 403, 404, 413) },
      },
    },
    async (req) => {
      const have = tagsOf(mustGetConfig(ctx, req.params.id).clientFields);
      const next = [...new Set([...have, ...req.body])];
      await saveTags(req.params.id, next);
      return { jobConfigId: req.params.id, tags: next };
    },
  );

  app.delete(
    '/jobconfigs/:id/tags',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: remove tags from a job config',
        description: 'Role: admin. Body: the tags to remove (ones it does not have change nothing). 204.',
        tags,
        params: ConfigParams,
        body: Tags,
        response: { 204: NoContent, ...errors(400, 401, 403, 404, 413) },
      },
    },
    async (req, reply) => {
      const have = tagsOf(mustGetConfig(ctx, req.params.id).clientFields);
      const drop = new Set(req.body);
      await saveTags(req.params.id, have.filter((t) => !drop.has(t)));
      return reply.status(204).send(null);
    },
  );

  // ------------------------------------------------------------ export and import (JSON documents)

  const exportConfig = (c: JobConfig): Record<string, unknown> => {
    const { id: _id, ...doc } = configInput(c);
    return doc;
  };

  app.post(
    '/jobconfigs/:id/export',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: export a job config',
        description: `Role: viewer. 200 a JSON document \`{format: "${EXPORT_FORMAT}", exported, jobConfig}\` (the job config as Orderly stores it, without its id and aliases), which POST /v2/api/jobconfigs/import takes back.`,
        tags,
        params: ConfigParams,
        response: { 200: Any, ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const v = mustGetConfig(ctx, req.params.id);
      const name = req.params.id.replace(/[^A-Za-z0-9_.-]/g, '_');
      return reply.header('content-disposition', `attachment; filename="jobconfig-${name}.json"`).send({ format: EXPORT_FORMAT, exported: ISO(Date.now()), jobConfig: exportConfig(v) });
    },
  );

  const ExportDoc = Type.Object(
    {
      format: Type.Literal(EXPORT_FORMAT, { errorMessage: `must be "${EXPORT_FORMAT}" (a document of POST …/export)` }),
      exported: Type.Optional(Type.String()),
      jobConfig: Type.Optional(Type.Object({}, open)),
      jobTemplate: Type.Optional(Type.Object({}, open)),
      jobConfigs: Type.Optional(Type.Array(Type.Object({}, open), { maxItems: EXPORT_CONFIGS_MAX })),
    },
    { additionalProperties: false },
  );

  const importConfig = async (raw: Record<string, unknown>, at: string, templateId?: string): Promise<Record<string, unknown>> => {
    const doc = { ...raw, id: randomUUID(), ...(templateId !== undefined ? { templateId } : {}) } as JobConfigInput;
    return configOf(await saveConfig(ctx, doc, (p) => `${at}.${p}`, { create: true }));
  };

  app.post(
    '/jobconfigs/import',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: import a job config',
        description: `Role: admin. Body: a document of POST /v2/api/jobconfigs/{id}/export (JSON; a multipart upload is 501). The job config is created with a new id. 201 JobConfigResponse; 409 when its name is taken.`,
        tags,
        body: ExportDoc,
        response: { 201: Any, ...errors(400, 401, 403, 409, 413, 501) },
      },
    },
    async (req, reply) => {
      if (!req.body.jobConfig) throw invalidError([{ path: 'body.jobConfig', message: 'required: the exported job config' }]);
      const out = await importConfig(req.body.jobConfig, 'body.jobConfig');
      return reply.status(201).header('location', configHref(out.id as string)).send(out);
    },
  );

  app.post(
    '/jobtemplates/:id/export',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: export a job template',
        description: `Role: viewer. 200 \`{format: "${EXPORT_FORMAT}", exported, jobTemplate, jobConfigs?}\`; \`includejobconfigs=true\` adds its job configs.`,
        tags,
        params: ConfigParams,
        querystring: Type.Object({ includejobconfigs: Type.Optional(Type.Boolean({ errorMessage: 'must be true or false' })) }, open),
        response: { 200: Any, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const { id: _id, ...jobTemplate } = mustGetTemplate(ctx, req.params.id);
      const out: Record<string, unknown> = { format: EXPORT_FORMAT, exported: ISO(Date.now()), jobTemplate };
      if (req.query.includejobconfigs === true) {
        out.jobConfigs = orderly
          .listJobConfigs()
          .filter((c) => c.templateId === req.params.id)
          .map((c) => {
            const { templateId: _t, ...rest } = exportConfig(c);
            return rest;
          });
      }
      return out;
    },
  );

  app.post(
    '/jobtemplates/import',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: import a job template',
        description: 'Role: admin. Body: a document of POST /v2/api/jobtemplates/{id}/export (JSON; a multipart upload is 501). The template (and its job configs, when exported with them) are created with new ids; a refused job config leaves the template and the ones before it in place (the answer names it). 201 JobTemplateResponse (with Orderly’s `jobConfigs`: the job configs created).',
        tags,
        body: ExportDoc,
        response: { 201: Any, ...errors(400, 401, 403, 409, 413, 501) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (!b.jobTemplate) throw invalidError([{ path: 'body.jobTemplate', message: 'required: the exported job template' }]);
      const doc = { ...b.jobTemplate, id: randomUUID() } as JobTemplateInput;
      const t = await orderlyCall(() => orderly.saveJobTemplate(doc, { create: true }), (p) => `body.jobTemplate.${p}`);
      const created: Record<string, unknown>[] = [];
      for (const [i, c] of (b.jobConfigs ?? []).entries()) created.push(await importConfig(c, `body.jobConfigs[${i}]`, t.id));
      return reply.status(201).header('location', templateHref(t.id)).send({ ...templateResponse(t), ...(b.jobConfigs ? { jobConfigs: created } : {}) });
    },
  );

  // ------------------------------------------------------------ a template's job configs

  app.get(
    '/jobtemplates/:id/jobconfigs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: list the job configs of a job template',
        description: 'Role: viewer. JobConfigListResponse, by name.',
        tags,
        params: ConfigParams,
        querystring: PageQuery,
        response: { 200: Any, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      refuseUnsupported(req.query, UNSUPPORTED_FILTERS);
      const t = mustGetTemplate(ctx, req.params.id);
      const all = orderly
        .listJobConfigs()
        .filter((c) => c.templateId === t.id)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const page = listPage(all, req.query, req.url);
      return { ...page, items: page.items.map((v) => configResponse(v, t)) };
    },
  );

  app.post(
    '/jobtemplates/:id/jobconfigs',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Actian: create a job config on a job template',
        description: 'Role: admin. JobConfigRequest (as POST /v2/api/jobconfigs) with `jobTemplateId` this template (another one is 400). 201 JobConfigResponse.',
        tags,
        params: ConfigParams,
        body: Type.Object({}, open),
        response: { 201: Any, ...errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const t = mustGetTemplate(ctx, req.params.id);
      const body = req.body as ActianConfigBody & Record<string, unknown>;
      if (body.jobTemplateId !== undefined && body.jobTemplateId !== null && body.jobTemplateId !== t.id) {
        throw invalidError([{ path: 'body.jobTemplateId', message: `must be this template (${t.id}) or left out` }]);
      }
      const { doc, path } = configFromActian({ ...body, jobTemplateId: t.id }, {}, undefined);
      return created(reply, await saveConfig(ctx, doc, path, { create: true }), t);
    },
  );

  // ------------------------------------------------------------ a job's out messages

  app.get(
    '/jobs/:id/out',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Actian: list the out messages of a job',
        description: 'Role: viewer. TextMessageListResponse: Orderly jobs have no out messages, so the list is empty (their output is the log: GET /v2/api/jobs/{id}/log). 404 for an unknown job.',
        tags,
        params: Type.Object({ id: OrderIdSchema }),
        querystring: PageQuery,
        response: { 200: Any, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      if (!orderly.getOrder(req.params.id)) throw notFound(`job ${req.params.id} not found`);
      return listPage([], req.query, req.url);
    },
  );

  // ------------------------------------------------------------ not provided

  for (const [method, path, what] of NOT_PROVIDED) {
    app.route({
      method,
      url: path,
      config: { role: 'viewer' },
      schema: { hide: true },
      handler: async () => {
        throw new HttpError('not-implemented', `${method} ${ACTIAN_PREFIX}${path.replace(/:([a-z]+)/g, '{$1}')} is not provided by Orderly (${what}); see docs/http-api.md "Not provided"`);
      },
    });
  }
}
