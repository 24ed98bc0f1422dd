// Job configs and templates (semantics §5, §8): validation and the rules the core applies.

import { hasNul, NUL_TEXT } from './arguments.js';
import type { ProblemItem } from './commands.js';
import type { JobConfig, JobConfigAlias, JobTemplate, Json, Order, Schedule, Workflow } from './model.js';
import { LIMITS } from './model.js';
import { argumentProblems, isTimeZone } from './checks.js';
import type { State } from './state.js';

export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const OVERLAP = new Set(['queue', 'skip', 'allow', 'replace']);
const CATCH_UP = new Set(['none', 'latest', 'all']);
const INTERVAL_SECONDS_MAX = 366 * 24 * 3600;
const QUEUE_LIMIT_MAX = 100_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Collector {
  items: ProblemItem[] = [];
  add(path: string, message: string): void {
    this.items.push({ path, message });
  }
  unknownKeys(o: Obj, allowed: readonly string[], base: string): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.add(base ? `${base}.${k}` : k, 'unknown key');
  }
  str(o: Obj, key: string, base: string, opts: { required?: boolean; max?: number; pattern?: RegExp; patternText?: string } = {}): string | undefined {
    const v = o[key];
    const path = base ? `${base}.${key}` : key;
    if (v === undefined) {
      if (opts.required) this.add(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.length === 0) return this.add(path, 'must be a non-empty string'), undefined;
    if (opts.max !== undefined && v.length > opts.max) return this.add(path, `longer than ${opts.max} characters`), undefined;
    if (opts.pattern && !opts.pattern.test(v)) return this.add(path, opts.patternText ?? `must match ${String(opts.pattern)}`), undefined;
    return v;
  }
  bool(o: Obj, key: string, base: string): boolean | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.add(base ? `${base}.${key}` : key, 'must be true or false'), undefined;
    return v;
  }
  num(o: Obj, key: string, base: string, min: number, max: number, whole: boolean): number | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    const path = base ? `${base}.${key}` : key;
    if (typeof v !== 'number' || !Number.isFinite(v) || (whole && !Number.isInteger(v)) || v < min || v > max) {
      return this.add(path, `must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}`), undefined;
    }
    return v;
  }
  clientFields(o: Obj, key: string): { [key: string]: Json } | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!isObj(v)) return this.add(key, 'must be an object'), undefined;
    let text: string;
    try {
      text = JSON.stringify(v);
    } catch {
      return this.add(key, 'must be JSON'), undefined;
    }
    if (text.length > LIMITS.clientFieldsBytesMax) return this.add(key, `longer than ${LIMITS.clientFieldsBytesMax} characters as JSON (clientFieldsBytesMax)`), undefined;
    return JSON.parse(text) as { [key: string]: Json };
  }
  args(o: Obj, key: string, base: string): Record<string, string> | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    const path = base ? `${base}.${key}` : key;
    const problems = argumentProblems(v, path);
    this.items.push(...problems);
    return isObj(v) ? { ...(v as Record<string, string>) } : undefined;
  }
}

export function validateJobTemplate(raw: unknown): { ok: true; value: JobTemplate } | { ok: false; problems: ProblemItem[] } {
  const p = new Collector();
  if (!isObj(raw)) return { ok: false, problems: [{ path: '$', message: 'must be an object' }] };
  p.unknownKeys(raw, ['id', 'name', 'description', 'active', 'blocking', 'defaultArguments', 'timeout', 'clientFields'], '');
  const id = p.str(raw, 'id', '', { required: true, pattern: ID_PATTERN, patternText: 'must be 1 to 128 characters of A-Z a-z 0-9 _ . -' });
  const name = p.str(raw, 'name', '', { required: true, max: LIMITS.nameLengthMax });
  const description = p.str(raw, 'description', '', { max: LIMITS.messageLengthMax });
  const active = p.bool(raw, 'active', '');
  const blocking = p.bool(raw, 'blocking', '');
  const defaultArguments = p.args(raw, 'defaultArguments', '');
  const timeout = p.num(raw, 'timeout', '', 1, LIMITS.timeoutSecondsMax, false);
  const clientFields = p.clientFields(raw, 'clientFields');
  if (p.items.length > 0) return { ok: false, problems: p.items };
  const t: JobTemplate = { id: id!, name: name!, active: active ?? true };
  if (clientFields !== undefined && Object.keys(clientFields).length > 0) t.clientFields = clientFields;
  if (description !== undefined) t.description = description;
  if (blocking !== undefined) t.blocking = blocking;
  if (defaultArguments !== undefined) t.defaultArguments = defaultArguments;
  if (timeout !== undefined) t.timeout = timeout;
  return { ok: true, value: t };
}

export function validateSchedule(raw: unknown, base: string, p: Collector): Schedule | undefined {
  if (!isObj(raw)) return p.add(base, 'must be an object'), undefined;
  p.unknownKeys(raw, ['type', 'cron', 'intervalSeconds', 'timeZone', 'overlap', 'queueLimit', 'catchUp', 'name', 'description'], base);
  const type = raw.type;
  if (type !== 'cron' && type !== 'interval') p.add(`${base}.type`, 'must be "cron" or "interval"');
  const cron = p.str(raw, 'cron', base, { max: 256 });
  const intervalSeconds = p.num(raw, 'intervalSeconds', base, 1, INTERVAL_SECONDS_MAX, true);
  if (type === 'cron' && cron === undefined && raw.cron === undefined) p.add(`${base}.cron`, 'is required for type cron');
  if (type === 'interval' && intervalSeconds === undefined && raw.intervalSeconds === undefined) p.add(`${base}.intervalSeconds`, 'is required for type interval');
  if (type === 'cron' && raw.intervalSeconds !== undefined) p.add(`${base}.intervalSeconds`, 'only for type interval');
  if (type === 'interval' && raw.cron !== undefined) p.add(`${base}.cron`, 'only for type cron');
  const timeZone = p.str(raw, 'timeZone', base, { max: 64 });
  if (timeZone !== undefined && !isTimeZone(timeZone)) p.add(`${base}.timeZone`, `unknown time zone ${timeZone}`);
  const overlap = raw.overlap;
  if (overlap !== undefined && (typeof overlap !== 'string' || !OVERLAP.has(overlap))) p.add(`${base}.overlap`, 'must be one of queue, skip, allow, replace');
  const queueLimit = p.num(raw, 'queueLimit', base, 0, QUEUE_LIMIT_MAX, true);
  const catchUp = raw.catchUp;
  if (catchUp !== undefined && (typeof catchUp !== 'string' || !CATCH_UP.has(catchUp))) p.add(`${base}.catchUp`, 'must be one of none, latest, all');
  const name = p.str(raw, 'name', base, { max: LIMITS.nameLengthMax });
  const description = p.str(raw, 'description', base, { max: LIMITS.messageLengthMax });
  if (type !== 'cron' && type !== 'interval') return undefined;
  const s: Schedule = { type };
  if (cron !== undefined) s.cron = cron;
  if (intervalSeconds !== undefined) s.intervalSeconds = intervalSeconds;
  if (timeZone !== undefined) s.timeZone = timeZone;
  if (typeof overlap === 'string' && OVERLAP.has(overlap)) s.overlap = overlap as Schedule['overlap'] & string;
  if (queueLimit !== undefined) s.queueLimit = queueLimit;
  if (typeof catchUp === 'string' && CATCH_UP.has(catchUp)) s.catchUp = catchUp as Schedule['catchUp'] & string;
  if (name !== undefined) s.name = name;
  if (description !== undefined) s.description = description;
  return s;
}

export function validateJobConfig(
  raw: unknown,
  s: State,
): { ok: true; value: Omit<JobConfig, 'created' | 'modified'> } | { ok: false; problems: ProblemItem[] } {
  const p = new Collector();
  if (!isObj(raw)) return { ok: false, problems: [{ path: '$', message: 'must be an object' }] };
  p.unknownKeys(raw, ['id', 'name', 'workflow', 'command', 'defaultArguments', 'timeout', 'active', 'blocking', 'templateId', 'description', 'schedule', 'clientFields'], '');
  const id = p.str(raw, 'id', '', { required: true, pattern: ID_PATTERN, patternText: 'must be 1 to 128 characters of A-Z a-z 0-9 _ . -' });
  const name = p.str(raw, 'name', '', { required: true, max: LIMITS.nameLengthMax });
  const workflow = p.str(raw, 'workflow', '', { max: LIMITS.nameLengthMax });
  let command = p.str(raw, 'command', '', { max: LIMITS.scriptBytesMax });
  if (command !== undefined && hasNul(command)) {
    p.add('command', NUL_TEXT);
    command = undefined;
  }
  if ((raw.workflow === undefined) === (raw.command === undefined)) p.add('workflow', 'give exactly one of workflow and command');
  if (workflow !== undefined && !s.workflows.has(workflow)) p.add('workflow', `workflow ${workflow} is not deployed`);
  const defaultArguments = p.args(raw, 'defaultArguments', '');
  const timeout = p.num(raw, 'timeout', '', 1, LIMITS.timeoutSecondsMax, false);
  const active = p.bool(raw, 'active', '');
  const blocking = p.bool(raw, 'blocking', '');
  const templateId = p.str(raw, 'templateId', '', { max: 128 });
  if (templateId !== undefined && !s.jobTemplates.has(templateId)) p.add('templateId', `job template ${templateId} not found`);
  const description = p.str(raw, 'description', '', { max: LIMITS.messageLengthMax });
  const schedule = raw.schedule === undefined ? undefined : validateSchedule(raw.schedule, 'schedule', p);
  const clientFields = p.clientFields(raw, 'clientFields');
  if (p.items.length > 0) return { ok: false, problems: p.items };
  const c: Omit<JobConfig, 'created' | 'modified'> = { id: id!, name: name!, active: active ?? true };
  if (workflow !== undefined) c.workflow = workflow;
  if (command !== undefined) c.command = command;
  if (defaultArguments !== undefined) c.defaultArguments = defaultArguments;
  if (timeout !== undefined) c.timeout = timeout;
  if (blocking !== undefined) c.blocking = blocking;
  if (templateId !== undefined) c.templateId = templateId;
  if (description !== undefined) c.description = description;
  if (schedule !== undefined) c.schedule = schedule;
  if (clientFields !== undefined && Object.keys(clientFields).length > 0) c.clientFields = clientFields;
  return { ok: true, value: c };
}

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** An alias to set on a job config: a name like a job config id and SHA-256 hashes (hex). */
export function validateAlias(raw: unknown): { ok: true; value: { name: string; keyHash: string; secretHash?: string } } | { ok: false; problems: ProblemItem[] } {
  const p = new Collector();
  if (!isObj(raw)) return { ok: false, problems: [{ path: 'alias', message: 'must be an object' }] };
  p.unknownKeys(raw, ['name', 'keyHash', 'secretHash'], 'alias');
  const name = p.str(raw, 'name', 'alias', { required: true, pattern: ID_PATTERN, patternText: 'must be 1 to 128 characters of A-Z a-z 0-9 _ . -' });
  const keyHash = p.str(raw, 'keyHash', 'alias', { required: true, pattern: HASH_PATTERN, patternText: 'must be a SHA-256 hash (64 hex digits)' });
  const secretHash = p.str(raw, 'secretHash', 'alias', { pattern: HASH_PATTERN, patternText: 'must be a SHA-256 hash (64 hex digits)' });
  if (p.items.length > 0) return { ok: false, problems: p.items };
  return { ok: true, value: { name: name!, keyHash: keyHash!, ...(secretHash !== undefined ? { secretHash } : {}) } };
}

/** The job config and alias of an alias name. */
export function findAlias(s: State, name: string): { jobConfig: string; alias: JobConfigAlias } | undefined {
  for (const c of s.jobConfigs.values()) {
    const a = c.aliases?.find((x) => x.name === name);
    if (a) return { jobConfig: c.def.id, alias: a };
  }
  return undefined;
}

/** `blocking` of a job config: its own, else its template's, else false. */
export function effectiveBlocking(s: State, c: JobConfig): boolean {
  if (c.blocking !== undefined) return c.blocking;
  const t = c.templateId !== undefined ? s.jobTemplates.get(c.templateId) : undefined;
  return t?.blocking ?? false;
}

/**
 * The generated workflow of a job config with one inline shell command. Its job may run as
 * often in parallel as there are worker slots: a blocking job config serializes its runs by
 * its run lock, not by the job.
 */
export function commandWorkflow(name: string, c: JobConfig | Omit<JobConfig, 'created' | 'modified'>): Workflow {
  const job: Workflow['jobs'][string] = {
    executable: { TYPE: 'ShellScriptExecutable', script: `#!/bin/sh\n${c.command ?? ''}\n` },
    parallelism: LIMITS.parallelismMax,
  };
  return { name, title: `job config ${c.name}`, instructions: [{ TYPE: 'Execute.Named', jobName: 'command' }], jobs: { command: job } };
}

/** A run that has not ended (failed runs released their locks and wait for an operator: not active). A forked run waits for its children: active. */
export function isActiveRun(o: Order): boolean {
  return o.state === 'scheduled' || o.state === 'ready' || o.state === 'waiting' || o.state === 'processing' || o.state === 'stopped' || o.state === 'forked';
}

export function holdsRunLock(o: Order): boolean {
  return o.held.some((h) => h.at.length === 0);
}
