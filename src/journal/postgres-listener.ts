// One connection of its own that LISTENs to PostgreSQL's notifications, for as long as it is
// open: the journal's followers wait on it for new events, and stand-by writers for a released
// lease, instead of asking the database again and again. A notification is only delivered to a
// connection that was listening when it was sent, so after a reconnect the `onReconnect`
// handlers run: whatever they wait for may have happened meanwhile, and they read it again.

import { Client, escapeIdentifier, type ClientConfig, type Notification } from 'pg';

/** Waits between connection attempts: from this, doubling, up to RECONNECT_MAX_MS. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export class PgListener {
  private client: Client | undefined;
  /** Resolves once the current connection listens to every channel asked for so far. */
  private ready: Promise<void> | undefined;
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private closed = false;
  private waitMs = RECONNECT_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedOnce = false;

  constructor(private readonly config: ClientConfig) {}

  /**
   * Calls `onNotify` with each notification's payload on `channel`. Resolves once LISTEN is in
   * force, so that anything sent after that is seen; rejects if the database cannot be reached
   * now (the listener keeps trying in the background).
   */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<void> {
    if (this.closed) throw new Error('journal: the PostgreSQL listener is closed');
    let handlers = this.channels.get(channel);
    const fresh = !handlers;
    if (!handlers) this.channels.set(channel, (handlers = new Set()));
    handlers.add(onNotify);
    if (!this.ready) {
      this.connect();
      await this.ready;
      return;
    }
    await this.ready;
    const client = this.client;
    if (fresh && client) await client.query(`LISTEN ${escapeIdentifier(channel)}`);
  }

  /** After a reconnect: notifications sent while the listener was away are lost, read again. */
  onReconnect(fn: () => void): void {
    this.reconnectHandlers.add(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private connect(): void {
    const client = new Client(this.config);
    this.client = client;
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', fail);
    client.on('end', fail);
    client.on('notification', (msg: Notification) => {
      const handlers = this.channels.get(msg.channel);
      if (handlers) for (const h of handlers) h(msg.payload ?? '');
    });
    this.ready = (async () => {
      try {
        await client.connect();
        for (const channel of this.channels.keys()) await client.query(`LISTEN ${escapeIdentifier(channel)}`);
      } catch (err) {
        fail();
        throw err;
      }
      this.waitMs = RECONNECT_MIN_MS;
      if (this.connectedOnce) for (const h of this.reconnectHandlers) h();
      this.connectedOnce = true;
    })();
    // A failed attempt is retried by itself; who awaits `ready` sees the error.
    this.ready.catch(() => undefined);
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.connect();
    }, this.waitMs);
    this.retryTimer.unref();
    this.waitMs = Math.min(this.waitMs * 2, RECONNECT_MAX_MS);
  }
}
