import { describe, expect, it } from 'vitest';
import { VoiceActivityDetector, type VadEvent } from '../../src/media/vad.js';
import { concat, frames, mix, silence, speechFrameLabels, synthesizeSpeech, tone, whiteNoise } from '../support/media-signals.js';

const RATE = 8000;

/** Runs the frames and returns events with the index of the frame that produced them. */
function run(vad: VoiceActivityDetector, x: Int16Array): { frame: number; event: VadEvent }[] {
  const out: { frame: number; event: VadEvent }[] = [];
  frames(x, RATE).forEach((f, frame) => {
    const event = vad.process(f);
    if (event) out.push({ frame, event });
  });
  return out;
}

/** A syllable-like voiced sound: a 200 Hz-rich buzz with formant-ish tones, steady for `ms`. */
function vowel(ms: number): Int16Array {
  const n = (ms * RATE) / 1000;
  return mix(mix(tone(200, RATE, n, 6000), tone(700, RATE, n, 5000)), tone(1200, RATE, n, 3000));
}

describe('VAD endpointing', () => {
  it('speech-end fires once silenceMs of silence has passed, not before', async () => {
    const speech = await synthesizeSpeech('Please tell me your account number.', RATE);
    const x = concat(silence(500, RATE), speech, silence(2000, RATE));
    const line = mix(x, whiteNoise(x.length, -60, 9));
    for (const silenceMs of [400, 700, 1000]) {
      const vad = new VoiceActivityDetector({ sampleRate: RATE, silenceMs });
      const events = run(vad, line);
      expect(events.map((e) => e.event.type)).toEqual(['speech-start', 'speech-end']);
      // espeak-ng pads its output with silence, so the end of speech comes from the clean signal's labels.
      const lastSpeechFrame = speechFrameLabels(x, RATE).lastIndexOf(true);
      const endFrame = events[1].frame;
      const silentMs = (endFrame - lastSpeechFrame) * 20;
      expect(silentMs, `silenceMs ${silenceMs}`).toBeGreaterThanOrEqual(silenceMs);
      expect(silentMs, `silenceMs ${silenceMs}`).toBeLessThanOrEqual(silenceMs + 200);
      expect(vad.speaking).toBe(false);
    }
  });

  it('pauses shorter than silenceMs do not end the utterance', () => {
    const vad = new VoiceActivityDetector({ sampleRate: RATE, silenceMs: 700 });
    const x = concat(silence(500, RATE), vowel(400), silence(500, RATE), vowel(400), silence(600, RATE), vowel(300), silence(1000, RATE));
    const events = run(vad, x);
    expect(events.map((e) => e.event.type)).toEqual(['speech-start', 'speech-end']);
    const end = events[1].event;
    // From the first vowel's start to the last vowel's end: 400 + 500 + 400 + 600 + 300 ms.
    expect(end.type === 'speech-end' && Math.abs(end.speechMs - 2200)).toBeLessThanOrEqual(40);
  });

  it('speech-start waits for minSpeechMs and reports how long ago speech began', () => {
    for (const minSpeechMs of [100, 200, 400]) {
      const vad = new VoiceActivityDetector({ sampleRate: RATE, minSpeechMs });
      const events = run(vad, concat(silence(500, RATE), vowel(1000), silence(1000, RATE)));
      expect(events[0].event.type).toBe('speech-start');
      const startFrame = 500 / 20;
      expect(events[0].frame - startFrame + 1, `minSpeechMs ${minSpeechMs}`).toBe(minSpeechMs / 20);
      expect(events[0].event).toEqual({ type: 'speech-start', speechStartedMsAgo: minSpeechMs });
    }
  });

  it('a sound shorter than minSpeechMs never starts an utterance; one just as long does', () => {
    const short = new VoiceActivityDetector({ sampleRate: RATE, minSpeechMs: 300 });
    expect(run(short, concat(silence(500, RATE), vowel(260), silence(1000, RATE)))).toEqual([]);
    expect(short.speaking).toBe(false);
    const long = new VoiceActivityDetector({ sampleRate: RATE, minSpeechMs: 300 });
    expect(run(long, concat(silence(500, RATE), vowel(300), silence(1000, RATE))).map((e) => e.event.type)).toEqual(['speech-start', 'speech-end']);
  });

  it('reset() forgets an utterance in progress', () => {
    const vad = new VoiceActivityDetector({ sampleRate: RATE });
    run(vad, concat(silence(500, RATE), vowel(600)));
    expect(vad.speaking).toBe(true);
    vad.reset();
    expect(vad.speaking).toBe(false);
    expect(vad.lastFrameIsSpeech).toBe(false);
  });

  it('rejects frames of the wrong size and unsupported rates with a clear error', () => {
    const vad = new VoiceActivityDetector({ sampleRate: RATE });
    expect(() => vad.process(new Int16Array(100))).toThrow(/160 samples \(20 ms at 8000 Hz\), got 100/);
    expect(() => new VoiceActivityDetector({ sampleRate: 44100 })).toThrow(/sampleRate must be 8000 or 16000, got 44100/);
    expect(() => new VoiceActivityDetector({ sampleRate: 8000, silenceMs: 0 })).toThrow(/silenceMs/);
  });
});
