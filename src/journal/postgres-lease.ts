// A named lease in PostgreSQL (the `leases` table): one holder at a time, an epoch that every
// new holder raises (a fencing token), renewal, and expiry by the database's clock.
//
// Taking the lease is one statement: it inserts the row or takes it over when it is released or
// expired, and raises the epoch. The holder renews it every `renewEveryMs`; a renewal succeeds
// only while the lease is still its own and unexpired. The holder counts the lease as lost at
// `ttlMs` after it SENT its last successful renewal (its own monotonic clock): the database
// extended the lease from a moment after that, so the holder gives up no later than the
// database lets another take over. A stand-by asks again when the lease expires (the database
// says when), or at once when the holder releases it (a notification).
//
// The lease itself fences nothing: whoever writes under it checks its epoch inside the write's
// own transaction (the PostgreSQL journal's append does, against the `controller` lease).

import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { PgListener } from './postgres-listener.js';
import { Renewal } from './renewal.js';

export const LEASE_TTL_MS_DEFAULT = 8_000;
export const LEASE_TTL_MS_MIN = 200;
export const LEASE_TTL_MS_MAX = 600_000;
export const LEASE_HOLDER_BYTES_MAX = 256;

export interface LeaseRow {
  name: string;
  epoch: number;
  /** The node that holds or last held it. */
  node: string;
  /** Unique per holder (node name + process + random); undefined once released. */
  holder: string | undefined;
  /** When the holder took it (ms since the epoch, the database's clock). */
  since: number;
  renewedAt: number;
  expiresAt: number;
  /** expiresAt minus the database's now, when read: ≤ 0 means free to take. */
  expiresInMs: number;
}

export interface LeaseOptions {
  /** The pool (of the schema's database) and the schema name, quoted for SQL. */
  pool: Pool;
  schemaSql: string;
  /** The notification channel of this schema's leases (released leases are announced on it). */
  channel: string;
  name: string;
  /** This node's name, shown as the holder. */
  node: string;
  ttlMs?: number;
  /** Default ttlMs / 4: three renewals in a row may fail before the lease is lost. */
  renewEveryMs?: number;
  /** Wakes a waiting `acquire` when the lease is released; without it, it waits for expiry. */
  listener?: PgListener;
}

interface RawLease {
  name: string;
  epoch: string;
  node: string;
  holder: string | null;
  since: string;
  renewed_at: string;
  expires_at: string;
  expires_in: string;
}

const LEASE_COLUMNS = `name, epoch, node, holder,
  (extract(epoch FROM since) * 1000)::float8 AS since,
  (extract(epoch FROM renewed_at) * 1000)::float8 AS renewed_at,
  (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at,
  (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in`;

function toLease(r: RawLease): LeaseRow {
  return {
    name: r.name,
    epoch: Number(r.epoch),
    node: r.node,
    holder: r.holder ?? undefined,
    since: Math.round(Number(r.since)),
    renewedAt: Math.round(Number(r.renewed_at)),
    expiresAt: Math.round(Number(r.expires_at)),
    expiresInMs: Number(r.expires_in),
  };
}

/** The lease `name` as it stands, or undefined if nobody ever took it. */
export async function readLease(pool: Pool, schemaSql: string, name: string): Promise<LeaseRow | undefined> {
  const r = await pool.query<RawLease>(`SELECT ${LEASE_COLUMNS} FROM ${schemaSql}.leases WHERE name = $1`, [name]);
  return r.rows[0] && toLease(r.rows[0]);
}

export class LeaseLost extends Error {
  override name = 'LeaseLost';
}

export class Lease {
  readonly name: string;
  readonly node: string;
  /** Unique to this holder: a restarted node with the same name is another holder. */
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  private heldEpoch: number | undefined;
  private heldSince = 0;
  private readonly renewal: Renewal;
  private readonly lostHandlers = new Set<(err: LeaseLost) => void>();
  private closed = false;
  /** Wakes a waiting acquire (a release was announced, or close). */
  private wake: (() => void) | undefined;
  private listening: Promise<void> | undefined;

  constructor(private readonly opts: LeaseOptions) {
    this.name = opts.name;
    this.node = opts.node;
    this.holder = `${opts.node}/${process.pid}/${randomUUID()}`;
    this.ttlMs = opts.ttlMs ?? LEASE_TTL_MS_DEFAULT;
    this.renewEveryMs = opts.renewEveryMs ?? Math.floor(this.ttlMs / 4);
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < LEASE_TTL_MS_MIN || this.ttlMs > LEASE_TTL_MS_MAX) {
      throw new RangeError(`lease ${opts.name}: ttlMs must be a whole number from ${LEASE_TTL_MS_MIN} to ${LEASE_TTL_MS_MAX}, got ${opts.ttlMs}`);
    }
    if (!Number.isInteger(this.renewEveryMs) || this.renewEveryMs < 1 || this.renewEveryMs >= this.ttlMs) {
      throw new RangeError(`lease ${opts.name}: renewEveryMs must be a whole number from 1 to below ttlMs (${this.ttlMs}), got ${opts.renewEveryMs}`);
    }
    if (Buffer.byteLength(this.holder) > LEASE_HOLDER_BYTES_MAX) {
      throw new RangeError(`lease ${opts.name}: node name is longer than ${LEASE_HOLDER_BYTES_MAX - 60} bytes`);
    }
    this.renewal = new Renewal({
      ttlMs: this.ttlMs,
      renewEveryMs: this.renewEveryMs,
      renew: () => this.renew(),
      expired: () => this.lose(`lease ${this.name}: not renewed within ${this.ttlMs} ms`),
    });
  }

  /** The epoch while this holder holds the lease (by its own clock), else undefined. */
  get epoch(): number | undefined {
    return this.heldEpoch;
  }

  get held(): boolean {
    return this.heldEpoch !== undefined;
  }

  /** When this holder took the lease (the database's clock, ms). */
  get since(): number | undefined {
    return this.heldEpoch === undefined ? undefined : this.heldSince;
  }

  /** Called once each time a held lease is lost (not renewed in time, or taken over). Not after release. */
  onLost(fn: (err: LeaseLost) => void): () => void {
    this.lostHandlers.add(fn);
    return () => this.lostHandlers.delete(fn);
  }

  /**
   * Takes the lease if it is free, released or expired, and starts renewing it; returns the
   * new epoch, or undefined with the lease as it stands when another holds it.
   */
  async tryAcquire(): Promise<{ epoch: number } | { heldBy: LeaseRow }> {
    this.checkOpen();
    if (this.heldEpoch !== undefined) return { epoch: this.heldEpoch };
    const sentAt = performance.now();
    const { rows } = await this.opts.pool.query<{ epoch: string; since: string }>(
      `INSERT INTO ${this.opts.schemaSql}.leases AS l (name, epoch, node, holder, since, renewed_at, expires_at)
       VALUES ($1, 1, $2, $3, now(), now(), now() + $4 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE
         SET epoch = l.epoch + 1, node = excluded.node, holder = excluded.holder,
             since = excluded.since, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
         WHERE l.holder IS NULL OR l.expires_at <= now()
       RETURNING epoch, (extract(epoch FROM since) * 1000)::float8 AS since`,
      [this.name, this.node, this.holder, this.ttlMs],
    );
    const row = rows[0];
    if (row) {
      if (this.closed) {
        // Closed while asking: give it back at once.
        await this.releaseEpoch(Number(row.epoch)).catch(() => undefined);
        throw new Error(`lease ${this.name}: closed`);
      }
      this.heldEpoch = Number(row.epoch);
      this.heldSince = Math.round(Number(row.since));
      this.renewed(sentAt);
      return { epoch: this.heldEpoch };
    }
    const now = await readLease(this.opts.pool, this.opts.schemaSql, this.name);
    if (!now) throw new Error(`lease ${this.name}: neither taken nor found`);
    return { heldBy: now };
  }

  /**
   * Waits until this holder has the lease and returns its epoch: when the holder before it
   * releases it (announced by a notification) or when its lease expires (the database says when).
   * Rejects when closed, or with the error of a database that cannot be reached.
   */
  async acquire(): Promise<number> {
    for (;;) {
      const got = await this.tryAcquire();
      if ('epoch' in got) return got.epoch;
      await this.listenForRelease();
      // Ask again a little after the expiry (its clock), or when a release wakes us; never
      // later than a lease's time, in case the holder renewed meanwhile.
      const waitMs = Math.min(Math.max(got.heldBy.expiresInMs, 0) + 20, this.ttlMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
      this.checkOpen();
    }
  }

  /** Renews now; false (and lost) when the lease is no longer this holder's or expired. */
  async renew(): Promise<boolean> {
    const epoch = this.heldEpoch;
    if (epoch === undefined) return false;
    const sentAt = performance.now();
    const { rowCount } = await this.opts.pool.query(
      `UPDATE ${this.opts.schemaSql}.leases
         SET renewed_at = now(), expires_at = now() + $4 * interval '1 millisecond'
       WHERE name = $1 AND epoch = $2 AND holder = $3 AND expires_at > now()`,
      [this.name, epoch, this.holder, this.ttlMs],
    );
    if (this.heldEpoch !== epoch) return false;
    if (rowCount === 1) {
      this.renewed(sentAt);
      return true;
    }
    this.lose(`lease ${this.name}: epoch ${epoch} was taken over or expired before it was renewed`);
    return false;
  }

  /** Gives the lease up (another may take it at once) and stops renewing. */
  async release(): Promise<void> {
    const epoch = this.heldEpoch;
    this.stopHolding();
    if (epoch !== undefined) await this.releaseEpoch(epoch);
  }

  /** Releases a held lease and stops any waiting acquire. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.release();
  }

  private async releaseEpoch(epoch: number): Promise<void> {
    await this.opts.pool.query(
      `WITH r AS (
         UPDATE ${this.opts.schemaSql}.leases SET holder = NULL, expires_at = now()
         WHERE name = $1 AND epoch = $2 AND holder = $3 RETURNING name)
       SELECT pg_notify($4, name) FROM r`,
      [this.name, epoch, this.holder, this.opts.channel],
    );
  }

  private listenForRelease(): Promise<void> {
    const listener = this.opts.listener;
    if (!listener) return Promise.resolve();
    this.listening ??= listener.listen(this.opts.channel, (name) => {
      if (name === this.name) this.wake?.();
    });
    // Without the listener the wait still ends at the expiry.
    return this.listening.catch(() => {
      this.listening = undefined;
    });
  }

  private renewed(sentAt: number): void {
    this.renewal.renewed(sentAt);
  }

  private lose(why: string): void {
    if (this.heldEpoch === undefined) return;
    this.stopHolding();
    const err = new LeaseLost(why);
    for (const f of this.lostHandlers) {
      try {
        f(err);
      } catch {
        // A handler's error is its own.
      }
    }
  }

  private stopHolding(): void {
    this.heldEpoch = undefined;
    this.renewal.stop();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`lease ${this.name}: closed`);
  }
}
