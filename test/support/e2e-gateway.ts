/** The gateway and the Plivo simulator on loopback, as a user runs them, with a temp data dir. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import type { BusEventMap } from '../../src/events/bus.js';
import { nextCallEnded } from './e2e-fixtures.js';

export const VOXGATE_NUMBER = '+14155550100';
const AUTH_ID = 'MAE2ETESTACCOUNT';
const AUTH_TOKEN = 'e2e-test-auth-token';

export interface E2eSetup {
  gateway: Gateway;
  sim: PlivoSimulator;
  dataDir: string;
  /** Resolves with the gateway's call.ended event for the next call that ends. */
  nextCallEnded(): Promise<BusEventMap['call.ended']>;
  close(): Promise<void>;
}

export async function startE2e(rawConfig: Record<string, unknown> = {}, simOptions: Partial<ConstructorParameters<typeof PlivoSimulator>[0]> = {}): Promise<E2eSetup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-e2e-'));
  const sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, ...simOptions });
  const { restBaseUrl } = await sim.listen();
  const config = parseConfig({
    ...rawConfig,
    // Loopback on a free port; other server settings (publicUrls of a proxy in front) are the test's.
    server: { ...(rawConfig.server as object | undefined), host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: { ...(rawConfig.carriers as object | undefined), plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl, ...((rawConfig.carriers as { plivo?: object } | undefined)?.plivo ?? {}) } },
  });
  const gateway = await startGateway(config, { logger: silentLogger() });
  sim.addNumber(VOXGATE_NUMBER, { answerUrl: `${gateway.publicUrl}/plivo/answer`, hangupUrl: `${gateway.publicUrl}/plivo/hangup` });
  return {
    gateway,
    sim,
    dataDir,
    nextCallEnded: () => nextCallEnded(gateway),
    async close() {
      await sim.close();
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
