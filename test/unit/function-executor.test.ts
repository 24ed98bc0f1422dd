import { describe, expect, it } from 'vitest';

import type { Job } from '../../src/core/model.js';
import type { ExecutionRequest } from '../../src/runtime/executor-types.js';
import { FunctionExecutor, type JobContext } from '../../src/runtime/function-executor.js';
import { executionRequest } from '../support/execution-request.js';

function req(functionName: string, job: Partial<Job> = {}, over: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return executionRequest({ TYPE: 'FunctionExecutable', functionName }, job, over);
}

const never = (): Promise<never> => new Promise<never>(() => undefined);

describe('FunctionExecutor', () => {
  it('register / has', () => {
    const ex = new FunctionExecutor();
    expect(ex.has('f')).toBe(false);
    ex.register('f', () => undefined);
    expect(ex.has('f')).toBe(true);
  });

  it('a sync function that returns succeeds', async () => {
    const ex = new FunctionExecutor().register('f', () => 'whatever');
    const r = await ex.start(req('f')).done;
    expect(r).toEqual({ outcome: { type: 'succeeded' }, stdout: '', stderr: '', stdoutDroppedBytes: 0, stderrDroppedBytes: 0 });
  });

  it('an async function that resolves succeeds', async () => {
    const ex = new FunctionExecutor().register('f', async () => {
      await new Promise((r) => setImmediate(r)); // resolves in a later turn of the event loop
      return { ok: true };
    });
    expect((await ex.start(req('f')).done).outcome).toEqual({ type: 'succeeded' });
  });

  it('does not run the function inside start()', async () => {
    let ran = false;
    const ex = new FunctionExecutor().register('f', () => {
      ran = true;
    });
    const run = ex.start(req('f'));
    expect(ran).toBe(false);
    await run.done;
    expect(ran).toBe(true);
  });

  it('a numeric returnCode is checked against returnCodeMeaning', async () => {
    const ex = new FunctionExecutor().register('f', (ctx) => ({ returnCode: Number(ctx.arguments.rc) }));
    const exe = { TYPE: 'FunctionExecutable' as const, functionName: 'f', returnCodeMeaning: { success: '0,3..5' } };
    const run = async (rc: number) => (await ex.start(req('f', { executable: exe }, { arguments: { rc: String(rc) } })).done).outcome;
    expect(await run(4)).toEqual({ type: 'succeeded', returnCode: 4 });
    expect(await run(2)).toEqual({ type: 'failed', reason: 'returnCode', returnCode: 2, message: 'return code 2' });
    // Without a meaning: only 0.
    const plain = async (rc: number) => (await ex.start(req('f', {}, { arguments: { rc: String(rc) } })).done).outcome;
    expect(await plain(0)).toEqual({ type: 'succeeded', returnCode: 0 });
    expect((await plain(1)).type).toBe('failed');
  });

  it('a throw or a rejection fails with reason exception', async () => {
    const ex = new FunctionExecutor()
      .register('sync', () => {
        throw new Error('boom');
      })
      .register('async', () => Promise.reject(new TypeError('bad type')))
      .register('str', () => Promise.reject('plain string'));
    const a = await ex.start(req('sync')).done;
    expect(a.outcome).toEqual({ type: 'failed', reason: 'exception', message: 'boom' });
    expect(a.stderr).toContain('Error: boom');
    expect((await ex.start(req('async')).done).outcome).toEqual({ type: 'failed', reason: 'exception', message: 'bad type' });
    expect((await ex.start(req('str')).done).outcome).toEqual({ type: 'failed', reason: 'exception', message: 'plain string' });
  });

  it('an unknown function is start-failed', async () => {
    const ex = new FunctionExecutor();
    const r = await ex.start(req('nope')).done;
    expect(r.outcome.type).toBe('failed');
    expect(r.outcome.reason).toBe('start-failed');
    expect(r.outcome.message).toContain('nope');
  });

  it('a shell job handed to it is start-failed, not a throw', async () => {
    const ex = new FunctionExecutor();
    const r = await ex.start(req('x', { executable: { TYPE: 'ShellScriptExecutable', script: 'true' } })).done;
    expect(r.outcome.reason).toBe('start-failed');
  });

  it('passes the context', async () => {
    let seen: JobContext | undefined;
    const ex = new FunctionExecutor().register('f', (ctx) => {
      seen = ctx;
    });
    const locks = [{ lock: 'db', token: 7 }, { lock: 'pool[a]', count: 2, token: 9 }];
    await ex.start(req('f', {}, { arguments: { a: '$(touch /tmp/x)', b: 'two\nlines' }, locks })).done;
    expect(seen).toMatchObject({
      orderId: 'o1',
      executionId: 'x1',
      workflow: 'wf',
      jobName: 'j',
      arguments: { a: '$(touch /tmp/x)', b: 'two\nlines' },
      locks,
    });
    expect(seen?.signal.aborted).toBe(false);
  });

  it('timeout: aborts the signal and resolves at once, even if the function ignores it', async () => {
    let signal: AbortSignal | undefined;
    const ex = new FunctionExecutor().register('f', (ctx) => {
      signal = ctx.signal;
      return never();
    });
    const t0 = Date.now();
    const r = await ex.start(req('f', { timeout: 0.05 })).done;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.outcome.type).toBe('failed');
    expect(r.outcome.reason).toBe('timeout');
    expect(signal?.aborted).toBe(true);
  });

  it('a late rejection after a timeout is swallowed', async () => {
    let rejectLate: (e: Error) => void = () => undefined;
    const ex = new FunctionExecutor().register(
      'f',
      () =>
        new Promise((_r, reject) => {
          rejectLate = reject;
        }),
    );
    const run = ex.start(req('f', { timeout: 0.01 }));
    const r = await run.done;
    expect(r.outcome.reason).toBe('timeout');
    // The rejection comes only after the timeout; an unhandled one would fail the test run.
    rejectLate(new Error('late'));
    await new Promise((r) => setImmediate(r));
    expect((await run.done).outcome.reason).toBe('timeout');
  });

  it('kill(): aborts the signal, outcome killed', async () => {
    let aborted = false;
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const ex = new FunctionExecutor().register('f', (ctx) => {
      ctx.signal.addEventListener('abort', () => {
        aborted = true;
      });
      started();
      return never();
    });
    const run = ex.start(req('f'));
    await running;
    run.kill();
    const r = await run.done;
    expect(r.outcome).toEqual({ type: 'failed', reason: 'killed', message: 'killed' });
    expect(aborted).toBe(true);
  });

  it('kill() before the function ran: it never runs', async () => {
    let ran = false;
    const ex = new FunctionExecutor().register('f', () => {
      ran = true;
    });
    const run = ex.start(req('f'));
    run.kill();
    expect((await run.done).outcome.reason).toBe('killed');
    expect(ran).toBe(false);
  });

  it('a signal read after the timeout is already aborted', async () => {
    let goOn: () => void = () => undefined;
    const timedOut = new Promise<void>((r) => (goOn = r));
    let read: (aborted: boolean) => void = () => undefined;
    const late = new Promise<boolean>((r) => (read = r));
    const ex = new FunctionExecutor().register('f', async (ctx) => {
      await timedOut;
      read(ctx.signal.aborted);
    });
    expect((await ex.start(req('f', { timeout: 0.01 })).done).outcome.reason).toBe('timeout');
    goOn();
    expect(await late).toBe(true);
  });

  it('log lines go to stdout, bounded to the tail', async () => {
    const ex = new FunctionExecutor({ logBytesMax: 10 }).register('f', (ctx) => {
      ctx.log('first line');
      ctx.log('abc');
      ctx.log('xyz\n');
    });
    const r = await ex.start(req('f')).done;
    expect(r.stdout).toBe('e\nabc\nxyz\n');
    expect(r.stdoutDroppedBytes).toBe('first line'.length + 1 + 4 + 4 - 10);
    const small = await new FunctionExecutor().register('g', (ctx) => ctx.log('hi')).start(req('g')).done;
    expect(small.stdout).toBe('hi\n');
    expect(small.stdoutDroppedBytes).toBe(0);
  });
});
