// Job configs: toggle blocking, run now, edit the schedule (with its next fire times before
// saving), the runs and their states, the fires (and the skipped ones). Live: job config and
// run events refresh the list (it is small) and the runs of the one opened.

import { useEffect, useState } from 'preact/hooks';

import { api, enc, get, may, post, subscribe, type JobConfigView, type OrderView, type Schedule, type Session } from '../api';
import { ErrorBox, fmtTime, StateBadge, useThrottled } from '../util';

function ScheduleEditor({ c, onSaved }: { c: JobConfigView; onSaved: () => void }) {
  const s = c.schedule;
  const [type, setType] = useState<'cron' | 'interval'>(s?.type ?? 'cron');
  const [cron, setCron] = useState(s?.cron ?? '0 * * * *');
  const [interval, setIntervalS] = useState(String(s?.intervalSeconds ?? 3600));
  const [zone, setZone] = useState(s?.timeZone ?? 'Etc/UTC');
  const [overlap, setOverlap] = useState(s?.overlap ?? '');
  const [preview, setPreview] = useState<string[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const build = (): Schedule => {
    const out: Schedule = type === 'cron' ? { type, cron } : { type, intervalSeconds: Number(interval) };
    if (zone !== '') out.timeZone = zone;
    if (overlap !== '') out.overlap = overlap;
    return out;
  };
  useEffect(() => {
    const h = window.setTimeout(() => {
      post<{ nextFireTimes: string[] }>('/schedules/preview', { schedule: build(), count: 5 })
        .then((r) => {
          setPreview(r.nextFireTimes);
          setError(undefined);
        })
        .catch((e: unknown) => {
          setPreview(undefined);
          setError(e);
        });
    }, 300);
    return () => window.clearTimeout(h);
  }, [type, cron, interval, zone, overlap]);
  const save = async (): Promise<void> => {
    try {
      await api('PUT', `/jobconfigs/${enc(c.id)}/schedule`, build());
      onSaved();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (): Promise<void> => {
    try {
      await api('DELETE', `/jobconfigs/${enc(c.id)}/schedule`);
      onSaved();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form
      class="schedule"
      aria-label={`schedule of ${c.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        Kind{' '}
        <select aria-label="Kind" value={type} onChange={(e) => setType(e.currentTarget.value as 'cron' | 'interval')}>
          <option value="cron">cron</option>
          <option value="interval">interval</option>
        </select>
      </label>
      {type === 'cron' ? (
        <label>
          Cron <input name="cron" value={cron} onInput={(e) => setCron(e.currentTarget.value)} />
        </label>
      ) : (
        <label>
          Every (seconds) <input name="intervalSeconds" type="number" min={1} value={interval} onInput={(e) => setIntervalS(e.currentTarget.value)} />
        </label>
      )}
      <label>
        Time zone <input name="timeZone" value={zone} onInput={(e) => setZone(e.currentTarget.value)} />
      </label>
      <label>
        Overlap{' '}
        <select aria-label="Overlap" value={overlap} onChange={(e) => setOverlap(e.currentTarget.value)}>
          <option value="">default</option>
          <option value="queue">queue</option>
          <option value="skip">skip</option>
          <option value="allow">allow</option>
          <option value="replace">replace</option>
        </select>
      </label>
      <button type="submit">Save schedule</button>
      {s && (
        <button type="button" onClick={() => void remove()}>
          Remove schedule
        </button>
      )}
      <ErrorBox error={error} />
      {preview && (
        <div aria-live="polite">
          Next fire times:
          <ol class="fires">
            {preview.map((t) => (
              <li>{fmtTime(t)}</li>
            ))}
          </ol>
        </div>
      )}
    </form>
  );
}

function Runs({ id, tick }: { id: string; tick: number }) {
  const [runs, setRuns] = useState<OrderView[] | undefined>(undefined);
  useEffect(() => {
    get<{ items: OrderView[] }>(`/jobconfigs/${enc(id)}/runs?limit=1000`)
      .then((r) => setRuns(r.items.slice(-50).reverse()))
      .catch(() => setRuns([]));
  }, [id, tick]);
  if (!runs) return <p>Loading…</p>;
  if (runs.length === 0) return <p class="meta">No runs in memory.</p>;
  return (
    <table>
      <caption>Runs (newest first, at most 50)</caption>
      <thead>
        <tr>
          <th scope="col">order</th>
          <th scope="col">state</th>
          <th scope="col">added</th>
          <th scope="col">waiting for</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((o) => (
          <tr data-run={o.id} data-state={o.state}>
            <td>
              <a href={`#/orders/${enc(o.id)}`}>{o.id}</a>
            </td>
            <td>
              <StateBadge state={o.state} suspended={o.suspended} />
            </td>
            <td>{fmtTime(o.addedAt)}</td>
            <td>{o.waitingFor?.kind === 'locks' ? o.waitingFor.locks?.join(', ') : (o.waitingFor?.kind ?? '')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NewJobConfig({ onDone }: { onDone: () => void }) {
  const [workflows, setWorkflows] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [workflow, setWorkflow] = useState('');
  const [blocking, setBlocking] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    get<{ workflows: { name: string }[] }>('/workflows')
      .then((r) => setWorkflows(r.workflows.map((w) => w.name).filter((w) => !w.startsWith('jobconfig:'))))
      .catch(setError);
  }, []);
  return (
    <form
      class="row"
      aria-label="New job config"
      onSubmit={(e) => {
        e.preventDefault();
        post('/jobconfigs', { id: name, name, workflow: workflow || workflows[0], blocking })
          .then(() => {
            setName('');
            onDone();
          })
          .catch(setError);
      }}
    >
      <label>
        New job config <input name="name" required pattern="[A-Za-z0-9_.\-]+" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        running{' '}
        <select aria-label="Workflow of the new job config" value={workflow} onChange={(e) => setWorkflow(e.currentTarget.value)}>
          {workflows.map((w) => (
            <option value={w}>{w}</option>
          ))}
        </select>
      </label>
      <label>
        <input type="checkbox" checked={blocking} onChange={(e) => setBlocking(e.currentTarget.checked)} /> blocking
      </label>
      <button type="submit">Create</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function JobConfigsView({ session }: { session: Session }) {
  const [configs, setConfigs] = useState<JobConfigView[] | undefined>(undefined);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  const admin = may(session, 'admin');
  const operator = may(session, 'operator');

  const load = async (): Promise<void> => {
    try {
      setConfigs((await get<{ jobConfigs: JobConfigView[] }>('/jobconfigs')).jobConfigs);
      setTick((t) => t + 1);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), []);
  const refresh = useThrottled(() => void load(), 400);
  useEffect(
    () =>
      subscribe((batch) => {
        const ids = new Set((configs ?? []).map((c) => c.id));
        const relevant = batch.some(
          (s) =>
            s.event.type.startsWith('JobConfig') ||
            s.event.type.startsWith('JobTemplate') ||
            s.event.type.startsWith('Schedule') ||
            (s.event.orderId !== undefined && (s.event.type === 'OrderAdded' ? typeof s.event['jobConfig'] === 'string' : true) && ids.size > 0),
        );
        if (relevant) refresh();
      }),
    [configs],
  );

  const toggle = async (c: JobConfigView): Promise<void> => {
    setError(undefined);
    try {
      await api('PATCH', `/jobconfigs/${enc(c.id)}`, { blocking: !c.effectiveBlocking });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const runNow = async (c: JobConfigView): Promise<void> => {
    setError(undefined);
    try {
      await post(`/jobconfigs/${enc(c.id)}/runs`, {});
      await load();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="h-jobconfigs">
      <h2 id="h-jobconfigs">Job configs</h2>
      <ErrorBox error={error} />
      {admin && <NewJobConfig onDone={() => void load()} />}
      {configs === undefined && <p>Loading…</p>}
      {configs !== undefined && configs.length === 0 && <p>No job configs.</p>}
      {configs?.map((c) => (
        <article class="jobconfig" aria-labelledby={`jc-${c.id}`} data-jobconfig={c.id}>
          <h3 id={`jc-${c.id}`}>
            {c.name} <span class="meta">{c.workflow !== undefined ? `workflow ${c.workflow}` : `command ${c.command ?? ''}`}</span>
            {!c.active && <span class="badge">inactive</span>}
          </h3>
          <div class="row">
            <label class="switch">
              <input
                type="checkbox"
                role="switch"
                checked={c.effectiveBlocking}
                disabled={!admin}
                onChange={() => void toggle(c)}
                aria-describedby={`jcb-${c.id}`}
                name={`blocking-${c.id}`}
              />{' '}
              blocking
            </label>
            <span id={`jcb-${c.id}`} class="meta">
              {c.effectiveBlocking ? 'runs one at a time (lock jobconfig:' + c.id + ')' : 'runs may overlap'}
            </span>
            {operator && (
              <button type="button" onClick={() => void runNow(c)} disabled={!c.active}>
                Run now
              </button>
            )}
            <span>{c.activeRuns} active runs</span>
            <span>next fire: {c.nextFireTime !== undefined ? fmtTime(c.nextFireTime) : '—'}</span>
            <button type="button" aria-expanded={open === c.id} onClick={() => setOpen(open === c.id ? undefined : c.id)}>
              {open === c.id ? 'Hide' : 'Schedule, runs and fires'}
            </button>
          </div>
          {open === c.id && (
            <div class="jcdetail">
              <h4>Schedule</h4>
              {c.schedule ? (
                <p>
                  {c.schedule.type === 'cron' ? `cron ${c.schedule.cron ?? ''}` : `every ${c.schedule.intervalSeconds ?? '?'} s`} in {c.schedule.timeZone ?? 'Etc/UTC'}
                  {c.schedule.overlap !== undefined ? `, overlap ${c.schedule.overlap}` : ''}
                </p>
              ) : (
                <p class="meta">no schedule</p>
              )}
              {admin && <ScheduleEditor c={c} onSaved={() => void load()} />}
              <h4>Fires</h4>
              {c.fires.length === 0 ? (
                <p class="meta">none yet</p>
              ) : (
                <ul class="fires">
                  {c.fires.map((f) => (
                    <li class={f.skipped !== undefined ? 'skipped' : ''}>
                      {fmtTime(f.fireAt)}: {f.skipped !== undefined ? `skipped (${f.skipped})` : <a href={`#/orders/${enc(f.orderId ?? '')}`}>{f.orderId}</a>}
                    </li>
                  ))}
                </ul>
              )}
              <h4>Runs</h4>
              <Runs id={c.id} tick={tick} />
            </div>
          )}
        </article>
      ))}
    </section>
  );
}
