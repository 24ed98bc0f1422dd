#!/usr/bin/env node
// The `orderly` command. `orderly run` and `orderly serve` start a node (src/node/start.ts) in
// the foreground with a control socket; every other command talks to that socket, or, when no
// engine answers, starts a short-lived engine through the same node start-up to change
// something, or reads the data dir's journal as it is (see client.ts), or with --server talks
// to an `orderly serve` over HTTP (see http-client.ts). docs/cli.md describes it all.
//
// Exit codes: 0 done, 1 refused or failed, 2 bad usage.
//
// Start-up time: this file loads only commander and light modules. What a command needs (the
// engine, the journal, the HTTP server, the control socket client) is loaded by `import()`
// when that command runs, so `orderly --version` and a command over HTTP start in about the
// time of a bare `node` (bench/cli-startup.js).

import { clampTime, isoTime } from '../core/time.js';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import type { Event, Stamped } from '../core/events.js';
import type { Outcome, Position } from '../core/model.js';
import type { StepLog } from '../journal/types.js';
import type { LockView, OrderView } from '../runtime/views.js';
import type { Connection, ConnectOptions } from './client.js';
import { serverBase } from './http-client.js';
import { DEFAULT_DATA_DIR } from '../node/data-dir.js';
import { AGENT_NAME_LENGTH_MAX, AGENTS_PER_NODE_MAX, ApiError, isPosition, ORDER_STATES } from '../node/protocol.js';
import type { ServeOptions } from '../node/serve.js';
import type { DatabaseOptions } from '../node/start.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../server/defaults.js';
import type { ClusterAnswer } from '../server/context.js';

/** Bad usage found after commander parsed the line: exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

// ---------------------------------------------------------------- argument parsers

function parseWholeNumber(v: string): number {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new InvalidArgumentError('Expected a whole number.');
  return Number(v);
}

function parseSlots(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new InvalidArgumentError('Expected a whole number ≥ 1.');
  return Number(v);
}

function parsePort(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) > 65535) throw new InvalidArgumentError('Expected a port number from 0 to 65535 (0: any free port).');
  return Number(v);
}

function parseLeaseSeconds(v: string): number {
  const n = Number(v.trim());
  if (!/^\d+(\.\d{1,3})?$/.test(v.trim()) || n < 0.2 || n > 600) throw new InvalidArgumentError('Expected seconds from 0.2 to 600 (at most 3 decimals).');
  return n;
}

function parseSynchronous(v: string): 'FULL' | 'NORMAL' | 'OFF' {
  const u = v.toUpperCase();
  if (u !== 'FULL' && u !== 'NORMAL' && u !== 'OFF') throw new InvalidArgumentError('Expected FULL, NORMAL or OFF.');
  return u;
}

function collectArg(v: string, previous: Record<string, string> | undefined): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('Expected KEY=VALUE.');
  const key = v.slice(0, i);
  const out = { ...previous };
  if (Object.prototype.hasOwnProperty.call(out, key)) throw new InvalidArgumentError(`Argument ${key} is given twice.`);
  out[key] = v.slice(i + 1);
  return out;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `+30s`, `+5m`, `+2h`, `+1d`, `+500ms` from now, or an ISO-8601 time. */
function parseTime(v: string, now = Date.now()): number {
  const rel = /^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim());
  if (rel) return now + Math.round(Number(rel[1]) * UNIT_MS[rel[2]!]!);
  if (/^\d{4}-\d{2}-\d{2}([T ]|$)/.test(v.trim())) {
    const t = Date.parse(v.trim());
    if (!Number.isNaN(t)) return t;
  }
  throw new InvalidArgumentError('Expected an ISO-8601 time (2030-01-31T12:00:00Z) or +N with unit ms, s, m, h or d (+30s).');
}

function parsePosition(v: string): Position {
  let p: unknown;
  try {
    p = JSON.parse(v);
  } catch {
    throw new InvalidArgumentError(`Not JSON; expected a position array like '[0,"lock",1]'.`);
  }
  if (!isPosition(p)) throw new InvalidArgumentError(`Expected a position array like '[0,"lock",1]'.`);
  return p;
}

// ---------------------------------------------------------------- formatting

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Local time, compact: `14:03:07.251`. */
function clock(ms: number): string {
  const d = new Date(clampTime(ms));
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function iso(ms: number): string {
  return isoTime(ms);
}

const pos = (p: Position): string => JSON.stringify(p);

function outcomeText(o: Outcome): string {
  const bits: string[] = [];
  if (o.reason) bits.push(o.reason);
  if (o.returnCode !== undefined) bits.push(`rc ${o.returnCode}`);
  if (o.signal) bits.push(o.signal);
  let s = o.type + (bits.length > 0 ? ` (${bits.join(', ')})` : '');
  if (o.message) s += `: ${o.message}`;
  return s;
}

function argsText(args: Record<string, string>): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
}

/** The facts of one journal event, compact. */
function eventFacts(e: Event): string {
  switch (e.type) {
    case 'LockDeployed':
      return `lock ${e.lock.name} limit ${e.lock.limit}${e.lock.keyed ? ' keyed' : ''}${e.lock.policy ? ` ${e.lock.policy}` : ''}`;
    case 'LockDeleted':
      return `lock ${e.name}`;
    case 'WorkflowDeployed':
      return `workflow ${e.workflow.name} v${e.version}`;
    case 'JobResourceDeployed':
      return `job resource ${e.jobResource.name}`;
    case 'OrderAdmissionWaitStarted':
      return `job ${e.job} ${e.until !== undefined ? `until ${iso(e.until)}` : '(no admission period ahead)'}`;
    case 'SlotsSet':
      return `slots ${e.slots}`;
    case 'LockTokensAdvanced':
      return `tokens +${e.by}, headroom ${e.headroom}`;
    case 'WorkerRegistered':
      return `worker ${e.workerId} slots ${e.slots} lease ${e.lease}${e.functions.length > 0 ? ` functions ${e.functions.join(', ')}` : ''}`;
    case 'WorkerLost':
      return `worker ${e.workerId}`;
    case 'OrderAdded': {
      const bits = [`${e.workflow} v${e.version}`];
      if (e.priority !== 0) bits.push(`priority ${e.priority}`);
      if (e.scheduledFor !== undefined) bits.push(`at ${iso(e.scheduledFor)}`);
      if (Object.keys(e.arguments).length > 0) bits.push(argsText(e.arguments));
      return bits.join(' ');
    }
    case 'OrderMoved':
      return `to ${pos(e.to)}${e.skipped !== undefined ? ` (skipped: ${e.skipped})` : ''}`;
    case 'OrderLocksQueued':
      return (
        e.demands.map((d) => (d.count === undefined ? `${d.lock} (exclusive)` : `${d.lock} (${d.count})`)).join(', ') +
        (e.waitUntil !== undefined ? ` until ${iso(e.waitUntil)}` : '')
      );
    case 'OrderLocksAcquired':
      return e.grants.map((g) => `${g.lock}${g.count !== undefined ? ` (${g.count})` : ''} token ${g.token}`).join(', ');
    case 'OrderLocksReleased':
      return e.locks.join(', ');
    case 'OrderDequeued':
    case 'OrderCancelled':
    case 'OrderSuspendMarked':
    case 'OrderSuspended':
    case 'OrderDeleted':
      return '';
    case 'JobTemplateSaved':
      return `job template ${e.template.id} ${JSON.stringify(e.template.name)}${e.template.blocking ? ' blocking' : ''}`;
    case 'JobTemplateDeleted':
    case 'JobConfigDeleted':
      return e.id;
    case 'JobConfigAliasSet':
      return `job config ${e.jobConfig} alias ${e.alias.name}${e.alias.secretHash ? ' with secret' : ''}`;
    case 'JobConfigAliasDeleted':
      return `job config ${e.jobConfig} alias ${e.name}`;
    case 'JobConfigSaved':
      return `job config ${e.jobConfig.id} ${JSON.stringify(e.jobConfig.name)}${e.jobConfig.blocking ? ' blocking' : ''}${e.jobConfig.active ? '' : ' inactive'}`;
    case 'ScheduleFired':
      return `job config ${e.jobConfig} fire ${iso(e.fireAt)} → order ${e.orderId}`;
    case 'ScheduleFireSkipped':
      return `job config ${e.jobConfig} fire ${iso(e.fireAt)} skipped: ${e.reason}`;
    case 'OrderJobQueued':
      return `job ${e.job}`;
    case 'OrderProcessingStarted':
      return `job ${e.job} execution ${e.executionId}${e.worker !== undefined ? ` on ${e.worker} (lease ${e.lease ?? '?'}, attempt ${e.attempt ?? 1})` : ''}`;
    case 'OrderProcessed':
    case 'OrderStopped':
    case 'OrderFinished':
      return outcomeText(e.outcome);
    case 'OrderCaught':
    case 'OrderFailed':
      return `${outcomeText(e.outcome)} → ${pos(e.to)}`;
    case 'OrderRetryScheduled':
      return `until ${iso(e.until)} → ${pos(e.to)}`;
    case 'OrderCancelMarked':
      return e.kill ? 'kill' : 'when the job ends';
    case 'OrderResumed':
      return [e.to ? `to ${pos(e.to)}` : '', e.asSucceeded ? 'as succeeded' : ''].filter((x) => x !== '').join(' ');
    case 'OrderPriorityChanged':
      return `priority ${e.priority}`;
    case 'OrderSleepStarted':
      return `until ${iso(e.until)}`;
    case 'OrderPrompted':
      return JSON.stringify(e.question);
    case 'OrderPromptAnswered':
      return 'confirmed';
    case 'OrderForked':
      return e.children.map((c) => c.orderId).join(', ');
    case 'OrderJoined':
      return outcomeText(e.outcome);
    case 'NoticeBoardDeployed':
      return e.board.name;
    case 'NoticePosted':
      return `${e.board}:${e.noticeId} until ${iso(e.endOfLife)}`;
    case 'NoticeDeleted':
      return `${e.board}:${e.noticeId}`;
    case 'OrderNoticesExpected':
      return e.notices.join(', ');
    case 'OrderNoticesReceived':
      return 'notices read';
    case 'OrderNoticesConsumptionStarted':
      return 'consuming notices';
    case 'OrderNoticesConsumed':
      return 'notices consumed';
    case 'OrderCyclingPrepared':
      return `next cycle ${iso(e.cycle.next)}`;
    case 'OrderCycleStarted':
      return 'cycle started';
    case 'OrderCycleFinished':
      return e.cycle ? `next cycle ${iso(e.cycle.next)}` : 'cycling ended';
  }
}

/** One journal event as one line: time, type, order, facts. */
function eventLine(e: Event): string {
  const order = 'orderId' in e ? e.orderId : '-';
  const facts = eventFacts(e);
  return `${clock(e.at)}  ${e.type.padEnd(22)} ${order}${facts ? `  ${facts}` : ''}`;
}

function waitingText(w: NonNullable<OrderView['waitingFor']>): string {
  let s: string;
  switch (w.kind) {
    case 'locks':
      s = `locks ${w.locks.join(', ')}`;
      break;
    case 'job':
      s = `job slot ${w.job}`;
      break;
    case 'worker':
      s = `a worker that runs ${w.job}`;
      break;
    case 'time':
      s = `sleeping until ${iso(w.until)}`;
      break;
    case 'retry':
      s = `retry at ${iso(w.until)}`;
      break;
    case 'cycle':
      s = `the next cycle at ${iso(w.until)}`;
      break;
    case 'admission':
      s = w.until !== undefined ? `admission of job ${w.job} at ${iso(w.until)}` : `admission of job ${w.job} (no period ahead)`;
      break;
    case 'notice':
      s = `notice ${w.notices.join(', ')}`;
      break;
  }
  if (w.since !== undefined) s += ` since ${iso(w.since)}`;
  if (w.kind === 'locks' && w.until !== undefined) s += ` (gives up at ${iso(w.until)})`;
  return s;
}

function stateText(v: OrderView): string {
  let s = v.state;
  if (v.prompt) s += ` ${JSON.stringify(v.prompt.question)} (orderly order confirm ${v.id})`;
  if (v.suspended) s += ', suspended';
  if (v.pending?.suspend) s += ', suspend pending';
  if (v.pending?.cancel) s += v.pending.cancel.kill ? ', cancel pending (killing the job)' : ', cancel pending (when the job ends)';
  return s;
}

function lockText(l: OrderView['locks'][number]): string {
  return `${l.lock} ${l.count === undefined ? 'exclusive' : `weight ${l.count}`} token ${l.token}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function ordersTable(orders: OrderView[]): string {
  if (orders.length === 0) return 'no orders';
  const rows = orders.map((v) => {
    const detail: string[] = [];
    if (v.waitingFor) detail.push(`waiting for ${waitingText(v.waitingFor)}`);
    if (v.execution) detail.push(`running ${v.execution.job}`);
    if (v.state === 'scheduled' && v.scheduledFor !== undefined) detail.push(`at ${iso(v.scheduledFor)}`);
    if (v.locks.length > 0) detail.push(`holds ${v.locks.map(lockText).join(', ')}`);
    if (v.outcome && v.state !== 'processing') detail.push(outcomeText(v.outcome));
    return [v.id, `${v.workflow} v${v.version}`, stateText(v), String(v.priority), pos(v.position), detail.join('; ')];
  });
  return table(['ID', 'WORKFLOW', 'STATE', 'PRIO', 'POSITION', 'DETAIL'], rows);
}

const WAITERS_SHOWN = 5;

function clusterText(c: ClusterAnswer): string {
  const out = [c.controller ? `controller: ${c.controller.node} (epoch ${c.controller.epoch}, since ${iso(c.controller.since)})` : 'controller: none (no engine runs)'];
  if (c.nodes.length > 0) {
    out.push(table(['NODE', 'ROLE', 'AGENTS', 'SLOTS', 'RUNNING', 'LAST SEEN'], c.nodes.map((n) => [n.name, n.role, n.agents.length > 0 ? n.agents.join(',') : '-', String(n.slots), String(n.running), iso(n.lastSeen)])));
  }
  return out.join('\n');
}

function locksTable(locks: LockView[]): string {
  if (locks.length === 0) return 'no locks';
  const out: string[] = [];
  const rows = locks.map((l) => [
    l.name,
    String(l.limit),
    l.policy,
    l.state,
    l.holders.length === 0
      ? '-'
      : l.holders.map((h) => `${h.orderId} (${h.exclusive ? 'exclusive' : `weight ${h.count ?? 1}`}, token ${h.token})`).join(', '),
    String(l.queue.length),
  ]);
  const header = ['NAME', 'LIMIT', 'POLICY', 'STATE', 'HOLDERS', 'QUEUE'];
  const lines = table(header, rows).split('\n');
  out.push(lines[0]!);
  locks.forEach((l, i) => {
    out.push(lines[i + 1]!);
    for (const w of l.queue.slice(0, WAITERS_SHOWN)) {
      const demand = w.demand.exclusive ? 'exclusive' : `weight ${w.demand.count ?? 1}`;
      out.push(`    ${w.place}. ${w.orderId} (${demand}, priority ${w.priority}): ${w.reason}`);
    }
    if (l.queue.length > WAITERS_SHOWN) out.push(`    … and ${l.queue.length - WAITERS_SHOWN} more`);
  });
  return out.join('\n');
}

function indent(text: string, by: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function orderDetail(v: OrderView, history: Stamped[], logs: StepLog[]): string {
  const kv: [string, string][] = [
    ['order', v.id],
    ['workflow', `${v.workflow} v${v.version}`],
    ['state', stateText(v)],
    ['position', pos(v.position)],
    ['priority', String(v.priority)],
  ];
  if (Object.keys(v.arguments).length > 0) kv.push(['arguments', argsText(v.arguments)]);
  kv.push(['added', iso(v.addedAt)]);
  if (v.scheduledFor !== undefined) kv.push(['scheduled for', iso(v.scheduledFor)]);
  if (v.waitingFor) kv.push(['waiting for', waitingText(v.waitingFor)]);
  kv.push(['locks held', v.locks.length === 0 ? '-' : v.locks.map((l) => `${lockText(l)} since ${iso(l.since)}`).join(', ')]);
  if (v.execution) kv.push(['execution', `${v.execution.id} (job ${v.execution.job}) since ${iso(v.execution.startedAt)}`]);
  if (v.outcome) kv.push(['outcome', outcomeText(v.outcome)]);
  if (v.endedAt !== undefined) kv.push(['ended', iso(v.endedAt)]);
  const w = Math.max(...kv.map(([k]) => k.length));
  const out = kv.map(([k, val]) => `${(k + ':').padEnd(w + 1)}  ${val}`);
  out.push('', `history (${history.length} events):`);
  const seqWidth = String(history[history.length - 1]?.seq ?? 0).length + 1;
  for (const h of history) out.push(`  ${`#${h.seq}`.padEnd(seqWidth)}  ${eventLine(h.event)}`);
  out.push('', logs.length === 0 ? 'logs: none' : `logs (${logs.length} executions):`);
  for (const l of logs) {
    out.push(`  ${l.job}  execution ${l.executionId}  ${iso(l.at)}`);
    for (const [name, text, dropped] of [
      ['stdout', l.stdout, l.stdoutDroppedBytes],
      ['stderr', l.stderr, l.stderrDroppedBytes],
    ] as const) {
      if (text === '' && dropped === 0) continue;
      out.push(`    ${name}${dropped > 0 ? ` (first ${dropped} bytes dropped)` : ''}:`);
      out.push(indent(text, '      '));
    }
  }
  return out.join('\n');
}

function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

function deployedText(r: { locks: string[]; workflows: { name: string; version: number }[]; jobResources?: string[] }, dir: string): string {
  const parts = [...r.locks.map((l) => `lock ${l}`), ...(r.jobResources ?? []).map((j) => `job resource ${j}`), ...r.workflows.map((w) => `workflow ${w.name} v${w.version}`)];
  return parts.length === 0 ? `${dir}: nothing new to deploy (everything there is deployed already)` : `deployed ${parts.join(', ')} from ${dir}`;
}

// ---------------------------------------------------------------- talking to the engine

interface DataDirOpts {
  dataDir: string;
  /** --server / ORDERLY_SERVER: an `orderly serve` to talk to over HTTP instead. */
  server?: string;
  /** --token / ORDERLY_TOKEN: its bearer token. */
  token?: string;
}

/** The server and token to use, or undefined for the socket/offline path. Bad usage throws UsageError. */
function serverTarget(o: DataDirOpts): { server: string; token: string } | undefined {
  if (o.server === undefined || o.server === '') return undefined;
  try {
    serverBase(o.server);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (o.token === undefined || o.token === '') throw new UsageError(`--server needs a token: give --token T or set ORDERLY_TOKEN`);
  return { server: o.server, token: o.token };
}

async function withConnection<T>(o: DataDirOpts, opts: ConnectOptions, fn: (c: Connection) => Promise<T>): Promise<T> {
  const target = serverTarget(o);
  let c: Connection;
  if (target) {
    const { HttpConnection } = await import('./http-client.js');
    c = new HttpConnection(target.server, target.token);
  } else {
    const { connect } = await import('./client.js');
    c = await connect(o.dataDir, opts);
  }
  try {
    const r = await fn(c);
    if (c.mode === 'short-lived') {
      const { dataDirPaths } = await import('../node/data-dir.js');
      const p = dataDirPaths(o.dataDir);
      process.stderr.write(
        `orderly: no engine runs on ${p.dir}: a short-lived engine with no job slots applied it; jobs start when an engine runs there (orderly run or orderly serve --data-dir ${o.dataDir})\n`,
      );
    }
    return r;
  } finally {
    await c.close();
  }
}

const orderPath = (id: string, action?: string): string => `/orders/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;

/** Checks a folder the CLI is about to deploy (so that a typo does not deploy nothing). */
async function inventoryFolder(dir: string): Promise<string> {
  const abs = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new Error(`${dir}: no such folder`);
  }
  if (!isDir) throw new Error(`${dir}: not a folder`);
  const { readInventoryDir } = await import('../formats/inventory-dir.js');
  const inv = readInventoryDir(abs);
  if (inv.locks.length === 0 && inv.workflows.length === 0 && (inv.jobResources ?? []).length === 0 && inv.problems.length === 0) {
    throw new Error(`${dir}: no *.lock.json, *.jobresource.json or *.workflow.json files in it`);
  }
  return abs;
}

async function actOnOrder(o: DataDirOpts & { json?: boolean }, id: string, action: string, body: Record<string, unknown>): Promise<void> {
  const r = await withConnection(o, { write: true }, (c) => c.call<{ order?: OrderView }>('POST', orderPath(id, action), body));
  if (o.json) printJson(r.order ?? null);
  else say(r.order ? `order ${id}: ${stateText(r.order)}` : `order ${id}: done`);
}

// ---------------------------------------------------------------- orderly run

interface RunOpts extends DataDirOpts {
  slots?: number;
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  quiet?: boolean;
}

async function runEngine(dir: string | undefined, o: Omit<RunOpts, 'dataDir'> & { dataDir: string | undefined }, database?: DatabaseOptions): Promise<number> {
  const { startNode } = await import('../node/start.js');
  const abs = dir !== undefined ? await inventoryFolder(dir) : undefined;

  let stopWith: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((r) => (stopWith = r));
  let stopping = false;
  let node: Awaited<ReturnType<typeof startNode>> | undefined;
  let unsubscribe: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`orderly: ${sig} again: exiting without a clean close\n`);
      process.exit(1);
    }
    stopping = true;
    say(`orderly: ${sig}: stopping the engine`);
    stopWith(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `orderly run | head`: a closed stdout must not take the engine down.
  process.stdout.on('error', () => undefined);

  const shutdown = async (): Promise<void> => {
    unsubscribe?.();
    await node?.close();
  };

  let what = '';
  try {
    node = await startNode({
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir, controlSocket: true } : {}),
      ...(database ? { database } : {}),
      ...(o.slots !== undefined ? { slots: o.slots } : {}),
      ...(o.synchronous !== undefined ? { synchronous: o.synchronous } : {}),
      onFatal: (err) => {
        process.stderr.write(`orderly: the engine stopped: ${err instanceof Error ? err.message : String(err)}\n`);
        stopping = true;
        stopWith(1);
      },
      onEngine: async (orderly, { seqBefore }) => {
        if (!o.quiet) {
          const upTo = orderly.engine.state.seq;
          unsubscribe = orderly.subscribe((events) => {
            process.stdout.write(events.map((s) => eventLine(s.event)).join('\n') + '\n');
          });
          // What the engine's recovery on open journaled (before anyone subscribed).
          const recovered = (await orderly.engine.store.readAfter(seqBefore, 100_000)).filter((s) => s.seq <= upTo);
          if (recovered.length > 0) process.stdout.write(recovered.map((s) => eventLine(s.event)).join('\n') + '\n');
        }
        what = `no folder given: ${orderly.listWorkflows().length} workflow(s) deployed already`;
        if (abs !== undefined) what = deployedText(await orderly.deployDir(abs), dir!);
      },
    });
    const where = node.paths ? `on ${node.paths.dir}` : `on PostgreSQL (schema ${database?.schema ?? 'orderly'})`;
    say(`orderly: engine pid ${process.pid} ${where}: ${what}${node.controlSocket !== undefined ? `; control socket ${node.controlSocket}` : ''}`);
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await shutdown().catch(() => undefined);
    throw err;
  }

  const code = await stopped;
  try {
    await shutdown();
  } catch (err) {
    process.stderr.write(`orderly: closing the engine: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  say('orderly: engine stopped');
  // Anything left holding the event loop (it should not) must not keep us alive.
  setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}

// ---------------------------------------------------------------- the command line

interface DatabaseCliOpts {
  database?: string;
  nodeName?: string;
  databaseSchema?: string;
  leaseSeconds?: number;
  agent?: string[];
  earlyStarts?: boolean;
}

/** The options of a node on PostgreSQL (serve, run). */
function addDatabaseOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--database <url>', 'the journal on PostgreSQL (postgres://user:password@host:port/db) instead of the data dir; see docs/cluster.md').env(
        'ORDERLY_DATABASE_URL',
      ),
    )
    .option('--node-name <name>', "with --database: this node's name, unique in the cluster (default: the host name)")
    .addOption(new Option('--database-schema <name>', 'with --database: the schema holding the journal (default orderly)').env('ORDERLY_DATABASE_SCHEMA'))
    .addOption(
      new Option('--lease-seconds <n>', 'with --database: the controller lease time; a lost controller is replaced after at most this (default 8)').argParser(
        parseLeaseSeconds,
      ),
    )
    .addOption(
      new Option('--agent <name>', "with --database: this node runs the jobs of this agent (a job's agentName; repeatable)").argParser(collectAgent),
    )
    .option('--early-starts', 'with --database: restartable jobs on the controller start before their start is committed (faster handoffs; a lost commit runs them again; see docs/cluster.md)');
}

function collectAgent(v: string, prev: string[] | undefined): string[] {
  if (v === '' || v.length > AGENT_NAME_LENGTH_MAX || /\p{Cc}/u.test(v)) throw new InvalidArgumentError(`an agent name is 1 to ${AGENT_NAME_LENGTH_MAX} characters without control characters`);
  const all = [...(prev ?? []), v];
  if (all.length > AGENTS_PER_NODE_MAX) throw new InvalidArgumentError(`at most ${AGENTS_PER_NODE_MAX} agents per node`);
  return all;
}

/** --database and its options, checked; undefined without --database. */
function databaseOptions(o: DatabaseCliOpts & { synchronous?: string }): DatabaseOptions | undefined {
  if (o.database !== undefined && o.database !== '') {
    if (!/^postgres(ql)?:\/\//.test(o.database)) throw new UsageError('--database: expected a postgres:// or postgresql:// URL');
    if (o.synchronous !== undefined) throw new UsageError('--synchronous is a setting of the SQLite journal: not with --database');
    const d: DatabaseOptions = { url: o.database };
    if (o.nodeName !== undefined) d.nodeName = o.nodeName;
    if (o.leaseSeconds !== undefined) d.leaseSeconds = o.leaseSeconds;
    if (o.databaseSchema !== undefined && o.databaseSchema !== '') d.schema = o.databaseSchema;
    if (o.agent !== undefined) d.agents = o.agent;
    if (o.earlyStarts === true) d.earlyStarts = true;
    return d;
  }
  if (o.nodeName !== undefined || o.leaseSeconds !== undefined || (o.databaseSchema !== undefined && o.databaseSchema !== '') || o.agent !== undefined || o.earlyStarts === true) {
    throw new UsageError('--node-name, --lease-seconds, --database-schema, --agent and --early-starts need --database (or ORDERLY_DATABASE_URL)');
  }
  return undefined;
}

function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'data dir: the SQLite journal, the control socket, engine.pid')
    .env('ORDERLY_DATA_DIR')
    .default(DEFAULT_DATA_DIR);
}

/** --server: the commands that reach an engine can reach an `orderly serve` over HTTP instead. */
function serverOption(): Option {
  return new Option('--server <url>', 'talk to an `orderly serve` over HTTP at this URL (e.g. http://127.0.0.1:8080) instead of the data dir').env(
    'ORDERLY_SERVER',
  );
}

function tokenOption(): Option {
  return new Option('--token <token>', 'bearer token for --server (viewer: reads, operator: orders, admin: deploy)').env('ORDERLY_TOKEN');
}

function jsonOption(what: string): Option {
  return new Option('--json', `print ${what} as JSON (machine-readable, nothing else on stdout)`);
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('orderly');
  program
    .description('Orderly: durable workflows and jobs with resource locks. See docs/cli.md.')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(str.replace(/^error: /, 'orderly: ')),
    })
    .showSuggestionAfterError(true)
    // --server/--token: refuse bad usage before the command does anything.
    .hook('preAction', (_program, action) => {
      const o = action.opts<Partial<DataDirOpts>>();
      if (serverTarget({ dataDir: '', ...o }) === undefined) return;
      if (action.getOptionValueSource('dataDir') === 'cli') throw new UsageError('give either --data-dir or --server, not both');
    });

  const run = program
    .command('run')
    .description('run the engine in the foreground: deploy DIR, open the control socket, log journal events')
    .argument('[dir]', 'JS7 inventory folder to deploy (*.lock.json, *.workflow.json)')
    .addOption(dataDirOption())
    .addOption(new Option('--slots <n>', 'worker slots: job executions at once (default 4)').argParser(parseSlots))
    .addOption(new Option('--synchronous <mode>', 'SQLite synchronous: FULL (default), NORMAL or OFF').argParser(parseSynchronous))
    .option('-q, --quiet', 'do not log journal events');
  addDatabaseOptions(run).action(async (dir: string | undefined, o: RunOpts & DatabaseCliOpts, cmd: Command) => {
    const database = databaseOptions(o);
    const dataDir = database && cmd.getOptionValueSource('dataDir') === 'default' ? undefined : o.dataDir;
    setExit(await runEngine(dir, { ...o, dataDir }, database));
  });

  const serve = program
    .command('serve')
    .description('run the engine with the HTTP API (see docs/http-api.md) and the control socket')
    .addOption(new Option('--port <n>', `TCP port (0: any free port; the real one is printed)`).argParser(parsePort).default(DEFAULT_PORT))
    .option('--host <host>', 'address to listen on', DEFAULT_HOST)
    .addOption(dataDirOption())
    .option('--examples <dir>', "JS7 inventory folder deployed at start (default: the package's examples/all)")
    .option('--no-examples', 'deploy nothing at start')
    .addOption(new Option('--slots <n>', 'worker slots: job executions at once (default 4)').argParser(parseSlots))
    .addOption(new Option('--synchronous <mode>', 'SQLite synchronous: FULL (default), NORMAL or OFF').argParser(parseSynchronous));
  addDatabaseOptions(serve).action(
      async (
        o: DataDirOpts & DatabaseCliOpts & {
          port: number;
          host: string;
          examples?: string | boolean;
          slots?: number;
          synchronous?: 'FULL' | 'NORMAL' | 'OFF';
        },
        cmd: Command,
      ) => {
        const database = databaseOptions(o);
        // With --database the data dir is needed only when asked for (the control socket).
        const dataDir = database && cmd.getOptionValueSource('dataDir') === 'default' ? false : o.dataDir;
        const so: ServeOptions = { port: o.port, host: o.host, dataDir };
        if (o.examples === false) so.examples = false;
        else if (typeof o.examples === 'string') so.examples = o.examples;
        if (o.slots !== undefined) so.slots = o.slots;
        if (o.synchronous !== undefined) so.synchronous = o.synchronous;
        if (database) so.database = database;
        const envToken = process.env['ORDERLY_ADMIN_TOKEN'];
        if (envToken !== undefined && envToken !== '') so.adminToken = envToken;
        const { runServe } = await import('../node/serve.js');
        setExit(await runServe(so));
      },
    );

  program
    .command('deploy')
    .description('deploy the locks and workflows of a JS7 inventory folder (all or nothing; with --server file by file)')
    .argument('<dir>', 'JS7 inventory folder')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(jsonOption('what was deployed'))
    .action(async (dir: string, o: DataDirOpts & { json?: boolean }) => {
      const abs = await inventoryFolder(dir);
      const r = await withConnection(o, { write: true, create: true }, (c) =>
        c.call<{ locks: string[]; workflows: { name: string; version: number }[] }>('POST', '/deploy', { dir: abs }),
      );
      if (o.json) printJson(r);
      else say(deployedText(r, dir));
    });

  const order = program.command('order').description('add, change and show orders');

  order
    .command('add')
    .description('add an order; prints its id')
    .argument('<workflow>', 'workflow name')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(new Option('--arg <key=value>', 'an order argument (repeatable)').argParser(collectArg))
    .addOption(new Option('--priority <n>', 'priority, higher first (default 0)').argParser(parseWholeNumber))
    .addOption(new Option('--at <time>', 'start no earlier than: ISO-8601, or +30s, +5m, +2h, +1d from now').argParser((v) => parseTime(v)))
    .option('--id <id>', 'order id (default: a random UUID); an id that exists is refused')
    .action(async (workflow: string, o: DataDirOpts & { arg?: Record<string, string>; priority?: number; at?: number; id?: string }) => {
      const body: Record<string, unknown> = { workflow };
      if (o.id !== undefined) body.id = o.id;
      if (o.arg !== undefined) body.arguments = o.arg;
      if (o.priority !== undefined) body.priority = o.priority;
      if (o.at !== undefined) body.scheduledFor = o.at;
      const r = await withConnection(o, { write: true }, (c) => c.call<{ id: string }>('POST', '/orders', body));
      say(r.id);
    });

  order
    .command('cancel')
    .description('cancel an order: it leaves lock queues and releases its locks; a running job ends first unless --kill')
    .argument('<id>', 'order id')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .option('--kill', 'also kill its running job (SIGTERM to the process group, SIGKILL after graceTimeout)')
    .addOption(jsonOption('the order'))
    .action((id: string, o: DataDirOpts & { kill?: boolean; json?: boolean }) => actOnOrder(o, id, 'cancel', o.kill ? { kill: true } : {}));

  order
    .command('suspend')
    .description('suspend an order at its next instruction boundary (locks stay held)')
    .argument('<id>', 'order id')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .option('--reset', 'a waiting order leaves the lock queues at once')
    .addOption(jsonOption('the order'))
    .action((id: string, o: DataDirOpts & { reset?: boolean; json?: boolean }) => actOnOrder(o, id, 'suspend', o.reset ? { reset: true } : {}));

  order
    .command('resume')
    .description('resume a suspended, failed or stopped order')
    .argument('<id>', 'order id')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(new Option('--position <json>', 'resume a failed or stopped order at this position, e.g. \'[0,"lock",1]\'').argParser(parsePosition))
    .option('--as-succeeded', 'treat the failed step as successful and go on')
    .addOption(jsonOption('the order'))
    .action((id: string, o: DataDirOpts & { position?: Position; asSucceeded?: boolean; json?: boolean }) => {
      if (o.position !== undefined && o.asSucceeded) throw new UsageError('give either --position or --as-succeeded, not both');
      const body: Record<string, unknown> = {};
      if (o.position !== undefined) body.position = o.position;
      if (o.asSucceeded) body.asSucceeded = true;
      return actOnOrder(o, id, 'resume', body);
    });

  order
    .command('confirm')
    .description('confirm the Prompt an order waits at (state prompting): it goes on; to refuse, cancel it')
    .argument('<id>', 'order id')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(jsonOption('the order'))
    .action((id: string, o: DataDirOpts & { json?: boolean }) => actOnOrder(o, id, 'confirm', {}));

  order
    .command('priority')
    .description('change the priority of an order (a waiting order is re-sorted)')
    .argument('<id>', 'order id')
    .argument('<priority>', 'new priority, a whole number (negative: put -- before it)', parseWholeNumber)
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(jsonOption('the order'))
    .action((id: string, priority: number, o: DataDirOpts & { json?: boolean }) => actOnOrder(o, id, 'priority', { priority }));

  order
    .command('show')
    .description('one order: state, position, what it waits for, locks held with tokens, outcome, history, step logs')
    .argument('<id>', 'order id')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(jsonOption('{order, history, logs}'))
    .action(async (id: string, o: DataDirOpts & { json?: boolean }) => {
      const r = await withConnection(o, { write: false }, (c) =>
        c.call<{ order: OrderView; history: Stamped[]; logs: StepLog[] }>('GET', orderPath(id)),
      );
      if (o.json) printJson(r);
      else say(orderDetail(r.order, r.history, r.logs));
    });

  program
    .command('orders')
    .description('list orders (oldest first)')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(new Option('--state <state>', 'only orders in this state').choices(ORDER_STATES))
    .option('--workflow <name>', 'only orders of this workflow')
    .addOption(jsonOption('the orders (an array)'))
    .action(async (o: DataDirOpts & { state?: string; workflow?: string; json?: boolean }) => {
      const q = new URLSearchParams();
      if (o.state !== undefined) q.set('state', o.state);
      if (o.workflow !== undefined) q.set('workflow', o.workflow);
      const qs = q.toString();
      const r = await withConnection(o, { write: false }, (c) => c.call<{ orders: OrderView[] }>('GET', `/orders${qs ? `?${qs}` : ''}`));
      if (o.json) printJson(r.orders);
      else say(ordersTable(r.orders));
    });

  program
    .command('locks')
    .description('list locks: holders with weight and fencing token, queue with the first waiters and why they wait')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(jsonOption('the locks (an array)'))
    .action(async (o: DataDirOpts & { json?: boolean }) => {
      const r = await withConnection(o, { write: false }, (c) => c.call<{ locks: LockView[] }>('GET', '/locks'));
      if (o.json) printJson(r.locks);
      else say(locksTable(r.locks));
    });

  program
    .command('cluster')
    .description('the controller (node, epoch, since) and the nodes with their agents, slots and running executions')
    .addOption(dataDirOption())
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(jsonOption('{controller, nodes}'))
    .action(async (o: DataDirOpts & { json?: boolean }) => {
      const r = await withConnection(o, { write: false }, (c) => c.call<ClusterAnswer>('GET', '/cluster'));
      if (o.json) printJson(r);
      else say(clusterText(r));
    });

  return program;
}

function fail(message: string, code: number): number {
  process.stderr.write(`orderly: ${message}\n`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already (help, version, or the usage error).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) return fail(err.message, 2);
    if (err instanceof ApiError) {
      const lines = [err.message];
      if (err.problems.length > 1) for (const p of err.problems) lines.push(`  ${p.path}: ${p.message}`);
      return fail(lines.join('\n'), 1);
    }
    return fail(err instanceof Error ? err.message : String(err), 1);
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`orderly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
