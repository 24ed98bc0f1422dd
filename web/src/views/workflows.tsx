// Workflows: each workflow as its instruction tree (Lock blocks as nested frames with the
// lock's name and demand, Options, Try/catch, jobs with their parallelism), with every order
// placed where it stands: running in a job, waiting in front of a lock (with its place in
// line), waiting for a job slot, failed at a Lock, stopped holding its locks; a Fork's parent
// (forked) at the Fork, its child orders `<parent>|<branch>` in their branches.
// Live: order events refresh only the placement of the workflow shown (one request per burst).

import { useEffect, useState } from 'preact/hooks';

import { enc, get, subscribe, type Placement } from '../api';
import { ErrorBox, useThrottled } from '../util';

type Json = Record<string, unknown>;
interface Instr extends Json {
  TYPE: string;
  label?: string;
}
type Pos = (number | string)[];
type Group = Placement['positions'][number];

/** try+2 and catch+1 are drawn as the try and catch blocks. */
function drawKey(p: Pos): string {
  return p.map((x) => (typeof x === 'string' ? x.replace(/\+\d+$/, '') : String(x))).join('/');
}

const KIND_TEXT: Record<string, string> = {
  running: 'running',
  locks: 'waiting for the lock',
  job: 'waiting for a job slot',
  time: 'scheduled later',
  retry: 'waiting to retry',
  scheduled: 'scheduled',
  ready: 'ready',
  prompting: 'waiting for a confirmation',
  forked: 'forked: waiting for its branches to join',
  cycle: 'waiting for its next cycle',
  suspended: 'suspended',
  failed: 'failed',
  stopped: 'stopped, holding its locks',
};

function OrderChip({ o }: { o: Group['orders'][number] }) {
  const text = KIND_TEXT[o.kind] ?? o.kind;
  const place = o.place !== undefined ? ` #${o.place} in line` : '';
  const held = o.locksHeld.length > 0 ? `; holds ${o.locksHeld.join(', ')}` : '';
  return (
    <a class={`chip k-${o.kind}`} href={`#/orders/${enc(o.id)}`} title={`${o.id}: ${text}${place}${held}`} data-order={o.id} data-kind={o.kind}>
      {o.place !== undefined && <span class="place">{o.place}</span>}
      {o.id}
      <span class="sr-only">
        {' '}
        — {text}
        {place}
        {held}
      </span>
    </a>
  );
}

function Orders({ groups, label }: { groups: Group[]; label: string }) {
  if (groups.length === 0) return null;
  const shown = groups.flatMap((g) => g.orders);
  const total = groups.reduce((n, g) => n + Object.values(g.counts).reduce((a, b) => a + b, 0), 0);
  const counts: Record<string, number> = {};
  for (const g of groups) for (const [k, v] of Object.entries(g.counts)) counts[k] = (counts[k] ?? 0) + v;
  return (
    <div class="orders-here" aria-label={label}>
      <span class="counts">
        {Object.entries(counts)
          .map(([k, v]) => `${v} ${KIND_TEXT[k] ?? k}`)
          .join(' · ')}
      </span>
      <div class="chips">
        {shown.map((o) => (
          <OrderChip o={o} />
        ))}
        {total > shown.length && <span class="more">+{total - shown.length} more</span>}
      </div>
    </div>
  );
}

interface Ctx {
  at: (p: Pos) => Group[];
  jobs: Json;
}

function demandText(d: Json): string {
  const key = typeof d['key'] === 'string' ? `[${d['key']}]` : '';
  return `${String(d['lockName'])}${key}`;
}
function demandKind(d: Json): string {
  return typeof d['count'] === 'number' ? `shared, weight ${d['count']}` : 'exclusive';
}

function Block({ instrs, base, ctx }: { instrs: Instr[]; base: Pos; ctx: Ctx }) {
  const end = [...base, instrs.length];
  return (
    <ol class="block">
      {instrs.map((i, n) => (
        <Instruction i={i} pos={[...base, n]} ctx={ctx} />
      ))}
      {ctx.at(end).length > 0 && (
        <li class="instr end">
          <span class="what">end</span>
          <Orders groups={ctx.at(end)} label="orders at the end of the block" />
        </li>
      )}
    </ol>
  );
}

function Instruction({ i, pos, ctx }: { i: Instr; pos: Pos; ctx: Ctx }) {
  const here = ctx.at(pos);
  switch (i.TYPE) {
    case 'Execute.Named': {
      const job = (ctx.jobs[String(i['jobName'])] ?? {}) as Json;
      const par = typeof job['parallelism'] === 'number' ? job['parallelism'] : 1;
      return (
        <li class="instr job" data-pos={JSON.stringify(pos)}>
          <span class="what">
            <span class="icon" aria-hidden="true">
              ▶
            </span>{' '}
            job <strong>{String(i['jobName'])}</strong>
            {i.label !== undefined && i.label !== i['jobName'] ? ` "${i.label}"` : ''} <span class="meta">parallelism {par}</span>
          </span>
          <Orders groups={here} label={`orders at job ${String(i['jobName'])}`} />
        </li>
      );
    }
    case 'Lock': {
      const demands = (i['demands'] as Json[]) ?? [];
      const inner = ((i['lockedWorkflow'] as Json)?.['instructions'] as Instr[]) ?? [];
      const exclusive = demands.every((d) => typeof d['count'] !== 'number');
      return (
        <li class="instr lock-wrap" data-pos={JSON.stringify(pos)}>
          <Orders groups={here} label={`orders in front of the lock ${demands.map(demandText).join(', ')}`} />
          <section class={`frame lock ${exclusive ? 'exclusive' : 'shared'}`} aria-label={`Lock ${demands.map(demandText).join(', ')}`}>
            <h4>
              Lock{' '}
              {demands.map((d) => (
                <span class="demand">
                  <strong>{demandText(d)}</strong> <span class="meta">{demandKind(d)}</span>
                </span>
              ))}
              {typeof i['waitTimeout'] === 'number' && <span class="meta"> wait ≤ {String(i['waitTimeout'])}s</span>}
            </h4>
            <Block instrs={inner} base={[...pos, 'lock']} ctx={ctx} />
          </section>
        </li>
      );
    }
    case 'Options': {
      const inner = ((i['block'] as Json)?.['instructions'] as Instr[]) ?? [];
      return (
        <li class="instr" data-pos={JSON.stringify(pos)}>
          <Orders groups={here} label="orders at Options" />
          <section class="frame options" aria-label="Options">
            <h4>Options {i['stopOnFailure'] === true ? <span class="meta">stop on failure</span> : <span class="meta">fail on failure</span>}</h4>
            <Block instrs={inner} base={[...pos, 'options']} ctx={ctx} />
          </section>
        </li>
      );
    }
    case 'Try': {
      const tryI = ((i['try'] as Json)?.['instructions'] as Instr[]) ?? [];
      const catchI = ((i['catch'] as Json)?.['instructions'] as Instr[]) ?? [];
      const retry = typeof i['maxTries'] === 'number' ? ` max tries ${String(i['maxTries'])}` : '';
      return (
        <li class="instr" data-pos={JSON.stringify(pos)}>
          <Orders groups={here} label="orders at Try" />
          <section class="frame try" aria-label="Try">
            <h4>
              Try<span class="meta">{retry}</span>
            </h4>
            <Block instrs={tryI} base={[...pos, 'try']} ctx={ctx} />
            <h4 class="catch">Catch</h4>
            <Block instrs={catchI} base={[...pos, 'catch']} ctx={ctx} />
          </section>
        </li>
      );
    }
    case 'Fork': {
      const branches = (i['branches'] as { id: string; workflow?: Json }[]) ?? [];
      return (
        <li class="instr" data-pos={JSON.stringify(pos)}>
          <Orders groups={here} label="orders at Fork (forked: waiting for their branches)" />
          <section class="frame fork" aria-label="Fork">
            <h4>
              Fork <span class="meta">{branches.length} branches, each a child order {'<parent>|<branch>'}</span>
              {i['joinIfFailed'] === true && <span class="meta"> · join if failed</span>}
            </h4>
            {branches.map((b) => (
              <section class="branch" aria-label={`branch ${b.id}`}>
                <h4 class="catch">branch {b.id}</h4>
                <Block instrs={((b.workflow?.['instructions'] as Instr[]) ?? [])} base={[...pos, `fork+${b.id}`]} ctx={ctx} />
              </section>
            ))}
          </section>
        </li>
      );
    }
    default:
      return (
        <li class="instr" data-pos={JSON.stringify(pos)}>
          <span class="what">
            {i.TYPE}
            {typeof i['message'] === 'string' ? `: ${i['message']}` : ''}
          </span>
          <Orders groups={here} label={`orders at ${i.TYPE}`} />
        </li>
      );
  }
}

interface Summary {
  name: string;
  title?: string;
  latest: number;
  versions: number[];
}

function WorkflowCard({ name, placement, def }: { name: string; placement: Placement | undefined; def: Json | undefined }) {
  const groups = new Map<string, Group[]>();
  for (const g of placement?.positions ?? []) {
    const k = drawKey(g.position);
    groups.set(k, [...(groups.get(k) ?? []), g]);
  }
  const ctx: Ctx = { at: (p) => groups.get(drawKey(p)) ?? [], jobs: (def?.['jobs'] as Json) ?? {} };
  const others = Object.entries(placement?.otherVersions ?? {});
  return (
    <article class="workflow" aria-labelledby={`wf-${name}`}>
      <h3 id={`wf-${name}`}>
        {name} <span class="meta">version {placement?.version ?? '?'}</span>{' '}
        <a class="small" href={`/api/v1/workflows/${enc(name)}`} download={`${name}.workflow.json`}>
          download JS7 JSON
        </a>
      </h3>
      {typeof def?.['title'] === 'string' && <p class="meta">{def['title']}</p>}
      <p class="meta">
        {placement?.active ?? 0} orders not ended
        {others.length > 0 && ` (and in older versions: ${others.map(([v, n]) => `v${v}: ${n}`).join(', ')})`}
      </p>
      {def ? <Block instrs={(def['instructions'] as Instr[]) ?? []} base={[]} ctx={ctx} /> : <p>Loading…</p>}
    </article>
  );
}

export function WorkflowsView({ selected }: { selected?: string | undefined }) {
  const [list, setList] = useState<Summary[] | undefined>(undefined);
  const [defs, setDefs] = useState<Record<string, Json>>({});
  const [placements, setPlacements] = useState<Record<string, Placement>>({});
  const [error, setError] = useState<unknown>(undefined);
  const shown = (list ?? []).filter((w) => !w.name.startsWith('jobconfig:') && (selected === undefined || selected === '' || w.name === selected));

  const loadList = async (): Promise<void> => {
    try {
      setList((await get<{ workflows: Summary[] }>('/workflows')).workflows);
    } catch (e) {
      setError(e);
    }
  };
  const loadPlacements = async (names: string[]): Promise<void> => {
    try {
      const ps = await Promise.all(names.map((n) => get<Placement>(`/workflows/${enc(n)}/placement`)));
      setPlacements((old) => {
        const next = { ...old };
        for (const p of ps) next[p.name] = p;
        return next;
      });
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => void loadList(), []);
  useEffect(() => {
    const need = shown.filter((w) => defs[w.name] === undefined || Number(defs[w.name]?.['__version']) !== w.latest);
    if (need.length === 0) return;
    void Promise.all(need.map((w) => get<Json>(`/workflows/${enc(w.name)}`).then((d) => [w.name, { ...d, __version: w.latest }] as const)))
      .then((got) => setDefs((old) => ({ ...old, ...Object.fromEntries(got) })))
      .catch(setError);
    void loadPlacements(need.map((w) => w.name));
  }, [list, selected]);

  const refreshPlacements = useThrottled(() => void loadPlacements(shown.map((w) => w.name)), 300);
  const refreshList = useThrottled(() => void loadList(), 300);
  useEffect(
    () =>
      subscribe((batch) => {
        if (batch.some((s) => s.event.type === 'WorkflowDeployed')) refreshList();
        if (batch.some((s) => s.event.orderId !== undefined)) refreshPlacements();
      }),
    [list, selected],
  );

  return (
    <section aria-labelledby="h-workflows">
      <h2 id="h-workflows">Workflows</h2>
      <ErrorBox error={error} />
      <nav class="subnav" aria-label="Workflows">
        <a href="#/workflows" aria-current={selected === undefined || selected === '' ? 'page' : undefined}>
          all
        </a>
        {(list ?? [])
          .filter((w) => !w.name.startsWith('jobconfig:'))
          .map((w) => (
            <a href={`#/workflows/${enc(w.name)}`} aria-current={selected === w.name ? 'page' : undefined}>
              {w.name}
            </a>
          ))}
      </nav>
      <p class="legend" aria-label="Legend">
        <span class="chip k-running">running</span> <span class="chip k-locks">waiting for a lock (place in line)</span>{' '}
        <span class="chip k-job">waiting for a job slot</span> <span class="chip k-failed">failed</span> <span class="chip k-stopped">stopped, holding locks</span>{' '}
        <span class="chip k-forked">forked (branches running)</span>{' '}
        <span class="chip k-suspended">suspended</span>
      </p>
      {list === undefined && <p>Loading…</p>}
      {list !== undefined && shown.length === 0 && <p>No workflows deployed yet: see Deploy.</p>}
      <div class="workflows">
        {shown.map((w) => (
          <WorkflowCard name={w.name} placement={placements[w.name]} def={defs[w.name]} />
        ))}
      </div>
    </section>
  );
}
