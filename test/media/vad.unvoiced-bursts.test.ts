import { describe, expect, it } from 'vitest';
import { VoiceActivityDetector, type VadEvent } from '../../src/media/vad.js';
import { frames, noiseBurst, whiteNoise } from '../support/media-signals.js';

const RATE = 8000;

function eventsFor(x: Int16Array, rate = RATE): VadEvent[] {
  const vad = new VoiceActivityDetector({ sampleRate: rate });
  const events: VadEvent[] = [];
  for (const f of frames(x, rate)) {
    const e = vad.process(f);
    if (e) events.push(e);
  }
  return events;
}

describe('VAD ignores unvoiced noise longer than minSpeechMs', () => {
  it('a 400 ms white-noise burst (a door, a rustle, a cough-like hiss) gives no speech-start', () => {
    for (const level of [-25, -10]) {
      const line = noiseBurst(whiteNoise(4 * RATE, -55, 5), RATE, 1500, 400, level);
      expect(eventsFor(line), `burst at ${level} dBFS`).toEqual([]);
    }
  });

  it('at 16 kHz too', () => {
    const line = noiseBurst(whiteNoise(4 * 16000, -55, 6), 16000, 1500, 400, -15);
    expect(eventsFor(line, 16000)).toEqual([]);
  });
});
