// Evaluation of JS7 expressions against a scope. Pure: the clock (`now`) and the process
// environment (`env`) come in with the scope.
//
// Values follow JS7: `+ - * /` want numbers; `++` joins as strings (two lists: one list);
// `< <= > >=` compare two numbers or two strings (a missing side yields missing);
// `==` `!=` compare any values; `&&` `||` `!` want booleans. Numbers are JavaScript
// numbers (JS7 uses BigDecimal): whole numbers up to 2^53 are exact.

import { LIMITS } from '../model.js';
import type { Expr, ExprProblem, Result, Value } from './ast.js';
import { MISSING } from './ast.js';
import { formatInstant } from './time-format.js';

/** What an expression can see. Every member is optional: what is absent is an error when used. */
export interface Scope {
  /**
   * The named values visible at this place (`$name`): the order's arguments and the results
   * of earlier jobs; undefined when unknown.
   */
  variable?(name: string): Value | undefined;
  /** The order's arguments only (`argument(key)`); when absent, `variable` is used. */
  argument?(name: string): Value | undefined;
  /** A value returned by the instruction with this label (`variable(key, label=L)`). */
  byLabel?(label: string, name: string): Value | undefined;
  /** A value returned by the last run of this job (`variable(key, job=J)`). */
  byJob?(job: string, name: string): Value | undefined;
  /** A variable of a job resource (`JobResource:name:variable`). */
  jobResource?(resource: string, name: string): Value | undefined;
  /** `$returnCode` when no variable of that name is known. */
  returnCode?: number;
  orderId?: string;
  workflowPath?: string;
  /** The label of the current instruction ('' when it has none). */
  label?: string;
  jobName?: string;
  controllerId?: string;
  tryCount?: number;
  maxTries?: number;
  catchCount?: number;
  timedOut?: boolean;
  workflowPosition?: string;
  /** The workflow's time zone (`workflow.timezone`, `$js7WorkflowTimezone`). */
  timeZone?: string;
  /** Now, in ms since the epoch (`now(…)`, `$js7EpochMilli`). */
  now?: number;
  /** When the order is scheduled for, in ms (`scheduledOrEmpty(…)`). */
  scheduledFor?: number;
  /** The process environment (`env('NAME')`). */
  env?(name: string): string | undefined;
}

class EvalError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** Evaluates an expression; a problem names the 1-based position of the failing part. */
export function evaluate(expr: Expr, scope: Scope): Result<Value> {
  try {
    const v = new Evaluator(scope).eval(expr);
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof EvalError) return { ok: false, problem: { message: e.message, position: e.at + 1 } };
    throw e;
  }
}

export function typeName(v: Value): string {
  if (v === MISSING) return 'missing';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'number') return 'Number';
  if (typeof v === 'boolean') return 'Boolean';
  if (Array.isArray(v)) return 'List';
  return 'Object';
}

/** JS7's convertToString: lists and objects as JSON-like text, missing as ''. */
export function valueToString(v: Value): string {
  if (v === MISSING) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(toJson(v));
}

function numberToString(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  return String(n);
}

function toJson(v: Value): unknown {
  if (v === MISSING) return null;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

/** A JSON value as an expression value (null → missing). */
export function fromJson(j: unknown): Value {
  if (j === null || j === undefined) return MISSING;
  if (typeof j === 'string' || typeof j === 'number' || typeof j === 'boolean') return j;
  if (Array.isArray(j)) return j.map(fromJson);
  if (typeof j === 'object') return Object.fromEntries(Object.entries(j as Record<string, unknown>).map(([k, x]) => [k, fromJson(x)]));
  return MISSING;
}

function equalValues(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equalValues(x, b[i]!));
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && equalValues(a[k]!, b[k]!));
  }
  return false;
}

/** The named values JS7 defines besides the order's own (`$js7OrderId` …). */
function builtinVariable(name: string, s: Scope): Value | undefined {
  switch (name) {
    case 'returnCode':
      return s.returnCode;
    case 'js7OrderId':
      return s.orderId;
    case 'js7WorkflowPath':
      return s.workflowPath;
    case 'js7Label':
      return s.label;
    case 'js7WorkflowPosition':
      return s.workflowPosition;
    case 'js7JobName':
      return s.jobName;
    case 'js7ControllerId':
      return s.controllerId;
    case 'js7TryCount':
      return s.tryCount;
    case 'js7MaxTries':
      return s.maxTries;
    case 'js7WorkflowTimezone':
      return s.timeZone;
    case 'js7EpochMilli':
      return s.now;
    case 'js7EpochSecond':
      return s.now === undefined ? undefined : Math.floor(s.now / 1000);
    default:
      return undefined;
  }
}

/** JS7's stripMargin (Scala's): each line's leading blanks up to and including `|` are removed. */
function stripMargin(s: string): string {
  return s
    .split('\n')
    .map((line) => {
      const m = /^[ \t]*\|/.exec(line);
      return m ? line.slice(m[0].length) : line;
    })
    .join('\n');
}

/** A Java regular expression as a JavaScript one (the common syntax is shared). */
function compileRegex(pattern: string, at: number, flags = ''): RegExp {
  if (pattern.length > LIMITS.expressionLengthMax) throw new EvalError('regular expression too long', at);
  try {
    return new RegExp(pattern, flags + 'u');
  } catch (e) {
    throw new EvalError(`invalid regular expression: ${e instanceof Error ? e.message : String(e)}`, at);
  }
}

class Evaluator {
  constructor(private readonly s: Scope) {}

  private fail(message: string, at: number): never {
    throw new EvalError(message, at);
  }

  private checkSize(v: Value, at: number): Value {
    if (typeof v === 'string' && v.length > LIMITS.argumentValueBytesMax) {
      this.fail(`result longer than ${LIMITS.argumentValueBytesMax} characters`, at);
    }
    if (Array.isArray(v) && v.length > LIMITS.argumentsMax * 100) this.fail('list too long', at);
    return v;
  }

  eval(e: Expr): Value {
    return this.checkSize(this.evalRaw(e), e.at);
  }

  private string(e: Expr, what = 'a String'): string {
    const v = this.eval(e);
    if (typeof v !== 'string') this.fail(`expected ${what}, got ${typeName(v)}`, e.at);
    return v;
  }

  private number(e: Expr): number {
    const v = this.eval(e);
    if (typeof v !== 'number') this.fail(`expected a Number, got ${typeName(v)}`, e.at);
    return v;
  }

  private int(e: Expr): number {
    const n = this.number(e);
    if (!Number.isInteger(n)) this.fail(`expected a whole number, got ${n}`, e.at);
    return n;
  }

  private boolean(e: Expr): boolean {
    const v = this.eval(e);
    if (typeof v !== 'boolean') this.fail(`expected a Boolean, got ${typeName(v)}`, e.at);
    return v;
  }

  private optionalString(e: Expr | undefined): string | undefined {
    if (e === undefined) return undefined;
    const v = this.eval(e);
    if (v === MISSING) return undefined;
    if (typeof v !== 'string') this.fail(`expected a String, got ${typeName(v)}`, e.at);
    return v;
  }

  private evalRaw(e: Expr): Value {
    switch (e.k) {
      case 'const':
        return e.value;
      case 'var': {
        const v = this.s.variable?.(e.name) ?? builtinVariable(e.name, this.s);
        if (v === undefined) this.fail(`no such named value: ${e.name}`, e.at);
        return v;
      }
      case 'named': {
        const key = this.string(e.key, 'a String as key');
        let v: Value | undefined;
        switch (e.where.kind) {
          case 'last':
            v = this.s.variable?.(key) ?? builtinVariable(key, this.s);
            break;
          case 'argument':
            v = this.s.argument ? this.s.argument(key) : this.s.variable?.(key);
            break;
          case 'label':
            v = this.s.byLabel?.(e.where.label, key);
            break;
          case 'job':
            v = this.s.byJob?.(e.where.job, key);
            break;
        }
        if (v !== undefined) return v;
        if (e.default !== undefined) return this.eval(e.default);
        switch (e.where.kind) {
          case 'argument':
            return this.fail(`no such order argument: ${key}`, e.at);
          case 'label':
            return this.fail(`the instruction labelled ${e.where.label} did not return a named value '${key}'`, e.at);
          case 'job':
            return this.fail(`the last run of job ${e.where.job} did not return a named value '${key}'`, e.at);
          default:
            return this.fail(`no such named value: ${key}`, e.at);
        }
      }
      case 'symbol':
        return this.symbol(e.name, e.at);
      case 'call':
        return this.call(e.name, e.args.map((a) => a.expr), e.at);
      case 'not':
        return !this.boolean(e.a);
      case 'negate':
        return -this.number(e.a);
      case 'binary':
        return this.binary(e.op, e.a, e.b, e.at);
      case 'if':
        return this.boolean(e.cond) ? this.eval(e.then) : this.eval(e.else);
      case 'list':
        return e.items.map((i) => this.eval(i));
      case 'object': {
        const o: Record<string, Value> = {};
        for (const [k, x] of e.fields) o[k] = this.eval(x);
        return o;
      }
      case 'dot': {
        if (e.a.k === 'symbol' && e.a.name === 'workflow' && e.name === 'timezone') {
          if (this.s.timeZone === undefined) this.fail('the workflow time zone is not known here', e.at);
          return this.s.timeZone;
        }
        const o = this.eval(e.a);
        if (typeof o !== 'object' || Array.isArray(o)) this.fail(`.${e.name} needs an Object, got ${typeName(o)}`, e.at);
        const v = (o as Record<string, Value>)[e.name];
        if (v === undefined || !Object.prototype.hasOwnProperty.call(o, e.name)) this.fail(`no field '${e.name}'`, e.at);
        return v;
      }
      case 'index': {
        const list = this.eval(e.a);
        if (!Array.isArray(list)) this.fail(`(index) needs a List, got ${typeName(list)}`, e.at);
        const i = this.int(e.index);
        if (i < 0 || i >= list.length) this.fail(`index ${i} out of range 0…${list.length - 1}`, e.index.at);
        return list[i]!;
      }
      case 'catch': {
        let v: Value;
        try {
          v = this.eval(e.a);
        } catch (err) {
          if (!(err instanceof EvalError)) throw err;
          v = MISSING;
        }
        if (v !== MISSING) return v;
        return e.default === undefined ? MISSING : this.eval(e.default);
      }
      case 'interpolate':
        return e.parts.map((p) => valueToString(this.eval(p))).join('');
      case 'jobResource': {
        if (e.name === undefined) this.fail(`JobResource:${e.resource} needs a variable name (JobResource:${e.resource}:NAME)`, e.at);
        const v = this.s.jobResource?.(e.resource, e.name);
        if (v === undefined) this.fail(`job resource ${e.resource} has no variable ${e.name}`, e.at);
        return v;
      }
      case 'error':
        return this.fail(valueToString(this.eval(e.a)), e.at);
    }
  }

  private symbol(name: string, at: number): Value {
    const s = this.s;
    const need = <T>(v: T | undefined): T => {
      if (v === undefined) this.fail(`${name} is not known here`, at);
      return v;
    };
    switch (name) {
      case 'orderId':
        return need(s.orderId);
      case 'workflowPath':
        return need(s.workflowPath);
      case 'label':
        return s.label ?? '';
      case 'controllerId':
        return need(s.controllerId);
      case 'job':
      case 'jobName':
        return need(s.jobName);
      case 'tryCount':
        return need(s.tryCount);
      case 'maxTries':
        return need(s.maxTries);
      case 'catchCount':
        return need(s.catchCount);
      case 'timedOut':
        return s.timedOut ?? false;
      case 'workflowPosition':
        return need(s.workflowPosition);
      case 'workflow':
        return { timezone: need(s.timeZone) };
      default:
        return this.fail(`unknown name '${name}'`, at);
    }
  }

  private binary(op: string, a: Expr, b: Expr, at: number): Value {
    switch (op) {
      case '&&':
        return this.boolean(a) && this.boolean(b);
      case '||':
        return this.boolean(a) || this.boolean(b);
      case '==':
        return equalValues(this.eval(a), this.eval(b));
      case '!=':
        return !equalValues(this.eval(a), this.eval(b));
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const x = this.eval(a);
        const y = this.eval(b);
        if (x === MISSING || y === MISSING) return MISSING;
        if (!((typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string'))) {
          this.fail(`${typeName(x)} and ${typeName(y)} are not comparable`, at);
        }
        if (op === '<') return x < y;
        if (op === '<=') return x <= y;
        if (op === '>') return x > y;
        return x >= y;
      }
      case '++': {
        const x = this.eval(a);
        const y = this.eval(b);
        if (Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
        return valueToString(x) + valueToString(y);
      }
      case '+':
      case '-':
      case '*':
      case '/': {
        const x = this.number(a);
        const y = this.number(b);
        if (op === '/' && y === 0) this.fail('division by zero', at);
        const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
        if (!Number.isFinite(r)) this.fail('number out of range', at);
        return r;
      }
      case 'in': {
        const x = this.eval(a);
        const list = this.eval(b);
        if (!Array.isArray(list)) this.fail(`'in' needs a List, got ${typeName(list)}`, b.at);
        return list.some((y) => equalValues(x, y));
      }
      case 'matches': {
        const x = this.eval(a);
        const str = x === MISSING ? '' : typeof x === 'string' ? x : this.fail(`'matches' needs a String, got ${typeName(x)}`, a.at);
        const re = compileRegex(`^(?:${this.string(b)})$`, b.at);
        return re.test(str);
      }
      default:
        return this.fail(`unknown operator ${op}`, at);
    }
  }

  private call(name: string, args: Expr[], at: number): Value {
    switch (name) {
      case 'toNumber': {
        const v = this.eval(args[0]!);
        if (typeof v === 'number') return v;
        if (typeof v === 'boolean') return v ? 1 : 0;
        if (typeof v === 'string' && /^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$/.test(v)) return Number(v);
        return this.fail(`not a valid number: ${valueToString(v).slice(0, 50)}`, at);
      }
      case 'toBoolean': {
        const v = this.eval(args[0]!);
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 1) return true;
        if (v === 'false' || v === 0) return false;
        return this.fail(`not a valid Boolean: ${valueToString(v).slice(0, 50)}`, at);
      }
      case 'stripMargin':
        return stripMargin(this.string(args[0]!));
      case 'mkString': {
        const v = this.eval(args[0]!);
        return Array.isArray(v) ? v.map(valueToString).join('') : valueToString(v);
      }
      case 'replaceAll': {
        const str = this.string(args[0]!);
        const re = compileRegex(this.string(args[1]!), args[1]!.at, 'g');
        const replacement = this.string(args[2]!);
        return str.replace(re, javaReplacement(replacement));
      }
      case 'match': {
        const str = this.string(args[0]!);
        const re = compileRegex(`^(?:${this.string(args[1]!)})$`, args[1]!.at);
        const replacement = this.string(args[2]!);
        if (!re.test(str)) this.fail('does not match', at);
        return str.replace(re, javaReplacement(replacement));
      }
      case 'substring': {
        const str = this.string(args[0]!);
        const start = this.int(args[1]!);
        const end = args[2] === undefined ? str.length : this.int(args[2]);
        if (start < 0 || end > str.length || start > end) this.fail(`substring(${start}, ${end}) out of range for a String of length ${str.length}`, at);
        return str.slice(start, end);
      }
      case 'min':
        return Math.min(this.number(args[0]!), this.number(args[1]!));
      case 'max':
        return Math.max(this.number(args[0]!), this.number(args[1]!));
      case 'env': {
        const n = this.string(args[0]!);
        if (this.s.env === undefined) this.fail('env() is not available here', at);
        const v = this.s.env(n);
        if (v !== undefined) return v;
        if (args[1] !== undefined) return this.eval(args[1]);
        return this.fail(`unknown environment variable: ${n}`, at);
      }
      case 'now':
      case 'scheduledOrEmpty': {
        const t = name === 'now' ? this.s.now : this.s.scheduledFor;
        if (t === undefined && name === 'now') this.fail('now() is not available here', at);
        const format = this.string(args[0]!);
        const zone = this.optionalString(args[1]);
        if (t === undefined) return '';
        // Without a time zone JS7 uses its host's; Orderly uses the workflow's, else UTC.
        const r = formatInstant(t, format, zone === undefined || zone === '' ? (this.s.timeZone ?? 'Etc/UTC') : zone);
        if (!r.ok) this.fail(r.message, at);
        return r.value;
      }
      case 'jobResourceVariable': {
        const resource = this.string(args[0]!);
        const n = this.string(args[1]!);
        const v = this.s.jobResource?.(resource, n);
        if (v === undefined) this.fail(`job resource ${resource} has no variable ${n}`, at);
        return v;
      }
      default:
        return this.fail(`unknown function '${name}'`, at);
    }
  }
}

/** Java's replacement syntax (`$1`, `\$`) in JavaScript's (`$1`, `$$`). */
function javaReplacement(r: string): string {
  let out = '';
  for (let i = 0; i < r.length; i++) {
    const c = r[i]!;
    if (c === '\\' && i + 1 < r.length) {
      const n = r[++i]!;
      out += n === '$' ? '$$' : n;
    } else if (c === '$') {
      const m = /^\$([0-9]+|\{[A-Za-z][A-Za-z0-9]*\})/.exec(r.slice(i));
      if (!m) out += '$$';
      else {
        out += m[1]!.startsWith('{') ? `$<${m[1]!.slice(1, -1)}>` : `$${m[1]}`;
        i += m[0].length - 1;
      }
    } else out += c;
  }
  return out;
}

export type { ExprProblem };
