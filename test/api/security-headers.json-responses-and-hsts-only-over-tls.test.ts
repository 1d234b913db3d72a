import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';

const TOKEN = 'security-headers-token';

async function gatewayWith(server: Record<string, unknown>): Promise<{ gateway: Gateway; close(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-headers-'));
  const config = parseConfig({
    server: { host: '127.0.0.1', port: 0, ...server },
    dataDir,
    log: { level: 'silent' },
    api: { token: TOKEN },
    carriers: { plivo: { authId: 'MAHEADERS', authToken: 'headers-auth', apiBaseUrl: 'http://127.0.0.1:9' } },
  });
  const gateway = await startGateway(config, { logger: silentLogger() });
  return { gateway, close: async () => (await gateway.close(), await rm(dataDir, { recursive: true, force: true })) };
}

describe('security headers on API responses; HSTS only when the request came over TLS', () => {
  let direct: Awaited<ReturnType<typeof gatewayWith>>;
  let proxied: Awaited<ReturnType<typeof gatewayWith>>;
  beforeAll(async () => {
    direct = await gatewayWith({});
    // The proxy in front of this one is the test itself, on loopback.
    proxied = await gatewayWith({ trustProxy: ['127.0.0.1'] });
  });
  afterAll(async () => {
    await direct?.close();
    await proxied?.close();
  });

  it('answers API JSON, errors included, with nosniff, no framing, no Referer and a policy that loads nothing', async () => {
    for (const [path, status] of [['/api/v1/calls', 200], ['/api/v1/calls?limit=0', 400], ['/api/v1/nowhere', 404]] as const) {
      const res = await fetch(`${direct.gateway.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none';form-action 'none';frame-ancestors 'none';base-uri 'none'");
      expect(res.headers.get('strict-transport-security'), path).toBeNull();
    }
  });

  it('ignores X-Forwarded-Proto from a client that is not a trusted proxy', async () => {
    const res = await fetch(`${direct.gateway.url}/health`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('sends HSTS when a trusted proxy says the request came over HTTPS, and not for its plain HTTP requests', async () => {
    const tls = await fetch(`${proxied.gateway.url}/health`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(tls.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const plain = await fetch(`${proxied.gateway.url}/health`, { headers: { 'x-forwarded-proto': 'http' } });
    expect(plain.headers.get('strict-transport-security')).toBeNull();
  });
});
