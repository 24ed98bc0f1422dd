// JS7 `orderPreparation`: the parameters a workflow's orders take. Pure.
//
//     "orderPreparation": {
//       "parameters": {
//         "name":   { "type": "String", "default": "'World'", "facet": "[A-Z].*", "message": "…" },
//         "count":  { "type": "Number", "default": "1 + 2" },
//         "dryRun": { "type": "Boolean" },
//         "items":  { "type": "List", "listParameters": { "id": { "type": "Number" } } },
//         "opts":   { "type": "Map" },
//         "stamp":  { "type": "String", "final": "now('yyyy-MM-dd')" }
//       },
//       "allowUndeclared": false
//     }
//
// Order arguments are text in Orderly. At add, every declared parameter is checked against
// its type (Number: a number; Boolean: true/false; List: a JSON array, of objects with the
// `listParameters` when given; Map: a JSON object); a parameter without a value takes its
// `default` (an expression, evaluated then), else the order is refused naming it; a `final`
// parameter is always computed and may not be given. Undeclared arguments are refused unless
// `allowUndeclared` is true. Expressions see typed values: `$count + 1` is a number.

import { ARGUMENT_NAME } from './checks.js';
import type { ProblemItem } from './commands.js';
import type { Scope, Value } from './expr/index.js';
import { describeExprProblem, evaluateText, fromJson, MISSING, parseExpression, typeName, valueToString } from './expr/index.js';
import { joinPath } from './json-path.js';
import type { Json, OrderPreparation, Parameter, ParameterType, SimpleParameterType } from './model.js';
import { LIMITS } from './model.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasOwn = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

const TYPES: ReadonlySet<string> = new Set(['String', 'Number', 'Boolean', 'List', 'Map']);
const SIMPLE_TYPES: ReadonlySet<string> = new Set(['String', 'Number', 'Boolean']);
const PREPARATION_KEYS = new Set(['parameters', 'allowUndeclared']);
const PARAMETER_KEYS = new Set(['type', 'default', 'final', 'facet', 'message', 'list', 'listParameters', 'description']);

function exprProblem(text: string): string | undefined {
  const r = parseExpression(text);
  return r.ok ? undefined : `not a valid expression: ${describeExprProblem(r.problem, text)}`;
}

function regexProblem(re: string): string | undefined {
  try {
    new RegExp(re, 'u');
    return undefined;
  } catch (e) {
    return `not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Validates `orderPreparation` (at `path`); problems are added to `problems`. */
export function validateOrderPreparation(raw: unknown, path: string, problems: ProblemItem[]): OrderPreparation | undefined {
  const add = (p: string, message: string): void => {
    problems.push({ path: p, message });
  };
  const before = problems.length;
  if (!isObject(raw)) {
    add(path, 'must be an object');
    return undefined;
  }
  for (const k of Object.keys(raw)) if (!PREPARATION_KEYS.has(k)) add(joinPath(path, k), 'unknown key (not part of an orderPreparation)');
  const out: OrderPreparation = {};
  if (hasOwn(raw, 'allowUndeclared')) {
    if (typeof raw['allowUndeclared'] !== 'boolean') add(joinPath(path, 'allowUndeclared'), 'must be true or false');
    else out.allowUndeclared = raw['allowUndeclared'];
  }
  if (hasOwn(raw, 'parameters')) {
    const pp = joinPath(path, 'parameters');
    const params = raw['parameters'];
    if (!isObject(params)) add(pp, 'must be an object');
    else if (Object.keys(params).length > LIMITS.argumentsMax) add(pp, `must have at most ${LIMITS.argumentsMax} parameters`);
    else {
      const parameters: Record<string, Parameter> = {};
      for (const [name, def] of Object.entries(params)) {
        const p = joinPath(pp, name);
        if (!ARGUMENT_NAME.test(name)) {
          add(p, 'parameter name must start with a letter or _ and use A-Z a-z 0-9 _ . -');
          continue;
        }
        const param = validateParameter(def, p, add);
        if (param) parameters[name] = param;
      }
      out.parameters = parameters;
    }
  }
  return problems.length > before ? undefined : out;
}

function validateParameter(raw: unknown, p: string, add: (p: string, m: string) => void): Parameter | undefined {
  if (!isObject(raw)) {
    add(p, 'must be an object');
    return undefined;
  }
  let ok = true;
  const bad = (k: string, m: string): void => {
    add(joinPath(p, k), m);
    ok = false;
  };
  for (const k of Object.keys(raw)) if (!PARAMETER_KEYS.has(k)) bad(k, 'unknown key (not part of an order parameter)');
  const type = raw['type'];
  if (type === undefined) bad('type', 'required');
  else if (typeof type !== 'string' || !TYPES.has(type)) {
    bad('type', isObject(type) ? 'not supported: write the type as "String", "Number", "Boolean", "List" or "Map" (with listParameters)' : 'must be "String", "Number", "Boolean", "List" or "Map"');
  }
  const param: Parameter = { type: type as ParameterType };
  if (hasOwn(raw, 'default')) {
    const d = raw['default'];
    if (typeof d === 'string') {
      const m = exprProblem(d);
      if (m) bad('default', m);
      else param.default = d;
    } else if ((typeof d === 'number' && Number.isFinite(d)) || typeof d === 'boolean') param.default = d;
    else bad('default', 'must be an expression (a string), a number or a boolean');
  }
  if (hasOwn(raw, 'final')) {
    const f = raw['final'];
    if (typeof f !== 'string') bad('final', 'must be an expression (a string)');
    else {
      const m = exprProblem(f);
      if (m) bad('final', m);
      else param.final = f;
    }
    if (hasOwn(raw, 'default')) bad('final', 'give either default or final, not both');
  }
  for (const k of ['facet', 'message', 'description'] as const) {
    if (!hasOwn(raw, k)) continue;
    const v = raw[k];
    if (typeof v !== 'string' || v.length > LIMITS.messageLengthMax) bad(k, `must be a string of at most ${LIMITS.messageLengthMax} characters`);
    else if (k === 'facet' && regexProblem(v)) bad(k, regexProblem(v)!);
    else param[k] = v;
  }
  if ((hasOwn(raw, 'facet') || hasOwn(raw, 'list')) && type !== 'String') bad(hasOwn(raw, 'facet') ? 'facet' : 'list', 'only for type String');
  if (hasOwn(raw, 'list')) {
    const l = raw['list'];
    if (!Array.isArray(l) || l.length === 0 || l.length > LIMITS.argumentsMax || !l.every((x) => typeof x === 'string')) {
      bad('list', `must be 1 to ${LIMITS.argumentsMax} strings`);
    } else param.list = [...(l as string[])];
  }
  if (hasOwn(raw, 'listParameters')) {
    const lp = raw['listParameters'];
    if (type !== 'List' && type !== 'Map') bad('listParameters', 'only for type List or Map');
    else if (!isObject(lp) || Object.keys(lp).length > LIMITS.argumentsMax) bad('listParameters', 'must be an object of fields');
    else {
      const fields: Record<string, { type: SimpleParameterType }> = {};
      for (const [f, fd] of Object.entries(lp)) {
        const fp = joinPath(joinPath(p, 'listParameters'), f);
        if (!isObject(fd) || Object.keys(fd).some((k) => k !== 'type') || typeof fd['type'] !== 'string' || !SIMPLE_TYPES.has(fd['type'])) {
          add(fp, 'must be {"type": "String" | "Number" | "Boolean"}');
          ok = false;
        } else fields[f] = { type: fd['type'] as SimpleParameterType };
      }
      param.listParameters = fields;
    }
  }
  return ok ? param : undefined;
}

/** The typed value of an argument's text, per its declared type, or a problem message. */
export function typedArgument(param: Parameter, text: string): { value: Value } | { message: string } {
  switch (param.type) {
    case 'String':
      if (param.facet !== undefined && !new RegExp(`^(?:${param.facet})$`, 'u').test(text)) {
        return { message: param.message ?? `does not match ${JSON.stringify(param.facet)}` };
      }
      if (param.list !== undefined && !param.list.includes(text)) return { message: `must be one of ${param.list.map((x) => JSON.stringify(x)).join(', ')}` };
      return { value: text };
    case 'Number':
      if (!/^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$/.test(text)) return { message: 'must be a number' };
      return { value: Number(text) };
    case 'Boolean':
      if (text !== 'true' && text !== 'false') return { message: 'must be true or false' };
      return { value: text === 'true' };
    case 'List':
    case 'Map': {
      let j: unknown;
      try {
        j = JSON.parse(text) as unknown;
      } catch {
        return { message: `must be a JSON ${param.type === 'List' ? 'array' : 'object'}` };
      }
      if (param.type === 'List' ? !Array.isArray(j) : !isObject(j)) return { message: `must be a JSON ${param.type === 'List' ? 'array' : 'object'}` };
      const fields = param.listParameters;
      if (fields !== undefined) {
        const items = param.type === 'List' ? (j as unknown[]) : [j];
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          const where = param.type === 'List' ? `item ${i}: ` : '';
          if (!isObject(item)) return { message: `${where}must be an object` };
          for (const k of Object.keys(item)) if (!hasOwn(fields, k)) return { message: `${where}unknown field ${k}` };
          for (const [k, f] of Object.entries(fields)) {
            const v = item[k];
            if (v === undefined) return { message: `${where}field ${k} is required` };
            const want = f.type === 'String' ? 'string' : f.type === 'Number' ? 'number' : 'boolean';
            if (typeof v !== want) return { message: `${where}field ${k} must be a ${f.type}` };
          }
        }
      }
      return { value: fromJson(j as Json) };
    }
  }
}

/** The text of a value as an argument of the declared type, or a problem message. */
function valueAsArgument(param: Parameter, v: Value): { text: string } | { message: string } {
  const want: Record<ParameterType, string> = { String: 'String', Number: 'Number', Boolean: 'Boolean', List: 'List', Map: 'Object' };
  const got = typeName(v);
  // A String parameter takes any simple value as its text (JS7 converts).
  if (param.type === 'String' && (got === 'Number' || got === 'Boolean')) return { text: valueToString(v) };
  if (got !== want[param.type]) return { message: `must be a ${param.type}, the expression gave a ${got}` };
  const text = valueToString(v);
  const check = typedArgument(param, text);
  return 'message' in check ? check : { text };
}

export interface PrepareContext {
  orderId: string;
  workflowPath: string;
  timeZone?: string | undefined;
  now: number;
  scheduledFor?: number | undefined;
}

/**
 * The arguments of a new order: checked against the parameters, defaults and finals filled
 * in. Problems name the argument (`arguments.x`).
 */
export function prepareOrderArguments(
  prep: OrderPreparation | undefined,
  given: Readonly<Record<string, string>>,
  ctx: PrepareContext,
): { ok: true; arguments: Record<string, string> } | { ok: false; problems: ProblemItem[] } {
  if (prep === undefined) return { ok: true, arguments: { ...given } };
  const params = prep.parameters ?? {};
  const problems: ProblemItem[] = [];
  const typed = new Map<string, Value>();
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(given)) {
    const param = params[name];
    const path = joinPath('arguments', name);
    if (param === undefined) {
      if (prep.allowUndeclared !== true) problems.push({ path, message: 'not a parameter of the workflow (and allowUndeclared is not true)' });
      else out[name] = text;
      continue;
    }
    if (param.final !== undefined) {
      problems.push({ path, message: 'is final: its value is set by the workflow' });
      continue;
    }
    const t = typedArgument(param, text);
    if ('message' in t) problems.push({ path, message: `parameter ${name} (${param.type}): ${t.message}` });
    else {
      typed.set(name, t.value);
      out[name] = text;
    }
  }
  const scope: Scope = {
    orderId: ctx.orderId,
    workflowPath: ctx.workflowPath,
    now: ctx.now,
    ...(ctx.timeZone !== undefined ? { timeZone: ctx.timeZone } : {}),
    ...(ctx.scheduledFor !== undefined ? { scheduledFor: ctx.scheduledFor } : {}),
    variable: (n) => typed.get(n),
  };
  for (const [name, param] of Object.entries(params)) {
    if (hasOwn(given, name) && param.final === undefined) continue;
    const path = joinPath('arguments', name);
    const expr = param.final ?? param.default;
    if (expr === undefined) {
      problems.push({ path, message: `required: parameter ${name} (${param.type}) has no default` });
      continue;
    }
    let v: Value;
    if (typeof expr === 'string') {
      const r = evaluateText(expr, scope);
      if (!r.ok) {
        problems.push({ path, message: `the ${param.final !== undefined ? 'final value' : 'default'} of parameter ${name} failed: ${describeExprProblem(r.problem, expr)}` });
        continue;
      }
      v = r.value;
    } else v = expr;
    if (v === MISSING) continue;
    const a = valueAsArgument(param, v);
    if ('message' in a) problems.push({ path, message: `the ${param.final !== undefined ? 'final value' : 'default'} of parameter ${name}: ${a.message}` });
    else {
      out[name] = a.text;
      typed.set(name, v);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, arguments: out };
}

/** The typed value of an order argument (declared parameters), for expressions. */
export function typedOrderVariable(prep: OrderPreparation | undefined, args: Readonly<Record<string, string>>, name: string): Value | undefined {
  if (!hasOwn(args, name)) return undefined;
  const text = args[name]!;
  const param = prep?.parameters?.[name];
  if (param === undefined) return text;
  const t = typedArgument(param, text);
  return 'value' in t ? t.value : text;
}
