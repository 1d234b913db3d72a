import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { FakePlivoApp, FakeStreamServer } from '../support/sim-app-server.js';

const stream = (url: string, extraHeaders?: string) =>
  `<Response><Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000"${extraHeaders === undefined ? '' : ` extraHeaders="${extraHeaders}"`}>${url}</Stream></Response>`;

describe('the simulator treats <Stream extraHeaders> as Plivo does', () => {
  let sim: PlivoSimulator;
  let app: FakePlivoApp;
  let streams: FakeStreamServer;

  beforeEach(async () => {
    sim = new PlivoSimulator({ authId: 'MAEXTRAHEADERS', authToken: 'tok' });
    await sim.listen();
    app = new FakePlivoApp();
    await app.listen();
    streams = new FakeStreamServer();
    await streams.listen();
    app.route('/hangup', '');
    sim.addNumber('18005550000', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
  });
  afterEach(async () => {
    await sim.close();
    await streams.close();
    await app.close();
  });

  for (const bad of ['voxgateCallId=6f1c2a4e-94b1-4c55-8f3e-0a1b2c3d4e5f', 'x_y=1', 'a=1,b', `k=${'v'.repeat(600)}`]) {
    it(`fails the call at answer (Invalid Answer XML) for extraHeaders="${bad.slice(0, 40)}"`, async () => {
      app.route('/answer', stream(`${streams.base}/media`, bad));
      const call = sim.dialInbound({ from: '14155551234', to: '18005550000', script: {} });
      const warning = new Promise<{ message: string }>((resolve) => call.once('warning', resolve));
      const result = await call.ended;
      expect(result.cause).toBe('Invalid Answer XML');
      expect(result.causeCode).toBe(8011);
      expect((await warning).message).toMatch(/<Stream extraHeaders=.*Plivo allows/);
      expect(streams.upgradeUrls).toEqual([]);
      const hangup = await app.waitFor('/hangup');
      expect(hangup.params.HangupCauseName).toBe('Invalid Answer XML');
    });
  }

  it('repeats extra_headers on start, every media frame and dtmf, as Plivo sends them', async () => {
    app.route('/answer', stream(`${streams.base}/media`, 'tenant=acme,tier=2'));
    const call = sim.dialInbound({ from: '14155551234', to: '18005550000', script: { keys: [{ atSec: 0.1, digits: '4' }] } });
    const dtmf = await streams.waitFor((m) => m.event === 'dtmf');
    const start = streams.messages.find((m) => m.msg.event === 'start')!.msg;
    const media = streams.messages.filter((m) => m.msg.event === 'media');
    expect(start.extra_headers).toBe('tenant=acme,tier=2');
    expect(media.length).toBeGreaterThan(0);
    for (const m of media) expect(m.msg.extra_headers).toBe('tenant=acme,tier=2');
    expect(dtmf).toMatchObject({ event: 'dtmf', extra_headers: 'tenant=acme,tier=2', dtmf: { digit: '4', track: 'inbound' } });
    expect(typeof dtmf.sequenceNumber).toBe('number');
    sim.getCall(call.callUuid)!.party.stop();
    streams.sockets[0].close();
    await call.ended;
  });

  it('sends extra_headers "{}" when the <Stream> has none', async () => {
    app.route('/answer', stream(`${streams.base}/media`));
    const call = sim.dialInbound({ from: '14155551234', to: '18005550000', script: {} });
    const media = await streams.waitFor((m) => m.event === 'media');
    expect(media.extra_headers).toBe('{}');
    expect(streams.messages.find((m) => m.msg.event === 'start')!.msg.extra_headers).toBe('{}');
    sim.getCall(call.callUuid)!.party.stop();
    streams.sockets[0].close();
    await call.ended;
  });
});
