// JS7's expression language: `parseExpression(text)` → syntax tree or problem,
// `evaluate(expr, scope)` → value or problem. Pure; the scope brings the clock and the
// environment. Problems carry the 1-based position in the expression text.

import type { Expr, ExprProblem, Result, Value } from './ast.js';
import { evaluate } from './evaluate.js';
import type { Scope } from './evaluate.js';
import { parseExpression } from './parse.js';

export type { BinaryOp, CallArgument, Expr, ExprProblem, Missing, Result, Value, Where } from './ast.js';
export { MISSING } from './ast.js';
export type { Scope } from './evaluate.js';
export { evaluate, fromJson, typeName, valueToString } from './evaluate.js';
export { parseExpression, SYMBOLS } from './parse.js';
export { formatInstant, wallClock } from './time-format.js';
export type { WallClock } from './time-format.js';

/** Parses and evaluates. */
export function evaluateText(text: string, scope: Scope): Result<Value> {
  const parsed = parseExpression(text);
  return parsed.ok ? evaluate(parsed.value, scope) : parsed;
}

/** A problem as one line: `message (at position N of 'text')`. */
export function describeExprProblem(p: ExprProblem, text?: string): string {
  if (text === undefined) return `${p.message} (at position ${p.position})`;
  const shown = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  return `${p.message} (at position ${p.position} of ${JSON.stringify(shown)})`;
}

export type { Expr as Expression };
