// The dashboard through a stand-by: two real `orderly serve --database` nodes on the machine's
// PostgreSQL (a schema of this test's own), Debian's Chromium logged in at the node that is NOT
// the controller. Its page reads that node's followed state and its live stream (SSE) of the
// events the controller journals; the orders it adds go to the controller through the
// database. Nothing waits for time: the jobs run until the test creates their gate files, and
// every check waits for what the page shows.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium } from '../support/browser.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName } from '../support/postgres.js';
import { apiCall, startServe, type Served } from '../support/serve-process.js';

const TOKEN = 'dashboard-cluster-admin-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'orderly-dashboard-cluster-'));
const gates = join(root, 'gates');
const fixtures = new URL('../fixtures/dashboard/gated/', import.meta.url).pathname;
const WAIT_MS = Number(process.env.DASH_WAIT_MS ?? 90_000);
const schema = testSchemaName();

let a: Served;
let b: Served;
let browser: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];

const api = <T = Record<string, unknown>>(on: Served, method: string, path: string, body?: unknown): Promise<T> => apiCall<T>(on.base, TOKEN, method, path, body);
const open = (order: string, job: string): void => writeFileSync(join(gates, `${job}-${order}`), '');
const chip = (id: string) => page.locator(`.workflow a.chip[data-order="${id}"]`);
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name), 'utf8'));

function node(name: string): Promise<Served> {
  return startServe(join(root, name), TOKEN, ['--no-examples', '--database', TEST_DATABASE_URL, '--database-schema', schema, '--node-name', name]);
}

beforeAll(async () => {
  mkdirSync(gates);
  a = await node('a');
  b = await node('b');
  browser = await launchChromium();
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(WAIT_MS);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await b?.stop();
  await a?.stop();
  await dropSchema(schema);
  rmSync(root, { recursive: true, force: true });
});

describe('the dashboard through a stand-by node', { timeout: 180_000 }, () => {
  it('logs in at the stand-by, shows orders live as the controller moves them, and adds through it', async () => {
    const cluster = await api<{ controller: { node: string }; nodes: { name: string; role: string }[] }>(b, 'GET', '/api/v1/cluster');
    expect(cluster.controller.node).toBe('a');
    expect(cluster.nodes.map((n) => `${n.name} ${n.role}`)).toEqual(['a controller', 'b standby']);

    // Deployed through the controller; the stand-by's page shows what it followed.
    await api(a, 'PUT', '/api/v1/locks/gLockMulti', fixture('gLockMulti.lock.json'));
    await api(a, 'PUT', '/api/v1/locks/gLockSingle', fixture('gLockSingle.lock.json'));
    await api(a, 'PUT', '/api/v1/workflows/gated', fixture('gated.workflow.json'));
    await api(a, 'PUT', '/api/v1/workflows/quick', {
      TYPE: 'Workflow',
      instructions: [{ TYPE: 'Execute.Named', jobName: 'hello' }],
      jobs: { hello: { executable: { TYPE: 'ShellScriptExecutable', script: 'echo hello' } } },
    });

    await page.goto(b.base + '/');
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-live="live"]').waitFor();
    await page.goto(b.base + '/#/workflows/gated');
    await page.locator('.workflow h3', { hasText: 'gated' }).waitFor();

    // Added through the controller: the stand-by's stream carries it.
    await api(a, 'POST', '/api/v1/orders', { workflow: 'gated', id: 'A', arguments: { gates } });
    await chip('A').and(page.locator('.k-running')).waitFor();
    open('A', 'job1');
    const inner = page.locator('section.frame.lock', { hasText: 'gLockSingle' });
    await inner.locator('a.chip[data-order="A"].k-running').waitFor();

    // Added through the stand-by's API: forwarded to the controller.
    await api(b, 'POST', '/api/v1/orders', { workflow: 'gated', id: 'B', arguments: { gates } });
    await chip('B').and(page.locator('.k-running')).waitFor();
    open('B', 'job1');
    // B waits in front of the inner lock that A holds: drawn waiting there, first in line.
    await chip('B').and(page.locator('.k-locks')).waitFor();
    expect(await chip('B').locator('.place').textContent()).toBe('1');

    // A goes on and ends; B takes the inner lock, live.
    open('A', 'job2');
    open('A', 'job3');
    await inner.locator('a.chip[data-order="B"].k-running').waitFor();
    open('B', 'job2');
    open('B', 'job3');
    await page.goto(b.base + '/#/orders');
    await page.locator('tr[data-order="A"][data-state="finished"]').waitFor();
    await page.locator('tr[data-order="B"][data-state="finished"]').waitFor();

    // The page's own command on the stand-by: the controller decides it, the page shows the end.
    await page.getByRole('combobox', { name: 'Add an order to' }).selectOption('quick');
    await page.getByRole('button', { name: 'Add order' }).click();
    const link = page.getByRole('status').getByRole('link');
    await link.waitFor();
    const id = (await link.textContent())!;
    await page.locator(`tr[data-order="${id}"][data-state="finished"]`).waitFor();
    const seen = await api<{ order: { state: string } }>(a, 'GET', `/api/v1/orders/${encodeURIComponent(id)}`);
    expect(seen.order.state).toBe('finished');
    // (The page asks for its session before the login, answered 401: not an error of the page.)
    expect(consoleErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
