import { TtsError, type TtsProvider, type TtsRequest } from '../../src/speech/tts/provider.js';
import { concatPcm } from '../../src/media/audio.js';

/**
 * A TTS provider for cache tests: renders each word as a 100 ms tone whose pitch depends on the
 * word, voice and language, so different requests give different audio. Counts calls, can fail
 * after N chunks, and can hold each chunk until the test releases it (to create overlap).
 */
export class ToneTtsProvider implements TtsProvider {
  readonly name = 'tone';
  calls: TtsRequest[] = [];
  failAfterChunks?: number;
  private gate?: { waiting: (() => void)[] };

  /** From now on every chunk waits for release(). */
  hold(): void {
    this.gate = { waiting: [] };
  }

  /** Lets all waiting chunks through and stops holding. */
  release(): void {
    const waiting = this.gate?.waiting ?? [];
    this.gate = undefined;
    for (const w of waiting) w();
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    this.calls.push(req);
    const words = req.text.split(/\s+/).filter(Boolean);
    let emitted = 0;
    for (const word of words) {
      if (this.gate) await new Promise<void>((r) => this.gate!.waiting.push(r));
      signal?.throwIfAborted();
      if (this.failAfterChunks !== undefined && emitted >= this.failAfterChunks) {
        throw new TtsError(this.name, `synthetic failure after ${emitted} chunks`);
      }
      yield tone(`${word}|${req.voice ?? ''}|${req.language}`, req.sampleRate);
      emitted++;
    }
  }
}

function tone(seed: string, sampleRate: number): Int16Array {
  let h = 0;
  for (let i = 0; i < seed.length; i++) h = (h * 31 + seed.charCodeAt(i)) >>> 0;
  const freq = 200 + (h % 800);
  const out = new Int16Array(Math.round(sampleRate / 10));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / sampleRate));
  return out;
}

export async function collectAudio(stream: AsyncIterable<Int16Array>): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  for await (const c of stream) parts.push(c);
  return concatPcm(parts);
}
