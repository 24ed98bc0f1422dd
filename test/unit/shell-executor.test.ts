import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Job } from '../../src/core/model.js';
import { BoundedBuffer } from '../../src/runtime/bounded-buffer.js';
import type { ExecutionRequest } from '../../src/runtime/executor-types.js';
import { killOrphans } from '../../src/runtime/orphans.js';
import { ShellExecutor, envNameSuffix } from '../../src/runtime/shell-executor.js';
import { executionRequest } from '../support/execution-request.js';

let dir: string;
let scriptDir: string;
const strays: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'orderly-shell-'));
  scriptDir = join(dir, 'scripts');
});

afterEach(() => {
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function executor(over: Partial<ConstructorParameters<typeof ShellExecutor>[0]> = {}): ShellExecutor {
  return new ShellExecutor({ scriptDir, engineId: 'test-engine', defaultGraceTimeoutMs: 500, ...over });
}

function req(script: string, job: Partial<Job> = {}, over: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return executionRequest({ TYPE: 'ShellScriptExecutable', script }, job, over);
}

function shell(script: string, extra: Omit<Extract<Job['executable'], { TYPE: 'ShellScriptExecutable' }>, 'TYPE' | 'script'> = {}): Job['executable'] {
  return { TYPE: 'ShellScriptExecutable', script, ...extra };
}

/** Dead = no such process, or a zombie nobody reaped yet. */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

// The deadlines below are only safety nets (under the test's 120 s): a process on a machine busy
// with other work may take seconds to start or to be reaped.
async function waitDead(pid: number, ms = 90_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (isDead(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return isDead(pid);
}

async function readPid(file: string, ms = 90_000): Promise<number> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(file)) {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (n > 0) {
        strays.push(n);
        return n;
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no pid in ${file}`);
}

let seq = 0;
const tmpFile = (name: string): string => join(dir, `${name}-${++seq}`);

describe('ShellExecutor: return codes', () => {
  it('exit 0 succeeds and captures stdout and stderr', async () => {
    const r = await executor().start(req('#!/bin/sh\necho out; echo err >&2\n')).done;
    expect(r).toEqual({
      outcome: { type: 'succeeded', returnCode: 0 },
      stdout: 'out\n',
      stderr: 'err\n',
      stdoutDroppedBytes: 0,
      stderrDroppedBytes: 0,
    });
  });

  it('a non-zero code fails', async () => {
    const r = await executor().start(req('exit 3')).done;
    expect(r.outcome).toEqual({ type: 'failed', reason: 'returnCode', returnCode: 3, message: 'return code 3' });
  });

  it('returnCodeMeaning success list with ranges', async () => {
    const ex = executor();
    const run = async (rc: number) =>
      (await ex.start(req('', { executable: shell(`exit ${rc}`, { returnCodeMeaning: { success: '0,3..5' } }) })).done).outcome;
    expect(await run(4)).toEqual({ type: 'succeeded', returnCode: 4 });
    expect(await run(0)).toEqual({ type: 'succeeded', returnCode: 0 });
    expect((await run(2)).type).toBe('failed');
    expect((await run(6)).returnCode).toBe(6);
  });

  it('returnCodeMeaning failure list', async () => {
    const ex = executor();
    const run = async (rc: number) =>
      (await ex.start(req('', { executable: shell(`exit ${rc}`, { returnCodeMeaning: { failure: '1' } }) })).done).outcome;
    expect((await run(2)).type).toBe('succeeded');
    expect((await run(1)).type).toBe('failed');
  });

  it('an invalid returnCodeMeaning is start-failed', async () => {
    const r = await executor().start(req('', { executable: shell('exit 0', { returnCodeMeaning: { success: 'x' } }) })).done;
    expect(r.outcome.reason).toBe('start-failed');
  });

  it('death by a signal not sent by us: 128+signo', async () => {
    const r = await executor().start(req('kill -KILL $$')).done;
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'returnCode', returnCode: 137, signal: 'SIGKILL' });
  });
});

describe('ShellExecutor: script file', () => {
  it('is written once, named by sha256, mode 0700, and its shebang counts', async () => {
    const script = `#!${process.execPath}\nprocess.stdout.write('node ' + typeof process.versions.node)\n`;
    const ex = executor();
    const a = await ex.start(req(script)).done;
    const b = await ex.start(req(script)).done;
    expect(a.outcome.type).toBe('succeeded');
    expect(a.stdout).toBe('node string');
    expect(b.stdout).toBe('node string');
    const hash = createHash('sha256').update(script).digest('hex');
    const file = join(scriptDir, `job-${hash}`);
    expect(readFileSync(file, 'utf8')).toBe(script);
    expect(statSync(file).mode & 0o777).toBe(0o700);
    expect(readdirSync(scriptDir).filter((f) => f.includes(hash))).toEqual([`job-${hash}`]);
    expect(readdirSync(scriptDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('without #! it runs under /bin/sh', async () => {
    const r = await executor().start(req('echo "$0"; exit 0')).done;
    expect(r.outcome.type).toBe('succeeded');
    expect(r.stdout.trim()).toMatch(new RegExp(`^${scriptDir}/job-[0-9a-f]{64}$`));
  });
});

describe('ShellExecutor: environment', () => {
  const evil = {
    subst: '$(touch PWNED)',
    backtick: '`touch PWNED2`',
    quotes: `it's "quoted" \\ 'too'`,
    semi: '"; touch PWNED3; echo "',
    newline: 'line1\nline2\n\n',
    'odd name-1.x': 'ö ünïcode ✓',
  };

  it('passes ORDERLY_* variables, arguments and the evaluated env verbatim', async () => {
    const script = `#!${process.execPath}\nprocess.stdout.write(JSON.stringify(process.env))\n`;
    const r = await executor({ extraEnv: { EXTRA: 'e' } }).start(
      req(
        '',
        { executable: shell(script) },
        {
          arguments: evil,
          env: { FROM_ARG: evil.subst, QUOTED: '$subst', PLAIN: 'plain text', EMPTY: '', ORDERLY_ENGINE_ID: 'spoof' },
          locks: [
            { lock: 'db', token: 42 },
            { lock: 'pool[a-1]', count: 2, token: 43 },
          ],
        },
      ),
    ).done;
    expect(r.outcome.type).toBe('succeeded');
    const env = JSON.parse(r.stdout) as Record<string, string>;
    expect(env).toMatchObject({
      ORDERLY_ORDER_ID: 'o1',
      ORDERLY_WORKFLOW: 'wf',
      ORDERLY_JOB: 'j',
      ORDERLY_EXECUTION_ID: 'x1',
      ORDERLY_ENGINE_ID: 'test-engine',
      ORDERLY_ARG_SUBST: evil.subst,
      ORDERLY_ARG_BACKTICK: evil.backtick,
      ORDERLY_ARG_QUOTES: evil.quotes,
      ORDERLY_ARG_SEMI: evil.semi,
      ORDERLY_ARG_NEWLINE: evil.newline,
      ORDERLY_ARG_ODD_NAME_1_X: evil['odd name-1.x'],
      ORDERLY_LOCK_TOKEN_DB: '42',
      ORDERLY_LOCK_TOKEN_POOL_A_1_: '43',
      FROM_ARG: evil.subst,
      QUOTED: '$subst',
      PLAIN: 'plain text',
      EMPTY: '',
      EXTRA: 'e',
    });
    expect(JSON.parse(env.ORDERLY_ARGUMENTS!)).toEqual(evil);
    expect(JSON.parse(env.ORDERLY_LOCK_TOKENS!)).toEqual({ db: 42, 'pool[a-1]': 43 });
    expect(env.PATH).toBe(process.env.PATH);
  });

  it('arguments with shell metacharacters are never executed', async () => {
    const work = tmpFile('work');
    rmSync(work, { force: true });
    const script = [
      '#!/bin/sh',
      `cd '${work}' 2>/dev/null || { mkdir '${work}' && cd '${work}'; }`,
      'printf "%s|" "$ORDERLY_ARG_SUBST" "$ORDERLY_ARG_BACKTICK" "$ORDERLY_ARG_SEMI" "$ORDERLY_ARG_QUOTES" "$ARG"',
      'eval "echo safe"',
      'ls',
    ].join('\n');
    const r = await executor().start(req('', { executable: shell(script) }, { arguments: evil, env: { ARG: evil.subst } })).done;
    expect(r.outcome.type).toBe('succeeded');
    expect(r.stdout).toBe(`${evil.subst}|${evil.backtick}|${evil.semi}|${evil.quotes}|${evil.subst}|safe\n`);
    expect(readdirSync(work)).toEqual([]);
  });

  it('helpers: name sanitising', () => {
    expect(envNameSuffix('a-b.c d_9')).toBe('A_B_C_D_9');
    expect(envNameSuffix('pool[k]')).toBe('POOL_K_');
  });
});

describe('ShellExecutor: bounded logs', () => {
  it('keeps the tail and counts dropped bytes', async () => {
    const r = await executor({ logBytesMax: 1000 }).start(req('seq 1 20000; seq 1 10 >&2')).done;
    const full = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    expect(r.outcome.type).toBe('succeeded');
    expect(r.stdout).toBe(full.slice(-1000));
    expect(r.stdoutDroppedBytes).toBe(full.length - 1000);
    expect(r.stderr).toBe('1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n');
    expect(r.stderrDroppedBytes).toBe(0);
  });

  it('BoundedBuffer drops from the front and never starts inside a character', () => {
    const b = new BoundedBuffer(5);
    b.push('ab');
    b.push(Buffer.from('cd'));
    expect(b.finish()).toEqual({ text: 'abcd', droppedBytes: 0 });
    b.push('ef');
    expect(b.finish()).toEqual({ text: 'bcdef', droppedBytes: 1 });
    b.push('0123456789');
    expect(b.finish()).toEqual({ text: '56789', droppedBytes: 11 });

    const u = new BoundedBuffer(4);
    u.push('x€y'); // x E2 82 AC y: the last 4 bytes are a whole '€y'
    expect(u.finish()).toEqual({ text: '€y', droppedBytes: 1 });
    u.push('z'); // now 82 AC 79 7A: the cut is inside '€'
    expect(u.finish()).toEqual({ text: 'yz', droppedBytes: 4 });

    const zero = new BoundedBuffer(0);
    zero.push('abc');
    expect(zero.finish()).toEqual({ text: '', droppedBytes: 3 });
  });
});

describe('ShellExecutor: timeout and kill', () => {
  it('timeout: SIGTERM to the whole group (the sleep child dies too)', async () => {
    const pidFile = tmpFile('pid');
    const script = `sleep 30 &\necho $! > '${pidFile}'\nwait\n`;
    const run = executor().start(req(script, { timeout: 0.3 }));
    const child = await readPid(pidFile);
    const r = await run.done;
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'timeout', signal: 'SIGTERM' });
    expect(r.outcome.message).toMatch(/timed out/);
    expect(await waitDead(child)).toBe(true);
  });

  it('grace: a script trapping TERM gets SIGKILL', async () => {
    const pidFile = tmpFile('pid');
    const script = `#!/bin/sh\ntrap '' TERM\nsleep 30 &\necho $! > '${pidFile}'\nwait\necho survived\n`;
    const t0 = Date.now();
    const run = executor().start(req(script, { timeout: 0.2, graceTimeout: 0.3 }));
    const child = await readPid(pidFile);
    const r = await run.done;
    const took = Date.now() - t0;
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'timeout', signal: 'SIGKILL' });
    expect(r.stdout).toBe('');
    expect(took).toBeGreaterThanOrEqual(450);
    expect(await waitDead(child)).toBe(true);
  });

  it('kill(): SIGTERM to the group, outcome killed', async () => {
    const pidFile = tmpFile('pid');
    const run = executor().start(req(`sleep 30 &\necho $! > '${pidFile}'\nwait\n`));
    const child = await readPid(pidFile);
    run.kill();
    run.kill(); // idempotent
    const r = await run.done;
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'killed', signal: 'SIGTERM' });
    expect(await waitDead(child)).toBe(true);
  });

  it('kill() right after start (before the spawn) still ends it', async () => {
    const run = executor().start(req('sleep 30'));
    run.kill();
    const r = await run.done;
    expect(r.outcome.type).toBe('failed');
    expect(r.outcome.reason).toBe('killed');
  });

  it('kill() with a TERM-trapping script escalates to SIGKILL after the grace time', async () => {
    const pidFile = tmpFile('pid');
    const run = executor().start(req(`trap '' TERM\necho $$ > '${pidFile}'\nwhile :; do sleep 0.05; done\n`, { graceTimeout: 0.2 }));
    await readPid(pidFile);
    run.kill();
    const r = await run.done;
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'killed', signal: 'SIGKILL' });
  });

  it('does not hang when a process that left the group keeps the pipes open after the leader exits', async () => {
    const pidFile = tmpFile('pid');
    const r = await executor({ pipeCloseWaitMs: 200 }).start(req(`echo hi\nsetsid sleep 30 &\necho $! > '${pidFile}'\nexit 0\n`)).done;
    await readPid(pidFile);
    expect(r.outcome).toEqual({ type: 'succeeded', returnCode: 0 });
    expect(r.stdout).toBe('hi\n');
  });
});

describe.runIf(process.platform === 'linux')('ShellExecutor: leftovers of the process group', () => {
  it('`sleep 60 & echo done`: the leftover gets SIGTERM and is gone when the execution ends; the outcome is the main process\'s', async () => {
    const pidFile = tmpFile('pid');
    const r = await executor().start(req(`sleep 60 &\necho $! > '${pidFile}'\necho done\n`)).done;
    const leftover = await readPid(pidFile);
    expect(isDead(leftover)).toBe(true);
    expect(r.outcome).toEqual({ type: 'succeeded', returnCode: 0 });
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toBe("orderly: 1 process of the job's process group still ran after its main process ended; sent SIGTERM\n");
  });

  it('a leftover that holds no pipe is ended too, and a failing main process still fails', async () => {
    const pidFile = tmpFile('pid');
    const r = await executor().start(req(`sleep 60 >/dev/null 2>&1 &\necho $! > '${pidFile}'\nexit 3\n`)).done;
    expect(isDead(await readPid(pidFile))).toBe(true);
    expect(r.outcome).toMatchObject({ type: 'failed', reason: 'returnCode', returnCode: 3 });
    expect(r.stderr).toContain('still ran after its main process ended; sent SIGTERM');
  });

  it('a leftover ignoring SIGTERM gets SIGKILL after graceTimeout', async () => {
    const pidFile = tmpFile('pid');
    const script = `#!/bin/sh\nsh -c 'trap "" TERM; echo $$ > "$1"; while :; do sleep 1; done' leftover '${pidFile}' &\nwhile [ ! -s '${pidFile}' ]; do sleep 0.01; done\necho started\n`;
    const r = await executor().start(req(script, { graceTimeout: 0.3 })).done;
    expect(isDead(await readPid(pidFile))).toBe(true);
    expect(r.outcome).toEqual({ type: 'succeeded', returnCode: 0 });
    expect(r.stdout).toBe('started\n');
    expect(r.stderr).toMatch(/process(es)? of the job's process group still ran after its main process ended; sent SIGTERM\n/);
    expect(r.stderr).toContain('orderly: the rest of the group still ran after graceTimeout; sent SIGKILL\n');
  });

  it('kill() while only leftovers run ends them at once with SIGKILL', async () => {
    const pidFile = tmpFile('pid');
    const script = `#!/bin/sh\nsh -c 'trap "" TERM; echo $$ > "$1"; while :; do sleep 1; done' leftover '${pidFile}' &\nwhile [ ! -s '${pidFile}' ]; do sleep 0.01; done\n`;
    let leader = 0;
    const run = executor().start(req(script, { graceTimeout: 3600 }), { onSpawn: (pid) => (leader = pid) });
    const leftover = await readPid(pidFile);
    // Wait until the main process is reaped (no /proc entry, not even a zombie): its exit has
    // then been seen, and the leftover, which ignores SIGTERM, is what keeps the execution open.
    while (leader === 0 || existsSync(`/proc/${leader}`)) await new Promise((r) => setTimeout(r, 10));
    run.kill();
    const r = await run.done;
    expect(isDead(leftover)).toBe(true);
    expect(r.outcome).toEqual({ type: 'succeeded', returnCode: 0 });
  });
});

describe('ShellExecutor: start failures', () => {
  it('a missing interpreter is start-failed', async () => {
    const r = await executor().start(req('#!/nonexistent/interpreter\necho hi\n')).done;
    expect(r.outcome.type).toBe('failed');
    expect(r.outcome.reason).toBe('start-failed');
    expect(r.outcome.message).toMatch(/ENOENT/);
  });

  it('a non-executable interpreter is start-failed', async () => {
    const interp = tmpFile('interp');
    writeFileSync(interp, '#!/bin/sh\necho never\n');
    chmodSync(interp, 0o644);
    const r = await executor().start(req(`#!${interp}\necho hi\n`)).done;
    expect(r.outcome.type).toBe('failed');
    expect(r.outcome.reason).toBe('start-failed');
    expect(r.outcome.message).toMatch(/EACCES/);
  });

  it('an unwritable script directory is start-failed', async () => {
    const file = tmpFile('a-file');
    writeFileSync(file, '');
    const r = await executor({ scriptDir: join(file, 'sub') }).start(req('exit 0')).done;
    expect(r.outcome.reason).toBe('start-failed');
  });

  it('an argument with a NUL byte is start-failed, not a throw', async () => {
    const r = await executor().start(req('exit 0', {}, { arguments: { bad: 'a\0b' } })).done;
    expect(r.outcome.reason).toBe('start-failed');
  });
});

describe('killOrphans', () => {
  it.runIf(process.platform === 'linux')('kills detached processes carrying the engine marker, and only those', async () => {
    const id = `orphan-test-${process.pid}-${Date.now()}`;
    const start = (engineId: string) => {
      const p = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env: { ...process.env, ORDERLY_ENGINE_ID: engineId } });
      strays.push(p.pid!);
      const exited = new Promise<NodeJS.Signals | null>((r) => p.once('exit', (_c, s) => r(s)));
      return { pid: p.pid!, exited };
    };
    const mine = start(id);
    const other = start(`${id}-other`);
    const prefix = start(id.slice(0, -1));
    await new Promise((r) => setTimeout(r, 100)); // let exec happen: environ is read after exec
    expect(await killOrphans(id)).toBe(1);
    expect(await mine.exited).toBe('SIGKILL');
    expect(isDead(other.pid)).toBe(false);
    expect(isDead(prefix.pid)).toBe(false);
    expect(await killOrphans(`${id}-other`)).toBe(1);
    expect(await other.exited).toBe('SIGKILL');
    expect(await killOrphans(id)).toBe(0);
  });

  it('kills a grandchild that escaped the finished job (same engine id)', async () => {
    const engineId = `orphan-job-${process.pid}-${Date.now()}`;
    const pidFile = tmpFile('pid');
    // The job ends only once the grandchild has left the job's process group (it writes its pid
    // after setsid), so the leftover clean-up of the group (SIGTERM when the job ends) cannot reach it.
    const escape = `setsid sh -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 30' '${pidFile}' >/dev/null 2>&1 &\nwhile [ ! -s '${pidFile}' ]; do sleep 0.01; done\n`;
    const r = await executor({ engineId, pipeCloseWaitMs: 100 }).start(req(escape)).done;
    expect(r.outcome.type).toBe('succeeded');
    const pid = await readPid(pidFile);
    expect(isDead(pid)).toBe(false);
    // The grandchild may still be between fork and exec (its environ unreadable for a moment).
    let killed = 0;
    for (let i = 0; i < 40 && killed === 0; i++) {
      killed = await killOrphans(engineId);
      if (killed === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(killed).toBeGreaterThanOrEqual(1);
    expect(await waitDead(pid)).toBe(true);
  });
});
