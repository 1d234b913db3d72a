import { afterEach, describe, expect, it } from 'vitest';
import { encodeMuLaw, decodeMuLaw } from '../../src/media/g711.js';
import { RateLimitedWarnings } from '../../src/runtime/rate-limited-warnings.js';
import { FakeClock } from '../support/fake-clock.js';
import { CapturedLogs, answerParams, connectStream, collectFrames, postCallback, startPlivoTestServer, tone, type PlivoTestServer } from '../support/plivo-harness.js';
import { pino } from 'pino';

describe('Plivo caller audio framing', () => {
  let server: PlivoTestServer;
  afterEach(async () => {
    await server.close();
  });

  it('re-frames mu-law chunks of any size into exact 20 ms frames, in order', async () => {
    server = await startPlivoTestServer();
    await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('c1'));
    const client = await connectStream(server, 'c1');
    client.start('c1');
    const leg = await server.handler.waitForLeg('c1');
    const input = tone(160 * 4, 8000, 523);
    const bytes = Buffer.from(encodeMuLaw(input));
    const framesPromise = collectFrames(leg, 4);
    for (const [from, to] of [[0, 100], [100, 101], [101, 400], [400, 640]]) client.media(bytes.subarray(from, to));
    const frames = await framesPromise;
    const joined = new Int16Array(640);
    frames.forEach((f, i) => joined.set(f, i * 160));
    expect([...joined]).toEqual([...decodeMuLaw(bytes)]);
  });

  it('re-frames L16 16 kHz chunks split mid-sample and ignores an outbound track', async () => {
    server = await startPlivoTestServer({ contentType: 'audio/x-l16;rate=16000' });
    await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('c2'));
    const client = await connectStream(server, 'c2');
    client.start('c2', { encoding: 'audio/x-l16', sampleRate: 16000 });
    const leg = await server.handler.waitForLeg('c2');
    const input = tone(320 * 2, 16000, 1000, 20000);
    const bytes = Buffer.alloc(input.length * 2);
    input.forEach((s, i) => bytes.writeInt16LE(s, i * 2));
    const framesPromise = collectFrames(leg, 2);
    // Our own audio echoed on an outbound track must not reach the recognizer.
    client.sendJson({ event: 'media', media: { track: 'outbound', payload: Buffer.alloc(640, 0x7f).toString('base64') } });
    client.media(bytes.subarray(0, 333));
    client.media(bytes.subarray(333, 1001));
    client.media(bytes.subarray(1001));
    const frames = await framesPromise;
    expect(frames.map((f) => f.length)).toEqual([320, 320]);
    expect([...frames[0], ...frames[1]]).toEqual([...input]);
  });

  it('accepts the older "played" name for checkpoint acknowledgements', async () => {
    server = await startPlivoTestServer();
    await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('c3'));
    const client = await connectStream(server, 'c3');
    client.start('c3');
    const leg = await server.handler.waitForLeg('c3');
    const mark = new Promise((resolve) => leg.once('mark', resolve));
    client.sendJson({ event: 'played', name: 'greeting' });
    expect(await mark).toBe('greeting');
    const hangup = new Promise((resolve) => leg.once('hangup', resolve));
    client.sendJson({ event: 'stop', streamId: 'st-c3' });
    expect(await hangup).toEqual({ cause: 'Stream stopped', side: 'carrier' });
  });
});

describe('RateLimitedWarnings', () => {
  it('logs a kind once, then once per interval with the suppressed count', () => {
    const logs = new CapturedLogs();
    const clock = new FakeClock();
    const warnings = new RateLimitedWarnings(pino({ level: 'warn' }, logs.stream), clock, 10_000);
    for (let i = 0; i < 100; i++) warnings.warn('bad-json', 'bad JSON');
    warnings.warn('bad-base64', 'bad base64');
    clock.advance(9_999);
    warnings.warn('bad-json', 'bad JSON');
    clock.advance(1);
    warnings.warn('bad-json', 'bad JSON');
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(logs.lines.map((l) => [l.msg, l.suppressedSinceLastLog])).toEqual([
          ['bad JSON', undefined],
          ['bad base64', undefined],
          ['bad JSON', 100],
        ]);
        resolve();
      }),
    );
  });
});
