// Validation of lock definitions and workflows (semantics §3, §10). Pure: no I/O, no clock.
//
// Bad input is refused as a whole: every problem is collected as `{path, message}`, where
// `path` is a JSON path relative to the document (`instructions[1].lockedWorkflow
// .instructions[0].demands[0].count`, `jobs.job1.executable.script`; `$` is the document
// itself). A refused input yields no value at all. An accepted input yields a deep copy of
// the document exactly as given: defaults are NOT filled in, so export round-trips.
//
// Decisions where the spec is silent (see the report / docs):
// - Paths of demand-level problems ("demanded twice", "already held") point at the demand
//   (`...demands[1]`); an unknown lock points at `...demands[0].lockName`.
// - Nesting depth: top-level instructions are at depth 0; each block of a compound
//   instruction adds one. A block deeper than LIMITS.nestingDepthMax is refused and not
//   looked into.
// - `count` is checked against the lock's limit only when the limit is > 0 (a closed lock,
//   limit 0, may be opened later; nothing is granted meanwhile).
// - Two demands of one instruction for a keyed lock collide when their `key` strings are
//   equal (`$a` and `$b` may still collide at run time: checked then).
// - Retry is accepted anywhere below a `catch` block (also inside nested Lock/Options/Try).

import { envClashes, hasNul, NUL_TEXT } from './arguments.js';
import type { ProblemItem } from './commands.js';
import { isTimeZone, utf8Bytes } from './checks.js';
import type {
  Block,
  Demand,
  ExecuteAnonymous,
  ExecuteNamed,
  Executable,
  FailInstr,
  FinishInstr,
  CycleInstr,
  CyclePeriod,
  CycleRepeat,
  CycleScheme,
  ForkBranch,
  ForkInstr,
  ForkListInstr,
  AddOrderInstr,
  ConsumeNoticesInstr,
  ExpectNoticesInstr,
  NoticeBoardDef,
  PostNoticesInstr,
  IfInstr,
  IfThen,
  Instruction,
  Job,
  JobResourceDef,
  LockDef,
  LockInstr,
  NamedValues,
  OptionsInstr,
  PromptInstr,
  SleepInstr,
  StickySubagentInstr,
  QueuePolicy,
  ReturnCodeMeaning,
  TryInstr,
  Workflow,
} from './model.js';
import { LIMITS } from './model.js';
import { expressionProblem } from './instructions/expression.js';
import { describeExprProblem, parseExpression } from './expr/index.js';
import type { Expr } from './expr/ast.js';
import type { ArgumentValue, ReturnCodeList } from './model.js';
import { joinPath } from './json-path.js';
import { validateOrderPreparation } from './order-preparation.js';
import { returnCodeListText } from './return-code-list.js';
import { PERIOD_START_FIELD, startRange, WEEK_SECONDS, type AdmissionPeriod, type AdmissionTimeScheme } from './admission.js';

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: ProblemItem[] };

/** Names of locks, workflows and jobs. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const INSTRUCTION_TYPES = [
  'Execute.Named',
  'Execute.Anonymous',
  'Sleep',
  'Prompt',
  'StickySubagent',
  'If',
  'Fork',
  'ForkList',
  'AddOrder',
  'PostNotices',
  'ExpectNotices',
  'ConsumeNotices',
  'Cycle',
  'Break',
  'Lock',
  'Options',
  'Try',
  'Retry',
  'Fail',
  'Finish',
] as const;

// ---------------------------------------------------------------------------------------
// Paths and small checks

export { joinPath } from './json-path.js';

function rootPath(p: string): string {
  return p === '' ? '$' : p;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const hasOwn = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

export class Problems {
  readonly items: ProblemItem[] = [];

  add(path: string, message: string): void {
    this.items.push({ path: rootPath(path), message });
  }

  /** Each key of `o` not in `allowed` is a problem. */
  unknownKeys(o: Obj, base: string, allowed: ReadonlySet<string>, what: string): void {
    for (const k of Object.keys(o)) {
      if (!allowed.has(k)) this.add(joinPath(base, k), `unknown key (not part of ${what})`);
    }
  }

  object(v: unknown, path: string): Obj | undefined {
    if (isObject(v)) return v;
    this.add(path, v === undefined ? 'required' : 'must be an object');
    return undefined;
  }

  string(o: Obj, key: string, base: string, opts: { required?: boolean; max?: number; nonEmpty?: boolean; bytes?: boolean } = {}): string | undefined {
    const path = joinPath(base, key);
    if (!hasOwn(o, key) || o[key] === undefined) {
      if (opts.required) this.add(path, 'required');
      return undefined;
    }
    const v = o[key];
    if (typeof v !== 'string') {
      this.add(path, 'must be a string');
      return undefined;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.add(path, 'must not be empty');
      return undefined;
    }
    if (opts.max !== undefined) {
      const len = opts.bytes ? utf8Bytes(v) : v.length;
      if (len > opts.max) {
        this.add(path, `must be at most ${opts.max} ${opts.bytes ? 'bytes' : 'characters'} long`);
        return undefined;
      }
    }
    return v;
  }

  boolean(o: Obj, key: string, base: string): boolean | undefined {
    if (!hasOwn(o, key) || o[key] === undefined) return undefined;
    const v = o[key];
    if (typeof v !== 'boolean') {
      this.add(joinPath(base, key), 'must be true or false');
      return undefined;
    }
    return v;
  }

  /** A finite number in [min, max]; `whole` requires an integer; `exclusiveMin` makes min exclusive. */
  number(
    o: Obj,
    key: string,
    base: string,
    range: { min: number; max: number; whole?: boolean; exclusiveMin?: boolean; required?: boolean },
  ): number | undefined {
    const path = joinPath(base, key);
    if (!hasOwn(o, key) || o[key] === undefined) {
      if (range.required) this.add(path, 'required');
      return undefined;
    }
    const v = o[key];
    const bad =
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      (range.whole === true && !Number.isInteger(v)) ||
      (range.exclusiveMin ? v <= range.min : v < range.min) ||
      v > range.max;
    if (bad) {
      this.add(path, numberMessage(range));
      return undefined;
    }
    return v;
  }

  name(v: unknown, path: string, what: string): string | undefined {
    if (typeof v !== 'string') {
      this.add(path, v === undefined ? 'required' : 'must be a string');
      return undefined;
    }
    const msg = nameProblem(v, what);
    if (msg) {
      this.add(path, msg);
      return undefined;
    }
    return v;
  }

  /** A map of string → string, e.g. defaultArguments. */
  stringMap(o: Obj, key: string, base: string, keyCheck: (k: string) => string | undefined, opts: { envClashes?: boolean } = {}): Record<string, string> | undefined {
    if (!hasOwn(o, key) || o[key] === undefined) return undefined;
    const path = joinPath(base, key);
    const m = o[key];
    if (!isObject(m)) {
      this.add(path, 'must be an object of strings');
      return undefined;
    }
    const keys = Object.keys(m);
    if (keys.length > LIMITS.argumentsMax) {
      this.add(path, `must have at most ${LIMITS.argumentsMax} entries`);
      return undefined;
    }
    const out: Record<string, string> = {};
    let ok = true;
    for (const k of keys) {
      const kp = joinPath(path, k);
      const kmsg = keyCheck(k);
      if (kmsg) {
        this.add(kp, kmsg);
        ok = false;
        continue;
      }
      const v = this.string(m, k, path, { required: true, max: LIMITS.argumentValueBytesMax, bytes: true });
      if (v === undefined) ok = false;
      else if (hasNul(v)) {
        this.add(kp, NUL_TEXT);
        ok = false;
      } else out[k] = v;
    }
    if (opts.envClashes) {
      for (const c of envClashes(keys, (k) => joinPath(path, k))) {
        this.add(c.path, c.message);
        ok = false;
      }
    }
    return ok ? out : undefined;
  }
}

/** Why `text` is not a valid JS7 expression (the message names the position), or undefined. */
function notAnExpression(text: string): string | undefined {
  const m = expressionProblem(text);
  return m === undefined ? undefined : `not a valid expression: ${m}`;
}

/** A map of names to expressions (`env`): each value a string that parses as an expression. */
function expressionMap(p: Problems, o: Obj, key: string, base: string, keyCheck: (k: string) => string | undefined): Record<string, string> | undefined {
  const m = p.stringMap(o, key, base, keyCheck);
  if (m === undefined) return undefined;
  let ok = true;
  for (const [k, v] of Object.entries(m)) {
    const msg = notAnExpression(v);
    if (msg) {
      p.add(joinPath(joinPath(base, key), k), msg);
      ok = false;
    }
  }
  return ok ? m : undefined;
}

/**
 * `defaultArguments`: names to values, each a string holding an expression (`"'text'"`,
 * `"1 + 2"`) or, as older JS7 files write them, a number or a boolean.
 */
export function argumentMap(p: Problems, o: Obj, key: string, base: string): Record<string, ArgumentValue> | undefined {
  if (!hasOwn(o, key) || o[key] === undefined) return undefined;
  const path = joinPath(base, key);
  const m = o[key];
  if (!isObject(m)) {
    p.add(path, 'must be an object of expressions');
    return undefined;
  }
  const keys = Object.keys(m);
  if (keys.length > LIMITS.argumentsMax) {
    p.add(path, `must have at most ${LIMITS.argumentsMax} entries`);
    return undefined;
  }
  const out: Record<string, ArgumentValue> = {};
  let ok = true;
  for (const k of keys) {
    const kp = joinPath(path, k);
    const kmsg = argNameProblem(k);
    const v = m[k];
    let msg: string | undefined = kmsg;
    if (msg === undefined) {
      if (typeof v === 'number') msg = Number.isFinite(v) ? undefined : 'must be a finite number';
      else if (typeof v === 'boolean') msg = undefined;
      else if (typeof v !== 'string') msg = 'must be a string (an expression), a number or a boolean';
      else if (utf8Bytes(v) > LIMITS.argumentValueBytesMax) msg = `must be at most ${LIMITS.argumentValueBytesMax} bytes long`;
      else if (hasNul(v)) msg = NUL_TEXT;
      else msg = notAnExpression(v);
    }
    if (msg !== undefined) {
      p.add(kp, msg);
      ok = false;
    } else out[k] = v as ArgumentValue;
  }
  for (const c of envClashes(keys, (k) => joinPath(path, k))) {
    p.add(c.path, c.message);
    ok = false;
  }
  return ok ? out : undefined;
}

function numberMessage(r: { min: number; max: number; whole?: boolean; exclusiveMin?: boolean }): string {
  const kind = r.whole ? 'a whole number' : 'a number';
  if (r.exclusiveMin) return `must be ${kind} > ${r.min} and ≤ ${r.max}`;
  return `must be ${kind} between ${r.min} and ${r.max}`;
}

/** Why `s` is not a valid name of a lock, workflow or job (undefined when it is). */
export function nameProblem(s: string, what = 'name'): string | undefined {
  if (s.length === 0) return `${what} must not be empty`;
  if (s.length > LIMITS.nameLengthMax) return `${what} must be at most ${LIMITS.nameLengthMax} characters long`;
  if (!NAME_PATTERN.test(s)) return `${what} may contain only letters, digits, '_', '.' and '-'`;
  return undefined;
}

function argNameProblem(k: string): string | undefined {
  if (k.length === 0) return 'argument name must not be empty';
  if (k.length > LIMITS.nameLengthMax) return `argument name must be at most ${LIMITS.nameLengthMax} characters long`;
  return undefined;
}

function envNameProblem(k: string): string | undefined {
  return ENV_NAME_PATTERN.test(k) ? undefined : 'not a valid environment variable name (letters, digits, _; not starting with a digit)';
}

const RC_ITEM = /^\s*(-?\d{1,10})\s*(?:\.\.\s*(-?\d{1,10})\s*)?$/;

/** Why `s` is not a valid return code list like `0,3..5` (undefined when it is). */
export function returnCodeSpecProblem(s: string): string | undefined {
  if (s.trim() === '') return 'empty return code list';
  for (const part of s.split(',')) {
    const m = RC_ITEM.exec(part);
    if (!m) return `bad return code item ${JSON.stringify(part.trim())} (expected N or A..B)`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b) return `empty return code range ${JSON.stringify(part.trim())} (${a} > ${b})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Locks

const LOCK_KEYS = new Set(['TYPE', 'name', 'limit', 'title', 'documentationName', 'keyed', 'policy']);

export function validateLockDef(raw: unknown, name?: string): Validated<LockDef> {
  const p = new Problems();
  if (!isObject(raw)) {
    p.add('$', 'a lock must be a JSON object');
    return { ok: false, problems: p.items };
  }
  p.unknownKeys(raw, '', LOCK_KEYS, 'a lock');
  if (hasOwn(raw, 'TYPE') && raw['TYPE'] !== 'Lock') p.add('TYPE', `must be "Lock"`);

  let lockName: string | undefined;
  if (hasOwn(raw, 'name')) {
    lockName = p.name(raw['name'], 'name', 'lock name');
    if (lockName !== undefined && name !== undefined && lockName !== name) {
      p.add('name', `is ${JSON.stringify(lockName)} but the lock is named ${JSON.stringify(name)}`);
      lockName = undefined;
    }
  } else if (name !== undefined) {
    lockName = p.name(name, 'name', 'lock name');
  } else {
    p.add('name', 'required');
  }

  const limit = p.number(raw, 'limit', '', { min: 0, max: LIMITS.lockLimitMax, whole: true });
  const title = p.string(raw, 'title', '', { max: LIMITS.messageLengthMax });
  const documentationName = p.string(raw, 'documentationName', '', { max: LIMITS.messageLengthMax });
  const keyed = p.boolean(raw, 'keyed', '');
  let policy: QueuePolicy | undefined;
  if (hasOwn(raw, 'policy') && raw['policy'] !== undefined) {
    const v = raw['policy'];
    if (v === 'fifo' || v === 'greedy') policy = v;
    else p.add('policy', 'must be "fifo" or "greedy"');
  }

  if (p.items.length > 0 || lockName === undefined) return { ok: false, problems: p.items };
  const value: LockDef = { name: lockName, limit: limit ?? 1 };
  if (title !== undefined) value.title = title;
  if (documentationName !== undefined) value.documentationName = documentationName;
  if (keyed !== undefined) value.keyed = keyed;
  if (policy !== undefined) value.policy = policy;
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------
// Workflows

export interface WorkflowContext {
  /** Locks a workflow may demand (deployed ones plus those deployed together with it). */
  locks: ReadonlyMap<string, LockDef>;
  /** Job resources a workflow and its jobs may name (deployed ones plus those deployed with it); absent = none. */
  jobResources?: ReadonlyMap<string, JobResourceDef> | undefined;
  /** false: do not hold demand counts against limits (re-checking deployed workflows after a
   * lock's limit was lowered: that affects later grants only, and such orders fail at the Lock). */
  checkCounts?: boolean;
  /** A workflow Orderly generated for a job config: its name is `jobconfig:<job config id>`
   * (the reserved namespace), which no deployed workflow may have. */
  generated?: boolean;
  /** Notice boards the notice instructions may name (deployed ones plus those deployed together); unchecked when absent. */
  boards?: ReadonlySet<string>;
  /** Workflows an AddOrder may name (deployed ones plus those deployed together); unchecked when absent. */
  workflows?: ReadonlySet<string>;
}

const GENERATED_NAME_PATTERN = /^jobconfig:[A-Za-z0-9_.-]{1,128}$/;

/** AddOrder fields JS7 defines that Orderly refuses, with the reason. */
const ADD_ORDER_REFUSED: Readonly<Record<string, string>> = {
  startPosition: 'not supported: the added order starts at the beginning of its workflow',
  endPositions: 'not supported: the added order runs to the end of its workflow',
  stopPositions: 'not supported: the added order runs to the end of its workflow',
  blockPosition: 'not supported: the added order runs its whole workflow',
  forceJobAdmission: "not supported: the added order's jobs keep their admission times",
  orderId: "not supported: the added order's id is Orderly's (#<date>#D<NN>-<adding order>)",
  workflowPath: "not supported: JS7's engine spelling; give workflowName",
  innerBlock: 'not supported: the added order runs its whole workflow',
};

const WORKFLOW_KEYS = new Set(['TYPE', 'name', 'title', 'documentationName', 'timeZone', 'orderPreparation', 'jobResourceNames', 'instructions', 'jobs']);
const BLOCK_KEYS = new Set(['instructions']);
const INSTRUCTION_KEYS: Record<Instruction['TYPE'], ReadonlySet<string>> = {
  'Execute.Named': new Set(['TYPE', 'label', 'jobName', 'defaultArguments']),
  'Execute.Anonymous': new Set(['TYPE', 'label', 'job', 'defaultArguments']),
  Sleep: new Set(['TYPE', 'label', 'duration']),
  Prompt: new Set(['TYPE', 'label', 'question']),
  StickySubagent: new Set(['TYPE', 'label', 'agentName', 'subagentClusterIdExpr', 'subworkflow']),
  If: new Set(['TYPE', 'label', 'predicate', 'then', 'ifThens', 'else']),
  Fork: new Set(['TYPE', 'label', 'branches', 'joinIfFailed']),
  ForkList: new Set(['TYPE', 'label', 'children', 'childToId', 'workflow', 'joinIfFailed', 'agentName', 'childToArguments', 'subagentClusterId', 'subagentClusterIdExpr', 'subagentIdVariable']),
  AddOrder: new Set(['TYPE', 'label', 'workflowName', 'arguments', 'remainWhenTerminated', 'deleteWhenTerminated', ...Object.keys(ADD_ORDER_REFUSED)]),
  PostNotices: new Set(['TYPE', 'label', 'noticeBoardNames']),
  ExpectNotices: new Set(['TYPE', 'label', 'noticeBoardNames']),
  ConsumeNotices: new Set(['TYPE', 'label', 'noticeBoardNames', 'subworkflow']),
  Cycle: new Set(['TYPE', 'label', 'schedule', 'cycleWorkflow', 'onlyOnePeriod']),
  Break: new Set(['TYPE', 'label']),
  Lock: new Set(['TYPE', 'label', 'demands', 'lockedWorkflow', 'waitTimeout']),
  Options: new Set(['TYPE', 'label', 'stopOnFailure', 'block']),
  Try: new Set(['TYPE', 'label', 'maxTries', 'retryDelays', 'try', 'catch']),
  Retry: new Set(['TYPE', 'label']),
  Fail: new Set(['TYPE', 'label', 'message', 'outcome', 'namedValues', 'uncatchable']),
  Finish: new Set(['TYPE', 'label', 'message', 'unsuccessful', 'outcome']),
};
const FINISH_OUTCOME_KEYS = new Set(['TYPE', 'namedValues']);
const IF_THEN_KEYS = new Set(['predicate', 'then']);
const BRANCH_KEYS = new Set(['id', 'workflow']);
const BRANCH_WORKFLOW_KEYS = new Set(['instructions', 'result']);
const DEMAND_KEYS = new Set(['lockName', 'count', 'key']);
const SCHEDULE_KEYS = new Set(['schemes']);
const SCHEME_KEYS = new Set(['admissionTimeScheme', 'repeat']);
const ADMISSION_KEYS = new Set(['periods']);
const PERIOD_KEYS: Readonly<Record<CyclePeriod['TYPE'], ReadonlySet<string>>> = {
  DailyPeriod: new Set(['TYPE', 'secondOfDay', 'duration']),
  WeekdayPeriod: new Set(['TYPE', 'secondOfWeek', 'duration']),
};
/** JS7 period types a Cycle does not take yet. */
const REFUSED_PERIODS = new Set(['MonthlyDatePeriod', 'MonthlyLastDatePeriod', 'MonthlyWeekdayPeriod', 'MonthlyLastWeekdayPeriod', 'SpecificDatePeriod']);
const REPEAT_KEYS: Readonly<Record<CycleRepeat['TYPE'], ReadonlySet<string>>> = {
  Periodic: new Set(['TYPE', 'period', 'offsets']),
  Ticking: new Set(['TYPE', 'interval']),
  Continuous: new Set(['TYPE', 'pause', 'limit']),
};
const OUTCOME_KEYS = new Set(['returnCode']);
const JOB_KEYS = new Set([
  'executable',
  'agentName',
  'subagentClusterId',
  'subagentClusterIdExpr',
  'withSubagentClusterIdExpr',
  'parallelism',
  'timeout',
  'graceTimeout',
  'defaultArguments',
  'restartable',
  'isNotRestartable',
  'failOnErrWritten',
  'warnOnErrWritten',
  'title',
  'documentationName',
  'criticality',
  'admissionTimeScheme',
  'skipIfNoAdmissionForOrderDay',
  'killAtEndOfAdmissionPeriod',
  'jobResourceNames',
]);
/** Job fields JS7 defines that Orderly refuses, with the reason. */
const UNSUPPORTED_JOB_KEYS: Readonly<Record<string, string>> = {
  warnIfShorter: 'execution-time warnings are not implemented',
  warnIfLonger: 'execution-time warnings are not implemented',
  notification: 'notifications are not implemented',
  jobTemplate: 'job templates of JOC Cockpit are not implemented',
  jobClass: 'job classes are not implemented',
};
const JOB_KEYS_AND_REFUSED = new Set([...JOB_KEYS, ...Object.keys(UNSUPPORTED_JOB_KEYS)]);
const CRITICALITIES = new Set(['MINOR', 'NORMAL', 'CRITICAL']);
const EXECUTABLE_KEYS: Readonly<Record<string, readonly string[]>> = {
  ShellScriptExecutable: ['TYPE', 'script', 'env', 'returnCodeMeaning'],
  PathExecutable: ['TYPE', 'path', 'env', 'returnCodeMeaning'],
  CommandLineExecutable: ['TYPE', 'command', 'env', 'returnCodeMeaning'],
  FunctionExecutable: ['TYPE', 'functionName', 'returnCodeMeaning'],
};
const RCM_KEYS = new Set(['success', 'failure']);

interface Scope {
  depth: number;
  /** Somewhere below a catch block. */
  inCatch: boolean;
  /** Non-keyed locks demanded by enclosing Lock blocks → path of the outermost such Lock. */
  held: ReadonlyMap<string, string>;
  /** Somewhere in the block of a Cycle (of this order: a Fork branch starts anew). */
  inCycle?: boolean;
}

class WorkflowChecker {
  readonly p = new Problems();
  private count = 0;
  private tooMany = false;
  private readonly labels = new Map<string, string>();
  /** Execute.Named jobName references, checked once the jobs are known. */
  readonly jobRefs: Array<{ jobName: string; path: string }> = [];

  constructor(private readonly ctx: WorkflowContext) {}

  block(raw: unknown, path: string, scope: Scope, what: string): Block | undefined {
    if (scope.depth > LIMITS.nestingDepthMax) {
      this.p.add(path, `nesting deeper than ${LIMITS.nestingDepthMax} levels`);
      return undefined;
    }
    const o = this.p.object(raw, path);
    if (!o) return undefined;
    this.p.unknownKeys(o, path, BLOCK_KEYS, what);
    const instructions = this.instructions(o['instructions'], joinPath(path, 'instructions'), scope);
    return instructions && { instructions };
  }

  instructions(raw: unknown, path: string, scope: Scope): Instruction[] | undefined {
    if (!Array.isArray(raw)) {
      this.p.add(path, raw === undefined ? 'required' : 'must be an array of instructions');
      return undefined;
    }
    const out: Instruction[] = [];
    let ok = true;
    raw.forEach((item: unknown, i) => {
      if (this.tooMany) return;
      this.count++;
      if (this.count > LIMITS.instructionsMax) {
        this.tooMany = true;
        return;
      }
      const instr = this.instruction(item, joinPath(path, i), scope);
      if (instr) out.push(instr);
      else ok = false;
    });
    return ok ? out : undefined;
  }

  finish(): void {
    if (this.tooMany) this.p.add('instructions', `more than ${LIMITS.instructionsMax} instructions in the workflow`);
  }

  private instruction(raw: unknown, path: string, scope: Scope): Instruction | undefined {
    const p = this.p;
    const o = p.object(raw, path);
    if (!o) return undefined;
    const before = p.items.length;
    const label = p.string(o, 'label', path, { nonEmpty: true, max: LIMITS.nameLengthMax });
    if (label !== undefined) {
      const first = this.labels.get(label);
      if (first !== undefined) p.add(joinPath(path, 'label'), `duplicate label ${JSON.stringify(label)} (also at ${first})`);
      else this.labels.set(label, path);
    }
    const type = o['TYPE'];
    if (typeof type !== 'string') {
      p.add(joinPath(path, 'TYPE'), type === undefined ? 'required' : 'must be a string');
      return undefined;
    }
    if (!(INSTRUCTION_TYPES as readonly string[]).includes(type)) {
      p.add(joinPath(path, 'TYPE'), `unknown instruction type ${JSON.stringify(type)}`);
      return undefined;
    }
    const t = type as Instruction['TYPE'];
    p.unknownKeys(o, path, INSTRUCTION_KEYS[t], `a${t === 'Execute.Named' || t === 'Options' ? 'n' : ''} ${t} instruction`);

    const withLabel = <T extends Instruction>(i: T): T => {
      if (label !== undefined) i.label = label;
      return i;
    };
    const inner: Scope = { ...scope, depth: scope.depth + 1 };

    let result: Instruction | undefined;
    switch (t) {
      case 'Execute.Named': {
        const jobName = p.string(o, 'jobName', path, { required: true, nonEmpty: true });
        if (jobName !== undefined) this.jobRefs.push({ jobName, path: joinPath(path, 'jobName') });
        const defaultArguments = argumentMap(p, o, 'defaultArguments', path);
        if (jobName !== undefined) {
          const i: ExecuteNamed = withLabel<ExecuteNamed>({ TYPE: 'Execute.Named', jobName });
          if (defaultArguments !== undefined) i.defaultArguments = defaultArguments;
          result = i;
        }
        break;
      }
      case 'Execute.Anonymous': {
        const job = this.job(o['job'], joinPath(path, 'job'));
        const defaultArguments = argumentMap(p, o, 'defaultArguments', path);
        if (job) {
          const i: ExecuteAnonymous = withLabel<ExecuteAnonymous>({ TYPE: 'Execute.Anonymous', job });
          if (defaultArguments !== undefined) i.defaultArguments = defaultArguments;
          result = i;
        }
        break;
      }
      case 'Sleep': {
        const raw = o['duration'];
        const duration = typeof raw === 'number' ? p.number(o, 'duration', path, { min: 0, max: LIMITS.sleepSecondsMax }) : this.expression(o, 'duration', path, true);
        if (duration !== undefined) {
          const literal = Number(duration);
          if (typeof duration === 'string' && duration.trim() !== '' && Number.isFinite(literal) && (literal < 0 || literal > LIMITS.sleepSecondsMax)) {
            p.add(joinPath(path, 'duration'), numberMessage({ min: 0, max: LIMITS.sleepSecondsMax }) + ' (seconds)');
          } else result = withLabel<SleepInstr>({ TYPE: 'Sleep', duration });
        }
        break;
      }
      case 'Prompt': {
        const question = this.expression(o, 'question', path, true);
        if (question !== undefined) result = withLabel<PromptInstr>({ TYPE: 'Prompt', question });
        break;
      }
      case 'StickySubagent': {
        const agentName = p.string(o, 'agentName', path, { nonEmpty: true, max: LIMITS.nameLengthMax });
        // Not evaluated: one node is one subagent cluster.
        const expr = this.expression(o, 'subagentClusterIdExpr', path, false, false);
        const block = this.block(o['subworkflow'], joinPath(path, 'subworkflow'), inner, 'a StickySubagent block');
        if (block) {
          const i: StickySubagentInstr = withLabel<StickySubagentInstr>({ TYPE: 'StickySubagent', subworkflow: block });
          if (agentName !== undefined) i.agentName = agentName;
          if (expr !== undefined) i.subagentClusterIdExpr = expr;
          result = i;
        }
        break;
      }
      case 'If': {
        const i: IfInstr = withLabel<IfInstr>({ TYPE: 'If' });
        let ok = true;
        const old = hasOwn(o, 'predicate') || hasOwn(o, 'then');
        if (hasOwn(o, 'ifThens') && old) {
          p.add(joinPath(path, 'predicate'), 'give either ifThens or predicate and then, not both');
          ok = false;
        } else if (hasOwn(o, 'ifThens')) {
          const lp = joinPath(path, 'ifThens');
          const raw = o['ifThens'];
          if (!Array.isArray(raw) || raw.length === 0) {
            p.add(lp, 'must be a non-empty array of {predicate, then}');
            ok = false;
          } else if (raw.length > LIMITS.demandsPerLockMax * 4) {
            p.add(lp, `must have at most ${LIMITS.demandsPerLockMax * 4} entries`);
            ok = false;
          } else {
            const list: IfThen[] = [];
            raw.forEach((item: unknown, n) => {
              const ip = joinPath(lp, n);
              const it = p.object(item, ip);
              if (!it) return;
              p.unknownKeys(it, ip, IF_THEN_KEYS, 'an ifThens entry');
              const predicate = this.expression(it, 'predicate', ip, true);
              const block = this.block(it['then'], joinPath(ip, 'then'), inner, 'a then block');
              if (predicate !== undefined && block) list.push({ predicate, then: block });
            });
            if (list.length === raw.length) i.ifThens = list;
            else ok = false;
          }
        } else {
          const predicate = this.expression(o, 'predicate', path, true);
          const block = this.block(o['then'], joinPath(path, 'then'), inner, 'a then block');
          if (predicate !== undefined && block) {
            i.predicate = predicate;
            i.then = block;
          } else ok = false;
        }
        if (hasOwn(o, 'else') && o['else'] !== undefined) {
          const block = this.block(o['else'], joinPath(path, 'else'), inner, 'an else block');
          if (block) i.else = block;
          else ok = false;
        }
        if (ok) result = i;
        break;
      }
      case 'Fork': {
        const joinIfFailed = p.boolean(o, 'joinIfFailed', path);
        const bp = joinPath(path, 'branches');
        const raw = o['branches'];
        if (!Array.isArray(raw) || raw.length === 0) {
          p.add(bp, raw === undefined ? 'required' : 'must be a non-empty array of {id, workflow}');
          break;
        }
        if (raw.length > LIMITS.forkBranchesMax) {
          p.add(bp, `must have at most ${LIMITS.forkBranchesMax} branches`);
          break;
        }
        const branches: ForkBranch[] = [];
        const ids = new Map<string, number>();
        const results = new Map<string, string>();
        raw.forEach((item: unknown, n) => {
          const ip = joinPath(bp, n);
          const b = p.object(item, ip);
          if (!b) return;
          p.unknownKeys(b, ip, BRANCH_KEYS, 'a Fork branch');
          const id = p.name(b['id'], joinPath(ip, 'id'), 'branch id');
          if (id !== undefined) {
            const first = ids.get(id);
            if (first !== undefined) p.add(joinPath(ip, 'id'), `branch id ${id} is given twice (also branches[${first}])`);
            else ids.set(id, n);
          }
          const wp = joinPath(ip, 'workflow');
          const w = p.object(b['workflow'], wp);
          if (!w) return;
          p.unknownKeys(w, wp, BRANCH_WORKFLOW_KEYS, 'a Fork branch workflow');
          // A branch is another order: a Retry in it cannot reach a catch block around the Fork.
          const instructions = this.instructions(w['instructions'], joinPath(wp, 'instructions'), { ...inner, inCatch: false, inCycle: false });
          let result: Record<string, string> | undefined;
          if (hasOwn(w, 'result') && w['result'] !== undefined) {
            const rp = joinPath(wp, 'result');
            const m = p.object(w['result'], rp);
            if (m) {
              result = {};
              for (const k of Object.keys(m)) {
                const msg = argNameProblem(k);
                if (msg) p.add(joinPath(rp, k), msg);
                else {
                  const other = results.get(k);
                  if (other !== undefined && other !== id) p.add(joinPath(rp, k), `result ${k} is also given by branch ${other}`);
                  else if (id !== undefined) results.set(k, id);
                  const v = this.expression(m, k, rp, true);
                  if (v !== undefined) result[k] = v;
                }
              }
            }
          }
          if (id !== undefined && instructions) {
            const workflow: ForkBranch['workflow'] = { instructions };
            if (result !== undefined) workflow.result = result;
            branches.push({ id, workflow });
          }
        });
        if (branches.length === raw.length) {
          const i: ForkInstr = withLabel<ForkInstr>({ TYPE: 'Fork', branches });
          if (joinIfFailed !== undefined) i.joinIfFailed = joinIfFailed;
          result = i;
        }
        break;
      }
      case 'ForkList': {
        const joinIfFailed = p.boolean(o, 'joinIfFailed', path);
        const agentName = p.string(o, 'agentName', path, { nonEmpty: true, max: LIMITS.nameLengthMax });
        for (const k of ['subagentClusterId', 'subagentClusterIdExpr', 'subagentIdVariable']) {
          if (o[k] !== undefined) p.add(joinPath(path, k), 'not supported: forking over the subagents of a cluster (one node is one subagent)');
        }
        if (o['childToArguments'] !== undefined) {
          p.add(joinPath(path, 'childToArguments'), "not supported: JS7's engine form; each child gets its element's fields as arguments (JOC Cockpit's form)");
        }
        const children = p.string(o, 'children', path, { required: true, nonEmpty: true, max: LIMITS.messageLengthMax });
        if (children !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(children)) {
          const msg = expressionProblem(children);
          if (msg) p.add(joinPath(path, 'children'), `must name a List argument or be an expression giving a list: ${msg}`);
        }
        const childToId = p.string(o, 'childToId', path, { required: true, nonEmpty: true, max: LIMITS.nameLengthMax });
        if (childToId !== undefined && childToId.includes('=>')) {
          p.add(joinPath(path, 'childToId'), "not supported: a function (JS7's engine form); give the name of the elements' field that names each child");
        }
        const wp = joinPath(path, 'workflow');
        const w = p.object(o['workflow'], wp);
        let workflow: ForkListInstr['workflow'] | undefined;
        if (w) {
          p.unknownKeys(w, wp, BRANCH_WORKFLOW_KEYS, 'a ForkList workflow');
          // The children are other orders: Retry and Break cannot reach around the ForkList.
          const instructions = this.instructions(w['instructions'], joinPath(wp, 'instructions'), { ...inner, inCatch: false, inCycle: false });
          const result = this.resultMap(w, wp);
          if (instructions) workflow = result === undefined ? { instructions } : { instructions, result };
        }
        if (children !== undefined && childToId !== undefined && workflow) {
          const i: ForkListInstr = withLabel<ForkListInstr>({ TYPE: 'ForkList', children, childToId, workflow });
          if (joinIfFailed !== undefined) i.joinIfFailed = joinIfFailed;
          if (agentName !== undefined) i.agentName = agentName;
          result = i;
        }
        break;
      }
      case 'PostNotices': {
        const np = joinPath(path, 'noticeBoardNames');
        const raw = o['noticeBoardNames'];
        if (!Array.isArray(raw) || raw.length === 0 || raw.length > LIMITS.demandsPerLockMax) {
          p.add(np, raw === undefined ? 'required' : `must be a non-empty array of at most ${LIMITS.demandsPerLockMax} notice board names`);
          break;
        }
        const names: string[] = [];
        raw.forEach((n: unknown, k) => {
          const name = p.name(n, joinPath(np, k), 'notice board name');
          if (name === undefined) return;
          if (names.includes(name)) p.add(joinPath(np, k), `notice board ${name} is given twice`);
          else if (this.ctx.boards && !this.ctx.boards.has(name)) p.add(joinPath(np, k), `notice board ${name} is not deployed (nor deployed with this workflow)`);
          names.push(name);
        });
        result = withLabel<PostNoticesInstr>({ TYPE: 'PostNotices', noticeBoardNames: names });
        break;
      }
      case 'ExpectNotices':
      case 'ConsumeNotices': {
        const np = joinPath(path, 'noticeBoardNames');
        const text = p.string(o, 'noticeBoardNames', path, { required: true, nonEmpty: true, max: LIMITS.messageLengthMax });
        if (text !== undefined) {
          const f = boardFormula(text);
          if (!f.ok) p.add(np, f.message);
          else for (const b of f.boards) if (this.ctx.boards && !this.ctx.boards.has(b)) p.add(np, `notice board ${b} is not deployed (nor deployed with this workflow)`);
        }
        if (t === 'ExpectNotices') {
          if (text !== undefined) result = withLabel<ExpectNoticesInstr>({ TYPE: 'ExpectNotices', noticeBoardNames: text });
        } else {
          const block = this.block(o['subworkflow'], joinPath(path, 'subworkflow'), inner, 'a ConsumeNotices block');
          if (text !== undefined && block) result = withLabel<ConsumeNoticesInstr>({ TYPE: 'ConsumeNotices', noticeBoardNames: text, subworkflow: block });
        }
        break;
      }
      case 'AddOrder': {
        for (const [k, why] of Object.entries(ADD_ORDER_REFUSED)) if (o[k] !== undefined) p.add(joinPath(path, k), why);
        const workflowName = p.string(o, 'workflowName', path, { required: true, nonEmpty: true, max: LIMITS.nameLengthMax });
        if (workflowName !== undefined && this.ctx.workflows && !this.ctx.workflows.has(workflowName)) {
          p.add(joinPath(path, 'workflowName'), `workflow ${workflowName} is not deployed (nor deployed with this one)`);
        }
        const args = expressionMap(p, o, 'arguments', path, argNameProblem);
        const remain = p.boolean(o, 'remainWhenTerminated', path);
        const del = p.boolean(o, 'deleteWhenTerminated', path);
        if (remain !== undefined && del !== undefined) p.add(joinPath(path, 'deleteWhenTerminated'), 'give either remainWhenTerminated or deleteWhenTerminated, not both');
        if (workflowName !== undefined) {
          const i: AddOrderInstr = withLabel<AddOrderInstr>({ TYPE: 'AddOrder', workflowName });
          if (args !== undefined) i.arguments = args;
          if (remain !== undefined) i.remainWhenTerminated = remain;
          if (del !== undefined) i.deleteWhenTerminated = del;
          result = i;
        }
        break;
      }
      case 'Cycle': {
        const onlyOnePeriod = p.boolean(o, 'onlyOnePeriod', path);
        const schedule = this.cycleSchedule(o['schedule'], joinPath(path, 'schedule'));
        const block = this.block(o['cycleWorkflow'], joinPath(path, 'cycleWorkflow'), { ...inner, inCycle: true }, 'a Cycle block');
        if (schedule && block) {
          const i: CycleInstr = withLabel<CycleInstr>({ TYPE: 'Cycle', schedule, cycleWorkflow: block });
          if (onlyOnePeriod !== undefined) i.onlyOnePeriod = onlyOnePeriod;
          result = i;
        }
        break;
      }
      case 'Break':
        if (scope.inCycle !== true) p.add(path, 'Break is only allowed inside a Cycle (of the same order: not across a Fork branch)');
        result = withLabel({ TYPE: 'Break' });
        break;
      case 'Lock': {
        const demands = this.demands(o['demands'], joinPath(path, 'demands'), scope);
        const waitTimeout = p.number(o, 'waitTimeout', path, { min: 0, max: LIMITS.timeoutSecondsMax });
        // Held inside the block: also when some demand is bad, to report nested ones too.
        const held = new Map(scope.held);
        for (const d of Array.isArray(o['demands']) ? (o['demands'] as unknown[]) : []) {
          const lockName = isObject(d) ? d['lockName'] : undefined;
          if (typeof lockName !== 'string') continue;
          const def = this.ctx.locks.get(lockName);
          if (def && def.keyed !== true && !held.has(lockName)) held.set(lockName, path);
        }
        const block = this.block(o['lockedWorkflow'], joinPath(path, 'lockedWorkflow'), { ...inner, held }, 'a lock block');
        if (demands && block) {
          const i: LockInstr = withLabel<LockInstr>({ TYPE: 'Lock', demands, lockedWorkflow: block });
          if (waitTimeout !== undefined) i.waitTimeout = waitTimeout;
          result = i;
        }
        break;
      }
      case 'Options': {
        const stopOnFailure = p.boolean(o, 'stopOnFailure', path);
        const block = this.block(o['block'], joinPath(path, 'block'), inner, 'an options block');
        if (block) {
          const i: OptionsInstr = withLabel<OptionsInstr>({ TYPE: 'Options', block });
          if (stopOnFailure !== undefined) i.stopOnFailure = stopOnFailure;
          result = i;
        }
        break;
      }
      case 'Try': {
        const maxTries = p.number(o, 'maxTries', path, { min: 1, max: LIMITS.maxTriesMax, whole: true });
        const retryDelays = this.retryDelays(o, path);
        const tryBlock = this.block(o['try'], joinPath(path, 'try'), inner, 'a try block');
        const catchBlock = this.block(o['catch'], joinPath(path, 'catch'), { ...inner, inCatch: true }, 'a catch block');
        if (tryBlock && catchBlock) {
          const i: TryInstr = withLabel<TryInstr>({ TYPE: 'Try', try: tryBlock, catch: catchBlock });
          if (maxTries !== undefined) i.maxTries = maxTries;
          if (retryDelays !== undefined) i.retryDelays = retryDelays;
          result = i;
        }
        break;
      }
      case 'Retry':
        if (!scope.inCatch) p.add(path, 'Retry is only allowed inside a catch block');
        result = withLabel({ TYPE: 'Retry' });
        break;
      case 'Fail': {
        const message = p.string(o, 'message', path, { max: LIMITS.messageLengthMax });
        const uncatchable = p.boolean(o, 'uncatchable', path);
        let outcome: { returnCode?: number } | undefined;
        if (hasOwn(o, 'outcome') && o['outcome'] !== undefined) {
          const op = joinPath(path, 'outcome');
          const oo = p.object(o['outcome'], op);
          if (oo) {
            p.unknownKeys(oo, op, OUTCOME_KEYS, 'a Fail outcome');
            const rc = p.number(oo, 'returnCode', op, { min: -(2 ** 31), max: 2 ** 32 - 1, whole: true });
            outcome = rc === undefined ? {} : { returnCode: rc };
          }
        }
        const namedValues = this.namedValues(o, path);
        const i: FailInstr = withLabel<FailInstr>({ TYPE: 'Fail' });
        if (message !== undefined) i.message = message;
        if (outcome !== undefined) i.outcome = outcome;
        if (namedValues !== undefined) i.namedValues = namedValues;
        if (uncatchable !== undefined) i.uncatchable = uncatchable;
        result = i;
        break;
      }
      case 'Finish': {
        const message = p.string(o, 'message', path, { max: LIMITS.messageLengthMax });
        const unsuccessful = p.boolean(o, 'unsuccessful', path);
        let outcome: FinishInstr['outcome'];
        if (hasOwn(o, 'outcome') && o['outcome'] !== undefined) {
          const op = joinPath(path, 'outcome');
          const oo = p.object(o['outcome'], op);
          if (oo) {
            p.unknownKeys(oo, op, FINISH_OUTCOME_KEYS, 'a Finish outcome');
            const type = oo['TYPE'];
            if (type !== 'Succeeded' && type !== 'Failed') p.add(joinPath(op, 'TYPE'), type === undefined ? 'required' : 'must be "Succeeded" or "Failed"');
            else {
              outcome = { TYPE: type };
              const nv = this.namedValues(oo, op);
              if (nv !== undefined) outcome.namedValues = nv;
              if (unsuccessful !== undefined && unsuccessful !== (type === 'Failed')) {
                p.add(joinPath(path, 'unsuccessful'), `contradicts outcome.TYPE ${type}`);
              }
            }
          }
        }
        const i: FinishInstr = withLabel<FinishInstr>({ TYPE: 'Finish' });
        if (message !== undefined) i.message = message;
        if (unsuccessful !== undefined) i.unsuccessful = unsuccessful;
        if (outcome !== undefined) i.outcome = outcome;
        result = i;
        break;
      }
    }
    return p.items.length > before ? undefined : result;
  }

  /** A `result` map (names → expressions) of a ForkList's workflow. */
  private resultMap(w: Obj, base: string): Record<string, string> | undefined {
    if (!hasOwn(w, 'result') || w['result'] === undefined) return undefined;
    const rp = joinPath(base, 'result');
    const m = this.p.object(w['result'], rp);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    for (const k of Object.keys(m)) {
      const msg = argNameProblem(k);
      if (msg) this.p.add(joinPath(rp, k), msg);
      else {
        const v = this.expression(m, k, rp, true);
        if (v !== undefined) out[k] = v;
      }
    }
    return out;
  }

  /** A Cycle's `schedule`: `{schemes: [{admissionTimeScheme: {periods}, repeat}]}` (seconds). */
  private cycleSchedule(raw: unknown, path: string): { schemes: CycleScheme[] } | undefined {
    const p = this.p;
    const before = p.items.length;
    const o = p.object(raw, path);
    if (!o) return undefined;
    p.unknownKeys(o, path, SCHEDULE_KEYS, 'a Cycle schedule');
    const sp = joinPath(path, 'schemes');
    const list = o['schemes'];
    if (!Array.isArray(list) || list.length > LIMITS.cycleSchemesMax) {
      p.add(sp, list === undefined ? 'required' : `must be an array of at most ${LIMITS.cycleSchemesMax} {admissionTimeScheme, repeat}`);
      return undefined;
    }
    const schemes: CycleScheme[] = [];
    const daySeconds = 86_400;
    const durationMax = LIMITS.sleepSecondsMax;
    list.forEach((item: unknown, n) => {
      const ip = joinPath(sp, n);
      const sc = p.object(item, ip);
      if (!sc) return;
      p.unknownKeys(sc, ip, SCHEME_KEYS, 'a Cycle scheme');
      const ap = joinPath(ip, 'admissionTimeScheme');
      const adm = p.object(sc['admissionTimeScheme'], ap);
      const periods: CyclePeriod[] = [];
      if (adm) {
        p.unknownKeys(adm, ap, ADMISSION_KEYS, 'an admissionTimeScheme');
        const pp = joinPath(ap, 'periods');
        const raw = adm['periods'];
        if (!Array.isArray(raw) || raw.length > LIMITS.cyclePeriodsMax) {
          p.add(pp, raw === undefined ? 'required' : `must be an array of at most ${LIMITS.cyclePeriodsMax} periods`);
        } else {
          raw.forEach((r: unknown, k) => {
            const rp = joinPath(pp, k);
            const po = p.object(r, rp);
            if (!po) return;
            const t = po['TYPE'];
            if (typeof t === 'string' && REFUSED_PERIODS.has(t)) {
              p.add(joinPath(rp, 'TYPE'), `not supported: ${t} in a Cycle (DailyPeriod and WeekdayPeriod are)`);
              return;
            }
            if (t !== 'DailyPeriod' && t !== 'WeekdayPeriod') {
              p.add(joinPath(rp, 'TYPE'), t === undefined ? 'required' : 'must be "DailyPeriod" or "WeekdayPeriod"');
              return;
            }
            p.unknownKeys(po, rp, PERIOD_KEYS[t], `a ${t}`);
            const duration = p.number(po, 'duration', rp, { min: 0, max: durationMax, exclusiveMin: true, required: true });
            if (t === 'DailyPeriod') {
              const secondOfDay = p.number(po, 'secondOfDay', rp, { min: 0, max: daySeconds - 1, whole: true, required: true });
              if (secondOfDay !== undefined && duration !== undefined) periods.push({ TYPE: t, secondOfDay, duration });
            } else {
              const secondOfWeek = p.number(po, 'secondOfWeek', rp, { min: 0, max: 7 * daySeconds - 1, whole: true, required: true });
              if (secondOfWeek !== undefined && duration !== undefined) periods.push({ TYPE: t, secondOfWeek, duration });
            }
          });
        }
      }
      const rp = joinPath(ip, 'repeat');
      const ro = p.object(sc['repeat'], rp);
      let repeat: CycleRepeat | undefined;
      if (ro) {
        const t = ro['TYPE'];
        if (t !== 'Periodic' && t !== 'Ticking' && t !== 'Continuous') {
          p.add(joinPath(rp, 'TYPE'), t === undefined ? 'required' : 'must be "Periodic", "Ticking" or "Continuous"');
        } else {
          p.unknownKeys(ro, rp, REPEAT_KEYS[t], `a ${t} repeat`);
          if (t === 'Periodic') {
            const period = p.number(ro, 'period', rp, { min: 1, max: durationMax, required: true });
            const op = joinPath(rp, 'offsets');
            const offs = ro['offsets'];
            if (!Array.isArray(offs) || offs.length === 0 || offs.length > LIMITS.cycleOffsetsMax) {
              p.add(op, offs === undefined ? 'required' : `must be a non-empty array of at most ${LIMITS.cycleOffsetsMax} seconds`);
            } else if (period !== undefined) {
              const seen = new Set<number>();
              offs.forEach((v: unknown, k) => {
                if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= period) p.add(joinPath(op, k), `must be seconds from 0 to less than the period ${period}`);
                else if (seen.has(v)) p.add(joinPath(op, k), `offset ${v} is given twice`);
                else seen.add(v);
              });
              if (seen.size === offs.length) repeat = { TYPE: t, period, offsets: offs as number[] };
            }
          } else if (t === 'Ticking') {
            const interval = p.number(ro, 'interval', rp, { min: 1, max: durationMax, required: true });
            if (interval !== undefined) repeat = { TYPE: t, interval };
          } else {
            const pause = p.number(ro, 'pause', rp, { min: 0, max: durationMax, required: true });
            const limit = p.number(ro, 'limit', rp, { min: 0, max: LIMITS.maxTriesMax, whole: true });
            if (pause === 0 && limit === undefined) p.add(joinPath(rp, 'limit'), 'required when pause is 0 (else the cycles never end)');
            else if (pause !== undefined) repeat = limit === undefined ? { TYPE: t, pause } : { TYPE: t, pause, limit };
          }
        }
      }
      if (repeat) schemes.push({ admissionTimeScheme: { periods }, repeat });
    });
    return p.items.length > before ? undefined : { schemes };
  }

  /** An expression, given as a string (JS7 writes literals as `'text'` or `60`). */
  private expression(o: Obj, key: string, base: string, required: boolean, evaluated = true): string | undefined {
    const v = this.p.string(o, key, base, { required, nonEmpty: true, max: LIMITS.messageLengthMax });
    const msg = v !== undefined && evaluated ? expressionProblem(v) : undefined;
    if (msg === undefined) return v;
    this.p.add(joinPath(base, key), msg);
    return undefined;
  }

  /** `namedValues`: names to strings, numbers or booleans. */
  private namedValues(o: Obj, base: string): NamedValues | undefined {
    if (!hasOwn(o, 'namedValues') || o['namedValues'] === undefined) return undefined;
    const p = this.p;
    const path = joinPath(base, 'namedValues');
    const m = p.object(o['namedValues'], path);
    if (!m) return undefined;
    const keys = Object.keys(m);
    if (keys.length > LIMITS.argumentsMax) {
      p.add(path, `must have at most ${LIMITS.argumentsMax} entries`);
      return undefined;
    }
    const out: NamedValues = {};
    let ok = true;
    for (const k of keys) {
      const kp = joinPath(path, k);
      const msg = argNameProblem(k);
      const v = m[k];
      if (msg) p.add(kp, msg);
      else if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string' && typeof v !== 'boolean') p.add(kp, 'must be a string, number or boolean');
      else if (typeof v === 'string' && v.length > LIMITS.argumentValueBytesMax) p.add(kp, `must be at most ${LIMITS.argumentValueBytesMax} characters long`);
      else if (k === 'returnCode' && (typeof v !== 'number' || !Number.isInteger(v))) p.add(kp, 'must be a whole number');
      else {
        out[k] = v as string | number | boolean;
        continue;
      }
      ok = false;
    }
    return ok ? out : undefined;
  }

  private retryDelays(o: Obj, path: string): number[] | undefined {
    if (!hasOwn(o, 'retryDelays') || o['retryDelays'] === undefined) return undefined;
    const rp = joinPath(path, 'retryDelays');
    const v = o['retryDelays'];
    if (!Array.isArray(v)) {
      this.p.add(rp, 'must be an array of seconds');
      return undefined;
    }
    if (v.length > LIMITS.retryDelaysMax) {
      this.p.add(rp, `must have at most ${LIMITS.retryDelaysMax} entries`);
      return undefined;
    }
    const out: number[] = [];
    v.forEach((d: unknown, i) => {
      if (typeof d === 'number' && Number.isFinite(d) && d >= 0 && d <= LIMITS.timeoutSecondsMax) out.push(d);
      else this.p.add(joinPath(rp, i), numberMessage({ min: 0, max: LIMITS.timeoutSecondsMax }));
    });
    return out.length === v.length ? out : undefined;
  }

  private demands(raw: unknown, path: string, scope: Scope): Demand[] | undefined {
    const p = this.p;
    if (!Array.isArray(raw)) {
      p.add(path, raw === undefined ? 'required' : 'must be an array of demands');
      return undefined;
    }
    if (raw.length === 0) {
      p.add(path, 'must not be empty');
      return undefined;
    }
    if (raw.length > LIMITS.demandsPerLockMax) {
      p.add(path, `must have at most ${LIMITS.demandsPerLockMax} demands`);
      return undefined;
    }
    const before = p.items.length;
    const out: Demand[] = [];
    const seen = new Map<string, number>();
    raw.forEach((item: unknown, i) => {
      const dp = joinPath(path, i);
      const o = p.object(item, dp);
      if (!o) return;
      p.unknownKeys(o, dp, DEMAND_KEYS, 'a demand');
      const lockName = p.string(o, 'lockName', dp, { required: true, nonEmpty: true });
      const count = p.number(o, 'count', dp, { min: 1, max: LIMITS.lockLimitMax, whole: true });
      const key = p.string(o, 'key', dp, { nonEmpty: true, max: LIMITS.nameLengthMax });
      if (lockName === undefined) return;
      const def = this.ctx.locks.get(lockName);
      if (!def) {
        p.add(joinPath(dp, 'lockName'), `unknown lock ${lockName}`);
      } else {
        if (count !== undefined && def.limit > 0 && count > def.limit && this.ctx.checkCounts !== false) {
          p.add(joinPath(dp, 'count'), `must be ≤ limit ${def.limit} of lock ${lockName}`);
        }
        if (def.keyed === true) {
          if (!hasOwn(o, 'key') || o['key'] === undefined) p.add(joinPath(dp, 'key'), `required for the keyed lock ${lockName}`);
          else if (key === '$') p.add(joinPath(dp, 'key'), 'must name an argument after $');
        } else if (hasOwn(o, 'key') && o['key'] !== undefined) {
          p.add(joinPath(dp, 'key'), `lock ${lockName} is not keyed: key is not allowed`);
        } else {
          const outer = scope.held.get(lockName);
          if (outer !== undefined) p.add(dp, `lock ${lockName} is already held by the enclosing Lock at ${outer}`);
        }
      }
      const ident = key === undefined ? lockName : `${lockName}\u0000${key}`;
      const first = seen.get(ident);
      if (first !== undefined) {
        const which = key === undefined ? `lock ${lockName}` : `lock ${lockName} with key ${key}`;
        p.add(dp, `${which} is demanded twice in this instruction (also at demands[${first}])`);
      } else seen.set(ident, i);
      const d: Demand = { lockName };
      if (count !== undefined) d.count = count;
      if (key !== undefined) d.key = key;
      out.push(d);
    });
    return p.items.length > before ? undefined : out;
  }

  jobs(raw: unknown): Record<string, Job> | undefined {
    const p = this.p;
    const o = p.object(raw, 'jobs');
    if (!o) return undefined;
    const names = Object.keys(o);
    if (names.length > LIMITS.jobsMax) {
      p.add('jobs', `must have at most ${LIMITS.jobsMax} jobs`);
      return undefined;
    }
    const before = p.items.length;
    const out: Record<string, Job> = {};
    for (const name of names) {
      const jp = joinPath('jobs', name);
      const msg = nameProblem(name, 'job name');
      if (msg) {
        p.add(jp, msg);
        continue;
      }
      const job = this.job(o[name], jp);
      if (job) out[name] = job;
    }
    return p.items.length > before ? undefined : out;
  }

  private job(raw: unknown, path: string): Job | undefined {
    const p = this.p;
    const o = p.object(raw, path);
    if (!o) return undefined;
    const before = p.items.length;
    for (const k of Object.keys(o)) {
      const why = UNSUPPORTED_JOB_KEYS[k];
      if (why !== undefined) p.add(joinPath(path, k), `not supported: ${why}`);
    }
    p.unknownKeys(o, path, JOB_KEYS_AND_REFUSED, 'a job');
    const executable = this.executable(o['executable'], joinPath(path, 'executable'));
    const agentName = p.string(o, 'agentName', path, { nonEmpty: true, max: LIMITS.nameLengthMax });
    const subagentClusterId = p.string(o, 'subagentClusterId', path, { nonEmpty: true, max: LIMITS.nameLengthMax });
    const subagentClusterIdExpr = p.string(o, 'subagentClusterIdExpr', path, { nonEmpty: true, max: LIMITS.messageLengthMax });
    if (subagentClusterIdExpr !== undefined) {
      const msg = notAnExpression(subagentClusterIdExpr);
      if (msg) p.add(joinPath(path, 'subagentClusterIdExpr'), msg);
    }
    const withSubagentClusterIdExpr = p.boolean(o, 'withSubagentClusterIdExpr', path);
    const parallelism = p.number(o, 'parallelism', path, { min: 1, max: LIMITS.parallelismMax, whole: true });
    const timeout = p.number(o, 'timeout', path, { min: 0, exclusiveMin: true, max: LIMITS.timeoutSecondsMax });
    const graceTimeout = p.number(o, 'graceTimeout', path, { min: 0, max: LIMITS.timeoutSecondsMax });
    const defaultArguments = argumentMap(p, o, 'defaultArguments', path);
    const restartable = p.boolean(o, 'restartable', path);
    const isNotRestartable = p.boolean(o, 'isNotRestartable', path);
    if (restartable !== undefined && isNotRestartable !== undefined && restartable === isNotRestartable) {
      p.add(joinPath(path, 'isNotRestartable'), 'contradicts restartable');
    }
    const failOnErrWritten = p.boolean(o, 'failOnErrWritten', path);
    const warnOnErrWritten = p.boolean(o, 'warnOnErrWritten', path);
    const title = p.string(o, 'title', path, { max: LIMITS.messageLengthMax });
    const documentationName = p.string(o, 'documentationName', path, { max: LIMITS.messageLengthMax });
    const criticality = p.string(o, 'criticality', path, { max: LIMITS.nameLengthMax });
    if (criticality !== undefined && !CRITICALITIES.has(criticality)) {
      p.add(joinPath(path, 'criticality'), `must be one of ${[...CRITICALITIES].join(', ')}`);
    }
    const admissionTimeScheme = hasOwn(o, 'admissionTimeScheme') ? validateAdmissionTimeScheme(p, o['admissionTimeScheme'], joinPath(path, 'admissionTimeScheme')) : undefined;
    const skipIfNoAdmissionForOrderDay = p.boolean(o, 'skipIfNoAdmissionForOrderDay', path);
    const killAtEndOfAdmissionPeriod = p.boolean(o, 'killAtEndOfAdmissionPeriod', path);
    if (killAtEndOfAdmissionPeriod === true) {
      p.add(joinPath(path, 'killAtEndOfAdmissionPeriod'), 'not supported: only false (a job started inside its admission period runs to its end)');
    }
    const jobResourceNames = this.jobResourceNames(o, path);
    if (p.items.length > before || !executable) return undefined;
    const given: Record<string, unknown> = {
      agentName,
      subagentClusterId,
      subagentClusterIdExpr,
      withSubagentClusterIdExpr,
      parallelism,
      timeout,
      graceTimeout,
      defaultArguments,
      restartable,
      isNotRestartable,
      failOnErrWritten,
      warnOnErrWritten,
      title,
      documentationName,
      criticality,
      admissionTimeScheme,
      skipIfNoAdmissionForOrderDay,
      killAtEndOfAdmissionPeriod,
      jobResourceNames,
    };
    // Keys in the order of the document, so that a copy looks like its source.
    const job: Job = { executable };
    const out = job as unknown as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const v = given[k];
      if (k !== 'executable' && v !== undefined) out[k] = v;
    }
    return job;
  }

  /** `jobResourceNames`: a list of names of job resources that exist (deployed or deployed with it). */
  jobResourceNames(o: Obj, base: string): string[] | undefined {
    if (!hasOwn(o, 'jobResourceNames') || o['jobResourceNames'] === undefined) return undefined;
    const p = this.p;
    const path = joinPath(base, 'jobResourceNames');
    const raw = o['jobResourceNames'];
    if (!Array.isArray(raw)) {
      p.add(path, 'must be a list of job resource names');
      return undefined;
    }
    if (raw.length > LIMITS.jobResourceNamesMax) {
      p.add(path, `must have at most ${LIMITS.jobResourceNamesMax} names`);
      return undefined;
    }
    const before = p.items.length;
    const out: string[] = [];
    raw.forEach((v: unknown, i) => {
      const ip = joinPath(path, i);
      const n = p.name(v, ip, 'job resource name');
      if (n === undefined) return;
      if (out.includes(n)) p.add(ip, `job resource ${n} is named twice`);
      else if (!this.ctx.jobResources?.has(n)) p.add(ip, `unknown job resource ${n} (deploy ${n}.jobresource.json with it)`);
      out.push(n);
    });
    return p.items.length > before ? undefined : out;
  }

  private executable(raw: unknown, path: string): Executable | undefined {
    const p = this.p;
    const o = p.object(raw, path);
    if (!o) return undefined;
    const type = o['TYPE'];
    const before = p.items.length;
    if (type === undefined) {
      p.add(joinPath(path, 'TYPE'), 'required');
      return undefined;
    }
    if (type === 'InternalExecutable') {
      p.add(
        joinPath(path, 'TYPE'),
        'not supported: InternalExecutable (a Java or JavaScript job run inside the JS7 agent); use ShellScriptExecutable, PathExecutable, CommandLineExecutable or FunctionExecutable',
      );
      return undefined;
    }
    const keys = typeof type === 'string' ? EXECUTABLE_KEYS[type] : undefined;
    if (keys === undefined) {
      p.add(
        joinPath(path, 'TYPE'),
        `unsupported executable type ${JSON.stringify(type)} (expected ShellScriptExecutable, PathExecutable, CommandLineExecutable or FunctionExecutable)`,
      );
      return undefined;
    }
    if (hasOwn(o, 'login')) p.add(joinPath(path, 'login'), 'not supported: jobs run as the user of the Orderly process');
    if (hasOwn(o, 'v1Compatible') && o['v1Compatible'] !== false) {
      p.add(joinPath(path, 'v1Compatible'), 'not supported: only false (JobScheduler 1 compatibility mode is not available)');
    }
    p.unknownKeys(o, path, new Set([...keys, 'login', 'v1Compatible']), `a ${String(type)}`);
    const rcm = this.returnCodeMeaning(o, path);
    const env = type === 'FunctionExecutable' ? undefined : expressionMap(p, o, 'env', path, envNameProblem);
    let result: Executable | undefined;
    switch (type) {
      case 'ShellScriptExecutable': {
        const script = p.string(o, 'script', path, { required: true, max: LIMITS.scriptBytesMax, bytes: true });
        if (script !== undefined && hasNul(script)) p.add(joinPath(path, 'script'), NUL_TEXT);
        else if (script !== undefined) result = { TYPE: 'ShellScriptExecutable', script };
        break;
      }
      case 'PathExecutable': {
        const file = p.string(o, 'path', path, { required: true, nonEmpty: true, max: LIMITS.messageLengthMax });
        if (file !== undefined && hasNul(file)) p.add(joinPath(path, 'path'), NUL_TEXT);
        else if (file !== undefined) result = { TYPE: 'PathExecutable', path: file };
        break;
      }
      case 'CommandLineExecutable': {
        const command = p.string(o, 'command', path, { required: true, nonEmpty: true, max: LIMITS.scriptBytesMax, bytes: true });
        if (command !== undefined && hasNul(command)) p.add(joinPath(path, 'command'), NUL_TEXT);
        else if (command !== undefined) result = { TYPE: 'CommandLineExecutable', command };
        break;
      }
      case 'FunctionExecutable': {
        const functionName = p.string(o, 'functionName', path, { required: true, nonEmpty: true, max: LIMITS.nameLengthMax });
        if (functionName !== undefined) result = { TYPE: 'FunctionExecutable', functionName };
        break;
      }
    }
    if (p.items.length > before || result === undefined) return undefined;
    if (env !== undefined && result.TYPE !== 'FunctionExecutable') result.env = env;
    if (rcm !== undefined) result.returnCodeMeaning = rcm;
    if (o['v1Compatible'] === false && (result.TYPE === 'ShellScriptExecutable' || result.TYPE === 'PathExecutable')) result.v1Compatible = false;
    return result;
  }

  private returnCodeMeaning(o: Obj, base: string): ReturnCodeMeaning | undefined {
    if (!hasOwn(o, 'returnCodeMeaning') || o['returnCodeMeaning'] === undefined) return undefined;
    const p = this.p;
    const path = joinPath(base, 'returnCodeMeaning');
    const m = p.object(o['returnCodeMeaning'], path);
    if (!m) return undefined;
    p.unknownKeys(m, path, RCM_KEYS, 'a returnCodeMeaning');
    const has = (k: string): boolean => hasOwn(m, k) && m[k] !== undefined;
    if (has('success') === has('failure')) {
      p.add(path, 'must have exactly one of success and failure');
      return undefined;
    }
    const key = has('success') ? 'success' : 'failure';
    const kp = joinPath(path, key);
    const raw = m[key];
    let spec: ReturnCodeList;
    if (typeof raw === 'string') spec = raw;
    else if (Array.isArray(raw)) {
      if (raw.length > LIMITS.argumentsMax) {
        p.add(kp, `must have at most ${LIMITS.argumentsMax} items`);
        return undefined;
      }
      spec = raw as ReturnCodeList;
    } else {
      p.add(kp, 'must be a list like "0,3..5" or [0, [3, 5]]');
      return undefined;
    }
    const text = returnCodeListText(spec);
    if ('index' in text) {
      p.add(text.index < 0 ? kp : joinPath(kp, text.index), text.message);
      return undefined;
    }
    const msg = returnCodeSpecProblem(text.text);
    if (msg) {
      p.add(kp, msg);
      return undefined;
    }
    return key === 'success' ? { success: spec } : { failure: spec };
  }
}

function timeZoneProblem(tz: string): string | undefined {
  return isTimeZone(tz) ? undefined : `unknown time zone ${JSON.stringify(tz)}`;
}

/**
 * Validates a workflow in the internal (normalised JS7) shape. `name` is the workflow's
 * name (from the file name or the API); a `name` in the document must agree with it.
 */
export function validateWorkflow(raw: unknown, name: string, ctx: WorkflowContext): Validated<Workflow> {
  const c = new WorkflowChecker(ctx);
  const p = c.p;
  if (!isObject(raw)) {
    p.add('$', 'a workflow must be a JSON object');
    return { ok: false, problems: p.items };
  }
  p.unknownKeys(raw, '', WORKFLOW_KEYS, 'a workflow');
  if (hasOwn(raw, 'TYPE') && raw['TYPE'] !== 'Workflow') p.add('TYPE', 'must be "Workflow"');
  let wfName: string | undefined;
  if (ctx.generated) {
    if (GENERATED_NAME_PATTERN.test(name)) wfName = name;
    else p.add('name', 'a generated workflow is named jobconfig:<job config id>');
  } else if (name.startsWith('jobconfig:')) {
    p.add('name', 'names starting with jobconfig: are reserved for the workflows Orderly generates for job configs');
  } else {
    wfName = p.name(name, 'name', 'workflow name');
  }
  if (hasOwn(raw, 'name') && raw['name'] !== name) {
    p.add('name', `is ${JSON.stringify(raw['name'])} but the workflow is named ${JSON.stringify(name)}`);
  }
  const title = p.string(raw, 'title', '', { max: LIMITS.messageLengthMax });
  const timeZone = p.string(raw, 'timeZone', '', { nonEmpty: true, max: LIMITS.nameLengthMax });
  if (timeZone !== undefined) {
    const msg = timeZoneProblem(timeZone);
    if (msg) p.add('timeZone', msg);
  }
  const documentationName = p.string(raw, 'documentationName', '', { max: LIMITS.messageLengthMax });
  const orderPreparation = hasOwn(raw, 'orderPreparation') ? validateOrderPreparation(raw['orderPreparation'], 'orderPreparation', p.items) : undefined;
  const jobResourceNames = c.jobResourceNames(raw, '');
  const instructions = c.instructions(raw['instructions'], 'instructions', { depth: 0, inCatch: false, held: new Map() });
  c.finish();
  const rawJobs = raw['jobs'];
  const jobs = c.jobs(rawJobs);
  if (isObject(rawJobs)) {
    for (const ref of c.jobRefs) {
      if (!hasOwn(rawJobs, ref.jobName)) p.add(ref.path, `unknown job ${ref.jobName}`);
    }
  }
  if (p.items.length > 0 || !instructions || !jobs || wfName === undefined) {
    return { ok: false, problems: p.items };
  }
  const value: Workflow = {
    name: wfName,
    ...(title !== undefined ? { title } : {}),
    ...(documentationName !== undefined ? { documentationName } : {}),
    ...(timeZone !== undefined ? { timeZone } : {}),
    ...(orderPreparation !== undefined ? { orderPreparation } : {}),
    ...(jobResourceNames !== undefined ? { jobResourceNames } : {}),
    instructions,
    jobs,
  };
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------
// Admission times (src/core/admission.ts)

const ADMISSION_SCHEME_KEYS = new Set(['periods']);

/** A JS7 `admissionTimeScheme`: `{periods: [{TYPE, <start field>, duration}]}`. */
export function validateAdmissionTimeScheme(p: Problems, raw: unknown, path: string): AdmissionTimeScheme | undefined {
  const o = p.object(raw, path);
  if (!o) return undefined;
  const before = p.items.length;
  if (hasOwn(o, 'restrictedSchemes')) {
    p.add(joinPath(path, 'restrictedSchemes'), 'not supported: admission restricted to months is not implemented (give periods)');
  }
  p.unknownKeys(o, path, new Set([...ADMISSION_SCHEME_KEYS, 'restrictedSchemes']), 'an admissionTimeScheme');
  const pp = joinPath(path, 'periods');
  const list = o['periods'];
  if (!Array.isArray(list)) {
    p.add(pp, list === undefined ? 'required' : 'must be a list of periods');
    return undefined;
  }
  if (list.length > LIMITS.admissionPeriodsMax) {
    p.add(pp, `must have at most ${LIMITS.admissionPeriodsMax} periods`);
    return undefined;
  }
  const periods: AdmissionPeriod[] = [];
  list.forEach((item: unknown, i) => {
    const ip = joinPath(pp, i);
    const q = p.object(item, ip);
    if (!q) return;
    const type = q['TYPE'];
    if (type === 'AlwaysPeriod') {
      p.add(joinPath(ip, 'TYPE'), 'not supported: AlwaysPeriod (leave admissionTimeScheme out for a job admitted at any time)');
      return;
    }
    if (typeof type !== 'string' || !hasOwn(PERIOD_START_FIELD, type)) {
      p.add(joinPath(ip, 'TYPE'), type === undefined ? 'required' : `not supported: period type ${JSON.stringify(type)} (expected ${Object.keys(PERIOD_START_FIELD).join(', ')})`);
      return;
    }
    const t = type as AdmissionPeriod['TYPE'];
    const field = PERIOD_START_FIELD[t];
    p.unknownKeys(q, ip, new Set(['TYPE', field, 'duration']), `a ${t}`);
    const r = startRange(t);
    const start = p.number(q, field, ip, { min: r.min, max: r.max - 1, whole: true, required: true, ...(r.minExclusive ? { exclusiveMin: true } : {}) });
    const durationMax = t === 'WeekdayPeriod' ? WEEK_SECONDS : LIMITS.admissionDurationSecondsMax;
    const duration = p.number(q, 'duration', ip, { min: 0, exclusiveMin: true, max: durationMax, required: true });
    if (start === undefined || duration === undefined) return;
    periods.push({ TYPE: t, [field]: start, duration } as unknown as AdmissionPeriod);
  });
  return p.items.length > before ? undefined : { periods };
}

// ---------------------------------------------------------------------------------------
// Job resources

const JOB_RESOURCE_KEYS = new Set(['TYPE', 'name', 'arguments', 'env', 'title', 'documentationName']);

/** A JS7 job resource: `{TYPE: "JobResource", arguments, env, title, documentationName}`. */
export function validateJobResource(raw: unknown, name?: string): Validated<JobResourceDef> {
  const p = new Problems();
  if (!isObject(raw)) {
    p.add('$', 'a job resource must be a JSON object');
    return { ok: false, problems: p.items };
  }
  p.unknownKeys(raw, '', JOB_RESOURCE_KEYS, 'a job resource');
  if (hasOwn(raw, 'TYPE') && raw['TYPE'] !== 'JobResource') p.add('TYPE', 'must be "JobResource"');
  let rName: string | undefined;
  if (hasOwn(raw, 'name')) {
    rName = p.name(raw['name'], 'name', 'job resource name');
    if (rName !== undefined && name !== undefined && rName !== name) {
      p.add('name', `is ${JSON.stringify(rName)} but the job resource is named ${JSON.stringify(name)}`);
      rName = undefined;
    }
  } else if (name !== undefined) rName = p.name(name, 'name', 'job resource name');
  else p.add('name', 'required');
  const args = argumentMap(p, raw, 'arguments', '');
  const env = expressionMap(p, raw, 'env', '', envNameProblem);
  const title = p.string(raw, 'title', '', { max: LIMITS.messageLengthMax });
  const documentationName = p.string(raw, 'documentationName', '', { max: LIMITS.messageLengthMax });
  if (p.items.length > 0 || rName === undefined) return { ok: false, problems: p.items };
  const value: JobResourceDef = { name: rName };
  if (title !== undefined) value.title = title;
  if (documentationName !== undefined) value.documentationName = documentationName;
  if (args !== undefined) value.arguments = args;
  if (env !== undefined) value.env = env;
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------
// Lock references and the lock order graph (semantics §3.6)

interface LockVisit {
  instr: LockInstr;
  path: string;
  /** Enclosing Lock instructions, outermost first. */
  enclosing: readonly LockInstr[];
}

function visitLocks(wf: Workflow, f: (v: LockVisit) => void): void {
  const walk = (
    list: readonly Instruction[],
    base: string,
    enclosing: readonly LockInstr[],
  ): void => {
    list.forEach((instr, i) => {
      const path = joinPath(base, i);
      switch (instr.TYPE) {
        case 'Lock':
          f({ instr, path, enclosing });
          walk(instr.lockedWorkflow.instructions, joinPath(joinPath(path, 'lockedWorkflow'), 'instructions'), [
            ...enclosing,
            instr,
          ]);
          break;
        case 'Options':
          walk(instr.block.instructions, joinPath(joinPath(path, 'block'), 'instructions'), enclosing);
          break;
        case 'Try':
          walk(instr.try.instructions, joinPath(joinPath(path, 'try'), 'instructions'), enclosing);
          walk(instr.catch.instructions, joinPath(joinPath(path, 'catch'), 'instructions'), enclosing);
          break;
        case 'StickySubagent':
          walk(instr.subworkflow.instructions, joinPath(joinPath(path, 'subworkflow'), 'instructions'), enclosing);
          break;
        case 'ConsumeNotices':
          walk(instr.subworkflow.instructions, joinPath(joinPath(path, 'subworkflow'), 'instructions'), enclosing);
          break;
        case 'ForkList':
          walk(instr.workflow.instructions, joinPath(joinPath(path, 'workflow'), 'instructions'), enclosing);
          break;
        case 'Cycle':
          walk(instr.cycleWorkflow.instructions, joinPath(joinPath(path, 'cycleWorkflow'), 'instructions'), enclosing);
          break;
        case 'Fork':
          instr.branches.forEach((b, n) =>
            walk(b.workflow.instructions, joinPath(joinPath(joinPath(joinPath(path, 'branches'), n), 'workflow'), 'instructions'), enclosing),
          );
          break;
        case 'If':
          if (instr.ifThens) {
            instr.ifThens.forEach((t, n) => walk(t.then.instructions, joinPath(joinPath(joinPath(joinPath(path, 'ifThens'), n), 'then'), 'instructions'), enclosing));
          } else if (instr.then) walk(instr.then.instructions, joinPath(joinPath(path, 'then'), 'instructions'), enclosing);
          if (instr.else) walk(instr.else.instructions, joinPath(joinPath(path, 'else'), 'instructions'), enclosing);
          break;
        default:
          break;
      }
    });
  };
  walk(wf.instructions, 'instructions', []);
}

/** Names of the locks a workflow demands. */
export function lockReferences(wf: Workflow): Set<string> {
  const out = new Set<string>();
  visitLocks(wf, ({ instr }) => {
    for (const d of instr.demands) out.add(d.lockName);
  });
  return out;
}

export interface LockOrderEdge {
  from: string;
  to: string;
  /** The inner Lock instruction. */
  path: string;
}

/**
 * Edges A → B where a Lock block demanding B sits (at any depth) inside a Lock block
 * demanding A. Demands of one instruction are granted at once and give no edges among
 * themselves; A → A (a keyed family nested in itself) gives no edge. Sorted, no duplicates.
 */
export function lockOrderEdges(wf: Workflow): LockOrderEdge[] {
  const seen = new Set<string>();
  const out: LockOrderEdge[] = [];
  visitLocks(wf, ({ instr, path, enclosing }) => {
    for (const outer of enclosing) {
      for (const a of outer.demands) {
        for (const b of instr.demands) {
          if (a.lockName === b.lockName) continue;
          const k = `${a.lockName}\u0000${b.lockName}\u0000${path}`;
          if (seen.has(k)) continue;
          seen.add(k);
          out.push({ from: a.lockName, to: b.lockName, path });
        }
      }
    }
  });
  return out.sort((x, y) => cmp(x.from, y.from) || cmp(x.to, y.to) || cmp(x.path, y.path));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A cycle in the union of the lock order graphs of `workflows`, e.g.
 * `{cycle: ['A', 'B', 'A'], workflows: ['w1', 'w2']}` (the workflows contributing the
 * cycle's edges), or undefined when there is none. Deterministic: names are visited in
 * sorted order, so the same input always reports the same cycle.
 *
 * Locks demanded together by one Lock instruction are one node (`A+B`): a waiter for both
 * stands in both lines at once, so under fifo a holder of A waiting for B can queue behind
 * it while it waits for A. Nesting B inside A anywhere while A and B are demanded together
 * elsewhere is therefore a cycle (`A+B → A+B`). With that, every order waits only for locks
 * of groups after those it holds, and no wait-for cycle can form.
 */
export function findLockOrderCycle(
  workflows: ReadonlyArray<Workflow>,
): { cycle: string[]; workflows: string[] } | undefined {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  const groupOwners = new Map<string, Set<string>>();
  const together: { names: string[]; wf: string }[] = [];
  for (const wf of workflows) {
    visitLocks(wf, ({ instr }) => {
      const names = [...new Set(instr.demands.map((d) => d.lockName))];
      for (const n of names) find(n);
      for (let i = 1; i < names.length; i++) union(names[0]!, names[i]!);
      if (names.length > 1) together.push({ names, wf: wf.name });
    });
  }
  for (const t of together) {
    const r = find(t.names[0]!);
    let o = groupOwners.get(r);
    if (!o) groupOwners.set(r, (o = new Set()));
    o.add(t.wf);
  }
  const members = new Map<string, string[]>();
  for (const n of parent.keys()) {
    const r = find(n);
    let m = members.get(r);
    if (!m) members.set(r, (m = []));
    m.push(n);
  }
  const label = (n: string): string => {
    const m = members.get(find(n));
    return m && m.length > 1 ? [...m].sort(cmp).join('+') : n;
  };
  const labelOwners = new Map<string, Set<string>>();
  for (const [r, o] of groupOwners) labelOwners.set(label(r), o);
  const adj = new Map<string, Set<string>>();
  const edgeOwners = new Map<string, Set<string>>();
  for (const wf of workflows) {
    for (const e of lockOrderEdges(wf)) {
      const from = label(e.from);
      const to = label(e.to);
      let s = adj.get(from);
      if (!s) adj.set(from, (s = new Set()));
      s.add(to);
      if (!adj.has(to)) adj.set(to, new Set());
      const k = `${from}\u0000${to}`;
      let o = edgeOwners.get(k);
      if (!o) edgeOwners.set(k, (o = new Set()));
      o.add(wf.name);
      // A self-loop on a group also involves the workflows that demand its locks together.
      if (from === to) for (const w of labelOwners.get(from) ?? []) o.add(w);
    }
  }
  const sorted = new Map<string, string[]>();
  for (const [n, s] of adj) sorted.set(n, [...s].sort(cmp));
  const nodes = [...adj.keys()].sort(cmp);
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Map<string, number>();
  for (const start of nodes) {
    if ((colour.get(start) ?? WHITE) !== WHITE) continue;
    // Iterative DFS: the path is `stack.map(f => f.node)`.
    const stack: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    colour.set(start, GREY);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const succ = sorted.get(top.node) ?? [];
      if (top.next >= succ.length) {
        colour.set(top.node, BLACK);
        stack.pop();
        continue;
      }
      const n = succ[top.next++]!;
      const c = colour.get(n) ?? WHITE;
      if (c === GREY) {
        const from = stack.findIndex((f) => f.node === n);
        const cycle = [...stack.slice(from).map((f) => f.node), n];
        const owners = new Set<string>();
        for (let i = 0; i + 1 < cycle.length; i++) {
          for (const w of edgeOwners.get(`${cycle[i]!}\u0000${cycle[i + 1]!}`) ?? []) owners.add(w);
        }
        return { cycle, workflows: [...owners].sort(cmp) };
      }
      if (c === WHITE) {
        colour.set(n, GREY);
        stack.push({ node: n, next: 0 });
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Notice boards

const BOARD_KEYS = new Set(['TYPE', 'name', 'postOrderToNoticeId', 'expectOrderToNoticeId', 'endOfLife', 'title', 'documentationName']);

/** A notice board (`<name>.noticeboard.json`, name from the file when `name` is given). */
export function validateNoticeBoard(raw: unknown, name?: string): Validated<NoticeBoardDef> {
  const p = new Problems();
  if (!isObject(raw)) {
    p.add('$', 'a notice board must be a JSON object');
    return { ok: false, problems: p.items };
  }
  p.unknownKeys(raw, '', BOARD_KEYS, 'a notice board');
  if (hasOwn(raw, 'TYPE') && raw['TYPE'] !== 'NoticeBoard') p.add('TYPE', 'must be "NoticeBoard"');
  let boardName: string | undefined;
  if (hasOwn(raw, 'name')) {
    boardName = p.name(raw['name'], 'name', 'notice board name');
    if (boardName !== undefined && name !== undefined && boardName !== name) p.add('name', `is ${JSON.stringify(boardName)} but the notice board is named ${JSON.stringify(name)}`);
  } else if (name !== undefined) boardName = p.name(name, 'name', 'notice board name');
  else p.add('name', 'required');
  const expr = (key: string): string | undefined => {
    const v = p.string(raw, key, '', { required: true, nonEmpty: true, max: LIMITS.messageLengthMax });
    const msg = v === undefined ? undefined : expressionProblem(v);
    if (msg) p.add(key, msg);
    return msg ? undefined : v;
  };
  const post = expr('postOrderToNoticeId');
  const expect = expr('expectOrderToNoticeId');
  const endOfLife = expr('endOfLife');
  const title = p.string(raw, 'title', '', { max: LIMITS.messageLengthMax });
  const documentationName = p.string(raw, 'documentationName', '', { max: LIMITS.messageLengthMax });
  if (p.items.length > 0 || boardName === undefined || post === undefined || expect === undefined || endOfLife === undefined) return { ok: false, problems: p.items };
  const value: NoticeBoardDef = { name: boardName, postOrderToNoticeId: post, expectOrderToNoticeId: expect, endOfLife };
  if (title !== undefined) value.title = title;
  if (documentationName !== undefined) value.documentationName = documentationName;
  return { ok: true, value };
}

export type BoardFormula = { ok: true; boards: string[]; holds(present: ReadonlySet<string>): boolean } | { ok: false; message: string };

/** JS7's `noticeBoardNames` of ExpectNotices/ConsumeNotices: board names in quotes joined by `&&` and `||` (with parentheses). */
export function boardFormula(text: string): BoardFormula {
  const r = parseExpression(text);
  if (!r.ok) return { ok: false, message: describeExprProblem(r.problem, text) };
  const boards: string[] = [];
  const check = (e: Expr): string | undefined => {
    if (e.k === 'const' && typeof e.value === 'string') {
      const msg = nameProblem(e.value, 'notice board name');
      if (msg) return msg;
      if (!boards.includes(e.value)) boards.push(e.value);
      return undefined;
    }
    if (e.k === 'binary' && (e.op === '&&' || e.op === '||')) return check(e.a) ?? check(e.b);
    return "must be notice board names in quotes joined by && and || (like 'A' && 'B')";
  };
  const msg = check(r.value);
  if (msg) return { ok: false, message: msg };
  const tree = r.value;
  const holds = (present: ReadonlySet<string>): boolean => {
    const ev = (e: Expr): boolean => {
      if (e.k === 'const') return present.has(e.value as string);
      if (e.k === 'binary') return e.op === '&&' ? ev(e.a) && ev(e.b) : ev(e.a) || ev(e.b);
      return false;
    };
    return ev(tree);
  };
  return { ok: true, boards, holds };
}
