// Login, tokens and users.

import { Type } from '@sinclair/typebox';

import { HttpError } from '../errors.js';
import type { Api, ServerContext } from '../context.js';
import {
  errors,
  LoginReplySchema,
  LoginSchema,
  TokenCreatedSchema,
  TokenCreateSchema,
  TokenIdParams,
  TokenInfoSchema,
  UserCreateSchema,
  UserInfoSchema,
  UserParams,
} from '../schemas.js';

const NoContent = Type.Null({ description: 'done (no content)' });

export function authRoutes(app: Api, { auth }: ServerContext): void {
  app.post(
    '/login',
    {
      config: { public: true },
      schema: {
        summary: 'Log in with a user name and password: a session token',
        description: 'Public. Answers 401 for a wrong user name or password (the same either way). 429 with Retry-After beyond 20 tries per minute from one address or 10 failed tries per 15 minutes for one user name. A user has at most 10 sessions: a new login ends the oldest beyond. The answer is not cached (`Cache-Control: no-store`).',
        tags: ['auth'],
        security: [],
        body: LoginSchema,
        response: { 200: LoginReplySchema, ...errors(400, 401, 413, 429) },
      },
    },
    async (req) => {
      const r = await auth.login(req.body.username, req.body.password, req.ip);
      if (!r) throw new HttpError('unauthorized', 'wrong user name or password');
      return r;
    },
  );

  app.post(
    '/logout',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'End the session of the token used (login sessions only)',
        description: 'Role: viewer. 409 state for an API token: delete those with DELETE /tokens/{id}.',
        tags: ['auth'],
        response: { 204: NoContent, ...errors(401, 409) },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      if (p.kind !== 'session') throw new HttpError('state', 'not a login session: delete API tokens with DELETE /api/v1/tokens/{id}');
      await auth.deleteToken(p.tokenId);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Who the token belongs to',
        description: 'Role: viewer.',
        tags: ['auth'],
        response: {
          200: Type.Object({ tokenId: Type.String(), name: Type.String(), role: Type.String(), kind: Type.String(), user: Type.Optional(Type.String()) }),
          ...errors(401),
        },
      },
    },
    async (req) => req.principal!,
  );

  app.post(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create an API token (shown once)',
        description: 'Role: admin. Only the SHA-256 of the token is stored.',
        tags: ['auth'],
        body: TokenCreateSchema,
        response: { 201: TokenCreatedSchema, ...errors(400, 401, 403, 413) },
      },
    },
    async (req, reply) => {
      const o: { name: string; role: typeof req.body.role; expiresInSeconds?: number } = { name: req.body.name, role: req.body.role };
      if (req.body.expiresInSeconds !== undefined) o.expiresInSeconds = req.body.expiresInSeconds;
      const { info, token } = await auth.createToken(o);
      return reply.status(201).send({ ...info, token });
    },
  );

  app.get(
    '/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'List tokens (without the secrets) and login sessions',
        description: 'Role: admin.',
        tags: ['auth'],
        response: { 200: Type.Object({ tokens: Type.Array(TokenInfoSchema) }), ...errors(401, 403) },
      },
    },
    async () => ({ tokens: auth.listTokens() }),
  );

  app.delete(
    '/tokens/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete (revoke) a token or session',
        description: 'Role: admin. 409 conflict for the last admin API token.',
        tags: ['auth'],
        params: TokenIdParams,
        response: { 204: NoContent, ...errors(401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      await auth.deleteToken(req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/users',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a user who can log in',
        description: 'Role: admin. The password (8 to 1024 characters) is stored as an scrypt hash with a random salt. 409 conflict when the user exists.',
        tags: ['auth'],
        body: UserCreateSchema,
        response: { 201: UserInfoSchema, ...errors(400, 401, 403, 409, 413) },
      },
    },
    async (req, reply) => reply.status(201).send(await auth.createUser(req.body)),
  );

  app.get(
    '/users',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'List users',
        description: 'Role: admin.',
        tags: ['auth'],
        response: { 200: Type.Object({ users: Type.Array(UserInfoSchema) }), ...errors(401, 403) },
      },
    },
    async () => ({ users: auth.listUsers() }),
  );

  app.delete(
    '/users/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Delete a user and end its sessions',
        description: 'Role: admin.',
        tags: ['auth'],
        params: UserParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await auth.deleteUser(req.params.name);
      return reply.status(204).send(null);
    },
  );
}
