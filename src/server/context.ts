// What the route modules share: the typed Fastify instance, the engine, auth and metrics.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';

import type { Orderly } from '../runtime/orderly.js';
import type { AuthService, Principal, Role } from './auth.js';
import type { ServerMetrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role that may call the route (default viewer). */
    role?: Role;
    /** Answers without a token (health, login). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ServerContext {
  orderly: Orderly;
  auth: AuthService;
  metrics: ServerMetrics;
  version: string;
  startedAt: number;
  /** SSE heartbeat period (ms). */
  heartbeatMs: number;
  /** Open event streams, ended when the server closes. */
  streams: Set<{ end(): void }>;
}

let cachedVersion: string | undefined;

/** The package version (package.json two folders up, from src/server or dist/server). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}
