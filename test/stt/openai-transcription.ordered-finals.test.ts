import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiTranscriptionProvider, type OpenAiTranscriptionOptions } from '../../src/speech/stt/openai-transcription.js';
import type { SttResult, SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { OpenAiTranscriptionServer } from '../support/openai-transcription-server.js';
import { toneFrames } from '../support/deepgram-session.js';

const silence = (count: number, rate = 8000) => Array.from({ length: count }, () => new Int16Array((rate / 1000) * 20));

function collect(session: SttSession): SttResult[] {
  const results: SttResult[] = [];
  session.on('result', (r) => results.push(r));
  return results;
}

function finals(session: SttSession, count: number): Promise<SttResult[]> {
  return new Promise((resolve, reject) => {
    const seen: SttResult[] = [];
    session.on('result', (r) => {
      if (!r.final) return;
      seen.push(r);
      if (seen.length === count) resolve(seen);
    });
    session.once('failure', reject);
  });
}

describe('OpenAI STT: one final per utterance, in utterance order', () => {
  let server: OpenAiTranscriptionServer;
  beforeEach(async () => {
    server = await OpenAiTranscriptionServer.start('sk-test-key');
  });
  afterEach(() => server.close());

  const provider = (extra: Partial<OpenAiTranscriptionOptions> = {}) =>
    new OpenAiTranscriptionProvider({ baseUrl: server.url, apiKey: 'sk-test-key', model: 'whisper-1', logger: silentLogger(), ...extra });

  it('uploads the utterance as a WAV on endOfUtterance and delivers the text as a final result', async () => {
    server.reply('I would like to check my balance.');
    const session = provider().startSession({ language: 'en-US', sampleRate: 8000 });
    const tone = toneFrames(25);
    for (const f of tone) session.write(f);
    const done = finals(session, 1);
    session.endOfUtterance();

    expect(await done).toEqual([{ text: 'I would like to check my balance.', final: true }]);
    const request = await server.request(0);
    expect(request.headers.authorization).toBe('Bearer sk-test-key');
    expect(request.fields).toMatchObject({ model: 'whisper-1', response_format: 'json', language: 'en' });
    expect(request.fields.stream).toBeUndefined();
    expect(request.fileName).toBe('utterance.wav');
    expect(request.fileType).toBe('audio/wav');
    expect(request.audio.sampleRate).toBe(8000);
    expect(Array.from(request.audio.samples)).toEqual(tone.flatMap((f) => Array.from(f)));
    session.close();
  });

  it('delivers finals in utterance order even when the later upload is answered first', async () => {
    server.reply('first thing', { held: true });
    server.reply('second thing');
    const session = provider().startSession({ language: 'en-US', sampleRate: 8000 });
    const results = collect(session);
    const done = finals(session, 2);

    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();

    const first = await server.request(0);
    await server.request(1);
    // The second answer is in; it waits for the first utterance's.
    first.release();
    await done;
    expect(results.map((r) => r.text)).toEqual(['first thing', 'second thing']);
    session.close();
  });

  it('gives no result for an empty transcript and does not upload pure silence', async () => {
    server.reply('   ');
    server.reply('yes');
    const session = provider().startSession({ language: 'en-US', sampleRate: 8000 });
    const results = collect(session);

    for (const f of silence(50)) session.write(f);
    session.endOfUtterance(); // silence only: nothing to transcribe
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance(); // transcribed as whitespace
    for (const f of toneFrames(10)) session.write(f);
    const done = finals(session, 1);
    session.endOfUtterance();

    expect(await done).toEqual([{ text: 'yes', final: true }]);
    expect(results).toEqual([{ text: 'yes', final: true }]);
    expect(server.requests).toHaveLength(2);
    session.close();
  });

  it('trims leading silence to a short pre-roll so a prompt-long wait is not uploaded', async () => {
    server.reply('hello');
    const session = provider().startSession({ language: 'en-US', sampleRate: 8000 });
    for (const f of silence(100)) session.write(f); // 2 s of the caller listening
    const tone = toneFrames(10);
    for (const f of tone) session.write(f);
    const done = finals(session, 1);
    session.endOfUtterance();
    await done;
    const { audio } = await server.request(0);
    // 200 ms of pre-roll (10 frames of 160 samples) and the 200 ms spoken.
    expect(audio.samples.length).toBe(20 * 160);
    expect(Array.from(audio.samples.subarray(10 * 160))).toEqual(tone.flatMap((f) => Array.from(f)));
    session.close();
  });

  it('keeps only the latest maxUtteranceMs of a long utterance', async () => {
    server.reply('the end of a long story');
    const session = provider({ maxUtteranceMs: 1000 }).startSession({ language: 'en-US', sampleRate: 8000 });
    const tone = toneFrames(100); // 2 s
    for (const f of tone) session.write(f);
    const done = finals(session, 1);
    session.endOfUtterance();
    await done;
    const { audio } = await server.request(0);
    expect(audio.samples.length).toBe(8000);
    expect(Array.from(audio.samples)).toEqual(tone.slice(50).flatMap((f) => Array.from(f)));
    session.close();
  });

  it('works with a self-hosted server that needs no API key', async () => {
    const open = await OpenAiTranscriptionServer.start(null);
    try {
      open.reply('Guten Tag.');
      const session = new OpenAiTranscriptionProvider({ baseUrl: open.url, model: 'Systran/faster-whisper-small', logger: silentLogger() }).startSession({
        language: 'de-DE',
        sampleRate: 16000,
      });
      for (const f of toneFrames(10, 16000)) session.write(f);
      const done = finals(session, 1);
      session.endOfUtterance();
      expect(await done).toEqual([{ text: 'Guten Tag.', final: true }]);
      const request = await open.request(0);
      expect(request.headers.authorization).toBeUndefined();
      expect(request.fields.language).toBe('de');
      expect(request.audio.sampleRate).toBe(16000);
      session.close();
    } finally {
      await open.close();
    }
  });
});
