import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VoskSttProvider } from '../../src/speech/stt/vosk.js';
import { silentLogger } from '../../src/logger.js';
import { VoskServer } from '../support/vosk-server.js';
import { toneFrames } from '../support/deepgram-session.js';
import { FakeClock } from '../support/fake-clock.js';

describe('Vosk STT: a server that stops answering while the caller’s audio flows', () => {
  let server: VoskServer;
  beforeEach(async () => {
    server = await VoskServer.start();
  });
  afterEach(() => server.close());

  it('fails the session after idleTimeoutMs and drops the socket', async () => {
    const clock = new FakeClock();
    const session = new VoskSttProvider({ url: server.url, idleTimeoutMs: 4000, clock, logger: silentLogger() }).startSession({ language: 'en-US', sampleRate: 8000 });
    const failures: Error[] = [];
    session.on('failure', (e) => failures.push(e));
    const connection = await server.connection();
    await connection.waitForConfig();
    connection.stall();
    const frame = toneFrames(1)[0]!;
    // The caller keeps talking: a 20 ms frame for every 20 ms of the clock.
    for (let ms = 0; ms < 3980; ms += 20) {
      session.write(frame);
      clock.advance(20);
    }
    expect(failures).toEqual([]);
    session.write(frame);
    clock.advance(20);
    expect(failures.map((e) => e.message)).toEqual(['Vosk STT: the Vosk server sent nothing for 4000 ms while audio was being sent (stt.vosk.idleTimeoutMs); the connection was dropped']);
    await connection.closed;
  });
});
