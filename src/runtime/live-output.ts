// The output of a running execution so far, for watching it while it runs.
//
// - Each stream keeps its tail: at most `textCharsMax` characters (the final log keeps its
//   own byte-bounded tail, bounded-buffer.ts; this one is only for the live view).
// - Positions count characters (UTF-16 code units, as JavaScript strings do) from the start
//   of the stream: a snapshot says where its kept text starts (`…FromChars`) and how much was
//   written in all (`…Chars`); a chunk says where it starts (`fromChars`). A watcher appends a
//   chunk at its position, and knows a gap when a chunk starts after what it has.
// - Listeners get the new text in chunks, at most one batch per `flushMs` and at most
//   `chunkCharsMax` characters per stream and batch: a writer faster than that loses the
//   front of its surplus in the live view (the next chunk starts later and says where).
// - close() hands out what is pending at once and stops the timer; writes after it are ignored.

export type StreamName = 'stdout' | 'stderr';

export interface LiveChunk {
  stream: StreamName;
  /** Where `text` starts in the stream (characters written before it). */
  fromChars: number;
  text: string;
}

export interface LiveSnapshot {
  stdout: string;
  stderr: string;
  /** Where the kept `stdout` starts in the stream (characters dropped from its front). */
  stdoutFromChars: number;
  stderrFromChars: number;
  /** Characters written to the stream in all (`stdoutFromChars + stdout.length`). */
  stdoutChars: number;
  stderrChars: number;
}

export interface LiveOutputOptions {
  /** Characters kept per stream, default 256 Ki. */
  textCharsMax?: number;
  /** Characters per stream in one batch to listeners, default 64 Ki. */
  chunkCharsMax?: number;
  /** Time between batches to listeners, default 100 ms. */
  flushMs?: number;
}

export const LIVE_TEXT_CHARS_MAX = 256 * 1024;
export const LIVE_CHUNK_CHARS_MAX = 64 * 1024;
export const LIVE_FLUSH_MS = 100;

/** A string tail of at most `max` characters, and how many were written in all. */
class Tail {
  private parts: string[] = [];
  private length = 0;
  /** Characters written in all (including those dropped from the front). */
  total = 0;

  constructor(private readonly max: number) {}

  push(s: string): void {
    this.total += s.length;
    this.parts.push(s);
    this.length += s.length;
    let excess = this.length - this.max;
    while (excess > 0) {
      const first = this.parts[0]!;
      if (first.length <= excess) {
        this.parts.shift();
        this.length -= first.length;
        excess -= first.length;
      } else {
        this.parts[0] = first.slice(excess);
        this.length -= excess;
        excess = 0;
      }
    }
  }

  /** Characters skipped without text (what another process dropped before sending): the kept text starts after them. */
  skip(n: number): void {
    this.total += n;
    this.parts = [];
    this.length = 0;
  }

  get fromChars(): number {
    return this.total - this.length;
  }

  text(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }
}

interface Pending {
  fromChars: number;
  text: string;
}

export class LiveOutput {
  private readonly tails: Record<StreamName, Tail>;
  private readonly pending: Partial<Record<StreamName, Pending>> = {};
  private readonly listeners = new Set<(chunks: LiveChunk[]) => void>();
  private readonly chunkCharsMax: number;
  private readonly flushMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: LiveOutputOptions = {}) {
    const textMax = opts.textCharsMax ?? LIVE_TEXT_CHARS_MAX;
    this.chunkCharsMax = opts.chunkCharsMax ?? LIVE_CHUNK_CHARS_MAX;
    this.flushMs = opts.flushMs ?? LIVE_FLUSH_MS;
    for (const [name, v] of [['textCharsMax', textMax], ['chunkCharsMax', this.chunkCharsMax], ['flushMs', this.flushMs]] as const) {
      if (!(Number.isSafeInteger(v) && v >= 1)) throw new RangeError(`${name} must be a whole number ≥ 1, got ${v}`);
    }
    this.tails = { stdout: new Tail(textMax), stderr: new Tail(textMax) };
  }

  /** Appends text written by the job. */
  write(stream: StreamName, text: string): void {
    if (this.closed || text === '') return;
    const tail = this.tails[stream];
    const from = tail.total;
    tail.push(text);
    if (this.listeners.size === 0) return;
    const p = this.pending[stream];
    if (p === undefined) this.pending[stream] = { fromChars: from, text };
    else p.text += text;
    const q = this.pending[stream]!;
    if (q.text.length > this.chunkCharsMax) {
      const cut = q.text.length - this.chunkCharsMax;
      q.text = q.text.slice(cut);
      q.fromChars += cut;
    }
    this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }

  /** Appends a chunk that says where it starts (from another process): an overlap is written once; after a gap the kept text starts anew. */
  writeAt(stream: StreamName, fromChars: number, text: string): void {
    if (this.closed) return;
    const tail = this.tails[stream];
    if (fromChars > tail.total) tail.skip(fromChars - tail.total);
    const overlap = tail.total - fromChars;
    this.write(stream, overlap > 0 ? text.slice(overlap) : text);
  }

  snapshot(): LiveSnapshot {
    const { stdout, stderr } = this.tails;
    return {
      stdout: stdout.text(),
      stderr: stderr.text(),
      stdoutFromChars: stdout.fromChars,
      stderrFromChars: stderr.fromChars,
      stdoutChars: stdout.total,
      stderrChars: stderr.total,
    };
  }

  /** Calls `fn` with each batch of new text; returns the unsubscribe. */
  listen(fn: (chunks: LiveChunk[]) => void): () => void {
    if (this.closed) return () => undefined;
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Hands out what is pending now; no more writes or batches afterwards. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.listeners.clear();
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const chunks: LiveChunk[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.pending[stream];
      if (p === undefined) continue;
      delete this.pending[stream];
      chunks.push({ stream, fromChars: p.fromChars, text: p.text });
    }
    if (chunks.length === 0) return;
    for (const l of [...this.listeners]) {
      try {
        l(chunks);
      } catch {
        // A listener's error is its own.
      }
    }
  }
}
