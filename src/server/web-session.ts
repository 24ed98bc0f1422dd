// Browser sessions of the dashboard: a cookie instead of a bearer header, with CSRF protection.
//
// - `POST /api/v1/session {token}` or `{username, password}` (public) checks the credentials
//   with the AuthService (a token as given; a user through `auth.login`, which makes a login
//   session token) and opens a web session: a random id in the cookie `orderly_session`
//   (HttpOnly, SameSite=Strict, Path=/, Secure over https). The bearer token stays on the
//   server, in memory: a cookie never carries a token.
// - Every request that carries the cookie (and no Authorization header) is authenticated by
//   the token of its session, checked again on each request (a revoked token or a deleted user
//   ends the session at once). A request that may change something (any method but GET, HEAD
//   and OPTIONS) must also send the session's CSRF token in the `x-csrf-token` header (the
//   synchronizer-token pattern); the page reads it from the login answer or GET /session.
// - Sessions live in memory: a restart logs browsers out. There are at most `sessionsMax`
//   (the oldest is dropped); each ends after `idleMs` without a request or `ttlMs` in all.
// - `DELETE /api/v1/session` ends the session (and the login session token behind it).

import { randomBytes, timingSafeEqual } from 'node:crypto';

import { parse as parseCookieHeader, serialize as serializeCookie } from 'cookie';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AuthService, Principal } from './auth.js';
import type { Api } from './context.js';
import { HttpError } from './errors.js';
import { errors } from './schemas.js';

export const SESSION_COOKIE = 'orderly_session';
export const CSRF_HEADER = 'x-csrf-token';
export const WEB_SESSIONS_MAX_DEFAULT = 10_000;
export const WEB_SESSION_IDLE_MS_DEFAULT = 2 * 3600_000;
export const WEB_SESSION_TTL_MS_DEFAULT = 8 * 3600_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const TOKEN_LENGTH_MAX = 1024;

interface WebSession {
  /** The bearer token behind the session (an API token, or a login session token). */
  token: string;
  csrf: string;
  createdAt: number;
  lastUsedAt: number;
  /** A login session token made for this web session: revoked on logout. */
  ownToken: boolean;
}

export interface WebSessionOptions {
  sessionsMax?: number;
  idleMs?: number;
  ttlMs?: number;
  clock?: () => number;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class WebSessions {
  /** Insertion order = creation order (the oldest is dropped first). */
  private readonly sessions = new Map<string, WebSession>();
  readonly sessionsMax: number;
  readonly idleMs: number;
  readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly auth: AuthService,
    opts: WebSessionOptions = {},
  ) {
    this.sessionsMax = opts.sessionsMax ?? WEB_SESSIONS_MAX_DEFAULT;
    this.idleMs = opts.idleMs ?? WEB_SESSION_IDLE_MS_DEFAULT;
    this.ttlMs = opts.ttlMs ?? WEB_SESSION_TTL_MS_DEFAULT;
    this.clock = opts.clock ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Opens a session for a bearer token that authenticates. */
  open(token: string, ownToken: boolean): { id: string; csrf: string; principal: Principal } | undefined {
    const principal = this.auth.authenticate(token);
    if (!principal) return undefined;
    while (this.sessions.size >= this.sessionsMax) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.drop(oldest.value);
    }
    const now = this.clock();
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.sessions.set(id, { token, csrf, createdAt: now, lastUsedAt: now, ownToken });
    return { id, csrf, principal };
  }

  private live(id: string): WebSession | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const now = this.clock();
    if (now - s.lastUsedAt > this.idleMs || now - s.createdAt > this.ttlMs) {
      this.drop(id);
      return undefined;
    }
    return s;
  }

  /** The session's principal and CSRF token, or undefined (unknown, expired, or its token revoked). */
  lookup(id: string): { principal: Principal; csrf: string } | undefined {
    const s = this.live(id);
    if (!s) return undefined;
    const principal = this.auth.authenticate(s.token);
    if (!principal) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastUsedAt = this.clock();
    return { principal, csrf: s.csrf };
  }

  /**
   * The principal of a request that carries the session cookie; throws 401 for an unknown
   * session and 403 when a state-changing request lacks the session's CSRF token.
   */
  authenticate(id: string, method: string, csrfHeader: string | string[] | undefined): Principal {
    const found = this.lookup(id);
    if (!found) throw new HttpError('unauthorized', 'the session has ended: log in again');
    if (!SAFE_METHODS.has(method)) {
      if (typeof csrfHeader !== 'string' || !sameText(csrfHeader, found.csrf)) {
        throw new HttpError('forbidden', `a request that changes something needs the session's CSRF token in the ${CSRF_HEADER} header`);
      }
    }
    return found.principal;
  }

  private drop(id: string): void {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    if (s?.ownToken) {
      const p = this.auth.authenticate(s.token);
      if (p) this.auth.deleteToken(p.tokenId).catch(() => undefined);
    }
  }

  /** Ends a session and revokes the login token made for it. */
  async close(id: string): Promise<void> {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    if (s?.ownToken) {
      const p = this.auth.authenticate(s.token);
      if (p) await this.auth.deleteToken(p.tokenId);
    }
  }
}

const SessionLoginSchema = Type.Union(
  [
    Type.Object({ token: Type.String({ minLength: 1, maxLength: TOKEN_LENGTH_MAX, description: 'an API token (or a login session token)' }) }, { additionalProperties: false }),
    Type.Object(
      { username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
      { additionalProperties: false },
    ),
  ],
  { description: '`{token}` or `{username, password}`' },
);

const SessionReplySchema = Type.Object({
  name: Type.String({ description: 'the token or user name' }),
  role: Type.String(),
  kind: Type.String(),
  user: Type.Optional(Type.String()),
  csrfToken: Type.String({ description: 'send it in the x-csrf-token header with every request that changes something' }),
  idleSeconds: Type.Integer(),
});

function cookieOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined || header === '') return undefined;
  const v = parseCookieHeader(header)[SESSION_COOKIE];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function reply(p: Principal, csrf: string, sessions: WebSessions): Static<typeof SessionReplySchema> {
  return { name: p.name, role: p.role, kind: p.kind, ...(p.user !== undefined ? { user: p.user } : {}), csrfToken: csrf, idleSeconds: Math.floor(sessions.idleMs / 1000) };
}

/**
 * The principal of a request authenticated by its session cookie, or undefined when it has
 * none (then the bearer header decides). Called by the auth hook of app.ts.
 */
export function sessionPrincipal(sessions: WebSessions, req: FastifyRequest): Principal | undefined {
  const id = cookieOf(req);
  if (id === undefined) return undefined;
  return sessions.authenticate(id, req.method, req.headers[CSRF_HEADER]);
}

/** The /api/v1/session routes. */
export function webSessionRoutes(app: Api, auth: AuthService, sessions: WebSessions): void {
  const setCookie = (req: FastifyRequest, res: FastifyReply, id: string): void => {
    void res.header(
      'set-cookie',
      serializeCookie(SESSION_COOKIE, id, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        secure: req.protocol === 'https',
        maxAge: Math.floor(sessions.ttlMs / 1000),
      }),
    );
  };

  app.post(
    '/session',
    {
      config: { public: true },
      schema: {
        summary: 'Open a browser session (cookie) with a token or a user name and password',
        description:
          'Public. Sets the HttpOnly, SameSite=Strict cookie `orderly_session` and answers the session with its `csrfToken`: every later request that changes something must send it in `x-csrf-token`. 401 for unknown credentials (the same for a wrong token, user or password); a user name and password count against the login limits of POST /api/v1/login (429).',
        tags: ['auth'],
        security: [],
        body: SessionLoginSchema,
        response: { 200: SessionReplySchema, ...errors(400, 401, 413, 429) },
      },
    },
    async (req, res) => {
      const body = req.body;
      let token: string;
      let own = false;
      if ('token' in body) {
        token = body.token;
      } else {
        const r = await auth.login(body.username, body.password, req.ip);
        if (!r) throw new HttpError('unauthorized', 'wrong user name or password');
        token = r.access_token;
        own = true;
      }
      const s = sessions.open(token, own);
      if (!s) throw new HttpError('unauthorized', 'unknown or expired token');
      setCookie(req, res, s.id);
      return reply(s.principal, s.csrf, sessions);
    },
  );

  app.get(
    '/session',
    {
      config: { public: true },
      schema: {
        summary: 'The browser session of the cookie sent',
        description: 'Public. The session with its `csrfToken`; 401 without a live session cookie.',
        tags: ['auth'],
        security: [],
        response: { 200: SessionReplySchema, ...errors(401) },
      },
    },
    async (req) => {
      const id = cookieOf(req);
      const found = id !== undefined ? sessions.lookup(id) : undefined;
      if (!found) throw new HttpError('unauthorized', 'no browser session: log in');
      return reply(found.principal, found.csrf, sessions);
    },
  );

  app.delete(
    '/session',
    {
      config: { public: true },
      schema: {
        summary: 'End the browser session (log out)',
        description: 'Needs the session cookie and its `x-csrf-token`. Ends the session and the login session token behind it; clears the cookie. 204.',
        tags: ['auth'],
        security: [],
        response: { 204: Type.Null(), ...errors(401, 403) },
      },
    },
    async (req, res) => {
      const id = cookieOf(req);
      if (id === undefined) throw new HttpError('unauthorized', 'no browser session');
      sessions.authenticate(id, req.method, req.headers[CSRF_HEADER]);
      await sessions.close(id);
      void res.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', expires: new Date(0), maxAge: 0 }));
      return res.status(204).send(null);
    },
  );
}
