/**
 * The carrier `voxgate demo` runs against: the local simulator of Plivo or of Twilio, started with a
 * real auth token (so every webhook and media upgrade is signed and verified, as with the real
 * carrier), or its SIP side (a SIP trunk on loopback: it dials the gateway's SIP carrier and answers
 * the calls the gateway places through it), and the configuration that points the gateway at it.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { plivoConfigSchema } from '../carriers/plivo/plivo-carrier.js';
import { twilioConfigSchema } from '../carriers/twilio/twilio-carrier.js';
import type { Gateway } from '../app/gateway.js';
import { sipConfigSchema } from '../carriers/sip/sip-config.js';
import type { VoxgateConfig } from '../config/schema.js';
import { resolveSecret } from '../runtime/secrets.js';
import { PlivoSimulator } from '../sim/plivo-simulator.js';
import { SipSimulator } from '../sim/sip/sip-simulator.js';
import type { AnySimCall } from '../sim/simulated-call.js';
import { TwilioSimulator } from '../sim/twilio/twilio-simulator.js';
import type { PartyScript } from '../sim/virtual-party.js';

export const DEMO_CARRIERS = ['plivo', 'twilio', 'sip'] as const;
export type DemoCarrierName = (typeof DEMO_CARRIERS)[number];

export interface DemoCarrier {
  name: DemoCarrierName;
  /** What the simulator is, for the demo's first lines. */
  description: string;
  /** Where the simulator listens: its REST base URL, or its SIP URI. */
  address: string;
  /** The gateway's `carriers` section: only the simulator's carrier, so outbound calls have one way out. */
  carriers: VoxgateConfig['carriers'];
  /** Routes `number` to the gateway, as the carrier's console (or a trunk's routing) would. */
  attachNumber(number: string, gateway: Gateway): void;
  dialInbound(args: { from: string; to: string; script: PartyScript }): { call: AnySimCall; carrierCallId: string };
  addCallee(number: string, script: PartyScript): void;
  close(): Promise<void>;
}

export async function startDemoCarrier(name: DemoCarrierName, config: VoxgateConfig, logger: Logger): Promise<DemoCarrier> {
  const simLogger = logger.child({ component: 'simulator' });
  if (name === 'sip') {
    const sip = sipConfigSchema.parse(config.carriers.sip ?? {});
    const sim = new SipSimulator({ logger: simLogger });
    const { uri, port } = await sim.listen();
    return {
      name,
      description: 'a SIP trunk on loopback: INVITE, RTP (PCMU/PCMA) every 20 ms, RFC 4733 keys, BYE',
      address: uri,
      carriers: {
        sip: {
          ...sip,
          // The gateway's SIP on a free loopback port; the simulator is its only trunk, both ways.
          address: '127.0.0.1',
          port: 0,
          transports: ['udp'],
          externalAddress: undefined,
          tls: undefined,
          trunks: [{ name: 'simulator', inbound: { from: ['127.0.0.1/32'] }, outbound: { proxy: `sip:127.0.0.1:${port}`, pAssertedIdentity: false } }],
        },
      },
      attachNumber: (number, gateway) => {
        const sipUri = gateway.carriers.get('sip')?.webhookUrls(gateway.publicUrl).SIP;
        if (!sipUri) throw new Error('the gateway has no SIP carrier to route the demo number to');
        sim.addNumber(number, { uri: sipUri });
      },
      dialInbound: (args) => {
        const call = sim.dialInbound(args);
        return { call, carrierCallId: call.sipCallId };
      },
      addCallee: (number, script) => sim.addCallee(number, script),
      close: () => sim.close(),
    };
  }
  if (name === 'twilio') {
    const twilio = twilioConfigSchema.parse(config.carriers.twilio ?? {});
    const authToken = resolveSecret(twilio.authToken, 'carriers.twilio.authToken', process.env) ?? randomBytes(18).toString('base64url');
    const accountSid = twilio.accountSid && /^AC[0-9a-f]{32}$/i.test(twilio.accountSid) ? twilio.accountSid : `AC${randomBytes(16).toString('hex')}`;
    const sim = new TwilioSimulator({ accountSid, authToken, logger: simLogger, outboundCallsPerSecond: 1 });
    const { restBaseUrl } = await sim.listen();
    return {
      name,
      description: 'a local Twilio: REST API, signed webhooks and status callbacks, Media Streams',
      address: restBaseUrl,
      carriers: { twilio: { ...twilio, accountSid, authToken, apiBaseUrl: restBaseUrl } },
      attachNumber: (number, gateway) => sim.addNumber(number, { voiceUrl: `${gateway.publicUrl}/twilio/voice`, statusCallback: `${gateway.publicUrl}/twilio/status` }),
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
    address: restBaseUrl,
    carriers: { plivo: { ...plivo, authToken, apiBaseUrl: restBaseUrl } },
    attachNumber: (number, gateway) => sim.addNumber(number, { answerUrl: `${gateway.publicUrl}/plivo/answer`, hangupUrl: `${gateway.publicUrl}/plivo/hangup` }),
    dialInbound: (args) => {
      const call = sim.dialInbound(args);
      return { call, carrierCallId: call.callUuid };
    },
    addCallee: (number, script) => sim.addCallee(number, script),
    close: () => sim.close(),
  };
}
