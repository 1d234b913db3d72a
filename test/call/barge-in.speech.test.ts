import { beforeAll, describe, expect, it } from 'vitest';
import { concat, frames, noiseBurst, synthesizeSpeech, whiteNoise } from '../support/media-signals.js';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

const RATE = 8000;
let speech: Int16Array;
let lineNoise: Int16Array;

beforeAll(async () => {
  speech = await synthesizeSpeech('Hold on, I want to talk to a person please.', RATE);
  lineNoise = whiteNoise(RATE, -60); // one second of quiet line noise while the caller listens
});

/** Feeds 20 ms frames to the leg, advancing the fake clock with them; stops early when `until` holds. */
async function talk(ctx: Awaited<ReturnType<typeof startSession>>, audio: Int16Array, until?: () => boolean): Promise<number> {
  let ms = 0;
  for (const frame of frames(audio, RATE)) {
    ctx.clock.advance(20);
    ctx.leg.emit('audio', frame);
    ms += 20;
    if (until?.()) break;
  }
  await settle();
  return ms;
}

describe('barge-in by speech', () => {
  const greeting = [{ text: 'Thank you for calling. Our menu has changed, so please listen carefully.' }];

  it('clears the prompt once the caller has spoken for the configured minimum, not before', async () => {
    const ctx = await startSession({ settings: { bargeIn: true, bargeInMinSpeechMs: 300 }, greeting, durationsMs: { [greeting[0].text]: 10_000 } });
    await talk(ctx, lineNoise);
    expect(ctx.leg.count('clear')).toBe(0);
    const start = ctx.clock.now();
    await talk(ctx, speech, () => ctx.leg.count('clear') > 0);
    const reactedAfterMs = ctx.clock.now() - start;
    expect(ctx.leg.count('clear')).toBe(1);
    // Speech starts in the first frames of the clip: the reaction comes at the minimum, plus a few frames of onset.
    expect(reactedAfterMs).toBeGreaterThanOrEqual(300);
    expect(reactedAfterMs).toBeLessThan(500);
    expect(ctx.prompts()).toMatchObject([{ heardInFull: false }]);
  });

  it('lets the prompt play on when barge-in is off (the default)', async () => {
    const ctx = await startSession({ greeting, durationsMs: { [greeting[0].text]: 10_000 } });
    await talk(ctx, concat(lineNoise, speech));
    expect(ctx.leg.count('clear')).toBe(0);
  });

  it('does not barge in on a short noise burst (150 ms) on the line', async () => {
    const ctx = await startSession({ settings: { bargeIn: true, bargeInMinSpeechMs: 200 }, greeting, durationsMs: { [greeting[0].text]: 10_000 } });
    const burst = noiseBurst(whiteNoise(2 * RATE, -60, 3), RATE, 1200, 150, -15);
    await talk(ctx, burst);
    expect(ctx.leg.count('clear')).toBe(0);
  });
});
