import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configRoutes } from '../../src/api/config-routes.js';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { RuntimeConfig } from '../../src/config/runtime-config.js';
import { configSchema } from '../../src/config/schema.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { bareApp } from '../support/management-api.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';
import { captureLogger, type CapturedLog } from '../support/captured-logger.js';

const DEEPGRAM_KEY = 'dg-key-from-the-file-123';
const ELEVEN_KEY = 'xi-api-key-sent-by-put-456';

describeOnEachDialect('routes and provider sections over the run-time configuration', (ctx) => {
  let app: FastifyInstance;
  let bots: BotDirectory;
  let runtime: RuntimeConfig;
  let lines: CapturedLog[];
  const changes: string[] = [];

  beforeAll(async () => {
    const file = configSchema.parse({
      bots: [{ name: 'demo', type: 'flow' }, { name: 'sales', type: 'flow' }, { name: 'tmpl', isBase: true, type: 'flow' }],
      routes: [{ number: '*', bot: 'demo' }],
      stt: { provider: 'deepgram', deepgram: { apiKey: DEEPGRAM_KEY } },
      tts: { provider: 'espeak' },
    });
    const captured = captureLogger();
    lines = captured.lines;
    bots = await BotDirectory.load(file, undefined, {});
    runtime = await RuntimeConfig.open({ file, entries: new ConfigRepository(ctx.store.db), apply: (c) => bots.reload(c), logger: captured.logger });
    runtime.onChange((c) => changes.push(c.tts.provider));
    app = await bareApp(configRoutes, { config: runtime, logger: captured.logger });
  });
  afterAll(() => app?.close());

  it('routes: create, read, list, replace and delete; the next call follows them', async () => {
    expect(bots.route('+15557777').name).toBe('demo');
    const created = await app.inject({ method: 'PUT', url: '/api/v1/routes/+15557777', payload: { bot: 'sales' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ number: '+15557777', bot: 'sales' });
    expect(bots.route('15557777').name).toBe('sales');
    expect((await app.inject({ url: '/api/v1/routes/+15557777' })).json()).toEqual({ number: '+15557777', bot: 'sales', source: 'api' });
    expect((await app.inject({ url: '/api/v1/routes' })).json().routes).toEqual([{ number: '*', bot: 'demo', source: 'file' }, { number: '+15557777', bot: 'sales', source: 'api' }]);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/routes/*', payload: { number: '*', bot: 'sales' } })).statusCode).toBe(200);
    expect(bots.route('+19990000').name).toBe('sales');
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/routes/+15557777' })).statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/routes/+15557777' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/routes/+15557777' })).statusCode).toBe(404);
    expect(bots.route('+15557777').name).toBe('sales');
  });

  it('routes: a target must be a known bot that answers calls', async () => {
    const unknown = await app.inject({ method: 'PUT', url: '/api/v1/routes/+15558888', payload: { bot: 'nobody' } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatch(/^routes\.\+15558888\.bot: unknown bot "nobody"/);
    const base = await app.inject({ method: 'PUT', url: '/api/v1/routes/+15558888', payload: { bot: 'tmpl' } });
    expect(base.json().error).toMatch(/^routes\.\+15558888\.bot: "tmpl" is a base bot/);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/routes/+15558888', payload: {} })).json().error).toMatch(/^bot: /);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/routes/+15558888', payload: { bot: 'demo', via: 'x' } })).json().error).toBe('via: not a known field');
  });

  it('providers: read masked, replace (the mask keeps a stored secret), reset to the file', async () => {
    const stt = await app.inject({ url: '/api/v1/providers/stt' });
    expect(stt.statusCode).toBe(200);
    expect(stt.json()).toEqual({ stt: { provider: 'deepgram', deepgram: { apiKey: '***' } }, source: 'file' });

    const put = await app.inject({ method: 'PUT', url: '/api/v1/providers/tts', payload: { provider: 'elevenlabs', elevenlabs: { apiKey: ELEVEN_KEY, voiceId: 'voice-1' } } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.body).not.toContain(ELEVEN_KEY);
    expect(put.json().tts).toMatchObject({ provider: 'elevenlabs', elevenlabs: { apiKey: '***', voiceId: 'voice-1' } });
    expect(runtime.current.tts.elevenlabs?.apiKey).toBe(ELEVEN_KEY);
    expect(changes).toContain('elevenlabs');

    const again = await app.inject({ method: 'PUT', url: '/api/v1/providers/tts', payload: { provider: 'elevenlabs', elevenlabs: { apiKey: '***', voiceId: 'voice-2' } } });
    expect(again.statusCode).toBe(200);
    expect(runtime.current.tts.elevenlabs).toMatchObject({ apiKey: ELEVEN_KEY, voiceId: 'voice-2' });
    // The file's secret is kept the same way.
    await app.inject({ method: 'PUT', url: '/api/v1/providers/stt', payload: { provider: 'deepgram', deepgram: { apiKey: '***', model: 'nova-3' } } });
    expect(runtime.current.stt.deepgram).toEqual({ apiKey: DEEPGRAM_KEY, model: 'nova-3' });

    for (const url of ['/api/v1/providers/tts', '/api/v1/providers/stt']) {
      const body = (await app.inject({ url })).body;
      expect(body).not.toContain(ELEVEN_KEY);
      expect(body).not.toContain(DEEPGRAM_KEY);
    }
    expect(JSON.stringify(lines)).not.toContain(ELEVEN_KEY);

    expect((await app.inject({ method: 'DELETE', url: '/api/v1/providers/tts' })).statusCode).toBe(204);
    expect(runtime.current.tts.provider).toBe('espeak');
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/providers/tts' })).statusCode).toBe(404);
  });

  it('providers: invalid sections are rejected naming the field; unknown sections 404', async () => {
    const missing = await app.inject({ method: 'PUT', url: '/api/v1/providers/tts', payload: { provider: 'openai' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toBe('tts.openai: provider openai needs an openai section (baseUrl, model)');
    const bad = await app.inject({ method: 'PUT', url: '/api/v1/providers/stt', payload: { provider: 'whisper' } });
    expect(bad.json().error).toMatch(/^stt\.provider: /);
    const noKey = await app.inject({ method: 'PUT', url: '/api/v1/providers/tts', payload: { provider: 'elevenlabs', elevenlabs: { apiKey: '***', voiceId: 'v' } } });
    expect(noKey.json().error).toMatch(/^tts\.elevenlabs\.apiKey: "\*\*\*" keeps the stored secret, but none is stored/);
    expect((await app.inject({ url: '/api/v1/providers/carrier' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/providers/google' })).json()).toEqual({ error: 'section: google is not configured' });
  });
});

describeOnEachDialect('two processes sharing one store', (ctx) => {
  it('refresh() picks up a change another process stored, and keeps the current config when the stored one is invalid', async () => {
    const file = configSchema.parse({ bots: [{ name: 'demo', type: 'flow' }, { name: 'sales', type: 'flow' }], routes: [{ number: '*', bot: 'demo' }] });
    const botsA = await BotDirectory.load(file, undefined, {});
    const botsB = await BotDirectory.load(file, undefined, {});
    const a = await RuntimeConfig.open({ file, entries: new ConfigRepository(ctx.store.db), apply: (c) => botsA.reload(c) });
    const b = await RuntimeConfig.open({ file, entries: new ConfigRepository(ctx.store.db), apply: (c) => botsB.reload(c), logger: captureLogger().logger });
    await a.putRoute('+15551212', { bot: 'sales' });
    expect(botsB.route('+15551212').name).toBe('demo');
    expect(await b.refresh()).toBe(true);
    expect(botsB.route('+15551212').name).toBe('sales');
    expect(await b.refresh()).toBe(false);

    await new ConfigRepository(ctx.store.db).put('route', '+15553434', { number: '+15553434', bot: 'ghost' }, Date.now());
    expect(await b.refresh()).toBe(false);
    expect(botsB.route('+15553434').name).toBe('demo');
  });
});
