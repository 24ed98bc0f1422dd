// The PostgreSQL journal's users and tokens: tables auth_users and auth_tokens in the journal's
// schema (postgres-schema.sql), the same shapes as SQLite's, so every node sharing the schema
// sees the same users and tokens. `added` keeps the order rows were added in.

import type { Pool } from 'pg';
import { tokenFromDb, tokenToDb, userFromDb, userToDb, type AuthStore, type TokenDbRow, type TokenRow, type UserDbRow, type UserRow } from './auth-store.js';
import type { PgListener } from './postgres-listener.js';

/** PostgreSQL's code for a unique constraint's violation. */
const UNIQUE_VIOLATION = '23505';

export class PostgresAuthStore implements AuthStore {
  constructor(
    private readonly pool: Pool,
    /** The journal's schema, quoted for SQL. */
    private readonly s: string,
    /** Every change is announced here (in its own transaction), for the other nodes. */
    private readonly channel: string,
    private readonly listener: PgListener,
  ) {}

  onChange(fn: () => void): () => void {
    let on = true;
    const call = (): void => {
      if (on) fn();
    };
    this.listener.listen(this.channel, call).catch(() => undefined);
    // Notifications sent while the listener was away are lost: read again.
    this.listener.onReconnect(call);
    return () => {
      on = false;
    };
  }

  async loadTokens(): Promise<TokenRow[]> {
    const { rows } = await this.pool.query<TokenDbRow>(
      `SELECT id, name, role, kind, created, expires, user_name, hash FROM ${this.s}.auth_tokens ORDER BY added`,
    );
    return rows.map(tokenFromDb);
  }

  async loadUsers(): Promise<UserRow[]> {
    const { rows } = await this.pool.query<UserDbRow>(`SELECT name, role, created, scrypt FROM ${this.s}.auth_users ORDER BY added`);
    return rows.map(userFromDb);
  }

  async changeTokens(row: TokenRow | undefined, drop: readonly string[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (drop.length > 0) await client.query(`DELETE FROM ${this.s}.auth_tokens WHERE id = ANY($1::text[])`, [drop]);
      if (row) {
        const t = tokenToDb(row);
        await client.query(
          `INSERT INTO ${this.s}.auth_tokens (id, name, role, kind, created, expires, user_name, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [t.id, t.name, t.role, t.kind, t.created, t.expires, t.user_name, t.hash],
        );
      }
      await client.query('SELECT pg_notify($1, $2)', [this.channel, 'tokens']);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code === UNIQUE_VIOLATION && row) throw new Error(`auth store: token ${row.id} exists`, { cause: err });
      throw err;
    } finally {
      client.release();
    }
  }

  async addUser(row: UserRow): Promise<void> {
    try {
      const u = userToDb(row);
      await this.pool.query(
        `WITH ins AS (INSERT INTO ${this.s}.auth_users (name, role, created, scrypt) VALUES ($1, $2, $3, $4) RETURNING 1)
         SELECT pg_notify($5, 'users') FROM ins`,
        [u.name, u.role, u.created, u.scrypt, this.channel],
      );
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new Error(`auth store: user ${row.name} exists`, { cause: err });
      throw err;
    }
  }

  async deleteUser(name: string): Promise<void> {
    // One statement: the sessions and the user go together.
    await this.pool.query(
      `WITH sessions AS (DELETE FROM ${this.s}.auth_tokens WHERE kind = 'session' AND user_name = $1),
         gone AS (DELETE FROM ${this.s}.auth_users WHERE name = $1)
       SELECT pg_notify($2, 'users')`,
      [name, this.channel],
    );
  }
}
