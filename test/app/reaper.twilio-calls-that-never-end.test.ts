import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TWILIO_NUMBER, startQuietCarrierGateway, type QuietCarrierSetup } from '../support/quiet-carrier-gateway.js';

/** The Twilio sibling: calls whose Media Stream or completed status callback never comes are ended and hung up at Twilio. */
describe('Twilio calls that would stay live forever are reaped', () => {
  let setup: QuietCarrierSetup;

  beforeEach(async () => {
    setup = await startQuietCarrierGateway({ streamOpenTimeoutMs: 10_000, mediaSilenceTimeoutMs: 60_000 });
  });
  afterEach(async () => {
    await setup.close();
  });

  it('an answered call whose Media Stream never opens ends after 10 s as stream-timeout, completed through the REST API', async () => {
    const { twilio, gateway, clock, logs } = setup;
    setup.injectFaults({ streamNeverOpens: true });
    const call = twilio.dialInbound({ from: '+14155551234', to: TWILIO_NUMBER, script: {} });
    await logs.waitFor((l) => l.msg === 'Twilio call answered');
    expect(await setup.liveList()).toHaveLength(1);
    expect(await setup.activeCallsGauge()).toBe(1);

    const ended = setup.nextCallEnded();
    clock.advance(9_999);
    expect(gateway.calls.size).toBe(1);
    clock.advance(1);
    const record = await ended;
    expect(record).toMatchObject({ reason: 'stream-timeout', side: 'gateway', cause: 'No media stream within 10 s of answer; hung up at the carrier' });
    // Twilio's REST API completed the call (Status=completed from the API).
    expect(await call.ended).toMatchObject({ status: 'completed', endedBy: 'api' });
    expect(await setup.liveList()).toEqual([]);
    expect(await setup.activeCallsGauge()).toBe(0);
    expect(gateway.calls.reaper.size).toBe(0);
  });

  it('a call whose media stops and whose completed callback never comes ends after 60 s silent as media-timeout', async () => {
    const { twilio, gateway, clock, logs } = setup;
    setup.injectFaults({ mediaStopsAfterMs: 0, finalCallbackLost: true });
    const call = twilio.dialInbound({ from: '+14155551234', to: TWILIO_NUMBER, script: {} });
    await logs.waitFor((l) => l.msg === 'Twilio stream started');
    const ended = setup.nextCallEnded();
    clock.advance(60_000);
    const record = await ended;
    expect(record).toMatchObject({ reason: 'media-timeout', side: 'gateway', cause: 'No media and no word from the carrier for 60 s; hung up at the carrier' });
    expect(await call.ended).toMatchObject({ status: 'completed', endedBy: 'api' });
    expect(await setup.liveList()).toEqual([]);
    expect(await setup.activeCallsGauge()).toBe(0);
    expect(gateway.calls.size).toBe(0);
  });

  it('a caller who hangs up while the completed callback is lost: after the grace Twilio is asked and the call recorded as completed', async () => {
    const { twilio, gateway, clock, logs } = setup;
    setup.injectFaults({ finalCallbackLost: true });
    const call = twilio.dialInbound({ from: '+14155551234', to: TWILIO_NUMBER, script: { hangupAfterSec: 2 } });
    await logs.waitFor((l) => l.msg === 'Twilio stream started');
    const ended = setup.nextCallEnded();
    clock.advance(2_000);
    await call.ended;
    await logs.waitFor((l) => l.msg === 'conversation ended');
    clock.advance(5_000);
    expect(await ended).toMatchObject({ reason: 'caller-hangup', side: 'caller', cause: 'Completed', durationSec: 2 });
    expect(logs.matching(/no hangup callback within 5 s; the carrier says the call ended/)).toHaveLength(1);
    expect(gateway.calls.size).toBe(0);
  });
});
