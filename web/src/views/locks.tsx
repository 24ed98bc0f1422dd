// Locks: limit, used weight, holders (order, weight, since, fencing token) and the queue in
// line order with why each waits. Keyed locks are grouped by family; the run locks of
// blocking job configs (`jobconfig:<id>`) are among them. Live: a lock event refreshes only
// the locks it names (or that the order of the event is in).

import { useEffect, useRef, useState } from 'preact/hooks';

import { enc, get, subscribe, type LockView } from '../api';
import { ErrorBox, fmtAgo, fmtTime, useThrottled, useTick } from '../util';

const QUEUE_SHOWN_DEFAULT = 50;

function weight(x: { count?: number; exclusive: boolean }): string {
  return x.exclusive ? 'exclusive' : `weight ${x.count ?? 1}`;
}

function LockCard({ l, now }: { l: LockView; now: number }) {
  const [all, setAll] = useState(false);
  const queue = all ? l.queue : l.queue.slice(0, QUEUE_SHOWN_DEFAULT);
  const used = l.state === 'exclusive' ? l.limit : l.heldWeight;
  const pct = l.limit > 0 ? Math.min(100, Math.round((used / l.limit) * 100)) : 100;
  const label = l.jobConfig !== undefined ? `blocking job config ${l.jobConfig}` : l.keyed ? `key ${l.key ?? '(family)'}` : l.name;
  return (
    <article class={`lockcard state-${l.state}`} aria-labelledby={`lk-${l.name}`} data-lock={l.name}>
      <h4 id={`lk-${l.name}`}>
        {l.key !== undefined ? <>[{l.key}]</> : l.name} <span class={`badge st-${l.state}`}>{l.state}</span>
      </h4>
      {l.title !== undefined && <p class="meta">{l.title}</p>}
      {l.jobConfig !== undefined && (
        <p class="meta">
          Run lock of the blocking job config <a href="#/jobconfigs">{l.jobConfig}</a>: its runs one at a time
        </p>
      )}
      <p>
        limit <strong>{l.limit}</strong> · used weight <strong>{l.state === 'exclusive' ? 'all (exclusive)' : l.heldWeight}</strong> · {l.policy} · fencing token {l.fencingToken}
      </p>
      <div class="meter" role="meter" aria-label={`used weight of ${label}`} aria-valuemin={0} aria-valuemax={l.limit} aria-valuenow={used}>
        <span style={{ width: `${pct}%` }} />
      </div>
      <table>
        <caption>Holders ({l.holders.length})</caption>
        <thead>
          <tr>
            <th scope="col">order</th>
            <th scope="col">weight</th>
            <th scope="col">since</th>
            <th scope="col">fencing token</th>
          </tr>
        </thead>
        <tbody>
          {l.holders.length === 0 && (
            <tr>
              <td colSpan={4} class="meta">
                nobody
              </td>
            </tr>
          )}
          {l.holders.map((h) => (
            <tr data-holder={h.orderId}>
              <td>
                <a href={`#/orders/${enc(h.orderId)}`}>{h.orderId}</a>
              </td>
              <td>{weight(h)}</td>
              <td title={fmtTime(h.since)}>{fmtAgo(h.since, now)} ago</td>
              <td>{h.token}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Queue ({l.queueLength}), in line order</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">order</th>
            <th scope="col">demand</th>
            <th scope="col">priority</th>
            <th scope="col">waiting</th>
            <th scope="col">why</th>
          </tr>
        </thead>
        <tbody>
          {l.queue.length === 0 && (
            <tr>
              <td colSpan={6} class="meta">
                empty
              </td>
            </tr>
          )}
          {queue.map((q) => (
            <tr data-waiter={q.orderId}>
              <td>{q.place}</td>
              <td>
                <a href={`#/orders/${enc(q.orderId)}`}>{q.orderId}</a>
              </td>
              <td>{weight(q.demand)}</td>
              <td>{q.priority}</td>
              <td title={fmtTime(q.since)}>{q.since !== undefined ? fmtAgo(q.since, now) : ''}</td>
              <td>{q.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {l.queue.length > queue.length && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {l.queue.length} waiters{l.queueLength > l.queue.length ? ` (of ${l.queueLength})` : ''}
        </button>
      )}
    </article>
  );
}

export function LocksView() {
  const [locks, setLocks] = useState<Map<string, LockView> | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const dirty = useRef(new Set<string>());
  const now = useTick(5000);

  const loadAll = async (): Promise<void> => {
    try {
      const r = await get<{ locks: LockView[] }>('/locks?limit=1000');
      setLocks(new Map(r.locks.map((l) => [l.name, l])));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void loadAll(), []);

  const refreshDirty = useThrottled(() => {
    const names = [...dirty.current];
    dirty.current.clear();
    void Promise.all(
      names.map((n) =>
        get<LockView>(`/locks/${enc(n)}`).then(
          (v) => [n, v] as const,
          () => [n, undefined] as const,
        ),
      ),
    ).then((got) =>
      setLocks((old) => {
        const next = new Map(old);
        for (const [n, v] of got) {
          if (v && v.holders !== undefined) next.set(n, v);
          else next.delete(n);
        }
        return next;
      }),
    );
  }, 250);
  const refreshAll = useThrottled(() => void loadAll(), 500);

  const current = useRef(locks);
  current.current = locks;
  useEffect(
    () =>
      subscribe((batch) => {
        let touched = false;
        for (const { event: e } of batch) {
          if (e.type === 'LockDeployed' || e.type === 'LockDeleted' || e.type === 'JobConfigSaved' || e.type === 'JobConfigDeleted') {
            refreshAll();
            continue;
          }
          const names = new Set<string>();
          if (e.type === 'OrderLocksQueued') for (const d of e['demands'] as { lock: string }[]) names.add(d.lock);
          else if (e.type === 'OrderLocksAcquired') for (const g of e['grants'] as { lock: string }[]) names.add(g.lock);
          else if (e.type === 'OrderLocksReleased') for (const l of e['locks'] as string[]) names.add(l);
          else if (e.orderId !== undefined && e.type !== 'OrderAdded' && e.type !== 'OrderProcessingStarted') {
            // An order leaving a queue (cancel, suspend, priority): the locks it is in.
            for (const l of current.current?.values() ?? []) {
              if (l.queue.some((q) => q.orderId === e.orderId) || l.holders.some((h) => h.orderId === e.orderId)) names.add(l.name);
            }
          }
          for (const n of names) {
            if (!current.current?.has(n)) {
              refreshAll();
            } else dirty.current.add(n);
            touched = true;
          }
        }
        if (touched) refreshDirty();
      }),
    [],
  );

  // Keyed locks grouped by family; blocking job configs' run locks by themselves.
  const families = new Map<string, LockView[]>();
  for (const l of locks?.values() ?? []) families.set(l.family, [...(families.get(l.family) ?? []), l]);
  const groups = [...families.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const plain = groups.filter(([, ls]) => !ls[0]?.keyed && ls[0]?.jobConfig === undefined);
  const keyed = groups.filter(([, ls]) => ls[0]?.keyed);
  const blocking = groups.filter(([, ls]) => ls[0]?.jobConfig !== undefined);

  return (
    <section aria-labelledby="h-locks">
      <h2 id="h-locks">Locks</h2>
      <ErrorBox error={error} />
      {locks === undefined && <p>Loading…</p>}
      {locks !== undefined && locks.size === 0 && <p>No locks deployed.</p>}
      <div class="lockgrid">
        {plain.map(([, ls]) => ls.map((l) => <LockCard l={l} now={now} />))}
      </div>
      {keyed.length > 0 && <h3>Keyed locks</h3>}
      {keyed.map(([fam, ls]) => (
        <section class="family" aria-label={`keyed lock ${fam}`}>
          <h4>
            {fam} <span class="meta">keyed: each key is its own lock with limit {ls[0]?.limit}</span>
          </h4>
          <div class="lockgrid">
            {ls
              .filter((l) => l.key !== undefined)
              .map((l) => (
                <LockCard l={l} now={now} />
              ))}
            {ls.every((l) => l.key === undefined) && <p class="meta">no key in use</p>}
          </div>
        </section>
      ))}
      {blocking.length > 0 && (
        <section aria-labelledby="h-blocking">
          <h3 id="h-blocking">Blocking job configs</h3>
          <p class="meta">Each blocking job config has a run lock of limit 1: its runs wait here, one at a time.</p>
          <div class="lockgrid">{blocking.map(([, ls]) => ls.map((l) => <LockCard l={l} now={now} />))}</div>
        </section>
      )}
    </section>
  );
}
