import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configRoutes } from '../../src/api/config-routes.js';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { FlowBot } from '../../src/bots/flow/index.js';
import { WebhookBotConnector } from '../../src/bots/webhook/index.js';
import { RuntimeConfig } from '../../src/config/runtime-config.js';
import { configSchema } from '../../src/config/schema.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { bareApp } from '../support/management-api.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { captureLogger, type CapturedLog } from '../support/captured-logger.js';

const SECRET = 'sk-very-secret-0042';
const fileConfig = () =>
  configSchema.parse({
    bots: [
      { name: 'demo', type: 'flow' },
      { name: 'llm-base', isBase: true, type: 'llm', llm: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: SECRET, model: 'small', systemPrompt: 'Be brief.' }, settings: { language: 'en-US', bargeIn: true } },
      { name: 'sales', extends: 'llm-base', settings: { language: 'de-DE' } },
    ],
    routes: [{ number: '*', bot: 'demo' }, { number: '+15550100', bot: 'sales' }],
  });

const info = { callId: 'c-1', carrier: 'plivo', carrierCallId: 'p-1', direction: 'inbound' as const, from: '+1555', to: '+15550999' };

describeOnEachDialect('bots API over the run-time configuration', (ctx) => {
  let app: FastifyInstance;
  let bots: BotDirectory;
  let runtime: RuntimeConfig;
  let lines: CapturedLog[];

  beforeAll(async () => {
    const file = fileConfig();
    const captured = captureLogger();
    lines = captured.lines;
    bots = await BotDirectory.load(file, undefined, {});
    runtime = await RuntimeConfig.open({ file, entries: new ConfigRepository(ctx.store.db), apply: (c) => bots.reload(c), logger: captured.logger });
    app = await bareApp(configRoutes, { config: runtime, logger: captured.logger });
  });
  afterAll(() => app?.close());

  it('GET returns a bot with its base applied; ?raw=true the bot as written', async () => {
    const resolved = await app.inject({ url: '/api/v1/bots/sales' });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json().bot).toMatchObject({ name: 'sales', type: 'llm', isBase: false, llm: { model: 'small' }, settings: { language: 'de-DE', bargeIn: true } });
    const raw = (await app.inject({ url: '/api/v1/bots/sales?raw=true' })).json().bot;
    expect(raw).toEqual({ name: 'sales', isBase: false, extends: 'llm-base', settings: { language: 'de-DE' } });
    const list = (await app.inject({ url: '/api/v1/bots' })).json().bots as { name: string; source: string }[];
    expect(list.map((b) => `${b.name}:${b.source}`)).toEqual(expect.arrayContaining(['demo:file', 'llm-base:file', 'sales:file']));
  });

  it('never returns an inline secret: the base bot and everything extending it show the mask', async () => {
    for (const url of ['/api/v1/bots', '/api/v1/bots/sales', '/api/v1/bots/llm-base?raw=true']) {
      const res = await app.inject({ url });
      expect(res.body).not.toContain(SECRET);
      expect(res.body).toContain('"apiKey":"***"');
    }
  });

  it('a new bot and a route to it are used by the next call; a call already set up keeps its bot', async () => {
    const before = bots.create(bots.route('+15550999').name, info, captureLogger().logger);
    expect(before.connector).toBeInstanceOf(FlowBot);

    const put = await app.inject({ method: 'PUT', url: '/api/v1/bots/support', payload: { type: 'webhook', webhook: { url: 'http://127.0.0.1:9/brain', token: SECRET }, settings: { language: 'fr-FR' } } });
    expect(put.statusCode, put.body).toBe(201);
    expect(put.body).not.toContain(SECRET);
    expect(put.json().bot.webhook.token).toBe('***');
    const route = await app.inject({ method: 'PUT', url: '/api/v1/routes/+15550999', payload: { bot: 'support' } });
    expect(route.statusCode, route.body).toBe(201);

    expect(bots.route('+15550999').name).toBe('support');
    const next = bots.create('support', { ...info, callId: 'c-2' }, captureLogger().logger);
    expect(next.connector).toBeInstanceOf(WebhookBotConnector);
    expect(next.settings.language).toBe('fr-FR');
    expect(before.connector).toBeInstanceOf(FlowBot);
    expect(before.settings.language).not.toBe('fr-FR');
  });

  it('sending the mask back keeps the stored secret; the secret never reaches the logs', async () => {
    const put = await app.inject({ method: 'PUT', url: '/api/v1/bots/support', payload: { type: 'webhook', webhook: { url: 'http://127.0.0.1:9/brain-v2', token: '***' } } });
    expect(put.statusCode, put.body).toBe(200);
    const stored = (await new ConfigRepository(ctx.store.db).list('bot')).find((e) => e.name === 'support')!.body as { webhook: { url: string; token: string } };
    expect(stored.webhook).toEqual({ url: 'http://127.0.0.1:9/brain-v2', token: SECRET });
    expect(JSON.stringify(lines)).not.toContain(SECRET);

    const noSecret = await app.inject({ method: 'PUT', url: '/api/v1/bots/fresh', payload: { type: 'webhook', webhook: { url: 'http://127.0.0.1:9/x', token: '***' } } });
    expect(noSecret.statusCode).toBe(400);
    expect(noSecret.json().error).toMatch(/^webhook\.token: /);
  });

  it('rejects invalid bots naming the field, and stores nothing', async () => {
    const bad = async (name: string, payload: unknown) => {
      const res = await app.inject({ method: 'PUT', url: `/api/v1/bots/${name}`, payload: payload as object });
      expect(res.statusCode).toBe(400);
      return res.json().error as string;
    };
    expect(await bad('x', { type: 'llm', llm: { baseUrl: 'not a url', model: 'm', systemPrompt: 's' } })).toMatch(/^llm\.baseUrl: /);
    expect(await bad('x', { type: 'robot' })).toMatch(/^type: /);
    expect(await bad('x', { type: 'flow', colour: 'red' })).toBe('colour: not a known field');
    expect(await bad('x', { extends: 'nope' })).toBe('bots.x.extends: bot "x" extends unknown bot "nope"');
    expect(await bad('x', { extends: 'demo' })).toMatch(/^bots\.x\.extends: .*not a base bot/);
    expect(await bad('x', { type: 'webhook' })).toMatch(/^bots\.x\.webhook: /);
    expect(await bad('x', { name: 'y', type: 'flow' })).toMatch(/^name: must match the URL/);
    expect(await bad('x', { type: 'llm', llm: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm', systemPrompt: 's', apiKey: { env: 'VOXGATE_TEST_UNSET_KEY' } } })).toContain('VOXGATE_TEST_UNSET_KEY');
    expect((await app.inject({ url: '/api/v1/bots/x' })).statusCode).toBe(404);
    expect(bots.has('x')).toBe(false);
  });

  it('DELETE refuses a bot a route or another bot needs (409), 404s an unknown one, and removes a file bot', async () => {
    const used = await app.inject({ method: 'DELETE', url: '/api/v1/bots/support' });
    expect(used.statusCode).toBe(409);
    expect(used.json().error).toContain('routes.+15550999.bot: unknown bot "support"');
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/bots/llm-base' })).statusCode).toBe(409);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/bots/ghost' })).statusCode).toBe(404);

    await app.inject({ method: 'PUT', url: '/api/v1/routes/+15550100', payload: { bot: 'demo' } });
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/bots/sales' })).statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/bots/sales' })).statusCode).toBe(404);
    expect(bots.has('sales')).toBe(false);

    // A restarted process reads the same configuration back from the store.
    const reopened = await RuntimeConfig.open({ file: fileConfig(), entries: new ConfigRepository(ctx.store.db) });
    expect(reopened.getBot('sales')).toBeUndefined();
    expect(reopened.getBot('support')).toMatchObject({ type: 'webhook', webhook: { url: 'http://127.0.0.1:9/brain-v2', token: '***' } });
    expect(reopened.current.routes).toEqual(expect.arrayContaining([{ number: '+15550999', bot: 'support' }]));
  });
});
