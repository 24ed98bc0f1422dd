// The clock of a lease or heartbeat (src/journal/renewal.ts): its loss is told even when the
// deadline's timer fires before performance.now() reached the deadline (a timer counts from the
// event loop's clock, read once per turn: after a long turn it fires early by that much).

import { afterEach, describe, expect, it, vi } from 'vitest';

import { Renewal } from '../../src/journal/renewal.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/**
 * A Renewal of ttl 100 ms that never renews by itself, on fake timers and a performance.now()
 * the test sets (`clock.now`, starting at `start`).
 */
function watched(start: number): { r: Renewal; expired: ReturnType<typeof vi.fn>; clock: { now: number } } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const clock = { now: start };
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
  const expired = vi.fn();
  const r = new Renewal({ ttlMs: 100, renewEveryMs: 1_000_000, renew: () => new Promise(() => undefined), expired });
  return { r, expired, clock };
}

describe('Renewal', () => {
  it('tells the loss when the deadline timer fires early: it waits for the rest', () => {
    const { r, expired, clock } = watched(1_000);
    r.renewed(1_000); // deadline 1100, timer in 100 ms
    clock.now = 1_095; // the timer fires while performance.now() is 5 ms short of the deadline
    vi.advanceTimersByTime(100);
    expect(expired).not.toHaveBeenCalled();
    clock.now = 1_100;
    vi.advanceTimersByTime(5);
    expect(expired).toHaveBeenCalledTimes(1);
    r.stop();
  });

  it('a renewal in time moves the deadline; stop() ends the watch', () => {
    const { r, expired, clock } = watched(0);
    r.renewed(0);
    clock.now = 60;
    vi.advanceTimersByTime(60);
    r.renewed(60); // deadline 160
    clock.now = 120;
    vi.advanceTimersByTime(60);
    expect(expired).not.toHaveBeenCalled();
    clock.now = 160;
    vi.advanceTimersByTime(40);
    expect(expired).toHaveBeenCalledTimes(1);
    r.renewed(160);
    r.stop();
    clock.now = 1_000;
    vi.advanceTimersByTime(1_000);
    expect(expired).toHaveBeenCalledTimes(1);
  });
});
