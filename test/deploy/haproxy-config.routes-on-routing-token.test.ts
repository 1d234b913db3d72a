/**
 * deploy/haproxy/haproxy.cfg, as shipped, run by HAProxy on loopback in front of two instances named
 * voxgate-1 and voxgate-2: a request or a WebSocket whose URL carries `vxr=<instance id>.<signature>`
 * (a Twilio stream: /twilio/stream/<instance id>.<signature>) reaches that instance every time, with
 * the forwarded headers Voxgate checks carrier signatures with; requests without one are spread over
 * both. An instance that drains (/readyz 503) gets no more round-robin traffic but still gets what
 * names it; an instance that is dead has what names it taken by the other. Skipped, with the reason,
 * without haproxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceDouble, requestThrough, routingToken, waitUntil, websocketThrough } from './support/instance-doubles.js';
import { HAPROXY_CONFIG, HAPROXY_PATH, HAPROXY_SKIP_REASON, runCheck, startHaproxy, type HaproxyRun } from './support/load-balancers.js';

if (HAPROXY_SKIP_REASON) console.warn(`skipping the HAProxy configuration test: ${HAPROXY_SKIP_REASON}`);

const tally = (instances: string[]) => instances.reduce<Record<string, number>>((counts, name) => ({ ...counts, [name]: (counts[name] ?? 0) + 1 }), {});

describe.skipIf(HAPROXY_SKIP_REASON !== '')(`deploy/haproxy/haproxy.cfg${HAPROXY_SKIP_REASON ? ` (skipped: ${HAPROXY_SKIP_REASON})` : ''}`, () => {
  it('passes `haproxy -c` as shipped (its only warnings: the compose service names do not resolve here)', () => {
    const { status, output } = runCheck(HAPROXY_PATH, ['-c', '-f', HAPROXY_CONFIG]);
    expect(status, output).toBe(0);
    expect(output).toContain('Configuration file is valid');
    const warnings = output.split('\n').filter((line) => /\[(WARNING|ALERT)\]/.test(line));
    expect(warnings.filter((line) => !/could not resolve address 'voxgate-\d'/.test(line)), output).toEqual([]);
  });

  describe('in front of two instances', () => {
    let one: InstanceDouble;
    let two: InstanceDouble;
    let haproxy: HaproxyRun;
    let base: string;

    beforeAll(async () => {
      [one, two] = await Promise.all([InstanceDouble.start('voxgate-1'), InstanceDouble.start('voxgate-2')]);
      haproxy = await startHaproxy({ 'voxgate-1': one.port, 'voxgate-2': two.port });
      base = haproxy.process.baseUrl;
      await waitUntil('HAProxy to listen with both instances up', async () => {
        if (!haproxy.process.running) throw new Error(`haproxy exited:\n${haproxy.process.log}`);
        const status = await haproxy.serverStatus().catch(() => ({}) as Record<string, string>);
        return status['voxgate-1'] === 'UP' && status['voxgate-2'] === 'UP';
      });
    }, 40_000);

    afterAll(async () => {
      await haproxy?.process.stop();
      await Promise.all([one?.stop(), two?.stop()]);
    });

    it('sends every request carrying vxr=<instance>.<signature> to that instance, GET and POST alike', async () => {
      const landed: string[] = [];
      for (let i = 0; i < 10; i++) {
        landed.push((await requestThrough(base, `/plivo/hangup?vxr=${routingToken('voxgate-2')}`, { method: 'POST', body: 'CallUUID=abc&HangupCause=NORMAL_CLEARING', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).instance);
        landed.push((await requestThrough(base, `/twilio/status?x=1&vxr=${routingToken('voxgate-1')}`)).instance);
      }
      expect(landed.filter((_, i) => i % 2 === 0)).toEqual(Array(10).fill('voxgate-2'));
      expect(landed.filter((_, i) => i % 2 === 1)).toEqual(Array(10).fill('voxgate-1'));
    });

    it('sends a media WebSocket carrying vxr to that instance, both directions flowing, with the forwarded headers', async () => {
      for (const owner of ['voxgate-2', 'voxgate-1', 'voxgate-2', 'voxgate-2', 'voxgate-1']) {
        const token = routingToken(owner);
        const { landing, echo } = await websocketThrough(base, `/plivo/stream?vxr=${token}`);
        expect(landing.instance).toBe(owner);
        expect(landing.url).toBe(`/plivo/stream?vxr=${token}`);
        expect(echo).toEqual({ instance: owner, echo: 'hello over the tunnel' });
        expect(landing.headers['x-forwarded-proto']).toBe('http');
        expect(landing.headers['x-forwarded-host']).toBe(new URL(base).host);
        expect(landing.headers['x-forwarded-for']).toBe('127.0.0.1');
      }
    });

    it("sends a Twilio media WebSocket to the instance its path names (/twilio/stream/<token>: Twilio drops a stream URL's query)", async () => {
      for (const owner of ['voxgate-1', 'voxgate-2', 'voxgate-2', 'voxgate-1']) {
        const token = routingToken(owner);
        const { landing, echo } = await websocketThrough(base, `/twilio/stream/${token}`);
        expect(landing.instance).toBe(owner);
        expect(landing.url).toBe(`/twilio/stream/${token}`);
        expect(echo.instance).toBe(owner);
      }
      // Only that path: a token-like segment elsewhere is no routing token.
      const elsewhere = new Set<string>();
      for (let i = 0; i < 6; i++) elsewhere.add((await requestThrough(base, `/twilio/voice/${routingToken('voxgate-2')}`)).instance);
      expect(elsewhere).toEqual(new Set(['voxgate-1', 'voxgate-2']));
    });

    it('spreads requests without vxr (or naming no known instance) over both instances', async () => {
      const plain: string[] = [];
      for (let i = 0; i < 10; i++) plain.push((await requestThrough(base, '/plivo/answer')).instance);
      for (let i = 0; i < 4; i++) plain.push((await requestThrough(base, `/plivo/answer?vxr=${routingToken('voxgate-9')}`)).instance);
      const counts = tally(plain);
      expect(counts['voxgate-1'], plain.join(',')).toBeGreaterThanOrEqual(5);
      expect(counts['voxgate-2'], plain.join(',')).toBeGreaterThanOrEqual(5);
      const sockets: string[] = [];
      for (let i = 0; i < 4; i++) sockets.push((await websocketThrough(base, '/api/v1/live')).landing.instance);
      expect(new Set(sockets)).toEqual(new Set(['voxgate-1', 'voxgate-2']));
    });

    it('stops sending round-robin traffic to an instance whose /readyz says 503, but still sends it what names it', { timeout: 40_000 }, async () => {
      two.drain();
      await waitUntil('HAProxy to mark voxgate-2 down', async () => (await haproxy.serverStatus())['voxgate-2'] === 'DOWN');
      const plain: string[] = [];
      for (let i = 0; i < 8; i++) plain.push((await requestThrough(base, '/plivo/answer')).instance);
      expect(plain).toEqual(Array(8).fill('voxgate-1'));
      // Its live calls still need their streams and callbacks while it drains.
      for (let i = 0; i < 4; i++) expect((await requestThrough(base, `/plivo/hangup?vxr=${routingToken('voxgate-2')}`)).instance).toBe('voxgate-2');
      expect((await websocketThrough(base, `/plivo/stream?vxr=${routingToken('voxgate-2')}`)).landing.instance).toBe('voxgate-2');
    });

    it('sends what names a dead instance to the other one instead of failing it', { timeout: 40_000 }, async () => {
      await two.kill();
      for (let i = 0; i < 4; i++) expect((await requestThrough(base, `/plivo/hangup?vxr=${routingToken('voxgate-2')}`, { method: 'POST', body: 'CallUUID=abc' })).instance).toBe('voxgate-1');
      expect((await websocketThrough(base, `/plivo/stream?vxr=${routingToken('voxgate-2')}`)).landing.instance).toBe('voxgate-1');
    });
  });
});
