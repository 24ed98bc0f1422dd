// Actian compatibility (/v2/api): how Orderly's job configs, templates, schedules and runs
// look in Actian's shapes (JobConfigResponse, ScheduleResponse, JobResponse, …) and how
// Actian's requests become Orderly's documents. No I/O here but reading the engine's state.
// docs/http-api.md "Actian compatibility" explains every mapping.

import { clampTime, timeProblem } from '../core/time.js';
import type { ProblemItem } from '../core/commands.js';
import { jobConfigLockName } from '../core/state.js';
import type { JobConfig, JobTemplate, Json, Schedule } from '../core/model.js';
import type { JobConfigInput, JobConfigView, JobTemplateInput } from '../runtime/orderly.js';
import type { OrderView } from '../runtime/views.js';
import { invalidError } from './errors.js';
import { ISO } from './routes/jobconfigs.js';

export const ACTIAN_PREFIX = '/v2/api';

// ---------------------------------------------------------------- job status

/** Actian's job states (the `state` query of GET /jobs in job-execution.json). */
export const ACTIAN_STATES = ['waiting', 'queued', 'initializing', 'running', 'finished_all', 'finished_ok', 'finished_error', 'cancelled', 'aborted', 'unknown'] as const;
export type ActianStatus = Exclude<(typeof ACTIAN_STATES)[number], 'finished_all'>;

/** Pending = waiting or queued (GET /jobs/pending), running, finished_all = finished_ok or finished_error. */
export const PENDING: ReadonlySet<string> = new Set(['waiting', 'queued', 'initializing']);

/** Has the run started: left its first instruction or holds a lock. */
function started(o: OrderView): boolean {
  return o.locks.length > 0 || o.position.length !== 1 || o.position[0] !== 0;
}

/** An order's state as Actian's job status (docs/http-api.md has the table). */
export function actianStatus(o: OrderView): ActianStatus {
  switch (o.state) {
    case 'scheduled':
    case 'ready':
      return 'queued';
    case 'waiting': {
      const w = o.waitingFor;
      if (o.jobConfig !== undefined && w?.kind === 'locks' && w.locks.includes(jobConfigLockName(o.jobConfig))) return 'waiting';
      return started(o) ? 'running' : 'queued';
    }
    case 'processing':
    case 'prompting':
    case 'forked':
      return 'running';
    case 'failed':
      return o.outcome?.reason === 'disrupted' ? 'aborted' : 'finished_error';
    case 'stopped':
      return 'finished_error';
    case 'cancelled':
      return 'cancelled';
    case 'finished':
      return o.outcome?.type === 'failed' ? 'finished_error' : 'finished_ok';
    default:
      return 'unknown';
  }
}

export function statusMatches(status: ActianStatus, wanted: string): boolean {
  if (wanted === 'finished_all') return status === 'finished_ok' || status === 'finished_error';
  return status === wanted;
}

// ---------------------------------------------------------------- durations and time zones

/** Milliseconds as Java's Duration.toString(): PT0S, PT15M, PT1H30M, PT2.5S, PT48H. */
export function javaDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return 'PT0S';
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = (total % 60_000) / 1000;
  let out = 'PT';
  if (h > 0) out += `${h}H`;
  if (m > 0) out += `${m}M`;
  if (s > 0) out += `${Number(s.toFixed(3))}S`;
  return out;
}

const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/**
 * Actian's `intervalFrequency` (its spec gives no format): an ISO-8601 duration of weeks,
 * days, hours, minutes, seconds (`PT15M`, `P1D`, `PT1H30M`; no years or months: they have no
 * fixed length) or plain seconds (`"900"` or 900). Whole seconds ≥ 1.
 */
export function parseInterval(v: string | number): { seconds: number } | { problem: string } {
  const text = typeof v === 'number' ? String(v) : v.trim();
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    const m = ISO_DURATION.exec(text);
    if (!m || text.toUpperCase() === 'P' || /T$/i.test(text)) return { problem: 'must be an ISO-8601 duration like PT15M or P1D, or whole seconds like 900' };
    const [, w, d, h, mi, s] = m;
    seconds = Number(w ?? 0) * 604_800 + Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0);
  }
  if (!Number.isFinite(seconds) || !Number.isInteger(Math.round(seconds * 1e6) / 1e6) || seconds < 1) return { problem: 'must be whole seconds, at least 1 (PT1S)' };
  return { seconds: Math.round(seconds) };
}

/** Quartz/Spring-style cron as Orderly's: `?` means `*`, a 7th (year) field `*` is dropped. */
export function fromQuartz(expr: string): string {
  const f = expr.trim().split(/\s+/);
  if (!f.includes('?') && f.length !== 7) return expr.trim();
  if (f.length === 7 && f[6] === '*') f.pop();
  return f.map((x) => (x === '?' ? '*' : x)).join(' ');
}

/** Offset of a zone at an instant, in minutes (east positive). */
export function offsetMinutes(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(new Date(clampTime(at)));
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{1,2})(?::?(\d{2}))?/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

function zoneName(timeZone: string, at: number, style: 'long' | 'short'): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: style }).formatToParts(new Date(clampTime(at)));
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

export function offsetId(minutes: number): string {
  if (minutes === 0) return 'Z';
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** Actian's TimeZone (java.util.TimeZone): raw offset and DST savings in ms, the standard name. */
export function timeZoneObject(timeZone: string, now: number): { id: string; displayName: string; rawOffset: number; dstsavings: number } {
  const year = new Date(clampTime(now)).getUTCFullYear();
  const jan = Date.UTC(year, 0, 1);
  const jul = Date.UTC(year, 6, 1);
  const a = offsetMinutes(timeZone, jan);
  const b = offsetMinutes(timeZone, jul);
  const raw = Math.min(a, b);
  return { id: timeZone, displayName: zoneName(timeZone, a === raw ? jan : jul, 'long'), rawOffset: raw * 60_000, dstsavings: (Math.max(a, b) - raw) * 60_000 };
}

// ---------------------------------------------------------------- references and macros

export interface Reference {
  id?: string;
  name?: string;
  type?: string;
  href?: string;
}

const enc = encodeURIComponent;
export const configHref = (id: string): string => `${ACTIAN_PREFIX}/jobconfigs/${enc(id)}`;
export const templateHref = (id: string): string => `${ACTIAN_PREFIX}/jobtemplates/${enc(id)}`;
export const jobHref = (id: string): string => `${ACTIAN_PREFIX}/jobs/${enc(id)}`;

export interface Macro {
  key?: string | null;
  value?: string | null;
  secure?: boolean | null;
  description?: string | null;
  token?: string | null;
}

export function toMacros(args: Record<string, string> | undefined): { key: string; value: string; secure: boolean }[] {
  return Object.entries(args ?? {}).map(([key, value]) => ({ key, value, secure: false }));
}

/** Macros as arguments; problems at `base[i].key` etc. */
export function fromMacros(macros: Macro[], base: string, problems: ProblemItem[]): Record<string, string> {
  const out: Record<string, string> = {};
  macros.forEach((m, i) => {
    const at = `${base}[${i}]`;
    if (typeof m.key !== 'string' || m.key === '') return void problems.push({ path: `${at}.key`, message: 'required: the macro name' });
    if (m.secure === true) problems.push({ path: `${at}.secure`, message: 'secure macros are not supported: Orderly keeps arguments in its journal in clear text' });
    if (m.key in out) problems.push({ path: `${at}.key`, message: `macro ${m.key} is given twice` });
    out[m.key] = m.value ?? '';
  });
  return out;
}

// ---------------------------------------------------------------- schedules

/** A schedule as one string (JobConfigResponse.schedule): the cron expression or the interval. */
export function scheduleText(s: Schedule): string {
  return s.type === 'cron' ? (s.cron ?? '') : javaDuration((s.intervalSeconds ?? 0) * 1000);
}

const looksLikeInterval = (text: string): boolean => /^\d+$/.test(text.trim()) || /^P/i.test(text.trim());

/** JobConfigRequest.schedule (a string) as a schedule, keeping the zone and policies of `current`. */
export function scheduleFromText(text: string, current: Schedule | undefined, path: string): Schedule {
  const keep: Schedule = { type: 'cron' };
  if (current) {
    for (const k of ['timeZone', 'overlap', 'queueLimit', 'catchUp', 'name', 'description'] as const) {
      if (current[k] !== undefined) (keep as unknown as Record<string, unknown>)[k] = current[k];
    }
  }
  if (looksLikeInterval(text)) {
    const r = parseInterval(text);
    if ('problem' in r) throw invalidError([{ path, message: `an interval ${r.problem}; or give a cron expression` }]);
    return { ...keep, type: 'interval', intervalSeconds: r.seconds };
  }
  return { ...keep, type: 'cron', cron: fromQuartz(text) };
}

export interface ActianScheduleBody {
  name?: string | null;
  type?: string | null;
  cronSchedule?: string | null;
  intervalFrequency?: string | number | null;
  description?: string | null;
  timeZone?: { id?: string | null } | string | null;
  webhookConfig?: unknown;
  overlap?: Schedule['overlap'] | null;
  queueLimit?: number | null;
  catchUp?: Schedule['catchUp'] | null;
}

/** Actian's ScheduleRequest as Orderly's schedule; refuses what cannot be honoured. */
export function scheduleFromActian(b: ActianScheduleBody): Schedule {
  const problems: ProblemItem[] = [];
  const type = b.type ?? (b.cronSchedule ? 'cron' : b.intervalFrequency !== undefined && b.intervalFrequency !== null && b.intervalFrequency !== '' ? 'interval' : undefined);
  if (b.webhookConfig !== undefined && b.webhookConfig !== null && !(typeof b.webhookConfig === 'object' && Object.values(b.webhookConfig).every((v) => v === null || v === undefined || v === ''))) {
    problems.push({ path: 'body.webhookConfig', message: 'webhook schedules are not supported' });
  }
  const s: Schedule = { type: type === 'interval' ? 'interval' : 'cron' };
  if (type === undefined) problems.push({ path: 'body.type', message: 'required: "cron" (with cronSchedule) or "interval" (with intervalFrequency)' });
  else if (type === 'cron') {
    if (!b.cronSchedule) problems.push({ path: 'body.cronSchedule', message: 'required for type cron' });
    else s.cron = fromQuartz(b.cronSchedule);
  } else if (type === 'interval') {
    if (b.intervalFrequency === undefined || b.intervalFrequency === null || b.intervalFrequency === '') problems.push({ path: 'body.intervalFrequency', message: 'required for type interval' });
    else {
      const r = parseInterval(b.intervalFrequency);
      if ('problem' in r) problems.push({ path: 'body.intervalFrequency', message: r.problem });
      else s.intervalSeconds = r.seconds;
    }
  }
  const tz = b.timeZone;
  if (typeof tz === 'string' && tz !== '') s.timeZone = tz;
  else if (tz && typeof tz === 'object') {
    if (typeof tz.id === 'string' && tz.id !== '') s.timeZone = tz.id;
    else problems.push({ path: 'body.timeZone.id', message: 'required: an IANA time zone id such as Europe/Berlin' });
  }
  if (b.name) s.name = b.name;
  if (b.description) s.description = b.description;
  if (b.overlap) s.overlap = b.overlap;
  if (b.queueLimit !== undefined && b.queueLimit !== null) s.queueLimit = b.queueLimit;
  if (b.catchUp) s.catchUp = b.catchUp;
  if (problems.length > 0) throw invalidError(problems);
  return s;
}

/** Problems of a saved schedule (`schedule.cron`) at their place in a ScheduleRequest. */
export function schedulePath(p: string): string {
  const map: Record<string, string> = {
    'schedule.cron': 'body.cronSchedule',
    'schedule.intervalSeconds': 'body.intervalFrequency',
    'schedule.timeZone': 'body.timeZone',
    schedule: 'body',
  };
  if (map[p] !== undefined) return map[p];
  if (p.startsWith('schedule.')) return `body.${p.slice('schedule.'.length)}`;
  return p;
}

export function scheduleResponse(configId: string, s: Schedule, nextFire: number | undefined, now: number): Record<string, unknown> {
  const tz = s.timeZone ?? 'Etc/UTC';
  const off = offsetMinutes(tz, now);
  const r: Record<string, unknown> = { type: s.type };
  if (s.name !== undefined) r.name = s.name;
  if (s.type === 'cron' && s.cron !== undefined) r.cronSchedule = s.cron;
  if (s.type === 'interval' && s.intervalSeconds !== undefined) r.intervalFrequency = javaDuration(s.intervalSeconds * 1000);
  if (nextFire !== undefined) r.nextFireTime = ISO(nextFire);
  if (s.description !== undefined) r.description = s.description;
  r.timeZone = timeZoneObject(tz, now);
  r.timeZoneDisplayName = (r.timeZone as { displayName: string }).displayName;
  r.timeZoneShortId = zoneName(tz, now, 'short');
  r.timeZoneOffset = { totalSeconds: off * 60, id: offsetId(off) };
  r.resourceId = configId;
  r.resourceType = 'jobconfig';
  // Orderly's extensions.
  if (s.overlap !== undefined) r.overlap = s.overlap;
  if (s.queueLimit !== undefined) r.queueLimit = s.queueLimit;
  if (s.catchUp !== undefined) r.catchUp = s.catchUp;
  if (s.type === 'interval' && s.intervalSeconds !== undefined) r.intervalSeconds = s.intervalSeconds;
  return r;
}

// ---------------------------------------------------------------- job configs and templates

export function templateReference(id: string, t: JobTemplate | undefined): Reference {
  return { id, ...(t ? { name: t.name } : {}), type: 'jobtemplate', href: templateHref(id) };
}

type ClientFields = { [key: string]: Json };

/** Where macro descriptions are kept among the client fields (answered with the macros, not as a field). */
export const MACRO_DESCRIPTIONS = 'macroDescriptions';

/** Orderly's answer over the fields a client gave that Orderly keeps unread (its own win). */
function withClientFields(r: Record<string, unknown>, cf: ClientFields | undefined): Record<string, unknown> {
  if (!cf) return r;
  const { runtimeConfig, [MACRO_DESCRIPTIONS]: _descriptions, ...top } = cf;
  const out: Record<string, unknown> = { ...top, ...r };
  if (runtimeConfig !== null && typeof runtimeConfig === 'object' && !Array.isArray(runtimeConfig)) {
    out.runtimeConfig = { ...runtimeConfig, ...(r.runtimeConfig as Record<string, unknown>) };
  }
  return out;
}

/**
 * The fields of an Actian request that Orderly does not read (e.g. `destinationId`, `tags`,
 * `runtimeConfig.packageName`, and any a client adds), merged over `base`: `null` removes one.
 * They are kept with the job config or template and returned as given.
 */
export function clientFieldsOf(body: Record<string, unknown>, read: readonly string[], rcRead: readonly string[], base: ClientFields | undefined): ClientFields | undefined {
  const out: ClientFields = { ...(base ?? {}) };
  const put = (target: ClientFields, k: string, v: unknown): void => {
    if (v === null) delete target[k];
    else if (v !== undefined) target[k] = v as Json;
  };
  for (const [k, v] of Object.entries(body)) if (!read.includes(k) && k !== 'runtimeConfig') put(out, k, v);
  const rc = body.runtimeConfig;
  if (rc !== null && typeof rc === 'object' && !Array.isArray(rc)) {
    const baseRc = out.runtimeConfig;
    const nextRc: ClientFields = baseRc !== null && typeof baseRc === 'object' && !Array.isArray(baseRc) ? { ...baseRc } : {};
    for (const [k, v] of Object.entries(rc)) if (!rcRead.includes(k)) put(nextRc, k, v);
    if (Object.keys(nextRc).length > 0) out.runtimeConfig = nextRc;
    else delete out.runtimeConfig;
  } else if (rc === null) delete out.runtimeConfig;
  return Object.keys(out).length > 0 ? out : undefined;
}

const CONFIG_READ = ['id', 'name', 'active', 'blocking', 'jobTemplateId', 'timeout', 'description', 'macrosets', 'schedule', 'workflow', 'command'] as const;
const TEMPLATE_READ = ['id', 'name', 'active', 'blocking', 'timeout', 'description'] as const;
const RUNTIME_READ = ['entryPoint', 'macros', 'inMessages'] as const;

export function configResponse(v: JobConfigView, template: JobTemplate | undefined): Record<string, unknown> {
  const r: Record<string, unknown> = {
    id: v.id,
    name: v.name,
    href: configHref(v.id),
    created: ISO(v.created),
    lastModified: ISO(v.modified),
    active: v.active,
    blocking: v.effectiveBlocking,
    favorite: false,
    remote: false,
  };
  if (v.schedule) r.schedule = scheduleText(v.schedule);
  if (v.nextFireTime !== undefined) r.nextFireTime = ISO(v.nextFireTime);
  if (v.timeout !== undefined) r.timeout = Math.ceil(v.timeout);
  if (v.templateId !== undefined) r.template = templateReference(v.templateId, template);
  const rc: Record<string, unknown> = {};
  if (v.workflow !== undefined) rc.entryPoint = v.workflow;
  rc.macros = toMacros(v.defaultArguments);
  r.runtimeConfig = rc;
  if (v.description !== undefined) r.description = v.description;
  // Orderly's extensions.
  if (v.workflow !== undefined) r.workflow = v.workflow;
  if (v.command !== undefined) r.command = v.command;
  r.activeRuns = v.activeRuns;
  r.queuedRuns = v.queuedRuns;
  r.fires = v.fires.map((f) => ({ fireAt: ISO(f.fireAt), ...(f.orderId !== undefined ? { jobId: f.orderId } : {}), ...(f.skipped !== undefined ? { skipped: f.skipped } : {}) }));
  return withClientFields(r, v.clientFields);
}

export function templateResponse(t: JobTemplate): Record<string, unknown> {
  const r: Record<string, unknown> = { id: t.id, name: t.name, href: templateHref(t.id), active: t.active, favorite: false, remote: false };
  r.runtimeConfig = { macros: toMacros(t.defaultArguments) };
  if (t.description !== undefined) r.description = t.description;
  if (t.blocking !== undefined) r.blocking = t.blocking;
  if (t.timeout !== undefined) r.timeout = t.timeout;
  return withClientFields(r, t.clientFields);
}

export interface ActianRuntimeConfig {
  entryPoint?: string | null;
  macros?: Macro[] | null;
  inMessages?: unknown[] | null;
  [k: string]: unknown;
}

export interface ActianConfigBody {
  id?: string;
  name?: string | null;
  active?: boolean | null;
  blocking?: boolean | null;
  jobTemplateId?: string | null;
  runtimeConfig?: ActianRuntimeConfig | null;
  macrosets?: string[] | null;
  schedule?: string | null;
  timeout?: number | null;
  description?: string | null;
  workflow?: string | null;
  command?: string | null;
}

type Doc = JobConfigInput & Record<string, unknown>;

/**
 * An Actian JobConfigRequest applied to `base` (the stored document for PATCH and PUT; for
 * PUT only its schedule is kept) as Orderly's job config, with the map from the core's problem
 * paths back to the request's.
 */
export function configFromActian(body: ActianConfigBody, base: Partial<JobConfigInput>, current: JobConfig | undefined): { doc: JobConfigInput; path: (p: string) => string } {
  const problems: ProblemItem[] = [];
  const doc: Doc = { ...(base as Doc) };
  const has = (k: keyof ActianConfigBody): boolean => body[k] !== undefined;
  const set = (key: string, v: unknown): void => {
    if (v === null || v === undefined || v === '') delete doc[key];
    else doc[key] = v;
  };
  if (has('id')) doc.id = body.id!;
  if (has('name')) set('name', body.name);
  if (has('active')) set('active', body.active);
  if (has('blocking')) set('blocking', body.blocking);
  if (has('jobTemplateId')) set('templateId', body.jobTemplateId);
  if (has('timeout')) set('timeout', body.timeout === 0 ? null : body.timeout);
  if (has('description')) set('description', body.description);
  if (body.macrosets && body.macrosets.length > 0) problems.push({ path: 'body.macrosets', message: 'macro sets are not supported: give the values as runtimeConfig.macros' });
  const rc = body.runtimeConfig;
  let whatFrom: 'workflow' | 'command' | 'entryPoint' | undefined;
  let macroKeys: string[] = [];
  if (has('runtimeConfig')) {
    if (rc === null) delete doc.defaultArguments;
    else if (rc) {
      if (rc.inMessages && rc.inMessages.length > 0) problems.push({ path: 'body.runtimeConfig.inMessages', message: 'input messages are not supported: pass values as macros' });
      if (rc.macros !== undefined) {
        const args = rc.macros === null ? {} : fromMacros(rc.macros, 'body.runtimeConfig.macros', problems);
        macroKeys = (rc.macros ?? []).map((m) => (typeof m.key === 'string' ? m.key : ''));
        set('defaultArguments', Object.keys(args).length > 0 ? args : null);
      }
    }
  }
  if (typeof body.workflow === 'string' && typeof body.command === 'string') problems.push({ path: 'body.command', message: 'give either workflow or command, not both' });
  if (typeof body.workflow === 'string') {
    doc.workflow = body.workflow;
    delete doc.command;
    whatFrom = 'workflow';
  } else if (typeof body.command === 'string') {
    doc.command = body.command;
    delete doc.workflow;
    whatFrom = 'command';
  } else if (rc && typeof rc.entryPoint === 'string' && rc.entryPoint !== '') {
    doc.workflow = rc.entryPoint;
    delete doc.command;
    whatFrom = 'entryPoint';
  }
  if (body.workflow === null && whatFrom === undefined) delete doc.workflow;
  if (body.command === null && whatFrom === undefined) delete doc.command;
  if (typeof body.schedule === 'string' && body.schedule.trim() !== '') {
    const cur = current?.schedule;
    if (!(cur && scheduleText(cur) === body.schedule.trim())) doc.schedule = scheduleFromText(body.schedule, cur, 'body.schedule');
  }
  const cf = clientFieldsOf(body as Record<string, unknown>, CONFIG_READ, RUNTIME_READ, base.clientFields);
  if (cf) doc.clientFields = cf;
  else delete doc.clientFields;
  if (problems.length > 0) throw invalidError(problems);
  const wherePrefix = (p: string): string => {
    if (p === 'templateId') return 'body.jobTemplateId';
    if (p === 'workflow' || p === 'command') {
      if (whatFrom === 'entryPoint') return 'body.runtimeConfig.entryPoint';
      if (whatFrom === 'command') return 'body.command';
      if (whatFrom === 'workflow') return 'body.workflow';
      return doc.workflow === undefined && doc.command === undefined ? 'body.runtimeConfig.entryPoint' : `body.${p}`;
    }
    if (p === 'schedule' || p.startsWith('schedule.')) return 'body.schedule';
    if (p === 'clientFields') return 'body';
    if (p === 'defaultArguments') return 'body.runtimeConfig.macros';
    if (p.startsWith('defaultArguments.')) {
      const i = macroKeys.indexOf(p.slice('defaultArguments.'.length));
      return i >= 0 ? `body.runtimeConfig.macros[${i}].key` : 'body.runtimeConfig.macros';
    }
    if (p === '$' || p === '') return 'body';
    return `body.${p}`;
  };
  return { doc: doc as JobConfigInput, path: wherePrefix };
}

export interface ActianTemplateBody {
  id?: string;
  name?: string | null;
  active?: boolean | null;
  description?: string | null;
  runtimeConfig?: ActianRuntimeConfig | null;
  blocking?: boolean | null;
  timeout?: number | null;
}

export function templateFromActian(body: ActianTemplateBody, base: Partial<JobTemplateInput>): { doc: JobTemplateInput; path: (p: string) => string } {
  const problems: ProblemItem[] = [];
  const doc = { ...base } as Record<string, unknown>;
  const set = (key: string, v: unknown): void => {
    if (v === null || v === undefined || v === '') delete doc[key];
    else doc[key] = v;
  };
  if (body.id !== undefined) doc.id = body.id;
  if (body.name !== undefined) set('name', body.name);
  if (body.active !== undefined) set('active', body.active);
  if (body.description !== undefined) set('description', body.description);
  if (body.blocking !== undefined) set('blocking', body.blocking);
  if (body.timeout !== undefined) set('timeout', body.timeout === 0 ? null : body.timeout);
  let macroKeys: string[] = [];
  const rc = body.runtimeConfig;
  if (rc === null) delete doc.defaultArguments;
  else if (rc && rc.macros !== undefined) {
    const args = rc.macros === null ? {} : fromMacros(rc.macros, 'body.runtimeConfig.macros', problems);
    macroKeys = (rc.macros ?? []).map((m) => (typeof m.key === 'string' ? m.key : ''));
    set('defaultArguments', Object.keys(args).length > 0 ? args : null);
  }
  const cf = clientFieldsOf(body as Record<string, unknown>, TEMPLATE_READ, RUNTIME_READ, base.clientFields);
  if (cf) doc.clientFields = cf;
  else delete doc.clientFields;
  if (problems.length > 0) throw invalidError(problems);
  return {
    doc: doc as JobTemplateInput,
    path: (p) => {
      if (p.startsWith('defaultArguments.')) {
        const i = macroKeys.indexOf(p.slice('defaultArguments.'.length));
        return i >= 0 ? `body.runtimeConfig.macros[${i}].key` : 'body.runtimeConfig.macros';
      }
      if (p === 'defaultArguments') return 'body.runtimeConfig.macros';
      return p === '$' || p === '' || p === 'clientFields' ? 'body' : `body.${p}`;
    },
  };
}

// ---------------------------------------------------------------- jobs (runs)

export interface RunTimesOf {
  /** When its first job execution started. */
  started?: number;
  /** When it last failed or stopped (Orderly keeps those for an operator; Actian sees them finished). */
  settled?: number;
}

export function jobResponse(o: OrderView, times: RunTimesOf, configs: ReadonlyMap<string, JobConfig>, templates: ReadonlyMap<string, JobTemplate>, now: number): Record<string, unknown> {
  const status = actianStatus(o);
  const href = jobHref(o.id);
  const r: Record<string, unknown> = { id: o.id, status, entryPoint: o.workflow, href };
  let scheduled = o.scheduledFor;
  if (scheduled === undefined && o.jobConfig !== undefined) {
    const m = /@(\d{1,16})$/.exec(o.id);
    if (m && o.id === `${o.jobConfig}@${m[1]}`) scheduled = Number(m[1]);
  }
  if (scheduled !== undefined) r.scheduled = ISO(scheduled);
  r.received = ISO(o.addedAt);
  const startedAt = times.started ?? o.execution?.startedAt;
  if (startedAt !== undefined) r.started = ISO(startedAt);
  const finished = o.endedAt ?? (status === 'finished_error' || status === 'aborted' ? times.settled : undefined);
  if (finished !== undefined) r.finished = ISO(finished);
  if (startedAt !== undefined) r.duration = javaDuration((finished ?? now) - startedAt);
  r.engine = 'orderly';
  // execution.job is `workflow:job`; the step is the job's name.
  if (o.execution) r.currentStep = o.execution.job.slice(o.execution.job.lastIndexOf(':') + 1);
  if (o.outcome?.returnCode !== undefined) r.returnCode = String(o.outcome.returnCode);
  if (o.jobConfig !== undefined) {
    const c = configs.get(o.jobConfig);
    r.jobConfig = { id: o.jobConfig, ...(c ? { name: c.name } : {}), type: 'jobconfig', href: configHref(o.jobConfig) };
    if (c?.templateId !== undefined) r.jobTemplate = templateReference(c.templateId, templates.get(c.templateId));
  }
  r.jobLog = { id: o.id, type: 'log', href: `${href}/log` };
  // Orderly's extensions.
  r.orderlyState = o.state;
  r.priority = o.priority;
  if (o.outcome) r.outcome = o.outcome;
  return r;
}

// ---------------------------------------------------------------- lists

export const PAGE_SIZE_DEFAULT = 100;
export const PAGE_SIZE_MAX = 1000;

/** Sorts by Actian's `sortby` (comma separated) and `direction` (asc|desc, one per field). */
export function sorter<T>(fields: Record<string, (x: T) => string | number | boolean | undefined>, sortby: string | undefined, direction: string | undefined, fallback: { field: string; dir: 'asc' | 'desc' }): (a: T, b: T) => number {
  const names = sortby ? sortby.split(',').map((s) => s.trim()).filter(Boolean) : [fallback.field];
  const dirs = direction ? direction.split(',').map((s) => s.trim().toLowerCase()) : [];
  const problems: ProblemItem[] = [];
  const keys = names.map((n, i) => {
    const get = fields[n];
    if (!get) problems.push({ path: 'query.sortby', message: `cannot sort by ${n}; one of ${Object.keys(fields).join(', ')}` });
    const d = dirs[i] ?? (sortby ? 'asc' : fallback.dir);
    if (d !== 'asc' && d !== 'desc') problems.push({ path: 'query.direction', message: 'must be asc or desc (comma separated, one per sortby field)' });
    return { get: get ?? (() => undefined), sign: d === 'desc' ? -1 : 1 };
  });
  if (problems.length > 0) throw invalidError(problems);
  const cmp = (x: string | number | boolean | undefined, y: string | number | boolean | undefined): number => {
    if (x === y) return 0;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return x < y ? -1 : 1;
  };
  return (a, b) => {
    for (const k of keys) {
      const c = cmp(k.get(a), k.get(b));
      if (c !== 0) return c * k.sign;
    }
    return 0;
  };
}

/** One page of a list in Actian's list shape; `offset` is the page number (zero based). */
export function listPage<T>(all: T[], q: { offset?: number; size?: number; sortby?: string; direction?: string }, url: string): Record<string, unknown> & { items: T[] } {
  const size = q.size ?? PAGE_SIZE_DEFAULT;
  const page = q.offset ?? 0;
  const totalRecords = all.length;
  const totalPages = Math.ceil(totalRecords / size);
  const items = all.slice(page * size, page * size + size);
  const link = (n: number): string => {
    const u = new URL(url, 'http://orderly.invalid');
    u.searchParams.set('offset', String(n));
    u.searchParams.set('size', String(size));
    return u.pathname + u.search;
  };
  const links: { prev?: string; next?: string } = {};
  if (page > 0 && totalPages > 0) links.prev = link(Math.min(page - 1, totalPages - 1));
  if (page + 1 < totalPages) links.next = link(page + 1);
  const r: Record<string, unknown> & { items: T[] } = { totalRecords, totalPages, size, pageNumber: page, items, links };
  if (q.sortby !== undefined) r.sortBy = q.sortby;
  if (q.direction !== undefined) r.direction = q.direction;
  return r;
}

/** Actian's query filters Orderly does not have: refused when given (an answer ignoring them would be wrong). */
export function refuseUnsupported(q: Record<string, unknown>, names: readonly string[]): void {
  const problems: ProblemItem[] = [];
  for (const n of names) {
    const v = q[n];
    if (v !== undefined && v !== '') problems.push({ path: `query.${n}`, message: 'not supported by Orderly' });
  }
  if (problems.length > 0) throw invalidError(problems);
}

/** `startdate` / `enddate`: epoch ms (Actian: "epoch numerical format") or ISO-8601. */
export function parseDate(v: string | undefined, path: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const t = /^-?\d{1,16}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw invalidError([{ path, message: 'must be ms since the epoch or an ISO-8601 time' }]);
  const problem = timeProblem(t);
  if (problem !== undefined) throw invalidError([{ path, message: problem }]);
  return t;
}
