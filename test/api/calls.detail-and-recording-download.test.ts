import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callsRoutes } from '../../src/api/calls-routes.js';
import { silentLogger } from '../../src/logger.js';
import { encodeWav, parseWav } from '../../src/media/wav.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { CallRetention } from '../../src/store/retention.js';
import { bareApp, seedCall } from '../support/management-api.js';
import { describeOnEachDialect, makeTempDir, type TempDir } from '../support/store-fixtures.js';

describeOnEachDialect('one call: detail and recording download', (ctx) => {
  let app: FastifyInstance;
  let dir: TempDir;
  let recordingsDir: string;
  let callId: string;
  const t0 = 4_300_000_000_000;
  const audio = encodeWav(Int16Array.from({ length: 800 }, (_, i) => Math.round(8000 * Math.sin(i / 5))), 8000);

  beforeAll(async () => {
    const { store } = ctx;
    dir = await makeTempDir('voxgate-recordings-');
    recordingsDir = join(dir.path, 'recordings');
    await mkdir(recordingsDir);
    const retention = new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir });
    app = await bareApp(callsRoutes, { store, live: { list: () => [] }, retention, recordingsDir, logger: silentLogger() });

    const call = await seedCall(store, { startedAt: t0, durationMs: 9_000, bot: 'support' });
    callId = call.id;
    await store.transcripts.add({ callId, at: t0 + 100, speaker: 'bot', text: 'Hello, how can I help?' });
    await store.transcripts.add({ callId, at: t0 + 3000, speaker: 'caller', text: 'My order is late' });
    await store.dtmf.add({ callId, at: t0 + 5000, digit: '4' });
    await store.prompts.add({ callId, promptId: 'p1', text: 'Hello, how can I help?', startedAt: t0 + 100, endedAt: t0 + 1500, heardInFull: true });
    await store.turns.add({ callId, seq: 0, inputKind: 'start', inputText: null, speechEndedAt: null, inputAt: t0, botSentAt: t0 + 5, botAnsweredAt: t0 + 60, firstAudioAt: t0 + 100, sttMs: null, botMs: 55, ttsMs: 40, e2eMs: 100, sttProvider: null, ttsProvider: 'espeak', bot: 'support', outcome: 'answered', error: null });
    await store.turns.add({ callId, seq: 1, inputKind: 'speech', inputText: 'My order is late', speechEndedAt: t0 + 2900, inputAt: t0 + 3000, botSentAt: t0 + 3001, botAnsweredAt: t0 + 3400, firstAudioAt: t0 + 3550, sttMs: 100, botMs: 399, ttsMs: 150, e2eMs: 650, sttProvider: 'deepgram', ttsProvider: 'espeak', bot: 'support', outcome: 'answered', error: null });
    const file = join(recordingsDir, `${callId}-1.wav`);
    await writeFile(file, audio);
    await store.recordings.add({ callId, path: file, format: 'wav', sampleRate: 8000, channels: 1, startedAt: t0, endedAt: t0 + 100, durationMs: 100 });
    // A row pointing outside the recordings directory (a tampered or migrated database).
    await store.recordings.add({ callId, path: join(recordingsDir, '..', '..', 'etc-passwd.wav'), format: 'wav', sampleRate: 8000, channels: 1, startedAt: t0 + 200, endedAt: t0 + 300, durationMs: 100 });
    await store.recordings.add({ callId, path: join(recordingsDir, 'purged.wav'), format: 'wav', sampleRate: 8000, channels: 1, startedAt: t0 + 400, endedAt: t0 + 500, durationMs: 100 });
  });
  afterAll(async () => {
    await app?.close();
    await dir?.remove();
  });

  it('returns the record with its transcript, DTMF, prompts, per-turn latencies and recordings', async () => {
    const res = await app.inject({ url: `/api/v1/calls/${callId}` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.call).toMatchObject({ id: callId, bot: 'support', durationMs: 9_000, endReason: 'caller-hangup' });
    expect(body.transcript.map((l: { speaker: string; text: string }) => `${l.speaker}: ${l.text}`)).toEqual(['bot: Hello, how can I help?', 'caller: My order is late']);
    expect(body.dtmf).toMatchObject([{ digit: '4', at: t0 + 5000 }]);
    expect(body.prompts).toMatchObject([{ promptId: 'p1', heardInFull: true }]);
    expect(body.turns.map((t: { seq: number; e2eMs: number; botMs: number }) => [t.seq, t.e2eMs, t.botMs])).toEqual([[0, 100, 55], [1, 650, 399]]);
    expect(body.recordings).toHaveLength(3);
    expect(body.recordings[0]).toMatchObject({ n: 1, url: `/api/v1/calls/${callId}/recordings/1`, sampleRate: 8000, durationMs: 100 });
    // The server's file path is not the client's business.
    expect(res.body).not.toContain(recordingsDir);
  });

  it('downloads a recording as audio/wav', async () => {
    const res = await app.inject({ url: `/api/v1/calls/${callId}/recordings/1` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
    expect(res.headers['content-disposition']).toContain('.wav');
    expect(res.rawPayload.equals(audio)).toBe(true);
    expect(parseWav(res.rawPayload).sampleRate).toBe(8000);
  });

  it('refuses a recording whose path leads outside the recordings directory', async () => {
    const res = await app.inject({ url: `/api/v1/calls/${callId}/recordings/2` });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: 'recording: the file is outside the recordings directory' });
  });

  it('404s for an unknown call, a recording number the call lacks, and a file that is gone', async () => {
    expect((await app.inject({ url: '/api/v1/calls/no-such-call' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/calls/no-such-call/recordings/1' })).json()).toEqual({ error: 'id: no call no-such-call' });
    const missing = await app.inject({ url: `/api/v1/calls/${callId}/recordings/9` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatch(/^n: /);
    expect((await app.inject({ url: `/api/v1/calls/${callId}/recordings/3` })).json()).toEqual({ error: 'recording: the file is gone (purged or moved)' });
  });

  it('names the parameter when the recording number is not a number', async () => {
    const res = await app.inject({ url: `/api/v1/calls/${callId}/recordings/..%2F..%2Fetc` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^n: /);
  });
});
