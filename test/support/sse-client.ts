// A Server-Sent Events client over a real socket, for the tests of the event streams
// (GET /api/v1/events, GET /api/v1/orders/{id}/log/live): it keeps every frame as it comes.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface Frame {
  id?: number;
  event?: string;
  data?: string;
  /** A comment line (`: heartbeat`). */
  comment?: string;
}

export class SseClient {
  readonly frames: Frame[] = [];
  status = 0;
  headers: IncomingMessage['headers'] = {};
  ended = false;
  private buf = '';
  private waiters: (() => void)[] = [];
  private req: ClientRequest | undefined;

  constructor(
    private readonly port: number,
    private readonly path: string,
    private readonly headersOut: Record<string, string>,
  ) {}

  /** Resolves once the answer's head has come. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = request({ host: '127.0.0.1', port: this.port, path: this.path, headers: this.headersOut }, (res) => {
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.feed(chunk));
        res.on('end', () => {
          this.ended = true;
          this.wake();
        });
        res.on('error', () => undefined);
        resolve();
      });
      this.req.on('error', (e) => (this.status === 0 ? reject(e) : undefined));
      this.req.end();
    });
  }

  /** Called with every frame as it comes (after it is kept in `frames`). */
  protected onFrame(_f: Frame): void {}

  private feed(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const f: Frame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) f.id = Number(line.slice(4));
        else if (line.startsWith('event: ')) f.event = line.slice(7);
        else if (line.startsWith('data: ')) f.data = line.slice(6);
      }
      this.frames.push(f);
      this.onFrame(f);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds, checked after what the stream brings; the deadline is only a safety net (under the test's 120 s) that shows the last frames. */
  async until(pred: () => boolean, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  close(): void {
    this.req?.destroy();
  }
}
