// Import and export of JS7 inventory files (`<name>.lock.json`, `<name>.workflow.json`,
// `<name>.jobresource.json`).
//
// The internal model is normalised JS7, so this is thin: import parses, normalises the few
// older/alternative spellings and validates (src/core/validate.ts); export writes the
// internal value back with `"TYPE"` and without the name (which lives in the file name).
//
// Normalisation on import:
// - A Lock instruction in the older single-lock form (`lockName`, or its aliases `lockId`,
//   `lockPath`, plus `count` on the instruction itself) becomes one demand. A `lockPath`
//   like `/folder/name` is reduced to its last segment.
// - `returnCodeMeaning` standing on the job is moved into the executable.
// - `parallelism: 1` on a job is dropped: it is the default in JS7 files (and in Orderly),
//   and export leaves it out, so dropping it keeps import → export → import stable.
// - Job spellings of JS7's engine and older releases: `processLimit` and `taskLimit` read as
//   `parallelism`, `sigkillDelay` as `graceTimeout`, `agentPath` as `agentName`,
//   `jobResourcePaths` as `jobResourceNames` (also on the workflow; a path `/folder/name` is
//   reduced to its name), `skipIfNoAdmissionStartForOrderDay` as
//   `skipIfNoAdmissionForOrderDay`; the executable types `ScriptExecutable` and
//   `ExecutableScript` as `ShellScriptExecutable`, `ExecutablePath` as `PathExecutable`.
//   Export writes the JOC Cockpit inventory spelling (the first of each pair).
// - These fields locate an item in JOC Cockpit and are dropped (the file name and folder
//   say the same): lock, workflow and job resource `version`, `versionId`, `path`.
// - A job resource's `variables` (JS7's engine spelling) reads as `arguments`.
// - Every other field is validated (src/core/validate.ts): implemented, kept as metadata,
//   or refused with its path and "not supported".
//
// Problem paths refer to the normalised document (a legacy `lockName` is reported as
// `...demands[0].lockName`).

import type { ProblemItem } from '../core/commands.js';
import type { Block, Demand, Executable, Instruction, Job, JobResourceDef, LockDef, NoticeBoardDef, ReturnCodeList, ReturnCodeMeaning, Workflow } from '../core/model.js';
import { LIMITS } from '../core/model.js';
import type { Validated, WorkflowContext } from '../core/validate.js';
import { joinPath, validateJobResource, validateLockDef, validateNoticeBoard, validateWorkflow } from '../core/validate.js';

export const LOCK_SUFFIX = '.lock.json';
export const WORKFLOW_SUFFIX = '.workflow.json';
export const JOB_RESOURCE_SUFFIX = '.jobresource.json';
export const BOARD_SUFFIX = '.noticeboard.json';

/** A notice board file (`<name>.noticeboard.json`). */
export function importNoticeBoardJson(text: string, fileName: string): Validated<NoticeBoardDef> {
  return importFile(text, fileName, BOARD_SUFFIX, withoutLocation, validateNoticeBoard);
}

export function exportNoticeBoardJson(b: NoticeBoardDef): string {
  const o: Obj = { TYPE: 'NoticeBoard', postOrderToNoticeId: b.postOrderToNoticeId, expectOrderToNoticeId: b.expectOrderToNoticeId, endOfLife: b.endOfLife };
  putDescription(o, b);
  return pretty(o);
}

/** Fields that locate an item in JOC Cockpit (the file name and folder say the same). */
const DROPPED_KEYS = ['version', 'versionId', 'path'] as const;
/** Older or engine spellings of job fields → the inventory spelling. */
const JOB_ALIASES: Readonly<Record<string, string>> = {
  processLimit: 'parallelism',
  taskLimit: 'parallelism',
  sigkillDelay: 'graceTimeout',
  agentPath: 'agentName',
  jobResourcePaths: 'jobResourceNames',
  skipIfNoAdmissionStartForOrderDay: 'skipIfNoAdmissionForOrderDay',
};
const EXECUTABLE_ALIASES: Readonly<Record<string, string>> = {
  ScriptExecutable: 'ShellScriptExecutable',
  ExecutableScript: 'ShellScriptExecutable',
  ExecutablePath: 'PathExecutable',
};
const LEGACY_LOCK_KEYS = ['lockName', 'lockId', 'lockPath'] as const;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail<T>(problems: ProblemItem[]): Validated<T> {
  return { ok: false, problems };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problems: ProblemItem[] } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, problems: [{ path: '$', message: `invalid JSON: ${msg}` }] };
  }
}

/**
 * A JS7 file read: the name from its file name (which must end with `suffix`), the JSON, then
 * `normalise` (the problems it finds come first) and `validate`.
 */
function importFile<T>(
  text: string,
  fileName: string,
  suffix: string,
  normalise: (raw: unknown, problems: ProblemItem[]) => unknown,
  validate: (raw: unknown, name: string) => Validated<T>,
): Validated<T> {
  const name = nameFromFileName(fileName, suffix);
  if (name === undefined) return fail([{ path: '$', message: `file name must end with ${suffix}` }]);
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  const problems: ProblemItem[] = [];
  const validated = validate(normalise(parsed.value, problems), name);
  if (problems.length === 0) return validated;
  return fail([...problems, ...(validated.ok ? [] : validated.problems)]);
}

/** A copy of a document without the fields that locate it in JOC Cockpit. */
function withoutLocation(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const o: Obj = { ...raw };
  for (const k of DROPPED_KEYS) delete o[k];
  return o;
}

/** The name in a file name: `folder/X.lock.json` → `X`. */
export function nameFromFileName(fileName: string, suffix: string): string | undefined {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  if (!base.endsWith(suffix) || base.length === suffix.length) return undefined;
  return base.slice(0, -suffix.length);
}

// ---------------------------------------------------------------------------------------
// Import

export function importLockJson(text: string, fileName: string): Validated<LockDef> {
  return importFile(text, fileName, LOCK_SUFFIX, withoutLocation, validateLockDef);
}

export function importJobResourceJson(text: string, fileName: string): Validated<JobResourceDef> {
  return importFile(text, fileName, JOB_RESOURCE_SUFFIX, normaliseJobResource, validateJobResource);
}

/** A JS7 job resource document in Orderly's shape: JOC Cockpit's fields dropped, `variables` as `arguments`. */
export function normaliseJobResource(raw: unknown, problems: ProblemItem[]): unknown {
  if (!isObject(raw)) return raw;
  const o = withoutLocation(raw) as Obj;
  if (hasOwn(o, 'variables')) {
    if (hasOwn(o, 'arguments')) problems.push({ path: 'variables', message: 'give either variables or arguments, not both' });
    else o['arguments'] = o['variables'];
    delete o['variables'];
  }
  return o;
}

export function importWorkflowJson(text: string, fileName: string, ctx: WorkflowContext): Validated<Workflow> {
  return importFile(text, fileName, WORKFLOW_SUFFIX, normaliseWorkflow, (raw, name) => validateWorkflow(raw, name, ctx));
}

/**
 * The JS7 workflow document in Orderly's internal shape (a copy; `raw` is not changed).
 * Problems found while normalising (conflicting legacy fields) are added to `problems`.
 */
export function normaliseWorkflow(raw: unknown, problems: ProblemItem[]): unknown {
  if (!isObject(raw)) return raw;
  const wf = withoutLocation(raw) as Obj;
  if (hasOwn(wf, 'jobResourcePaths')) {
    if (hasOwn(wf, 'jobResourceNames')) problems.push({ path: 'jobResourcePaths', message: 'give either jobResourcePaths or jobResourceNames, not both' });
    else wf['jobResourceNames'] = wf['jobResourcePaths'];
    delete wf['jobResourcePaths'];
  }
  wf['jobResourceNames'] = resourceNames(wf['jobResourceNames']);
  if (wf['jobResourceNames'] === undefined) delete wf['jobResourceNames'];
  wf['instructions'] = normaliseInstructions(wf['instructions'], 'instructions', 0, problems);
  if (isObject(wf['jobs'])) {
    const jobs: Obj = {};
    for (const [jobName, job] of Object.entries(wf['jobs'])) {
      jobs[jobName] = normaliseJob(job, joinPath('jobs', jobName), problems);
    }
    wf['jobs'] = jobs;
  }
  return wf;
}

function normaliseInstructions(raw: unknown, path: string, depth: number, problems: ProblemItem[]): unknown {
  // Deeper than validation looks: leave it as it is, validation refuses it.
  if (!Array.isArray(raw) || depth > LIMITS.nestingDepthMax + 1) return raw;
  return raw.map((i: unknown, n) => normaliseInstruction(i, joinPath(path, n), depth, problems));
}

function normaliseBlock(raw: unknown, path: string, depth: number, problems: ProblemItem[]): unknown {
  if (!isObject(raw)) return raw;
  return {
    ...raw,
    instructions: normaliseInstructions(raw['instructions'], joinPath(path, 'instructions'), depth, problems),
  };
}

function normaliseInstruction(raw: unknown, path: string, depth: number, problems: ProblemItem[]): unknown {
  if (!isObject(raw)) return raw;
  const o: Obj = { ...raw };
  const d = depth + 1;
  switch (o['TYPE']) {
    case 'Lock': {
      const given = LEGACY_LOCK_KEYS.filter((k) => o[k] !== undefined);
      if (given.length > 0) {
        const names = given.map((k) => {
          const v = o[k];
          return k === 'lockPath' && typeof v === 'string' ? lastSegment(v) : v;
        });
        if (o['demands'] !== undefined) {
          problems.push({ path: joinPath(path, given[0]!), message: 'give either demands or the single-lock form (lockName and count), not both' });
        } else {
          if (names.some((n) => n !== names[0])) {
            problems.push({ path: joinPath(path, given[1]!), message: `names a different lock than ${given[0]!}` });
          }
          const demand: Obj = { lockName: names[0] };
          if (o['count'] !== undefined) demand['count'] = o['count'];
          o['demands'] = [demand];
          delete o['count'];
        }
        for (const k of LEGACY_LOCK_KEYS) delete o[k];
      }
      o['lockedWorkflow'] = normaliseBlock(o['lockedWorkflow'], joinPath(path, 'lockedWorkflow'), d, problems);
      break;
    }
    case 'Options':
      o['block'] = normaliseBlock(o['block'], joinPath(path, 'block'), d, problems);
      break;
    case 'Try':
      o['try'] = normaliseBlock(o['try'], joinPath(path, 'try'), d, problems);
      o['catch'] = normaliseBlock(o['catch'], joinPath(path, 'catch'), d, problems);
      break;
    case 'StickySubagent':
      o['subworkflow'] = normaliseBlock(o['subworkflow'], joinPath(path, 'subworkflow'), d, problems);
      break;
    case 'Fork':
      if (Array.isArray(o['branches']) && d <= LIMITS.nestingDepthMax + 1) {
        o['branches'] = o['branches'].map((b: unknown, n) =>
          isObject(b) ? { ...b, workflow: normaliseBlock(b['workflow'], joinPath(joinPath(joinPath(path, 'branches'), n), 'workflow'), d, problems) } : b,
        );
      }
      break;
    case 'ConsumeNotices':
      o['subworkflow'] = normaliseBlock(o['subworkflow'], joinPath(path, 'subworkflow'), d, problems);
      break;
    case 'ForkList':
      o['workflow'] = normaliseBlock(o['workflow'], joinPath(path, 'workflow'), d, problems);
      break;
    case 'Cycle':
      o['cycleWorkflow'] = normaliseBlock(o['cycleWorkflow'], joinPath(path, 'cycleWorkflow'), d, problems);
      break;
    case 'If':
      if (o['then'] !== undefined) o['then'] = normaliseBlock(o['then'], joinPath(path, 'then'), d, problems);
      if (o['else'] !== undefined) o['else'] = normaliseBlock(o['else'], joinPath(path, 'else'), d, problems);
      if (Array.isArray(o['ifThens']) && d <= LIMITS.nestingDepthMax + 1) {
        o['ifThens'] = o['ifThens'].map((t: unknown, n) =>
          isObject(t) ? { ...t, then: normaliseBlock(t['then'], joinPath(joinPath(joinPath(path, 'ifThens'), n), 'then'), d, problems) } : t,
        );
      }
      break;
    case 'Execute.Anonymous':
      o['job'] = normaliseJob(o['job'], joinPath(path, 'job'), problems);
      break;
    default:
      break;
  }
  return o;
}

function lastSegment(p: string): string {
  const parts = p.split('/').filter((s) => s !== '');
  return parts[parts.length - 1] ?? p;
}

function normaliseJob(raw: unknown, path: string, problems: ProblemItem[]): unknown {
  if (!isObject(raw)) return raw;
  const job: Obj = {};
  for (const [k, v] of Object.entries(raw)) {
    const to = JOB_ALIASES[k];
    if (to === undefined) {
      if (hasOwn(job, k)) problems.push({ path: joinPath(path, k), message: `given twice (also under an older spelling)` });
      job[k] = v;
    } else if (hasOwn(raw, to) || hasOwn(job, to)) {
      problems.push({ path: joinPath(path, k), message: `give either ${k} or ${to}, not both` });
    } else job[to] = v;
  }
  if (job['parallelism'] === 1) delete job['parallelism'];
  if (job['jobResourceNames'] !== undefined) job['jobResourceNames'] = resourceNames(job['jobResourceNames']);
  if (isObject(job['executable'])) {
    const exe: Obj = { ...job['executable'] };
    const t = exe['TYPE'];
    if (typeof t === 'string' && EXECUTABLE_ALIASES[t] !== undefined) exe['TYPE'] = EXECUTABLE_ALIASES[t];
    job['executable'] = exe;
  }
  if (job['returnCodeMeaning'] !== undefined) {
    if (isObject(job['executable'])) {
      if (job['executable']['returnCodeMeaning'] !== undefined) {
        problems.push({
          path: joinPath(path, 'returnCodeMeaning'),
          message: 'given both on the job and in its executable',
        });
      } else {
        job['executable'] = { ...job['executable'], returnCodeMeaning: job['returnCodeMeaning'] };
      }
      delete job['returnCodeMeaning'];
    }
  }
  return job;
}

const hasOwn = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Job resource names as JS7 writes them: a path like `/folder/name` names `name`. */
function resourceNames(raw: unknown): unknown {
  if (!Array.isArray(raw)) return raw;
  return raw.map((n: unknown) => (typeof n === 'string' && n.includes('/') ? lastSegment(n) : n));
}

// ---------------------------------------------------------------------------------------
// Export

function pretty(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** Adds an item's `title` and `documentationName` to `o` (next in its key order), where it has them. */
function putDescription(o: Obj, d: { title?: string; documentationName?: string }): void {
  if (d.title !== undefined) o['title'] = d.title;
  if (d.documentationName !== undefined) o['documentationName'] = d.documentationName;
}

export function lockToJs7(lock: LockDef): Obj {
  const o: Obj = { TYPE: 'Lock', limit: lock.limit };
  putDescription(o, lock);
  if (lock.keyed !== undefined) o['keyed'] = lock.keyed;
  if (lock.policy !== undefined) o['policy'] = lock.policy;
  return o;
}

export function exportLockJson(lock: LockDef): string {
  return pretty(lockToJs7(lock));
}

export function jobResourceToJs7(r: JobResourceDef): Obj {
  const o: Obj = { TYPE: 'JobResource' };
  putDescription(o, r);
  if (r.arguments !== undefined) o['arguments'] = { ...r.arguments };
  if (r.env !== undefined) o['env'] = { ...r.env };
  return o;
}

export function exportJobResourceJson(r: JobResourceDef): string {
  return pretty(jobResourceToJs7(r));
}

function blockToJs7(b: Block): Obj {
  return { instructions: b.instructions.map(instructionToJs7) };
}

/** A child order's workflow (of a Fork branch or a ForkList), with the result it gives its parent. */
function resultBlockToJs7(b: Block & { result?: Record<string, string> }): Obj {
  const w = blockToJs7(b);
  if (b.result !== undefined) w['result'] = { ...b.result };
  return w;
}

function demandToJs7(d: Demand): Obj {
  const o: Obj = { lockName: d.lockName };
  if (d.count !== undefined) o['count'] = d.count;
  if (d.key !== undefined) o['key'] = d.key;
  return o;
}

function instructionToJs7(i: Instruction): Obj {
  const o: Obj = { TYPE: i.TYPE };
  if (i.label !== undefined) o['label'] = i.label;
  switch (i.TYPE) {
    case 'Execute.Named':
      o['jobName'] = i.jobName;
      if (i.defaultArguments !== undefined) o['defaultArguments'] = { ...i.defaultArguments };
      break;
    case 'Execute.Anonymous':
      o['job'] = jobToJs7(i.job);
      if (i.defaultArguments !== undefined) o['defaultArguments'] = { ...i.defaultArguments };
      break;
    case 'Sleep':
      o['duration'] = i.duration;
      break;
    case 'Prompt':
      o['question'] = i.question;
      break;
    case 'Fork':
      o['branches'] = i.branches.map((b) => ({ id: b.id, workflow: resultBlockToJs7(b.workflow) }));
      if (i.joinIfFailed !== undefined) o['joinIfFailed'] = i.joinIfFailed;
      break;
    case 'PostNotices':
      o['noticeBoardNames'] = [...i.noticeBoardNames];
      break;
    case 'ExpectNotices':
      o['noticeBoardNames'] = i.noticeBoardNames;
      break;
    case 'ConsumeNotices':
      o['noticeBoardNames'] = i.noticeBoardNames;
      o['subworkflow'] = blockToJs7(i.subworkflow);
      break;
    case 'AddOrder':
      o['workflowName'] = i.workflowName;
      if (i.arguments !== undefined) o['arguments'] = { ...i.arguments };
      if (i.remainWhenTerminated !== undefined) o['remainWhenTerminated'] = i.remainWhenTerminated;
      if (i.deleteWhenTerminated !== undefined) o['deleteWhenTerminated'] = i.deleteWhenTerminated;
      break;
    case 'ForkList': {
      o['children'] = i.children;
      o['childToId'] = i.childToId;
      o['workflow'] = resultBlockToJs7(i.workflow);
      if (i.joinIfFailed !== undefined) o['joinIfFailed'] = i.joinIfFailed;
      if (i.agentName !== undefined) o['agentName'] = i.agentName;
      break;
    }
    case 'Cycle':
      o['schedule'] = {
        schemes: i.schedule.schemes.map((sc) => ({
          admissionTimeScheme: { periods: sc.admissionTimeScheme.periods.map((p) => ({ ...p })) },
          repeat: sc.repeat.TYPE === 'Periodic' ? { ...sc.repeat, offsets: [...sc.repeat.offsets] } : { ...sc.repeat },
        })),
      };
      o['cycleWorkflow'] = blockToJs7(i.cycleWorkflow);
      if (i.onlyOnePeriod !== undefined) o['onlyOnePeriod'] = i.onlyOnePeriod;
      break;
    case 'If':
      if (i.ifThens !== undefined) o['ifThens'] = i.ifThens.map((t) => ({ predicate: t.predicate, then: blockToJs7(t.then) }));
      if (i.predicate !== undefined) o['predicate'] = i.predicate;
      if (i.then !== undefined) o['then'] = blockToJs7(i.then);
      if (i.else !== undefined) o['else'] = blockToJs7(i.else);
      break;
    case 'StickySubagent':
      if (i.agentName !== undefined) o['agentName'] = i.agentName;
      if (i.subagentClusterIdExpr !== undefined) o['subagentClusterIdExpr'] = i.subagentClusterIdExpr;
      o['subworkflow'] = blockToJs7(i.subworkflow);
      break;
    case 'Lock':
      o['demands'] = i.demands.map(demandToJs7);
      if (i.waitTimeout !== undefined) o['waitTimeout'] = i.waitTimeout;
      o['lockedWorkflow'] = blockToJs7(i.lockedWorkflow);
      break;
    case 'Options':
      if (i.stopOnFailure !== undefined) o['stopOnFailure'] = i.stopOnFailure;
      o['block'] = blockToJs7(i.block);
      break;
    case 'Try':
      if (i.maxTries !== undefined) o['maxTries'] = i.maxTries;
      if (i.retryDelays !== undefined) o['retryDelays'] = [...i.retryDelays];
      o['try'] = blockToJs7(i.try);
      o['catch'] = blockToJs7(i.catch);
      break;
    case 'Retry':
    case 'Break':
      break;
    case 'Fail':
      if (i.message !== undefined) o['message'] = i.message;
      if (i.outcome !== undefined) o['outcome'] = { ...i.outcome };
      if (i.namedValues !== undefined) o['namedValues'] = { ...i.namedValues };
      if (i.uncatchable !== undefined) o['uncatchable'] = i.uncatchable;
      break;
    case 'Finish':
      if (i.message !== undefined) o['message'] = i.message;
      if (i.unsuccessful !== undefined) o['unsuccessful'] = i.unsuccessful;
      if (i.outcome !== undefined) {
        o['outcome'] = i.outcome.namedValues !== undefined ? { TYPE: i.outcome.TYPE, namedValues: { ...i.outcome.namedValues } } : { TYPE: i.outcome.TYPE };
      }
      break;
  }
  return o;
}

function returnCodeMeaningToJs7(m: ReturnCodeMeaning): Obj {
  const copy = (l: ReturnCodeList): unknown => (typeof l === 'string' ? l : l.map((x) => (Array.isArray(x) ? [...x] : x)));
  const o: Obj = {};
  if (m.success !== undefined) o['success'] = copy(m.success);
  if (m.failure !== undefined) o['failure'] = copy(m.failure);
  return o;
}

function executableToJs7(e: Executable): Obj {
  const ex: Obj = { TYPE: e.TYPE };
  switch (e.TYPE) {
    case 'ShellScriptExecutable':
      ex['script'] = e.script;
      break;
    case 'PathExecutable':
      ex['path'] = e.path;
      break;
    case 'CommandLineExecutable':
      ex['command'] = e.command;
      break;
    case 'FunctionExecutable':
      ex['functionName'] = e.functionName;
      break;
  }
  if (e.TYPE !== 'FunctionExecutable' && e.env !== undefined) ex['env'] = { ...e.env };
  if (e.returnCodeMeaning !== undefined) ex['returnCodeMeaning'] = returnCodeMeaningToJs7(e.returnCodeMeaning);
  if ((e.TYPE === 'ShellScriptExecutable' || e.TYPE === 'PathExecutable') && e.v1Compatible !== undefined) ex['v1Compatible'] = e.v1Compatible;
  return ex;
}

/** A job in JS7's inventory shape: every field the model holds, in a fixed order. */
function jobToJs7(j: Job): Obj {
  const o: Obj = {};
  const put = (k: string, v: unknown): void => {
    if (v !== undefined) o[k] = v;
  };
  put('title', j.title);
  put('documentationName', j.documentationName);
  put('agentName', j.agentName);
  put('subagentClusterId', j.subagentClusterId);
  put('subagentClusterIdExpr', j.subagentClusterIdExpr);
  put('withSubagentClusterIdExpr', j.withSubagentClusterIdExpr);
  o['executable'] = executableToJs7(j.executable);
  if (j.parallelism !== undefined && j.parallelism !== 1) o['parallelism'] = j.parallelism;
  put('timeout', j.timeout);
  put('graceTimeout', j.graceTimeout);
  put('failOnErrWritten', j.failOnErrWritten);
  put('warnOnErrWritten', j.warnOnErrWritten);
  put('criticality', j.criticality);
  if (j.defaultArguments !== undefined) o['defaultArguments'] = { ...j.defaultArguments };
  if (j.jobResourceNames !== undefined) o['jobResourceNames'] = [...j.jobResourceNames];
  put('restartable', j.restartable);
  put('isNotRestartable', j.isNotRestartable);
  if (j.admissionTimeScheme !== undefined) o['admissionTimeScheme'] = { periods: j.admissionTimeScheme.periods.map((p) => ({ ...p })) };
  put('skipIfNoAdmissionForOrderDay', j.skipIfNoAdmissionForOrderDay);
  put('killAtEndOfAdmissionPeriod', j.killAtEndOfAdmissionPeriod);
  return o;
}

export function workflowToJs7(wf: Workflow): Obj {
  const o: Obj = { TYPE: 'Workflow' };
  putDescription(o, wf);
  if (wf.timeZone !== undefined) o['timeZone'] = wf.timeZone;
  if (wf.orderPreparation !== undefined) o['orderPreparation'] = JSON.parse(JSON.stringify(wf.orderPreparation)) as unknown;
  if (wf.jobResourceNames !== undefined) o['jobResourceNames'] = [...wf.jobResourceNames];
  o['instructions'] = wf.instructions.map(instructionToJs7);
  const jobs: Obj = {};
  for (const [name, job] of Object.entries(wf.jobs)) jobs[name] = jobToJs7(job);
  o['jobs'] = jobs;
  return o;
}

export function exportWorkflowJson(wf: Workflow): string {
  return pretty(workflowToJs7(wf));
}
