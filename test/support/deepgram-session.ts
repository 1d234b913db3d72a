/** Helpers for Deepgram STT tests: real PCM16 audio frames and awaiting session events. */
import type { SttResult, SttSession } from '../../src/speech/stt/provider.js';

/** `count` consecutive 20 ms frames of a 440 Hz tone, each distinct, so order is checkable. */
export function toneFrames(count: number, sampleRate = 8000): Int16Array[] {
  const perFrame = (sampleRate / 1000) * 20;
  const frames: Int16Array[] = [];
  for (let f = 0; f < count; f++) {
    const frame = new Int16Array(perFrame);
    for (let i = 0; i < perFrame; i++) {
      const n = f * perFrame + i;
      frame[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / sampleRate));
    }
    frames.push(frame);
  }
  return frames;
}

/** The frames as the little-endian bytes Deepgram expects on the wire. */
export function littleEndianBytes(frames: Int16Array[]): Buffer {
  const out = Buffer.alloc(frames.reduce((n, f) => n + f.length * 2, 0));
  let offset = 0;
  for (const frame of frames) for (const sample of frame) offset = out.writeInt16LE(sample, offset);
  return out;
}

/** Collects results until the first final one; rejects on a failure. */
export function resultsUntilFinal(session: SttSession): Promise<SttResult[]> {
  return new Promise((resolve, reject) => {
    const results: SttResult[] = [];
    const onResult = (result: SttResult): void => {
      results.push(result);
      if (!result.final) return;
      session.off('result', onResult);
      session.off('failure', reject);
      resolve(results);
    };
    session.on('result', onResult);
    session.once('failure', reject);
  });
}

export function nextFailure(session: SttSession): Promise<Error> {
  return new Promise((resolve) => session.once('failure', resolve));
}
