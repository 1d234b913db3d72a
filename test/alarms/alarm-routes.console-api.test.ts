import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alarmRoutes } from '../../src/api/alarm-routes.js';
import { AlarmManager } from '../../src/alarms/alarm-manager.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { AlarmRepository } from '../../src/store/alarm-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

describe('alarm API on a bare Fastify app', () => {
  let dir: TempDir;
  let store: Store;
  let app: FastifyInstance;
  let alarms: AlarmManager;
  let clock: FakeClock;
  const scopes: Record<string, string | undefined> = {};

  beforeEach(async () => {
    dir = await makeTempDir();
    store = await openDatabase({ dataDir: dir.path });
    clock = new FakeClock();
    alarms = new AlarmManager({ repository: new AlarmRepository(store.db), clock });
    app = Fastify();
    app.addHook('onRoute', (route) => void (scopes[`${String(route.method)} ${route.url}`] = route.config?.scope));
    await app.register(alarmRoutes, { prefix: '/api/v1', alarms });
  });

  afterEach(async () => {
    await app.close();
    await store.close();
    await dir.remove();
  });

  it('declares alarms:read / alarms:write on every route', () => {
    expect(scopes).toMatchObject({
      'GET /api/v1/alarms': 'alarms:read',
      'GET /api/v1/alarms/history': 'alarms:read',
      'GET /api/v1/alarms/stream': 'alarms:read',
      'POST /api/v1/alarms/:id/clear': 'alarms:write',
      'GET /api/v1/alarm-rules': 'alarms:read',
      'GET /api/v1/alarm-rules/:type': 'alarms:read',
      'PUT /api/v1/alarm-rules/:type': 'alarms:write',
    });
  });

  it('lists active alarms, clears one by hand, and shows both changes in the history', async () => {
    await alarms.raise('bot-failure', 'support', 'major', '3 bot failures');
    clock.advance(1000);
    await alarms.raise('tts-failure', 'polly', 'critical', 'Polly 403');
    const list = (await app.inject('/api/v1/alarms')).json();
    expect(list.alarms.map((a: { key: string }) => a.key)).toEqual(['tts-failure:polly', 'bot-failure:support']);
    const botAlarm = list.alarms[1];

    const cleared = await app.inject({ method: 'POST', url: `/api/v1/alarms/${botAlarm.id}/clear`, payload: { message: 'bot redeployed' } });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ key: 'bot-failure:support', severity: 'clear', previousSeverity: 'major', message: 'bot redeployed' });
    expect((await app.inject({ method: 'POST', url: `/api/v1/alarms/${botAlarm.id}/clear` })).json()).toEqual({ error: `id: no active alarm ${botAlarm.id}` });
    expect((await app.inject({ method: 'POST', url: '/api/v1/alarms/abc/clear' })).statusCode).toBe(400);

    const page1 = (await app.inject('/api/v1/alarms/history?limit=2')).json();
    expect(page1.entries.map((e: { severity: string }) => e.severity)).toEqual(['clear', 'critical']);
    const page2 = (await app.inject(`/api/v1/alarms/history?limit=2&before=${page1.nextBefore}`)).json();
    expect(page2).toMatchObject({ entries: [{ key: 'bot-failure:support', severity: 'major' }], nextBefore: null });
    expect((await app.inject('/api/v1/alarms/history?limit=0')).json().error).toMatch(/^limit: /);
    expect((await app.inject('/api/v1/alarms/history?page=2')).json().error).toBe('page: not a known field');
  });

  it('reads and writes alarm rules; disabling a type clears its alarms', async () => {
    expect((await app.inject('/api/v1/alarm-rules/carrier-failure')).json()).toEqual({ type: 'carrier-failure', disabled: false, allowedEntities: null });
    await alarms.raise('carrier-failure', 'plivo', 'major', 'refused');
    const put = await app.inject({ method: 'PUT', url: '/api/v1/alarm-rules/carrier-failure', payload: { disabled: true } });
    expect(put.json()).toEqual({ type: 'carrier-failure', disabled: true, allowedEntities: null });
    expect((await app.inject('/api/v1/alarms')).json().alarms).toEqual([]);

    await app.inject({ method: 'PUT', url: '/api/v1/alarm-rules/bot-failure', payload: { allowedEntities: ['support', 'sales'] } });
    expect((await app.inject('/api/v1/alarm-rules')).json().rules).toEqual([
      { type: 'bot-failure', disabled: false, allowedEntities: ['support', 'sales'] },
      { type: 'carrier-failure', disabled: true, allowedEntities: null },
    ]);

    const bad = async (url: string, payload: unknown) => (await app.inject({ method: 'PUT', url, payload: payload as object })).json().error;
    expect(await bad('/api/v1/alarm-rules/bot-failure', {})).toBe('(body): expected disabled and/or allowedEntities');
    expect(await bad('/api/v1/alarm-rules/bot-failure', { disabled: 'yes' })).toMatch(/^disabled: Expected boolean/);
    expect(await bad('/api/v1/alarm-rules/bot-failure', { allowedEntities: [''] })).toBe('allowedEntities.0: an entity name');
    expect(await bad('/api/v1/alarm-rules/bot-failure', { enabled: true })).toBe('enabled: not a known field; (body): expected disabled and/or allowedEntities');
    expect(await bad('/api/v1/alarm-rules/bad%20type', { disabled: true })).toMatch(/^type: an alarm type/);
  });

  it('streams each severity change as a server-sent event', async () => {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${url}/api/v1/alarms/stream`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await until(/alarm stream open/);
    await alarms.raise('stt-failure', 'deepgram', 'warning', 'slow');
    await alarms.clear('stt-failure', 'deepgram');
    await until(/"severity":"clear"/);
    const events = text.split('\n\n').filter((b) => b.includes('event: alarm')).map((b) => JSON.parse(b.split('\n').find((l) => l.startsWith('data: '))!.slice(6)));
    expect(events.map((e) => e.severity)).toEqual(['warning', 'clear']);
    expect(text).toMatch(new RegExp(`id: ${events[1].sequence}\\n`));
    await reader.cancel();
  });
});
