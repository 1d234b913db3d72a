import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeepgramSttProvider } from '../../src/speech/stt/deepgram.js';
import type { SttResult } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Deepgram STT: interim and final results', () => {
  let server: DeepgramServer;
  let provider: DeepgramSttProvider;
  beforeEach(async () => {
    server = await DeepgramServer.start();
    provider = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, logger: silentLogger() });
  });
  afterEach(() => server.close());

  it('delivers interim results as final:false, then the final on endOfUtterance (Finalize)', async () => {
    server.nextUtterance('Goodbye.', { interim: ['good', 'goodbye'], confidence: 0.93 });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const connection = await server.connection();
    const results = resultsUntilFinal(session);
    const interims: SttResult[] = [];
    session.on('result', (r) => !r.final && interims.push(r));

    for (const f of toneFrames(15)) session.write(f);
    await connection.waitForAudioBytes(15 * 320);
    // Without Finalize no final arrives: the double only finalizes on request here.
    expect(connection.controlMessages).toEqual([]);
    session.endOfUtterance();

    expect(await connection.waitForControl('Finalize')).toEqual({ type: 'Finalize' });
    expect(await results).toEqual([
      { text: 'good', final: false, confidence: 0.93 },
      { text: 'goodbye', final: false, confidence: 0.93 },
      { text: 'Goodbye.', final: true, confidence: 0.93 },
    ]);
    expect(interims).toHaveLength(2);
    session.close();
  });

  it('delivers Deepgram-endpointed finals (speech_final) without endOfUtterance, one per utterance', async () => {
    server.nextUtterance('I need help with my bill.', { interim: ['I need'], finalAfterMs: 300 });
    server.nextUtterance('Account one two three.', { finalAfterMs: 200 });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    await server.connection();
    const first = resultsUntilFinal(session);
    const frames = toneFrames(25);
    for (const f of frames.slice(0, 15)) session.write(f);
    expect((await first).map((r) => [r.text, r.final])).toEqual([
      ['I need', false],
      ['I need help with my bill.', true],
    ]);
    const second = resultsUntilFinal(session);
    for (const f of frames.slice(15)) session.write(f);
    expect((await second).map((r) => r.text)).toEqual(['Account one two three.']);
    session.close();
  });

  it('skips empty transcripts (a Finalize over silence) instead of reporting an empty utterance', async () => {
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const connection = await server.connection();
    const seen: SttResult[] = [];
    session.on('result', (r) => seen.push(r));
    for (const f of toneFrames(5)) session.write(f);
    session.endOfUtterance();
    await connection.waitForControl('Finalize');
    // Next utterance proves the empty final was received and dropped, not merely still in flight.
    server.nextUtterance('hello');
    const next = resultsUntilFinal(session);
    session.endOfUtterance();
    expect((await next).map((r) => r.text)).toEqual(['hello']);
    expect(seen.map((r) => r.text)).toEqual(['hello']);
    session.close();
  });

  it('ignores Metadata, SpeechStarted and UtteranceEnd messages', async () => {
    server.nextUtterance('transfer me');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const connection = await server.connection();
    const failures: Error[] = [];
    session.on('failure', (e) => failures.push(e));
    const results = resultsUntilFinal(session);
    connection.sendRaw(JSON.stringify({ type: 'SpeechStarted', channel: [0], timestamp: 0.1 }));
    connection.sendRaw(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 0.9 }));
    connection.sendRaw(JSON.stringify({ type: 'Metadata', request_id: 'x', duration: 0, channels: 1 }));
    for (const f of toneFrames(5)) session.write(f);
    session.endOfUtterance();
    expect((await results).map((r) => r.text)).toEqual(['transfer me']);
    expect(failures).toEqual([]);
    session.close();
  });
});
