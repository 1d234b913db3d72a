import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoskSttProvider } from '../../src/speech/stt/vosk.js';
import type { SttResult } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { VoskServer } from '../support/vosk-server.js';
import { littleEndianBytes, resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Vosk STT: partial results, then the final on endOfUtterance', () => {
  let server: VoskServer;
  let provider: VoskSttProvider;
  beforeEach(async () => {
    server = await VoskServer.start();
    provider = new VoskSttProvider({ url: server.url, logger: silentLogger() });
  });
  afterEach(() => server.close());

  it('opens with the config frame, skips empty and repeated partials, and finalizes with {"eof" : 1}', async () => {
    server.nextUtterance('pay my bill', { partials: ['pay', 'pay my'], partialEveryMs: 100, conf: [1, 0.8, 0.6] });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const connection = await server.connection();
    const results = resultsUntilFinal(session);

    const frames = toneFrames(20); // 400 ms: partials "pay" at 100 ms, "pay my" from 200 ms on
    for (const f of frames) session.write(f);
    await connection.waitForAudioBytes(20 * 320);
    session.endOfUtterance();

    const all = await results;
    expect(all).toEqual([
      { text: 'pay', final: false },
      { text: 'pay my', final: false },
      { text: 'pay my bill', final: true, confidence: expect.closeTo(0.8, 10) as number },
    ]);
    expect(connection.configs).toEqual([{ sample_rate: 8000, words: true, max_alternatives: 0 }]);
    expect(connection.textMessages).toEqual(['{"eof" : 1}']);
    expect(connection.audio()).toEqual(littleEndianBytes(frames));
    expect((await connection.closed).code).toBe(1000);
    session.close();
  });

  it('streams the next utterance on a fresh connection, keeping the audio written in between', async () => {
    server.nextUtterance('yes');
    server.nextUtterance('no thanks');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const finals: SttResult[] = [];
    session.on('result', (r) => r.final && finals.push(r));
    const first = await server.connection(0);

    const one = toneFrames(10);
    for (const f of one) session.write(f);
    session.endOfUtterance();
    // Written while the first connection is still finishing: it belongs to the second utterance.
    const two = toneFrames(15);
    for (const f of two) session.write(f);

    const second = await server.connection(1);
    await second.waitForAudioBytes(15 * 320);
    session.endOfUtterance();
    await second.closed;

    expect(finals.map((r) => r.text)).toEqual(['yes', 'no thanks']);
    expect(first.audio()).toEqual(littleEndianBytes(one));
    expect(second.audio()).toEqual(littleEndianBytes(two));
    expect(second.configs).toHaveLength(1);
    session.close();
  });

  it('sends no eof for an utterance the connection heard nothing of', async () => {
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const connection = await server.connection();
    await connection.waitForConfig();
    session.endOfUtterance();
    session.close();
    expect((await connection.closed).code).toBe(1000);
    expect(connection.textMessages).toEqual([]);
    expect(server.connections).toHaveLength(1);
  });

  it('takes Vosk\'s own endpoint as the final; the eof after it gives no second result', async () => {
    server.nextUtterance('main menu', { endpointAfterMs: 200 });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const connection = await server.connection();
    const results: SttResult[] = [];
    session.on('result', (r) => results.push(r));
    const final = resultsUntilFinal(session);
    for (const f of toneFrames(10)) session.write(f);
    expect((await final).at(-1)).toEqual({ text: 'main menu', final: true, confidence: 1 });

    session.endOfUtterance(); // Vosk answers {"text" : ""}
    await connection.closed;
    await server.connection(1);
    expect(results.filter((r) => r.final)).toHaveLength(1);
    session.close();
  });
});
