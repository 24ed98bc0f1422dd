// A job's leftover processes (started in the background, still running when the job's main
// process exits) are ended before the job counts as finished, so they never work beside the
// next holder of the job's lock. Real engine, real job launcher, real processes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';
import { createOrderly, type Orderly } from '../../src/index.js';

const open: Orderly[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Running = /proc has it and it is not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

// Each holder first records whether the previous holder's leftover still runs, then leaves
// a `sleep 60` of its own behind and exits 0.
const script = `#!/bin/sh
if [ -s "$ORDERLY_ARG_DIR/leftover.pid" ]; then
  p=$(cat "$ORDERLY_ARG_DIR/leftover.pid")
  if [ -r /proc/$p/stat ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ]; then state=running; else state=gone; fi
  echo "$ORDERLY_ORDER_ID saw $p $state" >> "$ORDERLY_ARG_DIR/seen"
fi
sleep 60 &
echo $! > "$ORDERLY_ARG_DIR/leftover.pid"
echo done
`;

describe.runIf(process.platform === 'linux')('leftover processes of a job', () => {
  it('`sleep 60 & echo done` in a serialized workflow: the leftover is gone before the next holder starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orderly-leftover-'));
    dirs.push(dir);
    const o = await createOrderly();
    open.push(o);
    await o.deploy({
      locks: [{ name: 'solo', limit: 1 }],
      workflows: [
        {
          name: 'serialized',
          instructions: [{ TYPE: 'Lock', demands: [{ lockName: 'solo' }], lockedWorkflow: { instructions: [{ TYPE: 'Execute.Named', jobName: 'j' }] } }],
          jobs: { j: { executable: { TYPE: 'ShellScriptExecutable', script }, graceTimeout: 30 } },
        },
      ],
    });
    const ids = ['first', 'second', 'third'];
    for (const id of ids) await o.addOrder({ workflow: 'serialized', id, arguments: { dir } });
    for (const id of ids) {
      const order = await o.awaitOrder(id, { timeoutMs: 120_000 });
      expect(order.state, id).toBe('finished');
    }
    const seen = readFileSync(join(dir, 'seen'), 'utf8').trim().split('\n');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^second saw \d+ gone$/);
    expect(seen[1]).toMatch(/^third saw \d+ gone$/);
    // The last holder's leftover is gone too, and each job's log says what was ended.
    const last = Number(readFileSync(join(dir, 'leftover.pid'), 'utf8'));
    expect(running(last)).toBe(false);
    for (const id of ids) {
      const [log] = await o.logs(id);
      expect(log!.stdout).toBe('done\n');
      expect(log!.stderr).toContain("orderly: 1 process of the job's process group still ran after its main process ended; sent SIGTERM");
    }
  }, 180_000);
});
