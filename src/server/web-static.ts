// The dashboard's files (built by Vite from web/ into dist/web) served on the API's port.
//
// - Public (the page itself holds no data; everything it shows comes from the API, which
//   needs a session). Only the files that exist at start are routes (`wildcard: false`), so
//   any other path still gets the API's 401-before-404.
// - Every page answer has a strict Content-Security-Policy: scripts, styles, images and
//   connections only from this server, no inline script, no framing, no plugins.
// - Hashed assets (`/assets/*`) are cached for a year; index.html is never cached.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** From src/server or dist/server: the package's dist/web. */
export const WEB_ROOT_DEFAULT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const YEAR_SECONDS = 365 * 24 * 3600;

export function pageHeaders(path: string): Record<string, string> {
  const h: Record<string, string> = {
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
  h['cache-control'] = /\/assets\//.test(path) ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache';
  return h;
}

/**
 * Serves the dashboard from `root` (default dist/web). Without a build there (`npm run build`
 * makes it), `GET /` answers 503 saying so.
 */
export async function registerDashboard(app: FastifyInstance, root = WEB_ROOT_DEFAULT): Promise<void> {
  await app.register(async (scope) => {
    // The page's routes need no token (the auth hook reads this flag).
    // Their headers: the page's CSP over the API's (headers.ts); caching is set per file below.
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), public: true, headers: { 'content-security-policy': PAGE_CSP, 'cache-control': null } };
    });
    if (!existsSync(`${root}/index.html`)) {
      scope.get('/', async (_req, reply) =>
        reply.status(503).type('text/plain; charset=utf-8').send('The Orderly dashboard is not built: run `npm run build` (the API is under /api/v1).\n'),
      );
      return;
    }
    await scope.register(fastifyStatic, {
      root,
      wildcard: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (res, path) => {
        for (const [k, v] of Object.entries(pageHeaders(path))) void res.header(k, v);
      },
    });
  });
}
