// A byte-bounded collector for a job's output: keeps the LAST `maxBytes` bytes,
// dropping from the front and counting what it dropped. Decodes UTF-8 at the end,
// never starting in the middle of a multi-byte character.

/** Default bytes kept per output stream of an execution. */
export const DEFAULT_LOG_BYTES_MAX = 256 * 1024;

export class BoundedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.size;
  }

  /** Bytes dropped from the front so far (not counting a partial character cut at `text()`). */
  get droppedBytes(): number {
    return this.dropped;
  }

  push(chunk: Buffer | Uint8Array | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const len = buf.length;
    if (len === 0) return;
    const max = this.maxBytes;
    if (len >= max) {
      // The new chunk alone fills the buffer: everything before it goes.
      this.dropped += this.size + (len - max);
      this.chunks = max === 0 ? [] : [Buffer.from(buf.subarray(len - max))]; // copy: do not pin a big chunk
      this.size = max;
      return;
    }
    this.chunks.push(buf);
    this.size += len;
    let excess = this.size - max;
    while (excess > 0) {
      const first = this.chunks[0]!;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
        excess -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
        excess = 0;
      }
    }
  }

  /** The kept text and the total of dropped bytes (including a partial leading character). */
  finish(): { text: string; droppedBytes: number } {
    if (this.size === 0) return { text: '', droppedBytes: this.dropped };
    let all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    let dropped = this.dropped;
    if (dropped > 0) {
      // The cut may have landed inside a character: skip its continuation bytes (10xxxxxx).
      let skip = 0;
      while (skip < 3 && skip < all.length && (all[skip]! & 0xc0) === 0x80) skip++;
      if (skip > 0) {
        all = all.subarray(skip);
        dropped += skip;
      }
    }
    return { text: all.toString('utf8'), droppedBytes: dropped };
  }
}
