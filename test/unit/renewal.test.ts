// The clock of a lease or heartbeat (src/journal/renewal.ts): its loss is told even when the
// deadline's timer fires before performance.now() reached the deadline (a timer counts from the
// event loop's clock, read once per turn: after a long turn it fires early by that much).

import { afterEach, describe, expect, it, vi } from 'vitest';

import { Renewal } from '../../src/journal/renewal.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Renewal', () => {
  it('tells the loss when the deadline timer fires early: it waits for the rest', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const expired = vi.fn();
    const r = new Renewal({ ttlMs: 100, renewEveryMs: 1_000_000, renew: () => new Promise(() => undefined), expired });
    r.renewed(1_000); // deadline 1100, timer in 100 ms
    now = 1_095; // the timer fires while performance.now() is 5 ms short of the deadline
    vi.advanceTimersByTime(100);
    expect(expired).not.toHaveBeenCalled();
    now = 1_100;
    vi.advanceTimersByTime(5);
    expect(expired).toHaveBeenCalledTimes(1);
    r.stop();
  });

  it('a renewal in time moves the deadline; stop() ends the watch', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const expired = vi.fn();
    const r = new Renewal({ ttlMs: 100, renewEveryMs: 1_000_000, renew: () => new Promise(() => undefined), expired });
    r.renewed(0);
    now = 60;
    vi.advanceTimersByTime(60);
    r.renewed(60); // deadline 160
    now = 120;
    vi.advanceTimersByTime(60);
    expect(expired).not.toHaveBeenCalled();
    now = 160;
    vi.advanceTimersByTime(40);
    expect(expired).toHaveBeenCalledTimes(1);
    r.renewed(160);
    r.stop();
    now = 1_000;
    vi.advanceTimersByTime(1_000);
    expect(expired).toHaveBeenCalledTimes(1);
  });
});
