import { afterAll, describe, expect, it } from 'vitest';
import { durationMs, rmsDbfs } from '../../src/media/audio.js';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { EspeakEngine, EspeakTtsProvider } from '../../src/speech/tts/espeak.js';
import { TtsError } from '../../src/speech/tts/provider.js';
import { collectAudio } from '../support/tts-tone-provider.js';

const engine = new EspeakEngine();
const espeak = new EspeakTtsProvider({ engine });
afterAll(() => engine.close());

/** Zero crossings per second: a rough pitch/brightness measure, higher for a female voice. */
function zeroCrossingRate(samples: Int16Array, sampleRate: number): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1] < 0 !== samples[i] < 0) n++;
  return (n * sampleRate) / samples.length;
}

describe('EspeakTtsProvider: offline speech', () => {
  it('speaks a sentence as audible PCM16 at the requested rate', async () => {
    const audio = await collectAudio(espeak.synthesize({ text: 'Hello, this is Voxgate.', language: 'en-US', sampleRate: 8000 }));
    const ms = durationMs(audio.length, 8000);
    expect(ms).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(3500);
    expect(rmsDbfs(audio)).toBeGreaterThan(-35);
  });

  it('streams one chunk per sentence, resampled to the leg rate', async () => {
    const text = 'Welcome to Voxgate. Press one for opening hours! Or press two?';
    const at16k: number[] = [];
    for await (const c of espeak.synthesize({ text, language: 'en-US', sampleRate: 16000 })) at16k.push(c.length);
    const native = await collectAudio(espeak.synthesize({ text, language: 'en-US', sampleRate: 22050 }));
    expect(at16k.filter((n) => n > 1000)).toHaveLength(3); // plus at most a short resampler tail
    const total16k = at16k.reduce((a, b) => a + b, 0);
    expect(Math.abs(total16k / 16000 - native.length / 22050)).toBeLessThan(0.01);
  });

  it('maps language tags to espeak voices and rejects unknown ones by name', async () => {
    const german = await collectAudio(espeak.synthesize({ text: 'Guten Tag.', language: 'de-DE', sampleRate: 8000 }));
    expect(rmsDbfs(german)).toBeGreaterThan(-35);
    const british = await collectAudio(espeak.synthesize({ text: 'Good day.', language: 'en-GB', sampleRate: 8000 }));
    expect(british.length).toBeGreaterThan(4000);
    const bad = collectAudio(espeak.synthesize({ text: 'Hi.', language: 'xx-YY', sampleRate: 8000 }));
    await expect(bad).rejects.toBeInstanceOf(TtsError);
    await expect(bad).rejects.toThrow('unsupported language "xx-YY"');
  });

  it('a female voice is higher pitched than a male one; unknown voices are rejected', async () => {
    const req = { text: 'The quick brown fox jumps over the lazy dog.', language: 'en-US', sampleRate: 16000 };
    const female = await collectAudio(espeak.synthesize({ ...req, voice: 'female' }));
    const male = await collectAudio(espeak.synthesize({ ...req, voice: 'MAN' }));
    expect(zeroCrossingRate(female, 16000)).toBeGreaterThan(zeroCrossingRate(male, 16000) * 1.1);
    await expect(collectAudio(espeak.synthesize({ ...req, voice: 'robot-9000' }))).rejects.toThrow('unsupported voice "robot-9000"');
  });

  it('renders SSML breaks when ssml is set, and reads markup literally otherwise', async () => {
    const plain = await collectAudio(espeak.synthesize({ text: '<speak>Hello world</speak>', ssml: true, language: 'en-US', sampleRate: 8000 }));
    const withBreak = await collectAudio(
      espeak.synthesize({ text: '<speak>Hello <break time="1500ms"/> world</speak>', ssml: true, language: 'en-US', sampleRate: 8000 }),
    );
    expect(durationMs(withBreak.length - plain.length, 8000)).toBeGreaterThan(1300);
    const literal = await collectAudio(espeak.synthesize({ text: '<speak>Hello world</speak>', language: 'en-US', sampleRate: 8000 }));
    expect(literal.length).toBeGreaterThan(plain.length); // the tags are spoken, not obeyed
  });

  it('a faster speaking rate gives shorter audio', async () => {
    const req = { text: 'Our opening hours are nine to five, Monday to Friday.', language: 'en-US', sampleRate: 8000 };
    const slow = await collectAudio(new EspeakTtsProvider({ engine, wordsPerMinute: 120 }).synthesize(req));
    const fast = await collectAudio(new EspeakTtsProvider({ engine, wordsPerMinute: 300 }).synthesize(req));
    expect(fast.length).toBeLessThan(slow.length * 0.7);
    expect(() => new EspeakTtsProvider({ engine, wordsPerMinute: 5 })).toThrow('wordsPerMinute must be between 80 and 450');
  });

  it('stops between sentences when the signal aborts', async () => {
    const controller = new AbortController();
    const chunks: Int16Array[] = [];
    const run = (async () => {
      for await (const c of espeak.synthesize(
        { text: 'First sentence. Second sentence. Third sentence. Fourth sentence.', language: 'en-US', sampleRate: 22050 },
        controller.signal,
      )) {
        chunks.push(c);
        controller.abort(new Error('caller hung up'));
      }
    })();
    await expect(run).rejects.toThrow('caller hung up');
    expect(chunks).toHaveLength(1);
  });

  it('through the TTS cache, the second request is the same audio without synthesis', async () => {
    const cache = new TtsCache();
    const req = { text: 'Thank you for calling.', language: 'en-US', sampleRate: 8000 };
    const first = await collectAudio(cache.synthesize(espeak, req));
    const second = await collectAudio(cache.synthesize(espeak, req));
    expect(second).toEqual(first);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });
});
