import { describe, expect, it } from 'vitest';
import { SpeechPromptAudio } from '../../src/speech/speech-prompt-audio.js';
import { TtsError, type TtsProvider, type TtsRequest } from '../../src/speech/tts/provider.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';

const req: TtsRequest = { text: 'Your order has shipped.', language: 'en-US', voice: 'vendor-voice-7', sampleRate: 8000 };

/** A provider whose behaviour the test controls; it records what it was asked and whether it was aborted. */
class ControlledTts implements TtsProvider {
  readonly requests: TtsRequest[] = [];
  aborted = 0;
  constructor(
    readonly name: string,
    private readonly behaviour: 'tone' | 'hang' | 'fail' | 'fail-after-audio',
  ) {}
  async *synthesize(r: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    this.requests.push(r);
    if (this.behaviour === 'fail') throw new TtsError(this.name, '401 invalid_api_key');
    if (this.behaviour === 'hang') {
      await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
      this.aborted++;
      throw new Error('aborted');
    }
    yield new Int16Array(160).fill(this.name === 'primary' ? 1000 : 2000);
    if (this.behaviour === 'fail-after-audio') throw new TtsError(this.name, 'stream broke off after 320 bytes');
    yield new Int16Array(160).fill(this.name === 'primary' ? 1000 : 2000);
  }
}

async function collect(it: AsyncIterable<Int16Array>): Promise<number[]> {
  const levels: number[] = [];
  for await (const chunk of it) levels.push(chunk[0]);
  return levels;
}

const opts = (firstAudioTimeoutMs?: number) => ({ noCache: true, signal: new AbortController().signal, firstAudioTimeoutMs });

describe('prompt speech: fallback voice and first-audio deadline', () => {
  it('speaks with the main provider when it works', async () => {
    const audio = new SpeechPromptAudio(new ControlledTts('primary', 'tone'), { fallback: new ControlledTts('fallback', 'tone') });
    expect(await collect(audio.speak(req, opts(1000)))).toEqual([1000, 1000]);
  });

  it('a provider error before any audio is spoken by the fallback voice (without the vendor’s voice name)', async () => {
    const fallback = new ControlledTts('fallback', 'tone');
    const audio = new SpeechPromptAudio(new ControlledTts('primary', 'fail'), { fallback, logger: silentLogger() });
    expect(await collect(audio.speak(req, opts()))).toEqual([2000, 2000]);
    expect(fallback.requests).toEqual([{ ...req, voice: undefined }]);
  });

  it('a provider that sends nothing within ttsTimeoutMS is aborted and the fallback speaks', async () => {
    const clock = new FakeClock();
    const primary = new ControlledTts('primary', 'hang');
    const audio = new SpeechPromptAudio(primary, { fallback: new ControlledTts('fallback', 'tone'), clock, logger: silentLogger() });
    const result = collect(audio.speak(req, opts(3000)));
    await new Promise((r) => setImmediate(r));
    clock.advance(2999);
    await new Promise((r) => setImmediate(r));
    expect(primary.aborted).toBe(0);
    clock.advance(1);
    expect(await result).toEqual([2000, 2000]);
    expect(primary.aborted).toBe(1);
  });

  it('without a fallback the deadline is an error naming the provider and the setting', async () => {
    const clock = new FakeClock();
    const audio = new SpeechPromptAudio(new ControlledTts('primary', 'hang'), { clock });
    const result = collect(audio.speak(req, opts(3000)));
    await new Promise((r) => setImmediate(r));
    clock.advance(3000);
    await expect(result).rejects.toThrow(/TTS provider "primary": no audio within 3000 ms \(ttsTimeoutMS\)/);
  });

  it('a failure after audio started is not restarted in another voice', async () => {
    const fallback = new ControlledTts('fallback', 'tone');
    const audio = new SpeechPromptAudio(new ControlledTts('primary', 'fail-after-audio'), { fallback });
    const levels: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of audio.speak(req, opts(1000))) levels.push(chunk[0]);
      })(),
    ).rejects.toThrow(/broke off/);
    expect(levels).toEqual([1000]);
    expect(fallback.requests).toEqual([]);
  });
});
