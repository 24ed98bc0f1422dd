// No second writer: a CLI command that changes something while no engine runs on the data dir
// goes through a short-lived engine of its own (the node start-up, holding the writer lock),
// and refuses, changing nothing, while another writer (here the library) holds the lock.
// Real processes of dist/cli/main.js and a real library process.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

import type { OrderView } from '../../src/runtime/views.js';
import { children, cleanUp, cli, ROOT, tempDir } from '../support/cli-process.js';

const SERIAL_SINGLE = join(ROOT, 'examples/serial-single');

afterAll(cleanUp);

/** The journal's last sequence number and event rows, read without writing. */
function journalEnd(data: string): { rows: number; last: number } {
  const db = new Database(join(data, 'journal.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare('SELECT count(*) AS rows, coalesce(max(seq), 0) AS last FROM events').get() as { rows: number; last: number };
    return r;
  } finally {
    db.close();
  }
}

/** The library (dist/index.js) holding the data dir open in another process until it is told to close. */
function libraryWriter(data: string): Promise<{ pid: number; stop: () => Promise<void> }> {
  const script = [
    `import { createOrderly } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};`,
    `const o = await createOrderly({ dataDir: ${JSON.stringify(data)}, slots: 0 });`,
    `process.stdout.write('ready\\n');`,
    `process.stdin.on('data', async () => { await o.close(); process.exit(0); });`,
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready')) {
        resolve({
          pid: child.pid!,
          stop: async () => {
            child.stdin.write('close\n');
            expect(await exited).toBe(0);
            children.delete(child);
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`the library process exited ${code} while starting: ${err}`)));
  });
}

describe('a state-changing CLI command with no engine running', () => {
  it('goes through a short-lived engine that takes the writer lock and lets it go', async () => {
    const data = join(tempDir('orderly-noengine-'), 'data');
    const deploy = await cli(['deploy', SERIAL_SINGLE, '--data-dir', data]);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stderr).toMatch(/no engine runs on .*: a short-lived engine with no job slots applied it/);
    const add = await cli(['order', 'add', 'pdSerialSingle', '--id', 'a1', '--data-dir', data]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout.trim()).toBe('a1');
    // Gone with it: the writer lock and no control socket left behind.
    expect(existsSync(join(data, 'engine.pid'))).toBe(false);
    expect(existsSync(join(data, 'orderly.sock'))).toBe(false);
    const orders = JSON.parse((await cli(['orders', '--json', '--data-dir', data])).stdout) as OrderView[];
    // No job slots: the order waits for one instead of being started and killed at close.
    expect(orders.map((o) => [o.id, o.state])).toEqual([['a1', 'waiting']]);
  }, 120_000);

  it('refuses clearly and appends nothing while another writer holds the lock; reads still work', async () => {
    const data = join(tempDir('orderly-noengine-'), 'data');
    expect((await cli(['deploy', SERIAL_SINGLE, '--data-dir', data])).code).toBe(0);
    const writer = await libraryWriter(data);
    try {
      const before = journalEnd(data);
      const add = await cli(['order', 'add', 'pdSerialSingle', '--id', 'b1', '--data-dir', data]);
      expect(add.code).toBe(1);
      expect(add.stderr).toContain(`is in use by pid ${writer.pid}`);
      expect(add.stderr).toMatch(/nothing was changed/);
      const cancel = await cli(['order', 'cancel', 'nope', '--data-dir', data]);
      expect(cancel.code).toBe(1);
      expect(cancel.stderr).toContain(`is in use by pid ${writer.pid}`);
      expect(journalEnd(data)).toEqual(before);

      // A second engine is refused too, naming the holder.
      const run = await cli(['run', '--data-dir', data]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`an engine is already running on ${data} (pid ${writer.pid})`);
      expect(journalEnd(data)).toEqual(before);

      // Reading needs no writer.
      const orders = await cli(['orders', '--json', '--data-dir', data]);
      expect(orders.code, orders.stderr).toBe(0);
      expect(JSON.parse(orders.stdout)).toEqual([]);
    } finally {
      await writer.stop();
    }
    // Once the writer let go, the same command goes through.
    const add = await cli(['order', 'add', 'pdSerialSingle', '--id', 'b1', '--data-dir', data]);
    expect(add.code, add.stderr).toBe(0);
    expect(journalEnd(data).last).toBeGreaterThan(0);
  }, 120_000);
});
