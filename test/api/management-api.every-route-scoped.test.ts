import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listScopedRoutes } from '../../src/api/auth/scope-enforcement.js';
import { OAuthClientRepository } from '../../src/api/auth/client-repository.js';
import { startE2e, type E2eSetup } from '../support/e2e-gateway.js';

/** Path parameters filled with values of the right shape, so requests reach the scope check, not a 404 from routing. */
function concrete(url: string): string {
  return url
    .replace(':id', '6f1c0c9e-1c1a-4f6e-9a8e-0c2d4e6f8a10')
    .replace(/:[A-Za-z]+/g, 'x')
    .replace(/\*$/, 'x');
}

describe('the management API as the gateway serves it: every route needs its scope', () => {
  let e2e: E2eSetup;
  let narrowToken: string;
  beforeAll(async () => {
    e2e = await startE2e({ api: { token: 'static-admin-token' } });
    // A client holding one scope only: every route needing another scope must refuse it, naming the scope.
    const client = await new OAuthClientRepository(e2e.gateway.store.db).create({ name: 'narrow', scopes: ['calls:read'] });
    const res = await fetch(`${e2e.gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client.clientId}:${client.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    narrowToken = ((await res.json()) as { access_token: string }).access_token;
  });
  afterAll(() => e2e?.close());

  it('guards every /api route, and the list covers each area of the API', () => {
    const routes = listScopedRoutes(e2e.gateway.app).filter((r) => r.method !== 'HEAD');
    const urls = new Set(routes.map((r) => r.url));
    for (const expected of ['/api/v1/actions/dialout', '/api/v1/calls', '/api/v1/calls/live', '/api/v1/campaigns/', '/api/v1/clients/', '/api/v1/bots', '/api/v1/routes', '/api/v1/tts-cache', '/api/v1/alarms']) {
      expect([...urls].some((u) => u === expected || u.startsWith(expected)), expected).toBe(true);
    }
  });

  it('without a token every route answers 401; with a token lacking the scope, 403 naming it', async () => {
    const routes = listScopedRoutes(e2e.gateway.app).filter((r) => r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const route of routes) {
      const url = `${e2e.gateway.url}${concrete(route.url)}`;
      const init = { method: route.method, headers: { 'content-type': 'application/json' }, body: ['GET', 'DELETE'].includes(route.method) ? undefined : '{}' };
      const anonymous = await fetch(url, init);
      if (anonymous.status !== 401) problems.push(`${route.method} ${route.url}: ${anonymous.status} without a token`);
      if (route.scope === 'calls:read') continue;
      const narrow = await fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${narrowToken}` } });
      const body = (await narrow.json().catch(() => ({}))) as { error?: string };
      if (narrow.status !== 403 || body.error !== `missing scope ${route.scope}`) problems.push(`${route.method} ${route.url}: ${narrow.status} ${body.error ?? ''} with calls:read only`);
    }
    expect(problems).toEqual([]);
  });

  it('serves the OpenAPI document, with the token endpoint and a security requirement per route', async () => {
    const res = await fetch(`${e2e.gateway.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    expect(Object.keys(doc.paths)).toContain('/api/v1/calls');
    expect(Object.keys(doc.paths)).toContain('/oauth/token');
    expect(doc.paths['/api/v1/calls'].get.security).toBeDefined();
  });

  it('keeps /healthz, /readyz and /metrics outside the API', async () => {
    expect((await fetch(`${e2e.gateway.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${e2e.gateway.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${e2e.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^# TYPE voxgate_active_calls gauge$/m);
    expect(metrics).toMatch(/^# TYPE voxgate_turn_latency_seconds histogram$/m);
  });
});
