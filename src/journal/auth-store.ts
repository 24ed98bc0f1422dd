// Users and tokens of the HTTP API, as rows: one row per user, one per token (API token or
// login session). A login adds one row and removes a few; nothing is rewritten as a whole.
//
// Each journal store has one (`JournalStore.auth`): in memory, in SQLite (tables auth_users and
// auth_tokens of the journal's database, see sqlite-schema.sql), and in PostgreSQL with the
// same two tables in the journal's schema (auth-postgres.ts), shared by every node. The server keeps what it needs to check a token in memory (auth.ts);
// every change is written here first, and only then used.

/** A token as stored: never the token itself, only its SHA-256. */
export interface TokenRow {
  id: string;
  name: string;
  /** viewer | operator | admin */
  role: string;
  kind: 'api' | 'session';
  /** ISO-8601. */
  created: string;
  expires?: string;
  /** The user a session belongs to. */
  user?: string;
  /** SHA-256 of the token, hex. */
  hash: string;
}

export interface ScryptParams {
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
  N: number;
  r: number;
  p: number;
  keylen: number;
}

export interface UserRow {
  name: string;
  role: string;
  created: string;
  scrypt: ScryptParams;
}

export interface AuthStore {
  /** Every token, oldest first. */
  loadTokens(): Promise<TokenRow[]>;
  /** Every user, oldest first. */
  loadUsers(): Promise<UserRow[]>;
  /** Adds `row` (when given) and deletes the tokens `drop` (ids), in one transaction. */
  changeTokens(row: TokenRow | undefined, drop: readonly string[]): Promise<void>;
  /** Adds a user; refuses (throws) a name that exists. */
  addUser(row: UserRow): Promise<void>;
  /** Deletes a user and its sessions in one transaction. */
  deleteUser(name: string): Promise<void>;
  /**
   * A store shared by several nodes (PostgreSQL): calls `listener` whenever users or tokens may
   * have changed elsewhere (or a change may have been missed): read them again. Returns the
   * unsubscribe.
   */
  onChange?(listener: () => void): () => void;
}

/** A token as a table row (auth_tokens, the same columns in SQLite and PostgreSQL). */
export interface TokenDbRow {
  id: string;
  name: string;
  role: string;
  kind: 'api' | 'session';
  created: string;
  expires: string | null;
  user_name: string | null;
  hash: string;
}

/** A user as a table row (auth_users): the scrypt parameters as JSON. */
export interface UserDbRow {
  name: string;
  role: string;
  created: string;
  scrypt: string;
}

export function tokenFromDb(r: TokenDbRow): TokenRow {
  const t: TokenRow = { id: r.id, name: r.name, role: r.role, kind: r.kind, created: r.created, hash: r.hash };
  if (r.expires !== null) t.expires = r.expires;
  if (r.user_name !== null) t.user = r.user_name;
  return t;
}

export function tokenToDb(t: TokenRow): TokenDbRow {
  return { id: t.id, name: t.name, role: t.role, kind: t.kind, created: t.created, expires: t.expires ?? null, user_name: t.user ?? null, hash: t.hash };
}

export function userFromDb(r: UserDbRow): UserRow {
  return { name: r.name, role: r.role, created: r.created, scrypt: JSON.parse(r.scrypt) as ScryptParams };
}

export function userToDb(u: UserRow): UserDbRow {
  return { name: u.name, role: u.role, created: u.created, scrypt: JSON.stringify(u.scrypt) };
}

/** Meta keys under which users and tokens were kept as JSON lists before they were rows. */
export const LEGACY_TOKENS_KEY = 'auth.tokens';
export const LEGACY_USERS_KEY = 'auth.users';

/** The in-memory store's part: rows in insertion order. */
export class MemoryAuthStore implements AuthStore {
  private readonly tokens = new Map<string, TokenRow>();
  private readonly users = new Map<string, UserRow>();

  async loadTokens(): Promise<TokenRow[]> {
    return [...this.tokens.values()].map((t) => ({ ...t }));
  }

  async loadUsers(): Promise<UserRow[]> {
    return [...this.users.values()].map((u) => ({ ...u, scrypt: { ...u.scrypt } }));
  }

  async changeTokens(row: TokenRow | undefined, drop: readonly string[]): Promise<void> {
    if (row && this.tokens.has(row.id)) throw new Error(`auth store: token ${row.id} exists`);
    for (const id of drop) this.tokens.delete(id);
    if (row) this.tokens.set(row.id, { ...row });
  }

  async addUser(row: UserRow): Promise<void> {
    if (this.users.has(row.name)) throw new Error(`auth store: user ${row.name} exists`);
    this.users.set(row.name, { ...row, scrypt: { ...row.scrypt } });
  }

  async deleteUser(name: string): Promise<void> {
    this.users.delete(name);
    for (const [id, t] of this.tokens) if (t.kind === 'session' && t.user === name) this.tokens.delete(id);
  }
}
