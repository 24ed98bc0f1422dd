// What every `orderly` command shares, whichever way it reaches the engine (control socket,
// the journal directly, or HTTP): the error it throws, the error body, the order states and
// the position check. Kept free of the engine and the journal so that a command loads only
// what it uses (`orderly --version` and a command over HTTP load none of them).

import type { ProblemItem } from '../core/commands.js';
import type { Position } from '../core/model.js';

/** A refusal or failure reported by the engine (or the offline journal access). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; problems?: ProblemItem[] };
}

export { ORDER_STATES } from '../core/model.js';

export function isPosition(v: unknown): v is Position {
  return Array.isArray(v) && v.length > 0 && v.every((x) => (typeof x === 'number' && Number.isInteger(x) && x >= 0) || typeof x === 'string');
}

/** A node serves at most this many agents (`--agent`, `database.agents`), each name 1 to AGENT_NAME_LENGTH_MAX characters. */
export const AGENTS_PER_NODE_MAX = 64;
export const AGENT_NAME_LENGTH_MAX = 128;
