/**
 * Widget-key management, as a Fastify plugin under /api/v1/widget-keys:
 *   GET    /            (widgets:read)   every key, without secrets
 *   POST   /            (widgets:write)  {name, bot, origins[], maxConcurrentCalls?, callsPerMinute?}
 *                                         -> 201 {key, secret} (the secret shown this once)
 *   GET    /:id         (widgets:read)   one key
 *   PATCH  /:id         (widgets:write)  name, bot, origins, limits (the secret stays)
 *   POST   /:id/revoke  (widgets:write)  the key's pages can no longer call
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { widgetKeyCreateSchema, widgetKeyUpdateSchema, WidgetKeyRevokedError, type WidgetKeyInfo, type WidgetKeyRepository } from '../store/widget-key-repository.js';
import './auth/scope-enforcement.js';
import { docSchema, documentOnly, parsedOr400 } from './route-schemas.js';

export interface WidgetKeysRoutesOptions {
  keys: WidgetKeyRepository;
  /** Whether a bot by this name exists (a key must name one). */
  knowsBot: (name: string) => boolean;
  logger: Logger;
}

const keyView = z.object({
  id: z.string(),
  name: z.string(),
  bot: z.string(),
  origins: z.array(z.string()),
  maxConcurrentCalls: z.number().int(),
  callsPerMinute: z.number().int(),
  createdAt: z.string().describe('ISO 8601'),
  updatedAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
const createdView = z.object({ key: keyView, secret: z.string().describe('vxw_<id>.<secret>: shown only in this response') });
const errorView = z.object({ error: z.string() });
const idParams = z.object({ id: z.string().min(1).max(100) });

const tags = ['widget keys'];
const errors = { 400: docSchema(errorView), 403: docSchema(errorView), 404: docSchema(errorView) };

function view(key: WidgetKeyInfo): z.infer<typeof keyView> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...key, createdAt: new Date(key.createdAt).toISOString(), updatedAt: new Date(key.updatedAt).toISOString(), revokedAt: iso(key.revokedAt), lastUsedAt: iso(key.lastUsedAt) };
}

export async function widgetKeysRoutes(scope: FastifyInstance, opts: WidgetKeysRoutesOptions): Promise<void> {
  const { keys, knowsBot, logger } = opts;
  documentOnly(scope);
  const unknownBot = (bot: string) => `bot: no bot named "${bot}"`;
  const unknownKey = (id: string) => `id: no widget key ${id}`;

  scope.get(
    '/',
    { config: { scope: 'widgets:read' }, schema: { tags, summary: 'List widget keys (never their secrets)', response: { 200: docSchema(z.object({ keys: z.array(keyView) })) } } },
    async () => ({ keys: (await keys.list()).map(view) }),
  );

  scope.post(
    '/',
    {
      config: { scope: 'widgets:write' },
      schema: { tags, summary: 'Create a widget key for a website; the secret is returned once', body: docSchema(widgetKeyCreateSchema), response: { 201: docSchema(createdView), ...errors } },
    },
    async (request, reply) => {
      const body = parsedOr400(widgetKeyCreateSchema, request.body, reply);
      if (!body) return reply;
      if (!knowsBot(body.bot)) return reply.code(400).send({ error: unknownBot(body.bot) });
      const created = await keys.create(body);
      logger.info({ keyId: created.key.id, name: created.key.name, bot: created.key.bot, origins: created.key.origins, by: request.principal?.clientId }, 'widget key created');
      return reply.code(201).header('cache-control', 'no-store').send({ key: view(created.key), secret: created.secret });
    },
  );

  scope.get<{ Params: { id: string } }>(
    '/:id',
    { config: { scope: 'widgets:read' }, schema: { tags, summary: 'One widget key (never its secret)', params: docSchema(idParams), response: { 200: docSchema(keyView), 404: docSchema(errorView) } } },
    async (request, reply) => {
      const key = await keys.get(request.params.id);
      return key ? view(key) : reply.code(404).send({ error: unknownKey(request.params.id) });
    },
  );

  scope.patch<{ Params: { id: string } }>(
    '/:id',
    {
      config: { scope: 'widgets:write' },
      schema: { tags, summary: "Change a widget key's name, bot, origins or limits (its secret stays)", params: docSchema(idParams), body: docSchema(widgetKeyUpdateSchema), response: { 200: docSchema(keyView), 409: docSchema(errorView), ...errors } },
    },
    async (request, reply) => {
      const edit = parsedOr400(widgetKeyUpdateSchema, request.body, reply);
      if (!edit) return reply;
      if (edit.bot !== undefined && !knowsBot(edit.bot)) return reply.code(400).send({ error: unknownBot(edit.bot) });
      try {
        const key = await keys.update(request.params.id, edit);
        if (!key) return await reply.code(404).send({ error: unknownKey(request.params.id) });
        logger.info({ keyId: key.id, changed: Object.keys(edit), by: request.principal?.clientId }, 'widget key changed');
        return view(key);
      } catch (err) {
        if (err instanceof WidgetKeyRevokedError) return reply.code(409).send({ error: err.message });
        throw err;
      }
    },
  );

  scope.post<{ Params: { id: string } }>(
    '/:id/revoke',
    { config: { scope: 'widgets:write' }, schema: { tags, summary: "Revoke a widget key: its pages' calls are refused from now on", params: docSchema(idParams), response: { 200: docSchema(keyView), 404: docSchema(errorView) } } },
    async (request, reply) => {
      const key = await keys.revoke(request.params.id);
      if (!key) return reply.code(404).send({ error: unknownKey(request.params.id) });
      logger.info({ keyId: key.id, by: request.principal?.clientId }, 'widget key revoked');
      return view(key);
    },
  );
}
