// The dashboard in Debian's Chromium (playwright-core) against a real `orderly serve`:
// log in, deploy the examples and a gated workflow through the page, add orders and watch
// them wait and run live, cancel one, resume a stopped one, toggle blocking, the roles, the
// cookie and CSRF rules, the CSP. Every view is saved as a screenshot in test-results/screenshots
// (UPDATE_SCREENSHOTS=1: in docs/screenshots, the pictures the README shows).
//
// Nothing here waits for time: each job of the gated workflow runs until the test creates its
// gate file, and every check waits for what the page shows.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BrowserContext, Locator, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium } from '../support/browser.js';
import { apiCall, startServe, type Served } from '../support/serve-process.js';

const TOKEN = 'dashboard-admin-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'orderly-dashboard-'));
const gates = join(root, 'gates');
const examples = new URL('../../examples/all/', import.meta.url).pathname;
const fixtures = new URL('../fixtures/dashboard/gated/', import.meta.url).pathname;
const shots = new URL(process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../../test-results/screenshots/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const WAIT_MS = Number(process.env.DASH_WAIT_MS ?? 90_000);

let served: Served;
let browser: BrowserContext;
let page: Page;
const requests: string[] = [];
const consoleErrors: string[] = [];

const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> => apiCall<T>(served.base, TOKEN, method, path, body);
const open = (order: string, job: string): void => writeFileSync(join(gates, `${job}-${order}`), '');
const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
const gateJob = (name: string) => ({ executable: { TYPE: 'ShellScriptExecutable', script: `#!/bin/sh\necho "${name} of $ORDERLY_ORDER_ID"\nwhile [ ! -e "$ORDERLY_ARG_GATES/${name}-$ORDERLY_ORDER_ID" ]; do sleep 0.05; done\n` } });
/** The background color the page gives an element (evaluated in the browser). */
const background = (l: Locator): Promise<string> =>
  l.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
const chip = (id: string) => page.locator(`.workflow a.chip[data-order="${id}"]`);

async function waitForState(id: string, state: string): Promise<void> {
  for (;;) {
    const o = await api<{ order: { state: string } }>('GET', `/api/v1/orders/${id}`);
    if (o.order.state === state) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  mkdirSync(gates);
  mkdirSync(shots, { recursive: true });
  served = await startServe(join(root, 'data'), TOKEN, ['--no-examples', '--slots', '8']);
  browser = await launchChromium();
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(WAIT_MS);
  page.on('request', (r: Request) => requests.push(`${r.method()} ${r.url().replace(served.base, '')}`));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the dashboard in a browser', { timeout: 180_000 }, () => {
  it('logs in with a token; the session is an HttpOnly cookie and the page has a strict CSP', async () => {
    const res = await page.goto(served.base + '/');
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(res?.headers()['content-security-policy']).not.toContain('unsafe-inline');
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await shot('login');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    await page.locator('[data-live="live"]').waitFor();
    expect(await page.evaluate('document.cookie')).toBe('');
    const cookies = await browser.cookies(served.base);
    const c = cookies.find((x) => x.name === 'orderly_session');
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // A request that changes something without the CSRF token is refused, with the cookie.
    const refused = await page.evaluate(async () => {
      const r = await fetch('/api/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"workflow":"x"}' });
      return r.status;
    });
    expect(refused).toBe(403);
  });

  it('deploys the examples and a folder through the page; problems are shown by their file', async () => {
    await page.getByRole('link', { name: 'Deploy' }).click();
    await page.getByLabel('Files', { exact: true }).setInputFiles(readdirSync(examples).map((f) => join(examples, f)));
    await page.getByText('6 deployed, 0 refused').waitFor();
    await page.getByLabel('A folder').setInputFiles(fixtures);
    await page.getByText('3 deployed, 1 refused').waitFor();
    const bad = page.locator('tr.bad', { hasText: 'bad.workflow.json' });
    await expect(bad.textContent()).resolves.toContain('body.instructions[0].demands[0].count');
    await shot('deploy');
    const wfs = await api<{ workflows: { name: string }[] }>('GET', '/api/v1/workflows');
    expect(wfs.workflows.map((w) => w.name)).toEqual(['gated', 'pdErrorRelease', 'pdErrorStop', 'pdSerialShared', 'pdSerialSingle']);
  });

  it('places orders where they are, live: three in the outer section, one in the inner, one waiting for a job slot, two in front of the lock', async () => {
    await page.goto(served.base + '/#/workflows/gated');
    await page.locator('.workflow h3', { hasText: 'gated' }).waitFor();
    const args = { gates, note: '<img src=x onerror="document.title=1">' };
    await api('POST', '/api/v1/orders', { workflow: 'gated', id: 'A', arguments: args });
    await chip('A').and(page.locator('.k-running')).waitFor();
    open('A', 'job1');
    await waitForState('A', 'processing');
    for (const id of ['B', 'C', 'D', 'E']) await api('POST', '/api/v1/orders', { workflow: 'gated', id, arguments: args });
    // A runs job2 inside the inner frame; B runs job1; C waits for job1's slot; D and E wait in front of the outer lock.
    const inner = page.locator('section.frame.lock', { hasText: 'gLockSingle' });
    await inner.locator('a.chip[data-order="A"].k-running').waitFor();
    await chip('B').and(page.locator('.k-running')).waitFor();
    await chip('C').and(page.locator('.k-job')).waitFor();
    await chip('D').and(page.locator('.k-locks')).waitFor();
    await chip('E').and(page.locator('.k-locks')).waitFor();
    expect(await chip('D').locator('.place').textContent()).toBe('1');
    expect(await chip('E').locator('.place').textContent()).toBe('2');
    // D and E stand before the outer Lock frame, not inside it.
    const outer = page.locator('section.frame.lock', { hasText: 'gLockMulti' }).first();
    expect(await outer.locator('a.chip[data-order="D"]').count()).toBe(0);
    await shot('workflows');

    // A live step fetches only the placement again.
    requests.length = 0;
    open('A', 'job2');
    await page.locator('li.instr.job', { hasText: 'job job3' }).locator('a.chip[data-order="A"]').waitFor();
    const api1 = requests.filter((r) => r.includes('/api/v1/'));
    expect(api1.length).toBeGreaterThan(0);
    expect(api1.every((r) => r.startsWith('GET /api/v1/workflows/gated/placement')), api1.join('\n')).toBe(true);

    // The first JS7 picture: one order running, the others waiting in front of the workflow's lock.
    await api('POST', '/api/v1/orders', { orders: ['S1', 'S2', 'S3'].map((id) => ({ workflow: 'pdSerialSingle', id })) });
    await page.goto(served.base + '/#/workflows/pdSerialSingle');
    await page.locator('.workflow h3', { hasText: 'pdSerialSingle' }).waitFor();
    await shot('workflows-serial-single');
  });

  it('lists and filters orders; an update fetches only the orders it names', async () => {
    await page.goto(served.base + '/#/orders');
    await page.locator('tr[data-order="B"]').waitFor();
    await page.getByLabel('Workflow', { exact: true }).selectOption('gated');
    await page.locator('table.orders caption', { hasText: /^5 orders/ }).waitFor();
    await page.getByLabel('State').selectOption('processing');
    await page.locator('tr[data-order="B"][data-state="processing"]').waitFor();
    await page.getByLabel('State').selectOption('');
    await shot('orders');
    requests.length = 0;
    open('B', 'job1');
    // B goes on to wait for the inner lock (A is out of it, so B gets it): its row changes.
    await page.locator('tr[data-order="B"]', { hasText: 'running job job2' }).waitFor();
    const api2 = requests.filter((r) => r.startsWith('GET /api/v1/orders'));
    expect(api2.length).toBeGreaterThan(0);
    expect(api2.every((r) => r.includes('ids=')), api2.join('\n')).toBe(true);
  });

  it('shows an order: position by names, arguments and output as text; cancel one', async () => {
    await page.goto(served.base + '/#/orders/B');
    await page.getByRole('list', { name: 'position by names' }).waitFor();
    await page.getByRole('list', { name: 'position by names' }).getByText('Lock gLockMulti (shared, weight 1)').waitFor();
    // Arguments and output are text, never HTML.
    await page.getByText('<img src=x onerror="document.title=1">').waitFor();
    await page.locator('pre.out', { hasText: '<b>job1</b> of B' }).waitFor();
    expect(await page.title()).toBe('Orderly');
    await shot('order-detail');

    await page.goto(served.base + '/#/orders/E');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('h2 .badge', { hasText: 'cancelled' }).waitFor();
    expect((await api<{ order: { state: string } }>('GET', '/api/v1/orders/E')).order.state).toBe('cancelled');
  });

  it('resumes a stopped order that holds its locks', async () => {
    // The pdSerialSingle orders of the first picture would hold the lock for minutes: they go.
    for (const id of ['S1', 'S2', 'S3']) {
      // 409: it has ended already.
      await api('POST', `/api/v1/orders/${id}/cancel`, { kill: true }).catch((e: Error) => expect(e.message).toContain(': 409 '));
    }
    await api('POST', '/api/v1/orders', { workflow: 'pdErrorStop', id: 'stop1' });
    await page.goto(served.base + '/#/orders/stop1');
    await page.locator('h2 .badge', { hasText: 'stopped' }).waitFor();
    await page.getByText('pdSerialLockSingle (exclusive, token').waitFor();
    await page.getByRole('button', { name: 'Resume as succeeded' }).click();
    await page.locator('h2 .badge', { hasText: 'finished' }).waitFor();
  });

  it('appends a running job’s output live: the first line shows before the job is released', async () => {
    // The job prints a line, then waits until the test writes to its fifo, then prints another.
    const fifo = join(root, 'talk-fifo');
    execFileSync('mkfifo', [fifo]);
    const script = '#!/bin/sh\necho "first <b>line</b> of $ORDERLY_ORDER_ID"\nread go < "$ORDERLY_ARG_FIFO"\necho "second line"\n';
    await api('PUT', '/api/v1/workflows/talker', { TYPE: 'Workflow', instructions: [{ TYPE: 'Execute.Named', jobName: 'talk' }], jobs: { talk: { executable: { TYPE: 'ShellScriptExecutable', script } } } });
    await api('POST', '/api/v1/orders', { workflow: 'talker', id: 'T1', arguments: { FIFO: fifo } });
    requests.length = 0;
    await page.goto(served.base + '/#/orders/T1');
    const live = page.locator('article.log.live');
    await live.locator('pre.out', { hasText: 'first <b>line</b> of T1' }).waitFor();
    expect(await live.locator('.badge').textContent()).toBe('running');
    expect(await page.locator('h2 .badge').textContent()).toContain('processing');
    expect(requests.some((r) => r.startsWith('GET /api/v1/orders/T1/log/live')), requests.join('\n')).toBe(true);
    await shot('order-running-log');
    writeFileSync(fifo, 'go\n');
    await page.locator('pre.out', { hasText: 'second line' }).waitFor();
    await page.locator('h2 .badge', { hasText: 'finished' }).waitFor();
    expect(await page.locator('pre.out').first().textContent()).toBe('first <b>line</b> of T1\nsecond line\n');
  });

  it('shows locks with holders, fencing tokens and the queue with why each waits', async () => {
    await page.goto(served.base + '/#/locks');
    const multi = page.locator('article.lockcard[data-lock="gLockMulti"]');
    await multi.locator('tr[data-holder="A"]').waitFor();
    await multi.locator('tr[data-waiter="D"]').waitFor();
    expect(await multi.locator('tr[data-waiter="D"]').textContent()).toContain('held weight 3 + 1 > limit 3');
    await shot('locks');
    // Live: A ends job3 and leaves; D takes its place.
    open('A', 'job3');
    await multi.locator('tr[data-holder="D"]').waitFor();
  });

  it('groups keyed locks by family, each key its own lock with holders and queue', async () => {
    await api('PUT', '/api/v1/locks/perCustomer', { limit: 1, keyed: true });
    await api('PUT', '/api/v1/workflows/keyed', {
      TYPE: 'Workflow',
      instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'perCustomer', key: '$customer' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'key' }] } }],
      jobs: { key: gateJob('key') },
    });
    const orders = [
      { id: 'K1', customer: 'acme' },
      { id: 'K2', customer: 'acme' },
      { id: 'K3', customer: 'globex' },
    ];
    await api('POST', '/api/v1/orders', { orders: orders.map((o) => ({ workflow: 'keyed', id: o.id, arguments: { gates, customer: o.customer } })) });
    await page.goto(served.base + '/#/locks');
    const family = page.locator('section.family[aria-label="keyed lock perCustomer"]');
    await family.locator('article.lockcard[data-lock="perCustomer[acme]"] tr[data-holder="K1"]').waitFor();
    await family.locator('article.lockcard[data-lock="perCustomer[acme]"] tr[data-waiter="K2"]').waitFor();
    await family.locator('article.lockcard[data-lock="perCustomer[globex]"] tr[data-holder="K3"]').waitFor();
    expect(await family.locator('h4').first().textContent()).toContain('keyed: each key is its own lock with limit 1');
    await family.scrollIntoViewIfNeeded();
    await shot('locks-keyed');
    // Live: K1 ends and leaves the key; K2 takes it.
    open('K1', 'key');
    await family.locator('article.lockcard[data-lock="perCustomer[acme]"] tr[data-holder="K2"]').waitFor();
    open('K2', 'key');
    open('K3', 'key');
  });

  it('toggles blocking of a job config, runs it now, edits its schedule with the next fire times', async () => {
    await api('POST', '/api/v1/jobconfigs', { id: 'nightly', name: 'nightly', workflow: 'gated', defaultArguments: { gates }, blocking: false });
    await page.goto(served.base + '/#/jobconfigs');
    const card = page.locator('article[data-jobconfig="nightly"]');
    const box = card.getByRole('switch');
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await card.getByText('runs one at a time').waitFor();
    expect((await api<{ blocking: boolean }>('GET', '/api/v1/jobconfigs/nightly')).blocking).toBe(true);
    await card.getByRole('button', { name: 'Run now' }).click();
    await card.getByRole('button', { name: 'Run now' }).click();
    await card.getByText('2 active runs').waitFor();
    await card.getByRole('button', { name: 'Schedule, runs and fires' }).click();
    await card.getByRole('textbox', { name: 'Cron' }).fill('30 2 * * *');
    await card.getByText('Next fire times').waitFor();
    await card.getByRole('button', { name: 'Save schedule' }).click();
    await card.getByText('cron 30 2 * * *').waitFor();
    await card.locator('tr[data-run]').nth(1).waitFor();
    await shot('jobconfigs');
    // The second run waits for the job config's run lock, shown among the locks, with the blocking job configs.
    await page.goto(served.base + '/#/locks');
    const blocking = page.getByRole('region', { name: 'Blocking job configs' });
    await blocking.locator('article.lockcard[data-lock="jobconfig:nightly"] tr[data-waiter]').waitFor();
    await blocking.getByText('Run lock of the blocking job config').waitFor();
  });

  it('shows the skipped fires of a job config', async () => {
    // Every second a fire; while the first run waits at its gate, the next fires are skipped (overlap skip).
    await api('PUT', '/api/v1/workflows/holder', { TYPE: 'Workflow', instructions: [{ TYPE: 'Execute.Named', jobName: 'hold' }], jobs: { hold: gateJob('hold') } });
    await api('POST', '/api/v1/jobconfigs', {
      id: 'ticker',
      name: 'ticker',
      workflow: 'holder',
      defaultArguments: { gates },
      blocking: false,
      schedule: { type: 'interval', intervalSeconds: 1, overlap: 'skip' },
    });
    await page.goto(served.base + '/#/jobconfigs');
    const card = page.locator('article[data-jobconfig="ticker"]');
    await card.getByRole('button', { name: 'Schedule, runs and fires' }).click();
    const skipped = card.locator('ul.fires li.skipped').first();
    await skipped.waitFor();
    expect(await skipped.textContent()).toMatch(/skipped \(.*overlap skip/);
    await card.locator('ul.fires li:not(.skipped) a').first().waitFor();
    await shot('jobconfigs-skipped');
    await api('DELETE', '/api/v1/jobconfigs/ticker/schedule');
    const runs = await api<{ items: { id: string }[] }>('GET', '/api/v1/jobconfigs/ticker/runs');
    for (const r of runs.items) open(r.id, 'hold');
  });

  it('shows a forked order (a Fork\'s parent) with its own color and label; its branches run as child orders', async () => {
    await api('PUT', '/api/v1/workflows/forker', {
      TYPE: 'Workflow',
      instructions: [
        {
          TYPE: 'Fork',
          branches: [
            { id: 'a', workflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'branch' }] } },
            { id: 'b', workflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'branch' }] } },
          ],
        },
      ],
      jobs: { branch: { ...gateJob('branch'), parallelism: 2 } },
    });
    await api('POST', '/api/v1/orders', { workflow: 'forker', id: 'F1', arguments: { gates } });
    await page.goto(served.base + '/#/workflows/forker');
    const parent = chip('F1');
    await parent.and(page.locator('.k-forked')).waitFor();
    expect(await parent.getAttribute('title')).toContain('forked: waiting for its branches to join');
    await page.locator('section[aria-label="branch a"] a.chip[data-order="F1|a"].k-running').waitFor();
    await page.locator('section[aria-label="branch b"] a.chip[data-order="F1|b"].k-running').waitFor();
    const forkedBg = await background(parent);
    const runningBg = await background(page.locator('a.chip[data-order="F1|a"]'));
    expect(forkedBg).not.toBe(runningBg);
    await shot('workflows-fork');

    await page.goto(served.base + '/#/orders');
    await page.getByLabel('State').selectOption('forked');
    const row = page.locator('tr[data-order="F1"][data-state="forked"]');
    await row.waitFor();
    const badge = row.locator('.badge.st-forked');
    expect(await badge.textContent()).toBe('forked');
    expect(await row.textContent()).toContain('forked into 2 branches');
    // The list may be drawn again by a live update while it is read: poll until it stands.
    await expect.poll(() => background(badge)).toBe(forkedBg);
    await page.getByLabel('State').selectOption('');

    await page.goto(served.base + '/#/orders/F1');
    await page.getByRole('list', { name: 'branch orders' }).getByRole('link', { name: 'F1|a' }).waitFor();
    open('F1|a', 'branch');
    open('F1|b', 'branch');
    await page.locator('h2 .badge', { hasText: 'finished' }).waitFor();
  });

  it('draws the lock timeline from the journal', async () => {
    await page.goto(served.base + '/#/timeline');
    await page.getByRole('status').filter({ hasText: 'intervals on' }).waitFor();
    const status = await page.getByRole('status').filter({ hasText: 'intervals on' }).textContent();
    expect(Number(/(\d+) intervals/.exec(status ?? '')?.[1])).toBeGreaterThan(5);
    await page.locator('canvas').waitFor();
    await shot('timeline');
  });

  it('works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(served.base + '/#/workflows/gated');
    await page.locator('.workflow h3', { hasText: 'gated' }).waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('phone-workflows');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('offers actions only to roles that may use them: a viewer user logs in and sees none', async () => {
    await api('POST', '/api/v1/users', { name: 'vera', password: 'vera-password-1', role: 'viewer' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('a user (also an Actian user)').check();
    await page.getByLabel('User name').fill('vera');
    await page.getByLabel('Password').fill('vera-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('vera (viewer)').waitFor();
    await page.goto(served.base + '/#/orders/D');
    await page.getByText('may look but not act').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
    await page.goto(served.base + '/#/jobconfigs');
    await page.locator('article[data-jobconfig="nightly"]').waitFor();
    expect(await page.getByRole('button', { name: 'Run now' }).count()).toBe(0);
    expect(await page.locator('article[data-jobconfig="nightly"]').getByRole('switch').isDisabled()).toBe(true);
  });

  it('can be used with the keyboard alone', async () => {
    await page.goto(served.base + '/#/workflows');
    await page.locator('.workflow').first().waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/locks$/);
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });
});
