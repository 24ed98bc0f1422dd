// Real `orderly serve --database` processes (dist/cli/main.js) on one schema of the machine's
// PostgreSQL, for the cluster fault tests: start, kill, wait; the HTTP API; the schema's
// journal; and the log that the test jobs write (`enter`/`tick`/`leave` lines with their
// order, fencing token and pid), with its checks. Needs the build: `npm run build`.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { cleanEnv, MAIN } from './cli-process.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from './postgres.js';

/** Safety net of every wait: only a hung test meets it. */
export const WAIT_MS = 120_000;

export interface NodeProc {
  name: string;
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string | null>;
  output(): string;
}

export interface NodeStart {
  name: string;
  leaseSeconds: number;
  agents?: string[];
  /**
   * Run the process with this group id (its jobs too), its user still the caller's: a firewall
   * rule can then match its packets, and it reads the checkout wherever that is (a clone in a
   * folder only its owner may enter, as CI's is).
   */
  gid?: number;
  /** `--early-starts`: restartable jobs on the controller start before their start is committed. */
  earlyStarts?: boolean;
}

/** One schema, its nodes, a folder for the job log; `close()` kills the nodes and drops the schema. */
export class Cluster {
  readonly schema = testSchemaName();
  readonly token = `faults-admin-${Math.random().toString(36).slice(2)}-0123456789`;
  readonly dir = mkdtempSync(join(tmpdir(), 'orderly-faults-'));
  readonly log = join(this.dir, 'jobs.log');
  readonly nodes: NodeProc[] = [];

  constructor() {
    // Jobs of a node running under another group write here too.
    chmodSync(this.dir, 0o777);
    writeFileSync(this.log, '');
    chmodSync(this.log, 0o666);
  }

  /** Starts a node; resolves once it listens (a stand-by listens too; the controller once it holds the lease). */
  start(s: NodeStart): Promise<NodeProc> {
    const args = [MAIN, 'serve', '--database', TEST_DATABASE_URL, '--database-schema', this.schema, '--port', '0', '--host', '127.0.0.1', '--no-examples', '--node-name', s.name, '--lease-seconds', String(s.leaseSeconds)];
    for (const a of s.agents ?? []) args.push('--agent', a);
    if (s.earlyStarts === true) args.push('--early-starts');
    const cwd = mkdtempSync(join(this.dir, `${s.name}-`));
    if (s.gid !== undefined) chmodSync(cwd, 0o777);
    const child = spawn(process.execPath, args, {
      cwd,
      env: cleanEnv({ ORDERLY_ADMIN_TOKEN: this.token }),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(s.gid !== undefined ? { gid: s.gid } : {}),
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | string | null>((r) => child.on('exit', (code, signal) => r(code ?? signal)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${s.name} did not listen within ${WAIT_MS} ms:\n${out}`)), WAIT_MS);
      const onData = (): void => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (!m) return;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        const node: NodeProc = { name: s.name, child, url: m[1]!, exited, output: () => out };
        this.nodes.push(node);
        resolve(node);
      };
      child.stdout!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`node ${s.name} exited (${code}) while starting:\n${out}`));
      });
    });
  }

  /** Calls a node's API with the admin token: status and JSON body. */
  async api<T = Record<string, unknown>>(node: NodeProc, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(node.url + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { text };
    }
    return { status: r.status, body: parsed as T };
  }

  /** Like `api`, but expects a 2xx (503 — no controller at the moment — is asked again). */
  async ok<T = Record<string, unknown>>(node: NodeProc, method: string, path: string, body?: unknown): Promise<T> {
    return waitFor(`${method} ${path} through ${node.name} answered 2xx`, async () => {
      const r = await this.api<T>(node, method, path, body);
      if (r.status === 503) return undefined;
      if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path} through ${node.name}: ${r.status} ${JSON.stringify(r.body)}`);
      return { v: r.body };
    }).then((x) => x.v);
  }

  /** Deploys exclusive lock `name` and the workflow through `node`. */
  async deploy(node: NodeProc, workflows: Record<string, unknown>, locks: string[] = []): Promise<void> {
    for (const l of locks) await this.ok(node, 'PUT', `/api/v1/locks/${l}`, { limit: 1 });
    for (const [name, w] of Object.entries(workflows)) await this.ok(node, 'PUT', `/api/v1/workflows/${name}`, w);
  }

  /** Adds an order through `node`; a 503 (between controllers) is sent again, and a 409 then means an earlier try was taken. */
  async addOrder(node: NodeProc, workflow: string, id: string): Promise<void> {
    await waitFor(`order ${id} added through ${node.name}`, async () => {
      const r = await this.api(node, 'POST', '/api/v1/orders', { workflow, id });
      if (r.status === 201 || r.status === 409) return true;
      if (r.status === 503) return undefined;
      throw new Error(`add ${id} through ${node.name}: ${r.status} ${JSON.stringify(r.body)}`);
    });
  }

  /**
   * Like `addOrder`, but an answer that does not come (a connection refused or reset, a 5xx
   * while the database is away) is sent again too: the id makes it idempotent.
   */
  async addOrderRetrying(node: NodeProc, workflow: string, id: string): Promise<void> {
    await waitFor(`order ${id} added through ${node.name}`, async () => {
      let r: { status: number; body: unknown };
      try {
        r = await this.api(node, 'POST', '/api/v1/orders', { workflow, id });
      } catch {
        return undefined;
      }
      if (r.status === 201 || r.status === 409) return true;
      if (r.status >= 500) return undefined;
      throw new Error(`add ${id} through ${node.name}: ${r.status} ${JSON.stringify(r.body)}`);
    });
  }

  /** The orders `ids` as `node` sees them. */
  async orders(node: NodeProc, ids: string[]): Promise<OrderJson[]> {
    const all: OrderJson[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const r = await this.ok<{ items: OrderJson[] }>(node, 'GET', `/api/v1/orders?limit=1000&ids=${ids.slice(i, i + 500).map(encodeURIComponent).join(',')}`);
      all.push(...r.items);
    }
    return all;
  }

  /** Waits until `node` shows every order of `ids` ended (finished, failed, cancelled, stopped); gives them. */
  async allEnded(node: NodeProc, ids: string[], timeoutMs = WAIT_MS): Promise<OrderJson[]> {
    return waitFor(
      `every order of ${ids.length} ended, as ${node.name} sees them`,
      async () => {
        const os = await this.orders(node, ids);
        return os.length === ids.length && os.every((o) => ENDED.has(o.state)) ? os : undefined;
      },
      timeoutMs,
    );
  }

  /** GET /api/v1/cluster through `node`. */
  async controller(node: NodeProc): Promise<{ node: string; epoch: number } | null> {
    const r = await this.api<{ controller: { node: string; epoch: number } | null }>(node, 'GET', '/api/v1/cluster');
    if (r.status !== 200) throw new Error(`GET /api/v1/cluster through ${node.name}: ${r.status}`);
    return r.body.controller;
  }

  /** The schema's journal, oldest first. */
  async journal(): Promise<{ seq: number; event: JournalEvent }[]> {
    return withClient(async (c) => {
      const r = await c.query<{ seq: string; body: string }>(`SELECT seq, body FROM ${c.escapeIdentifier(this.schema)}.events ORDER BY seq`);
      return r.rows.map((row) => ({ seq: Number(row.seq), event: (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as JournalEvent }));
    });
  }

  logLines(): LogLine[] {
    return parseLog(readFileSync(this.log, 'utf8'));
  }

  /** Kills what is left (SIGKILL) and drops the schema. */
  async close(): Promise<void> {
    for (const n of this.nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await Promise.all(this.nodes.map((n) => n.exited));
    // Jobs of killed nodes that may still run (the test failed): the ones that wrote a pid.
    if (existsSync(this.log)) for (const l of this.logLines()) if (alive(l.pid)) process.kill(l.pid, 'SIGKILL');
    await dropSchema(this.schema);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface OrderJson {
  id: string;
  state: string;
  outcome?: { type: string; reason?: string; message?: string };
  locks: { lock: string; token: number }[];
}

export interface JournalEvent {
  type: string;
  orderId?: string;
  grants?: { lock: string; count?: number; token: number }[];
  locks?: string[];
  outcome?: { type: string; reason?: string };
  workerId?: string;
  /** LockTokensAdvanced: how far every token moved on. */
  by?: number;
}

export const ENDED = new Set(['finished', 'failed', 'cancelled', 'stopped']);

/** Polls `check` (every 100 ms) until it gives a value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const until = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
      // A refused connection of a node that is starting or stopping is asked again; a wrong answer is not.
      if (!(err instanceof TypeError) && !(err instanceof DOMException)) throw err;
    }
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(100);
  }
}

/** Waits for a node's exit (its code, or the signal's name); throws with its output after `timeoutMs`. */
export async function exitOf(node: NodeProc, timeoutMs = WAIT_MS): Promise<number | string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      node.exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`node ${node.name} did not exit within ${timeoutMs} ms:\n${node.output()}`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A shell job that holds lock `lockEnv` (the suffix of its ORDERLY_LOCK_TOKEN_ variable; `*`: the
 * first token of ORDERLY_LOCK_TOKENS): it writes `enter ORDER TOKEN PID NODE`, then `tick …`
 * every 0.2 s, then `leave …`, each line one `>>` (O_APPEND) write. It ticks `until.ticks`
 * times, or until the file `go-ORDER` exists in `until.goDir`.
 */
export function lockedJobScript(log: string, lockEnv: string, until: { ticks: number } | { goDir: string }): string {
  const token = lockEnv === '*' ? `$(echo "$ORDERLY_LOCK_TOKENS" | sed 's/^{"[^"]*"://; s/[,}].*$//')` : `$ORDERLY_LOCK_TOKEN_${lockEnv}`;
  const line = (w: string): string => `echo "${w} $ORDERLY_ORDER_ID $TOKEN $$ \${ORDERLY_ENGINE_ID##*:}" >> '${log}'`;
  const loop =
    'goDir' in until
      ? `while [ ! -e '${until.goDir}/go-'"$ORDERLY_ORDER_ID" ]; do sleep 0.2; ${line('tick')}; done`
      : `i=0; while [ $i -lt ${until.ticks} ]; do sleep 0.2; ${line('tick')}; i=$((i+1)); done`;
  return `#!/bin/sh
TOKEN=${token}
${line('enter')}
${loop}
${line('leave')}
`;
}

/** A workflow: Lock `lock` (exclusive) around one shell job (on `agent` when given). */
export function lockedWorkflow(lock: string, script: string, agent?: string, restartable = false): Record<string, unknown> {
  return {
    TYPE: 'Workflow',
    instructions: [{ TYPE: 'Lock', demands: [{ lockName: lock }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
    jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script }, ...(agent !== undefined ? { agentName: agent } : {}), ...(restartable ? { restartable: true } : {}) } },
  };
}

export interface LogLine {
  kind: 'enter' | 'tick' | 'leave';
  order: string;
  token: number;
  pid: number;
  /** The node that ran it. */
  node: string;
  /** Line number (0-based): the order the writes happened in. */
  at: number;
}

export function parseLog(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l, at) => {
      const [kind, order, token, pid, node] = l.split(' ');
      if ((kind !== 'enter' && kind !== 'tick' && kind !== 'leave') || order === undefined || !/^\d+$/.test(token ?? '') || !/^\d+$/.test(pid ?? '') || !node) {
        throw new Error(`job log line ${at + 1} is malformed: ${JSON.stringify(l)}`);
      }
      return { kind, order, token: Number(token), pid: Number(pid), node, at };
    });
}

export interface Interval {
  order: string;
  token: number;
  pid: number;
  node: string;
  /** First and last line of this run of the job. */
  from: number;
  to: number;
  left: boolean;
}

/**
 * The runs of the jobs under the lock, as their own lines tell: one per process, from its
 * `enter` to its last line (a killed job's last tick). Throws when two overlap (a line of one
 * between the first and last line of another), when fencing tokens do not strictly increase
 * from one run to the next, or when a run has no `enter`. With `reruns`, an order's run may
 * show the token of its run just before (a lost execution of a restartable job run again, its
 * hold kept).
 */
export function checkIntervals(lines: LogLine[], opts: { reruns?: boolean } = {}): Interval[] {
  const byPid = new Map<number, Interval>();
  const runs: Interval[] = [];
  for (const l of lines) {
    let r = byPid.get(l.pid);
    if (l.kind === 'enter') {
      if (r) throw new Error(`pid ${l.pid} entered twice (line ${l.at + 1})`);
      r = { order: l.order, token: l.token, pid: l.pid, node: l.node, from: l.at, to: l.at, left: false };
      byPid.set(l.pid, r);
      runs.push(r);
      continue;
    }
    if (!r) throw new Error(`line ${l.at + 1}: ${l.kind} of pid ${l.pid} without an enter`);
    if (r.order !== l.order || r.token !== l.token) throw new Error(`line ${l.at + 1}: pid ${l.pid} changed its order or token`);
    r.to = l.at;
    if (l.kind === 'leave') r.left = true;
  }
  for (let i = 1; i < runs.length; i++) {
    const a = runs[i - 1]!;
    const b = runs[i]!;
    if (b.from < a.to) throw new Error(`two jobs under the lock at once: ${a.order} (token ${a.token}, lines ${a.from + 1}-${a.to + 1}) and ${b.order} (token ${b.token}, from line ${b.from + 1})`);
    const rerun = opts.reruns === true && b.order === a.order && b.token === a.token;
    if (!(b.token > a.token) && !rerun) throw new Error(`fencing tokens do not increase: ${a.order} had ${a.token}, then ${b.order} had ${b.token}`);
  }
  return runs;
}

/**
 * Replays the journal's grants and releases of exclusive lock `lock`: throws when one is
 * granted while held, or released by an order not holding it. Gives the grants in order.
 */
export function checkJournalLock(events: { seq: number; event: JournalEvent }[], lock: string): { order: string; token: number; seq: number }[] {
  let holder: string | undefined;
  const grants: { order: string; token: number; seq: number }[] = [];
  for (const { seq, event: e } of events) {
    if (e.type === 'OrderLocksAcquired') {
      for (const g of e.grants ?? []) {
        if (g.lock !== lock) continue;
        if (holder !== undefined) throw new Error(`journal seq ${seq}: ${lock} granted to ${e.orderId} while ${holder} holds it`);
        holder = e.orderId!;
        const last = grants.at(-1);
        if (last && !(g.token > last.token)) throw new Error(`journal seq ${seq}: token ${g.token} of ${lock} after ${last.token}`);
        grants.push({ order: holder, token: g.token, seq });
      }
    } else if (e.type === 'OrderLocksReleased' && (e.locks ?? []).includes(lock)) {
      if (holder !== e.orderId) throw new Error(`journal seq ${seq}: ${lock} released by ${e.orderId}, held by ${holder ?? 'nobody'}`);
      holder = undefined;
    }
  }
  return grants;
}

