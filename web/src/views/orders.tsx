// Orders: filter by workflow and state, a page at a time. Live: the orders an event names are
// fetched again by id (`?ids=`), never the whole list. The detail shows history, the position
// by names, arguments and logs (a running job's output appended live from
// /orders/{id}/log/live), and the actions the session's role may use: cancel, suspend, resume
// (at a position or as succeeded), priority.

import { useEffect, useRef, useState } from 'preact/hooks';

import { enc, get, may, post, subscribe, type OrderView, type Session, type Stamped } from '../api';
import { ErrorBox, fmtTime, posText, StateBadge, useThrottled } from '../util';

const STATES = ['scheduled', 'ready', 'waiting', 'prompting', 'forked', 'processing', 'failed', 'stopped', 'cancelled', 'finished'];
const PAGE = 100;

/** Job names come qualified (`workflow:job`); within the order's workflow, the job's own name. */
function jobName(o: OrderView, job: string | undefined): string {
  if (job === undefined) return '';
  return job.startsWith(`${o.workflow}:`) ? job.slice(o.workflow.length + 1) : job;
}

function waitText(o: OrderView): string {
  if (o.state === 'forked') return `forked into ${o.children?.length ?? 0} branch${o.children?.length === 1 ? '' : 'es'}`;
  const w = o.waitingFor;
  if (!w) return o.execution ? `running job ${jobName(o, o.execution.job)}` : '';
  if (w.kind === 'locks') return `waiting for ${w.locks?.join(', ') ?? 'locks'}`;
  if (w.kind === 'job') return `waiting for a slot of job ${jobName(o, w.job)}`;
  if (w.kind === 'time') return `until ${fmtTime(w.until)}`;
  if (w.kind === 'retry') return `retry at ${fmtTime(w.until)}`;
  if (w.kind === 'admission') return w.until !== undefined ? `admission of job ${jobName(o, w.job)} at ${fmtTime(w.until)}` : `admission of job ${jobName(o, w.job)} (no period ahead)`;
  return w.kind;
}

function matches(o: OrderView, wf: string, st: string): boolean {
  return (wf === '' || o.workflow === wf) && (st === '' || o.state === st);
}

export function OrdersView() {
  const [workflow, setWorkflow] = useState('');
  const [state, setState] = useState('');
  const [workflows, setWorkflows] = useState<string[]>([]);
  const [items, setItems] = useState<OrderView[] | undefined>(undefined);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const dirty = useRef(new Set<string>());
  const filter = useRef({ workflow, state });
  filter.current = { workflow, state };

  const query = (after?: string): string => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (workflow !== '') q.set('workflow', workflow);
    if (state !== '') q.set('state', state);
    if (after !== undefined) q.set('after', after);
    return `/orders?${q.toString()}`;
  };
  const load = async (after?: string): Promise<void> => {
    try {
      const r = await get<{ items: OrderView[]; next?: string }>(query(after));
      setItems((old) => (after === undefined ? r.items : [...(old ?? []), ...r.items]));
      setNext(r.next);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    get<{ workflows: { name: string }[] }>('/workflows')
      .then((r) => setWorkflows(r.workflows.map((w) => w.name)))
      .catch(setError);
  }, []);
  useEffect(() => void load(), [workflow, state]);

  const refresh = useThrottled(() => {
    const ids = [...dirty.current].slice(0, 1000);
    for (const id of ids) dirty.current.delete(id);
    if (dirty.current.size > 0) refresh();
    if (ids.length === 0) return;
    void get<{ items: OrderView[] }>(`/orders?ids=${ids.map(enc).join(',')}&limit=1000`).then((r) => {
      const got = new Map(r.items.map((o) => [o.id, o]));
      const { workflow: wf, state: st } = filter.current;
      setItems((old) => {
        if (!old) return old;
        const seen = new Set<string>();
        const out: OrderView[] = [];
        for (const o of old) {
          seen.add(o.id);
          const n = ids.includes(o.id) ? got.get(o.id) : o;
          if (n && matches(n, wf, st)) out.push(n);
        }
        // New orders that match and fall inside the loaded range.
        const last = old[old.length - 1]?.id;
        for (const n of r.items) {
          if (!seen.has(n.id) && matches(n, wf, st) && (last === undefined || n.id < last || old.length < PAGE)) out.push(n);
        }
        return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      });
    });
  }, 300);

  useEffect(
    () =>
      subscribe((batch: Stamped[]) => {
        for (const s of batch) if (s.event.orderId !== undefined) dirty.current.add(s.event.orderId);
        if (dirty.current.size > 0) refresh();
      }),
    [],
  );

  return (
    <section aria-labelledby="h-orders">
      <h2 id="h-orders">Orders</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter orders">
        <label>
          Workflow{' '}
          <select aria-label="Workflow" value={workflow} onChange={(e) => setWorkflow(e.currentTarget.value)}>
            <option value="">all</option>
            {workflows.map((w) => (
              <option value={w}>{w}</option>
            ))}
          </select>
        </label>
        <label>
          State{' '}
          <select aria-label="State" value={state} onChange={(e) => setState(e.currentTarget.value)}>
            <option value="">all</option>
            {STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <AddOrder workflows={workflows} />
      </form>
      <ErrorBox error={error} />
      {items === undefined ? (
        <p>Loading…</p>
      ) : (
        <div class="scroll">
          <table class="orders">
            <caption>
              {items.length} order{items.length === 1 ? '' : 's'}
              {next !== undefined ? ' (more below)' : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">id</th>
                <th scope="col">workflow</th>
                <th scope="col">state</th>
                <th scope="col">where</th>
                <th scope="col">locks held</th>
                <th scope="col">priority</th>
                <th scope="col">added</th>
              </tr>
            </thead>
            <tbody>
              {items.map((o) => (
                <tr data-order={o.id} data-state={o.state}>
                  <td>
                    <a href={`#/orders/${enc(o.id)}`}>{o.id}</a>
                  </td>
                  <td>{o.workflow}</td>
                  <td>
                    <StateBadge state={o.state} suspended={o.suspended} />
                  </td>
                  <td>
                    <code>{posText(o.position)}</code> {waitText(o)}
                  </td>
                  <td>{o.locks.map((l) => `${l.lock} (token ${l.token})`).join(', ')}</td>
                  <td>{o.priority}</td>
                  <td>{fmtTime(o.addedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {next !== undefined && (
            <button type="button" onClick={() => void load(next)}>
              Load more
            </button>
          )}
        </div>
      )}
    </section>
  );
}

function AddOrder({ workflows }: { workflows: string[] }) {
  const [wf, setWf] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [added, setAdded] = useState<string | undefined>(undefined);
  const add = async (): Promise<void> => {
    setError(undefined);
    try {
      const r = await post<{ id: string }>('/orders', { workflow: wf || workflows[0] });
      setAdded(r.id);
    } catch (e) {
      setError(e);
    }
  };
  if (workflows.length === 0) return null;
  return (
    <span class="add">
      <label>
        Add an order to{' '}
        <select aria-label="Add an order to" value={wf} onChange={(e) => setWf(e.currentTarget.value)}>
          {workflows
            .filter((w) => !w.startsWith('jobconfig:'))
            .map((w) => (
              <option value={w}>{w}</option>
            ))}
        </select>
      </label>{' '}
      <button type="button" onClick={() => void add()}>
        Add order
      </button>
      {added !== undefined && (
        <span role="status">
          {' '}
          added <a href={`#/orders/${enc(added)}`}>{added}</a>
        </span>
      )}
      <ErrorBox error={error} />
    </span>
  );
}

interface Detail {
  order: OrderView;
  where: { position: (number | string)[]; instruction: string; name: string }[];
  history: Stamped[];
}
interface StepLog {
  executionId: string;
  job: string;
  stdout: string;
  stderr: string;
  stdoutDroppedBytes: number;
  stderrDroppedBytes: number;
  at: number;
}

/** The output so far of the job the order runs now (GET /orders/{id}/log `running`, the `running` event of /log/live). */
interface RunningLog {
  executionId: string;
  job: string;
  startedAt: number;
  stdout: string;
  stderr: string;
  stdoutChars: number;
  stderrChars: number;
}

/** Characters of a running job's output kept on the page per stream (as the server keeps). */
const LIVE_TEXT_CHARS_MAX = 256 * 1024;

/** Appends a chunk at its position: an overlap once, a gap marked. */
function appendAt(text: string, endChars: number, fromChars: number, chunk: string): string {
  let next: string;
  if (fromChars > endChars) next = `${text}\n… ${fromChars - endChars} characters not shown …\n${chunk}`;
  else next = text + chunk.slice(endChars - fromChars);
  return next.length > LIVE_TEXT_CHARS_MAX ? next.slice(next.length - LIVE_TEXT_CHARS_MAX) : next;
}

/** The running job's output: the server's snapshot, then its chunks appended as they come. */
function useRunningLog(id: string, watch: boolean, fetched: RunningLog | undefined): RunningLog | undefined {
  const [live, setLive] = useState<RunningLog | undefined>(undefined);
  // A fetch of /log that is newer than what was streamed (another execution) wins.
  useEffect(() => {
    if (fetched && fetched.executionId !== live?.executionId) setLive(fetched);
  }, [fetched]);
  useEffect(() => {
    if (!watch) return;
    const es = new EventSource(`/api/v1/orders/${enc(id)}/log/live`, { withCredentials: true });
    es.addEventListener('running', ((ev: MessageEvent<string>) => {
      try {
        setLive(JSON.parse(ev.data) as RunningLog);
      } catch {
        // not ours
      }
    }) as EventListener);
    es.addEventListener('log', ((ev: MessageEvent<string>) => {
      let c: { executionId: string; stream: 'stdout' | 'stderr'; fromChars: number; text: string };
      try {
        c = JSON.parse(ev.data) as typeof c;
      } catch {
        return;
      }
      setLive((old) => {
        if (!old || old.executionId !== c.executionId) return old;
        const end = c.stream === 'stdout' ? old.stdoutChars : old.stderrChars;
        const text = appendAt(c.stream === 'stdout' ? old.stdout : old.stderr, end, c.fromChars, c.text);
        const chars = Math.max(end, c.fromChars + c.text.length);
        return c.stream === 'stdout' ? { ...old, stdout: text, stdoutChars: chars } : { ...old, stderr: text, stderrChars: chars };
      });
    }) as EventListener);
    return () => es.close();
  }, [id, watch]);
  return live;
}

function eventText(e: Stamped['event']): string {
  const { type: _t, at: _a, orderId: _o, ...rest } = e;
  const s = JSON.stringify(rest);
  return s === '{}' ? '' : s;
}

export function OrderDetail({ id, session }: { id: string; session: Session }) {
  const [d, setD] = useState<Detail | undefined>(undefined);
  const [logs, setLogs] = useState<StepLog[]>([]);
  const [fetchedRunning, setFetchedRunning] = useState<RunningLog | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [position, setPosition] = useState('');
  const [priority, setPriority] = useState('');

  const load = async (): Promise<void> => {
    try {
      const [det, lg] = await Promise.all([get<Detail>(`/orders/${enc(id)}`), get<{ logs: StepLog[]; running?: RunningLog }>(`/orders/${enc(id)}/log`)]);
      setD(det);
      setLogs(lg.logs);
      setFetchedRunning(lg.running);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [id]);
  const refresh = useThrottled(() => void load(), 250);
  useEffect(
    () =>
      subscribe((batch) => {
        if (batch.some((s) => s.event.orderId === id)) refresh();
      }),
    [id],
  );
  // Output of a running job: streamed while the order has not ended.
  const running = d?.order.state === 'processing';
  const watch = d !== undefined && d.order.state !== 'finished' && d.order.state !== 'cancelled';
  const live = useRunningLog(id, watch, fetchedRunning);
  const liveShown = live !== undefined && running && d?.order.execution?.id === live.executionId && !logs.some((l) => l.executionId === live.executionId) ? live : undefined;

  const act = async (what: string, body: unknown): Promise<void> => {
    setActionError(undefined);
    try {
      await post(`/orders/${enc(id)}/${what}`, body);
      await load();
    } catch (e) {
      setActionError(e);
    }
  };

  if (error !== undefined && !d) return <ErrorBox error={error} />;
  if (!d) return <p>Loading…</p>;
  const o = d.order;
  const ended = o.state === 'finished' || o.state === 'cancelled';
  const operator = may(session, 'operator');
  const resumable = o.suspended || o.state === 'failed' || o.state === 'stopped';

  return (
    <section aria-labelledby="h-order">
      <p>
        <a href="#/orders">← Orders</a>
      </p>
      <h2 id="h-order">
        Order {o.id} <StateBadge state={o.state} suspended={o.suspended} />
      </h2>
      <ErrorBox error={error} />
      <dl class="facts">
        <dt>Workflow</dt>
        <dd>
          <a href={`#/workflows/${enc(o.workflow)}`}>{o.workflow}</a> version {o.version}
          {o.jobConfig !== undefined && <> · run of job config {o.jobConfig}</>}
        </dd>
        <dt>Where</dt>
        <dd>
          <ol class="where" aria-label="position by names">
            {d.where.map((w) => (
              <li>{w.name}</li>
            ))}
          </ol>
          <code>{posText(o.position)}</code> {waitText(o)}
        </dd>
        {o.children !== undefined && o.children.length > 0 && (
          <>
            <dt>Branches</dt>
            <dd>
              <ul class="children" aria-label="branch orders">
                {o.children.map((c) => (
                  <li>
                    <a href={`#/orders/${enc(c)}`}>{c}</a>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
        {o.parent !== undefined && (
          <>
            <dt>Branch of</dt>
            <dd>
              <a href={`#/orders/${enc(o.parent)}`}>{o.parent}</a>
            </dd>
          </>
        )}
        <dt>Locks held</dt>
        <dd>{o.locks.length === 0 ? 'none' : o.locks.map((l) => `${l.lock} (${l.count === undefined ? 'exclusive' : `weight ${l.count}`}, token ${l.token}, since ${fmtTime(l.since)})`).join('; ')}</dd>
        <dt>Priority</dt>
        <dd>{o.priority}</dd>
        <dt>Added</dt>
        <dd>{fmtTime(o.addedAt)}</dd>
        {o.outcome && (
          <>
            <dt>Outcome</dt>
            <dd>
              {o.outcome.type}
              {o.outcome.reason !== undefined ? ` (${o.outcome.reason})` : ''}
              {o.outcome.returnCode !== undefined ? ` return code ${o.outcome.returnCode}` : ''}
              {o.outcome.message !== undefined ? `: ${o.outcome.message}` : ''}
            </dd>
          </>
        )}
        <dt>Arguments</dt>
        <dd>
          {Object.keys(o.arguments).length === 0 ? (
            'none'
          ) : (
            <table class="args">
              <tbody>
                {Object.entries(o.arguments).map(([k, v]) => (
                  <tr>
                    <th scope="row">{k}</th>
                    <td>
                      <pre>{v}</pre>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </dd>
      </dl>

      {operator && !ended && (
        <section class="actions" aria-label="Actions">
          <h3>Actions</h3>
          <div class="row">
            <button type="button" onClick={() => void act('cancel', {})}>
              Cancel
            </button>
            <button type="button" onClick={() => void act('cancel', { kill: true })}>
              Cancel and kill the job
            </button>
            {!o.suspended && (
              <button type="button" onClick={() => void act('suspend', {})}>
                Suspend
              </button>
            )}
            {resumable && (
              <button type="button" onClick={() => void act('resume', {})}>
                Resume
              </button>
            )}
            {(o.state === 'failed' || o.state === 'stopped') && (
              <button type="button" onClick={() => void act('resume', { asSucceeded: true })}>
                Resume as succeeded
              </button>
            )}
          </div>
          {resumable && (
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                let p: unknown;
                try {
                  p = JSON.parse(position);
                } catch {
                  setActionError(new Error('the position must be a JSON array like [0, "lock", 1]'));
                  return;
                }
                void act('resume', { position: p });
              }}
            >
              <label>
                Resume at position <input name="position" placeholder='[0, "lock", 1]' value={position} onInput={(e) => setPosition(e.currentTarget.value)} />
              </label>
              <button type="submit">Resume here</button>
            </form>
          )}
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              void act('priority', { priority: Number(priority) });
            }}
          >
            <label>
              Priority <input name="priority" type="number" step={1} value={priority} placeholder={String(o.priority)} onInput={(e) => setPriority(e.currentTarget.value)} />
            </label>
            <button type="submit">Set priority</button>
          </form>
          <ErrorBox error={actionError} />
        </section>
      )}
      {!operator && <p class="meta">Your role ({session.role}) may look but not act on orders.</p>}

      <h3>Logs</h3>
      {logs.length === 0 && liveShown === undefined && <p class="meta">{running ? 'No output yet (it is shown as the job writes it).' : 'No output.'}</p>}
      {logs.map((l) => (
        <article class="log" aria-label={`output of job ${l.job}`}>
          <h4>
            job {l.job} <span class="meta">execution {l.executionId} · {fmtTime(l.at)}</span>
          </h4>
          {l.stdoutDroppedBytes > 0 && <p class="meta">{l.stdoutDroppedBytes} earlier bytes dropped</p>}
          <pre class="out">{l.stdout}</pre>
          {l.stderr !== '' && (
            <>
              <p class="meta">stderr{l.stderrDroppedBytes > 0 ? ` (${l.stderrDroppedBytes} earlier bytes dropped)` : ''}</p>
              <pre class="err">{l.stderr}</pre>
            </>
          )}
        </article>
      ))}
      {liveShown && (
        <article class="log live" aria-label={`output of running job ${liveShown.job}`} data-execution={liveShown.executionId}>
          <h4>
            job {liveShown.job} <span class="meta">execution {liveShown.executionId} · since {fmtTime(liveShown.startedAt)}</span>{' '}
            <span class="badge st-processing">running</span>
          </h4>
          <pre class="out" aria-live="off">
            {liveShown.stdout}
          </pre>
          {liveShown.stderr !== '' && (
            <>
              <p class="meta">stderr</p>
              <pre class="err">{liveShown.stderr}</pre>
            </>
          )}
        </article>
      )}

      <h3>History</h3>
      <div class="scroll">
        <table class="history">
          <thead>
            <tr>
              <th scope="col">seq</th>
              <th scope="col">time</th>
              <th scope="col">event</th>
              <th scope="col">details</th>
            </tr>
          </thead>
          <tbody>
            {d.history.map((s) => (
              <tr>
                <td>{s.seq}</td>
                <td>{fmtTime(s.event.at)}</td>
                <td>{s.event.type}</td>
                <td>
                  <code>{eventText(s.event)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
