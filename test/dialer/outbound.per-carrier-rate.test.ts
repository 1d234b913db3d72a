/**
 * Each carrier's calls are paced at its own rate (dialer.carrierCallsPerSecond, its account limit),
 * the others at dialer.callsPerSecond; a carrier's queue never holds back another's calls. A rate
 * for a carrier that is not configured is refused, naming the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Carrier, PlaceCallRequest } from '../../src/carriers/carrier.js';
import { OutboundDialer } from '../../src/dialer/outbound-dialer.js';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import { ConfigError } from '../../src/runtime/config-error.js';
import { parseConfig } from '../../src/config/load.js';
import { FakeClock } from '../support/fake-clock.js';
import { settle } from '../support/call-doubles.js';

function recordingCarrier(name: string, clock: FakeClock): Carrier & { placedAt: number[] } {
  const placedAt: number[] = [];
  return {
    name,
    prefix: `/${name}`,
    placedAt,
    async registerRoutes() {},
    async placeCall(_request: PlaceCallRequest) {
      placedAt.push(clock.now());
      return { carrierRequestId: `${name}-${placedAt.length}` };
    },
    outboundReason: () => 'busy',
    webhookUrls: () => ({}),
  };
}

describe('outbound pacing per carrier', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('paces each carrier at its own rate, independently of the other', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const plivo = recordingCarrier('plivo', clock);
    const twilio = recordingCarrier('twilio', clock);
    const byName = new Map<string, Carrier>([['plivo', plivo], ['twilio', twilio]]);
    const dialer = new OutboundDialer({
      carriers: { get: (name) => byName.get(name), names: [...byName.keys()] },
      knowsBot: () => true,
      callsPerSecond: 4,
      carrierCallsPerSecond: { twilio: 1 },
      bus: new EventBus(),
      clock,
      logger: silentLogger(),
    });
    close = () => dialer.close();
    for (let i = 0; i < 3; i++) {
      await dialer.place({ bot: 'sales', target: `+1415555010${i}`, caller: '+14155550100', carrier: 'twilio', source: 'dialout' });
      await dialer.place({ bot: 'sales', target: `+1415555020${i}`, caller: '+14155550100', carrier: 'plivo', source: 'dialout' });
    }
    await settle();
    expect(dialer.queued).toBe(4);
    clock.advance(2000);
    await settle();
    expect(plivo.placedAt.map((t) => t - t0)).toEqual([0, 250, 500]);
    expect(twilio.placedAt.map((t) => t - t0)).toEqual([0, 1000, 2000]);
  });

  it('refuses a rate for a carrier that is not configured, naming it', () => {
    const make = () =>
      new OutboundDialer({
        carriers: { get: () => undefined, names: ['plivo'] },
        knowsBot: () => true,
        callsPerSecond: 2,
        carrierCallsPerSecond: { twillio: 1 },
        bus: new EventBus(),
        clock: new FakeClock(),
        logger: silentLogger(),
      });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow('dialer.carrierCallsPerSecond.twillio: no carrier named "twillio" is configured (configured: plivo)');
  });

  it('the configuration takes a rate per carrier and refuses one that is not positive', () => {
    expect(parseConfig({ dialer: { carrierCallsPerSecond: { plivo: 0.5 } } }).dialer).toMatchObject({ callsPerSecond: 2, carrierCallsPerSecond: { plivo: 0.5 } });
    expect(() => parseConfig({ dialer: { carrierCallsPerSecond: { plivo: 0 } } })).toThrow(/dialer\.carrierCallsPerSecond\.plivo/);
  });
});
