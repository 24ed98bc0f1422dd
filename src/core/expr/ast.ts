// The syntax tree and the values of JS7's expression language. Pure data.

/** JS7's `missing` value: what `$x?` yields for an unknown `$x`, and what compares as unknown. */
export const MISSING: unique symbol = Symbol('missing');
export type Missing = typeof MISSING;

/** A value: String, Number, Boolean, List, Object (JS7's ObjectValue, our Map) or missing. */
export type Value = string | number | boolean | Missing | Value[] | { readonly [key: string]: Value };

/** A problem parsing or evaluating an expression; `position` is the 1-based character in the expression text. */
export interface ExprProblem {
  message: string;
  position: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problem: ExprProblem };

/** Where `variable(...)` looks: the order's variables, the results of the instruction with a label, or of a job's last run. */
export type Where = { kind: 'last' } | { kind: 'argument' } | { kind: 'label'; label: string } | { kind: 'job'; job: string };

export type BinaryOp =
  | '||'
  | '&&'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '+'
  | '-'
  | '++'
  | '*'
  | '/'
  | 'in'
  | 'matches';

export interface CallArgument {
  name?: string;
  expr: Expr;
}

/** Every node carries `at`: its 0-based offset in the expression text. */
export type Expr =
  | { k: 'const'; value: Value; at: number }
  /** `$name`, `${name}`, `` $`name` ``. */
  | { k: 'var'; name: string; at: number }
  /** `variable(key, label=L, job=J, default=D)` and `argument(key, default=D)`. */
  | { k: 'named'; where: Where; key: Expr; default?: Expr | undefined; at: number }
  /** A built-in name used without parentheses: `orderId`, `workflowPath`, `label`, … */
  | { k: 'symbol'; name: string; at: number }
  | { k: 'call'; name: string; args: CallArgument[]; at: number }
  | { k: 'not'; a: Expr; at: number }
  | { k: 'negate'; a: Expr; at: number }
  | { k: 'binary'; op: BinaryOp; a: Expr; b: Expr; at: number }
  | { k: 'if'; cond: Expr; then: Expr; else: Expr; at: number }
  | { k: 'list'; items: Expr[]; at: number }
  | { k: 'object'; fields: [string, Expr][]; at: number }
  | { k: 'dot'; a: Expr; name: string; at: number }
  | { k: 'index'; a: Expr; index: Expr; at: number }
  /** `a ? b` (b absent: `a?`, yielding missing): a's value, or b when a fails or is missing. */
  | { k: 'catch'; a: Expr; default?: Expr | undefined; at: number }
  /** A double-quoted string with `$name`, `${name}` or `$(expr)` inside. */
  | { k: 'interpolate'; parts: Expr[]; at: number }
  /** `JobResource:name:variable`. */
  | { k: 'jobResource'; resource: string; name?: string | undefined; at: number }
  /** `error(message)`: fails with the message. */
  | { k: 'error'; a: Expr; at: number };
