import { beforeAll, describe, expect, it } from 'vitest';
import type { PromptAudioSource } from '../../src/call/prompt-audio.js';
import type { TtsRequest } from '../../src/speech/tts/provider.js';
import { ScriptedStt, ToneAudioSource, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';
import { concat, frames, silence, synthesizeSpeech } from '../support/media-signals.js';

const RATE = 8000;
type Ctx = Awaited<ReturnType<typeof startSession>>;

/** TTS whose first audio waits until the test releases it, so the synthesis time is known on the fake clock. */
class GatedAudio implements PromptAudioSource {
  private readonly tones = new ToneAudioSource();
  private waiting: (() => void)[] = [];
  async *speak(req: TtsRequest): AsyncIterable<Int16Array> {
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    yield* this.tones.speak(req);
  }
  playUrl(url: string, opts: { sampleRate: number }): AsyncIterable<Int16Array> {
    return this.tones.playUrl(url, opts);
  }
  /** The TTS produced its first audio for everything asked so far. */
  async release(): Promise<void> {
    for (const r of this.waiting.splice(0)) r();
    await settle();
  }
}

let speech: Int16Array;
beforeAll(async () => {
  speech = await synthesizeSpeech('I would like to pay my bill.', RATE);
});

/** Feeds 20 ms caller frames in real time on the fake clock, stopping early once `until` holds. */
async function talk(ctx: Ctx, audio: Int16Array, until?: () => boolean): Promise<void> {
  for (const frame of frames(audio, RATE)) {
    ctx.clock.advance(20);
    ctx.leg.emit('audio', frame);
    if (until?.()) break;
  }
  await settle();
}

async function press(ctx: Ctx, digit: string): Promise<void> {
  ctx.leg.emit('dtmf', digit);
  await settle();
}

async function answer(ctx: Ctx, ...activities: Parameters<Ctx['bot']['say']>): Promise<void> {
  ctx.bot.say(...activities);
  await settle();
}

describe('turn latency records', () => {
  it('times the opening: start to the greeting (bot), greeting to its first audio (TTS), start to first audio (end to end)', async () => {
    const audio = new GatedAudio();
    const ctx = await startSession({ audio });
    const t0 = ctx.clock.now();
    ctx.clock.advance(700);
    await answer(ctx, { text: 'Welcome to the bank.' });
    expect(ctx.turns()).toEqual([]); // not heard yet
    ctx.clock.advance(150);
    await audio.release();

    expect(ctx.turns()).toEqual([
      {
        callId: 'call-1',
        seq: 0,
        inputKind: 'start',
        inputText: null,
        speechEndedAt: null,
        inputAt: t0,
        botSentAt: t0,
        botAnsweredAt: t0 + 700,
        firstAudioAt: t0 + 850,
        sttMs: null,
        botMs: 700,
        ttsMs: 150,
        e2eMs: 850,
        sttProvider: null,
        ttsProvider: 'tone',
        bot: 'scripted',
        outcome: 'answered',
        error: null,
      },
    ]);
  });

  it('times the opening to the bot greeting, not to the welcome message the gateway plays on its own', async () => {
    const ctx = await startSession({ settings: { welcomeMessage: 'This call may be recorded.' } });
    const t0 = ctx.clock.now();
    expect(ctx.turns()).toEqual([]); // the welcome message is playing; the bot has not greeted yet
    ctx.clock.advance(600);
    await answer(ctx, { text: 'Hi, how can I help?' });
    expect(ctx.turns()).toMatchObject([{ seq: 0, inputKind: 'start', botMs: 600, e2eMs: 600, firstAudioAt: t0 + 600, outcome: 'answered' }]);
  });

  it('times a DTMF turn: the bot answering 300 ms after the key press has botMs 300', async () => {
    const ctx = await startSession({ greeting: [{ text: 'Press 1 for sales.' }] });
    ctx.leg.playedAll();
    ctx.clock.advance(2000);
    const pressedAt = ctx.clock.now();
    await press(ctx, '1');
    ctx.clock.advance(300);
    await answer(ctx, { text: 'Sales is closed today.' });

    expect(ctx.turns()).toHaveLength(2);
    expect(ctx.turns()[1]).toMatchObject({ seq: 1, inputKind: 'dtmf', inputText: '1', inputAt: pressedAt, botSentAt: pressedAt, botMs: 300, ttsMs: 0, e2eMs: 300, speechEndedAt: null, sttMs: null, sttProvider: null, outcome: 'answered' });
  });

  it('times a speech turn from the end of the caller speech: STT, bot and TTS shares add up to the end-to-end time', async () => {
    const stt = new ScriptedStt();
    const audio = new GatedAudio();
    const ctx = await startSession({ stt, audio, greeting: [{ text: 'How can I help?' }] });
    await audio.release();
    ctx.leg.playedAll();
    // The caller speaks, then falls silent: the VAD ends the utterance after its silence window.
    await talk(ctx, concat(speech, silence(2000, RATE)), () => stt.session!.endsOfUtterance > 0);
    expect(stt.session!.endsOfUtterance).toBe(1);
    const speechEndedAt = ctx.clock.now();
    ctx.clock.advance(250);
    stt.session!.hear('I would like to pay my bill.', true);
    await settle();
    ctx.clock.advance(400);
    await answer(ctx, { text: 'Sure, what is your account number?' });
    ctx.clock.advance(120);
    await audio.release();

    const turn = ctx.turns()[1];
    expect(turn).toMatchObject({ seq: 1, inputKind: 'speech', inputText: 'I would like to pay my bill.', speechEndedAt, inputAt: speechEndedAt + 250, sttProvider: 'scripted', outcome: 'answered' });
    expect(turn).toMatchObject({ sttMs: 250, botMs: 400, ttsMs: 120, e2eMs: 770, firstAudioAt: speechEndedAt + 770 });
  });

  it('does not charge a turn with the previous utterance when the STT final comes before the VAD hears the caller stop', async () => {
    const stt = new ScriptedStt();
    const ctx = await startSession({ stt, greeting: [{ text: 'How can I help?' }] });
    ctx.leg.playedAll();
    for (const text of ['I would like to pay my bill.', 'My account is four five seven.']) {
      // A fast-endpointing recognizer: the final arrives as the words end, before the VAD's silence window.
      await talk(ctx, speech);
      stt.session!.hear(text, true);
      await settle();
      ctx.clock.advance(300);
      await answer(ctx, { text: `You said: ${text}` });
      ctx.leg.playedAll();
      await talk(ctx, silence(3000, RATE)); // the VAD now ends the utterance, late
    }
    const [, first, second] = ctx.turns();
    expect(first).toMatchObject({ inputText: 'I would like to pay my bill.', botMs: 300, e2eMs: 300 });
    expect(second).toMatchObject({ inputText: 'My account is four five seven.', botMs: 300, e2eMs: 300 });
    // The earlier utterance's end is seconds old: it must not show up as this turn's STT time.
    expect(second.speechEndedAt).toBeNull();
    expect(second.sttMs).toBeNull();
  });

  it('publishes a turn the bot never answered as no-answer when the next input arrives, and the last one when the call ends', async () => {
    const ctx = await startSession({ greeting: [{ text: 'Press a key.' }] });
    ctx.leg.playedAll();
    await press(ctx, '1');
    ctx.clock.advance(5000);
    expect(ctx.turns()).toHaveLength(1); // still waiting for the bot
    await press(ctx, '2');
    expect(ctx.turns()[1]).toMatchObject({ seq: 1, inputText: '1', outcome: 'no-answer', botAnsweredAt: null, botMs: null, firstAudioAt: null, e2eMs: null });
    ctx.clock.advance(1000);
    ctx.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
    await settle();
    expect(ctx.turns().map((t) => [t.seq, t.inputText, t.outcome])).toEqual([
      [0, null, 'answered'],
      [1, '1', 'no-answer'],
      [2, '2', 'no-answer'],
    ]);
  });

  it('marks the turn bot-error with the failure when the bot fails while the caller waits', async () => {
    const ctx = await startSession({ greeting: [{ text: 'Press a key.' }] });
    ctx.leg.playedAll();
    await press(ctx, '5');
    ctx.clock.advance(800);
    ctx.bot.emit('failure', new Error('webhook answered 500'));
    await settle();
    expect(ctx.turns()[1]).toMatchObject({ seq: 1, inputKind: 'dtmf', outcome: 'bot-error', error: 'webhook answered 500', botMs: null });
    expect(ctx.turns()).toHaveLength(2); // the apology that follows is not a turn of its own
  });

  it('records a turn the bot answered with only an event (no audio) as silent', async () => {
    const ctx = await startSession({ greeting: [{ text: 'Press a key.' }] });
    ctx.leg.playedAll();
    await press(ctx, '9');
    ctx.clock.advance(200);
    await answer(ctx, { type: 'event', name: 'sendDtmf', activityParams: { dtmfDigits: '123' } });
    ctx.clock.advance(3000);
    await press(ctx, '#');
    expect(ctx.turns()[1]).toMatchObject({ seq: 1, inputText: '9', outcome: 'silent', botMs: 200, firstAudioAt: null, ttsMs: null, e2eMs: null });
  });

  it('does not count the gateway please-wait prompt as the bot answer', async () => {
    const settings = { botNoInputTimeoutMS: 3000, botNoInputRetries: 2, botNoInputSpeech: 'One moment please.' };
    const ctx = await startSession({ settings, greeting: [{ text: 'Enter your account number.' }] });
    ctx.leg.playedAll();
    const pressedAt = ctx.clock.now();
    await press(ctx, '4');
    ctx.clock.advance(3000); // the bot is slow: the caller hears "One moment please."
    await settle();
    expect(ctx.audio.spoken.map((r) => r.text)).toContain('One moment please.');
    ctx.leg.playedAll();
    ctx.clock.advance(1000);
    await answer(ctx, { text: 'Your balance is ten dollars.' });

    expect(ctx.turns()).toHaveLength(2);
    expect(ctx.turns()[1]).toMatchObject({ seq: 1, outcome: 'answered', botAnsweredAt: pressedAt + 4000, botMs: 4000, e2eMs: 4000, firstAudioAt: pressedAt + 4000 });
  });
});
