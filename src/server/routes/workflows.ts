// Workflows: deploy one (JS7 inventory JSON), list, export a version.

import { Type } from '@sinclair/typebox';

import type { ProblemItem } from '../../core/commands.js';
import type { LockDef } from '../../core/model.js';
import { validateWorkflow } from '../../core/validate.js';
import { normaliseWorkflow, workflowToJs7 } from '../../formats/js7.js';
import type { Api, ServerContext } from '../context.js';
import { invalidError, notFound, orderlyCall, underPath } from '../errors.js';
import { errors, NameParams, WorkflowBodySchema, WorkflowParams } from '../schemas.js';
import { deployPath } from './locks.js';

const WorkflowSummary = Type.Object({
  name: Type.String(),
  title: Type.Optional(Type.String()),
  latest: Type.Integer(),
  versions: Type.Array(Type.Integer()),
  generated: Type.Optional(Type.Boolean({ description: 'generated for a job config with an inline command' })),
});

export const WORKFLOW_VERSION_HEADER = 'x-orderly-workflow-version';

export function workflowRoutes(app: Api, { orderly }: ServerContext): void {
  app.put(
    '/workflows/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Deploy a workflow (JS7 inventory JSON)',
        description:
          'Role: admin. A changed workflow becomes a new version (orders already inside keep theirs); an identical one changes nothing (`changed: false`). 400 with problems (e.g. `body.instructions[0].demands[0].count`), 409 lock-order-cycle when nested locks would close a cycle with the deployed workflows.',
        tags: ['workflows'],
        params: NameParams,
        body: WorkflowBodySchema,
        response: {
          200: Type.Object({ name: Type.String(), version: Type.Integer(), changed: Type.Boolean() }),
          ...errors(400, 401, 403, 409, 413),
        },
      },
    },
    async (req) => {
      const name = req.params.name;
      const problems: ProblemItem[] = [];
      const normalised = normaliseWorkflow(req.body, problems);
      const locks = new Map<string, LockDef>();
      for (const [n, fam] of orderly.engine.state.locks) locks.set(n, fam.def);
      const r = validateWorkflow(normalised, name, { locks, jobResources: orderly.engine.state.jobResources });
      if (!r.ok) problems.push(...r.problems);
      if (problems.length > 0 || !r.ok) throw invalidError(problems.map((p) => ({ path: underPath('body', p.path), message: p.message })));
      const wf = r.value;
      const res = await orderlyCall(() => orderly.deploy({ workflows: [wf] }), deployPath);
      const deployed = res.workflows.find((w) => w.name === name);
      if (deployed) return { name, version: deployed.version, changed: true };
      return { name, version: orderly.engine.state.workflows.get(name)?.latest ?? 0, changed: false };
    },
  );

  app.get(
    '/workflows',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Deployed workflows with their versions',
        description:
          'Role: viewer. The workflows Orderly generates for job configs with an inline `command` (reserved names `jobconfig:<id>`) are listed only with `?generated=true` (marked `generated: true`).',
        tags: ['workflows'],
        querystring: Type.Object(
          { generated: Type.Optional(Type.Boolean({ errorMessage: 'must be true or false' })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ workflows: Type.Array(WorkflowSummary) }), ...errors(400, 401) },
      },
    },
    async (req) => ({
      workflows: orderly
        .listWorkflows({ generated: req.query.generated === true })
        .map((w) => ({
          name: w.name,
          ...(w.generated ? { generated: true } : {}),
          ...(w.workflow.title !== undefined ? { title: w.workflow.title } : {}),
          latest: w.latest,
          versions: [...w.versions].sort((a, b) => a - b),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    }),
  );

  app.get(
    '/workflows/:name',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'A workflow as JS7 inventory JSON (latest, or ?version=n)',
        description: `Role: viewer. The version is in the ${WORKFLOW_VERSION_HEADER} header. PUT it back unchanged and nothing changes.`,
        tags: ['workflows'],
        params: WorkflowParams,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1, errorMessage: 'must be a whole number ≥ 1' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ TYPE: Type.Literal('Workflow') }, { additionalProperties: true }), ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const name = req.params.name;
      const w = orderly.engine.state.workflows.get(name);
      if (!w) throw notFound(`workflow ${name} not found`);
      const version = req.query.version ?? w.latest;
      const wf = w.versions.get(version);
      if (!wf) throw notFound(`workflow ${name} has no version ${version} (latest ${w.latest})`);
      void reply.header(WORKFLOW_VERSION_HEADER, String(version));
      return workflowToJs7(wf) as { TYPE: 'Workflow' };
    },
  );

  app.get(
    '/workflows/:name/versions',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The versions of a workflow',
        description: 'Role: viewer.',
        tags: ['workflows'],
        params: WorkflowParams,
        response: { 200: Type.Object({ name: Type.String(), latest: Type.Integer(), versions: Type.Array(Type.Integer()) }), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const name = req.params.name;
      const w = orderly.engine.state.workflows.get(name);
      if (!w) throw notFound(`workflow ${name} not found`);
      return { name, latest: w.latest, versions: [...w.versions.keys()].sort((a, b) => a - b) };
    },
  );
}
