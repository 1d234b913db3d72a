import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, type E2eSetup } from '../support/e2e-gateway.js';

const TOKEN = 'widget-keys-gateway-test-token';

describe('the gateway serves the widget key API', () => {
  let t: E2eSetup;
  beforeAll(async () => {
    t = await startE2e({ api: { token: TOKEN } });
  }, 30_000);
  afterAll(() => t?.close());

  const request = (method: string, path: string, body?: unknown) =>
    fetch(`${t.gateway.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });

  it('creates a key for a configured bot and refuses one for a bot the gateway does not have', async () => {
    const created = await request('POST', '/api/v1/widget-keys', { name: 'Shop', bot: 'demo', origins: ['https://shop.example'] });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { key: { id: string }; secret: string };
    expect(body.secret.startsWith(`vxw_${body.key.id}.`)).toBe(true);
    const refused = await request('POST', '/api/v1/widget-keys', { name: 'Shop', bot: 'nobody', origins: ['https://shop.example'] });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'bot: no bot named "nobody"' });
    expect((await fetch(`${t.gateway.url}/api/v1/widget-keys`)).status).toBe(401);
  });

  it('documents every widget key operation with its scope in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.gateway.url}/docs/json`)).json()) as { paths: Record<string, Record<string, { security?: { oauth2?: string[] }[] }>> };
    const scopeOf = (path: string, method: string) => doc.paths[path]?.[method]?.security?.find((s) => s.oauth2)?.oauth2;
    expect(scopeOf('/api/v1/widget-keys/', 'get')).toEqual(['widgets:read']);
    expect(scopeOf('/api/v1/widget-keys/', 'post')).toEqual(['widgets:write']);
    expect(scopeOf('/api/v1/widget-keys/{id}', 'get')).toEqual(['widgets:read']);
    expect(scopeOf('/api/v1/widget-keys/{id}', 'patch')).toEqual(['widgets:write']);
    expect(scopeOf('/api/v1/widget-keys/{id}/revoke', 'post')).toEqual(['widgets:write']);
  });
});
