/**
 * The carrier `voxgate demo` runs against: the local simulator of Plivo or of Twilio, started with a
 * real auth token (so every webhook and media upgrade is signed and verified, as with the real
 * carrier), and the configuration that points the gateway at it.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { plivoConfigSchema } from '../carriers/plivo/plivo-carrier.js';
import { twilioConfigSchema } from '../carriers/twilio/twilio-carrier.js';
import type { VoxgateConfig } from '../config/schema.js';
import { resolveSecret } from '../runtime/secrets.js';
import { PlivoSimulator } from '../sim/plivo-simulator.js';
import type { AnySimCall } from '../sim/simulated-call.js';
import { TwilioSimulator } from '../sim/twilio/twilio-simulator.js';
import type { PartyScript } from '../sim/virtual-party.js';

export const DEMO_CARRIERS = ['plivo', 'twilio'] as const;
export type DemoCarrierName = (typeof DEMO_CARRIERS)[number];

export interface DemoCarrier {
  name: DemoCarrierName;
  /** What the simulator is, for the demo's first lines. */
  description: string;
  restBaseUrl: string;
  /** The gateway's `carriers` section: only the simulator's carrier, so outbound calls have one way out. */
  carriers: VoxgateConfig['carriers'];
  /** Routes `number` to the gateway at `gatewayUrl`, as the carrier's console would. */
  attachNumber(number: string, gatewayUrl: string): void;
  dialInbound(args: { from: string; to: string; script: PartyScript }): { call: AnySimCall; carrierCallId: string };
  addCallee(number: string, script: PartyScript): void;
  close(): Promise<void>;
}

export async function startDemoCarrier(name: DemoCarrierName, config: VoxgateConfig, logger: Logger): Promise<DemoCarrier> {
  const simLogger = logger.child({ component: 'simulator' });
  if (name === 'twilio') {
    const twilio = twilioConfigSchema.parse(config.carriers.twilio ?? {});
    const authToken = resolveSecret(twilio.authToken, 'carriers.twilio.authToken', process.env) ?? randomBytes(18).toString('base64url');
    const accountSid = twilio.accountSid && /^AC[0-9a-f]{32}$/i.test(twilio.accountSid) ? twilio.accountSid : `AC${randomBytes(16).toString('hex')}`;
    const sim = new TwilioSimulator({ accountSid, authToken, logger: simLogger, outboundCallsPerSecond: 1 });
    const { restBaseUrl } = await sim.listen();
    return {
      name,
      description: 'a local Twilio: REST API, signed webhooks and status callbacks, Media Streams',
      restBaseUrl,
      carriers: { twilio: { ...twilio, accountSid, authToken, apiBaseUrl: restBaseUrl } },
      attachNumber: (number, url) => sim.addNumber(number, { voiceUrl: `${url}/twilio/voice`, statusCallback: `${url}/twilio/status` }),
      dialInbound: (args) => {
        const call = sim.dialInbound(args);
        return { call, carrierCallId: call.callSid };
      },
      addCallee: (number, script) => sim.addCallee(number, script),
      close: () => sim.close(),
    };
  }
  const plivo = plivoConfigSchema.parse(config.carriers.plivo ?? {});
  const authToken = resolveSecret(plivo.authToken, 'carriers.plivo.authToken', process.env) ?? randomBytes(18).toString('base64url');
  const sim = new PlivoSimulator({ authId: plivo.authId, authToken, logger: simLogger });
  const { restBaseUrl } = await sim.listen();
  return {
    name,
    description: 'a local Plivo: REST API, signed webhooks, audio stream',
    restBaseUrl,
    carriers: { plivo: { ...plivo, authToken, apiBaseUrl: restBaseUrl } },
    attachNumber: (number, url) => sim.addNumber(number, { answerUrl: `${url}/plivo/answer`, hangupUrl: `${url}/plivo/hangup` }),
    dialInbound: (args) => {
      const call = sim.dialInbound(args);
      return { call, carrierCallId: call.callUuid };
    },
    addCallee: (number, script) => sim.addCallee(number, script),
    close: () => sim.close(),
  };
}
