// Request validation from the routes' TypeBox schemas (the same schemas the OpenAPI document
// is generated from). A refusal is a 400 `invalid` whose problems name the JSON path in the
// request: `body.priority`, `body.orders[2].workflow`, `query.limit`, `params.id`.
//
// - Bodies are checked as they are (no type coercion: "5" is not a number); query strings,
//   path parameters and headers are strings on the wire and are converted first, strictly:
//   an integer is written in decimal digits only (no `1.0`, `1e3`, `0x10`, ` 7`) and must be a
//   safe integer (|n| ≤ 2^53 - 1); a number is decimal digits with an optional fraction; a
//   parameter given twice where one is expected is refused.
// - A missing body counts as `{}`, so `POST /orders/x/cancel` needs no body.
// - For a union of object shapes (one order or a batch) the problems are those of the
//   variant whose required fields are present, not a vague "matches none".

import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

import type { ProblemItem } from '../core/commands.js';
import { invalidError, pathOf } from './errors.js';

const PROBLEMS_MAX = 50;

type Part = 'body' | 'query' | 'params' | 'headers';

function partOf(httpPart: string | undefined): Part {
  switch (httpPart) {
    case 'querystring':
      return 'query';
    case 'params':
      return 'params';
    case 'headers':
      return 'headers';
    default:
      return 'body';
  }
}

/** `/orders/2/priority` → `body.orders[2].priority`. */
export function requestPath(part: string, pointer: string): string {
  if (pointer === '' || pointer === '/') return part;
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((k) => (/^(0|[1-9]\d*)$/.test(k) ? Number(k) : k));
  return pathOf(part, ...keys);
}

function describe(schema: TSchema): string | undefined {
  const m = (schema as { errorMessage?: unknown }).errorMessage;
  return typeof m === 'string' ? m : undefined;
}

function messageOf(e: ValueError): string {
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field';
    default: {
      const own = describe(e.schema);
      if (own) return own;
      // TypeBox says "Expected integer to be less or equal to 1000": keep it, in our case.
      return e.message.charAt(0).toLowerCase() + e.message.slice(1);
    }
  }
}

function problemsOf(check: TypeCheck<TSchema>, value: unknown, part: Part): ProblemItem[] {
  const out: ProblemItem[] = [];
  const seen = new Set<string>();
  for (const e of check.Errors(value)) {
    const path = requestPath(part, e.path);
    // The first problem at a place says it best (a missing field is "required", not also "expected string").
    if (seen.has(path)) continue;
    // A problem inside a place already refused adds nothing.
    if ([...seen].some((p) => path.startsWith(`${p}.`) || path.startsWith(`${p}[`))) continue;
    seen.add(path);
    out.push({ path, message: messageOf(e) });
    if (out.length >= PROBLEMS_MAX) break;
  }
  return out.length > 0 ? out : [{ path: part, message: 'invalid' }];
}

interface Variant {
  required: string[];
  check: TypeCheck<TSchema>;
}

function objectVariants(schema: TSchema): Variant[] | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!Array.isArray(anyOf) || !anyOf.every((s) => (s as { type?: unknown }).type === 'object')) return undefined;
  return anyOf.map((s) => ({ required: ((s as { required?: string[] }).required ?? []).slice(), check: TypeCompiler.Compile(s) }));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;
const NUMBER_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** The JSON Schema `type` of a scalar schema, or undefined for anything else. */
function scalarType(schema: TSchema): string | undefined {
  const t = (schema as { type?: unknown }).type;
  return typeof t === 'string' && t !== 'object' && t !== 'array' ? t : undefined;
}

/**
 * Problems of query/params/headers values that TypeBox's conversion would take too kindly
 * (`1e400` → Infinity, `0x10` → 16, `1.0` → 1, `99999999999999999999` → 1e20, `[1, 2]` → 1).
 */
function strictProblems(schema: TSchema, data: unknown, part: Part): ProblemItem[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props || !isPlainObject(data)) return [];
  const out: ProblemItem[] = [];
  for (const [key, sub] of Object.entries(props)) {
    const raw = data[key];
    if (raw === undefined) continue;
    const type = scalarType(sub);
    if (type === undefined) continue;
    const path = pathOf(part, key);
    if (Array.isArray(raw)) {
      out.push({ path, message: 'given more than once' });
      continue;
    }
    if (typeof raw !== 'string') continue;
    if (type === 'integer' && !(INTEGER_TEXT.test(raw) && Number.isSafeInteger(Number(raw)))) {
      out.push({ path, message: describe(sub) ?? `must be a whole number in decimal digits (at most ${Number.MAX_SAFE_INTEGER})` });
    } else if (type === 'number' && !(NUMBER_TEXT.test(raw) && Number.isFinite(Number(raw)))) {
      out.push({ path, message: describe(sub) ?? 'must be a decimal number' });
    }
  }
  return out;
}

/** Fastify's validator compiler for TypeBox schemas. */
export function validatorCompiler({ schema, httpPart }: { schema: TSchema; httpPart?: string }): (data: unknown) => { value: unknown } | { error: Error } {
  const part = partOf(httpPart);
  const check = TypeCompiler.Compile(schema);
  const variants = objectVariants(schema);
  return (data: unknown) => {
    let value = data;
    if (part === 'body') {
      if (value === null || value === undefined) value = {};
    } else {
      const strict = strictProblems(schema, value, part);
      if (strict.length > 0) return { error: invalidError(strict) };
      value = Value.Convert(schema, value);
    }
    if (check.Check(value)) return { value };
    let problems: ProblemItem[];
    if (part === 'body' && !isPlainObject(value) && (variants || (schema as { type?: unknown }).type === 'object')) {
      problems = [{ path: 'body', message: 'must be a JSON object' }];
    } else if (variants && isPlainObject(value)) {
      const v = value;
      const chosen = variants.find((x) => x.required.length > 0 && x.required.every((k) => k in v)) ?? variants[0]!;
      problems = problemsOf(chosen.check, value, part);
    } else {
      problems = problemsOf(check, value, part);
    }
    return { error: invalidError(problems) };
  };
}
