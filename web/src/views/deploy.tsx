// Deploy: upload JS7 inventory files (`*.lock.json`, `*.workflow.json`) or a whole folder;
// locks go first, then workflows (PUT /api/v1/locks/{name}, PUT /api/v1/workflows/{name}),
// each file's problems shown by it. Download any workflow as JS7 JSON.

import { useEffect, useRef, useState } from 'preact/hooks';

import { api, ApiError, enc, get, may, type Session } from '../api';
import { ErrorBox } from '../util';

interface Result {
  file: string;
  kind: 'lock' | 'workflow' | 'skipped';
  name: string;
  ok: boolean;
  text: string;
  error?: unknown;
}

const FILE_BYTES_MAX = 1024 * 1024;
const FILES_MAX = 1000;

function kindOf(name: string): { kind: 'lock' | 'workflow'; name: string } | undefined {
  const base = name.split('/').pop() ?? name;
  const m = /^(.+)\.(lock|workflow)\.json$/.exec(base);
  return m ? { kind: m[2] as 'lock' | 'workflow', name: m[1]! } : undefined;
}

async function deployFiles(files: File[]): Promise<Result[]> {
  const out: Result[] = [];
  const tagged = files.slice(0, FILES_MAX).map((f) => ({ f, path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, k: kindOf(f.name) }));
  // Locks before the workflows that use them.
  tagged.sort((a, b) => (a.k?.kind === b.k?.kind ? a.path.localeCompare(b.path) : a.k?.kind === 'lock' ? -1 : 1));
  for (const { f, path, k } of tagged) {
    if (!k) {
      out.push({ file: path, kind: 'skipped', name: '', ok: true, text: 'not a *.lock.json or *.workflow.json file: skipped' });
      continue;
    }
    if (f.size > FILE_BYTES_MAX) {
      out.push({ file: path, kind: k.kind, name: k.name, ok: false, text: `larger than ${FILE_BYTES_MAX} bytes` });
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(await f.text());
    } catch (e) {
      out.push({ file: path, kind: k.kind, name: k.name, ok: false, text: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
      continue;
    }
    try {
      const r = await api<{ name: string; version?: number; changed: boolean }>('PUT', `/${k.kind === 'lock' ? 'locks' : 'workflows'}/${enc(k.name)}`, doc);
      out.push({
        file: path,
        kind: k.kind,
        name: k.name,
        ok: true,
        text: r.changed ? `deployed${r.version !== undefined ? ` as version ${r.version}` : ''}` : 'unchanged (deployed like this already)',
      });
    } catch (e) {
      out.push({ file: path, kind: k.kind, name: k.name, ok: false, text: e instanceof ApiError ? e.message : String(e), error: e });
    }
  }
  return out;
}

export function DeployView({ session }: { session: Session }) {
  const [results, setResults] = useState<Result[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [workflows, setWorkflows] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const folder = useRef<HTMLInputElement>(null);
  useEffect(() => {
    folder.current?.setAttribute('webkitdirectory', '');
    get<{ workflows: { name: string }[] }>('/workflows')
      .then((r) => setWorkflows(r.workflows.map((w) => w.name)))
      .catch(setError);
  }, [results]);

  const onFiles = async (list: FileList | null): Promise<void> => {
    if (!list || list.length === 0) return;
    setBusy(true);
    try {
      setResults(await deployFiles([...list]));
    } finally {
      setBusy(false);
    }
  };
  const admin = may(session, 'admin');

  return (
    <section aria-labelledby="h-deploy">
      <h2 id="h-deploy">Deploy</h2>
      {admin ? (
        <form class="deploy" aria-label="Upload JS7 files" onSubmit={(e) => e.preventDefault()}>
          <p>
            JS7 inventory files: <code>NAME.lock.json</code> and <code>NAME.workflow.json</code>. Locks are deployed first. A workflow that did not change creates no new version.
          </p>
          <label class="field">
            Files
            <input type="file" name="files" multiple accept=".json,application/json" disabled={busy} onChange={(e) => void onFiles(e.currentTarget.files)} />
          </label>
          <label class="field">
            A folder
            <input ref={folder} type="file" name="folder" disabled={busy} onChange={(e) => void onFiles(e.currentTarget.files)} />
          </label>
        </form>
      ) : (
        <p class="meta">Deploying needs the admin role; yours is {session.role}.</p>
      )}
      {busy && <p role="status">Deploying…</p>}
      {results && (
        <table class="results" aria-live="polite">
          <caption>
            {results.filter((r) => r.ok && r.kind !== 'skipped').length} deployed, {results.filter((r) => !r.ok).length} refused
          </caption>
          <thead>
            <tr>
              <th scope="col">file</th>
              <th scope="col">result</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr class={r.ok ? 'ok' : 'bad'} data-file={r.file}>
                <td>{r.file}</td>
                <td>{r.error !== undefined ? <ErrorBox error={r.error} /> : <span>{r.ok ? '✓ ' : '✗ '}{r.text}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Download a workflow as JS7 JSON</h3>
      <ErrorBox error={error} />
      <ul class="downloads">
        {workflows.map((w) => (
          <li>
            <a href={`/api/v1/workflows/${enc(w)}`} download={`${w}.workflow.json`}>
              {w}.workflow.json
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
