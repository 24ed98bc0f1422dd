// Fires job config schedules: computes due fire times (src/schedule, time-zone and DST aware)
// and reports them to the core (`fireSchedule`), which applies the overlap and catch-up
// policies and makes each fire happen once. Driven by the engine's clock: tests call poll().

import type { Command } from '../core/commands.js';
import type { Stamped } from '../core/events.js';
import type { JobConfigState, State } from '../core/state.js';
import { fireTimesBetween, nextFireTime } from '../schedule/cron.js';
import type { Engine } from './engine.js';

/** Fire times reported one by one per job config and poll; older missed ones are summed up in one skip record. */
const FIRES_PER_POLL_MAX = 1000;
const TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * Where counting starts: the last handled fire, or when the schedule came into force as it is
 * (a save that changes neither the schedule nor `active` loses no fire that was due before it).
 */
export function fireSince(c: JobConfigState): number {
  return Math.max(c.lastFireAt ?? -Infinity, c.scheduleSince ?? c.def.modified);
}

/**
 * The fires due at `now`: one `fireSchedule` per active job config with a schedule and due
 * times since its last handled fire (pure: the Scheduler submits them, the simulation too).
 */
export function dueFires(state: State, now: number): Extract<Command, { type: 'fireSchedule' }>[] {
  const out: Extract<Command, { type: 'fireSchedule' }>[] = [];
  for (const c of state.jobConfigs.values()) {
    const sched = c.def.schedule;
    if (!sched || !c.def.active) continue;
    const since = fireSince(c);
    const { times, more } = fireTimesBetween(sched, since, now, FIRES_PER_POLL_MAX);
    if (times.length === 0) continue;
    const cmd: Extract<Command, { type: 'fireSchedule' }> = { type: 'fireSchedule', id: c.def.id, fireTimes: times };
    if (more > 0) {
      const lastAt = fireTimesBetween(sched, since, times[0]! - 1, 1).times[0];
      if (lastAt !== undefined) cmd.missed = { count: more, lastAt };
    }
    out.push(cmd);
  }
  return out;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly engine: Engine,
    private readonly clock: () => number,
    /** false: no timers; the caller drives `poll()` (tests with an injected clock). */
    private readonly auto = true,
  ) {}

  start(): Promise<void> {
    this.unsubscribe = this.engine.subscribe((events) => this.onEvents(events));
    return this.poll();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
  }

  private since(c: JobConfigState): number {
    return fireSince(c);
  }

  /** The next time this job config's schedule fires, if it has one and is active. */
  nextFireTime(id: string): number | undefined {
    const c = this.engine.state.jobConfigs.get(id);
    if (!c?.def.schedule || !c.def.active) return undefined;
    return nextFireTime(c.def.schedule, Math.max(this.since(c), this.clock() - 60_000));
  }

  /** Reports every due fire to the core, then arms the timer for the next one. */
  poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    // A follower fires nothing: the journal's writer does, once for the whole cluster.
    if (this.stopped || this.engine.mode === 'following') return;
    const work = dueFires(this.engine.state, this.clock()).map((cmd) => this.engine.submit(cmd).catch(() => undefined));
    await Promise.all(work);
    this.arm();
  }

  private onEvents(events: readonly Stamped[]): void {
    if (events.some((e) => e.event.type === 'JobConfigSaved' || e.event.type === 'JobConfigDeleted')) this.arm();
  }

  private arm(): void {
    if (!this.auto || this.stopped) return;
    let next = Infinity;
    for (const c of this.engine.state.jobConfigs.values()) {
      if (!c.def.schedule || !c.def.active) continue;
      const t = nextFireTime(c.def.schedule, this.since(c));
      if (t !== undefined && t < next) next = t;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (next === Infinity) return;
    this.timer = setTimeout(() => void this.poll(), Math.min(Math.max(0, next - this.clock()), TIMER_MAX_MS));
  }
}
