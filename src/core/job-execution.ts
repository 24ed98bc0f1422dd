// What a job execution gets: its arguments and environment, evaluated from JS7 expressions,
// and the executable to run. Pure: the clock and the process environment come in.
//
// - Arguments: the job's `defaultArguments`, then the Execute instruction's, then the
//   order's own arguments (later wins). A default is an expression (`"'text'"`, `"1 + 2"`,
//   `"$other"`), evaluated with the order's arguments visible (and, for the instruction's,
//   the job's defaults); a number or boolean given in
//   the file is that value. A default that evaluates to `missing` is left out.
// - `env` of the executable: expressions evaluated with the arguments above visible.
// - `PathExecutable` and `CommandLineExecutable` run through the shell like a script.
// Values reach the job as text: numbers without a decimal point when whole (`3`), booleans
// as `true`/`false`, lists and objects as JSON.

import type { Scope, Value } from './expr/index.js';
import { describeExprProblem, evaluateText, MISSING, valueToString } from './expr/index.js';
import type { ArgumentValue, Executable, FunctionExecutable, Instruction, Job, Order, Outcome, ShellExecutable, Workflow } from './model.js';
import { branchBlock } from './positions.js';
import { joinPath } from './json-path.js';

export interface ExecutionInput {
  order: Pick<Order, 'id' | 'workflow' | 'arguments' | 'scheduledFor'>;
  workflow: Pick<Workflow, 'name' | 'timeZone'>;
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

/** Arguments and environment of one execution, or a problem naming the JSON path and the position in the expression. */
export function prepareExecution(input: ExecutionInput): Prepared {
  const { order, job } = input;
  const jobPath = input.jobPath ?? joinPath('jobs', input.jobName);
  const baseScope: Scope = {
    orderId: order.id,
    workflowPath: input.workflow.name,
    label: input.instruction.label ?? '',
    jobName: input.jobName,
    now: input.now,
    ...(input.workflow.timeZone !== undefined ? { timeZone: input.workflow.timeZone } : {}),
    ...(order.scheduledFor !== undefined ? { scheduledFor: order.scheduledFor } : {}),
    ...(input.env !== undefined ? { env: input.env } : {}),
  };
  const orderVariable = (name: string): Value | undefined =>
    input.typedVariable?.(name) ?? (Object.prototype.hasOwnProperty.call(order.arguments, name) ? order.arguments[name] : undefined);

  const merged: Record<string, string> = {};
  const layers: [Record<string, ArgumentValue> | undefined, string][] = [
    [job.defaultArguments, joinPath(jobPath, 'defaultArguments')],
    [input.instruction.defaultArguments, joinPath(input.instructionPath, 'defaultArguments')],
  ];
  const evaluatedDefaults = new Map<string, Value>();
  // The job's defaults see the order's arguments; the instruction's see the job's too.
  const defaultsScope: Scope = { ...baseScope, variable: (name) => orderVariable(name) ?? evaluatedDefaults.get(name) };
  for (const [defaults, path] of layers) {
    if (defaults === undefined) continue;
    for (const [name, given] of Object.entries(defaults)) {
      if (Object.prototype.hasOwnProperty.call(order.arguments, name)) continue;
      let v: Value;
      if (typeof given === 'string') {
        const r = evaluateText(given, defaultsScope);
        if (!r.ok) return { ok: false, message: `${joinPath(path, name)}: ${describeExprProblem(r.problem, given)}` };
        v = r.value;
      } else v = literal(given);
      if (v === MISSING) {
        delete merged[name];
        evaluatedDefaults.delete(name);
        continue;
      }
      merged[name] = valueToString(v);
      evaluatedDefaults.set(name, v);
    }
  }
  for (const [k, v] of Object.entries(order.arguments)) merged[k] = v;

  const exe = job.executable;
  const env: Record<string, string> = {};
  if (exe.TYPE !== 'FunctionExecutable' && exe.env !== undefined) {
    const envScope: Scope = {
      ...baseScope,
      variable: (name) => orderVariable(name) ?? evaluatedDefaults.get(name),
    };
    const envPath = joinPath(joinPath(jobPath, 'executable'), 'env');
    for (const [name, text] of Object.entries(exe.env)) {
      const r = evaluateText(text, envScope);
      if (!r.ok) return { ok: false, message: `${joinPath(envPath, name)}: ${describeExprProblem(r.problem, text)}` };
      if (r.value !== MISSING) env[name] = valueToString(r.value);
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
