// The dashboard talks only to Orderly's HTTP API (/api/v1), with the session cookie; every
// request that changes something carries the session's CSRF token.

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  name: string;
  role: Role;
  kind: string;
  user?: string;
  csrfToken: string;
}

export interface Problem {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

let csrf = '';
let onUnauthorized: () => void = () => undefined;
/** Resolves once the session's CSRF token is known (requests that change something wait for it). */
let csrfKnown: Promise<void> = Promise.resolve();
let csrfArrived: (() => void) | undefined;

/** Where the page keeps who is logged in (never the CSRF token), to draw the view at once on a reload. */
const SESSION_KEY = 'orderly.session';

export function setSession(s: Session | undefined): void {
  csrf = s?.csrfToken ?? '';
  csrfArrived?.();
  csrfArrived = undefined;
  try {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify({ name: s.name, role: s.role, kind: s.kind, ...(s.user !== undefined ? { user: s.user } : {}) }));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // storage refused: the page asks the server each time
  }
}

/**
 * The session this tab had (who, role; no CSRF token), to start the view without waiting for
 * GET /session; the server still decides: a 401 logs the page out. Requests that change
 * something wait until setSession gives the CSRF token.
 */
export function rememberedSession(): Session | undefined {
  let s: Omit<Session, 'csrfToken'> | undefined;
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    s = raw === null ? undefined : (JSON.parse(raw) as Omit<Session, 'csrfToken'>);
  } catch {
    s = undefined;
  }
  if (!s || typeof s.name !== 'string' || !['viewer', 'operator', 'admin'].includes(s.role)) return undefined;
  csrfKnown = new Promise((resolve) => {
    csrfArrived = resolve;
  });
  return { ...s, csrfToken: '' };
}

export function whenLoggedOut(fn: () => void): void {
  onUnauthorized = fn;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
export function may(s: Session | undefined, need: Role): boolean {
  return s !== undefined && RANK[s.role] >= RANK[need];
}

/** Requests made, by path (what a test reads to check that an update fetched little). */
export const requestLog: string[] = [];
const REQUEST_LOG_MAX = 1000;

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && !path.startsWith('/session')) await csrfKnown;
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  requestLog.push(`${method} ${path}`);
  if (requestLog.length > REQUEST_LOG_MAX) requestLog.splice(0, requestLog.length - REQUEST_LOG_MAX);
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; problems?: Problem[] } } | undefined)?.error;
    if (res.status === 401 && !path.startsWith('/session')) onUnauthorized();
    throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `${res.status} ${res.statusText}`, e?.problems ?? []);
  }
  return data as T;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body ?? {});

export const enc = encodeURIComponent;

// ---------------------------------------------------------------- live events

export interface Stamped {
  seq: number;
  event: { type: string; at: number; orderId?: string; [k: string]: unknown };
}

type Listener = (batch: Stamped[]) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;
let pending: Stamped[] = [];
let flushScheduled = false;
export let liveState: 'connecting' | 'live' | 'reconnecting' | 'off' = 'off';
const liveStateListeners = new Set<(s: typeof liveState) => void>();

function setLive(s: typeof liveState): void {
  liveState = s;
  for (const l of liveStateListeners) l(s);
}

export function onLiveState(fn: (s: typeof liveState) => void): () => void {
  liveStateListeners.add(fn);
  return () => liveStateListeners.delete(fn);
}

/** Events are handed out in batches, at most one per animation frame (bursts of thousands stay cheap). */
function flush(): void {
  flushScheduled = false;
  const batch = pending;
  pending = [];
  for (const l of listeners) l(batch);
}

export function startLive(): void {
  if (source) return;
  setLive('connecting');
  source = new EventSource('/api/v1/events', { withCredentials: true });
  source.onopen = () => setLive('live');
  source.onerror = () => setLive(source?.readyState === EventSource.CLOSED ? 'off' : 'reconnecting');
  source.onmessage = () => undefined;
  const handler = (ev: MessageEvent<string>): void => {
    try {
      pending.push(JSON.parse(ev.data) as Stamped);
    } catch {
      return;
    }
    if (!flushScheduled) {
      flushScheduled = true;
      setTimeout(flush, 100);
    }
  };
  for (const t of EVENT_TYPES) source.addEventListener(t, handler as EventListener);
}

export function stopLive(): void {
  source?.close();
  source = undefined;
  setLive('off');
}

export function subscribe(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// Server-Sent Events carry the event type as the SSE event name.
const EVENT_TYPES = [
  'LockDeployed',
  'LockDeleted',
  'WorkflowDeployed',
  'JobResourceDeployed',
  'SlotsSet',
  'LockTokensAdvanced',
  'OrderAdded',
  'OrderMoved',
  'OrderLocksQueued',
  'OrderLocksAcquired',
  'OrderLocksReleased',
  'OrderDequeued',
  'OrderAdmissionWaitStarted',
  'OrderJobQueued',
  'OrderProcessingStarted',
  'OrderProcessed',
  'OrderCaught',
  'OrderRetryScheduled',
  'OrderFailed',
  'OrderStopped',
  'OrderFinished',
  'OrderCancelMarked',
  'OrderCancelled',
  'OrderSuspendMarked',
  'OrderSuspended',
  'OrderResumed',
  'OrderPriorityChanged',
  'OrderDeleted',
  'OrderForked',
  'OrderJoined',
  'OrderPrompted',
  'OrderPromptAnswered',
  'OrderSleepStarted',
  'OrderCyclingPrepared',
  'OrderCycleStarted',
  'OrderCycleFinished',
  'JobTemplateSaved',
  'JobTemplateDeleted',
  'JobConfigSaved',
  'JobConfigDeleted',
  'ScheduleFired',
  'ScheduleFireSkipped',
];

// ---------------------------------------------------------------- shapes

export interface OrderView {
  id: string;
  workflow: string;
  jobConfig?: string;
  version: number;
  state: string;
  suspended: boolean;
  position: (number | string)[];
  arguments: Record<string, string>;
  priority: number;
  scheduledFor?: number;
  addedAt: number;
  endedAt?: number;
  waitingFor?: { kind: string; locks?: string[]; job?: string; until?: number; since?: number };
  locks: { lock: string; count?: number; token: number; since: number }[];
  execution?: { id: string; job: string; startedAt: number };
  outcome?: { type: string; reason?: string; returnCode?: number; message?: string };
  pending?: { suspend?: true; cancel?: { kill: boolean } };
  /** A Fork's child (`<parent>|<branch>`): its parent order. */
  parent?: string;
  /** While forked: the child orders, one per branch. */
  children?: string[];
}

export interface LockView {
  name: string;
  family: string;
  key?: string;
  limit: number;
  title?: string;
  policy: string;
  keyed: boolean;
  jobConfig?: string;
  fencingToken: number;
  state: string;
  heldWeight: number;
  holders: { orderId: string; count?: number; exclusive: boolean; since: number; token: number }[];
  /** The first waiters (the server shows at most `waiters`, default 100). */
  queue: { orderId: string; place: number; demand: { count?: number; exclusive: boolean }; priority: number; since?: number; reason: string }[];
  /** How many wait in all. */
  queueLength: number;
}

export interface Placement {
  name: string;
  version: number;
  latest: number;
  active: number;
  otherVersions: Record<string, number>;
  positions: {
    position: (number | string)[];
    where: string;
    counts: Record<string, number>;
    orders: { id: string; state: string; kind: string; suspended: boolean; priority: number; place?: number; waitingFor?: string; locksHeld: string[]; since?: number }[];
  }[];
}

export interface JobConfigView {
  id: string;
  name: string;
  workflow?: string;
  command?: string;
  active: boolean;
  blocking?: boolean;
  effectiveBlocking: boolean;
  templateId?: string;
  description?: string;
  defaultArguments?: Record<string, string>;
  schedule?: Schedule;
  nextFireTime?: string;
  fires: { fireAt: string; orderId?: string; skipped?: string }[];
  activeRuns: number;
}

export interface Schedule {
  type: 'cron' | 'interval';
  cron?: string;
  intervalSeconds?: number;
  timeZone?: string;
  overlap?: string;
  queueLimit?: number;
  catchUp?: string;
  name?: string;
  description?: string;
}
