// The control API of a running engine: HTTP/1.1 with JSON bodies over a UNIX socket
// (`<data-dir>/orderly.sock`), opened by the node start-up (start.ts). `handle` maps one
// request onto the Orderly API and is kept thin, so that the same routes and shapes serve the
// socket and the CLI when no engine runs (it calls `handle` in-process on its short-lived
// engine, or on the journal read only). The HTTP server has routes of its own (src/server/routes).
//
//   GET  /status                      → { pid, dataDir, startedAt, version }
//   POST /deploy          {dir}       → { locks: string[], workflows: {name, version}[] }
//   POST /orders          {workflow, id?, arguments?, priority?, scheduledFor?}  → 201 { id }
//   GET  /orders?state=&workflow=     → { orders: OrderView[] }
//   GET  /orders/:id                  → { order: OrderView, history: Stamped[], logs: StepLog[] }
//   POST /orders/:id/cancel   {kill?}                  → { order }
//   POST /orders/:id/suspend  {reset?}                 → { order }
//   POST /orders/:id/resume   {position?, asSucceeded?} → { order }
//   POST /orders/:id/priority {priority}               → { order }
//   POST /orders/:id/confirm  {}                       → { order }   (a prompting order goes on)
//   GET  /locks                       → { locks: LockView[] }
//   GET  /cluster                     → { controller, nodes } (GET /api/v1/cluster; no engine: null, [])
//
// Errors: { error: { code, message, problems? } } with 400 (invalid), 404 (not-found),
// 405 (method), 409 (conflict, lock-order-cycle, state), 413 (body too large), 500 (internal).

import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';

import type { Problem, ProblemItem } from '../core/commands.js';
import type { OrderState, Position } from '../core/model.js';
import { OrderlyError, type AddOrder, type Orderly, type OrderFilter } from '../runtime/orderly.js';
import type { ClusterAnswer } from '../server/context.js';
import { ORDER_STATES, isPosition, type ErrorBody } from './protocol.js';

/** What the routes need of an engine: the Orderly instance, or the CLI's read-only journal access. */
export type ControlApi = Pick<
  Orderly,
  | 'deployDir'
  | 'addOrder'
  | 'cancelOrder'
  | 'suspendOrder'
  | 'resumeOrder'
  | 'confirmOrder'
  | 'changePriority'
  | 'getOrder'
  | 'listOrders'
  | 'listLocks'
  | 'history'
  | 'logs'
> & {
  /** On a cluster's stand-by: reads the journal to its end (Orderly.catchUp). */
  catchUp?: () => Promise<void>;
};

export interface StatusInfo {
  pid: number;
  dataDir: string;
  startedAt: number;
  version: string;
}

export interface Reply {
  status: number;
  body: unknown;
}

export { ORDER_STATES } from '../core/model.js';
export { isPosition, type ErrorBody } from './protocol.js';

/** Request bodies above this are refused with 413. */
export const BODY_BYTES_MAX = 1024 * 1024;

const STATUS_BY_CODE: Record<Problem['code'], number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  'lock-order-cycle': 409,
  state: 409,
  unavailable: 503,
};

export function statusOf(code: string): number {
  return (STATUS_BY_CODE as Record<string, number | undefined>)[code] ?? 500;
}

function errorReply(status: number, code: string, message: string, problems?: ProblemItem[]): Reply {
  const error: ErrorBody['error'] = { code, message };
  if (problems && problems.length > 0) error.problems = problems;
  return { status, body: { error } };
}

function invalidReply(problems: ProblemItem[]): Reply {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return errorReply(400, 'invalid', `${first.path}: ${first.message}${more}`, problems);
}

/** Turns what a handler threw into a reply: a refusal keeps its code; anything else is a 500. */
export function replyForError(err: unknown): Reply {
  if (err instanceof OrderlyError) return errorReply(statusOf(err.code), err.code, err.problem.message, err.problems);
  return errorReply(500, 'internal', err instanceof Error ? err.message : String(err));
}

// ---------------------------------------------------------------- body checks (semantics §10)

type Fields = Record<string, unknown>;

function asObject(body: unknown, problems: ProblemItem[]): Fields {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push({ path: 'body', message: 'must be a JSON object' });
    return {};
  }
  return body as Fields;
}

function unknownFields(b: Fields, allowed: readonly string[], problems: ProblemItem[]): void {
  for (const k of Object.keys(b)) if (!allowed.includes(k)) problems.push({ path: k, message: `unknown field (allowed: ${allowed.join(', ') || 'none'})` });
}

function optBoolean(b: Fields, key: string, problems: ProblemItem[]): boolean | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') problems.push({ path: key, message: 'must be true or false' });
  return v === true;
}

function optInteger(b: Fields, key: string, problems: ProblemItem[]): number | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    problems.push({ path: key, message: 'must be a whole number' });
    return undefined;
  }
  return v;
}

function optString(b: Fields, key: string, problems: ProblemItem[]): string | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') {
    problems.push({ path: key, message: 'must be a non-empty string' });
    return undefined;
  }
  return v;
}

function optArguments(b: Fields, problems: ProblemItem[]): Record<string, string> | undefined {
  const v = b.arguments;
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    problems.push({ path: 'arguments', message: 'must be an object of strings' });
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Fields)) {
    if (typeof x !== 'string') problems.push({ path: `arguments.${k}`, message: 'must be a string' });
    else out[k] = x;
  }
  return out;
}

function optTime(b: Fields, key: string, problems: ProblemItem[]): number | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  problems.push({ path: key, message: 'must be ms since the epoch or an ISO-8601 time' });
  return undefined;
}


// ---------------------------------------------------------------- routes

const ok = (body: unknown, status = 200): Reply => ({ status, body });

/**
 * One request. `path` may carry a query string. Never throws: refusals and failures become
 * error replies.
 */
export async function handle(api: ControlApi, method: string, path: string, body: unknown, status?: () => StatusInfo, cluster?: () => Promise<ClusterAnswer>): Promise<Reply> {
  try {
    return await route(api, method, path, body, status, cluster);
  } catch (err) {
    return replyForError(err);
  }
}

async function route(api: ControlApi, method: string, path: string, body: unknown, status?: () => StatusInfo, cluster?: () => Promise<ClusterAnswer>): Promise<Reply> {
  const url = new URL(path, 'http://orderly.invalid');
  let parts: string[];
  try {
    parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  } catch {
    return errorReply(400, 'invalid', `bad path ${url.pathname}`);
  }
  const problems: ProblemItem[] = [];
  const allow = (...methods: string[]): Reply | undefined =>
    methods.includes(method) ? undefined : errorReply(405, 'method', `${method} not allowed on ${url.pathname} (use ${methods.join(' or ')})`);
  const [head, id, action, ...rest] = parts;

  if (head === 'status' && parts.length === 1) {
    const bad = allow('GET');
    if (bad) return bad;
    if (!status) return errorReply(404, 'not-found', 'no engine is running (offline access to the journal)');
    return ok(status());
  }

  if (head === 'deploy' && parts.length === 1) {
    const bad = allow('POST');
    if (bad) return bad;
    const b = asObject(body, problems);
    unknownFields(b, ['dir'], problems);
    const dir = optString(b, 'dir', problems);
    if (dir === undefined && !problems.some((p) => p.path === 'dir')) problems.push({ path: 'dir', message: 'required' });
    else if (dir !== undefined && !isAbsolute(dir)) problems.push({ path: 'dir', message: 'must be an absolute path (the engine reads the folder)' });
    if (problems.length > 0) return invalidReply(problems);
    return ok(await api.deployDir(dir!));
  }

  if (head === 'cluster' && parts.length === 1) {
    const bad = allow('GET');
    if (bad) return bad;
    // No engine (offline access to the journal): no controller, no node.
    const none: ClusterAnswer = { controller: null, nodes: [] };
    return ok(cluster ? await cluster() : none);
  }

  if (head === 'locks' && parts.length === 1) {
    const bad = allow('GET');
    if (bad) return bad;
    return ok({ locks: api.listLocks() });
  }

  if (head === 'orders' && parts.length === 1) {
    const bad = allow('GET', 'POST');
    if (bad) return bad;
    if (method === 'GET') {
      const filter: OrderFilter = {};
      for (const key of url.searchParams.keys()) {
        if (key !== 'state' && key !== 'workflow') problems.push({ path: key, message: 'unknown parameter (allowed: state, workflow)' });
      }
      const state = url.searchParams.get('state');
      if (state !== null && state !== '') {
        if (!(ORDER_STATES as readonly string[]).includes(state)) problems.push({ path: 'state', message: `must be one of ${ORDER_STATES.join(', ')}` });
        else filter.state = state as OrderState;
      }
      const workflow = url.searchParams.get('workflow');
      if (workflow !== null && workflow !== '') filter.workflow = workflow;
      if (problems.length > 0) return invalidReply(problems);
      const orders = api.listOrders(filter).sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return ok({ orders });
    }
    const b = asObject(body, problems);
    unknownFields(b, ['workflow', 'id', 'arguments', 'priority', 'scheduledFor'], problems);
    const workflow = optString(b, 'workflow', problems);
    if (workflow === undefined && !problems.some((p) => p.path === 'workflow')) problems.push({ path: 'workflow', message: 'required' });
    const add: AddOrder = { workflow: workflow ?? '' };
    const oid = optString(b, 'id', problems);
    if (oid !== undefined) add.id = oid;
    const args = optArguments(b, problems);
    if (args !== undefined) add.arguments = args;
    const priority = optInteger(b, 'priority', problems);
    if (priority !== undefined) add.priority = priority;
    const at = optTime(b, 'scheduledFor', problems);
    if (at !== undefined) add.scheduledFor = at;
    if (problems.length > 0) return invalidReply(problems);
    return ok({ id: await api.addOrder(add) }, 201);
  }

  if (head === 'orders' && id !== undefined && action === undefined) {
    const bad = allow('GET');
    if (bad) return bad;
    const order = api.getOrder(id);
    if (!order) return errorReply(404, 'not-found', `order ${id} not found`);
    const [history, logs] = await Promise.all([api.history(id), api.logs(id)]);
    return ok({ order, history, logs });
  }

  if (head === 'orders' && id !== undefined && action !== undefined && rest.length === 0) {
    const known = ['cancel', 'suspend', 'resume', 'priority', 'confirm'];
    if (!known.includes(action)) return errorReply(404, 'not-found', `no route ${method} ${url.pathname} (order actions: ${known.join(', ')})`);
    const bad = allow('POST');
    if (bad) return bad;
    const b = asObject(body, problems);
    switch (action) {
      case 'cancel': {
        unknownFields(b, ['kill'], problems);
        const kill = optBoolean(b, 'kill', problems);
        if (problems.length > 0) return invalidReply(problems);
        await api.cancelOrder(id, kill !== undefined ? { kill } : {});
        break;
      }
      case 'suspend': {
        unknownFields(b, ['reset'], problems);
        const reset = optBoolean(b, 'reset', problems);
        if (problems.length > 0) return invalidReply(problems);
        await api.suspendOrder(id, reset !== undefined ? { reset } : {});
        break;
      }
      case 'resume': {
        unknownFields(b, ['position', 'asSucceeded'], problems);
        const opts: { position?: Position; asSucceeded?: boolean } = {};
        if (b.position !== undefined) {
          if (isPosition(b.position)) opts.position = b.position;
          else problems.push({ path: 'position', message: 'must be a position array like [0, "lock", 1]' });
        }
        const asSucceeded = optBoolean(b, 'asSucceeded', problems);
        if (asSucceeded !== undefined) opts.asSucceeded = asSucceeded;
        if (problems.length > 0) return invalidReply(problems);
        await api.resumeOrder(id, opts);
        break;
      }
      case 'confirm': {
        unknownFields(b, [], problems);
        if (problems.length > 0) return invalidReply(problems);
        await api.confirmOrder(id);
        break;
      }
      default: {
        unknownFields(b, ['priority'], problems);
        const priority = optInteger(b, 'priority', problems);
        if (priority === undefined && problems.length === 0) problems.push({ path: 'priority', message: 'required' });
        if (problems.length > 0) return invalidReply(problems);
        await api.changePriority(id, priority!);
      }
    }
    // Ended orders may have been dropped from memory by retention: then there is no view.
    const order = api.getOrder(id);
    return ok(order ? { order } : {});
  }

  return errorReply(404, 'not-found', `no route ${method} ${url.pathname}`);
}

// ---------------------------------------------------------------- the socket server

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<{ body?: unknown; reply?: Reply }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_BYTES_MAX) tooLarge = true;
      else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (tooLarge) return resolve({ reply: errorReply(413, 'invalid', `body larger than ${BODY_BYTES_MAX} bytes`) });
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve({ body: JSON.parse(text) as unknown });
      } catch (e) {
        resolve({ reply: errorReply(400, 'invalid', `body: not JSON (${e instanceof Error ? e.message : String(e)})`) });
      }
    });
  });
}

function send(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body) + '\n';
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Listens on `socketPath` (which must not exist: the caller removes a stale one). The socket
 * file is made owner-only: whoever can connect controls the engine.
 */
export function startControlServer(api: ControlApi, socketPath: string, status: () => StatusInfo, cluster?: () => Promise<ClusterAnswer>): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      let reply: Reply;
      try {
        const { body, reply: early } = await readBody(req);
        const method = req.method ?? 'GET';
        // As over HTTP: on a stand-by, a command first reads what was written through other
        // nodes. A database out of reach: the command itself says so.
        if (!early && method !== 'GET' && method !== 'HEAD') await api.catchUp?.().catch(() => undefined);
        reply = early ?? (await handle(api, method, req.url ?? '/', body, status, cluster));
      } catch (err) {
        reply = replyForError(err);
      }
      if (!res.destroyed) send(res, reply);
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      try {
        chmodSync(socketPath, 0o600);
      } catch {
        // best effort
      }
      resolve({
        socketPath,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              rmSync(socketPath, { force: true });
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
