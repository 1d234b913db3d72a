import type { TtsProvider, TtsRequest } from '../../src/speech/tts/provider.js';

/**
 * A TTS provider for simulator tests: a 440 Hz tone whose length is `msPerChar` per character of text,
 * yielded in 100 ms chunks, so tests can check how long the caller heard it.
 */
export class ToneTts implements TtsProvider {
  readonly name = 'tone';
  readonly requests: TtsRequest[] = [];

  constructor(private readonly msPerChar = 20) {}

  static durationMs(text: string, msPerChar = 20): number {
    return text.length * msPerChar;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    this.requests.push(req);
    const total = Math.round((req.text.length * this.msPerChar * req.sampleRate) / 1000);
    const chunk = req.sampleRate / 10;
    for (let at = 0; at < total; at += chunk) {
      if (signal?.aborted) return;
      const out = new Int16Array(Math.min(chunk, total - at));
      for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (at + i)) / req.sampleRate));
      yield out;
    }
  }
}

/** Length in ms of the non-silent stretch(es) of `pcm` at `rate` (samples with |v| > threshold, 20 ms granularity). */
export function audibleMs(pcm: Int16Array, rate = 8000, threshold = 200): number {
  const frame = rate / 50;
  let frames = 0;
  for (let f = 0; f + frame <= pcm.length; f += frame) {
    let peak = 0;
    for (let i = f; i < f + frame; i++) peak = Math.max(peak, Math.abs(pcm[i]));
    if (peak > threshold) frames++;
  }
  return frames * 20;
}
