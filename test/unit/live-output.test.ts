// The live output of a running execution: bounded tails, batched chunks that say where they
// start, chunks from another process with gaps and overlaps, and a close that hands out the rest.

import { describe, expect, it } from 'vitest';

import { LiveOutput, type LiveChunk } from '../../src/runtime/live-output.js';

/** Resolves with the next batch a listener gets. */
function nextBatch(live: LiveOutput): Promise<LiveChunk[]> {
  return new Promise((resolve) => {
    const off = live.listen((chunks) => {
      off();
      resolve(chunks);
    });
  });
}

describe('LiveOutput', () => {
  it('keeps the tail of each stream and says where it starts', () => {
    const live = new LiveOutput({ textCharsMax: 10 });
    live.write('stdout', 'abcdef');
    live.write('stdout', 'ghijkl');
    live.write('stderr', 'xy');
    expect(live.snapshot()).toEqual({ stdout: 'cdefghijkl', stderr: 'xy', stdoutFromChars: 2, stderrFromChars: 0, stdoutChars: 12, stderrChars: 2 });
  });

  it('hands new text to listeners in batches, each chunk with its position', async () => {
    const live = new LiveOutput();
    live.write('stdout', 'before anyone listened\n');
    const batch = nextBatch(live);
    live.write('stdout', 'one\n');
    live.write('stdout', 'two\n');
    live.write('stderr', 'oops\n');
    expect(await batch).toEqual([
      { stream: 'stdout', fromChars: 23, text: 'one\ntwo\n' },
      { stream: 'stderr', fromChars: 0, text: 'oops\n' },
    ]);
  });

  it('sends at most chunkCharsMax characters per stream and batch: the front of the surplus is skipped, the position shows the gap', async () => {
    const live = new LiveOutput({ chunkCharsMax: 4 });
    const batch = nextBatch(live);
    live.write('stdout', '0123456789');
    expect(await batch).toEqual([{ stream: 'stdout', fromChars: 6, text: '6789' }]);
    expect(live.snapshot().stdout).toBe('0123456789');
  });

  it('writes chunks from another process at their position: an overlap written once; after a gap the kept text starts anew', () => {
    const live = new LiveOutput();
    live.writeAt('stdout', 0, 'abc');
    live.writeAt('stdout', 2, 'cde');
    expect(live.snapshot()).toMatchObject({ stdout: 'abcde', stdoutFromChars: 0, stdoutChars: 5 });
    live.writeAt('stdout', 10, 'xyz');
    expect(live.snapshot()).toMatchObject({ stdout: 'xyz', stdoutFromChars: 10, stdoutChars: 13 });
  });

  it('close() hands out what is pending at once, then ignores writes', () => {
    const live = new LiveOutput({ flushMs: 1_000_000 });
    const got: LiveChunk[][] = [];
    live.listen((c) => got.push(c));
    live.write('stdout', 'last words\n');
    live.close();
    expect(got).toEqual([[{ stream: 'stdout', fromChars: 0, text: 'last words\n' }]]);
    live.write('stdout', 'after');
    expect(live.snapshot().stdout).toBe('last words\n');
    expect(live.isClosed).toBe(true);
  });

  it('refuses bounds that are not whole numbers ≥ 1', () => {
    expect(() => new LiveOutput({ textCharsMax: 0 })).toThrow(/textCharsMax/);
    expect(() => new LiveOutput({ chunkCharsMax: 1.5 })).toThrow(/chunkCharsMax/);
    expect(() => new LiveOutput({ flushMs: Number.NaN })).toThrow(/flushMs/);
  });
});
