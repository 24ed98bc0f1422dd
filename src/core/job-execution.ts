// What a job execution gets: its arguments and environment, evaluated from JS7 expressions,
// and the executable to run. Pure: the clock and the process environment come in.
//
// - Arguments: the job's `defaultArguments`, then the Execute instruction's, then the
//   order's own arguments (later wins). A default is an expression (`"'text'"`, `"1 + 2"`,
//   `"$other"`), evaluated with the order's arguments visible (and, for the instruction's,
//   the job's defaults); a number or boolean given in
//   the file is that value. A default that evaluates to `missing` is left out.
// - `env` of the executable: expressions evaluated with the arguments above visible.
// - Job resources (JS7 `jobResourceNames` of the job, then of the workflow; the first named
//   wins a name): their `arguments` are the lowest layer of the arguments (below the job's
//   `defaultArguments`), their `env` is put over the executable's `env` (as JS7 does: a job
//   resource's variable wins over the job's of the same name; `missing` removes it). A job
//   resource's expressions do not see the order's arguments (JS7: no order access); its `env`
//   sees its own `arguments`. Every expression of the job reads them as `JobResource:R:name`
//   or `jobResourceVariable('R', 'name')`.
// - `PathExecutable` and `CommandLineExecutable` run through the shell like a script.
// Values reach the job as text: numbers without a decimal point when whole (`3`), booleans
// as `true`/`false`, lists and objects as JSON.

import type { Scope, Value } from './expr/index.js';
import { describeExprProblem, evaluateText, MISSING, valueToString } from './expr/index.js';
import type { ArgumentValue, Executable, FunctionExecutable, Instruction, Job, JobResourceDef, Order, Outcome, ShellExecutable, Workflow } from './model.js';
import { branchBlock } from './positions.js';
import { joinPath } from './json-path.js';

export interface ExecutionInput {
  order: Pick<Order, 'id' | 'workflow' | 'arguments' | 'scheduledFor'>;
  workflow: Pick<Workflow, 'name' | 'timeZone' | 'jobResourceNames'>;
  jobName: string;
  /** Path of the job in the workflow document (default `jobs.<jobName>`). */
  jobPath?: string;
  job: Job;
  /** The Execute instruction's label and default arguments. */
  instruction: { label?: string | undefined; defaultArguments?: Record<string, ArgumentValue> | undefined };
  /** Path of the instruction in the workflow document, for problems (`instructions[2]`). */
  instructionPath: string;
  /** Now, ms. */
  now: number;
  /** The process environment (`env('NAME')`). */
  env?: (name: string) => string | undefined;
  /** The order's variables as typed values (declared parameters), when known. */
  typedVariable?: (name: string) => Value | undefined;
  /** Deployed job resources by name (those the job and workflow name, and those its expressions read). */
  jobResources?: ReadonlyMap<string, JobResourceDef>;
}

/** The job resources of a job: the job's own names, then the workflow's, each once. */
export function jobResourceNamesOf(job: Job, wf: Pick<Workflow, 'jobResourceNames'>): string[] {
  if (!job.jobResourceNames?.length && !wf.jobResourceNames?.length) return [];
  return [...new Set([...(job.jobResourceNames ?? []), ...(wf.jobResourceNames ?? [])])];
}

export interface PreparedExecution {
  arguments: Record<string, string>;
  env: Record<string, string>;
  /** The executable as the runtime runs it: a shell script or a function. */
  executable: ShellExecutable | FunctionExecutable;
}

export type Prepared = { ok: true; value: PreparedExecution } | { ok: false; message: string };

function literal(v: ArgumentValue): Value {
  return v;
}

/** Single-quotes a path for /bin/sh. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The executable as a shell script or a function. */
export function runnableExecutable(e: Executable): ShellExecutable | FunctionExecutable {
  switch (e.TYPE) {
    case 'ShellScriptExecutable':
    case 'FunctionExecutable':
      return e;
    case 'PathExecutable': {
      const r: ShellExecutable = { TYPE: 'ShellScriptExecutable', script: `#!/bin/sh\nexec ${shQuote(e.path)}\n` };
      if (e.returnCodeMeaning !== undefined) r.returnCodeMeaning = e.returnCodeMeaning;
      return r;
    }
    case 'CommandLineExecutable': {
      const r: ShellExecutable = { TYPE: 'ShellScriptExecutable', script: `#!/bin/sh\n${e.command}\n` };
      if (e.returnCodeMeaning !== undefined) r.returnCodeMeaning = e.returnCodeMeaning;
      return r;
    }
  }
}

/**
 * The value of an expression that is a plain literal, without the evaluator: `'text'` (one
 * quote each side, none inside, no CR) or a whole number of up to 15 digits. Undefined for
 * anything else (which goes through the evaluator, with the same result for these).
 */
export function plainLiteral(text: string): Value | undefined {
  const n = text.length;
  if (n >= 3 && text.charCodeAt(0) === 39 && text.charCodeAt(n - 1) === 39) {
    const inner = text.slice(1, -1);
    return inner.includes("'") || inner.includes('\r') ? undefined : inner;
  }
  if (n >= 1 && n <= 15 && /^[0-9]+$/.test(text)) return Number(text);
  return undefined;
}

function isEmpty(o: object | undefined): boolean {
  if (o === undefined) return true;
  for (const _ in o) return false;
  return true;
}

/**
 * Whether an execution of `job` has nothing to evaluate: no default arguments (the job's or the
 * instruction's), no job resources (the job's or the workflow's), no env. Its arguments are then
 * the order's, its env empty (what prepareExecution gives it). Depends on nothing of the order.
 */
export function nothingToEvaluate(job: Job, instruction: ExecutionInput['instruction'], workflow: Pick<Workflow, 'jobResourceNames'>): boolean {
  const exe = job.executable;
  return (
    isEmpty(job.defaultArguments) &&
    isEmpty(instruction.defaultArguments) &&
    !job.jobResourceNames?.length &&
    !workflow.jobResourceNames?.length &&
    (exe.TYPE === 'FunctionExecutable' || isEmpty(exe.env))
  );
}

/** Arguments and environment of one execution, or a problem naming the JSON path and the position in the expression. */
export function prepareExecution(input: ExecutionInput): Prepared {
  const { order, job } = input;
  if (nothingToEvaluate(job, input.instruction, input.workflow)) {
    return { ok: true, value: { arguments: { ...order.arguments }, env: {}, executable: runnableExecutable(job.executable) } };
  }
  // Paths and scopes are built only when needed: paths for a problem, scopes for an expression.
  const jobPath = (): string => input.jobPath ?? joinPath('jobs', input.jobName);
  let base: Scope | undefined;
  const baseScope = (): Scope =>
    (base ??= {
      orderId: order.id,
      workflowPath: input.workflow.name,
      label: input.instruction.label ?? '',
      jobName: input.jobName,
      now: input.now,
      ...(input.workflow.timeZone !== undefined ? { timeZone: input.workflow.timeZone } : {}),
      ...(order.scheduledFor !== undefined ? { scheduledFor: order.scheduledFor } : {}),
      ...(input.env !== undefined ? { env: input.env } : {}),
      jobResource,
    });
  const orderVariable = (name: string): Value | undefined =>
    input.typedVariable?.(name) ?? (Object.prototype.hasOwnProperty.call(order.arguments, name) ? order.arguments[name] : undefined);

  // Job resources: their arguments, evaluated once each, without the order's arguments.
  const resources = input.jobResources ?? new Map<string, JobResourceDef>();
  const resourceArgs = new Map<string, Map<string, Value> | string>();
  const argumentsOf = (name: string): Map<string, Value> | string => {
    let r = resourceArgs.get(name);
    if (r !== undefined) return r;
    const def = resources.get(name);
    const out = new Map<string, Value>();
    r = out;
    resourceArgs.set(name, r); // a resource reading itself sees what is evaluated so far
    for (const [k, given] of Object.entries(def?.arguments ?? {})) {
      if (typeof given !== 'string') {
        out.set(k, literal(given));
        continue;
      }
      const e = evaluateText(given, resourceScope());
      if (!e.ok) {
        r = `job resource ${name}: ${joinPath('arguments', k)}: ${describeExprProblem(e.problem, given)}`;
        resourceArgs.set(name, r);
        return r;
      }
      if (e.value !== MISSING) out.set(k, e.value);
    }
    return r;
  };
  let resourceProblem: string | undefined;
  const jobResource = (resource: string, name: string): Value | undefined => {
    if (!resources.has(resource)) return undefined;
    const a = argumentsOf(resource);
    if (typeof a === 'string') {
      resourceProblem ??= a;
      return undefined;
    }
    return a.get(name);
  };
  let resScope: Scope | undefined;
  const resourceScope = (): Scope => (resScope ??= { ...baseScope(), variable: () => undefined, jobResource });
  const named = jobResourceNamesOf(job, input.workflow);

  const merged: Record<string, string> = {};
  for (const name of named) {
    const a = argumentsOf(name);
    if (typeof a === 'string') return { ok: false, message: a };
    for (const [k, v] of a) if (!(k in merged) && !Object.prototype.hasOwnProperty.call(order.arguments, k)) merged[k] = valueToString(v);
  }

  const evaluatedDefaults = new Map<string, Value>();
  // The job's defaults see the order's arguments; the instruction's see the job's too.
  let defScope: Scope | undefined;
  const defaultsScope = (): Scope => (defScope ??= { ...baseScope(), variable: (name) => orderVariable(name) ?? evaluatedDefaults.get(name) });
  const applyDefaults = (defaults: Record<string, ArgumentValue> | undefined, path: () => string): string | undefined => {
    if (defaults === undefined) return undefined;
    for (const [name, given] of Object.entries(defaults)) {
      if (Object.prototype.hasOwnProperty.call(order.arguments, name)) continue;
      let v: Value;
      if (typeof given === 'string') {
        const plain = plainLiteral(given);
        if (plain !== undefined) v = plain;
        else {
          const r = evaluateText(given, defaultsScope());
          if (!r.ok) return `${joinPath(path(), name)}: ${resourceProblem ?? describeExprProblem(r.problem, given)}`;
          v = r.value;
        }
      } else v = literal(given);
      if (v === MISSING) {
        delete merged[name];
        evaluatedDefaults.delete(name);
        continue;
      }
      merged[name] = valueToString(v);
      evaluatedDefaults.set(name, v);
    }
    return undefined;
  };
  const jobProblem = applyDefaults(job.defaultArguments, () => joinPath(jobPath(), 'defaultArguments'));
  if (jobProblem !== undefined) return { ok: false, message: jobProblem };
  const instructionProblem = applyDefaults(input.instruction.defaultArguments, () => joinPath(input.instructionPath, 'defaultArguments'));
  if (instructionProblem !== undefined) return { ok: false, message: instructionProblem };
  for (const [k, v] of Object.entries(order.arguments)) merged[k] = v;

  const exe = job.executable;
  const env: Record<string, string> = {};
  if (exe.TYPE !== 'FunctionExecutable' && exe.env !== undefined) {
    let envScope: Scope | undefined;
    for (const [name, text] of Object.entries(exe.env)) {
      const plain = plainLiteral(text);
      if (plain !== undefined) {
        env[name] = valueToString(plain);
        continue;
      }
      const r = evaluateText(text, (envScope ??= { ...baseScope(), variable: (n) => orderVariable(n) ?? evaluatedDefaults.get(n) }));
      if (!r.ok) {
        const envPath = joinPath(joinPath(jobPath(), 'executable'), 'env');
        return { ok: false, message: `${joinPath(envPath, name)}: ${resourceProblem ?? describeExprProblem(r.problem, text)}` };
      }
      if (r.value !== MISSING) env[name] = valueToString(r.value);
    }
  }
  if (exe.TYPE !== 'FunctionExecutable') {
    // The job resources' env, the first named winning: over the executable's.
    const set = new Set<string>();
    for (const name of named) {
      const def = resources.get(name);
      const own = argumentsOf(name);
      if (typeof own === 'string') return { ok: false, message: own };
      const scope: Scope = { ...resourceScope(), variable: (n) => own.get(n) };
      for (const [k, text] of Object.entries(def?.env ?? {})) {
        if (set.has(k)) continue;
        set.add(k);
        const r = evaluateText(text, scope);
        if (!r.ok) return { ok: false, message: `job resource ${name}: ${joinPath('env', k)}: ${describeExprProblem(r.problem, text)}` };
        if (r.value === MISSING) delete env[k];
        else env[k] = valueToString(r.value);
      }
    }
  }
  return { ok: true, value: { arguments: merged, env, executable: runnableExecutable(exe) } };
}

/** The JSON path of the instruction at `pos` (`instructions[1].lockedWorkflow.instructions[0]`). */
export function positionPath(wf: Workflow, pos: readonly (number | string)[]): string {
  let path = '';
  let block: { instructions: readonly unknown[] } = wf;
  for (let i = 0; i < pos.length; i += 2) {
    const idx = pos[i];
    if (typeof idx !== 'number') return path;
    path = joinPath(joinPath(path, 'instructions'), idx);
    const branch = pos[i + 1];
    if (typeof branch !== 'string') return path;
    const instr = block.instructions[idx] as Instruction | undefined;
    const inner = instr === undefined ? undefined : branchBlock(instr, branch);
    if (instr === undefined || inner === undefined) return path;
    const key = Object.keys(instr).find((k) => (instr as unknown as Record<string, unknown>)[k] === inner);
    path = joinPath(path, key ?? branch);
    block = inner;
  }
  return path;
}

/**
 * `failOnErrWritten`: a succeeded execution that wrote to stderr fails; `warnOnErrWritten`:
 * it succeeds with a warning as its message.
 */
export function outcomeAfterStderr(job: Job, outcome: Outcome, stderrWritten: boolean): Outcome {
  if (!stderrWritten || outcome.type !== 'succeeded') return outcome;
  if (job.failOnErrWritten === true) {
    return { ...outcome, type: 'failed', reason: 'stderr-written', message: 'the job wrote to stderr (failOnErrWritten)' };
  }
  if (job.warnOnErrWritten === true) return { ...outcome, message: 'warning: the job wrote to stderr (warnOnErrWritten)' };
  return outcome;
}
