/** A gateway on loopback with the webrtc carrier and the menu flow bot, and browser-style callers for it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import type { BusEventMap } from '../../src/events/bus.js';
import { menuFlow, nextCallEnded } from '../support/e2e-fixtures.js';
import { WebRtcCaller, type WebRtcCallerOptions } from '../support/webrtc-client.js';

/** The static api.token: it holds admin, so it may place console calls (calls:web). */
export const TOKEN = 'static-api-token';
export const MENU_BOT = 'menu-bot';

export interface WebRtcE2e {
  gateway: Gateway;
  baseUrl: string;
  dataDir: string;
  /** Places a call to the menu bot as the console would (token, the gateway's own origin), unless overridden. */
  call(options?: Partial<WebRtcCallerOptions>): Promise<WebRtcCaller>;
  nextCallEnded(): Promise<BusEventMap['call.ended']>;
  close(): Promise<void>;
}

export async function startWebRtcE2e(raw: Record<string, unknown> = {}, webrtc: Record<string, unknown> = {}): Promise<WebRtcE2e> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-webrtc-'));
  const config = parseConfig({
    bots: [{ name: MENU_BOT, type: 'flow', flow: menuFlow }],
    routes: [{ number: '*', bot: MENU_BOT }],
    ...raw,
    api: { token: TOKEN },
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: { webrtc: { interfaceAddress: '127.0.0.1', ...webrtc } },
  });
  const gateway = await startGateway(config, { logger: silentLogger() });
  const baseUrl = gateway.publicUrl;
  const callers: WebRtcCaller[] = [];
  return {
    gateway,
    baseUrl,
    dataDir,
    async call(options = {}) {
      const caller = await WebRtcCaller.call({ baseUrl, bot: MENU_BOT, token: TOKEN, origin: baseUrl, ...options });
      callers.push(caller);
      return caller;
    },
    nextCallEnded: () => nextCallEnded(gateway),
    async close() {
      await Promise.all(callers.map((c) => c.close()));
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
