import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RedisCallDirectory } from '../../src/cluster/redis-call-directory.js';
import { forwardedByHeader } from '../../src/cluster/internal-auth.js';
import { routingToken } from '../../src/cluster/routing-token.js';
import { silentLogger } from '../../src/logger.js';
import { systemClock } from '../../src/runtime/clock.js';
import { plivoSignedHeaders } from '../../src/sim/plivo-signature-headers.js';
import { REDIS_TEST_URL } from '../support/campaign-redis.js';
import { CLUSTER_SECRET, clusterUnavailable, startCluster, type TestCluster } from './cluster-harness.js';

const AUTH_TOKEN = 'cluster-signature-token';
/** The load balancer's name: what carriers sign with. Each instance's own publicUrl is another. */
const SHARED = 'https://voice.example.com';

/** A Plivo hangup callback, signed for `signedBase`, sent straight to `instanceUrl` (as a balancer would pass it). */
async function hangup(instanceUrl: string, signedBase: string, params: Record<string, string>, opts: { query?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const path = `/plivo/hangup${opts.query ?? ''}`;
  const body = new URLSearchParams(params).toString();
  return fetch(`${instanceUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...plivoSignedHeaders('POST', `${signedBase}${path}`, params, AUTH_TOKEN), ...opts.headers },
    body,
  });
}

function closeOf(url: string, headers: Record<string, string> = {}): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
}

describe.skipIf(clusterUnavailable)('routing tokens, forward headers and signatures checked against the public URL the carrier used', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({
      instances: ['vg-a', 'vg-b'],
      config: {
        carriers: {
          plivo: { authId: 'MACLUSTERSIG', authToken: AUTH_TOKEN, apiBaseUrl: 'http://127.0.0.1:9' },
          twilio: { accountSid: `AC${'5'.repeat(32)}`, authToken: AUTH_TOKEN, apiBaseUrl: 'http://127.0.0.1:9' },
        },
      },
      server: (id) => ({ publicUrl: `http://${id}.internal.example:8080`, publicUrls: [SHARED] }),
    });
  });
  afterAll(() => cluster?.close());

  it("a signature made for the shared public URL verifies on an instance whose own publicUrl differs; one made for the instance's private address does not", async () => {
    const [a] = cluster.gateways;
    // Straight to the instance (its Host is its private address): the configured bases are tried.
    expect((await hangup(a.url, SHARED, { CallUUID: 'no-such-call-1', HangupCauseName: 'Normal Hangup' })).status).toBe(200);
    // Through a trusted proxy that names the shared host.
    const proxied = await hangup(a.url, SHARED, { CallUUID: 'no-such-call-2' }, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'voice.example.com' } });
    expect(proxied.status).toBe(200);
    // The proxy headers cannot make Voxgate verify against an address that is not configured.
    const forgedHost = await hangup(a.url, a.url, { CallUUID: 'no-such-call-3' }, { headers: { 'x-forwarded-proto': 'http', 'x-forwarded-host': new URL(a.url).host } });
    expect(forgedHost.status).toBe(403);
    expect(((await forgedHost.json()) as { error: string }).error).toMatch(/invalid Plivo signature: X-Plivo-Signature-V3 does not match POST http:\/\/vg-a\.internal\.example:8080\/plivo\/hangup/);
  });

  it('a routing token not signed with the cluster secret is refused with 403 naming it', async () => {
    const [a] = cluster.gateways;
    const res = await hangup(a.url, SHARED, { CallUUID: 'no-such-call-4' }, { query: '?vxr=vg-b.AAAAAAAAAAAAAAAAAAAAAA' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('invalid routing token: routing token for instance "vg-b" is not signed with this cluster\'s secret');
  });

  it('a forged forward header is refused with 403 naming it; a genuine one from a sibling is handled', async () => {
    const [a] = cluster.gateways;
    const forged = await hangup(a.url, SHARED, { CallUUID: 'no-such-call-5' }, { headers: { 'x-voxgate-forwarded-by': `vg-b;${Date.now()};bm90LWEtc2lnbmF0dXJl`, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'voice.example.com' } });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: string }).error).toMatch(/^forged forward: x-voxgate-forwarded-by from vg-b is not signed with this cluster's secret/);

    const params = { CallUUID: 'no-such-call-6' };
    const genuine = forwardedByHeader(CLUSTER_SECRET, 'vg-b', { method: 'POST', url: '/plivo/hangup', body: new URLSearchParams(params).toString(), forwardedProto: 'https', forwardedHost: 'voice.example.com' }, Date.now());
    const ok = await hangup(a.url, SHARED, params, { headers: { 'x-voxgate-forwarded-by': genuine, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'voice.example.com' } });
    expect(ok.status).toBe(200);
    const stale = forwardedByHeader(CLUSTER_SECRET, 'vg-b', { method: 'POST', url: '/plivo/hangup', body: new URLSearchParams(params).toString(), forwardedProto: 'https', forwardedHost: 'voice.example.com' }, Date.now() - 60_000);
    const late = await hangup(a.url, SHARED, params, { headers: { 'x-voxgate-forwarded-by': stale, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'voice.example.com' } });
    expect(late.status).toBe(403);
    expect(((await late.json()) as { error: string }).error).toMatch(/is 60 s old \(at most 30 s\)/);
  });

  it('a stream whose routing token is forged is closed 1008 naming it (Plivo: in the query; Twilio: in the path)', async () => {
    const [a] = cluster.gateways;
    const ws = a.url.replace('http', 'ws');
    const plivoUrl = `${ws}/plivo/stream?callUuid=c1&ticket=t1&vxr=vg-b.AAAAAAAAAAAAAAAAAAAAAA`;
    expect(await closeOf(plivoUrl, plivoSignedHeaders('GET', `${SHARED}/plivo/stream?callUuid=c1&ticket=t1&vxr=vg-b.AAAAAAAAAAAAAAAAAAAAAA`, {}, AUTH_TOKEN))).toEqual({ code: 1008, reason: 'invalid routing token' });
    expect(await closeOf(`${ws}/twilio/stream/vg-b.AAAAAAAAAAAAAAAAAAAAAA`)).toEqual({ code: 1008, reason: 'invalid routing token' });
    expect(await closeOf(`${ws}/plivo/stream?callUuid=c1&ticket=t1`, { 'x-voxgate-forwarded-by': `vg-b;${Date.now()};forged` })).toEqual({ code: 1008, reason: 'forged x-voxgate-forwarded-by' });
  });

  it("a callback for a call whose owner does not answer gets a 503 naming the owner (the carrier retries)", async () => {
    const [a] = cluster.gateways;
    // An instance whose lease holds but whose internal URL answers nothing (port 9, discard: refused on loopback).
    const ghost = new RedisCallDirectory({ url: REDIS_TEST_URL, keyPrefix: cluster.keyPrefix, instanceId: 'vg-ghost', internalUrl: 'http://127.0.0.1:9', heartbeatMs: 500, leaseMs: 5_000, clock: systemClock, logger: silentLogger() });
    await ghost.start();
    try {
      await ghost.register({ callId: 'ghost-call', carrier: 'plivo', carrierCallId: 'ghost-uuid', direction: 'inbound', from: '1', to: '2', startedAt: Date.now(), connected: true });
      const res = await hangup(a.url, SHARED, { CallUUID: 'ghost-uuid', HangupCauseName: 'Normal Hangup' });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: string; owner: string };
      expect(body.owner).toBe('vg-ghost');
      expect(body.error).toMatch(/^the call's owner, instance vg-ghost \(http:\/\/127\.0\.0\.1:9\), did not take the forwarded Plivo hangup callback: /);
      // The same callback carrying the ghost's routing token goes the same way.
      const routed = await hangup(a.url, SHARED, { CallUUID: 'other-uuid' }, { query: `?vxr=${routingToken(CLUSTER_SECRET, 'vg-ghost')}` });
      expect(routed.status).toBe(503);
    } finally {
      await ghost.stop();
    }
  });
});
