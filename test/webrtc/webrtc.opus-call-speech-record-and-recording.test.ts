import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { rmsDbfs } from '../../src/media/audio.js';
import type { BusEventMap } from '../../src/events/bus.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { GREETING, SUPPORT, menuFlow, promptPlayed } from '../support/e2e-fixtures.js';
import { MENU_BOT, startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

const SAID_TWO = '/usr/share/asterisk/sounds/en/digits/2.wav';

describe('a browser call whose caller speaks, recorded and stored like a phone call', () => {
  let deepgram: DeepgramServer;
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    deepgram = await DeepgramServer.start('dg-key');
    e2e = await startWebRtcE2e({
      bots: [{ name: MENU_BOT, type: 'flow', flow: menuFlow, settings: { recordCall: true } }],
      stt: { provider: 'deepgram', deepgram: { apiKey: 'dg-key', baseUrl: deepgram.url } },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await deepgram?.close();
  });

  it('sends the caller speech (Opus, 16 kHz leg) to STT, follows it, and leaves a record with carrier webrtc, the console identity and a recording', async () => {
    const saved = new Promise<BusEventMap['recording.saved']>((resolve) => {
      const off = e2e.gateway.bus.subscribe('recording.saved', (e) => {
        off();
        resolve(e);
      });
    });
    const ended = e2e.nextCallEnded();
    const greeted = promptPlayed(e2e.gateway, GREETING);
    const caller = await e2e.call();
    await caller.connected();
    await greeted;
    deepgram.nextUtterance('two', { finalAfterMs: 500 });
    await caller.speakWav(SAID_TWO);
    const end = await ended;
    const recording = await saved;
    await e2e.gateway.records.flush();

    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    // The STT double heard the call's audio at the leg's rate (Opus decoded straight to 16 kHz).
    expect(deepgram.upgradeRequests[0]?.url).toMatch(/sample_rate=16000/);
    const lines = caller.events.flatMap((e) => (e.type === 'transcript' ? [`${e.who}: ${e.text}`] : []));
    expect(lines).toEqual([`bot: ${GREETING}`, 'caller: two', `bot: ${SUPPORT}`]);

    const db = new Database(join(e2e.dataDir, 'voxgate.db'), { readonly: true });
    try {
      const row = db.prepare('select * from calls where id = ?').get(caller.callId) as Record<string, unknown>;
      expect(row).toMatchObject({ carrier: 'webrtc', direction: 'inbound', from_number: 'console:static-api-token', to_number: MENU_BOT, bot: MENU_BOT, hangup_side: 'gateway', end_reason: 'bot-hangup' });
      expect(row.hangup_cause).toBeTruthy();
      expect(db.prepare('select speaker, text from transcript_lines where call_id = ? order by at, id').all(caller.callId)).toEqual([
        { speaker: 'bot', text: GREETING },
        { speaker: 'caller', text: 'two' },
        { speaker: 'bot', text: SUPPORT },
      ]);
      const stored = db.prepare('select path, sample_rate, channels from recordings where call_id = ?').get(caller.callId) as { path: string; sample_rate: number; channels: number };
      expect(stored).toMatchObject({ sample_rate: 16000, channels: 2 });
      expect(stored.path).toBe(recording.path);
    } finally {
      db.close();
    }
    // The recording holds both sides: the caller's "two" on the left channel, the bot on the right.
    expect(existsSync(recording.path)).toBe(true);
    const file = await readFile(recording.path);
    expect(file.readUInt32LE(24)).toBe(16000);
    const frames = Math.floor((file.length - 44) / 4);
    const left = new Int16Array(frames);
    const right = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      left[i] = file.readInt16LE(44 + i * 4);
      right[i] = file.readInt16LE(46 + i * 4);
    }
    expect(rmsDbfs(left)).toBeGreaterThan(-50);
    expect(rmsDbfs(right)).toBeGreaterThan(-40);
  });
});
