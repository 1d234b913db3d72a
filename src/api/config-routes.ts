/**
 * Configuration edited at run time, a Fastify plugin mounted at /api/v1:
 *   GET    /bots                 every bot, resolved (inheritance applied) and as stored (bots:read)
 *   GET    /bots/:name[?raw=true] one bot, resolved unless raw (bots:read)
 *   PUT    /bots/:name           create or replace (bots:write); DELETE /bots/:name
 *   GET    /routes, /routes/:number; PUT, DELETE /routes/:number   (routes:read / routes:write)
 *   GET    /providers/:section   stt | tts | google (providers:read); PUT, DELETE (providers:write)
 * Changes are validated as a whole configuration and apply to the next calls; inline secrets are
 * returned as "***", and sending "***" back keeps the stored secret.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { PROVIDER_SECTIONS, RuntimeConfigError, type ProviderSection, type RuntimeConfig } from '../config/runtime-config.js';
import { botSchema, routeSchema } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { docSchema, documentOnly, parsedOr400, zodError } from './route-schemas.js';

export interface ConfigRoutesOptions {
  config: RuntimeConfig;
  logger: Logger;
}

const nameParams = z.object({ name: z.string().min(1) }).strict();
const numberParams = z.object({ number: z.string().min(1) }).strict();
const sectionParams = z.object({ section: z.enum(PROVIDER_SECTIONS) }).strict();
const botQuery = z.object({ raw: z.enum(['true', 'false']).optional() }).strict();

async function rejected(reply: FastifyReply, err: unknown) {
  if (err instanceof RuntimeConfigError) return reply.code(err.status).send({ error: err.message });
  throw err;
}

export async function configRoutes(scope: FastifyInstance, opts: ConfigRoutesOptions): Promise<void> {
  const { config } = opts;
  documentOnly(scope);

  // --- bots ---
  const bots = { tags: ['bots'] };
  scope.get('/bots', { config: { scope: 'bots:read' }, schema: { ...bots, summary: 'Every bot: resolved (base bots applied) and as stored; secrets masked' } }, async () => ({
    bots: config.listBots().map(({ bot, resolved, source }) => ({ name: bot.name, source, bot: resolved, raw: bot })),
  }));

  scope.get('/bots/:name', { config: { scope: 'bots:read' }, schema: { ...bots, summary: 'One bot, resolved unless ?raw=true', params: docSchema(nameParams), querystring: docSchema(botQuery) } }, async (request, reply) => {
    const params = parsedOr400(nameParams, request.params, reply);
    if (!params) return reply;
    const { name } = params;
    const query = botQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send({ error: zodError(query.error) });
    const bot = config.getBot(name, query.data.raw === 'true');
    if (!bot) return reply.code(404).send({ error: `name: no bot named "${name}"` });
    return { bot, source: config.sourceOf('bot', name) };
  });

  scope.put('/bots/:name', { config: { scope: 'bots:write' }, schema: { ...bots, summary: 'Create or replace a bot (applies to new calls)', params: docSchema(nameParams), body: docSchema(botSchema) } }, async (request, reply) => {
    const params = parsedOr400(nameParams, request.params, reply);
    if (!params) return reply;
    const { name } = params;
    try {
      const { created, bot } = await config.putBot(name, request.body);
      return reply.code(created ? 201 : 200).send({ bot, resolved: config.getBot(name) });
    } catch (err) {
      return rejected(reply, err);
    }
  });

  scope.delete('/bots/:name', { config: { scope: 'bots:write' }, schema: { ...bots, summary: 'Delete a bot (refused while a route or bot uses it)', params: docSchema(nameParams) } }, async (request, reply) => {
    const params = parsedOr400(nameParams, request.params, reply);
    if (!params) return reply;
    const { name } = params;
    try {
      await config.deleteBot(name);
      return reply.code(204).send();
    } catch (err) {
      return rejected(reply, err);
    }
  });

  // --- routes ---
  const routes = { tags: ['routes'] };
  scope.get('/routes', { config: { scope: 'routes:read' }, schema: { ...routes, summary: 'Routes from called numbers to bots' } }, async () => ({
    routes: config.listRoutes().map(({ route, source }) => ({ ...route, source })),
  }));

  scope.get('/routes/:number', { config: { scope: 'routes:read' }, schema: { ...routes, summary: 'One route ("*" is the catch-all)', params: docSchema(numberParams) } }, async (request, reply) => {
    const params = parsedOr400(numberParams, request.params, reply);
    if (!params) return reply;
    const { number } = params;
    const route = config.getRoute(number);
    if (!route) return reply.code(404).send({ error: `number: no route for "${number}"` });
    return { ...route, source: config.sourceOf('route', number) };
  });

  scope.put('/routes/:number', { config: { scope: 'routes:write' }, schema: { ...routes, summary: 'Create or replace a route (applies to new calls)', params: docSchema(numberParams), body: docSchema(routeSchema) } }, async (request, reply) => {
    const params = parsedOr400(numberParams, request.params, reply);
    if (!params) return reply;
    const { number } = params;
    try {
      const { created, route } = await config.putRoute(number, request.body);
      return reply.code(created ? 201 : 200).send(route);
    } catch (err) {
      return rejected(reply, err);
    }
  });

  scope.delete('/routes/:number', { config: { scope: 'routes:write' }, schema: { ...routes, summary: 'Delete a route', params: docSchema(numberParams) } }, async (request, reply) => {
    const params = parsedOr400(numberParams, request.params, reply);
    if (!params) return reply;
    const { number } = params;
    try {
      await config.deleteRoute(number);
      return reply.code(204).send();
    } catch (err) {
      return rejected(reply, err);
    }
  });

  // --- providers ---
  const providers = { tags: ['providers'] };
  const section = (params: unknown, reply: FastifyReply): ProviderSection | undefined => {
    const parsed = sectionParams.safeParse(params);
    if (parsed.success) return parsed.data.section;
    void reply.code(404).send({ error: `section: expected one of ${PROVIDER_SECTIONS.join(', ')}` });
    return undefined;
  };

  scope.get('/providers/:section', { config: { scope: 'providers:read' }, schema: { ...providers, summary: 'A provider section (stt, tts, google); secrets masked', params: docSchema(sectionParams) } }, async (request, reply) => {
    const name = section(request.params, reply);
    if (!name) return reply;
    const body = config.getProvider(name);
    if (body === undefined) return reply.code(404).send({ error: `section: ${name} is not configured` });
    return { [name]: body, source: config.sourceOf('provider', name) };
  });

  scope.put('/providers/:section', { config: { scope: 'providers:write' }, schema: { ...providers, summary: 'Replace a provider section; "***" keeps a stored secret', params: docSchema(sectionParams) } }, async (request, reply) => {
    const name = section(request.params, reply);
    if (!name) return reply;
    try {
      return { [name]: await config.putProvider(name, request.body), source: 'api' };
    } catch (err) {
      return rejected(reply, err);
    }
  });

  scope.delete('/providers/:section', { config: { scope: 'providers:write' }, schema: { ...providers, summary: 'Forget the API change: the configuration file applies again', params: docSchema(sectionParams) } }, async (request, reply) => {
    const name = section(request.params, reply);
    if (!name) return reply;
    try {
      if (!(await config.resetProvider(name))) return reply.code(404).send({ error: `section: ${name} has no change made through the API` });
      return reply.code(204).send();
    } catch (err) {
      return rejected(reply, err);
    }
  });
}
