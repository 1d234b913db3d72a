/**
 * A Voxgate gateway as a process of its own (node --import tsx), for tests that kill it mid-call:
 * Plivo carrier pointed at the simulator whose REST URL is argv[3], data in argv[2], a flow bot that
 * records the call, greets and then waits ten minutes for a key. It reports on stdout, one JSON
 * object per line:
 *   {"event":"ready","url":"http://127.0.0.1:PORT","pid":123}
 *   {"event":"greeted","callId":"..."}   the greeting played and every record so far is written
 */
import { startGateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';

export const CRASH_AUTH_ID = 'MACRASHTESTACCOUNT';
export const CRASH_AUTH_TOKEN = 'crash-test-auth-token';
export const CRASH_GREETING = 'Thanks for calling. Please hold.';

export function crashGatewayConfig(dataDir: string, restBaseUrl: string) {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: { plivo: { authId: CRASH_AUTH_ID, authToken: CRASH_AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
    bots: [{ name: 'held', type: 'flow', settings: { recordCall: true }, flow: { name: 'held', language: 'en-US', start: 'hold', steps: { hold: { collect: { prompt: CRASH_GREETING, maxDigits: 1, timeoutMs: 600_000, branches: { '1': 'bye' }, noMatch: 'bye', timeout: 'bye' } }, bye: { say: 'Goodbye.', hangup: 'completed' } } } }],
    routes: [{ number: '*', bot: 'held' }],
  });
}

if (process.argv[1]?.endsWith('crash-gateway-process.ts')) {
  const [dataDir, restBaseUrl] = process.argv.slice(2);
  const gateway = await startGateway(crashGatewayConfig(dataDir, restBaseUrl), { logger: silentLogger() });
  const report = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
  gateway.bus.subscribe('prompt.played', (e) => {
    void gateway.records.flush().then(() => report({ event: 'greeted', callId: e.callId }));
  });
  // The test runner going away closes stdin: do not outlive it.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  report({ event: 'ready', url: gateway.url, pid: process.pid });
}
