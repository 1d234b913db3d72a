/**
 * Alarm API, as a Fastify plugin (register with prefix '/api/v1'):
 *   GET  /alarms                      (alarms:read)   active alarms, most recently changed first
 *   GET  /alarms/history?limit&before (alarms:read)   severity changes, newest first, paged by history id
 *   GET  /alarms/stream               (alarms:read)   server-sent events: one `alarm` event per severity change (of every instance, in a cluster)
 *   POST /alarms/:id/clear            (alarms:write)  manual clear of an active alarm
 *   GET  /alarm-rules                 (alarms:read)   every stored rule
 *   GET  /alarm-rules/:type           (alarms:read)   a type's rule (defaults when none is stored)
 *   PUT  /alarm-rules/:type           (alarms:write)  {disabled?, allowedEntities?: string[] | null}
 * Times are epoch milliseconds. Tokens and scopes are checked by the scope-enforcement plugin.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AlarmInputError, type AlarmChange, type AlarmManager } from '../alarms/alarm-manager.js';
import { ALARM_SEVERITIES } from '../alarms/severity.js';
import type { AlarmChangeSource } from '../alarms/service-alarm-changes.js';
import { silentLogger, type Logger } from '../logger.js';
import { docSchema, documentOnly, queryInteger, zodError } from './route-schemas.js';
import './auth/scope-enforcement.js';

export interface AlarmRoutesOptions {
  alarms: AlarmManager;
  /** What the event stream shows: every instance's changes in a cluster. Default: this process's manager. */
  changes?: AlarmChangeSource;
  /** SSE keep-alive comment interval, so proxies do not close an idle stream. Default 25000 ms. */
  streamKeepAliveMs?: number;
  logger?: Logger;
}

const HISTORY_DEFAULT_LIMIT = 50;
const HISTORY_MAX_LIMIT = 500;

const alarmType = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'an alarm type (letters, digits, . _ -, at most 100 characters)');
const entityName = z.string().min(1, 'an entity name').max(200, 'at most 200 characters');

const idParams = z.object({ id: queryInteger(1, Number.MAX_SAFE_INTEGER, 'an active alarm id (positive integer)') });
const typeParams = z.object({ type: alarmType });
const historyQuery = z
  .object({
    limit: queryInteger(1, HISTORY_MAX_LIMIT).optional(),
    before: queryInteger(1, Number.MAX_SAFE_INTEGER, 'a history id (the nextBefore of a previous page)').optional(),
  })
  .strict();
const ruleBody = z
  .object({
    disabled: z.boolean().optional(),
    allowedEntities: z.array(entityName).max(1000).nullable().optional().describe('only these entities raise this type; null = all'),
  })
  .strict()
  .refine((b) => b.disabled !== undefined || b.allowedEntities !== undefined, { message: 'expected disabled and/or allowedEntities' });
const clearBody = z.object({ message: z.string().min(1).max(500).optional() }).strict().optional();

const severity = z.enum(ALARM_SEVERITIES);
const activeView = z.object({ id: z.number(), key: z.string(), type: z.string(), entity: z.string(), severity, message: z.string(), raisedAt: z.number(), updatedAt: z.number() });
const historyView = z.object({ id: z.number(), key: z.string(), type: z.string(), entity: z.string(), severity, message: z.string(), at: z.number() });
const changeView = z.object({ event: z.literal('alarm'), key: z.string(), type: z.string(), entity: z.string(), severity, previousSeverity: severity, message: z.string(), raisedAt: z.number(), at: z.number(), sequence: z.number() });
const ruleView = z.object({ type: z.string(), disabled: z.boolean(), allowedEntities: z.array(z.string()).nullable() });
const errorView = z.object({ error: z.string() });
const tags = ['alarms'];

export async function alarmRoutes(scope: FastifyInstance, opts: AlarmRoutesOptions): Promise<void> {
  const { alarms } = opts;
  const changes = opts.changes ?? alarms;
  const logger = (opts.logger ?? silentLogger()).child({ component: 'alarm-routes' });
  const keepAliveMs = opts.streamKeepAliveMs ?? 25_000;
  documentOnly(scope);
  const streams = new Set<ServerResponse>();
  // Before the server closes: an open event stream would otherwise hold app.close() forever.
  scope.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });

  scope.get(
    '/alarms',
    { config: { scope: 'alarms:read' }, schema: { tags, summary: 'Active alarms', response: { 200: docSchema(z.object({ alarms: z.array(activeView) })) } } },
    async () => ({ alarms: await alarms.active() }),
  );

  scope.get(
    '/alarms/history',
    {
      config: { scope: 'alarms:read' },
      schema: { tags, summary: 'Alarm history (every severity change), newest first', querystring: docSchema(historyQuery), response: { 200: docSchema(z.object({ entries: z.array(historyView), nextBefore: z.number().nullable() })), 400: docSchema(errorView) } },
    },
    async (request, reply) => {
      const parsed = historyQuery.safeParse(request.query);
      if (!parsed.success) return reply.code(400).send({ error: zodError(parsed.error) });
      return alarms.history({ limit: parsed.data.limit ?? HISTORY_DEFAULT_LIMIT, before: parsed.data.before });
    },
  );

  scope.get(
    '/alarms/stream',
    { config: { scope: 'alarms:read' }, schema: { tags, summary: 'Server-sent events: `event: alarm` with the change as JSON data, for each severity change', response: { 200: docSchema(changeView) } } },
    async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(': alarm stream open\n\n');
      const send = (change: AlarmChange) => {
        // The history id doubles as the SSE id, so a reconnecting console can ask the history for what it missed.
        res.write(`id: ${change.sequence}\nevent: alarm\ndata: ${JSON.stringify(change)}\n\n`);
      };
      const off = changes.onChange(send);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
      keepAlive.unref();
      streams.add(res);
      const close = () => {
        off();
        clearInterval(keepAlive);
        streams.delete(res);
      };
      request.raw.once('close', close);
      res.once('error', (err) => {
        logger.debug({ err }, 'alarm stream closed with an error');
        close();
      });
    },
  );

  scope.post(
    '/alarms/:id/clear',
    {
      config: { scope: 'alarms:write' },
      schema: { tags, summary: 'Clear an active alarm by hand (it is raised again if the condition comes back)', params: docSchema(idParams), body: docSchema(z.object({ message: z.string().optional() })), response: { 200: docSchema(changeView), 400: docSchema(errorView), 404: docSchema(errorView) } },
    },
    async (request, reply) => {
      const params = idParams.safeParse(request.params);
      if (!params.success) return reply.code(400).send({ error: zodError(params.error) });
      const body = clearBody.safeParse(request.body ?? undefined);
      if (!body.success) return reply.code(400).send({ error: zodError(body.error) });
      const change = await alarms.clearById(params.data.id, body.data?.message);
      if (!change) return reply.code(404).send({ error: `id: no active alarm ${params.data.id}` });
      return change;
    },
  );

  scope.get(
    '/alarm-rules',
    { config: { scope: 'alarms:read' }, schema: { tags, summary: 'Stored alarm rules (types without one raise for every entity)', response: { 200: docSchema(z.object({ rules: z.array(ruleView) })) } } },
    async () => ({ rules: await alarms.rules() }),
  );

  scope.get(
    '/alarm-rules/:type',
    { config: { scope: 'alarms:read' }, schema: { tags, summary: "An alarm type's rule", params: docSchema(typeParams), response: { 200: docSchema(ruleView), 400: docSchema(errorView) } } },
    async (request, reply) => {
      const params = typeParams.safeParse(request.params);
      if (!params.success) return reply.code(400).send({ error: zodError(params.error) });
      return alarms.rule(params.data.type);
    },
  );

  scope.put(
    '/alarm-rules/:type',
    {
      config: { scope: 'alarms:write' },
      schema: { tags, summary: 'Disable an alarm type or limit it to some entities; active alarms it now suppresses are cleared', params: docSchema(typeParams), body: docSchema(ruleBody), response: { 200: docSchema(ruleView), 400: docSchema(errorView) } },
    },
    async (request, reply) => {
      const params = typeParams.safeParse(request.params);
      if (!params.success) return reply.code(400).send({ error: zodError(params.error) });
      const body = ruleBody.safeParse(request.body);
      if (!body.success) return reply.code(400).send({ error: zodError(body.error) });
      try {
        return await alarms.setRule(params.data.type, body.data);
      } catch (err) {
        if (err instanceof AlarmInputError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    },
  );
}
