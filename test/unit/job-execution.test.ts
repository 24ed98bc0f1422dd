import { describe, expect, it } from 'vitest';
import { evaluateText, type Scope } from '../../src/core/expr/index.js';
import { nothingToEvaluate, plainLiteral, prepareExecution, type ExecutionInput } from '../../src/core/job-execution.js';
import type { Job } from '../../src/core/model.js';

const scope: Scope = { variable: () => undefined, orderId: 'o1', workflowPath: 'w', label: '', jobName: 'j', now: 0 };

describe('plainLiteral: the evaluator skipped for plain values', () => {
  it('gives what the evaluator gives, or leaves the text to it', () => {
    const texts = [
      "'text'", "'a b $x'", "'007'", "'\"'", "'x\ny'", "'x\r\ny'", "''", "'''a'''", "''a''", "'a'b'", "'a' ", " 'a'",
      "'a' ++ 'b'", '0', '7', '007', '123456789012345', '1234567890123456', '1.5', '-1', '+1', '1 ', '1e3', '$x', '"t"', 'true', '',
    ];
    for (const t of texts) {
      const plain = plainLiteral(t);
      if (plain === undefined) continue;
      const r = evaluateText(t, scope);
      expect(r.ok, t).toBe(true);
      if (r.ok) expect(plain, t).toEqual(r.value);
    }
    expect(plainLiteral("'text'")).toBe('text');
    expect(plainLiteral('42')).toBe(42);
    expect(plainLiteral("''")).toBeUndefined();
    expect(plainLiteral("'a' ++ 'b'")).toBeUndefined();
    expect(plainLiteral("'x\r\ny'")).toBeUndefined();
    expect(plainLiteral('1.5')).toBeUndefined();
  });
});

function input(job: Job, over: Partial<ExecutionInput> = {}): ExecutionInput {
  return {
    order: { id: 'o1', workflow: 'w', arguments: { given: 'g' } },
    workflow: { name: 'w' },
    jobName: 'my job',
    job,
    instruction: { label: 'l1', defaultArguments: undefined },
    instructionPath: 'instructions[0].lockedWorkflow.instructions[1]',
    now: 0,
    ...over,
  };
}

describe('prepareExecution', () => {
  it('merges literal and expression defaults as before, the order winning', () => {
    const job: Job = {
      executable: { TYPE: 'ShellScriptExecutable', script: 'true', env: { A: "'lit'", B: '$a ++ "-" ++ $given', C: '12' } },
      defaultArguments: { a: "'x'", n: 3, given: "'not used'", e: '$a ++ $given' },
    };
    const r = prepareExecution(input(job, { instruction: { label: 'l1', defaultArguments: { i: "'y'", b: true } } }));
    expect(r).toEqual({
      ok: true,
      value: {
        arguments: { a: 'x', n: '3', e: 'xg', i: 'y', b: 'true', given: 'g' },
        env: { A: 'lit', B: 'x-g', C: '12' },
        executable: job.executable,
      },
    });
  });

  it('names the JSON path of a failing default or env only when it fails', () => {
    const bad: Job = { executable: { TYPE: 'FunctionExecutable', functionName: 'f' }, defaultArguments: { x: '1 +' } };
    const r1 = prepareExecution(input(bad));
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.message).toMatch(/^jobs\["my job"\]\.defaultArguments\.x: /);
    const r2 = prepareExecution(input({ executable: { TYPE: 'FunctionExecutable', functionName: 'f' } }, { instruction: { label: undefined, defaultArguments: { y: "'a" } } }));
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.message).toMatch(/^instructions\[0\]\.lockedWorkflow\.instructions\[1\]\.defaultArguments\.y: unterminated/);
    const r3 = prepareExecution(input({ executable: { TYPE: 'ShellScriptExecutable', script: 'true', env: { E: '$' } } }, { jobPath: 'instructions[2].job' }));
    expect(r3.ok).toBe(false);
    if (!r3.ok) expect(r3.message).toMatch(/^instructions\[2\]\.job\.executable\.env\.E: /);
  });

  it('with nothing to evaluate gives a copy of the order arguments and an empty env', () => {
    const fn: Job = { executable: { TYPE: 'FunctionExecutable', functionName: 'f' } };
    const order = { id: 'o1', workflow: 'w', arguments: { given: 'g', other: 'o' } };
    expect(nothingToEvaluate(fn, { defaultArguments: undefined }, {})).toBe(true);
    const r = prepareExecution(input(fn, { order }));
    expect(r).toEqual({ ok: true, value: { arguments: { given: 'g', other: 'o' }, env: {}, executable: fn.executable } });
    if (r.ok) expect(r.value.arguments).not.toBe(order.arguments);
    // Anything to evaluate takes the full way.
    expect(nothingToEvaluate({ ...fn, defaultArguments: { a: "'x'" } }, { defaultArguments: undefined }, {})).toBe(false);
    expect(nothingToEvaluate(fn, { defaultArguments: { a: 1 } }, {})).toBe(false);
    expect(nothingToEvaluate({ ...fn, jobResourceNames: ['R'] }, { defaultArguments: undefined }, {})).toBe(false);
    expect(nothingToEvaluate(fn, { defaultArguments: {} }, { jobResourceNames: ['R'] })).toBe(false);
    expect(nothingToEvaluate({ executable: { TYPE: 'ShellScriptExecutable', script: 'true', env: { A: "'a'" } } }, { defaultArguments: undefined }, {})).toBe(false);
    expect(nothingToEvaluate({ executable: { TYPE: 'ShellScriptExecutable', script: 'true', env: {} } }, { defaultArguments: {} }, {})).toBe(true);
  });
});
