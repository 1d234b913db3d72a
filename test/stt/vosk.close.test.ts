import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoskSttProvider } from '../../src/speech/stt/vosk.js';
import type { SttResult } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { VoskServer } from '../support/vosk-server.js';
import { littleEndianBytes, toneFrames } from '../support/deepgram-session.js';
import { FakeClock } from '../support/fake-clock.js';

describe('Vosk STT: close()', () => {
  let server: VoskServer;
  beforeEach(async () => {
    server = await VoskServer.start();
  });
  afterEach(() => server.close());

  const events = (session: ReturnType<VoskSttProvider['startSession']>) => {
    const seen: Array<SttResult | Error> = [];
    session.on('result', (r) => seen.push(r));
    session.on('failure', (e) => seen.push(e));
    return seen;
  };

  it('sends eof, delivers the last final, and lets Vosk close the connection with 1000', async () => {
    server.nextUtterance('goodbye');
    const session = new VoskSttProvider({ url: server.url, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 8000 });
    const seen = events(session);
    const connection = await server.connection();
    for (const f of toneFrames(10)) session.write(f);
    await connection.waitForAudioBytes(10 * 320);
    session.close();
    expect((await connection.closed).code).toBe(1000);
    expect(connection.textMessages).toEqual(['{"eof" : 1}']);
    expect(seen).toEqual([{ text: 'goodbye', final: true, confidence: 1 }]);
    // No new connection after close, and writing is harmless.
    session.write(toneFrames(1)[0]!);
    session.endOfUtterance();
    expect(server.connections).toHaveLength(1);
  });

  it('flushes audio written while still connecting before closing', async () => {
    server.nextUtterance('hi');
    const session = new VoskSttProvider({ url: server.url, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 8000 });
    const seen = events(session);
    const frames = toneFrames(5);
    for (const f of frames) session.write(f); // the socket is not open yet
    session.close();
    const connection = await server.connection();
    expect((await connection.closed).code).toBe(1000);
    expect(connection.audio()).toEqual(littleEndianBytes(frames));
    expect(seen).toEqual([{ text: 'hi', final: true, confidence: 1 }]);
  });

  it('while an utterance is finishing, waits for its final and opens no new connection', async () => {
    server.nextUtterance('one');
    const session = new VoskSttProvider({ url: server.url, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 8000 });
    const seen = events(session);
    const connection = await server.connection();
    await connection.waitForConfig();
    for (const f of toneFrames(5)) session.write(f);
    session.endOfUtterance();
    session.close();
    await connection.closed;
    expect(seen).toEqual([{ text: 'one', final: true, confidence: 1 }]);
    expect(server.connections).toHaveLength(1);
  });

  it('drops a connection that does not close after eof, without reporting a failure', async () => {
    const clock = new FakeClock();
    const session = new VoskSttProvider({ url: server.url, eofTimeoutMs: 1000, clock, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    const seen = events(session);
    const connection = await server.connection();
    await connection.waitForConfig();
    connection.stall();
    for (const f of toneFrames(5)) session.write(f);
    session.close();
    await connection.waitForText('{"eof" : 1}');
    clock.advance(1000);
    await connection.closed;
    expect(seen).toEqual([]);
  });
});
