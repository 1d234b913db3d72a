import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeepgramSttProvider } from '../../src/speech/stt/deepgram.js';
import type { SttResult } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { FakeClock } from '../support/fake-clock.js';
import { toneFrames } from '../support/deepgram-session.js';

describe('Deepgram STT: results stop arriving while the caller’s audio still flows', () => {
  let server: DeepgramServer;
  beforeEach(async () => {
    server = await DeepgramServer.start();
  });
  afterEach(() => server.close());

  function startSession(clock: FakeClock, idleTimeoutMs?: number) {
    const session = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, clock, logger: silentLogger(), ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}) }).startSession({ language: 'en-US', sampleRate: 8000 });
    const results: SttResult[] = [];
    const failures: Error[] = [];
    session.on('result', (r) => results.push(r));
    session.on('failure', (e) => failures.push(e));
    return { session, results, failures };
  }

  it('fails the session after idleTimeoutMs (default 8 s) and drops the socket', async () => {
    const clock = new FakeClock();
    server.nextUtterance('where is my parcel', { interim: ['where'], interimEveryMs: 100 });
    const { session, results, failures } = startSession(clock);
    const frame = toneFrames(1)[0]!;
    const connection = await server.connection();
    const interim = new Promise((resolve) => session.once('result', resolve));
    for (let i = 0; i < 5; i++) session.write(frame);
    await interim;
    expect(results).toEqual([{ text: 'where', final: false, confidence: 0.98 }]);

    connection.stall();
    // The caller keeps talking: a 20 ms frame for every 20 ms of the clock.
    for (let ms = 0; ms < 7980; ms += 20) {
      session.write(frame);
      clock.advance(20);
    }
    expect(failures).toEqual([]);
    session.write(frame);
    clock.advance(20);
    expect(failures.map((e) => e.message)).toEqual(['Deepgram STT: Deepgram sent nothing for 8000 ms while audio was being sent (stt.deepgram.idleTimeoutMs); the connection was dropped']);
    await connection.closed;
  });

  it('a pause in the audio (nothing to answer) is not a stall', async () => {
    const clock = new FakeClock();
    const { session, failures } = startSession(clock, 3000);
    const connection = await server.connection();
    session.write(toneFrames(1)[0]!);
    await connection.waitForAudioBytes(320);
    clock.advance(30_000);
    expect(failures).toEqual([]);
    session.close();
    await connection.closed;
  });
});
