// The expressions of the instructions in this folder (Sleep durations, Prompt questions,
// Fork results): JS7 writes them as text. One place evaluates them, in the core, with the
// order's arguments and its last outcome as the scope.
//
// Understood here: number literals, string literals ('text' or "text"), `$name`, `${name}`
// and `$returnCode`. Anything else is refused at deploy by `expressionProblem`.

import type { Order } from '../model.js';

export type Value = string | number | boolean;

export type Evaluated = { ok: true; value: Value } | { ok: false; message: string };

const NAME = /^\$(?:([A-Za-z_][A-Za-z0-9_.-]*)|\{([A-Za-z_][A-Za-z0-9_.-]*)\})$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;

/** Why `expr` is not an expression Orderly evaluates (undefined when it is). */
export function expressionProblem(expr: string): string | undefined {
  const r = parse(expr);
  return r.ok ? undefined : r.message;
}

type Parsed = { ok: true; kind: 'value'; value: Value } | { ok: true; kind: 'name'; name: string } | { ok: false; message: string };

function parse(expr: string): Parsed {
  const t = expr.trim();
  if (NUMBER.test(t)) return { ok: true, kind: 'value', value: Number(t) };
  if (t === 'true' || t === 'false') return { ok: true, kind: 'value', value: t === 'true' };
  const q = t[0];
  if ((q === "'" || q === '"') && t.length >= 2 && t[t.length - 1] === q) {
    const body = t.slice(1, -1);
    if (q === "'" && !body.includes("'")) return { ok: true, kind: 'value', value: body };
    if (q === '"' && !/["$\\]/.test(body)) return { ok: true, kind: 'value', value: body };
  }
  const m = NAME.exec(t);
  if (m) return { ok: true, kind: 'name', name: (m[1] ?? m[2])! };
  return { ok: false, message: `expression ${JSON.stringify(expr)} at position 0: expected a number, a quoted string or $name` };
}

/** The value of `expr` for order `o`. */
export function evaluate(expr: string | number, o: Order): Evaluated {
  if (typeof expr === 'number') return { ok: true, value: expr };
  const r = parse(expr);
  if (!r.ok) return r;
  if (r.kind === 'value') return { ok: true, value: r.value };
  if (r.name === 'returnCode' && o.arguments['returnCode'] === undefined) {
    const rc = o.outcome?.returnCode;
    return rc === undefined ? { ok: false, message: 'no returnCode yet' } : { ok: true, value: rc };
  }
  const v = o.arguments[r.name];
  if (v === undefined) return { ok: false, message: `no argument ${r.name}` };
  return { ok: true, value: v };
}

/** Seconds to sleep: a finite number ≥ 0. */
export function evaluateSeconds(expr: string | number, o: Order, max: number): Evaluated & { value?: number } {
  const r = evaluate(expr, o);
  if (!r.ok) return r;
  const n = typeof r.value === 'number' ? r.value : typeof r.value === 'string' && NUMBER.test(r.value.trim()) ? Number(r.value) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > max) return { ok: false, message: `duration ${JSON.stringify(r.value)} is not a number of seconds from 0 to ${max}` };
  return { ok: true, value: n };
}

export function asText(v: Value): string {
  return typeof v === 'string' ? v : String(v);
}
