import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpeechPromptAudio } from '../../src/speech/speech-prompt-audio.js';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { HttpTtsProvider } from '../../src/speech/tts/http-tts.js';
import { FakeClock } from '../support/fake-clock.js';
import { collectAudio, ToneTtsProvider } from '../support/tts-tone-provider.js';
import { pcm16be, startTtsHttpDouble, tone, type TtsHttpDouble } from '../support/tts-http-server.js';
import type { SpeakOptions } from '../../src/call/prompt-audio.js';

const req = { text: 'Your parcel is on its way', language: 'en-US', sampleRate: 8000 };
/** 500 ms of 440 Hz at 8 kHz as audio/L16: 8000 bytes, written in 4 pieces. */
const speech = pcm16be(tone(440, 500, 8000));
const stallAfterTwoPieces = () => ({ kind: 'audio' as const, contentType: 'audio/L16;rate=8000', bytes: speech, chunks: 4, stallAfterChunks: 2 });
const wholeAnswer = () => ({ kind: 'audio' as const, contentType: 'audio/L16;rate=8000', bytes: speech, chunks: 4 });

/** Lets pending I/O callbacks and promise jobs run (no wall-clock wait). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One call listening to a prompt: what it heard so far and what it reported. */
class Listener {
  readonly heard: Int16Array[] = [];
  readonly fallbacks: { error: string; fallback: string }[] = [];
  readonly done: Promise<void>;
  private arrived?: () => void;

  constructor(audio: SpeechPromptAudio, extra: Partial<SpeakOptions> = {}) {
    const opts: SpeakOptions = { noCache: false, signal: new AbortController().signal, onFallback: (e, fallback) => this.fallbacks.push({ error: e.message, fallback }), ...extra };
    this.done = (async () => {
      for await (const chunk of audio.speak(req, opts)) {
        this.heard.push(chunk);
        this.arrived?.();
      }
    })();
  }

  get samples(): number {
    return this.heard.reduce((n, c) => n + c.length, 0);
  }

  /** Resolves once at least `n` samples were heard. */
  async heardAtLeast(n: number): Promise<void> {
    while (this.samples < n) await new Promise<void>((resolve) => (this.arrived = resolve));
  }
}

describe('TTS: a stream that sends some audio and then stalls', () => {
  let server: TtsHttpDouble;
  let clock: FakeClock;
  let fallback: ToneTtsProvider;
  let cache: TtsCache;
  let audio: SpeechPromptAudio;
  beforeEach(async () => {
    server = await startTtsHttpDouble();
    clock = new FakeClock();
    fallback = new ToneTtsProvider();
    cache = new TtsCache({ clock });
    audio = new SpeechPromptAudio(new HttpTtsProvider({ url: `${server.url}/tts` }), { cache, fallback, clock, idleTimeoutMs: 5000 });
  });
  afterEach(() => server.close());

  it('is aborted after tts.idleTimeoutMs of silence (socket closed) and the fallback voice speaks the prompt', async () => {
    server.genericAnswers.push(stallAfterTwoPieces());
    const call = new Listener(audio);
    await call.heardAtLeast(2000); // two pieces: a quarter second of the vendor's voice
    const socketClosed = server.nextClose();
    await turn();
    clock.advance(4999);
    await turn();
    expect(fallback.calls).toEqual([]);
    clock.advance(1);
    await call.done;
    await socketClosed;
    expect(server.closedEarly).toBe(1);
    const fallbackAudio = await collectAudio(fallback.synthesize({ ...req, voice: undefined }));
    const heard = call.heard.slice(-fallbackAudio.length / 800);
    expect(collectConcat(heard)).toEqual(fallbackAudio);
    expect(call.fallbacks).toEqual([{ fallback: 'tone', error: expect.stringMatching(/^TTS provider "http": the audio stream stalled: nothing for 5000 ms after 250 ms of audio/) }]);
  });

  it('fails every call waiting on the shared synthesis at once, each hears the fallback, and nothing is cached', async () => {
    server.genericAnswers.push(stallAfterTwoPieces());
    const first = new Listener(audio);
    await first.heardAtLeast(2000);
    const second = new Listener(audio); // joins the synthesis in flight (same prompt, same voice)
    await second.heardAtLeast(2000);
    await turn();
    clock.advance(5000);
    await Promise.all([first.done, second.done]);
    expect(server.requests).toHaveLength(1);
    for (const call of [first, second]) {
      expect(call.fallbacks).toHaveLength(1);
      expect(call.samples).toBeGreaterThan(2000 + 4 * 800); // the vendor's start, then the whole prompt in the fallback voice
    }
    expect(cache.stats().entries).toBe(1); // the fallback voice's audio only, nothing of the stalled stream

    // The next call does not inherit the stalled synthesis: the vendor is asked again and heard in full.
    server.genericAnswers.push(wholeAnswer());
    const next = new Listener(audio);
    await next.done;
    expect(server.requests).toHaveLength(2);
    expect(next.samples).toBe(4000);
    expect(next.fallbacks).toEqual([]);
    expect(cache.stats().entries).toBe(2);
  });

  it('without a fallback voice the stall is an error naming the provider and how long it stalled', async () => {
    const alone = new SpeechPromptAudio(new HttpTtsProvider({ url: `${server.url}/tts` }), { cache, clock, idleTimeoutMs: 3000 });
    server.genericAnswers.push(stallAfterTwoPieces());
    const call = new Listener(alone);
    await call.heardAtLeast(2000);
    await turn();
    clock.advance(3000);
    await expect(call.done).rejects.toThrow(/^TTS provider "http": the audio stream stalled: nothing for 3000 ms after 250 ms of audio \(tts\.idleTimeoutMs\)$/);
    expect(cache.stats().entries).toBe(0);
  });

  it('a slow but steady stream is not a stall: each piece restarts the deadline', async () => {
    const gates = [deferredGate(), deferredGate(), deferredGate()];
    server.genericAnswers.push({ ...wholeAnswer(), gates: gates.map((g) => g.promise) });
    const call = new Listener(audio);
    for (const [i, gate] of gates.entries()) {
      await call.heardAtLeast(1000 * (i + 1));
      await turn();
      clock.advance(4000);
      gate.open();
    }
    await call.done;
    expect(call.samples).toBe(4000);
    expect(call.fallbacks).toEqual([]);
  });
});

function collectConcat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function deferredGate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
