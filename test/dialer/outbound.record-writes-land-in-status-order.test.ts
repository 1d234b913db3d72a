/**
 * A callee who answers at once: the dialer's `ringing` and `answered` updates of the outbound call
 * record are issued back to back, and a store that answers the first one slowly (PostgreSQL under
 * load) must still end with the row `answered`, never `ringing` (a survivor closing a lost
 * instance's calls would otherwise report an answered call as failed).
 */
import { describe, expect, it } from 'vitest';
import type { Carrier } from '../../src/carriers/carrier.js';
import { OutboundDialer } from '../../src/dialer/outbound-dialer.js';
import { EventBus } from '../../src/events/bus.js';
import { silentLogger } from '../../src/logger.js';
import type { OutboundCallRepository } from '../../src/store/outbound-call-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { settle } from '../support/call-doubles.js';

/** Records the order in which writes complete; the first status update is answered late. */
function slowFirstUpdateStore() {
  const applied: string[] = [];
  const pending: (() => void)[] = [];
  let updates = 0;
  const store = {
    insert: async () => void applied.push('insert'),
    update: (_id: string, change: { status?: string; carrierRequestId?: string }) => {
      const what = change.status ?? `carrierRequestId=${change.carrierRequestId}`;
      if (change.status && updates++ === 0) return new Promise<void>((resolve) => pending.push(() => resolve(void applied.push(what))));
      applied.push(what);
      return Promise.resolve();
    },
  };
  return { store: store as unknown as OutboundCallRepository, applied, release: () => pending.splice(0).forEach((f) => f()) };
}

const carrier: Carrier = {
  name: 'plivo',
  prefix: '/plivo',
  async registerRoutes() {},
  placeCall: async () => ({ carrierRequestId: 'req-1' }),
  outboundReason: () => 'busy',
  webhookUrls: () => ({}),
};

describe('outbound call record writes', () => {
  it('land in the order of the statuses even when the store answers the first one late', async () => {
    const { store, applied, release } = slowFirstUpdateStore();
    const dialer = new OutboundDialer({ carriers: { get: () => carrier, names: ['plivo'] }, carrierOfNumber: () => 'plivo', knowsBot: () => true, callsPerSecond: 100, bus: new EventBus(), clock: new FakeClock(), logger: silentLogger(), records: store });
    try {
      const { conversationId } = await dialer.place({ bot: 'sales', target: '+14155550111', caller: '+14155550100', source: 'dialout' });
      await settle();
      dialer.ringing(conversationId);
      dialer.answered(conversationId);
      await settle();
      // The ringing update is still in flight: the answered one waits behind it.
      expect(applied).toEqual(['insert', 'carrierRequestId=req-1']);
      release();
      await settle();
      expect(applied).toEqual(['insert', 'carrierRequestId=req-1', 'ringing', 'answered']);
    } finally {
      dialer.close();
    }
  });
});
