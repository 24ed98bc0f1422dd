// The expressions of the instructions in this folder (Sleep durations, Prompt questions,
// Fork results, If predicates): JS7's expression language (src/core/expr), evaluated with
// the order's arguments and its last outcome in scope, and the clock of the command.

import { describeExprProblem, evaluateText, parseExpression, valueToString, type Scope, type Value } from '../expr/index.js';
import type { Order, Workflow } from '../model.js';
import { typedOrderVariable } from '../order-preparation.js';

export type { Value };

export type Evaluated<T = Value> = { ok: true; value: T } | { ok: false; message: string };

/** Why `text` is not an expression (undefined when it is one). */
export function expressionProblem(text: string): string | undefined {
  const r = parseExpression(text);
  return r.ok ? undefined : describeExprProblem(r.problem, text);
}

/** What an expression sees at the order's position. */
export function orderScope(o: Order, wf: Workflow, now: number, label?: string): Scope {
  const scope: Scope = {
    variable: (name) => typedOrderVariable(wf.orderPreparation, o.arguments, name),
    orderId: o.id,
    workflowPath: o.workflow,
    label: label ?? '',
    now,
    workflowPosition: o.position.join('/'),
  };
  if (o.outcome?.returnCode !== undefined) scope.returnCode = o.outcome.returnCode;
  if (wf.timeZone !== undefined) scope.timeZone = wf.timeZone;
  if (o.scheduledFor !== undefined) scope.scheduledFor = o.scheduledFor;
  return scope;
}

/** The value of `expr` (a number stands for itself). */
export function evaluate(expr: string | number, scope: Scope): Evaluated {
  if (typeof expr === 'number') return { ok: true, value: expr };
  const r = evaluateText(expr, scope);
  return r.ok ? r : { ok: false, message: describeExprProblem(r.problem, expr) };
}

/** Seconds: a number from 0 to `max` (or a text holding one, as order arguments are text). */
export function evaluateSeconds(expr: string | number, scope: Scope, max: number): Evaluated<number> {
  const r = evaluate(expr, scope);
  if (!r.ok) return r;
  const v = r.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > max) return { ok: false, message: `${valueToString(v) || 'missing'} is not a number of seconds from 0 to ${max}` };
  return { ok: true, value: n };
}

/** A value as the text an order argument holds. */
export function asText(v: Value): string {
  return valueToString(v);
}
