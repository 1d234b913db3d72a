/**
 * OAuth API-client management, as a Fastify plugin under /api/v1/clients:
 *   GET    /      (clients:read)   every client, without secrets
 *   POST   /      (clients:write)  {name, scopes[]} -> 201 the client and its secret (shown this once)
 *   DELETE /:id   (clients:write)  revoke: the client's access tokens stop working
 * A caller can only grant scopes it holds itself, and only revoke clients whose scopes it holds
 * itself, so clients:write is no path to admin, nor a way to cut an admin client off.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { ClientScopeError, type ApiAuth } from './auth/api-auth.js';
import { OAuthClientInputError, type OAuthClientInfo } from './auth/client-repository.js';
import { SCOPES, scopesBeyond } from './auth/scopes.js';
import './auth/scope-enforcement.js';
import { docSchema, documentOnly, zodError } from './route-schemas.js';

export interface ClientsRoutesOptions {
  auth: ApiAuth;
  logger: Logger;
}

const createClientBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1),
  })
  .strict();

const clientView = z.object({
  clientId: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: z.string().describe('ISO 8601'),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
const createdView = clientView.extend({ clientSecret: z.string().describe('shown only in this response') });
const errorView = z.object({ error: z.string() });

const jsonSchema = docSchema;
const tags = ['clients'];

function view(client: OAuthClientInfo): z.infer<typeof clientView> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { clientId: client.clientId, name: client.name, scopes: client.scopes, createdAt: new Date(client.createdAt).toISOString(), revokedAt: iso(client.revokedAt), lastUsedAt: iso(client.lastUsedAt) };
}

export async function clientsRoutes(scope: FastifyInstance, opts: ClientsRoutesOptions): Promise<void> {
  const { auth, logger } = opts;
  documentOnly(scope);

  scope.get(
    '/',
    {
      config: { scope: 'clients:read' },
      schema: { tags, summary: 'List OAuth API clients (never their secrets)', response: { 200: jsonSchema(z.object({ clients: z.array(clientView) })) } },
    },
    async () => ({ clients: (await auth.clients.list()).map(view) }),
  );

  scope.post(
    '/',
    {
      config: { scope: 'clients:write' },
      schema: { tags, summary: 'Create an OAuth API client; the secret is returned once', body: jsonSchema(createClientBody), response: { 201: jsonSchema(createdView), 400: jsonSchema(errorView), 403: jsonSchema(errorView) } },
    },
    async (request, reply) => {
      const parsed = createClientBody.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send({ error: zodError(parsed.error) });
      const body = parsed.data;
      const caller = request.principal;
      const beyond = caller ? scopesBeyond(caller.scopes, body.scopes) : [];
      if (beyond.length > 0) return reply.code(403).send({ error: `scopes: cannot grant ${beyond.join(', ')}: the caller does not hold it` });
      try {
        const created = await auth.clients.create(body);
        logger.info({ clientId: created.client.clientId, name: created.client.name, scopes: created.client.scopes, by: caller?.clientId }, 'OAuth API client created');
        return await reply.code(201).header('cache-control', 'no-store').send({ ...view(created.client), clientSecret: created.clientSecret });
      } catch (err) {
        if (err instanceof OAuthClientInputError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    },
  );

  scope.delete<{ Params: { id: string } }>(
    '/:id',
    {
      config: { scope: 'clients:write' },
      schema: {
        tags,
        summary: 'Revoke an OAuth API client (its tokens stop working); only a client whose scopes the caller holds itself',
        response: { 200: jsonSchema(clientView), 403: jsonSchema(errorView), 404: jsonSchema(errorView) },
      },
    },
    async (request, reply) => {
      // Behind scope enforcement there is always a principal; refuse rather than act unchecked if not.
      const caller = request.principal ?? { scopes: [] };
      let revoked: OAuthClientInfo | undefined;
      try {
        revoked = await auth.revokeClient(request.params.id, caller);
      } catch (err) {
        if (!(err instanceof ClientScopeError)) throw err;
        logger.warn({ clientId: err.clientId, missing: err.missing, by: request.principal?.clientId }, 'OAuth API client revocation refused: the client holds scopes the caller does not');
        return reply.code(403).send({ error: `scopes: ${err.message}` });
      }
      if (!revoked) return reply.code(404).send({ error: `id: no API client ${request.params.id}` });
      logger.info({ clientId: revoked.clientId, by: request.principal?.clientId }, 'OAuth API client revoked');
      return view(revoked);
    },
  );
}
