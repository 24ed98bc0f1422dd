import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { Job } from '../../src/core/model.js';
import type { ExecutionRequest } from '../../src/runtime/executor-types.js';
import { LauncherShellExecutor } from '../../src/runtime/launcher-client.js';
import { createOrderly } from '../../src/node/library.js';

const dirs: string[] = [];
const clients: LauncherShellExecutor[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function client(extra: { logBytesMax?: number } = {}): LauncherShellExecutor {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-launcher-'));
  dirs.push(dir);
  const c = new LauncherShellExecutor({ scriptDir: join(dir, 'scripts'), engineId: 'launcher-test', defaultGraceTimeoutMs: 1000, ...extra });
  clients.push(c);
  return c;
}

function req(id: string, script: string, job: Partial<Job> = {}, args: Record<string, string> = {}): ExecutionRequest {
  return {
    executionId: id,
    orderId: `o-${id}`,
    workflow: 'wf',
    jobName: 'j',
    job: { executable: { TYPE: 'ShellScriptExecutable', script }, ...job },
    arguments: args,
    locks: [{ lock: 'L', token: 3 }],
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Looks every 10 ms until `cond` holds, however long the machine takes (the test's timeout is the safety net). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('LauncherShellExecutor (shell jobs started by the job launcher process)', () => {
  it('runs a job in another process with the same environment, logs and outcome as in-process', async () => {
    const c = client();
    const script = '#!/bin/sh\necho "pid $$ order $ORDERLY_ORDER_ID arg $ORDERLY_ARG_NAME token $ORDERLY_LOCK_TOKEN_L"\necho oops >&2\nexit 3\n';
    const r = await c.start(req('x1', script, { executable: { TYPE: 'ShellScriptExecutable', script, returnCodeMeaning: { success: '3' } } }, { name: '$(rm -rf /)' })).done;
    expect(r.outcome).toEqual({ type: 'succeeded', returnCode: 3 });
    expect(r.stdout).toMatch(/^pid \d+ order o-x1 arg \$\(rm -rf \/\) token 3\n$/);
    expect(r.stderr).toBe('oops\n');
    const launcher = c.pid!;
    expect(launcher).toBeGreaterThan(0);
    expect(launcher).not.toBe(process.pid);
    // One launcher serves every job.
    const many = await Promise.all([1, 2, 3, 4, 5].map((i) => c.start(req(`m${i}`, `#!/bin/sh\necho ${i}\n`)).done));
    expect(many.map((m) => m.stdout)).toEqual(['1\n', '2\n', '3\n', '4\n', '5\n']);
    expect(c.pid).toBe(launcher);
  });

  it('kill() and timeouts reach the job through the launcher', async () => {
    const c = client();
    // Killed once the job runs (it says so in a file), not at some time after the start.
    const startedFile = join(dirs[dirs.length - 1]!, 'k1.started');
    const run = c.start(req('k1', `#!/bin/sh\necho started > ${startedFile}\nsleep 30\n`));
    await until(() => existsSync(startedFile) && readFileSync(startedFile, 'utf8').endsWith('\n'));
    run.kill();
    const r = await run.done;
    expect(r.outcome.type).toBe('failed');
    expect(r.outcome.reason).toBe('killed');
    const t = await c.start(req('t1', '#!/bin/sh\nsleep 30\n', { timeout: 0.2 })).done;
    expect(t.outcome.reason).toBe('timeout');
  });

  it('a launcher that dies takes its jobs down with it (killed), and the next job gets a new launcher', async () => {
    const c = client();
    const pidFile = join(dirs[0]!, 'job.pid');
    const run = c.start(req('d1', `#!/bin/sh\necho $$ > ${pidFile}\nsleep 30\n`));
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
    const job = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(job)).toBe(true);
    const launcher = c.pid!;
    process.kill(launcher, 'SIGKILL');
    const r = await run.done;
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'killed' });
    expect(r.outcome.message).toMatch(/job launcher exited/);
    await until(() => !alive(job));
    const again = await c.start(req('d2', '#!/bin/sh\necho again\n')).done;
    expect(again.stdout).toBe('again\n');
    expect(c.pid).not.toBe(launcher);
    expect(alive(launcher)).toBe(false);
  });

  it('close() ends the launcher', async () => {
    const c = client();
    await c.start(req('c1', '#!/bin/sh\ntrue\n')).done;
    const launcher = c.pid!;
    c.close();
    await until(() => !alive(launcher));
    const r = await c.start(req('c2', '#!/bin/sh\ntrue\n')).done;
    expect(r.outcome.reason).toBe('start-failed');
  });
});

describe('createOrderly options of the job launcher and the journal', () => {
  it('refuses a bad jobLauncher or synchronous, naming them, before it creates anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orderly-launcher-opts-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const bad = { dataDir, jobLauncher: 'fork', synchronous: 'SOMETIMES' } as unknown as Parameters<typeof createOrderly>[0];
    const err = await createOrderly(bad).then(
      () => undefined,
      (e: unknown) => e as { code: string; problems: { path: string; message: string }[] },
    );
    expect(err?.code).toBe('invalid');
    expect(err?.problems.map((p) => p.path)).toEqual(['synchronous', 'jobLauncher']);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("jobLauncher 'inline' starts shell jobs in this process", async () => {
    const o = await createOrderly({ jobLauncher: 'inline' });
    try {
      await o.deploy({ locks: [], workflows: [{ name: 'w', instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }], jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script: '#!/bin/sh\necho $PPID\n' } } } }] });
      await o.addOrder({ workflow: 'w', id: 'a' });
      const end = await o.awaitOrder('a', { timeoutMs: 10_000 });
      expect(end.outcome?.type).toBe('succeeded');
      const logs = await o.logs('a');
      expect(logs[0]!.stdout.trim()).toBe(String(process.pid));
    } finally {
      await o.close();
    }
  });
});
