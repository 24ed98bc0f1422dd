// The package as npm sees it: its name, what `npm pack` ships, a lock file that `npm ci`
// accepts on any platform, and no installed package that refuses the running Node version.
// (.ci/run goes further: `npm ci` on a fresh clone, `npm install` leaving the tree clean, and
// the README's library example installed from the packed tarball into a new project.)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(root + path, 'utf8');

interface LockEntry {
  version?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Lock {
  name: string;
  packages: Record<string, LockEntry>;
}

const pkg = JSON.parse(read('package.json')) as { name: string; bin: Record<string, string>; engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as Lock;

/** Where Node would find `name` from the package installed at `from` (a lock key). */
function resolveInLock(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (dir === '') return undefined;
    const at = dir.lastIndexOf('node_modules/');
    dir = at <= 0 ? '' : dir.slice(0, at - 1);
  }
}

/** `os`/`cpu` lists as npm reads them: empty = any; `!x` excludes x. */
function fits(list: string[] | undefined, here: string): boolean {
  if (!list || list.length === 0) return true;
  if (list.includes(`!${here}`)) return false;
  const positive = list.filter((x) => !x.startsWith('!'));
  return positive.length === 0 || positive.includes(here);
}

describe('packaging', () => {
  it('is published as orderly-scheduler and installs the `orderly` command', () => {
    expect(pkg.name).toBe('orderly-scheduler');
    expect(pkg.bin).toEqual({ orderly: 'dist/cli/main.js' });
    expect(lock.name).toBe(pkg.name);
    expect(lock.packages['']).toMatchObject({ name: pkg.name });
  });

  it("the README's library example is examples/library/quickstart.mjs and imports the package by its name", () => {
    const readme = read('README.md');
    const example = read('examples/library/quickstart.mjs');
    expect(readme).toContain('npm install orderly-scheduler');
    expect(example).toContain(`from '${pkg.name}';`);
    // The file is the README's block plus its first comment line.
    expect(readme).toContain('```js\n' + example.slice(example.indexOf('\n') + 1) + '```');
  });

  it('npm pack ships the build, the examples and the docs, and no tests', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    const [info] = JSON.parse(out) as { name: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    expect(info!.name).toBe('orderly-scheduler');
    for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'examples/library/quickstart.mjs', 'examples/all/pdSerialSingle.workflow.json']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);
  }, 60_000);

  it('the lock file names every dependency of every locked package, for every platform (what `npm ci` checks)', () => {
    const missing: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key !== '' && !key.startsWith('node_modules/')) continue;
      for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
        if (!resolveInLock(key, name)) missing.push(`${key} → ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('no package that npm installs here refuses this Node version (npm prints no engine warning)', () => {
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
    const refusing: string[] = [];
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key === '' || !entry.engines?.node) continue;
      if (entry.optional && !(fits(entry.os, process.platform) && fits(entry.cpu, process.arch))) continue;
      if (!semver.satisfies(process.version, entry.engines.node)) refusing.push(`${key}@${entry.version} wants node ${entry.engines.node}`);
    }
    expect(refusing).toEqual([]);
  });
});
