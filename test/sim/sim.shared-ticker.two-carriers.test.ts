import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { RealtimeTicker } from '../../src/sim/realtime-ticker.js';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp, FakeStreamServer } from '../support/sim-app-server.js';
import { ACCOUNT_SID, AUTH_TOKEN } from './twilio-harness.js';

describe('one process, both carriers, one real-time ticker', () => {
  let clock: FakeClock;
  let plivo: PlivoSimulator;
  let twilioSim: TwilioSimulator;
  let app: FakePlivoApp;
  let plivoStreams: FakeStreamServer;
  let twilioStreams: FakeStreamServer;

  beforeEach(async () => {
    clock = new FakeClock();
    plivo = new PlivoSimulator({ authId: 'MASHARED', authToken: 'plivo-token', clock });
    // The Twilio side rides on the Plivo simulator's ticker: one 20 ms timer for every call of both.
    twilioSim = new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, clock, ticker: plivo.ticker });
    app = new FakePlivoApp();
    await app.listen();
    plivoStreams = new FakeStreamServer();
    await plivoStreams.listen();
    twilioStreams = new FakeStreamServer();
    await twilioStreams.listen();
    app
      .route('/plivo/answer', `<Response><Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000">${plivoStreams.base}/media</Stream></Response>`)
      .route('/plivo/hangup', '')
      .route('/twilio/voice', `<Response><Connect><Stream url="${twilioStreams.base}/media"/></Connect></Response>`);
  });
  afterEach(async () => {
    await plivo.close();
    await twilioSim.close();
    await Promise.all([plivoStreams.close(), twilioStreams.close(), app.close()]);
  });

  it('streams both carriers\' calls on the same ticks, and closing one simulator leaves the other\'s calls running', async () => {
    expect(twilioSim.ticker).toBe(plivo.ticker);
    plivo.addNumber('18005554000', { answerUrl: app.url('/plivo/answer'), hangupUrl: app.url('/plivo/hangup') });
    twilioSim.addNumber('+18005554001', { voiceUrl: app.url('/twilio/voice') });
    const plivoCall = plivo.dialInbound({ from: '14155551234', to: '18005554000', script: {} });
    const twilioCall = twilioSim.dialInbound({ from: '+14155551235', to: '+18005554001', script: {} });
    await Promise.all([plivoStreams.waitFor((m) => m.event === 'start'), twilioStreams.waitFor((m) => m.event === 'start')]);
    expect(plivo.ticker.subscriberCount).toBe(2);

    clock.advance(200);
    await plivoStreams.waitForCount((m) => m.event === 'media', 10);
    await twilioStreams.waitForCount((m) => m.event === 'media', 10);
    expect(plivo.stats.framesSent).toBe(10);
    expect(twilioSim.stats.framesSent).toBe(10);

    await plivo.close();
    expect((await plivoCall.ended).cause).toBe('Normal Hangup');
    expect(plivo.ticker.subscriberCount).toBe(1);
    clock.advance(100);
    await twilioStreams.waitForCount((m) => m.event === 'media', 15);
    expect(twilioCall.isEnded).toBe(false);

    await twilioSim.close();
    expect((await twilioCall.ended).reason).toBe('the simulator closed');
    // The ticker stops by itself once its last call left.
    expect(plivo.ticker.subscriberCount).toBe(0);
  });

  it('a ticker can be made first and given to both', () => {
    const ticker = new RealtimeTicker(clock);
    const a = new PlivoSimulator({ authId: 'MAA', authToken: 't', clock, ticker });
    const b = new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: 't', clock, ticker });
    expect(a.ticker).toBe(ticker);
    expect(b.ticker).toBe(ticker);
  });
});
