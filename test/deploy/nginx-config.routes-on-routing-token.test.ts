/**
 * deploy/nginx/voxgate.conf, as shipped, run by nginx on loopback in front of two instances named
 * voxgate-1 and voxgate-2: a request or a WebSocket whose URL carries `vxr=<instance id>.<signature>`
 * (a Twilio stream: /twilio/stream/<instance id>.<signature>) reaches that instance every time, with
 * the forwarded headers Voxgate checks carrier signatures with; requests without one are spread over
 * both; what names a dead instance is taken by the other. Skipped, with the reason, without nginx.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceDouble, requestThrough, routingToken, waitUntil, websocketThrough } from './support/instance-doubles.js';
import { NGINX_CONFIG, NGINX_PATH, NGINX_SKIP_REASON, nginxMainConfig, runCheck, startNginx, type LoadBalancerProcess } from './support/load-balancers.js';

if (NGINX_SKIP_REASON) console.warn(`skipping the nginx configuration test: ${NGINX_SKIP_REASON}`);

describe.skipIf(NGINX_SKIP_REASON !== '')(`deploy/nginx/voxgate.conf${NGINX_SKIP_REASON ? ` (skipped: ${NGINX_SKIP_REASON})` : ''}`, () => {
  it('passes `nginx -t` as shipped, included in an http block as conf.d files are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vg-nginx-check-'));
    try {
      await writeFile(join(dir, 'nginx.conf'), nginxMainConfig(dir, NGINX_CONFIG));
      const { status, output } = runCheck(NGINX_PATH, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr']);
      expect(status, output).toBe(0);
      expect(output).toContain('test is successful');
      expect(output).not.toMatch(/\[(warn|emerg|alert)\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('in front of two instances', () => {
    let one: InstanceDouble;
    let two: InstanceDouble;
    let nginx: LoadBalancerProcess;

    beforeAll(async () => {
      [one, two] = await Promise.all([InstanceDouble.start('voxgate-1'), InstanceDouble.start('voxgate-2')]);
      nginx = await startNginx({ 'voxgate-1': one.port, 'voxgate-2': two.port });
      await waitUntil('nginx to listen', async () => {
        if (!nginx.running) throw new Error(`nginx exited:\n${nginx.log}`);
        return requestThrough(nginx.baseUrl, '/healthz').then(
          () => true,
          () => false,
        );
      });
    }, 40_000);

    afterAll(async () => {
      await nginx?.stop();
      await Promise.all([one?.stop(), two?.stop()]);
    });

    it('sends every request carrying vxr=<instance>.<signature> to that instance, GET and POST alike', async () => {
      for (let i = 0; i < 10; i++) {
        const post = await requestThrough(nginx.baseUrl, `/plivo/hangup?vxr=${routingToken('voxgate-2')}`, { method: 'POST', body: 'CallUUID=abc', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        expect(post.instance).toBe('voxgate-2');
        expect((await requestThrough(nginx.baseUrl, `/twilio/status?x=1&vxr=${routingToken('voxgate-1')}`)).instance).toBe('voxgate-1');
      }
    });

    it('sends a media WebSocket carrying vxr to that instance, both directions flowing, with the forwarded headers', async () => {
      for (const owner of ['voxgate-2', 'voxgate-1', 'voxgate-2', 'voxgate-2', 'voxgate-1']) {
        const token = routingToken(owner);
        const { landing, echo } = await websocketThrough(nginx.baseUrl, `/plivo/stream?vxr=${token}`);
        expect(landing.instance).toBe(owner);
        expect(landing.url).toBe(`/plivo/stream?vxr=${token}`);
        expect(echo).toEqual({ instance: owner, echo: 'hello over the tunnel' });
        expect(landing.headers['x-forwarded-proto']).toBe('http');
        // With the port: it is part of the URL the carrier signed.
        expect(landing.headers['x-forwarded-host']).toBe(new URL(nginx.baseUrl).host);
        expect(landing.headers['x-forwarded-for']).toBe('127.0.0.1');
      }
    });

    it("sends a Twilio media WebSocket to the instance its path names (/twilio/stream/<token>: Twilio drops a stream URL's query)", async () => {
      for (const owner of ['voxgate-1', 'voxgate-2', 'voxgate-2', 'voxgate-1']) {
        const token = routingToken(owner);
        const { landing, echo } = await websocketThrough(nginx.baseUrl, `/twilio/stream/${token}`);
        expect(landing.instance).toBe(owner);
        expect(landing.url).toBe(`/twilio/stream/${token}`);
        expect(echo.instance).toBe(owner);
      }
      // Only that path: a token-like segment elsewhere is no routing token.
      const elsewhere = new Set<string>();
      for (let i = 0; i < 6; i++) elsewhere.add((await requestThrough(nginx.baseUrl, `/twilio/voice/${routingToken('voxgate-2')}`)).instance);
      expect(elsewhere).toEqual(new Set(['voxgate-1', 'voxgate-2']));
    });

    it('spreads requests without vxr (or naming no known instance) over both instances', async () => {
      const plain: string[] = [];
      for (let i = 0; i < 10; i++) plain.push((await requestThrough(nginx.baseUrl, '/plivo/answer')).instance);
      for (let i = 0; i < 4; i++) plain.push((await requestThrough(nginx.baseUrl, `/plivo/answer?vxr=${routingToken('voxgate-9')}`)).instance);
      expect(plain.filter((name) => name === 'voxgate-1').length, plain.join(',')).toBeGreaterThanOrEqual(5);
      expect(plain.filter((name) => name === 'voxgate-2').length, plain.join(',')).toBeGreaterThanOrEqual(5);
    });

    it('sends what names a dead instance to the other one instead of failing it', async () => {
      await two.kill();
      for (let i = 0; i < 4; i++) expect((await requestThrough(nginx.baseUrl, `/plivo/hangup?vxr=${routingToken('voxgate-2')}`, { method: 'POST', body: 'CallUUID=abc' })).instance).toBe('voxgate-1');
      expect((await websocketThrough(nginx.baseUrl, `/twilio/stream?vxr=${routingToken('voxgate-2')}`)).landing.instance).toBe('voxgate-1');
      for (let i = 0; i < 4; i++) expect((await requestThrough(nginx.baseUrl, '/plivo/answer')).instance).toBe('voxgate-1');
    });
  });
});
