/**
 * The gateway with the Plivo and Twilio simulators, all on one fake clock, for calls a carrier goes
 * quiet on: faults injected into the simulated calls (a stream that never opens, media that stops, a
 * hangup callback that never comes), what the gateway then logs, records and shows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import type { BusEventMap } from '../../src/events/bus.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import type { CarrierFaults } from '../../src/sim/simulated-call.js';
import { CapturedLogs } from './carrier-harness.js';
import { ScriptedBot } from './call-doubles.js';
import { FakeClock } from './fake-clock.js';
import { nextCallEnded } from './e2e-fixtures.js';
import { parsePrometheusText } from './prometheus-text.js';
import { ToneTtsProvider } from './tts-tone-provider.js';

export const PLIVO_NUMBER = '+14155550100';
export const TWILIO_NUMBER = '+14155550190';
const PLIVO_AUTH_ID = 'MAQUIETCARRIER';
const PLIVO_TOKEN = 'quiet-plivo-token';
const ACCOUNT_SID = `AC${'7'.repeat(32)}`;
const TWILIO_TOKEN = 'quiet-twilio-token';
const API_TOKEN = 'quiet-api-token';

export interface QuietCarrierSetup {
  gateway: Gateway;
  plivo: PlivoSimulator;
  twilio: TwilioSimulator;
  clock: FakeClock;
  logs: CapturedLogs;
  /** Resolves with the gateway's call.ended event for the next call that ends. */
  nextCallEnded(): Promise<BusEventMap['call.ended']>;
  /** The next call either simulator starts gets these faults. */
  injectFaults(faults: CarrierFaults): void;
  /** GET /api/v1/calls/live: the calls the console shows as live. */
  liveList(): Promise<{ callId: string }[]>;
  /** voxgate_active_calls from GET /metrics, summed over its labels. */
  activeCallsGauge(): Promise<number>;
  close(): Promise<void>;
}

export async function startQuietCarrierGateway(liveCalls: Record<string, number> = {}): Promise<QuietCarrierSetup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-quiet-'));
  const clock = new FakeClock(Date.now());
  const plivo = new PlivoSimulator({ authId: PLIVO_AUTH_ID, authToken: PLIVO_TOKEN, clock });
  const twilio = new TwilioSimulator({ accountSid: ACCOUNT_SID, authToken: TWILIO_TOKEN, clock, ticker: plivo.ticker });
  const plivoApi = (await plivo.listen()).restBaseUrl;
  const twilioApi = (await twilio.listen()).restBaseUrl;
  const config = parseConfig({
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    api: { token: API_TOKEN },
    liveCalls,
    carriers: {
      plivo: { authId: PLIVO_AUTH_ID, authToken: PLIVO_TOKEN, apiBaseUrl: plivoApi },
      twilio: { accountSid: ACCOUNT_SID, authToken: TWILIO_TOKEN, apiBaseUrl: twilioApi },
    },
  });
  const logs = new CapturedLogs();
  // A bot that greets once and then only listens: nothing but the reaper ends these calls.
  const gateway = await startGateway(config, { logger: pino({ level: 'info' }, logs.stream), clock, tts: new ToneTtsProvider(), createBotConnector: () => new ScriptedBot([{ text: 'Hello.' }]) });
  plivo.addNumber(PLIVO_NUMBER, { answerUrl: `${gateway.publicUrl}/plivo/answer`, hangupUrl: `${gateway.publicUrl}/plivo/hangup` });
  twilio.addNumber(TWILIO_NUMBER, { voiceUrl: `${gateway.publicUrl}/twilio/voice`, statusCallback: `${gateway.publicUrl}/twilio/status` });
  const auth = { authorization: `Bearer ${API_TOKEN}` };
  let pending: CarrierFaults | undefined;
  const applyFaults = (call: { faults: CarrierFaults }) => {
    if (pending) call.faults = pending;
    pending = undefined;
  };
  plivo.on('call', applyFaults);
  twilio.on('call', applyFaults);
  return {
    gateway,
    plivo,
    twilio,
    clock,
    logs,
    nextCallEnded: () => nextCallEnded(gateway),
    injectFaults: (faults) => void (pending = faults),
    async liveList() {
      const res = await fetch(`${gateway.url}/api/v1/calls/live`, { headers: auth });
      return ((await res.json()) as { calls: { callId: string }[] }).calls;
    },
    async activeCallsGauge() {
      const res = await fetch(`${gateway.url}/metrics`);
      return parsePrometheusText(await res.text())
        .filter((s) => s.name === 'voxgate_active_calls')
        .reduce((sum, s) => sum + s.value, 0);
    },
    async close() {
      await plivo.close();
      await twilio.close();
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}
