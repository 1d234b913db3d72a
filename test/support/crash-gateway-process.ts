/**
 * A Voxgate gateway as a process of its own (node --import tsx), for tests that kill it mid-call:
 * Plivo carrier pointed at the simulator whose REST URL is argv[3], data in argv[2], a flow bot that
 * records the call, greets and then waits ten minutes for a key. It reports its progress on stdout
 * (test/support/gateway-child.ts).
 */
import { startGateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { HOLD_GREETING, holdingBot, reportGatewayProgress } from './gateway-child.js';

export const CRASH_AUTH_ID = 'MACRASHTESTACCOUNT';
export const CRASH_AUTH_TOKEN = 'crash-test-auth-token';
export const CRASH_GREETING = HOLD_GREETING;

export function crashGatewayConfig(dataDir: string, restBaseUrl: string) {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: { plivo: { authId: CRASH_AUTH_ID, authToken: CRASH_AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
    bots: [holdingBot({ recordCall: true })],
    routes: [{ number: '*', bot: 'held' }],
  });
}

if (process.argv[1]?.endsWith('crash-gateway-process.ts')) {
  const [dataDir, restBaseUrl] = process.argv.slice(2);
  const gateway = await startGateway(crashGatewayConfig(dataDir, restBaseUrl), { logger: silentLogger() });
  reportGatewayProgress(gateway);
}
