// Authentication and roles of the HTTP API.
//
// - Bearer tokens: `oly_` + 32 random bytes (base64url). Only their SHA-256 is stored, with an
//   id, a name, a role and when it was created (and, for sessions, when it expires).
// - Users: a name, a role and a password hashed with scrypt (random 16-byte salt); a login
//   gives a session token (8 h by default), stored hashed like the others.
// - Roles: viewer (read) < operator (orders) < admin (deploy, locks, tokens, users).
// - Persisted in the journal store's meta table under `auth.tokens` and `auth.users` (JSON).
//   Every change is written before it is answered; a failed write changes nothing.

import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

import type { JournalStore } from '../journal/types.js';
import { HttpError } from './errors.js';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function roleAtLeast(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export const TOKENS_KEY = 'auth.tokens';
export const USERS_KEY = 'auth.users';
export const TOKEN_PREFIX = 'oly_';
export const SESSION_TTL_SECONDS_DEFAULT = 8 * 3600;
/** Name of the admin token that `ORDERLY_ADMIN_TOKEN` provides. */
export const ENV_TOKEN_NAME = 'ORDERLY_ADMIN_TOKEN';
export const GENERATED_TOKEN_NAME = 'bootstrap admin';
const ENV_TOKEN_LENGTH_MIN = 16;
const ENV_TOKEN_LENGTH_MAX = 1024;

interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  kind: 'api' | 'session';
  /** ISO-8601. */
  created: string;
  expires?: string;
  /** The user a session belongs to. */
  user?: string;
  /** SHA-256 of the token, hex. */
  hash: string;
}

interface UserRecord {
  name: string;
  role: Role;
  created: string;
  scrypt: { salt: string; hash: string; N: number; r: number; p: number; keylen: number };
}

export type TokenInfo = Omit<TokenRecord, 'hash'>;
export type UserInfo = Pick<UserRecord, 'name' | 'role' | 'created'>;

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  kind: 'api' | 'session';
  user?: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 } as const;

function scrypt(password: string, salt: Buffer, o: { N: number; r: number; p: number; keylen: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r };
  return new Promise((resolve, reject) => scryptCb(password, salt, o.keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Recently accepted tokens whose hashes are kept, so a request does not hash its token again. */
const KNOWN_TOKEN_HASHES_MAX = 1024;

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function newId(): string {
  return `tok_${randomBytes(9).toString('base64url')}`;
}

function info(t: TokenRecord): TokenInfo {
  const { hash: _hash, ...rest } = t;
  return rest;
}

type MetaStore = Pick<JournalStore, 'getMeta' | 'setMeta'>;

function parseList<T>(text: string | undefined, key: string): T[] {
  if (text === undefined) return [];
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return v as T[];
  } catch {
    // fall through
  }
  throw new Error(`data dir: meta ${key} is not a JSON list; refusing to start (fix or delete it)`);
}

export interface AuthOptions {
  /** Lifetime of login sessions (default 8 h). */
  sessionTtlSeconds?: number;
  clock?: () => number;
}

export class AuthService {
  private tokens: TokenRecord[];
  private users: UserRecord[];
  private byHash = new Map<string, TokenRecord>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly clock: () => number;
  readonly sessionTtlSeconds: number;
  /** A hash to compare against when the user does not exist (same time either way). */
  private readonly dummy = { salt: randomBytes(16), hash: randomBytes(SCRYPT.keylen) };

  private constructor(
    private readonly store: MetaStore,
    tokens: TokenRecord[],
    users: UserRecord[],
    opts: AuthOptions,
  ) {
    this.tokens = tokens;
    this.users = users;
    this.clock = opts.clock ?? Date.now;
    this.sessionTtlSeconds = opts.sessionTtlSeconds ?? SESSION_TTL_SECONDS_DEFAULT;
    this.index();
  }

  /** Loads tokens and users from the store's meta table. */
  static async open(store: MetaStore, opts: AuthOptions = {}): Promise<AuthService> {
    const tokens = parseList<TokenRecord>(await store.getMeta(TOKENS_KEY), TOKENS_KEY);
    const users = parseList<UserRecord>(await store.getMeta(USERS_KEY), USERS_KEY);
    return new AuthService(store, tokens, users, opts);
  }

  /** Hashes of recently accepted tokens, at most KNOWN_TOKEN_HASHES_MAX (authenticate). */
  private readonly knownHashes = new Map<string, string>();

  private index(): void {
    this.byHash = new Map(this.tokens.map((t) => [t.hash, t]));
  }

  private expired(t: TokenRecord, now = this.clock()): boolean {
    return t.expires !== undefined && Date.parse(t.expires) <= now;
  }

  /** Runs changes one at a time: each reads the state the previous one left. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Writes the new token list, then (only then) uses it. Expired sessions are dropped on the way. */
  private async saveTokens(next: TokenRecord[]): Promise<void> {
    const now = this.clock();
    const kept = next.filter((t) => !(t.kind === 'session' && this.expired(t, now)));
    await this.store.setMeta(TOKENS_KEY, JSON.stringify(kept));
    this.tokens = kept;
    this.index();
  }

  private async saveUsers(next: UserRecord[]): Promise<void> {
    await this.store.setMeta(USERS_KEY, JSON.stringify(next));
    this.users = next;
  }

  // ------------------------------------------------------------ first start

  /**
   * Makes sure an admin can get in. With `envToken` (ORDERLY_ADMIN_TOKEN): its hash is stored
   * as the admin token named ORDERLY_ADMIN_TOKEN (replacing an earlier one of that name, so a
   * changed variable rotates it). Without: if no admin token exists, a random one is created
   * and returned, to be shown once.
   */
  bootstrap(envToken?: string): Promise<{ token?: string }> {
    return this.serial(async () => {
      if (envToken !== undefined && envToken !== '') {
        if (envToken.length < ENV_TOKEN_LENGTH_MIN || envToken.length > ENV_TOKEN_LENGTH_MAX || /\s/.test(envToken)) {
          throw new Error(`${ENV_TOKEN_NAME} must be ${ENV_TOKEN_LENGTH_MIN} to ${ENV_TOKEN_LENGTH_MAX} characters without spaces`);
        }
        const hash = sha256(envToken);
        const existing = this.byHash.get(hash);
        if (existing && existing.role === 'admin' && !this.expired(existing)) return {};
        if (existing) throw new Error(`${ENV_TOKEN_NAME} is already in use by token ${existing.id} (${existing.name}), which is not an admin token`);
        const rec: TokenRecord = { id: newId(), name: ENV_TOKEN_NAME, role: 'admin', kind: 'api', created: new Date(this.clock()).toISOString(), hash };
        await this.saveTokens([...this.tokens.filter((t) => !(t.kind === 'api' && t.name === ENV_TOKEN_NAME)), rec]);
        return {};
      }
      if (this.tokens.some((t) => t.kind === 'api' && t.role === 'admin' && !this.expired(t))) return {};
      const token = newToken();
      const rec: TokenRecord = { id: newId(), name: GENERATED_TOKEN_NAME, role: 'admin', kind: 'api', created: new Date(this.clock()).toISOString(), hash: sha256(token) };
      await this.saveTokens([...this.tokens, rec]);
      return { token };
    });
  }

  // ------------------------------------------------------------ checking

  /** The principal of a bearer token, or undefined (unknown or expired). */
  authenticate(token: string): Principal | undefined {
    // token → hash is a pure function: the hashes of tokens that got in lately are kept (a
    // revoked token's hash is simply no longer in byHash).
    let hash = this.knownHashes.get(token);
    if (hash === undefined) {
      hash = sha256(token);
      if (this.byHash.has(hash)) {
        if (this.knownHashes.size >= KNOWN_TOKEN_HASHES_MAX) this.knownHashes.clear();
        this.knownHashes.set(token, hash);
      }
    }
    const t = this.byHash.get(hash);
    if (!t || this.expired(t)) return undefined;
    const p: Principal = { tokenId: t.id, name: t.name, role: t.role, kind: t.kind };
    if (t.user !== undefined) p.user = t.user;
    return p;
  }

  // ------------------------------------------------------------ tokens

  createToken(o: { name: string; role: Role; expiresInSeconds?: number }): Promise<{ info: TokenInfo; token: string }> {
    return this.serial(async () => {
      const token = newToken();
      const now = this.clock();
      const rec: TokenRecord = { id: newId(), name: o.name, role: o.role, kind: 'api', created: new Date(now).toISOString(), hash: sha256(token) };
      if (o.expiresInSeconds !== undefined) rec.expires = new Date(now + o.expiresInSeconds * 1000).toISOString();
      await this.saveTokens([...this.tokens, rec]);
      return { info: info(rec), token };
    });
  }

  listTokens(): TokenInfo[] {
    const now = this.clock();
    return this.tokens.filter((t) => !this.expired(t, now) || t.kind === 'api').map(info);
  }

  /** Refuses to delete the last admin API token that has not expired (nobody could administer). */
  deleteToken(id: string): Promise<void> {
    return this.serial(async () => {
      const t = this.tokens.find((x) => x.id === id);
      if (!t) throw new HttpError('not-found', `token ${id} not found`);
      const adminsLeft = this.tokens.filter((x) => x.kind === 'api' && x.role === 'admin' && !this.expired(x) && x.id !== id);
      if (t.kind === 'api' && t.role === 'admin' && !this.expired(t) && adminsLeft.length === 0) {
        throw new HttpError('conflict', `token ${id} is the last admin token: create another admin token first`);
      }
      await this.saveTokens(this.tokens.filter((x) => x.id !== id));
    });
  }

  // ------------------------------------------------------------ users and login

  createUser(o: { name: string; password: string; role: Role }): Promise<UserInfo> {
    return this.serial(async () => {
      if (this.users.some((u) => u.name === o.name)) throw new HttpError('conflict', `user ${o.name} exists already`);
      const salt = randomBytes(16);
      const hash = await scrypt(o.password, salt, SCRYPT);
      const rec: UserRecord = {
        name: o.name,
        role: o.role,
        created: new Date(this.clock()).toISOString(),
        scrypt: { salt: salt.toString('base64'), hash: hash.toString('base64'), ...SCRYPT },
      };
      await this.saveUsers([...this.users, rec]);
      return { name: rec.name, role: rec.role, created: rec.created };
    });
  }

  listUsers(): UserInfo[] {
    return this.users.map((u) => ({ name: u.name, role: u.role, created: u.created }));
  }

  /** Deletes the user and ends its sessions. */
  deleteUser(name: string): Promise<void> {
    return this.serial(async () => {
      if (!this.users.some((u) => u.name === name)) throw new HttpError('not-found', `user ${name} not found`);
      // Sessions first: if the second write fails, the user is still there but logged out.
      await this.saveTokens(this.tokens.filter((t) => !(t.kind === 'session' && t.user === name)));
      await this.saveUsers(this.users.filter((u) => u.name !== name));
    });
  }

  /** A session token for a user and password, or undefined. Takes the same time for unknown users. */
  async login(username: string, password: string): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number } | undefined> {
    const user = this.users.find((u) => u.name === username);
    const s = user?.scrypt;
    const salt = s ? Buffer.from(s.salt, 'base64') : this.dummy.salt;
    const expected = s ? Buffer.from(s.hash, 'base64') : this.dummy.hash;
    const got = await scrypt(password, salt, s ?? SCRYPT);
    const ok = got.length === expected.length && timingSafeEqual(got, expected);
    if (!ok || !user) return undefined;
    return this.serial(async () => {
      // The user may have been deleted meanwhile.
      const still = this.users.find((u) => u.name === username);
      if (!still) return undefined;
      const token = newToken();
      const now = this.clock();
      const rec: TokenRecord = {
        id: newId(),
        name: `login ${still.name}`,
        role: still.role,
        kind: 'session',
        user: still.name,
        created: new Date(now).toISOString(),
        expires: new Date(now + this.sessionTtlSeconds * 1000).toISOString(),
        hash: sha256(token),
      };
      await this.saveTokens([...this.tokens, rec]);
      return { access_token: token, token_type: 'Bearer' as const, expires_in: this.sessionTtlSeconds };
    });
  }
}
