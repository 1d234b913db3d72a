import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTtsProvider } from '../../src/speech/tts/http-tts.js';
import { TtsError } from '../../src/speech/tts/provider.js';
import { deferred, encodeWav, pcm16le, startTtsHttpDouble, tone, type TtsHttpDouble } from '../support/tts-http-server.js';

let server: TtsHttpDouble;
beforeAll(async () => {
  server = await startTtsHttpDouble();
});
afterAll(() => server.close());

const req = { text: 'Hello', language: 'en-US', sampleRate: 8000 };

describe('HttpTtsProvider yields audio while the body is still arriving', () => {
  it.each([
    ['audio/wav', encodeWav(tone(440, 1000, 16000), 16000)],
    ['audio/pcm;rate=16000', pcm16le(tone(440, 1000, 16000))],
  ])('%s: the first chunk is yielded before the server sends the rest', async (contentType, bytes) => {
    const gates = [deferred(), deferred(), deferred()];
    server.genericAnswers.push({ kind: 'audio', contentType, bytes, chunks: 4, gates: gates.map((g) => g.promise) });
    const it = new HttpTtsProvider({ url: `${server.url}/tts` }).synthesize(req)[Symbol.asyncIterator]();
    const first = await it.next(); // the server waits on gate 0: a quarter of the audio is on the wire
    expect(first.done).toBe(false);
    expect(first.value.length).toBeGreaterThan(1000);
    expect(first.value.length).toBeLessThan(4000);
    let total = first.value.length;
    for (const g of gates) g.resolve();
    for (let r = await it.next(); !r.done; r = await it.next()) total += r.value.length;
    expect(total).toBe(8000);
  });

  it('a consumer that stops after the first chunk closes the connection', async () => {
    const gate = deferred();
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/pcm;rate=8000', bytes: pcm16le(tone(440, 1000, 8000)), chunks: 4, gates: [gate.promise] });
    const closed = server.nextClose();
    const before = server.closedEarly;
    for await (const chunk of new HttpTtsProvider({ url: `${server.url}/tts` }).synthesize(req)) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await closed;
    expect(server.closedEarly).toBe(before + 1);
    gate.resolve();
  });

  it('no answer headers within requestTimeoutMs -> TtsError naming the deadline', async () => {
    server.genericAnswers.push({ kind: 'silent' });
    const url = `${server.url}/tts`;
    const tts = new HttpTtsProvider({ url, requestTimeoutMs: 100 });
    const err = await (async () => {
      try {
        for await (const _ of tts.synthesize(req)) void _;
      } catch (e) {
        return e as Error;
      }
      throw new Error('synthesis did not fail');
    })();
    expect(err).toBeInstanceOf(TtsError);
    expect(err.message).toBe(`TTS provider "http": POST ${url} gave no answer within 100 ms`);
  });
});
