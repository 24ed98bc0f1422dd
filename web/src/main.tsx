// The Orderly dashboard: log in (token or user), then the views, updated live from
// /api/v1/events. Routing is by the URL's hash (#/locks), so the server serves one page.

import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { api, ApiError, get, onLiveState, rememberedSession, setSession, startLive, stopLive, whenLoggedOut, liveState, type Session } from './api';
import { ErrorBox } from './util';
import { DeployView } from './views/deploy';
import { JobConfigsView } from './views/jobconfigs';
import { LocksView } from './views/locks';
import { OrderDetail, OrdersView } from './views/orders';
import { WorkflowsView } from './views/workflows';
import './style.css';

const VIEWS = [
  { path: 'workflows', title: 'Workflows' },
  { path: 'locks', title: 'Locks' },
  { path: 'orders', title: 'Orders' },
  { path: 'jobconfigs', title: 'Job configs' },
  { path: 'timeline', title: 'Lock timeline' },
  { path: 'deploy', title: 'Deploy' },
] as const;

/** The timeline view (with Chart.js) is loaded when first opened: the other views do not wait for it. */
function LazyTimeline() {
  const [View, setView] = useState<(() => JSX.Element) | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    import('./views/timeline').then((m) => setView(() => m.TimelineView)).catch(setError);
  }, []);
  if (error !== undefined) return <ErrorBox error={error} />;
  return View ? <View /> : <p>Loading…</p>;
}

function useHash(): string[] {
  const read = (): string[] => window.location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [parts, setParts] = useState(read());
  useEffect(() => {
    const on = (): void => setParts(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function Login({ onDone }: { onDone: (s: Session) => void }) {
  const [mode, setMode] = useState<'token' | 'user'>('token');
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const s = await api<Session>('POST', '/session', mode === 'token' ? { token: token.trim() } : { username, password });
      setPassword('');
      setToken('');
      onDone(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <h1>Orderly</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="Log in">
        <fieldset>
          <legend>Log in with</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'token'} onChange={() => setMode('token')} /> an API token
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'user'} onChange={() => setMode('user')} /> a user (also an Actian user)
          </label>
        </fieldset>
        {mode === 'token' ? (
          <label class="field">
            Token
            <input type="password" name="token" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
        ) : (
          <>
            <label class="field">
              User name
              <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
            </label>
            <label class="field">
              Password
              <input type="password" name="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

function LiveIndicator() {
  const [s, setS] = useState(liveState);
  useEffect(() => {
    const off = onLiveState(setS);
    setS(liveState);
    return off;
  }, []);
  return (
    <span class={`live live-${s}`} role="status" aria-live="polite" data-live={s}>
      {s === 'live' ? '● live' : s === 'reconnecting' ? '○ reconnecting…' : s === 'connecting' ? '○ connecting…' : '○ offline'}
    </span>
  );
}

/** Who this tab was logged in as: the view starts at once, GET /session confirms (or logs out). */
const remembered = rememberedSession();

function App() {
  const [session, setSess] = useState<Session | undefined>(remembered);
  const [checked, setChecked] = useState(remembered !== undefined);
  const parts = useHash();

  const adopt = (s: Session | undefined): void => {
    setSession(s);
    setSess(s);
    if (s) startLive();
    else stopLive();
  };

  useEffect(() => {
    whenLoggedOut(() => adopt(undefined));
    if (remembered) startLive();
    get<Session>('/session')
      .then((s) => adopt(s))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 401) adopt(undefined);
        else console.error(e);
      })
      .finally(() => setChecked(true));
  }, []);

  if (!checked) return <p class="loading">Loading…</p>;
  if (!session) return <Login onDone={adopt} />;

  const view = parts[0] !== undefined && parts[0] !== '' ? parts[0] : 'workflows';
  const logout = async (): Promise<void> => {
    try {
      await api('DELETE', '/session');
    } finally {
      adopt(undefined);
    }
  };

  let body;
  switch (view) {
    case 'locks':
      body = <LocksView />;
      break;
    case 'orders':
      body = parts[1] ? <OrderDetail id={parts[1]} session={session} /> : <OrdersView />;
      break;
    case 'jobconfigs':
      body = <JobConfigsView session={session} />;
      break;
    case 'timeline':
      body = <LazyTimeline />;
      break;
    case 'deploy':
      body = <DeployView session={session} />;
      break;
    default:
      body = <WorkflowsView selected={parts[1]} />;
  }

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">Orderly</span>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a href={`#/${v.path}`} aria-current={view === v.path ? 'page' : undefined}>
              {v.title}
            </a>
          ))}
        </nav>
        <span class="who">
          <LiveIndicator /> {session.user ?? session.name} ({session.role}){' '}
          <button type="button" class="link" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
