import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { BusEventMap } from '../../src/events/bus.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { startWebRtcE2e, type WebRtcE2e } from './webrtc-e2e.js';

const LONG = 'Welcome to the long menu. This announcement goes on for quite a while, listing every department and every opening hour, so a caller will surely want to interrupt it before it ends.';
const SPEECH = '/usr/share/asterisk/sounds/en/all-circuits-busy-now.wav';

const flow = {
  name: 'long-menu',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: LONG, maxDigits: 1, timeoutMs: 5000, branches: { '1': 'bye' }, noMatch: 'bye', timeout: 'bye' } },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

describe('barge-in on a browser call', () => {
  let deepgram: DeepgramServer;
  let e2e: WebRtcE2e;
  beforeAll(async () => {
    deepgram = await DeepgramServer.start('dg-key');
    e2e = await startWebRtcE2e({
      bots: [{ name: 'long-menu', type: 'flow', flow, settings: { bargeIn: true } }],
      routes: [{ number: '*', bot: 'long-menu' }],
      stt: { provider: 'deepgram', deepgram: { apiKey: 'dg-key', baseUrl: deepgram.url } },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await deepgram?.close();
  });

  it('caller speech during a long prompt clears the playout: the leg reports it cleared, the prompt is recorded as cut', async () => {
    const cut = new Promise<BusEventMap['prompt.played']>((resolve) => {
      const off = e2e.gateway.bus.subscribe('prompt.played', (e) => {
        if (e.text !== LONG) return;
        off();
        resolve(e);
      });
    });
    const ended = e2e.nextCallEnded();
    const caller = await e2e.call({ bot: 'long-menu' });
    await caller.connected();
    const leg = e2e.gateway.calls.findCall('webrtc', caller.location.split('/').pop()!)!.leg!;
    const cleared = new Promise<void>((resolve) => leg.once('cleared', resolve));
    // Once the caller has heard a second of the prompt, they talk over it.
    await caller.untilHeard(1000);
    // The final comes when the gateway finalizes the utterance (its end of speech), after the barge-in.
    deepgram.nextUtterance('all circuits are busy now', { finalAfterMs: 10_000 });
    await caller.speakWav(SPEECH);
    await cleared;
    const played = await cut;
    expect(played.heardInFull).toBe(false);
    // Cut well before its spoken length (over 10 s).
    expect(played.endedAt - played.startedAt).toBeLessThan(8000);

    // What the caller said matches no branch: the flow says goodbye and hangs up.
    expect(await ended).toMatchObject({ reason: 'bot-hangup' });
    await e2e.gateway.records.flush();
    const db = new Database(join(e2e.dataDir, 'voxgate.db'), { readonly: true });
    try {
      expect(db.prepare('select text, heard_in_full from prompts where call_id = ? order by started_at').all(caller.callId)[0]).toEqual({ text: LONG, heard_in_full: 0 });
    } finally {
      db.close();
    }
  });
});
