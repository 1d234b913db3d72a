/**
 * The gateway and the Twilio simulator on loopback (optionally the Plivo simulator too, on the same
 * ticker), as a user runs them: signed webhooks, Media Streams, the REST API, a temp data dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { TwilioSimulator, type TwilioSimulatorOptions } from '../../src/sim/twilio/twilio-simulator.js';
import type { BusEventMap } from '../../src/events/bus.js';
import { nextCallEnded } from './e2e-fixtures.js';

/** The number the Twilio account routes to Voxgate. */
export const TWILIO_NUMBER = '+14155550190';
/** The number the Plivo account routes to Voxgate (when Plivo runs too). */
export const PLIVO_NUMBER = '+14155550100';
export const ACCOUNT_SID = `AC${'e2e'.padEnd(32, '0')}`;
export const TWILIO_TOKEN = 'e2e-twilio-auth-token';
const PLIVO_AUTH_ID = 'MAE2ETESTACCOUNT';
const PLIVO_TOKEN = 'e2e-test-auth-token';

export interface TwilioE2eSetup {
  gateway: Gateway;
  twilio: TwilioSimulator;
  /** Present when started with `withPlivo`. */
  plivo: PlivoSimulator | undefined;
  dataDir: string;
  /** Resolves with the gateway's call.ended event for the next call that ends. */
  nextCallEnded(): Promise<BusEventMap['call.ended']>;
  close(): Promise<void>;
}

export async function startTwilioE2e(
  rawConfig: Record<string, unknown> = {},
  opts: { withPlivo?: boolean; twilio?: Partial<TwilioSimulatorOptions> } = {},
): Promise<TwilioE2eSetup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-e2e-twilio-'));
  const plivo = opts.withPlivo ? new PlivoSimulator({ authId: PLIVO_AUTH_ID, authToken: PLIVO_TOKEN }) : undefined;
  // One ticker for both carriers' calls, as one carrier network would pace them.
  const twilio = new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: TWILIO_TOKEN, outboundCallsPerSecond: 10, ...(plivo ? { ticker: plivo.ticker } : {}), ...opts.twilio });
  const { restBaseUrl: twilioApi } = await twilio.listen();
  const plivoApi = plivo ? (await plivo.listen()).restBaseUrl : undefined;
  const config = parseConfig({
    ...rawConfig,
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: {
      twilio: { accountSid: ACCOUNT_SID, authToken: TWILIO_TOKEN, apiBaseUrl: twilioApi },
      ...(plivo ? { plivo: { authId: PLIVO_AUTH_ID, authToken: PLIVO_TOKEN, apiBaseUrl: plivoApi } } : {}),
    },
  });
  const gateway = await startGateway(config, { logger: silentLogger() });
  twilio.addNumber(TWILIO_NUMBER, { voiceUrl: `${gateway.publicUrl}/twilio/voice`, statusCallback: `${gateway.publicUrl}/twilio/status` });
  plivo?.addNumber(PLIVO_NUMBER, { answerUrl: `${gateway.publicUrl}/plivo/answer`, hangupUrl: `${gateway.publicUrl}/plivo/hangup` });
  return {
    gateway,
    twilio,
    plivo,
    dataDir,
    nextCallEnded: () => nextCallEnded(gateway),
    async close() {
      await twilio.close();
      await plivo?.close();
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
