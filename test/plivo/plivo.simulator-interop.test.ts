import { afterEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import type { PlivoContentType } from '../../src/carriers/plivo/answer-xml.js';
import { startPlivoTestServer, tone, type PlivoTestServer } from '../support/plivo-harness.js';
import { audibleMs } from '../support/sim-tone-tts.js';

const AUTH_ID = 'MAINTEROPACCOUNT';
const AUTH_TOKEN = 'interop-token';

describe.each(['audio/x-mulaw;rate=8000', 'audio/x-l16;rate=16000'] as PlivoContentType[])('an inbound call from the Plivo simulator (%s)', (contentType) => {
  let sim: PlivoSimulator | undefined;
  let server: PlivoTestServer | undefined;
  afterEach(async () => {
    await sim?.close();
    await server?.close();
  });

  it('answers with signed callbacks, plays audio the caller hears, gets DTMF and the checkpoint, and ends on the caller hanging up', async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    await sim.listen();
    server = await startPlivoTestServer({ authToken: AUTH_TOKEN, contentType });
    sim.addNumber('14155550000', { answerUrl: `${server.baseUrl}/plivo/answer`, hangupUrl: `${server.baseUrl}/plivo/hangup` });

    const digits: string[] = [];
    let marked = '';
    let callerFrames = 0;
    server.handler.on('leg', (_uuid, leg) => {
      leg.on('dtmf', (d: string) => digits.push(d));
      leg.on('mark', (name: string) => (marked = name));
      leg.on('audio', () => callerFrames++);
      leg.play(tone((leg.sampleRate * 400) / 1000, leg.sampleRate));
      leg.mark('greeting-done');
    });
    const ended = new Promise((resolve) => server!.handler.once('ended', (_id, end) => resolve(end)));

    const call = sim.dialInbound({ from: '14155551234', to: '14155550000', script: { keys: [{ atSec: 0.6, digits: '5' }], hangupAfterSec: 1.2 } });
    const result = await call.ended;

    expect(server.handler.answered).toHaveLength(1);
    expect(server.handler.answered[0]).toMatchObject({ direction: 'inbound', from: '14155551234', to: '14155550000', carrierCallId: call.callUuid });
    expect(await ended).toMatchObject({ side: 'caller' });
    expect(result.hangupSource).toBe('Caller');
    expect(audibleMs(result.heard)).toBeGreaterThanOrEqual(380);
    expect(audibleMs(result.heard)).toBeLessThanOrEqual(420);
    expect(marked).toBe('greeting-done');
    expect(digits).toEqual(['5']);
    expect(callerFrames).toBeGreaterThan(20);
    expect(server.logs.lines.filter((l) => l.level >= 40)).toEqual([]);
  });
});
