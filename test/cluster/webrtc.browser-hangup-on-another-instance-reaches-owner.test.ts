/**
 * A browser call in a cluster: its media stays on the instance that answered the offer, and the page's
 * hang-up (DELETE on the Location it was given) ends it from whichever instance the load balancer
 * picks: by the routing token in the Location, or by the call directory without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { menuFlow, nextCallEnded } from '../support/e2e-fixtures.js';
import { WebRtcCaller } from '../support/webrtc-client.js';
import { clusterUnavailable, startCluster, type TestCluster } from './cluster-harness.js';

const TOKEN = 'cluster-webrtc-token';
const BOT = 'menu-bot';

describe.skipIf(clusterUnavailable)('a browser call hung up through another instance', () => {
  let cluster: TestCluster;
  const callers: WebRtcCaller[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      instances: ['vg-a', 'vg-b'],
      config: {
        api: { token: TOKEN },
        carriers: { webrtc: { interfaceAddress: '127.0.0.1' } },
        bots: [{ name: BOT, type: 'flow', flow: menuFlow }],
        routes: [{ number: '*', bot: BOT }],
      },
    });
  });
  afterAll(async () => {
    await Promise.all(callers.map((c) => c.close()));
    await cluster?.close();
  });

  async function callOnA(): Promise<WebRtcCaller> {
    const [a] = cluster.gateways;
    // The console's page is served from the public URL (the balancer); the offer landed on vg-a.
    const caller = await WebRtcCaller.call({ baseUrl: a.url, bot: BOT, token: TOKEN, origin: cluster.balancer.url });
    callers.push(caller);
    await caller.connected();
    await caller.nextEvent('transcript', (e) => e.who === 'bot');
    return caller;
  }

  it('is ended by the owner when the DELETE names it by routing token, and the page hears `ended`', async () => {
    const [a, b] = cluster.gateways;
    const caller = await callOnA();
    expect(caller.location).toMatch(/^\/webrtc\/whip\/[A-Za-z0-9_-]+\?vxr=vg-a\.[A-Za-z0-9_-]{22}$/);
    const ended = nextCallEnded(a);
    const res = await fetch(new URL(caller.location, b.url), { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, origin: cluster.balancer.url } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ended: true, callId: caller.callId });
    expect(await ended).toMatchObject({ callId: caller.callId, side: 'caller', reason: 'caller-hangup' });
    await caller.nextEvent('ended');
  });

  it('is found in the call directory when the DELETE lost its token, and refused to another credential', async () => {
    const [a, b] = cluster.gateways;
    const caller = await callOnA();
    const path = new URL(caller.location, b.url).pathname;
    const stranger = await fetch(`${b.url}${path}`, { method: 'DELETE', headers: { authorization: 'Bearer someone-else', origin: cluster.balancer.url } });
    expect(stranger.status).toBe(403);
    const ended = nextCallEnded(a);
    const res = await fetch(`${b.url}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, origin: cluster.balancer.url } });
    expect(res.status).toBe(200);
    expect(await ended).toMatchObject({ callId: caller.callId, side: 'caller' });
  });
});
