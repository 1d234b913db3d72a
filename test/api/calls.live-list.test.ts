import { expect, it } from 'vitest';
import { callsRoutes, type LiveCallSummary } from '../../src/api/calls-routes.js';
import { silentLogger } from '../../src/logger.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { CallRetention } from '../../src/store/retention.js';
import { bareApp } from '../support/management-api.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('live calls list', (ctx) => {
  it('lists the calls in progress with their bot and whether the media is connected', async () => {
    const live: LiveCallSummary[] = [
      { info: { callId: 'c1', carrier: 'plivo', carrierCallId: 'p1', direction: 'inbound', from: '+1555', to: '+1666' }, botName: 'support', startedAt: 1000, connected: true },
      { info: { callId: 'c2', carrier: 'plivo', carrierCallId: 'p2', direction: 'outbound', from: '+1666', to: '+1777' }, botName: 'sales', startedAt: 2000, connected: false },
    ];
    const { store } = ctx;
    const app = await bareApp(callsRoutes, { store, live: { list: () => live }, retention: new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir: '/x' }), recordingsDir: '/x', logger: silentLogger() });
    const res = await app.inject({ url: '/api/v1/calls/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      calls: [
        { id: 'c1', carrier: 'plivo', direction: 'inbound', from: '+1555', to: '+1666', bot: 'support', startedAt: 1000, connected: true },
        { id: 'c2', carrier: 'plivo', direction: 'outbound', from: '+1666', to: '+1777', bot: 'sales', startedAt: 2000, connected: false },
      ],
    });
    live.pop();
    expect((await app.inject({ url: '/api/v1/calls/live' })).json().calls).toHaveLength(1);
    await app.close();
  });
});
