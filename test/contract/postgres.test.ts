// The PostgreSQL store beyond the journal contract (journal.test.ts runs that against it too):
// its schema and migrations, the writer's lease and epoch fencing with several stores on one
// schema (and a writer process killed with -9), and followers woken by LISTEN/NOTIFY.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event } from '../../src/core/events.js';
import { LeaseExpired, MIGRATIONS, PostgresStore } from '../../src/journal/postgres.js';
import type { TokenRow, UserRow } from '../../src/journal/auth-store.js';
import { StaleEpoch } from '../../src/journal/types.js';
import { ROOT } from '../support/cli-process.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';

const schemas: string[] = [];
const stores: PostgresStore[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const s of schemas.splice(0)) await dropSchema(s);
});

function newSchema(): string {
  const s = testSchemaName();
  schemas.push(s);
  return s;
}

async function open(schema: string, node: string, leaseMs?: number): Promise<PostgresStore> {
  const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node, ...(leaseMs ? { leaseMs } : {}) });
  stores.push(store);
  return store;
}

const ev = (orderId: string): Event => ({ type: 'OrderDeleted', at: 1, orderId });
const ids = async (s: PostgresStore): Promise<string[]> => (await s.readAfter(0, 100_000)).map((x) => (x.event as { orderId: string }).orderId);

/** Expires the controller lease now, as if its holder's renewals stopped reaching the database. */
const expireController = (schema: string) =>
  withClient((c) => c.query(`UPDATE ${c.escapeIdentifier(schema)}.leases SET expires_at = now() WHERE name = 'controller'`));

/** Waits until an append of `application_name` waits for a lock (asked again every 10 ms). */
async function untilAppendWaitsForLock(c: Client, applicationName: string): Promise<void> {
  for (;;) {
    const r = await c.query(
      "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO%events%'",
      [applicationName],
    );
    if (r.rowCount! > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('postgres store: schema', () => {
  it('postgres-schema.sql matches the migrations', async () => {
    const migrated = newSchema();
    const fromFile = newSchema();
    await (await open(migrated, 'n')).close();
    const file = await readFile(new URL('../../src/journal/postgres-schema.sql', import.meta.url), 'utf8');
    await withClient(async (c) => {
      await c.query(`CREATE SCHEMA ${c.escapeIdentifier(fromFile)}; SET search_path TO ${c.escapeIdentifier(fromFile)};\n${file}`);
      const describe = async (schema: string): Promise<unknown> => {
        const columns = await c.query(
          `SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, is_identity, identity_generation
           FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
          [schema],
        );
        const indexes = await c.query(`SELECT indexname, replace(indexdef, $1 || '.', 'S.') AS def FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [
          schema,
        ]);
        const constraints = await c.query(
          `SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid) AS def
           FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE n.nspname = $1 ORDER BY cl.relname, co.conname`,
          [schema],
        );
        return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
      };
      const a = await describe(migrated);
      expect(a).toEqual(await describe(fromFile));
      expect((a as { columns: unknown[] }).columns.length).toBeGreaterThan(20);
      const versions = await c.query(`SELECT version FROM ${c.escapeIdentifier(migrated)}.migrations ORDER BY version`);
      expect(versions.rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    });
  });

  it('two nodes opening a new schema at once both get it whole, migrated once', async () => {
    const schema = newSchema();
    const [a, b, c] = await Promise.all([open(schema, 'a'), open(schema, 'b'), open(schema, 'c')]);
    const epoch = await a.acquireWriter();
    await a.append([ev('x')], epoch);
    expect(await ids(b)).toEqual(['x']);
    expect(await ids(c)).toEqual(['x']);
    const n = await withClient((cl) => cl.query(`SELECT count(*)::int AS n FROM ${cl.escapeIdentifier(schema)}.migrations`));
    expect(n.rows[0].n).toBe(MIGRATIONS.length);
  });

  it('refuses a schema from a newer Orderly, and bad options by name', async () => {
    const schema = newSchema();
    await (await open(schema, 'n')).close();
    await withClient((c) => c.query(`INSERT INTO ${c.escapeIdentifier(schema)}.migrations (version) VALUES ($1)`, [MIGRATIONS.length + 1]));
    await expect(open(schema, 'n')).rejects.toThrow(/newer/);
    await expect(open('Bad-Name', 'n')).rejects.toThrow(/schema "Bad-Name"/);
    await expect(open(newSchema(), '')).rejects.toThrow(/node name/);
    await expect(open(newSchema(), 'n', 50)).rejects.toThrow(/ttlMs/);
    await expect(PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema: newSchema(), poolSize: 0 })).rejects.toThrow(/poolSize/);
  });

  it('keeps the newest two snapshots', async () => {
    const schema = newSchema();
    const s = await open(schema, 'n');
    for (const seq of [3, 9, 5, 12, 12]) await s.saveSnapshot({ seq, at: seq, state: `{"s":${seq}}` });
    expect(await s.loadSnapshot()).toEqual({ seq: 12, at: 12, state: '{"s":12}' });
    const kept = await withClient((c) => c.query(`SELECT seq FROM ${c.escapeIdentifier(schema)}.snapshots ORDER BY seq`));
    expect(kept.rows.map((r: { seq: string }) => Number(r.seq))).toEqual([9, 12]);
  });

  it('reads an order’s events through its index', async () => {
    const schema = newSchema();
    const s = await open(schema, 'n');
    const epoch = await s.acquireWriter();
    for (let batch = 0; batch < 20; batch++) {
      await s.append(Array.from({ length: 1000 }, (_, i) => ev(`o${(batch * 1000 + i) % 2000}`)), epoch);
    }
    expect((await s.readOrder('o7', 100)).map((x) => x.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 8 + i * 2000));
    await withClient(async (c) => {
      await c.query(`ANALYZE ${c.escapeIdentifier(schema)}.events`);
      const plan = await c.query(
        `EXPLAIN SELECT seq, body FROM ${c.escapeIdentifier(schema)}.events WHERE order_id = 'o7' ORDER BY seq DESC LIMIT 100`,
      );
      expect(plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n')).toMatch(/Index Scan.*events_order_id/);
    });
  });
});

describe('postgres store: one writer, fenced by its epoch', () => {
  it('gives each new writer a higher epoch; a deposed one writes nothing', async () => {
    const schema = newSchema();
    const a = await open(schema, 'a');
    const b = await open(schema, 'b');
    const ea = await a.acquireWriter();
    expect(await a.acquireWriter()).toBe(ea); // the holder asking again
    await a.append([ev('a1')], ea);

    // b waits while a holds the lease; a closes (releases it), b takes over at once.
    const bTakes = b.acquireWriter();
    await a.close();
    const eb = await bTakes;
    expect(eb).toBeGreaterThan(ea);
    expect(await b.controller()).toMatchObject({ node: 'b', epoch: eb, live: true });

    // A third store with a's old epoch: refused, nothing written.
    const c = await open(schema, 'c');
    await expect(c.append([ev('stale')], ea)).rejects.toThrow(new StaleEpoch(ea, eb).message);
    await expect(c.append([], ea)).rejects.toBeInstanceOf(StaleEpoch);
    await b.append([ev('b1')], eb);
    expect(await ids(c)).toEqual(['a1', 'b1']);
  });

  it('an append waiting on a take-over in progress is refused when it commits, and goes through when it does not', async () => {
    const schema = newSchema();
    const a = await open(schema, 'a');
    const ea = await a.acquireWriter();
    await a.append([ev('first')], ea);
    for (const outcome of ['ROLLBACK', 'COMMIT'] as const) {
      await withClient(async (c) => {
        // Another node's take-over, caught between its update and its commit.
        await c.query('BEGIN');
        await c.query(`UPDATE ${c.escapeIdentifier(schema)}.leases SET epoch = epoch + 1, node = 'intruder' WHERE name = 'controller'`);
        const appending = a.append([ev(`during-${outcome}`)], ea).then(
          (seq) => ({ seq }),
          (err: unknown) => ({ err }),
        );
        // The append now waits for the lease row's lock.
        await untilAppendWaitsForLock(c, `orderly:append:${schema}`);
        await c.query(outcome);
        const r = await appending;
        if (outcome === 'ROLLBACK') expect(r).toEqual({ seq: 2 });
        else expect((r as { err: unknown }).err).toEqual(new StaleEpoch(ea, ea + 1));
      });
    }
    expect(await ids(a)).toEqual(['first', 'during-ROLLBACK']);
  });

  it('a writer whose lease expired is refused and learns it lost the lease; the next takes over', async () => {
    const schema = newSchema();
    const a = await open(schema, 'a');
    const b = await open(schema, 'b');
    const ea = await a.acquireWriter();
    const lost = new Promise<Error>((resolve) => a.lease.onLost(resolve));

    // a appends in waves of four concurrent calls; its lease runs out under it.
    const acked: string[] = [];
    const refused: unknown[] = [];
    let expired = false;
    for (let wave = 0; refused.length === 0; wave++) {
      if (wave === 5 && !expired) {
        await expireController(schema);
        expired = true;
      }
      const results = await Promise.allSettled(
        [0, 1, 2, 3].map(async (i) => {
          const id = `a-${wave}-${i}`;
          await a.append([ev(id)], ea);
          acked.push(id);
        }),
      );
      for (const r of results) if (r.status === 'rejected') refused.push(r.reason);
    }
    expect(refused[0]).toBeInstanceOf(LeaseExpired);
    expect(String(refused[0])).toMatch(/let its lease expire/);
    expect((await lost).message).toMatch(/taken over or expired|not renewed/);
    expect(a.lease.held).toBe(false);

    const eb = await b.acquireWriter();
    expect(eb).toBe(ea + 1);
    await b.append([ev('b')], eb);
    await expect(a.append([ev('late')], ea)).rejects.toThrow(new StaleEpoch(ea, eb).message);
    // What a acknowledged, in its order, then b; nothing a was refused.
    expect(await ids(b)).toEqual([...acked, 'b']);
    expect(acked.length).toBeGreaterThanOrEqual(20);
  });

  it('writers taking turns: epochs only grow, and each one’s events follow the last acknowledged of the one before', async () => {
    const schema = newSchema();
    const nodes = await Promise.all(['n0', 'n1', 'n2'].map((n) => open(schema, n)));
    const expected: string[] = [];
    const epochs: number[] = [];
    for (let turn = 0; turn < 9; turn++) {
      const s = nodes[turn % 3]!;
      const epoch = await s.acquireWriter();
      epochs.push(epoch);
      const batch = Array.from({ length: 1 + (turn % 4) }, (_, i) => `t${turn}-${i}`);
      await s.append(batch.map(ev), epoch);
      expected.push(...batch);
      // Everyone before it is fenced out.
      for (const old of epochs.slice(0, -1)) await expect(s.append([ev('no')], old)).rejects.toBeInstanceOf(StaleEpoch);
      await s.lease.release();
    }
    expect(epochs).toEqual(epochs.map((_, i) => epochs[0]! + i));
    expect(await ids(nodes[0]!)).toEqual(expected);
  });

  it('a stand-by takes over within the lease after the writer’s process is killed (-9)', async () => {
    const schema = newSchema();
    const standby = await open(schema, 'standby', 1_000);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/pg-lease-holder.ts'], {
      cwd: ROOT,
      env: { ...process.env, URL: TEST_DATABASE_URL, SCHEMA: schema, NODE_NAME: 'doomed', LEASE_MS: '1000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`lease holder exited (${code})`)));
    });
    const { epoch: childEpoch } = JSON.parse(line) as { epoch: number };
    expect(await standby.controller()).toMatchObject({ node: 'doomed', epoch: childEpoch, live: true });

    const taking = standby.acquireWriter();
    child.kill('SIGKILL');
    const epoch = await taking;
    expect(epoch).toBe(childEpoch + 1);
    const info = await standby.controller();
    expect(info).toMatchObject({ node: 'standby', epoch, live: true });
    await standby.append([ev('after')], epoch);
    expect(await ids(standby)).toEqual(['by-doomed', 'after']);
  });
});

describe('postgres store: users and tokens', () => {
  const token = (id: string, extra: Partial<TokenRow> = {}): TokenRow => ({
    id,
    name: `n-${id}`,
    role: 'operator',
    kind: 'api',
    created: '2026-01-01T00:00:00.000Z',
    hash: `h-${id}`,
    ...extra,
  });
  const user = (name: string): UserRow => ({
    name,
    role: 'viewer',
    created: '2026-01-01T00:00:00.000Z',
    scrypt: { salt: 'c2FsdA==', hash: 'aGFzaA==', N: 16384, r: 8, p: 1, keylen: 64 },
  });

  it('are rows shared by every node on the schema, in the order they were added', async () => {
    const schema = newSchema();
    const a = await open(schema, 'a');
    const b = await open(schema, 'b');
    await a.auth.addUser(user('zoe'));
    await b.auth.addUser(user('adam'));
    await expect(b.auth.addUser(user('zoe'))).rejects.toThrow(/user zoe exists/);
    await a.auth.changeTokens(token('t2', { expires: '2027-01-01T00:00:00.000Z' }), []);
    await b.auth.changeTokens(token('t1', { kind: 'session', user: 'zoe' }), []);
    await a.auth.changeTokens(token('t3', { kind: 'session', user: 'adam' }), []);
    expect(await b.auth.loadUsers()).toEqual([user('zoe'), user('adam')]);
    expect(await b.auth.loadTokens()).toEqual([
      token('t2', { expires: '2027-01-01T00:00:00.000Z' }),
      token('t1', { kind: 'session', user: 'zoe' }),
      token('t3', { kind: 'session', user: 'adam' }),
    ]);

    // One transaction: a refused addition leaves the deletions undone.
    await expect(a.auth.changeTokens(token('t4', { hash: 'h-t2' }), ['t1'])).rejects.toThrow();
    expect((await b.auth.loadTokens()).map((t) => t.id)).toEqual(['t2', 't1', 't3']);
    await a.auth.changeTokens(token('t4'), ['t1', 'nobody']);
    expect((await b.auth.loadTokens()).map((t) => t.id)).toEqual(['t2', 't3', 't4']);

    // A user leaves with its sessions, and only those.
    await b.auth.deleteUser('adam');
    expect((await a.auth.loadUsers()).map((u) => u.name)).toEqual(['zoe']);
    expect((await a.auth.loadTokens()).map((t) => t.id)).toEqual(['t2', 't4']);
  });
});

describe('postgres store: followers', () => {
  it('wakes a follower on another connection when the writer appends (LISTEN/NOTIFY)', async () => {
    const schema = newSchema();
    const writer = await open(schema, 'w');
    const follower = await open(schema, 'f');
    const epoch = await writer.acquireWriter();
    // No fallback timer to end this wait: only a notification (or the read) can.
    const waiting = follower.waitForAppend(0, 600_000);
    await writer.append([ev('a'), ev('b')], epoch);
    expect(await waiting).toBe(2);
    const next = follower.waitForAppend(2, 600_000);
    await writer.append([ev('c')], epoch);
    expect(await next).toBe(3);
    expect(await follower.waitForAppend(3, 1)).toBe(3);
  });

  it('a follower whose listening connection broke reads what it missed when it is back', async () => {
    const schema = newSchema();
    const writer = await open(schema, 'w');
    const follower = await open(schema, 'f');
    const epoch = await writer.acquireWriter();
    await follower.waitForAppend(0, 1); // listening now
    const waiting = follower.waitForAppend(0, 600_000);
    await withClient(async (c) => {
      const r = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`orderly:listen:${schema}`]);
      expect(r.rowCount).toBe(1);
    });
    // Appended while the follower may not be listening: seen when it reconnects and reads.
    await writer.append([ev('a')], epoch);
    expect(await waiting).toBe(1);
    const next = follower.waitForAppend(1, 600_000);
    await writer.append([ev('b')], epoch);
    expect(await next).toBe(2);
  });
});
