// The client side of the control socket (see control.ts): one request, and the probe that
// tells whether an engine answers on a data dir. Light: node: modules only.

import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';

import type { Reply, StatusInfo } from './control.js';
import { socketAddress } from './data-dir.js';

/** Nothing listens on the socket (missing file, or a stale one). */
export class NotRunning extends Error {
  override name = 'NotRunning';
}

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ENOTDIR']);

/** One request over the socket. Rejects with NotRunning when the connection cannot be made. */
export function requestSocket(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    let connected = false;
    const req = httpRequest(
      {
        socketPath: socketAddress(socketPath),
        method,
        path,
        agent: false,
        headers: {
          connection: 'close',
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolvePromise({ status: res.statusCode ?? 500, body: text.trim() === '' ? undefined : (JSON.parse(text) as unknown) });
          } catch {
            reject(new Error(`the engine on ${socketPath} answered ${res.statusCode ?? '?'} with a body that is not JSON`));
          }
        });
      },
    );
    req.on('socket', (s) => s.once('connect', () => (connected = true)));
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`the engine on ${socketPath} did not answer ${method} ${path} within ${timeoutMs} ms`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code !== undefined && CONNECT_ERRORS.has(err.code)) reject(new NotRunning(`nothing answers on ${socketPath}`));
      else reject(err);
    });
    req.end(payload);
  });
}

/** The status of the engine answering on the socket, or undefined when none does. */
export async function probeEngine(socketPath: string, timeoutMs = 3_000): Promise<StatusInfo | undefined> {
  if (!existsSync(socketPath)) return undefined;
  try {
    const r = await requestSocket(socketPath, 'GET', '/status', undefined, timeoutMs);
    if (r.status === 200) return r.body as StatusInfo;
    throw new Error(`something on ${socketPath} answered /status with ${r.status}`);
  } catch (err) {
    if (err instanceof NotRunning) return undefined;
    throw err;
  }
}
