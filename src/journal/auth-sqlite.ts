// The SQLite journal's users and tokens: tables auth_users and auth_tokens of the journal's
// database (created by migration 2 in sqlite.ts, which also moved the JSON lists that meta
// kept before into them). Synchronous inside, like the rest of the SQLite store.

import type Database from 'better-sqlite3';

import type { AuthStore, TokenRow, UserRow } from './auth-store.js';

interface TokenDbRow {
  id: string;
  name: string;
  role: string;
  kind: 'api' | 'session';
  created: string;
  expires: string | null;
  user_name: string | null;
  hash: string;
}

interface UserDbRow {
  name: string;
  role: string;
  created: string;
  scrypt: string;
}

export class SqliteAuthStore implements AuthStore {
  private readonly selectTokens;
  private readonly selectUsers;
  private readonly insertToken;
  private readonly deleteToken;
  private readonly insertUser;
  private readonly deleteUserRow;
  private readonly deleteSessions;
  private readonly changeTx;
  private readonly deleteUserTx;

  constructor(db: Database.Database) {
    this.selectTokens = db.prepare<[], TokenDbRow>('SELECT id, name, role, kind, created, expires, user_name, hash FROM auth_tokens ORDER BY rowid');
    this.selectUsers = db.prepare<[], UserDbRow>('SELECT name, role, created, scrypt FROM auth_users ORDER BY rowid');
    this.insertToken = db.prepare<[TokenDbRow]>(
      'INSERT INTO auth_tokens (id, name, role, kind, created, expires, user_name, hash) VALUES (@id, @name, @role, @kind, @created, @expires, @user_name, @hash)',
    );
    this.deleteToken = db.prepare<[string]>('DELETE FROM auth_tokens WHERE id = ?');
    this.insertUser = db.prepare<[UserDbRow]>('INSERT INTO auth_users (name, role, created, scrypt) VALUES (@name, @role, @created, @scrypt)');
    this.deleteUserRow = db.prepare<[string]>('DELETE FROM auth_users WHERE name = ?');
    this.deleteSessions = db.prepare<[string]>("DELETE FROM auth_tokens WHERE kind = 'session' AND user_name = ?");
    this.changeTx = db.transaction((row: TokenRow | undefined, drop: readonly string[]) => {
      for (const id of drop) this.deleteToken.run(id);
      if (row) {
        this.insertToken.run({
          id: row.id,
          name: row.name,
          role: row.role,
          kind: row.kind,
          created: row.created,
          expires: row.expires ?? null,
          user_name: row.user ?? null,
          hash: row.hash,
        });
      }
    });
    this.deleteUserTx = db.transaction((name: string) => {
      this.deleteSessions.run(name);
      this.deleteUserRow.run(name);
    });
  }

  async loadTokens(): Promise<TokenRow[]> {
    return this.selectTokens.all().map((r) => {
      const t: TokenRow = { id: r.id, name: r.name, role: r.role, kind: r.kind, created: r.created, hash: r.hash };
      if (r.expires !== null) t.expires = r.expires;
      if (r.user_name !== null) t.user = r.user_name;
      return t;
    });
  }

  async loadUsers(): Promise<UserRow[]> {
    return this.selectUsers.all().map((r) => ({ name: r.name, role: r.role, created: r.created, scrypt: JSON.parse(r.scrypt) as UserRow['scrypt'] }));
  }

  async changeTokens(row: TokenRow | undefined, drop: readonly string[]): Promise<void> {
    this.changeTx(row, drop);
  }

  async addUser(row: UserRow): Promise<void> {
    this.insertUser.run({ name: row.name, role: row.role, created: row.created, scrypt: JSON.stringify(row.scrypt) });
  }

  async deleteUser(name: string): Promise<void> {
    this.deleteUserTx(name);
  }
}
