// Response headers every answer carries, set in one place.
//
// - `X-Content-Type-Options: nosniff`: a browser takes each answer for the type it says.
// - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: an API answer loads
//   nothing and is framed by no page. A route serving a web page gives its own policy.
// - `Cache-Control: no-store`: answers carry live state, and some carry secrets (login, tokens);
//   no cache keeps them. A route serving static files gives its own.
// - `Referrer-Policy: no-referrer`.
//
// A route overrides any of these with `config: { headers: { 'content-security-policy': '…' } }`
// (null leaves the header out), or by setting the header itself in its handler.

import type { FastifyInstance, FastifyReply } from 'fastify';

export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

export const DEFAULT_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': API_CONTENT_SECURITY_POLICY,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Headers of this route's answers over DEFAULT_HEADERS (null: leave one out). */
    headers?: Record<string, string | null>;
  }
}

/** The headers of a route's answers. */
export function headersFor(overrides: Record<string, string | null> | undefined): Record<string, string> {
  const out: Record<string, string> = { ...DEFAULT_HEADERS };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    const name = k.toLowerCase();
    if (v === null) delete out[name];
    else out[name] = v;
  }
  return out;
}

/** Sets the headers on every answer (first hook, so that refusals by later hooks carry them too). */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.headers(headersFor(req.routeOptions.config?.headers));
    done();
  });
}

/** The headers set so far on a reply, for a handler that writes the raw response itself (SSE). */
export function replyHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') out[k] = v;
  return out;
}
