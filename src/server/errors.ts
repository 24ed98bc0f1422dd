// The HTTP API's error format, everywhere:
//
//   { "error": { "code": "...", "message": "...", "problems": [{ "path": "...", "message": "..." }] } }
//
// `problems` is there for 400 invalid (each naming the JSON path in the request, e.g.
// `body.priority`, `query.limit`, `body.instructions[0].demands[0].count`) and whenever the
// engine gives some (a lock order cycle). The status follows the code.

import type { Problem, ProblemItem } from '../core/commands.js';
import { joinPath } from '../core/validate.js';
import { OrderlyError } from '../runtime/orderly.js';

export type ErrorCode =
  | Problem['code']
  | 'unauthorized'
  | 'forbidden'
  | 'too-large'
  | 'unsupported-media-type'
  | 'too-many-requests'
  | 'unavailable'
  | 'internal'
  /** A call of a compatible API (Actian's) that Orderly does not provide. */
  | 'not-implemented';

export interface ErrorBody {
  error: { code: string; message: string; problems?: ProblemItem[] };
}

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'lock-order-cycle': 409,
  state: 409,
  'too-large': 413,
  'unsupported-media-type': 415,
  'too-many-requests': 429,
  internal: 500,
  'not-implemented': 501,
  unavailable: 503,
};

export function statusOfCode(code: string): number {
  return (STATUS_BY_CODE as Record<string, number | undefined>)[code] ?? 500;
}

/** A refusal with its HTTP status. Thrown by handlers, hooks and the validator. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  /** For 429: sent as the Retry-After header. */
  retryAfterSeconds?: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly problems?: ProblemItem[],
  ) {
    super(message);
    this.statusCode = statusOfCode(code);
  }

  body(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.problems && this.problems.length > 0) error.problems = this.problems;
    return { error };
  }
}

/** 400 with the problems; the message names the first (and how many more). */
export function invalidError(problems: ProblemItem[]): HttpError {
  const first = problems[0];
  const head = first ? `${first.path}: ${first.message}` : 'invalid request';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new HttpError('invalid', head + more, problems);
}

export function notFound(message: string): HttpError {
  return new HttpError('not-found', message);
}

/**
 * A path of the engine or the validators (relative to a document: `instructions[0].x`,
 * `$`, `$["a-b"]`) as a path in the request: `body.instructions[0].x`, `body`, `body["a-b"]`.
 */
export function underPath(base: string, path: string): string {
  if (path === '' || path === '$') return base;
  if (path.startsWith('$[')) return base + path.slice(1);
  if (path.startsWith('$.')) return `${base}.${path.slice(2)}`;
  if (path.startsWith('[')) return base + path;
  return `${base}.${path}`;
}

/** Re-bases the problem paths of an engine refusal; everything else is kept. */
export function fromOrderly(err: OrderlyError, mapPath: (path: string) => string = (p) => p): HttpError {
  const problems = err.problems?.map((p) => ({ path: mapPath(p.path), message: p.message }));
  if (err.code === 'invalid' && problems && problems.length > 0) return invalidError(problems);
  return new HttpError(err.code, err.problem.message, problems);
}

/** Runs an Orderly call; a refusal becomes an HttpError with paths re-based by `mapPath`. */
export async function orderlyCall<T>(fn: () => Promise<T>, mapPath?: (path: string) => string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OrderlyError) throw fromOrderly(err, mapPath);
    throw err;
  }
}

/** `body.orders[3]` etc.: a JSON path from pieces. */
export function pathOf(base: string, ...keys: (string | number)[]): string {
  let p = base;
  for (const k of keys) p = joinPath(p, k);
  return p;
}
