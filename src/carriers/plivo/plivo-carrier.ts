/** Plivo as a carrier module: its configuration section, its routes, outbound calls through its Call API. */
import { z } from 'zod';
import { resolveSecret, secretSchema } from '../../runtime/secrets.js';
import type { Carrier, CarrierCallState, CarrierModule, PlaceCallRequest } from '../carrier.js';
import type { OutboundFailure } from '../leg.js';
import type { OutboundReasonCode } from '../../events/outbound-events.js';
import { trimBase } from '../public-urls.js';
import { withRoutingToken } from '../../cluster/routing-token.js';
import { PLIVO_CONTENT_TYPES, streamExtraHeadersProblem } from './answer-xml.js';
import { PlivoRestClient } from './rest-client.js';
import { PLIVO, hangupSide, plivoRoutes } from './routes.js';

const PREFIX = '/plivo';

export const plivoConfigSchema = z
  .object({
    authId: z.string().default('MAVOXGATEDEMO'),
    /** Enables Signature V3 checks on callbacks and the stream, and authenticates REST calls. */
    authToken: secretSchema.optional(),
    apiBaseUrl: z.string().url().default('https://api.plivo.com'),
    contentType: z.enum(PLIVO_CONTENT_TYPES).default('audio/x-mulaw;rate=8000'),
    /** How long a callback's signature nonce is remembered, to refuse the same request sent again (in Redis when REDIS_URL is set). */
    replayWindowSec: z.number().int().min(1).max(86_400).default(300),
    /** Sent as <Stream extraHeaders> and repeated by Plivo on the stream's messages; checked against Plivo's rule here, not at the first call. */
    streamExtraHeaders: z
      .record(z.string())
      .default({})
      .superRefine((headers, ctx) => {
        const problem = streamExtraHeadersProblem(headers);
        if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
      }),
  })
  .strict();

export type PlivoConfig = z.infer<typeof plivoConfigSchema>;

/** Plivo's report of an outbound call nobody answered (HangupCauseName, CallStatus) -> Voxgate's reason. */
export function plivoOutboundReason(failure: OutboundFailure): OutboundReasonCode {
  const status = (failure.status ?? '').toLowerCase();
  const cause = failure.cause.toLowerCase();
  if (cause.includes('machine')) return 'machine-detected';
  if (status === 'busy' || cause.includes('busy')) return 'busy';
  if (cause.includes('reject') || cause.includes('declin')) return 'declined';
  if (status === 'no-answer' || status === 'timeout' || cause.includes('no answer') || cause.includes('timeout')) return 'no-answer';
  return 'error';
}

/** Plivo's word on a call (Live Call API, then its call detail record) as the registry reads it. */
export async function plivoCallState(rest: PlivoRestClient, callUuid: string): Promise<CarrierCallState> {
  const status = await rest.callStatus(callUuid);
  if (status.state === 'live') return { live: true, status: status.callStatus };
  if (status.state === 'unknown') return { live: false, status: 'unknown', cause: 'Plivo has no record of the call', side: 'carrier' };
  const direction = status.direction === 'outbound' ? 'outbound' : 'inbound';
  return {
    live: false,
    status: 'completed',
    cause: status.hangupCauseName ?? 'Unknown',
    side: hangupSide(status.hangupSource, direction),
    ...(status.durationSec !== undefined ? { durationSec: status.durationSec } : {}),
  };
}

export const plivoCarrier: CarrierModule<PlivoConfig> = {
  name: PLIVO,
  configSchema: plivoConfigSchema,
  env: [
    ['PLIVO_AUTH_ID', 'authId'],
    ['PLIVO_AUTH_TOKEN', 'authToken'],
    ['PLIVO_API_BASE_URL', 'apiBaseUrl'],
    ['PLIVO_CONTENT_TYPE', 'contentType'],
  ],
  create(config, context): Carrier {
    const authToken = resolveSecret(config.authToken, 'carriers.plivo.authToken', process.env);
    const rest = new PlivoRestClient({ authId: config.authId, authToken: authToken ?? '', baseUrl: config.apiBaseUrl });
    const base = () => `${trimBase(context.publicUrl())}${PREFIX}`;
    // With a cluster, the URLs of a placed call name this instance, so its callbacks come back here.
    const routed = (url: string) => withRoutingToken(url, context.cluster?.token);
    return {
      name: PLIVO,
      prefix: PREFIX,
      async registerRoutes(app, handler) {
        await app.register(plivoRoutes, {
          prefix: PREFIX,
          get publicBaseUrl() {
            return context.publicUrl();
          },
          get publicBaseUrls() {
            return context.publicUrls?.() ?? [];
          },
          cluster: context.cluster,
          authToken,
          contentType: config.contentType,
          streamExtraHeaders: config.streamExtraHeaders,
          replayWindowMs: config.replayWindowSec * 1000,
          redisUrl: context.redisUrl,
          handler,
          rest,
          logger: context.logger,
          clock: context.clock,
        });
      },
      // The call id travels in the (signed) callback URLs, so every callback names the call without a lookup.
      async placeCall(request: PlaceCallRequest) {
        const q = `?callId=${encodeURIComponent(request.callId)}`;
        const res = await rest.makeCall({
          from: request.from,
          to: request.to,
          answerUrl: routed(`${base()}/answer${q}`),
          hangupUrl: routed(`${base()}/hangup${q}`),
          ringUrl: routed(`${base()}/ring${q}`),
          callerName: request.callerDisplayName,
          ringTimeout: request.ringTimeoutSec,
          ...(request.machineDetection
            ? { machineDetection: request.machineDetection === 'disconnect' ? ('hangup' as const) : ('true' as const), machineDetectionUrl: routed(`${base()}/machine${q}`) }
            : {}),
        });
        return { carrierRequestId: res.requestUuid };
      },
      outboundReason: plivoOutboundReason,
      // Without credentials Plivo cannot be asked; the registry then reaps on its own word alone.
      ...(authToken ? { callState: (callUuid: string) => plivoCallState(rest, callUuid), hangupCall: (callUuid: string) => rest.hangupCall(callUuid) } : {}),
      webhookUrls: (publicUrl) => ({ 'Answer URL (POST)': `${trimBase(publicUrl)}${PREFIX}/answer`, 'Hangup URL (POST)': `${trimBase(publicUrl)}${PREFIX}/hangup` }),
    };
  },
};
