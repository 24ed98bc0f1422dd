// Checks of what a node brings to the cluster (its name, worker, agents, functions), with the
// limits the core applies to the same things.

import { LIMITS } from '../core/model.js';
import { AGENT_NAME_CHARS_MAX, WORKER_AGENTS_COUNT_MAX, WORKER_ID_PATTERN } from '../core/workers.js';
import { LEASE_TTL_MS_DEFAULT, LEASE_TTL_MS_MAX, LEASE_TTL_MS_MIN } from '../journal/postgres-lease.js';
import { NODE_NAME_BYTES_MAX } from '../journal/postgres.js';

/** Bytes of a node's HTTP URL as its row shows it. */
export const HTTP_URL_BYTES_MAX = 2_048;
/** Characters of a function's name (as the core accepts in registerWorker). */
export const FUNCTION_NAME_CHARS_MAX = 128;
/** The heartbeat's default time to live: the controller lease's. */
export const HEARTBEAT_TTL_MS_DEFAULT = LEASE_TTL_MS_DEFAULT;

export function checkNodeName(where: string, node: unknown): string {
  if (typeof node !== 'string' || node.length === 0 || Buffer.byteLength(node) > NODE_NAME_BYTES_MAX || /\p{Cc}/u.test(node)) {
    throw new RangeError(`${where}: node must be 1 to ${NODE_NAME_BYTES_MAX} bytes without control characters`);
  }
  return node;
}

export function checkWorkerId(where: string, id: unknown): string {
  if (typeof id !== 'string' || !WORKER_ID_PATTERN.test(id)) throw new RangeError(`${where}: workerId must be 1 to 128 of A-Z a-z 0-9 _ . : @ # -`);
  return id;
}

export function checkSlots(where: string, slots: unknown): number {
  if (typeof slots !== 'number' || !Number.isInteger(slots) || slots < 0 || slots > LIMITS.parallelismMax) {
    throw new RangeError(`${where}: slots must be a whole number from 0 to ${LIMITS.parallelismMax}`);
  }
  return slots;
}

/** Sorted, without repeats. */
export function checkAgents(where: string, agents: unknown): string[] | undefined {
  if (agents === undefined) return undefined;
  if (!Array.isArray(agents) || agents.length > WORKER_AGENTS_COUNT_MAX || !agents.every((a) => typeof a === 'string' && a.length > 0 && a.length <= AGENT_NAME_CHARS_MAX)) {
    throw new RangeError(`${where}: agents must be a list of at most ${WORKER_AGENTS_COUNT_MAX} names of 1 to ${AGENT_NAME_CHARS_MAX} characters`);
  }
  return [...new Set(agents as string[])].sort();
}

/** Sorted, without repeats. */
export function checkFunctions(where: string, functions: unknown): string[] {
  if (!Array.isArray(functions) || functions.length > LIMITS.parallelismMax || !functions.every((f) => typeof f === 'string' && f.length > 0 && f.length <= FUNCTION_NAME_CHARS_MAX)) {
    throw new RangeError(`${where}: functions must be a list of at most ${LIMITS.parallelismMax} names of 1 to ${FUNCTION_NAME_CHARS_MAX} characters`);
  }
  return [...new Set(functions as string[])].sort();
}

export function checkHttpUrl(where: string, url: unknown): string | undefined {
  if (url === undefined) return undefined;
  if (typeof url !== 'string' || url.length === 0 || Buffer.byteLength(url) > HTTP_URL_BYTES_MAX) {
    throw new RangeError(`${where}: httpUrl must be 1 to ${HTTP_URL_BYTES_MAX} bytes`);
  }
  return url;
}

export function checkTtlMs(where: string, ttlMs: unknown): number {
  if (ttlMs === undefined) return HEARTBEAT_TTL_MS_DEFAULT;
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < LEASE_TTL_MS_MIN || ttlMs > LEASE_TTL_MS_MAX) {
    throw new RangeError(`${where}: ttlMs must be a whole number from ${LEASE_TTL_MS_MIN} to ${LEASE_TTL_MS_MAX}`);
  }
  return ttlMs;
}

export function sameNames(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
