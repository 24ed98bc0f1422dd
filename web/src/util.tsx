// Small shared pieces: time formatting, state badges, error lists, throttled refresh.

import { useEffect, useRef, useState } from 'preact/hooks';

import { ApiError, type Problem } from './api';

/** One formatter for every time shown (toLocaleString would build one per call: slow for long tables). */
const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium', hour12: false });

export function fmtTime(ms: number | string | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : TIME_FORMAT.format(d);
}

export function fmtAgo(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return '';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function StateBadge({ state, suspended }: { state: string; suspended?: boolean }) {
  return (
    <span class={`badge st-${state}`}>
      {state}
      {suspended ? ' · suspended' : ''}
    </span>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const e = error instanceof ApiError ? error : undefined;
  const problems: Problem[] = e?.problems ?? [];
  return (
    <div class="error" role="alert">
      <strong>{e ? `${e.code}: ` : ''}</strong>
      {error instanceof Error ? error.message : String(error)}
      {problems.length > 0 && (
        <ul>
          {problems.map((p) => (
            <li>
              <code>{p.path}</code>: {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * Calls `fn` at most once per `ms`, after the last trigger in a burst has waited at most `ms`
 * (live updates arrive in bursts: one refresh per burst).
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      ref.current();
    }, ms);
  };
}

/** Re-renders every `ms` (for "since" times). */
export function useTick(ms: number): number {
  const [t, setT] = useState(Date.now());
  useEffect(() => {
    const h = window.setInterval(() => setT(Date.now()), ms);
    return () => window.clearInterval(h);
  }, [ms]);
  return t;
}

export function posText(p: (number | string)[]): string {
  return JSON.stringify(p);
}

export function navigate(hash: string): void {
  window.location.hash = hash;
}
