// The SQLite journal's users and tokens: tables auth_users and auth_tokens of the journal's
// database (created by migration 2 in sqlite.ts, which also moved the JSON lists that meta
// kept before into them). Synchronous inside, like the rest of the SQLite store.

import type Database from 'better-sqlite3';

import { tokenFromDb, tokenToDb, userFromDb, userToDb, type AuthStore, type TokenDbRow, type TokenRow, type UserDbRow, type UserRow } from './auth-store.js';

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
        this.insertToken.run(tokenToDb(row));
      }
    });
    this.deleteUserTx = db.transaction((name: string) => {
      this.deleteSessions.run(name);
      this.deleteUserRow.run(name);
    });
  }

  async loadTokens(): Promise<TokenRow[]> {
    return this.selectTokens.all().map(tokenFromDb);
  }

  async loadUsers(): Promise<UserRow[]> {
    return this.selectUsers.all().map(userFromDb);
  }

  async changeTokens(row: TokenRow | undefined, drop: readonly string[]): Promise<void> {
    this.changeTx(row, drop);
  }

  async addUser(row: UserRow): Promise<void> {
    this.insertUser.run(userToDb(row));
  }

  async deleteUser(name: string): Promise<void> {
    this.deleteUserTx(name);
  }
}
