import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callsRoutes } from '../../src/api/calls-routes.js';
import { silentLogger } from '../../src/logger.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { CallRetention } from '../../src/store/retention.js';
import { bareApp, seedCall } from '../support/management-api.js';
import { describeOnEachDialect, makeTempDir, type TempDir } from '../support/store-fixtures.js';

const DAY = 86_400_000;

describeOnEachDialect('retention purge', (ctx) => {
  let dir: TempDir;
  let recordingsDir: string;
  // Far in the future, so calls other suites wrote in this database are older still; each test uses its own "now".
  const now = 5_000_000_000_000;

  beforeAll(async () => {
    dir = await makeTempDir('voxgate-retention-');
    recordingsDir = join(dir.path, 'recordings');
    await mkdir(recordingsDir);
  });
  afterAll(() => dir?.remove());

  async function callWithRecording(startedAt: number, durationMs?: number) {
    const call = await seedCall(ctx.store, { startedAt, durationMs });
    await ctx.store.transcripts.add({ callId: call.id, at: startedAt + 1, speaker: 'caller', text: 'hi' });
    await ctx.store.dtmf.add({ callId: call.id, at: startedAt + 2, digit: '1' });
    const path = join(recordingsDir, `${call.id}.wav`);
    await writeFile(path, 'RIFF');
    await ctx.store.recordings.add({ callId: call.id, path, format: 'wav', sampleRate: 8000, channels: 1, startedAt, endedAt: startedAt + 10, durationMs: 10 });
    return { id: call.id, file: `${call.id}.wav` };
  }

  it('deletes calls ended before the retention, their rows and their recording files; keeps newer and live calls', async () => {
    const { store } = ctx;
    const retention = (liveIds: string[]) => new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir, now: () => now, isLive: (id) => liveIds.includes(id), logger: silentLogger() });
    const old = await callWithRecording(now - 40 * DAY, 60_000);
    const recent = await callWithRecording(now - 2 * DAY, 60_000);
    const stillLive = await callWithRecording(now - 45 * DAY);
    await retention([]).set({ days: 30 });

    const result = await retention([stillLive.id]).purge();

    expect(result.cutoff).toBe(now - 30 * DAY);
    expect(result.calls).toBeGreaterThanOrEqual(1);
    expect(await store.calls.get(old.id)).toBeUndefined();
    expect(await store.transcripts.listForCall(old.id)).toEqual([]);
    expect(await store.dtmf.listForCall(old.id)).toEqual([]);
    expect(await store.recordings.listForCall(old.id)).toEqual([]);
    const files = await readdir(recordingsDir);
    expect(files).not.toContain(old.file);
    expect(files).toContain(recent.file);
    expect(files).toContain(stillLive.file);
    expect(await store.calls.get(recent.id)).toBeDefined();
    expect(await store.calls.get(stillLive.id)).toBeDefined();
  });

  it('leaves a file outside the recordings directory alone, though its row goes', async () => {
    const { store } = ctx;
    const call = await seedCall(store, { startedAt: now - 400 * DAY, durationMs: 1000 });
    const outside = join(dir.path, 'keep-me.wav');
    await writeFile(outside, 'RIFF');
    await store.recordings.add({ callId: call.id, path: outside, format: 'wav', sampleRate: 8000, channels: 1, startedAt: call.startedAt, endedAt: call.startedAt + 1, durationMs: 1 });
    const retention = new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir, now: () => now });
    await retention.set({ days: 365 });
    await retention.purge();
    expect(await store.calls.get(call.id)).toBeUndefined();
    expect(await readdir(dir.path)).toContain('keep-me.wav');
  });

  it('through the API: admin sets the retention (validated), purge refuses without one, then purges', async () => {
    const { store } = ctx;
    const settings = new ConfigRepository(store.db);
    const retention = new CallRetention({ store, settings, recordingsDir, now: () => now });
    await settings.putSetting('retention', { days: null }, now);
    const app = await bareApp(callsRoutes, { store, live: { list: () => [] }, retention, recordingsDir, logger: silentLogger() });
    try {
      expect((await app.inject({ url: '/api/v1/settings/retention' })).json()).toEqual({ days: null });
      expect((await app.inject({ method: 'POST', url: '/api/v1/calls/purge' })).statusCode).toBe(409);
      const bad = await app.inject({ method: 'PUT', url: '/api/v1/settings/retention', payload: { days: 0 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatch(/^days: /);
      expect((await app.inject({ method: 'PUT', url: '/api/v1/settings/retention', payload: { days: 'ten' } })).json().error).toMatch(/^days: /);
      const old = await callWithRecording(now - 100 * DAY, 1000);
      const put = await app.inject({ method: 'PUT', url: '/api/v1/settings/retention', payload: { days: 90 } });
      expect(put.json()).toEqual({ days: 90 });
      const purge = await app.inject({ method: 'POST', url: '/api/v1/calls/purge' });
      expect(purge.statusCode).toBe(200);
      expect(purge.json()).toMatchObject({ cutoff: now - 90 * DAY });
      expect(purge.json().recordingFiles).toBeGreaterThanOrEqual(1);
      expect(await store.calls.get(old.id)).toBeUndefined();
      expect(await readdir(recordingsDir)).not.toContain(old.file);
    } finally {
      await app.close();
    }
  });
});
