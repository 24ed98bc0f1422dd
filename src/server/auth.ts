// Authentication and roles of the HTTP API.
//
// - Bearer tokens: `oly_` + 32 random bytes (base64url). Only their SHA-256 is stored, with an
//   id, a name, a role and when it was created (and, for sessions, when it expires).
// - Users: a name, a role and a password hashed with scrypt (random 16-byte salt); a login
//   gives a session token (8 h by default), stored hashed like the others.
// - Roles: viewer (read) < operator (orders) < admin (deploy, locks, tokens, users).
// - Persisted as rows in the journal store's auth part (src/journal/auth-store.ts): a login
//   adds one row. Every change is written before it is answered; a failed write changes nothing.
//   What checking a token needs is kept in memory (one server writes a data dir).
// - Limits: login sessions per user (the oldest ends when a new one would exceed it), API
//   tokens and users in all; login tries per client address and failed tries per user name
//   (429 with Retry-After beyond them, before any password is hashed); and scrypt runs for one
//   login at a time, in libuv's thread pool, so that logins never take both cores from the
//   other requests.

import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

import type { AuthStore, TokenRow, UserRow } from '../journal/auth-store.js';
import { HttpError } from './errors.js';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function roleAtLeast(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export const TOKEN_PREFIX = 'oly_';
export const SESSION_TTL_SECONDS_DEFAULT = 8 * 3600;
/** Name of the admin token that `ORDERLY_ADMIN_TOKEN` provides. */
export const ENV_TOKEN_NAME = 'ORDERLY_ADMIN_TOKEN';
export const GENERATED_TOKEN_NAME = 'bootstrap admin';
const ENV_TOKEN_LENGTH_MIN = 16;
const ENV_TOKEN_LENGTH_MAX = 1024;

type TokenRecord = TokenRow & { role: Role };
type UserRecord = UserRow & { role: Role };

export type TokenInfo = Omit<TokenRecord, 'hash'>;
export type UserInfo = Pick<UserRecord, 'name' | 'role' | 'created'>;

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** `basic`: a user's name and password with the request (Authorization: Basic). */
  kind: 'api' | 'session' | 'basic';
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

function asRole(v: string, what: string): Role {
  if ((ROLES as readonly string[]).includes(v)) return v as Role;
  throw new Error(`data dir: ${what} has an unknown role ${JSON.stringify(v)}; refusing to start`);
}

export const SESSIONS_PER_USER_MAX_DEFAULT = 10;
export const API_TOKENS_MAX = 10_000;
export const USERS_MAX = 10_000;
export const LOGIN_TRIES_PER_ADDRESS_MAX_DEFAULT = 20;
export const LOGIN_ADDRESS_WINDOW_SECONDS = 60;
export const LOGIN_FAILURES_PER_USER_MAX_DEFAULT = 10;
export const LOGIN_USER_WINDOW_SECONDS = 15 * 60;
/** Logins waiting for the scrypt slot beyond the one hashing; more are refused (429). */
export const LOGINS_WAITING_MAX = 32;

export interface AuthOptions {
  /** Lifetime of login sessions (default 8 h). */
  sessionTtlSeconds?: number;
  /** Login sessions of one user at once (default 10); a new login ends the oldest beyond. */
  sessionsPerUserMax?: number;
  /** Login tries from one client address per minute (default 20). */
  loginTriesPerAddressMax?: number;
  /** Failed login tries for one user name per 15 minutes (default 10); a success starts over. */
  loginFailuresPerUserMax?: number;
  clock?: () => number;
}

/** One at a time, with a bounded line: scrypt gets one core, never both. */
class OneAtATime {
  private running = false;
  private readonly line: (() => void)[] = [];
  constructor(private readonly waitingMax: number) {}

  /** Runs `fn` when its turn comes; undefined (and `fn` not run) when the line is full. */
  async run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.running) {
      if (this.line.length >= this.waitingMax) return undefined;
      await new Promise<void>((resolve) => this.line.push(resolve));
    }
    this.running = true;
    try {
      return await fn();
    } finally {
      const next = this.line.shift();
      if (next) next();
      else this.running = false;
    }
  }
}

function tooMany(message: string, msBeforeNext: number): HttpError {
  const e = new HttpError('too-many-requests', message);
  e.retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return e;
}

export class AuthService {
  private tokens = new Map<string, TokenRecord>();
  private users = new Map<string, UserRecord>();
  private byHash = new Map<string, TokenRecord>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly clock: () => number;
  readonly sessionTtlSeconds: number;
  readonly sessionsPerUserMax: number;
  /** A hash to compare against when the user does not exist (same time either way). */
  private readonly dummy = { salt: randomBytes(16), hash: randomBytes(SCRYPT.keylen) };
  private readonly perAddress: RateLimiterMemory;
  private readonly perUser: RateLimiterMemory;
  private readonly loginFailuresPerUserMax: number;
  private readonly hashing = new OneAtATime(LOGINS_WAITING_MAX);
  /** scrypt runs (logins and new users), for tests. */
  hashes = 0;

  private constructor(
    private readonly store: AuthStore,
    tokens: TokenRecord[],
    users: UserRecord[],
    opts: AuthOptions,
  ) {
    for (const t of tokens) this.tokens.set(t.id, t);
    for (const u of users) this.users.set(u.name, u);
    this.clock = opts.clock ?? Date.now;
    this.sessionTtlSeconds = opts.sessionTtlSeconds ?? SESSION_TTL_SECONDS_DEFAULT;
    this.sessionsPerUserMax = opts.sessionsPerUserMax ?? SESSIONS_PER_USER_MAX_DEFAULT;
    this.loginFailuresPerUserMax = opts.loginFailuresPerUserMax ?? LOGIN_FAILURES_PER_USER_MAX_DEFAULT;
    this.perAddress = new RateLimiterMemory({ points: opts.loginTriesPerAddressMax ?? LOGIN_TRIES_PER_ADDRESS_MAX_DEFAULT, duration: LOGIN_ADDRESS_WINDOW_SECONDS });
    this.perUser = new RateLimiterMemory({ points: this.loginFailuresPerUserMax, duration: LOGIN_USER_WINDOW_SECONDS });
    this.index();
  }

  /** Loads tokens and users from the journal store's auth part; expired sessions are deleted. */
  static async open(store: { readonly auth: AuthStore }, opts: AuthOptions = {}): Promise<AuthService> {
    const tokens = (await store.auth.loadTokens()).map((t) => ({ ...t, role: asRole(t.role, `token ${t.id}`) }));
    const users = (await store.auth.loadUsers()).map((u) => ({ ...u, role: asRole(u.role, `user ${u.name}`) }));
    const a = new AuthService(store.auth, tokens, users, opts);
    // Shared with other nodes: what they change is read again here.
    store.auth.onChange?.(() => a.reloadSoon());
    const now = a.clock();
    const expired = tokens.filter((t) => t.kind === 'session' && a.expired(t, now)).map((t) => t.id);
    if (expired.length > 0) await a.changeTokens(undefined, expired);
    return a;
  }

  private reloading = false;
  private reloadAgain = false;

  /** Users and tokens changed elsewhere (another node): read them all again, one read at a time. */
  private reloadSoon(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    void this.serial(() => this.reload())
      .catch(() => undefined)
      .finally(() => {
        this.reloading = false;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          this.reloadSoon();
        }
      });
  }

  private async reload(): Promise<void> {
    const tokens = (await this.store.loadTokens()).map((t) => ({ ...t, role: asRole(t.role, `token ${t.id}`) }));
    const users = (await this.store.loadUsers()).map((u) => ({ ...u, role: asRole(u.role, `user ${u.name}`) }));
    this.tokens = new Map(tokens.map((t) => [t.id, t]));
    this.users = new Map(users.map((u) => [u.name, u]));
    this.index();
  }

  /** Hashes of recently accepted tokens, at most KNOWN_TOKEN_HASHES_MAX (authenticate). */
  private readonly knownHashes = new Map<string, string>();

  private index(): void {
    this.byHash = new Map([...this.tokens.values()].map((t) => [t.hash, t]));
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

  /** Writes a token change (add `row`, delete `drop`), then (only then) uses it. */
  private async changeTokens(row: TokenRecord | undefined, drop: readonly string[]): Promise<void> {
    await this.store.changeTokens(row, drop);
    for (const id of drop) {
      const t = this.tokens.get(id);
      if (t) this.byHash.delete(t.hash);
      this.tokens.delete(id);
    }
    if (row) {
      this.tokens.set(row.id, row);
      this.byHash.set(row.hash, row);
    }
  }

  private apiTokens(): TokenRecord[] {
    return [...this.tokens.values()].filter((t) => t.kind === 'api');
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
      try {
        return await this.bootstrapNow(envToken);
      } catch (err) {
        // Another node sharing the store did the same at the same time: read what it wrote, and judge again.
        if (!this.store.onChange) throw err;
        await this.reload();
        return this.bootstrapNow(envToken);
      }
    });
  }

  private async bootstrapNow(envToken?: string): Promise<{ token?: string }> {
    if (envToken !== undefined && envToken !== '') {
      if (envToken.length < ENV_TOKEN_LENGTH_MIN || envToken.length > ENV_TOKEN_LENGTH_MAX || /\s/.test(envToken)) {
        throw new Error(`${ENV_TOKEN_NAME} must be ${ENV_TOKEN_LENGTH_MIN} to ${ENV_TOKEN_LENGTH_MAX} characters without spaces`);
      }
      const hash = sha256(envToken);
      const existing = this.byHash.get(hash);
      if (existing && existing.role === 'admin' && !this.expired(existing)) return {};
      if (existing) throw new Error(`${ENV_TOKEN_NAME} is already in use by token ${existing.id} (${existing.name}), which is not an admin token`);
      const rec: TokenRecord = { id: newId(), name: ENV_TOKEN_NAME, role: 'admin', kind: 'api', created: new Date(this.clock()).toISOString(), hash };
      await this.changeTokens(rec, this.apiTokens().filter((t) => t.name === ENV_TOKEN_NAME).map((t) => t.id));
      return {};
    }
    if (this.apiTokens().some((t) => t.role === 'admin' && !this.expired(t))) return {};
    const token = newToken();
    const rec: TokenRecord = { id: newId(), name: GENERATED_TOKEN_NAME, role: 'admin', kind: 'api', created: new Date(this.clock()).toISOString(), hash: sha256(token) };
    await this.changeTokens(rec, []);
    return { token };
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
      if (o.name === ENV_TOKEN_NAME) {
        throw new HttpError('invalid', `body.name: ${ENV_TOKEN_NAME} is the name of the token the environment gives`, [{ path: 'body.name', message: `${ENV_TOKEN_NAME} is reserved for the token the environment gives` }]);
      }
      if (this.apiTokens().length >= API_TOKENS_MAX) throw new HttpError('conflict', `there are ${API_TOKENS_MAX} API tokens already (the most): delete some first`);
      const token = newToken();
      const now = this.clock();
      const rec: TokenRecord = { id: newId(), name: o.name, role: o.role, kind: 'api', created: new Date(now).toISOString(), hash: sha256(token) };
      if (o.expiresInSeconds !== undefined) rec.expires = new Date(now + o.expiresInSeconds * 1000).toISOString();
      await this.changeTokens(rec, []);
      return { info: info(rec), token };
    });
  }

  listTokens(): TokenInfo[] {
    const now = this.clock();
    return [...this.tokens.values()].filter((t) => !this.expired(t, now) || t.kind === 'api').map(info);
  }

  /** Refuses to delete the last admin API token that has not expired (nobody could administer). */
  deleteToken(id: string): Promise<void> {
    return this.serial(async () => {
      const t = this.tokens.get(id);
      if (!t) throw new HttpError('not-found', `token ${id} not found`);
      const adminsLeft = this.apiTokens().filter((x) => x.role === 'admin' && !this.expired(x) && x.id !== id);
      if (t.kind === 'api' && t.role === 'admin' && !this.expired(t) && adminsLeft.length === 0) {
        throw new HttpError('conflict', `token ${id} is the last admin token: create another admin token first`);
      }
      await this.changeTokens(undefined, [id]);
    });
  }

  // ------------------------------------------------------------ users and login

  createUser(o: { name: string; password: string; role: Role }): Promise<UserInfo> {
    return this.serial(async () => {
      if (this.users.has(o.name)) throw new HttpError('conflict', `user ${o.name} exists already`);
      if (this.users.size >= USERS_MAX) throw new HttpError('conflict', `there are ${USERS_MAX} users already (the most): delete some first`);
      const salt = randomBytes(16);
      const hash = await this.hash(o.password, salt, SCRYPT);
      if (!hash) throw tooMany('too many logins at once: try again shortly', 1000);
      const rec: UserRecord = {
        name: o.name,
        role: o.role,
        created: new Date(this.clock()).toISOString(),
        scrypt: { salt: salt.toString('base64'), hash: hash.toString('base64'), ...SCRYPT },
      };
      await this.store.addUser(rec);
      this.users.set(rec.name, rec);
      return { name: rec.name, role: rec.role, created: rec.created };
    });
  }

  listUsers(): UserInfo[] {
    return [...this.users.values()].map((u) => ({ name: u.name, role: u.role, created: u.created }));
  }

  /** Deletes the user and ends its sessions (one transaction). */
  deleteUser(name: string): Promise<void> {
    return this.serial(async () => {
      if (!this.users.has(name)) throw new HttpError('not-found', `user ${name} not found`);
      await this.store.deleteUser(name);
      this.users.delete(name);
      for (const t of [...this.tokens.values()]) {
        if (t.kind === 'session' && t.user === name) {
          this.tokens.delete(t.id);
          this.byHash.delete(t.hash);
        }
      }
    });
  }

  /** scrypt in the thread pool, one at a time; undefined when too many wait already. */
  private async hash(password: string, salt: Buffer, o: { N: number; r: number; p: number; keylen: number }): Promise<Buffer | undefined> {
    return this.hashing.run(() => {
      this.hashes++;
      return scrypt(password, salt, o);
    });
  }

  /**
   * The user of a name and password, or undefined. Takes the same time for unknown users.
   * `address` is the client's (limits per address). Throws 429 (HttpError with
   * `retryAfterSeconds`) beyond the limits, before hashing anything. Used by login and by
   * `Authorization: Basic` (actian-auth.ts), so both count against the same limits.
   */
  async checkPassword(username: string, password: string, address?: string): Promise<UserInfo | undefined> {
    const userKey = `u:${username}`;
    const held = await this.perUser.get(userKey);
    if (held !== null && held.consumedPoints >= this.loginFailuresPerUserMax) {
      throw tooMany(`too many failed logins for this user: try again in ${Math.ceil(held.msBeforeNext / 1000)} s`, held.msBeforeNext);
    }
    if (address !== undefined) {
      try {
        await this.perAddress.consume(`a:${address}`);
      } catch (err) {
        if (err instanceof RateLimiterRes) throw tooMany(`too many logins from this address: try again in ${Math.ceil(err.msBeforeNext / 1000)} s`, err.msBeforeNext);
        throw err;
      }
    }
    const user = this.users.get(username);
    const s = user?.scrypt;
    const salt = s ? Buffer.from(s.salt, 'base64') : this.dummy.salt;
    const expected = s ? Buffer.from(s.hash, 'base64') : this.dummy.hash;
    const got = await this.hash(password, salt, s ?? SCRYPT);
    if (!got) throw tooMany('too many logins at once: try again shortly', 1000);
    const ok = got.length === expected.length && timingSafeEqual(got, expected);
    if (!ok || !user) {
      await this.perUser.penalty(userKey, 1);
      return undefined;
    }
    await this.perUser.delete(userKey);
    return { name: user.name, role: user.role, created: user.created };
  }

  /** The user of a name, if it exists (its role as it is now). */
  getUser(username: string): UserInfo | undefined {
    const u = this.users.get(username);
    return u ? { name: u.name, role: u.role, created: u.created } : undefined;
  }

  /**
   * A session token for a user and password, or undefined. Takes the same time for unknown
   * users. Limits as checkPassword.
   */
  async login(username: string, password: string, address?: string): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number } | undefined> {
    if (!(await this.checkPassword(username, password, address))) return undefined;
    return this.serial(async () => {
      // The user may have been deleted meanwhile.
      const still = this.users.get(username);
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
      // Its expired sessions go, and the oldest beyond the bound.
      const sessions = [...this.tokens.values()].filter((t) => t.kind === 'session' && t.user === still.name);
      const drop = sessions.filter((t) => this.expired(t, now)).map((t) => t.id);
      const live = sessions.filter((t) => !this.expired(t, now));
      const over = live.length + 1 - this.sessionsPerUserMax;
      if (over > 0) drop.push(...live.slice(0, over).map((t) => t.id));
      await this.changeTokens(rec, drop);
      return { access_token: token, token_type: 'Bearer' as const, expires_in: this.sessionTtlSeconds };
    });
  }
}
