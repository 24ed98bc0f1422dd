// Locks: live state (holders, queue), deploy one, delete one.

import { Type } from '@sinclair/typebox';

import type { LockDef } from '../../core/model.js';
import { validateLockDef } from '../../core/validate.js';
import type { LockView } from '../../runtime/views.js';
import type { Api, ServerContext } from '../context.js';
import { invalidError, notFound, orderlyCall, underPath } from '../errors.js';
import { errors, LockBodySchema, LockNameParams, LockQuerySchema, LocksQuerySchema, LockViewSchema, NameParams } from '../schemas.js';

/** JS7 inventory fields of a lock that Orderly accepts and drops (as the file import does). */
const DROPPED_LOCK_KEYS = ['version', 'versionId', 'path', 'documentationName'];

/**
 * An engine problem path of a one-item deploy (`locks[0] (x).limit`, `workflows[0] (x).instructions[1]`)
 * as a path in the request body; problems about other deployed workflows keep their path.
 */
export function deployPath(path: string): string {
  const m = /^(?:locks|workflows|jobResources)\[0\](?: \([^)]*\))?(?:\.(.*))?$/.exec(path);
  if (m) return underPath('body', m[1] ?? '');
  if (path === 'workflows' || path === 'locks' || path === 'jobResources') return 'body';
  return path;
}

export function lockRoutes(app: Api, { orderly }: ServerContext): void {
  app.get(
    '/locks',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Locks with their live state, a page at a time',
        description:
          'Role: viewer. Each lock (each live instance `family[key]` of a keyed lock) with its holders (weight, since, fencing token) and its queue in order (demand, since, place, why it waits), sorted by name. `limit` 1..1000 locks (default 100); pass `next` as `after` for the next page. Each queue shows its first `waiters` waiters (0..1000, default 100); `queueLength` counts them all.',
        tags: ['locks'],
        querystring: LocksQuerySchema,
        response: { 200: Type.Object({ locks: Type.Array(LockViewSchema), next: Type.Optional(Type.String()) }), ...errors(400, 401) },
      },
    },
    async (req) => {
      const q = req.query;
      return orderly.pageLocks({ limit: q.limit ?? 100, waitersMax: q.waiters ?? 100, ...(q.after !== undefined ? { after: q.after } : {}) });
    },
  );

  app.get(
    '/locks/:name',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One lock with its live state',
        description:
          'Role: viewer. `name` is a lock or an instance `family[key]` of a keyed lock. For a keyed family the answer is its definition with `instances` (the live ones); holders and queues are on the instances.',
        tags: ['locks'],
        params: LockNameParams,
        querystring: LockQuerySchema,
        response: { 200: LockViewSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const name = req.params.name;
      const waitersMax = req.query.waiters ?? 100;
      const v = orderly.getLock(name, { waitersMax }) ?? orderly.pageLocks({ after: '', limit: Infinity, waitersMax }).locks.find((l) => l.name === name);
      if (v) return v;
      const state = orderly.engine.state;
      const fam = state.locks.get(name);
      if (!fam) throw notFound(`lock ${name} not found`);
      const family: LockView & { instances: string[] } = {
        name,
        family: name,
        limit: fam.def.limit,
        ...(fam.def.title !== undefined ? { title: fam.def.title } : {}),
        policy: fam.def.policy ?? 'fifo',
        keyed: fam.def.keyed === true,
        fencingToken: fam.token,
        state: fam.def.limit === 0 ? 'closed' : 'available',
        heldWeight: 0,
        holders: [],
        queue: [],
        queueLength: 0,
        instances: [...state.instances.values()].filter((i) => i.family === name).map((i) => i.name).sort(),
      };
      return family;
    },
  );

  app.put(
    '/locks/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Deploy a lock (create or change)',
        description:
          'Role: admin. Body: a JS7 lock (`{"TYPE":"Lock","limit":1}`) or `{limit, title, keyed, policy}`. An unchanged lock writes nothing (`changed: false`). Changing `limit` affects later grants only. 400 when deployed workflows would no longer fit it.',
        tags: ['locks'],
        params: NameParams,
        body: LockBodySchema,
        response: { 200: Type.Object({ name: Type.String(), changed: Type.Boolean() }), ...errors(400, 401, 403, 409, 413) },
      },
    },
    async (req) => {
      const name = req.params.name;
      const raw: Record<string, unknown> = { ...req.body };
      for (const k of DROPPED_LOCK_KEYS) delete raw[k];
      const r = validateLockDef(raw, name);
      if (!r.ok) throw invalidError(r.problems.map((p) => ({ path: underPath('body', p.path), message: p.message })));
      const lock: LockDef = r.value;
      const res = await orderlyCall(() => orderly.deploy({ locks: [lock] }), deployPath);
      return { name, changed: res.locks.includes(name) };
    },
  );

  app.delete(
    '/locks/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete a lock',
        description: 'Role: admin. 409 conflict while a workflow in force references it, or while it is held or waited for.',
        tags: ['locks'],
        params: NameParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      await orderlyCall(() => orderly.deleteLock(req.params.name));
      return reply.status(204).send(null);
    },
  );
}
