import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { encodeWav, tone, TtsHttpDouble } from '../support/tts-http-server.js';

describe('a call whose prompts come from an HTTP TTS service (AI_TTS_URL), end to end', () => {
  let tts: TtsHttpDouble;
  let e2e: E2eSetup;
  const flow = { name: 'tts-check', start: 'hi', steps: { hi: { say: 'Hello from the TTS service.', hangup: 'completed' } } };
  beforeAll(async () => {
    tts = await new TtsHttpDouble().start();
    e2e = await startE2e({ bots: [{ name: 'b', type: 'flow', flow }], routes: [{ number: VOXGATE_NUMBER, bot: 'b' }], tts: { provider: 'http', http: { url: `${tts.url}/tts` } } });
  });
  afterAll(async () => {
    await e2e?.close();
    await tts?.close();
  });

  it('plays the service’s audio, converted to the call’s format, and asks the service only once for a cached prompt', async () => {
    // 16 kHz WAV from the service; the call is mu-law 8 kHz.
    tts.genericAnswers.push({ kind: 'audio', contentType: 'audio/wav', bytes: encodeWav(tone(440, 700, 16000), 16000) });
    for (let round = 0; round < 2; round++) {
      const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 20 } });
      await call.ended;
      const heard = call.timeline.filter((e) => e.type === 'heard-audio-stop').map((e) => (e as { durationMs: number }).durationMs);
      expect(heard).toHaveLength(1);
      expect(Math.abs(heard[0] - 700)).toBeLessThan(60);
    }
    expect(tts.requests.filter((r) => r.body?.text === 'Hello from the TTS service.')).toHaveLength(1);
  });
});
