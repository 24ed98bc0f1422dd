// `orderly serve --database URL --node-name NAME --lease-seconds N` as users run it: a real
// process of dist/cli/main.js on the machine's real PostgreSQL (a schema of its own:
// ORDERLY_DATABASE_SCHEMA), and the usage errors of these options.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cleanUp, cli, startBackground, tempDir } from '../support/cli-process.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';

const schemas: string[] = [];
afterAll(async () => {
  cleanUp();
  for (const s of schemas) await dropSchema(s);
});

describe('orderly serve --database', () => {
  it('refuses the PostgreSQL options without --database, a URL that is not postgres://, and --synchronous with it: exit 2', async () => {
    const data = join(tempDir('orderly-servedb-'), 'data');
    const name = await cli(['serve', '--data-dir', data, '--node-name', 'n1']);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/--node-name, --lease-seconds, --database-schema, --agent and --early-starts need --database/);
    const agent = await cli(['run', '--data-dir', data, '--agent', 'a1']);
    expect(agent.code).toBe(2);
    const early = await cli(['serve', '--data-dir', data, '--early-starts']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/--early-starts need --database/);
    const lease = await cli(['serve', '--data-dir', data, '--database', TEST_DATABASE_URL, '--lease-seconds', '0.1']);
    expect(lease.code).toBe(2);
    const url = await cli(['serve', '--data-dir', data, '--database', 'mysql://x']);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/postgres:\/\//);
    const sync = await cli(['serve', '--data-dir', data, '--database', TEST_DATABASE_URL, '--synchronous', 'OFF']);
    expect(sync.code).toBe(2);
  }, 60_000);

  it('journals on PostgreSQL as the controller named by --node-name; SIGTERM releases the lease', async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const data = join(tempDir('orderly-servedb-'), 'data');
    const serve = await startBackground(
      ['serve', '--port', '0', '--data-dir', data, '--no-examples', '--node-name', 'cli-node', '--lease-seconds', '8'],
      /listening on (http:\/\/\S+)/,
      { ORDERLY_DATABASE_URL: TEST_DATABASE_URL, ORDERLY_DATABASE_SCHEMA: schema },
    );
    try {
      const row = await withClient(async (c) => (await c.query<{ node: string; holder: string | null }>(`SELECT node, holder FROM ${c.escapeIdentifier(schema)}.leases WHERE name = 'controller'`)).rows[0]);
      expect(row?.node).toBe('cli-node');
      expect(row?.holder).not.toBeNull();
    } finally {
      serve.child.kill('SIGTERM');
    }
    expect(await serve.exited).toBe(0);
    const after = await withClient(async (c) => (await c.query<{ holder: string | null }>(`SELECT holder FROM ${c.escapeIdentifier(schema)}.leases WHERE name = 'controller'`)).rows[0]);
    expect(after?.holder).toBeNull();
  }, 120_000);

  it('with --database no data dir is needed: two nodes started in one folder, serve and run, share the journal', async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const cwd = tempDir('orderly-servedb-cwd-');
    const env = { ORDERLY_DATABASE_URL: TEST_DATABASE_URL, ORDERLY_DATABASE_SCHEMA: schema, ORDERLY_ADMIN_TOKEN: 'servedb-admin-token-0123456789' };
    const serve = await startBackground(['serve', '--port', '0', '--no-examples', '--node-name', 'n1'], /listening on (http:\/\/\S+)/, env, 60_000, cwd);
    const run = await startBackground(['run', '--node-name', 'n2', '--quiet'], /engine pid \d+ on PostgreSQL/, env, 60_000, cwd);
    try {
      const url = serve.match[1]!;
      const r = await fetch(`${url}/api/v1/cluster`, { headers: { authorization: `Bearer ${env.ORDERLY_ADMIN_TOKEN}` } });
      expect(((await r.json()) as { controller: { node: string } }).controller.node).toBe('n1');
    } finally {
      run.child.kill('SIGTERM');
      serve.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(await serve.exited).toBe(0);
    expect(existsSync(join(cwd, '.orderly'))).toBe(false);
  }, 120_000);
});
