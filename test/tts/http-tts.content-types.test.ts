import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTtsProvider } from '../../src/speech/tts/http-tts.js';
import {
  collect,
  encodeMuLaw,
  encodeWav,
  pcm16be,
  pcm16le,
  startTtsHttpDouble,
  tone,
  toneFrequency,
  type TtsHttpDouble,
} from '../support/tts-http-server.js';

let server: TtsHttpDouble;
beforeAll(async () => {
  server = await startTtsHttpDouble();
});
afterAll(() => server.close());

const req = { text: 'Hello there', language: 'en-US', voice: 'anna', sampleRate: 8000 };

/** 600 ms of 440 Hz must arrive as 600 ms of 440 Hz at the requested rate, whatever the wire format. */
function expectTone(samples: Int16Array, sampleRate: number, ms = 600, hz = 440): void {
  expect(samples.length).toBe(Math.round((ms * sampleRate) / 1000));
  expect(toneFrequency(samples, sampleRate)).toBeGreaterThan(hz * 0.98);
  expect(toneFrequency(samples, sampleRate)).toBeLessThan(hz * 1.02);
}

describe('HttpTtsProvider answers in each audio content type', () => {
  it('posts text, language, voice and ssml as JSON with the bearer token', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/wav', bytes: encodeWav(tone(440, 600, 16000), 16000) });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts`, token: 'tok-1' });
    await collect(tts.synthesize({ ...req, text: '<speak>Hi</speak>', ssml: true }));
    const posted = server.requests.at(-1)!;
    expect(posted.body).toEqual({ text: '<speak>Hi</speak>', language: 'en-US', voice: 'anna', ssml: true });
    expect(posted.headers.authorization).toBe('Bearer tok-1');
    expect(posted.headers['content-type']).toBe('application/json');
  });

  it('WAV at 16 kHz (header parsed from the first bytes, data streamed) arrives at 8 kHz', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/x-wav', bytes: encodeWav(tone(440, 600, 16000), 16000), chunks: 9 });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize(req)), 8000);
  });

  it('a WAV header split across chunks and a streaming data size of 0xFFFFFFFF still decode', async () => {
    const wav = encodeWav(tone(440, 600, 22050), 22050);
    wav.writeUInt32LE(0xffffffff, 40);
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/wav', bytes: wav, chunks: 400 });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize({ ...req, sampleRate: 16000 })), 16000);
  });

  it('audio/L16;rate=16000 is big-endian network order (RFC 2586)', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/L16;rate=16000', bytes: pcm16be(tone(440, 600, 16000)), chunks: 7 });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize(req)), 8000);
  });

  it('audio/l16 with endianness=little-endian (IBM Watson style) is little-endian', async () => {
    server.genericAnswers.push({
      kind: 'audio',
      contentType: 'audio/l16; rate=24000; endianness=little-endian',
      bytes: pcm16le(tone(440, 600, 24000)),
    });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize(req)), 8000);
  });

  it('audio/pcm;rate=24000 little-endian with odd-sized chunks arrives at 16 kHz', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/pcm;rate=24000', bytes: pcm16le(tone(440, 600, 24000)), chunks: 13 });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize({ ...req, sampleRate: 16000 })), 16000);
  });

  it('audio/basic (8 kHz mu-law) at 8 kHz passes without resampling', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/basic', bytes: encodeMuLaw(tone(440, 600, 8000)) });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize(req)), 8000);
  });

  it('audio/x-mulaw;rate=8000 upsampled to 16 kHz', async () => {
    server.genericAnswers.push({ kind: 'audio', contentType: 'audio/x-mulaw;rate=8000', bytes: encodeMuLaw(tone(440, 600, 8000)) });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize({ ...req, sampleRate: 16000 })), 16000);
  });

  it('JSON {audio_url} (relative) is fetched with GET and decoded', async () => {
    server.genericAnswers.push({ kind: 'audio_url', contentType: 'audio/wav', bytes: encodeWav(tone(440, 600, 16000), 16000) });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts`, token: 'tok-2' });
    expectTone(await collect(tts.synthesize(req)), 8000);
    const get = server.requests.at(-1)!;
    expect(get.method).toBe('GET');
    expect(get.url).toMatch(/^\/audio\/a\d+\.raw$/);
    expect(get.headers.authorization).toBe('Bearer tok-2'); // same origin as the TTS URL
  });

  it('JSON {audio_url} (absolute) with raw L16', async () => {
    server.genericAnswers.push({ kind: 'audio_url', absolute: true, contentType: 'audio/L16;rate=8000', bytes: pcm16be(tone(440, 600, 8000)) });
    const tts = new HttpTtsProvider({ url: `${server.url}/tts` });
    expectTone(await collect(tts.synthesize({ ...req, sampleRate: 16000 })), 16000);
  });
});
