import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeepgramSttProvider } from '../../src/speech/stt/deepgram.js';
import { silentLogger } from '../../src/logger.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { FakeClock } from '../support/fake-clock.js';
import { resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

describe('Deepgram STT: close and keep-alive', () => {
  let server: DeepgramServer;
  beforeEach(async () => {
    server = await DeepgramServer.start();
  });
  afterEach(() => server.close());

  it('close() sends CloseStream, still delivers the flushed final, and ends without a failure', async () => {
    server.nextUtterance('That is all.');
    const session = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    const connection = await server.connection();
    const failures: Error[] = [];
    session.on('failure', (e) => failures.push(e));
    const results = resultsUntilFinal(session);
    for (const f of toneFrames(10)) session.write(f);
    await connection.waitForAudioBytes(10 * 320);

    session.close();
    expect(await connection.waitForControl('CloseStream')).toEqual({ type: 'CloseStream' });
    expect((await results).map((r) => r.text)).toEqual(['That is all.']);
    expect((await connection.closed).code).toBe(1000);
    expect(failures).toEqual([]);
    // Audio after close goes nowhere and does not throw.
    session.write(toneFrames(1)[0]!);
    expect(connection.audioBytes).toBe(10 * 320);
  });

  it('close() before the socket opened still delivers the audio already written, then CloseStream', async () => {
    const session = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    for (const f of toneFrames(3)) session.write(f);
    session.close();
    const connection = await server.connection();
    await connection.waitForControl('CloseStream');
    expect(connection.audioBytes).toBe(3 * 320);
    expect((await connection.closed).code).toBe(1000);
  });

  it('sends KeepAlive only during quiet periods longer than keepAliveMs', async () => {
    const clock = new FakeClock();
    const session = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, keepAliveMs: 4000, clock, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    const frames = toneFrames(1);
    session.write(frames[0]!);
    const connection = await server.connection();
    await connection.waitForAudioBytes(320); // flushed on open, so the keep-alive timer runs now

    // Audio kept flowing during the first period: no KeepAlive.
    session.write(frames[0]!);
    clock.advance(4000);
    // Nothing written during the second period: one KeepAlive.
    clock.advance(4000);
    const keepAlive = await connection.waitForControl('KeepAlive');
    expect(keepAlive).toEqual({ type: 'KeepAlive' });
    clock.advance(4000);
    await connection.waitForControl('KeepAlive', 2);
    expect(connection.controlMessages.map((m) => m.type)).toEqual(['KeepAlive', 'KeepAlive']);
    session.close();
    await connection.closed;
    expect(clock.pendingTimers()).toBe(0);
  });

  it('drops the socket if Deepgram never closes after CloseStream (closeTimeoutMs on the clock)', async () => {
    const clock = new FakeClock();
    const session = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, closeTimeoutMs: 5000, clock, logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    session.write(toneFrames(1)[0]!);
    const connection = await server.connection();
    await connection.waitForAudioBytes(320);
    // Make this connection ignore CloseStream, like a hung server.
    connection.socket.removeAllListeners('message');
    const failures: Error[] = [];
    session.on('failure', (e) => failures.push(e));
    session.close();
    clock.advance(5000);
    expect((await connection.closed).code).toBe(1006);
    expect(failures).toEqual([]);
  });
});
