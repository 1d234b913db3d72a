import { afterEach, describe, expect, it } from 'vitest';
import type { Carrier, PlaceCallRequest } from '../../src/carriers/carrier.js';
import { OutboundDialer } from '../../src/dialer/outbound-dialer.js';
import { OutboundRequestError } from '../../src/dialer/outbound.js';
import { EventBus } from '../../src/events/bus.js';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { silentLogger } from '../../src/logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { settle } from '../support/call-doubles.js';

/** A carrier that records the calls it is asked to place (or refuses them). */
function recordingCarrier(name: string, refuse?: string): Carrier & { placed: PlaceCallRequest[] } {
  const placed: PlaceCallRequest[] = [];
  return {
    name,
    prefix: `/${name}`,
    placed,
    async registerRoutes() {},
    async placeCall(request) {
      placed.push(request);
      if (refuse) throw new Error(refuse);
      return { carrierRequestId: `${name}-${placed.length}` };
    },
    outboundReason: () => 'busy',
    webhookUrls: () => ({}),
  };
}

function dialerWith(carriers: Carrier[], numbers: Record<string, string> = {}) {
  const bus = new EventBus();
  const statuses: OutboundStatusEvent[] = [];
  bus.subscribe('outbound.status', (e) => void statuses.push(e));
  const byName = new Map(carriers.map((c) => [c.name, c]));
  const clock = new FakeClock();
  const dialer = new OutboundDialer({
    carriers: { get: (name) => byName.get(name), names: [...byName.keys()] },
    carrierOfNumber: (number) => numbers[number.replace(/^\+/, '')],
    knowsBot: (name) => name === 'sales',
    callsPerSecond: 100,
    bus,
    clock,
    logger: silentLogger(),
  });
  return { dialer, statuses, clock };
}

describe('which carrier an outbound call goes through', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('the only carrier configured, named on every status', async () => {
    const plivo = recordingCarrier('plivo');
    const { dialer, statuses } = dialerWith([plivo]);
    close = () => dialer.close();
    const { conversationId } = await dialer.place({ bot: 'sales', target: '+14155550111', caller: '+14155550100', source: 'dialout', machineDetection: 'detect' });
    await settle();
    expect(plivo.placed).toEqual([{ callId: conversationId, from: '+14155550100', to: '+14155550111', callerDisplayName: undefined, ringTimeoutSec: 45, machineDetection: 'detect' }]);
    expect(dialer.carrierOf(conversationId)).toBe('plivo');
    expect(statuses).toEqual([expect.objectContaining({ conversationId, carrier: 'plivo', status: 'initiated' })]);
  });

  it('with several, the one the request names, else the one the caller number belongs to; otherwise the request is refused naming the field', async () => {
    const plivo = recordingCarrier('plivo');
    const twilio = recordingCarrier('twilio');
    const { dialer, clock } = dialerWith([plivo, twilio], { '14155550100': 'twilio' });
    close = () => dialer.close();
    await dialer.place({ bot: 'sales', target: '+14155550111', caller: '+14155550199', carrier: 'plivo', source: 'dialout' });
    await dialer.place({ bot: 'sales', target: '+14155550112', caller: 'tel:+14155550100', source: 'campaign' });
    clock.advance(10); // the second call's rate slot
    await settle();
    expect(plivo.placed.map((p) => p.to)).toEqual(['+14155550111']);
    expect(twilio.placed.map((p) => p.to)).toEqual(['+14155550112']);
    await expect(dialer.place({ bot: 'sales', target: '+14155550113', caller: '+14155550199', source: 'dialout' })).rejects.toThrow(
      new OutboundRequestError('carrier: 2 carriers are configured (plivo, twilio); name one, or give the caller number +14155550199 a route that names its carrier'),
    );
    await expect(dialer.place({ bot: 'sales', target: '+14155550113', caller: '+14155550100', carrier: 'sip', source: 'dialout' })).rejects.toThrow('carrier: "sip" is not configured (configured: plivo, twilio)');
    expect(() => dialer.check({ bot: 'nobody', caller: '+14155550100' })).toThrow('bot: unknown bot "nobody"');
  });

  it('a carrier that refuses the call fails it with reason error, naming the carrier', async () => {
    const twilio = recordingCarrier('twilio', 'Twilio API POST /Calls.json failed with HTTP 401 (error 20003): Authenticate');
    const { dialer, statuses } = dialerWith([twilio]);
    close = () => dialer.close();
    const { conversationId } = await dialer.place({ bot: 'sales', target: '+14155550111', caller: '+14155550100', source: 'dialout' });
    await settle();
    expect(statuses.at(-1)).toEqual(expect.objectContaining({ conversationId, carrier: 'twilio', status: 'failed', reasonCode: 'error', reason: expect.stringContaining('error 20003') }));
  });
});
