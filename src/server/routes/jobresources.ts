// Job resources (JS7 `*.jobresource.json`): deploy one, list them, read one as JS7 JSON.

import { Type } from '@sinclair/typebox';

import type { ProblemItem } from '../../core/commands.js';
import { validateJobResource } from '../../core/validate.js';
import { jobResourceToJs7, normaliseJobResource } from '../../formats/js7.js';
import type { Api, ServerContext } from '../context.js';
import { invalidError, notFound, orderlyCall, underPath } from '../errors.js';
import { errors, NameParams } from '../schemas.js';
import { deployPath } from './locks.js';

const JobResourceBodySchema = Type.Object(
  {
    TYPE: Type.Optional(Type.Literal('JobResource')),
    arguments: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'names → expressions (or numbers, booleans)' })),
    env: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'environment variable names → expressions' })),
  },
  { additionalProperties: true, description: 'a JS7 job resource; unknown fields are refused by name' },
);

export function jobResourceRoutes(app: Api, { orderly }: ServerContext): void {
  app.put(
    '/jobresources/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Deploy a job resource (JS7 inventory JSON)',
        description:
          'Role: admin. Body: `{"TYPE": "JobResource", "arguments": {…}, "env": {…}, "title"?, "documentationName"?}` (JS7\'s `variables` is read as `arguments`; `version`, `versionId`, `path` are dropped). An unchanged one writes nothing (`changed: false`). Jobs starting afterwards use it.',
        tags: ['workflows'],
        params: NameParams,
        body: JobResourceBodySchema,
        response: { 200: Type.Object({ name: Type.String(), changed: Type.Boolean() }), ...errors(400, 401, 403, 413) },
      },
    },
    async (req) => {
      const name = req.params.name;
      const problems: ProblemItem[] = [];
      const r = validateJobResource(normaliseJobResource(req.body, problems), name);
      if (!r.ok) problems.push(...r.problems);
      if (problems.length > 0 || !r.ok) throw invalidError(problems.map((p) => ({ path: underPath('body', p.path), message: p.message })));
      const res = await orderlyCall(() => orderly.deploy({ jobResources: [r.value] }), deployPath);
      return { name, changed: res.jobResources?.includes(name) === true };
    },
  );

  app.get(
    '/jobresources',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Deployed job resources',
        description: 'Role: viewer. `{jobResources: [{name, title?}]}` sorted by name.',
        tags: ['workflows'],
        response: { 200: Type.Object({ jobResources: Type.Array(Type.Object({ name: Type.String(), title: Type.Optional(Type.String()) })) }), ...errors(401) },
      },
    },
    async () => ({
      jobResources: [...orderly.engine.state.jobResources.values()]
        .map((r) => (r.title !== undefined ? { name: r.name, title: r.title } : { name: r.name }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    }),
  );

  app.get(
    '/jobresources/:name',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'A job resource as JS7 inventory JSON',
        description: 'Role: viewer. PUT it back unchanged and nothing changes.',
        tags: ['workflows'],
        params: NameParams,
        response: { 200: Type.Object({ TYPE: Type.Literal('JobResource') }, { additionalProperties: true }), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const r = orderly.engine.state.jobResources.get(req.params.name);
      if (!r) throw notFound(`job resource ${req.params.name} not found`);
      return jobResourceToJs7(r) as { TYPE: 'JobResource' };
    },
  );
}
