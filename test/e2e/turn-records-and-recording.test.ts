import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EspeakTtsProvider } from '../../src/speech/tts/espeak.js';
import type { BusEventMap } from '../../src/events/bus.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

const GREETING = 'Thanks for calling. Press 1 for sales, or 2 for support.';
const SUPPORT = 'Support will call you back within the hour.';

const flow = {
  name: 'e2e-recorded',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 8000, branches: { '1': 'sales', '2': 'support' }, noMatch: 'bye', timeout: 'bye' } },
    sales: { say: 'Sales is closed today.', hangup: 'completed' },
    support: { say: SUPPORT, hangup: 'completed' },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

async function spokenMs(text: string): Promise<number> {
  let samples = 0;
  for await (const chunk of new EspeakTtsProvider().synthesize({ text, language: 'en-US', sampleRate: 8000 })) samples += chunk.length;
  return samples / 8;
}

/** The right (bot) channel of a stereo PCM16 WAV, read from the raw interleaved samples. */
async function readStereo(path: string): Promise<{ channels: number; sampleRate: number; dataBytes: number; fileBytes: number; right: Int16Array }> {
  const buf = await readFile(path);
  const n = Math.floor((buf.length - 44) / 4);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) right[i] = buf.readInt16LE(46 + i * 4);
  return { channels: buf.readUInt16LE(22), sampleRate: buf.readUInt32LE(24), dataBytes: buf.readUInt32LE(40), fileBytes: buf.length, right };
}

/** Milliseconds of a track that carry sound (20 ms windows above -50 dBFS). */
function audibleMs(x: Int16Array): number {
  let ms = 0;
  for (let off = 0; off + 160 <= x.length; off += 160) {
    let sum = 0;
    for (let i = off; i < off + 160; i++) sum += x[i] * x[i];
    if (10 * Math.log10(sum / 160 / 32768 ** 2 + 1e-12) > -50) ms += 20;
  }
  return ms;
}

describe('turn records and call recording, end to end', () => {
  let e2e: E2eSetup;
  beforeAll(async () => {
    e2e = await startE2e({ bots: [{ name: 'recorded-menu', type: 'flow', flow, settings: { recordCall: true } }], routes: [{ number: VOXGATE_NUMBER, bot: 'recorded-menu' }] });
  });
  afterAll(() => e2e?.close());

  it('stores each turn with its latencies and a stereo WAV of the call with what the caller heard', async () => {
    const saved = new Promise<BusEventMap['recording.saved']>((resolve) => {
      const off = e2e.gateway.bus.subscribe('recording.saved', (e) => {
        off();
        resolve(e);
      });
    });
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 30 } });
    call.once('heard-audio-stop', () => call.party.press('2'));
    const result = await call.ended;
    await ended;
    const recording = await saved;
    await e2e.gateway.records.flush();

    const db = new Database(join(e2e.dataDir, 'voxgate.db'), { readonly: true });
    try {
      const callRow = db.prepare('select id, duration_ms from calls where carrier_call_id = ?').get(call.callUuid) as { id: string; duration_ms: number };
      expect(callRow).toBeDefined();

      // One row per turn: the opening (start -> greeting) and the key press (2 -> support answer).
      const turns = db.prepare('select * from turns where call_id = ? order by seq').all(callRow.id) as Record<string, unknown>[];
      expect(turns.map((t) => [t.seq, t.input_kind, t.input_text, t.outcome])).toEqual([
        [0, 'start', null, 'answered'],
        [1, 'dtmf', '2', 'answered'],
      ]);
      for (const t of turns) {
        for (const column of ['bot_sent_at', 'bot_answered_at', 'first_audio_at', 'bot_ms', 'tts_ms', 'e2e_ms']) expect(t[column], `${column} of turn ${String(t.seq)}`).not.toBeNull();
        expect(t.tts_provider).toBe('espeak');
        expect(t.bot).toMatch(/\S/); // the bot connector's name (flow:<flow name>), not the route's bot name
        // A local flow bot and espeak answer well within a couple of seconds.
        expect(t.e2e_ms as number).toBeLessThan(3000);
        expect(t.e2e_ms as number).toBeGreaterThanOrEqual((t.bot_ms as number) + (t.tts_ms as number));
        expect(t.first_audio_at as number).toBeGreaterThanOrEqual(t.input_at as number);
      }
      expect(turns[1].stt_ms).toBeNull(); // a key press needs no recognizer

      // The recording: indexed in the store, on disk under <dataDir>/recordings, as long as the call.
      const rows = db.prepare('select * from recordings where call_id = ?').all(callRow.id) as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      const row = rows[0];
      expect(row).toMatchObject({ path: recording.path, format: 'wav', sample_rate: 8000, channels: 2, duration_ms: recording.durationMs });
      expect(recording.path.startsWith(join(e2e.dataDir, 'recordings'))).toBe(true);
      expect(existsSync(recording.path)).toBe(true);
      expect(Math.abs(recording.durationMs - result.durationSec * 1000)).toBeLessThan(2000);

      const wav = await readStereo(recording.path);
      expect(wav).toMatchObject({ channels: 2, sampleRate: 8000, dataBytes: wav.fileBytes - 44 });
      expect(Math.abs(wav.dataBytes / 32 - recording.durationMs)).toBeLessThanOrEqual(1);
      // The bot channel holds what the caller heard (both prompts in full), as the simulated phone heard it.
      const callerHeardMs = audibleMs(result.heard);
      expect(callerHeardMs).toBeGreaterThan(0.6 * ((await spokenMs(GREETING)) + (await spokenMs(SUPPORT))));
      expect(Math.abs(audibleMs(wav.right) - callerHeardMs)).toBeLessThan(callerHeardMs * 0.05);
    } finally {
      db.close();
    }
  });
});
