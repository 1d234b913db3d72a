import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmConditions } from '../../src/alarms/alarm-conditions.js';
import type { AlarmSeverity } from '../../src/alarms/severity.js';
import { SpeechPromptAudio } from '../../src/speech/speech-prompt-audio.js';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { HttpTtsProvider } from '../../src/speech/tts/http-tts.js';
import { startSession } from '../support/call-session-harness.js';
import { FakeClock } from '../support/fake-clock.js';
import { ToneTtsProvider } from '../support/tts-tone-provider.js';
import { pcm16be, startTtsHttpDouble, tone, type TtsHttpDouble } from '../support/tts-http-server.js';

const greeting = 'Thanks for calling, how can I help';
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a call whose TTS stream stalls mid-prompt', () => {
  let server: TtsHttpDouble;
  beforeEach(async () => {
    server = await startTtsHttpDouble();
  });
  afterEach(() => server.close());

  function audioFor(clock: FakeClock, fallback?: ToneTtsProvider): SpeechPromptAudio {
    return new SpeechPromptAudio(new HttpTtsProvider({ url: `${server.url}/tts` }), { cache: new TtsCache({ clock }), fallback, clock, idleTimeoutMs: 5000 });
  }

  /** Plays samples to the leg until `n` samples went out. */
  async function untilPlayed(played: () => number, n: number): Promise<void> {
    while (played() < n) await turn();
  }

  it('goes on in the fallback voice, publishes provider.error and counts toward the tts-failure alarm', async () => {
    const clock = new FakeClock();
    const raised: { type: string; entity: string; severity: AlarmSeverity; message: string }[] = [];
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/L16;rate=8000', bytes: pcm16be(tone(440, 500, 8000)), chunks: 4, stallAfterChunks: 2 });
    const fallback = new ToneTtsProvider();
    const call = await startSession({ clock, audio: audioFor(clock, fallback), greeting: [{ text: greeting }] });
    const alarms = new AlarmConditions({
      alarms: { raise: async (type, entity, severity, message) => void raised.push({ type, entity, severity, message }), clear: async () => undefined, onChange: () => () => {} },
      clock,
      thresholds: { tts: { majorCount: 1 } },
    }).attach(call.bus);
    const played = () => call.leg.commands.reduce((n, c) => n + (c.kind === 'play' ? c.samples : 0), 0);
    await untilPlayed(played, 2000); // the vendor's voice, a quarter second, then nothing
    await turn();
    clock.advance(5000);
    const wordsOfFallback = greeting.split(' ').length * 800;
    await untilPlayed(played, 2000 + wordsOfFallback);

    expect(fallback.calls.map((r) => r.text)).toEqual([greeting]);
    expect(call.providerErrors()).toEqual([
      { kind: 'tts', provider: 'http', callId: 'call-1', fallback: 'tone', at: clock.now(), error: expect.stringContaining('the audio stream stalled: nothing for 5000 ms after 250 ms of audio') },
    ]);
    expect(raised).toEqual([expect.objectContaining({ type: 'tts-failure', entity: 'http', severity: 'major' })]);
    expect(call.leg.count('hangup')).toBe(0); // no failure activity: the fallback covered it
    call.leg.playedAll();
    await turn();
    expect(call.prompts()).toEqual([expect.objectContaining({ text: greeting, heardInFull: true })]);
    alarms.stop();
    call.session.end({ reason: 'caller-hangup', byGateway: false });
  });

  it('without a fallback voice runs the failure activity: apology, then hangup with tts-error', async () => {
    const clock = new FakeClock();
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/L16;rate=8000', bytes: pcm16be(tone(440, 500, 8000)), chunks: 4, stallAfterChunks: 2 });
    // The apology goes to the same stalled vendor; a plain answer lets the call reach its hangup.
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/L16;rate=8000', bytes: pcm16be(tone(440, 200, 8000)), chunks: 2 });
    const call = await startSession({ clock, audio: audioFor(clock), greeting: [{ text: greeting }] });
    const played = () => call.leg.commands.reduce((n, c) => n + (c.kind === 'play' ? c.samples : 0), 0);
    await untilPlayed(played, 2000);
    await turn();
    clock.advance(5000);
    await untilPlayed(played, 2000 + 1600);
    call.leg.playedAll();
    while (call.leg.count('hangup') === 0) await turn();
    expect(call.leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'tts-error' });
    expect(call.providerErrors()).toEqual([expect.objectContaining({ kind: 'tts', error: expect.stringContaining('the audio stream stalled') })]);
    expect(call.providerErrors()[0]).not.toHaveProperty('fallback');
  });
});
