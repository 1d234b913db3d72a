import { beforeAll, describe, expect, it } from 'vitest';
import { concat, frames, silence, synthesizeSpeech } from '../support/media-signals.js';
import type { PromptAudioSource } from '../../src/call/prompt-audio.js';
import type { TtsRequest } from '../../src/speech/tts/provider.js';
import { ScriptedStt, ToneAudioSource, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

/** TTS that fails for the texts it is told to, and speaks everything else as a tone. */
class FailingTts implements PromptAudioSource {
  readonly tones = new ToneAudioSource();
  constructor(private readonly failing: Set<string>) {}
  async *speak(req: TtsRequest, opts: Parameters<PromptAudioSource['speak']>[1]): AsyncIterable<Int16Array> {
    if (this.failing.has(req.text)) throw new Error('TTS provider "vendor": 503 Service Unavailable');
    yield* this.tones.speak(req);
    void opts;
  }
  playUrl(url: string, opts: Parameters<PromptAudioSource['playUrl']>[1]): AsyncIterable<Int16Array> {
    return url.includes('missing') ? notFound() : this.tones.playUrl(url, opts);
  }
}

let utterance: Int16Array;
beforeAll(async () => {
  utterance = concat(await synthesizeSpeech('What is my balance?', 8000), silence(1000, 8000));
});

/** The caller speaks and falls silent: the VAD ends the utterance, which starts the STT deadline. */
async function speakAndStop(ctx: Awaited<ReturnType<typeof startSession>>, stt: ScriptedStt): Promise<void> {
  for (const frame of frames(utterance, 8000)) {
    ctx.clock.advance(20);
    ctx.leg.emit('audio', frame);
    if (stt.session!.endsOfUtterance > 0) break;
  }
  await settle();
  expect(stt.session!.endsOfUtterance).toBe(1);
}

async function* notFound(): AsyncIterable<Int16Array> {
  yield* [];
  throw new Error('playUrl: 404 Not Found');
}

describe('a failing speech provider never leaves the caller in silence', () => {
  it('an STT failure plays the apology, then hangs up as stt-error', async () => {
    const stt = new ScriptedStt();
    const { leg, session, audio, providerErrors } = await startSession({ stt, settings: { failureSpeech: 'Sorry, we have a problem.' } });
    stt.session!.emit('failure', new Error('Deepgram closed the stream (1011)'));
    await settle();
    // Published for metrics and alarms.
    expect(providerErrors()).toMatchObject([{ kind: 'stt', provider: 'scripted', callId: 'call-1', error: 'Deepgram closed the stream (1011)' }]);
    expect(audio.spoken.map((r) => r.text)).toEqual(['Sorry, we have a problem.']);
    expect(leg.count('hangup')).toBe(0); // the apology plays first
    leg.playedAll();
    await settle();
    expect(session.endedWith).toMatchObject({ reason: 'stt-error', byGateway: true });
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'stt-error' });
  });

  it('an STT failure transfers to the failure target when one is configured', async () => {
    const stt = new ScriptedStt();
    const { leg, session } = await startSession({ stt, settings: { failureSpeech: '', failureTransferTarget: 'sip:agents@pbx.example' } });
    stt.session!.emit('failure', new Error('socket reset'));
    await settle();
    expect(leg.commands).toContainEqual({ kind: 'transfer', target: 'sip:agents@pbx.example' });
    expect(session.endedWith?.reason).toBe('transferred');
  });

  it('a final result not arriving within sttTimeoutMS of the end of speech counts as an STT failure', async () => {
    const stt = new ScriptedStt();
    const ctx = await startSession({ stt, settings: { sttTimeoutMS: 2000, failureSpeech: '' } });
    const { clock, session, leg } = ctx;
    await speakAndStop(ctx, stt);
    clock.advance(1999);
    stt.session!.hear('partial', false);
    await settle();
    expect(session.endedWith).toBeUndefined();
    clock.advance(1);
    await settle();
    leg.playedAll();
    await settle();
    expect(session.endedWith?.reason).toBe('stt-error');
  });

  it('a final result in time clears the STT deadline', async () => {
    const stt = new ScriptedStt();
    const ctx = await startSession({ stt, settings: { sttTimeoutMS: 2000 } });
    const { clock, session, bot } = ctx;
    await speakAndStop(ctx, stt);
    clock.advance(500);
    stt.session!.hear('my balance please', true);
    clock.advance(5000);
    await settle();
    expect(session.endedWith).toBeUndefined();
    expect(bot.received.map((a) => a.text)).toEqual(['my balance please']);
  });

  it('a bot message whose speech cannot be synthesized fails over: apology, then hang up as tts-error', async () => {
    const tts = new FailingTts(new Set(['Your balance is 42 dollars.']));
    const { bot, leg, session, turns, providerErrors } = await startSession({ audio: tts, settings: { failureSpeech: 'Sorry.' } });
    bot.say({ text: 'Your balance is 42 dollars.' });
    await settle();
    leg.playedAll();
    await settle();
    expect(tts.tones.spoken.map((r) => r.text)).toEqual(['Sorry.']);
    expect(session.endedWith?.reason).toBe('tts-error');
    expect(turns()[0]).toMatchObject({ seq: 0, outcome: 'tts-error', error: expect.stringContaining('503') });
    expect(providerErrors()).toMatchObject([{ kind: 'tts', provider: 'tone' }]);
  });

  it('a playUrl that cannot be fetched is skipped, the bot is told (playUrlFailed) and the call goes on', async () => {
    const tts = new FailingTts(new Set());
    const { bot, session } = await startSession({ audio: tts, settings: { sendEventsToBot: ['playUrlFailed'] } });
    bot.say({ type: 'event', name: 'playUrl', activityParams: { playUrlUrl: 'https://media.example/missing.wav' } });
    await settle();
    expect(session.endedWith).toBeUndefined();
    expect(bot.events('playUrlFailed').map((a) => a.value)).toEqual([{ url: 'https://media.example/missing.wav', activityId: expect.any(String), reason: 'playUrl: 404 Not Found' }]);
  });
});
