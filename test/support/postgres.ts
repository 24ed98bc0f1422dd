// The machine's real PostgreSQL for the tests: every test makes a schema of its own (so runs in
// parallel never meet) and drops it afterwards. ORDERLY_TEST_DATABASE_URL names another server.

import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { PgListener } from '../../src/journal/postgres-listener.js';
import { PostgresStore } from '../../src/journal/postgres.js';

export const TEST_DATABASE_URL = process.env.ORDERLY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh schema name, unique to this process and call. */
export function testSchemaName(): string {
  return `t_${process.pid}_${randomBytes(6).toString('hex')}`;
}

/** Runs `fn` on a connection of its own (for setting things up and looking at them). */
export async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: TEST_DATABASE_URL });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at ${TEST_DATABASE_URL} (ORDERLY_TEST_DATABASE_URL) cannot be reached: ${(err as Error).message}`);
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(schema)} CASCADE`));
}

/**
 * A schema with the journal's tables (as a node's store creates them), a pool and a listener
 * on it, for the tests of the cluster's parts; `cleanups` gets what ends them and drops it.
 */
export async function clusterSchema(cleanups: (() => Promise<void>)[]): Promise<{ schema: string; pool: Pool; listener: PgListener }> {
  const schema = testSchemaName();
  cleanups.push(() => dropSchema(schema));
  const store = await PostgresStore.open({ connectionString: TEST_DATABASE_URL, schema, node: 'setup' });
  await store.close();
  const pool = new Pool({ connectionString: TEST_DATABASE_URL, max: 4 });
  const listener = new PgListener({ connectionString: TEST_DATABASE_URL });
  cleanups.push(async () => {
    await listener.close();
    await pool.end();
  });
  return { schema, pool, listener };
}
