import { describe, expect, it } from 'vitest';
import { VoiceActivityDetector, type VadEvent } from '../../src/media/vad.js';
import { BABBLE_VOICES, SENTENCES, babble, clicks, concat, frames, hum, mix, mixAtSnr, noiseBurst, silence, synthesizeSpeech, whiteNoise } from '../support/media-signals.js';

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

async function babbleTalkers(rate: number): Promise<Int16Array[]> {
  const talkers: Int16Array[] = [];
  for (let i = 0; i < 6; i++) {
    const text = SENTENCES.slice(i).concat(SENTENCES.slice(0, i)).join(' ');
    talkers.push(await synthesizeSpeech(text, rate, BABBLE_VOICES[i]));
  }
  return talkers;
}

describe('VAD does not fire on line noise', () => {
  it('5 s of white noise at -40 dBFS (a hissy line) gives no speech-start', () => {
    expect(eventsFor(whiteNoise(5 * RATE, -40, 1))).toEqual([]);
  });

  it('loud white noise at -20 dBFS gives no speech-start, at 16 kHz too', () => {
    expect(eventsFor(whiteNoise(5 * RATE, -20, 2))).toEqual([]);
    expect(eventsFor(whiteNoise(5 * 16000, -20, 2), 16000)).toEqual([]);
  });

  it('50 Hz and 60 Hz hum with harmonics, alone and under hiss, gives no speech-start', () => {
    expect(eventsFor(hum(5 * RATE, RATE, -25, 50))).toEqual([]);
    expect(eventsFor(mix(hum(5 * RATE, RATE, -25, 60, 12), whiteNoise(5 * RATE, -50, 3)))).toEqual([]);
  });

  it('10 s of six-talker babble at -30 dBFS (10 dB under a -20 dBFS caller) gives no speech-start', async () => {
    const talkers = await babbleTalkers(RATE);
    expect(eventsFor(babble(talkers, 10 * RATE, -30, 21))).toEqual([]);
  });

  it('after the caller speaks, babble 10 dB below the caller brings no new utterance', async () => {
    const talkers = await babbleTalkers(RATE);
    const speech = await synthesizeSpeech(SENTENCES[1], RATE);
    const clean = concat(silence(1000, RATE), speech, silence(6000, RATE));
    const noisy = mixAtSnr(clean, babble(talkers, clean.length, -30, 4), RATE, 10);
    const events = eventsFor(noisy);
    expect(events.map((e) => e.type)).toEqual(['speech-start', 'speech-end']);
  });

  it('clicks on a quiet line give no speech-start', () => {
    const line = clicks(whiteNoise(5 * RATE, -55, 5), RATE, [500, 1000, 1040, 1500, 2300, 3100, 3900], 25000);
    expect(eventsFor(line)).toEqual([]);
  });

  it('a 150 ms noise burst (shorter than minSpeechMs) gives no speech-start', () => {
    for (const at of [1000, 1010, 1013, 1019]) {
      const line = noiseBurst(whiteNoise(3 * RATE, -55, 5), RATE, at, 150, -15);
      expect(eventsFor(line), `burst at ${at} ms`).toEqual([]);
    }
  });
});
