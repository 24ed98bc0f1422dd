// GET /events: the journal as Server-Sent Events.
//
//   id: <seq>
//   event: <event type>
//   data: {"seq": <seq>, "event": {...}}
//
// Resumable: a client that sends `Last-Event-ID: n` (browsers do on reconnect) or `?after=n`
// gets every event with seq > n, first replayed from the journal, then live, with no gap and
// no duplicate at the seam: the live subscription starts BEFORE the replay and buffers; after
// the replay has read the journal to its end, the buffer is sent without what the replay
// sent already (by seq). Without either, the stream starts with the next event.
// A comment line (`: heartbeat`) every 15 s keeps proxies from closing an idle stream. A
// client that cannot keep up is disconnected (it resumes with Last-Event-ID).

import type { ServerResponse } from 'node:http';

import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';

import type { Stamped } from '../../core/events.js';
import type { LiveLogMessage, Orderly } from '../../runtime/orderly.js';
import type { Api, ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { replyHeaders } from '../headers.js';
import { errors, OrderIdParams } from '../schemas.js';

const REPLAY_PAGE = 500;
/** Live events buffered while the replay runs, at most. */
const PENDING_MAX = 100_000;
/** Unsent bytes in the socket before a slow client is cut off. */
const WRITE_BACKLOG_MAX = 8 * 1024 * 1024;

export function frame(s: Stamped): string {
  return `id: ${s.seq}\nevent: ${s.event.type}\ndata: ${JSON.stringify(s)}\n\n`;
}

/**
 * One open Server-Sent Events response: the heartbeat, the cut-off of a slow client, and the
 * end (by either side, or when the server closes) that stops what feeds it.
 */
abstract class SseStream {
  private heartbeat: NodeJS.Timeout | undefined;
  protected closed = false;

  constructor(
    protected readonly res: ServerResponse,
    private readonly onEnd: () => void,
  ) {
    res.on('close', () => this.cleanup());
  }

  /** Sends `: heartbeat` every `heartbeatMs` until the stream ends. */
  protected startHeartbeat(heartbeatMs: number): void {
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), heartbeatMs);
    this.heartbeat.unref();
  }

  /** Stops what feeds the stream (called once, when it ends). */
  protected abstract stopFeed(): void;

  protected write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > WRITE_BACKLOG_MAX) this.end();
  }

  end(): void {
    if (!this.closed) this.res.end();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopFeed();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.onEnd();
  }
}

class EventStream extends SseStream {
  private lastSent: number;
  /** Live events that came while the replay ran; undefined once live. */
  private pending: Stamped[] | undefined = [];
  private unsubscribe: (() => void) | undefined;

  constructor(
    res: ServerResponse,
    private readonly orderly: Orderly,
    after: number,
    private readonly heartbeatMs: number,
    onEnd: () => void,
  ) {
    super(res, onEnd);
    this.lastSent = after;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.orderly.subscribe((events) => this.live(events));
    this.startHeartbeat(this.heartbeatMs);
    const store = this.orderly.engine.store;
    try {
      for (;;) {
        if (this.closed) return;
        const page = await store.readAfter(this.lastSent, REPLAY_PAGE);
        if (page.length === 0) break;
        for (const s of page) this.send(s);
        if (this.res.writableNeedDrain) await new Promise<void>((r) => this.res.once('drain', r).once('close', r));
      }
    } catch {
      this.end();
      return;
    }
    const buffered = this.pending ?? [];
    this.pending = undefined;
    for (const s of buffered) this.send(s);
  }

  protected stopFeed(): void {
    this.unsubscribe?.();
  }

  private live(events: readonly Stamped[]): void {
    if (this.closed) return;
    if (this.pending) {
      this.pending.push(...events);
      if (this.pending.length > PENDING_MAX) this.end();
      return;
    }
    for (const s of events) this.send(s);
  }

  private send(s: Stamped): void {
    if (s.seq <= this.lastSent) return;
    this.lastSent = s.seq;
    this.write(frame(s));
  }
}

/** The live output of one order's jobs (GET /orders/{id}/log/live): not resumable, a reconnect starts with a fresh `running`. */
class LogStream extends SseStream {
  private unwatch: (() => void) | undefined;

  start(orderly: Orderly, id: string, heartbeatMs: number): void {
    this.startHeartbeat(heartbeatMs);
    this.unwatch = orderly.watchLog(id, (m) => this.send(m));
  }

  protected stopFeed(): void {
    this.unwatch?.();
  }

  private send(m: LiveLogMessage): void {
    if (m.type === 'running') {
      this.write(`event: running\ndata: ${JSON.stringify(m.running)}\n\n`);
      return;
    }
    for (const c of m.chunks) {
      this.write(`event: log\ndata: ${JSON.stringify({ executionId: m.executionId, stream: c.stream, fromChars: c.fromChars, text: c.text })}\n\n`);
    }
  }
}

/** Takes the response over from Fastify and opens it as an event stream (headers and the client's retry delay). */
function openEventStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...replyHeaders(reply),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  return res;
}

export function eventRoutes(app: Api, ctx: ServerContext): void {
  app.get(
    '/orders/:id/log/live',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The output of the order’s running job, live, as Server-Sent Events',
        description:
          'Role: viewer. `text/event-stream`. While the order runs a job on this node: first `event: running` with its output so far (as `running` in `GET /orders/{id}/log`), then `event: log` with `{"executionId", "stream": "stdout"|"stderr", "fromChars", "text"}` for its new output: at most one batch per 100 ms, at most 64 Ki characters per stream and batch (the front of a faster job’s surplus is not sent; `fromChars` says where each chunk starts, so a gap shows). The next job of the order starts with a new `running`. Output is text, to be shown as text. Not resumable: a reconnect starts with a fresh `running`. A `: heartbeat` comment every 15 s.',
        tags: ['orders'],
        params: OrderIdParams,
        response: {
          200: { description: 'the output stream', content: { 'text/event-stream': { schema: Type.String() } } },
          ...errors(400, 401, 404),
        },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      if (!ctx.orderly.getOrder(id)) throw notFound(`order ${id} not found`);
      const res = openEventStream(reply);
      const stream = new LogStream(res, () => ctx.streams.delete(stream));
      ctx.streams.add(stream);
      stream.start(ctx.orderly, id, ctx.heartbeatMs);
    },
  );

  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Journal events as Server-Sent Events, resumable',
        description:
          'Role: viewer. `text/event-stream`: `id: <seq>`, `event: <type>`, `data: {"seq", "event"}`. Resume with the `Last-Event-ID` header (wins) or `?after=<seq>` (0: from the start of the journal); without either, from the next event. A `: heartbeat` comment every 15 s.',
        tags: ['events'],
        querystring: Type.Object(
          { after: Type.Optional(Type.Integer({ minimum: 0, errorMessage: 'must be a journal sequence number (whole number ≥ 0)' })) },
          { additionalProperties: false },
        ),
        headers: Type.Object({
          'last-event-id': Type.Optional(Type.String({ pattern: '^\\d{1,15}$', errorMessage: 'must be a journal sequence number' })),
        }),
        response: {
          200: { description: 'the event stream', content: { 'text/event-stream': { schema: Type.String() } } },
          ...errors(400, 401),
        },
      },
    },
    async (req, reply) => {
      const header = req.headers['last-event-id'];
      const lastEventId = typeof header === 'string' && header !== '' ? Number(header) : undefined;
      const after = lastEventId ?? req.query.after ?? ctx.orderly.engine.state.seq;
      const res = openEventStream(reply);
      const stream = new EventStream(res, ctx.orderly, after, ctx.heartbeatMs, () => ctx.streams.delete(stream));
      ctx.streams.add(stream);
      await stream.start();
    },
  );
}
