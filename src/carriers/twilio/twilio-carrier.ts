/** Twilio as a carrier module: its configuration section, its routes, outbound calls through its REST API. */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { Carrier, CarrierCallState, CarrierModule, PlaceCallRequest } from '../carrier.js';
import type { OutboundFailure } from '../leg.js';
import type { OutboundReasonCode } from '../../events/outbound-events.js';
import { trimBase } from '../public-urls.js';
import { withRoutingToken } from '../../cluster/routing-token.js';
import { TwilioRestClient } from './rest-client.js';
import { TWILIO, twilioCause, twilioRoutes } from './routes.js';

const PREFIX = '/twilio';

export const twilioConfigSchema = z
  .object({
    /** AC...: authenticates REST calls (with authToken). */
    accountSid: z.string().min(1).optional(),
    /** Enables X-Twilio-Signature checks on webhooks and the stream, and authenticates REST calls. */
    authToken: secretSchema.optional(),
    apiBaseUrl: z.string().url().default('https://api.twilio.com'),
  })
  .strict();

export type TwilioConfig = z.infer<typeof twilioConfigSchema>;

/** Twilio's report of an outbound call nobody answered (CallStatus, SipResponseCode) -> Voxgate's reason. */
export function twilioOutboundReason(failure: OutboundFailure): OutboundReasonCode {
  const status = (failure.status ?? '').toLowerCase();
  const sip = Number(/SIP (\d{3})/.exec(failure.cause)?.[1]);
  // 603 Decline and 607 Unwanted: the callee refused the call; Twilio reports them as busy or failed.
  if (sip === 603 || sip === 607) return 'declined';
  if (status === 'busy' || sip === 486 || sip === 600) return 'busy';
  if (status === 'no-answer') return 'no-answer';
  // failed: unreachable, invalid number, carrier trouble (SIP 404, 480, 5xx...); canceled: ended before it rang.
  return 'error';
}

/** Statuses of a call Twilio still has up (or has not started yet). */
const LIVE_STATUSES = new Set(['queued', 'initiated', 'ringing', 'in-progress']);

/** Twilio's word on a call (the Call resource) as the registry reads it. */
export async function twilioCallState(rest: TwilioRestClient, callSid: string): Promise<CarrierCallState> {
  const call = await rest.fetchCall(callSid);
  if (LIVE_STATUSES.has(call.status)) return { live: true, status: call.status };
  return {
    live: false,
    status: call.status,
    cause: twilioCause(call.status),
    // As its status callback: Twilio does not say who hung up.
    side: call.status === 'completed' ? 'caller' : 'carrier',
    ...(call.durationSec !== undefined ? { durationSec: call.durationSec } : {}),
  };
}

export const twilioCarrier: CarrierModule<TwilioConfig> = {
  name: TWILIO,
  configSchema: twilioConfigSchema,
  env: [
    ['TWILIO_ACCOUNT_SID', 'accountSid'],
    ['TWILIO_AUTH_TOKEN', 'authToken'],
    ['TWILIO_API_BASE_URL', 'apiBaseUrl'],
  ],
  create(config, context): Carrier {
    const authToken = resolveSecret(config.authToken, 'carriers.twilio.authToken', process.env);
    const rest = new TwilioRestClient({ accountSid: config.accountSid ?? '', authToken: authToken ?? '', baseUrl: config.apiBaseUrl });
    const base = () => `${trimBase(context.publicUrl())}${PREFIX}`;
    // With a cluster, the URLs of a placed call name this instance, so its callbacks come back here.
    const routed = (url: string) => withRoutingToken(url, context.cluster?.token);
    return {
      name: TWILIO,
      prefix: PREFIX,
      async registerRoutes(app, handler) {
        await app.register(twilioRoutes, {
          prefix: PREFIX,
          get publicBaseUrl() {
            return context.publicUrl();
          },
          get publicBaseUrls() {
            return context.publicUrls?.() ?? [];
          },
          cluster: context.cluster,
          authToken,
          handler,
          rest,
          logger: context.logger,
          clock: context.clock,
        });
      },
      // The call id travels in the (signed) webhook URLs, so every callback names the call without a lookup.
      async placeCall(request: PlaceCallRequest) {
        const q = `?callId=${encodeURIComponent(request.callId)}`;
        const call = await rest.createCall({
          to: request.to,
          from: request.from,
          url: routed(`${base()}/voice${q}`),
          statusCallback: routed(`${base()}/status${q}`),
          statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
          timeout: request.ringTimeoutSec,
          // Asynchronous detection: the bot starts at once instead of after seconds of analysis.
          ...(request.machineDetection
            ? { machineDetection: 'Enable' as const, asyncAmd: true, asyncAmdStatusCallback: routed(`${base()}/amd${q}&amd=${request.machineDetection}`) }
            : {}),
        });
        return { carrierRequestId: call.sid };
      },
      outboundReason: twilioOutboundReason,
      // Without credentials Twilio cannot be asked; the registry then reaps on its own word alone.
      ...(config.accountSid && authToken ? { callState: (callSid: string) => twilioCallState(rest, callSid), hangupCall: (callSid: string) => rest.hangupCall(callSid) } : {}),
      webhookUrls: (publicUrl) => ({ 'A call comes in (Webhook, HTTP POST)': `${trimBase(publicUrl)}${PREFIX}/voice`, 'Call status changes': `${trimBase(publicUrl)}${PREFIX}/status` }),
    };
  },
};
