import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLIVO_NUMBER, startQuietCarrierGateway, type QuietCarrierSetup } from '../support/quiet-carrier-gateway.js';

/** Plivo calls whose stream or hangup callback never comes are ended, asked about and hung up at Plivo. */
describe('Plivo calls that would stay live forever are reaped', () => {
  let setup: QuietCarrierSetup;

  beforeEach(async () => {
    setup = await startQuietCarrierGateway({ streamOpenTimeoutMs: 10_000, mediaSilenceTimeoutMs: 60_000 });
  });
  afterEach(async () => {
    await setup.close();
  });

  it('an answered call whose stream never opens ends after 10 s as stream-timeout, hung up at Plivo', async () => {
    const { plivo, gateway, clock, logs } = setup;
    setup.injectFaults({ streamNeverOpens: true });
    const call = plivo.dialInbound({ from: '+14155551234', to: PLIVO_NUMBER, script: {} });
    await new Promise((resolve) => call.once('stream-start', resolve).once('warning', resolve));
    await logs.waitFor((l) => l.msg === 'Plivo call answered');
    expect(await setup.liveList()).toHaveLength(1);
    expect(await setup.activeCallsGauge()).toBe(1);

    const ended = setup.nextCallEnded();
    clock.advance(9_999);
    expect(gateway.calls.size).toBe(1); // not a moment early
    clock.advance(1);
    const record = await ended;
    expect(record).toMatchObject({ reason: 'stream-timeout', side: 'gateway', cause: 'No media stream within 10 s of answer; hung up at the carrier' });
    // Plivo's REST API got the hangup: the simulated call ended by an API request.
    expect((await call.ended).hangupSource).toBe('API Request');
    expect(logs.matching(/^reaping call: No media stream within 10 s/)).toHaveLength(1);
    expect(await setup.liveList()).toEqual([]);
    expect(await setup.activeCallsGauge()).toBe(0);
    expect(gateway.calls.size).toBe(0);
    expect(gateway.calls.reaper.size).toBe(0);
  });

  it('a call whose media stops and whose hangup callback never comes ends after 60 s silent as media-timeout', async () => {
    const { plivo, gateway, clock, logs } = setup;
    setup.injectFaults({ mediaStopsAfterMs: 0, finalCallbackLost: true });
    const call = plivo.dialInbound({ from: '+14155551234', to: PLIVO_NUMBER, script: {} });
    await logs.waitFor((l) => l.msg === 'Plivo stream started');
    expect(await setup.liveList()).toHaveLength(1);

    const ended = setup.nextCallEnded();
    clock.advance(59_999);
    expect(gateway.calls.size).toBe(1);
    clock.advance(1);
    const record = await ended;
    expect(record).toMatchObject({ reason: 'media-timeout', side: 'gateway', cause: 'No media and no word from the carrier for 60 s; hung up at the carrier' });
    expect((await call.ended).hangupSource).toBe('API Request');
    expect(await setup.liveList()).toEqual([]);
    expect(await setup.activeCallsGauge()).toBe(0);
    expect(gateway.calls.reaper.size).toBe(0);
    // The record is in the store with its reason.
    await gateway.records.flush();
    const stored = await gateway.store.calls.get(record.callId);
    expect(stored).toMatchObject({ endReason: 'media-timeout' });
  });

  it('a caller who hangs up while the hangup callback is lost: after the grace Plivo is asked and its cause recorded', async () => {
    const { plivo, gateway, clock, logs } = setup;
    setup.injectFaults({ finalCallbackLost: true });
    const call = plivo.dialInbound({ from: '+14155551234', to: PLIVO_NUMBER, script: { hangupAfterSec: 2 } });
    await logs.waitFor((l) => l.msg === 'Plivo stream started');
    const ended = setup.nextCallEnded();
    clock.advance(2_000);
    await call.ended; // Plivo closed the stream; its hangup callback is lost
    await logs.waitFor((l) => l.msg === 'conversation ended');
    clock.advance(5_000);
    const record = await ended;
    // Plivo's call detail record says who hung up and why: the record reads as if the callback had come.
    expect(record).toMatchObject({ reason: 'caller-hangup', side: 'caller', cause: 'Normal Hangup', durationSec: 2 });
    expect(logs.matching(/no hangup callback within 5 s; the carrier says the call ended/)).toHaveLength(1);
    expect(gateway.calls.size).toBe(0);
    expect(await setup.activeCallsGauge()).toBe(0);
  });
});
