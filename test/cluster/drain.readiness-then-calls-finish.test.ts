/**
 * Graceful drain (SIGTERM in `voxgate serve`): readiness answers 503 naming the drain at once, live
 * calls are left to finish, then the gateway closes; a call still up at server.drainTimeoutMs is hung
 * up at the carrier and recorded with reason `shutdown`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { HANGUP_CAUSES } from '../../src/sim/hangup-causes.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { openDatabase } from '../../src/store/database.js';
import { CRASH_AUTH_ID, CRASH_AUTH_TOKEN, crashGatewayConfig } from '../support/crash-gateway-process.js';
import { until } from './cluster-fixture.js';

const VOXGATE_NUMBER = '+14155550100';

describe('draining a gateway', () => {
  let dataDir: string | undefined;
  let sim: PlivoSimulator | undefined;
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    await sim?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = sim = gateway = undefined;
  });

  async function start(drainTimeoutMs: number) {
    dataDir = await mkdtemp(join(tmpdir(), 'vg-drain-'));
    sim = new PlivoSimulator({ authId: CRASH_AUTH_ID, authToken: CRASH_AUTH_TOKEN });
    const { restBaseUrl } = await sim.listen();
    const config = crashGatewayConfig(dataDir, restBaseUrl);
    gateway = await startGateway({ ...config, server: { ...config.server, drainTimeoutMs } }, { logger: silentLogger() });
    sim.addNumber(VOXGATE_NUMBER, { answerUrl: `${gateway.url}/plivo/answer`, hangupUrl: `${gateway.url}/plivo/hangup` });
    const call = sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 600, recordHeard: false } });
    const g = gateway;
    await until('the call connected', () => g.calls.list()[0]?.connected);
    return { gateway: g, call, dataDir };
  }

  it('goes unready at once, lets the live call finish, then closes', async () => {
    const { gateway: g, call } = await start(60_000);
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);

    const drained = g.drain();
    expect(g.draining).toBe(true);
    const ready = await fetch(`${g.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', reason: expect.stringMatching(/^draining: 1 live calls/) });

    // The caller ends the call in their own time; the drain waits for it.
    await call.hangup(HANGUP_CAUSES.normal, 'Caller');
    expect(await drained).toMatchObject({ liveAtStart: 1, hungUp: 0 });
    await expect(fetch(`${g.url}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('hangs up a call still up at the deadline, recorded with reason shutdown', async () => {
    const { gateway: g, call, dataDir: dir } = await start(1500);
    const [{ callId }] = g.calls.list();

    expect(await g.drain()).toMatchObject({ liveAtStart: 1, hungUp: 1 });
    await call.ended;
    expect(call.hangupSource).toBe('API Request');
    const store = await openDatabase({ dataDir: dir });
    try {
      expect(await store.calls.get(callId)).toMatchObject({ endReason: 'shutdown', hangupSide: 'gateway' });
    } finally {
      await store.close();
    }
  }, 60_000);
});
