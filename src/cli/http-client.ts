// The CLI against `orderly serve` over HTTP (`--server URL --token T`): a Connection like the
// socket's and the offline one, so the commands stay the same. `call` takes the control
// socket's routes (control.ts) and answers in their shapes; under the hood it speaks the HTTP
// API (docs/http-api.md) with a bearer token:
//
//   POST /deploy {dir}      → the folder is read HERE (readInventoryDir), then
//                             GET /api/v1/locks (the deployed locks, to check the folder
//                             against) and GET /api/v1/jobresources, PUT /api/v1/locks/:name
//                             for each lock, PUT /api/v1/jobresources/:name for each job
//                             resource, then PUT /api/v1/workflows/:name for each workflow (JS7 JSON),
//                             stopping at the first refusal, which names its file.
//                             Not atomic: what was PUT before the refusal stays deployed.
//   GET  /orders?…          → GET /api/v1/orders pages ({items, next}) followed to the end
//                             (bounded), then sorted oldest first like the socket's answer
//   GET  /orders/:id        → GET /api/v1/orders/:id ({order, history}) + …/log ({logs})
//   anything else           → the same path under /api/v1 (order add and commands, locks)

import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { invalid, type ProblemItem } from '../core/commands.js';
import type { JobResourceDef, LockDef } from '../core/model.js';
import type { LockView, OrderView } from '../runtime/views.js';
import type { Connection } from './client.js';
import { ApiError, type ErrorBody } from '../node/protocol.js';

// Only `orderly deploy` reads inventory folders: the JS7 format (and the core's validation
// behind it) is loaded when it runs, so the other commands start without it.
type Js7 = typeof import('../formats/js7.js');

export const API_PREFIX = '/api/v1';
/** `GET /api/v1/orders` pages: the server's maximum page size. */
const PAGE_LIMIT = 1000;
/** At most this many pages (1,000,000 orders) are followed for one listing. */
const PAGES_MAX = 1000;
const TIMEOUT_MS_DEFAULT = 30_000;
/** An answer larger than this is refused (a page of orders is far smaller). */
const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

interface Answer {
  status: number;
  statusText: string;
  text: string;
}

class RequestTimeout extends Error {
  override name = 'TimeoutError';
}

/**
 * One HTTP exchange with node:http (node:https for https: URLs), one connection each. Not
 * `fetch`: loading it costs a command more CPU than everything else it does.
 */
async function exchange(url: URL, method: string, headers: Record<string, string>, payload: string | undefined, timeoutMs: number): Promise<Answer> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > RESPONSE_BYTES_MAX) {
          req.destroy(new Error(`the answer is larger than ${RESPONSE_BYTES_MAX} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new RequestTimeout()), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(payload);
  });
}

/** The base URL (no trailing slash) of a `--server` value; throws a message for a bad one. */
export function serverBase(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--server ${value}: not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--server ${value}: must be an http:// or https:// URL`);
  if (url.search !== '' || url.hash !== '') throw new Error(`--server ${value}: must not have a query or a fragment`);
  if (url.username !== '' || url.password !== '') throw new Error(`--server ${value}: must not carry credentials (use --token)`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

interface ErrnoLike {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** The most telling text of a failed request (a `fetch failed` hides its cause). */
function causeText(err: unknown): string {
  let e: unknown = err;
  // fetch: TypeError('fetch failed') with the socket error as its cause.
  while (typeof e === 'object' && e !== null && (e as ErrnoLike).cause !== undefined && (e as ErrnoLike).message === 'fetch failed') e = (e as ErrnoLike).cause;
  if (typeof e !== 'object' || e === null) return String(e);
  const x = e as ErrnoLike;
  // Several addresses tried (localhost: ::1 and 127.0.0.1): an AggregateError, often without a message.
  if (Array.isArray(x.errors) && (typeof x.message !== 'string' || x.message === '')) {
    const first = x.errors[0] as ErrnoLike | undefined;
    if (first && typeof first.message === 'string' && first.message !== '') return first.message;
  }
  if (typeof x.message === 'string' && x.message !== '') return x.message;
  return typeof x.code === 'string' ? x.code : String(e);
}

function problemsOf(body: unknown): ProblemItem[] {
  const p = (body as Partial<ErrorBody> | undefined)?.error?.problems;
  return Array.isArray(p) ? p : [];
}

/** A problem path in a request body (`body.priority`) as the socket's routes name it (`priority`). */
function localPath(path: string): string {
  if (path.startsWith('body.')) return path.slice('body.'.length);
  if (path.startsWith('body[')) return '$' + path.slice('body'.length);
  return path;
}

/** A problem path of a one-document PUT (`instructions[0]`, `body`) as a path in the file. */
function filePath(path: string): string {
  return path === 'body' ? '$' : localPath(path);
}

/** `name → folder-relative file` of the inventory files below `dir` (as readInventoryDir finds them). */
function inventoryFiles(dir: string, js7: Js7): { locks: Map<string, string>; workflows: Map<string, string>; jobResources: Map<string, string> } {
  const out = { locks: new Map<string, string>(), workflows: new Map<string, string>(), jobResources: new Map<string, string>() };
  const files: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const ent of entries) {
      const full = join(d, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        try {
          isFile = statSync(full).isFile();
          isDir = false;
        } catch {
          continue;
        }
      }
      if (isDir && !ent.name.startsWith('.')) walk(full);
      else if (isFile) files.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  files.sort();
  for (const f of files) {
    const lock = js7.nameFromFileName(f, js7.LOCK_SUFFIX);
    if (lock !== undefined && !out.locks.has(lock)) out.locks.set(lock, f);
    const wf = js7.nameFromFileName(f, js7.WORKFLOW_SUFFIX);
    if (wf !== undefined && !out.workflows.has(wf)) out.workflows.set(wf, f);
    const jr = js7.nameFromFileName(f, js7.JOB_RESOURCE_SUFFIX);
    if (jr !== undefined && !out.jobResources.has(jr)) out.jobResources.set(jr, f);
  }
  return out;
}

/** The deployed lock definitions, from the live lock views (keyed instances folded into their family). */
function lockDefsOf(views: LockView[]): Map<string, LockDef> {
  const defs = new Map<string, LockDef>();
  for (const v of views) {
    if (v.jobConfig !== undefined || defs.has(v.family)) continue;
    const def: LockDef = { name: v.family, limit: v.limit, policy: v.policy };
    if (v.title !== undefined) def.title = v.title;
    if (v.keyed) def.keyed = true;
    defs.set(v.family, def);
  }
  return defs;
}

const seg = (name: string): string => encodeURIComponent(name);

export class HttpConnection implements Connection {
  readonly mode = 'server';
  readonly base: string;

  /** `server`: the --server URL (checked with serverBase); `token`: the bearer token. */
  constructor(
    server: string,
    private readonly token: string,
    private readonly timeoutMs = TIMEOUT_MS_DEFAULT,
  ) {
    this.base = serverBase(server);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** One request to `<base>/api/v1<apiPath>`; `body` is a value to send as JSON, or JSON text. */
  async request<T>(method: string, apiPath: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.token}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    let res: Answer;
    try {
      res = await exchange(new URL(`${this.base}${API_PREFIX}${apiPath}`), method, headers, payload, this.timeoutMs);
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new Error(`server ${this.base} did not answer ${method} ${API_PREFIX}${apiPath} within ${this.timeoutMs} ms`);
      }
      throw new Error(`cannot reach server ${this.base}: ${causeText(err)}`);
    }
    const ok = res.status >= 200 && res.status < 300;
    let parsed: unknown;
    if (res.text.trim() !== '') {
      try {
        parsed = JSON.parse(res.text) as unknown;
      } catch {
        throw new Error(
          `server ${this.base} answered ${method} ${API_PREFIX}${apiPath} with ${res.status} and a body that is not JSON (is it an Orderly server? give the URL without /api/v1)`,
        );
      }
    }
    if (ok) return parsed as T;
    const e = (parsed as Partial<ErrorBody> | undefined)?.error;
    const code = e?.code ?? (res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : 'internal');
    let message = e?.message ?? `the server answered ${res.status} ${res.statusText}`;
    let problems = problemsOf(parsed);
    if (res.status === 401) message = `401 unauthorized: ${message} (check --token or ORDERLY_TOKEN)`;
    else if (res.status === 403) message = `403 forbidden: ${message}`;
    else if (code === 'invalid' && problems.length > 0) {
      // `body.priority` → `priority`: the paths of the socket and offline answers.
      problems = problems.map((p) => ({ path: localPath(p.path), message: p.message }));
      message = invalid(problems).message;
    }
    throw new ApiError(res.status, code, message, problems);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, 'http://orderly.invalid');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (method === 'POST' && url.pathname === '/deploy') {
      const dir = (body as { dir?: unknown } | undefined)?.dir;
      if (typeof dir !== 'string') throw new Error('deploy: no folder given');
      return (await this.deployDir(dir)) as T;
    }
    if (method === 'GET' && url.pathname === '/orders') return { orders: await this.listOrders(url.searchParams) } as T;
    if (method === 'GET' && url.pathname === '/locks') return { locks: await this.listLocks() } as T;
    if (method === 'GET' && parts.length === 2 && parts[0] === 'orders') {
      const id = parts[1]!; // still URL-encoded
      const r = await this.request<{ order: OrderView; history: unknown[] }>('GET', `/orders/${id}`);
      const l = await this.request<{ logs: unknown[] }>('GET', `/orders/${id}/log`);
      return { order: r.order, history: r.history, logs: l.logs } as T;
    }
    return this.request<T>(method, url.pathname + url.search, body);
  }

  /** Every lock: the server's pages followed to the end (each queue cut to its first waiters). */
  private async listLocks(): Promise<LockView[]> {
    const all: LockView[] = [];
    let after: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= PAGES_MAX) throw new Error(`server ${this.base} has more than ${PAGES_MAX * PAGE_LIMIT} locks to list`);
      const q = new URLSearchParams({ limit: String(PAGE_LIMIT) });
      if (after !== undefined) q.set('after', after);
      const r = await this.request<{ locks: LockView[]; next?: string }>('GET', `/locks?${q.toString()}`);
      all.push(...r.locks);
      if (r.next === undefined) break;
      if (after !== undefined && r.next <= after) throw new Error(`server ${this.base} answered a page cursor that does not advance (${r.next})`);
      after = r.next;
    }
    return all;
  }

  /** Every order matching the filter: the server's pages followed to the end, oldest first. */
  private async listOrders(filter: URLSearchParams): Promise<OrderView[]> {
    const all: OrderView[] = [];
    let after: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= PAGES_MAX) {
        throw new Error(`server ${this.base} has more than ${PAGES_MAX * PAGE_LIMIT} orders to list: narrow it with --state or --workflow`);
      }
      const q = new URLSearchParams(filter);
      q.set('limit', String(PAGE_LIMIT));
      if (after !== undefined) q.set('after', after);
      const r = await this.request<{ items: OrderView[]; next?: string }>('GET', `/orders?${q.toString()}`);
      all.push(...r.items);
      if (r.next === undefined) break;
      if (after !== undefined && r.next <= after) throw new Error(`server ${this.base} answered a page cursor that does not advance (${r.next})`);
      after = r.next;
    }
    return all.sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Deploys a folder read here: each lock, each job resource, then each workflow, one PUT
   * each. Stops at the first refusal, naming its file and what was deployed before it.
   */
  private async deployDir(dir: string): Promise<{ locks: string[]; workflows: { name: string; version: number }[]; jobResources?: string[] }> {
    const [{ readInventoryDir }, js7] = await Promise.all([import('../formats/inventory-dir.js'), import('../formats/js7.js')]);
    const views = await this.listLocks();
    // The deployed job resources: a workflow of the folder may name them (only their names are checked here).
    const listed = await this.request<{ jobResources: { name: string }[] }>('GET', '/jobresources');
    const deployedResources = new Map<string, JobResourceDef>(listed.jobResources.map((r) => [r.name, { name: r.name }]));
    const inv = readInventoryDir(dir, { locks: lockDefsOf(views), jobResources: deployedResources });
    if (inv.problems.length > 0) {
      const p = invalid(inv.problems);
      throw new ApiError(400, 'invalid', p.message, inv.problems);
    }
    if (inv.boards !== undefined) {
      const problems = inv.boards.map((b) => ({ path: `${b.name}${js7.BOARD_SUFFIX}: $`, message: 'not supported over --server: notice boards are deployed with `orderly deploy` on the node (or the library)' }));
      throw new ApiError(400, 'invalid', invalid(problems).message, problems);
    }
    const files = inventoryFiles(dir, js7);
    const done: { locks: string[]; workflows: { name: string; version: number }[]; jobResources?: string[] } = { locks: [], workflows: [] };
    const put = async <T>(apiPath: string, json: string, file: string): Promise<T> => {
      try {
        return await this.request<T>('PUT', apiPath, json);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const before = [
          ...done.locks.map((l) => `lock ${l}`),
          ...(done.jobResources ?? []).map((r) => `job resource ${r}`),
          ...done.workflows.map((w) => `workflow ${w.name} v${w.version}`),
        ];
        const note = before.length === 0 ? 'nothing was deployed' : `deployed before it: ${before.join(', ')}; a deploy over --server is not atomic`;
        const problems = err.problems.map((p) => ({ path: `${file}: ${filePath(p.path)}`, message: p.message }));
        let message: string;
        if (err.status === 401 || err.status === 403) message = `${err.message} (deploying ${file}; ${note})`;
        else if (problems.length > 0) message = `${invalid(problems).message} (${note})`;
        else message = `${file}: ${err.message} (${note})`;
        throw new ApiError(err.status, err.code, message, problems);
      }
    };
    for (const lock of inv.locks) {
      const file = files.locks.get(lock.name) ?? `${lock.name}${js7.LOCK_SUFFIX}`;
      const r = await put<{ name: string; changed: boolean }>(`/locks/${seg(lock.name)}`, js7.exportLockJson(lock), file);
      if (r.changed) done.locks.push(lock.name);
    }
    for (const r of inv.jobResources ?? []) {
      const file = files.jobResources.get(r.name) ?? `${r.name}${js7.JOB_RESOURCE_SUFFIX}`;
      const res = await put<{ name: string; changed: boolean }>(`/jobresources/${seg(r.name)}`, js7.exportJobResourceJson(r), file);
      if (res.changed) (done.jobResources ??= []).push(r.name);
    }
    for (const wf of inv.workflows) {
      const file = files.workflows.get(wf.name) ?? `${wf.name}${js7.WORKFLOW_SUFFIX}`;
      const r = await put<{ name: string; version: number; changed: boolean }>(`/workflows/${seg(wf.name)}`, js7.exportWorkflowJson(wf), file);
      if (r.changed) done.workflows.push({ name: wf.name, version: r.version });
    }
    return done;
  }
}
