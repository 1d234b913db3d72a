/**
 * Browser calls over WebRTC as a carrier module: a page POSTs its SDP offer (WHIP), the gateway
 * answers with its own ICE candidates, and once ICE and DTLS-SRTP connect the call is a CallSession
 * like any phone call (bots, STT, TTS, barge-in, recording, records with carrier `webrtc`). Who may
 * call is the application's WebCallerAccess (console tokens, widget keys); the page follows its call
 * on the data channel. Calls only come in: a browser cannot be dialled.
 */
import { randomUUID } from 'node:crypto';
import type { Carrier, CarrierModule, PlaceCallRequest } from '../carrier.js';
import type { OutboundReasonCode } from '../../events/outbound-events.js';
import { resolveSecret } from '../../runtime/secrets.js';
import { trimBase } from '../public-urls.js';
import { RtpPacer } from '../rtp-media/rtp-pacer.js';
import { WebRtcCall, type PeerSettings } from './webrtc-call.js';
import { webrtcConfigSchema, type WebRtcConfig } from './webrtc-config.js';
import { WEBRTC, whipRoutes } from './whip-routes.js';

const PREFIX = '/webrtc';

export const webrtcCarrier: CarrierModule<WebRtcConfig> = {
  name: WEBRTC,
  configSchema: webrtcConfigSchema,
  env: [
    ['VOXGATE_WEBRTC_PUBLIC_ADDRESS', 'publicAddress'],
    ['VOXGATE_WEBRTC_INTERFACE_ADDRESS', 'interfaceAddress'],
    ['VOXGATE_WEBRTC_MAX_CALLS', 'maxCalls'],
  ],
  create(config, context): Carrier {
    const logger = context.logger.child({ carrier: WEBRTC });
    const peer: PeerSettings = {
      iceServers: config.iceServers.map((server, i) => ({
        urls: server.urls,
        ...(server.username !== undefined ? { username: server.username } : {}),
        ...(server.credential !== undefined ? { credential: resolveSecret(server.credential, `carriers.webrtc.iceServers[${i}].credential`, process.env) } : {}),
      })),
      config,
    };
    // One 20 ms ticker paces every browser call's playout (one timer for all calls, as for SIP).
    const pacer = new RtpPacer(context.clock, (err) => logger.error({ err }, 'browser call playout tick failed'));
    /** Live calls by session id, and every call whose peer connection is not closed yet (shutdown waits for them). */
    const calls = new Map<string, WebRtcCall>();
    const closing = new Set<WebRtcCall>();
    return {
      name: WEBRTC,
      prefix: PREFIX,
      // A browser that vanishes fails ICE consent checks: the peer connection fails and the call ends here.
      endsSilentCalls: true,
      async registerRoutes(app, handler) {
        await app.register(whipRoutes, {
          prefix: PREFIX,
          config,
          peer,
          handler,
          webCallers: context.webCallers,
          cluster: context.cluster,
          draining: context.draining,
          calls,
          newCallId: randomUUID,
          logger,
          newCall: (input) => {
            const call: WebRtcCall = new WebRtcCall({
              ...input,
              handler,
              callEvents: context.callEvents,
              opusSampleRate: config.sampleRate,
              connectTimeoutMs: config.connectTimeoutSec * 1000,
              pacer,
              clock: context.clock,
              logger: logger.child({ callId: input.info.callId }),
              onEnded: () => calls.delete(input.sessionId),
              onClosed: () => closing.delete(call),
            });
            closing.add(call);
            return call;
          },
        });
        app.addHook('onClose', async () => {
          await Promise.all([...closing].map((call) => call.shutdown()));
        });
      },
      placeCall(request: PlaceCallRequest): Promise<{ carrierRequestId: string }> {
        return Promise.reject(new Error(`the webrtc carrier cannot place calls (to ${request.to}): browsers call in, they cannot be dialled`));
      },
      cannotPlace: () => 'browsers call in over WebRTC; they cannot be dialled: use a phone carrier',
      outboundReason: (): OutboundReasonCode => 'error',
      webhookUrls: (publicUrl) => ({ 'WHIP endpoint (POST)': `${trimBase(publicUrl)}${PREFIX}/whip?bot=<name>` }),
      hangupCall: async (sessionId: string) => {
        const call = calls.get(sessionId);
        if (!call) return false;
        call.end({ cause: 'Hung up by the gateway', side: 'gateway' });
        return true;
      },
    };
  },
};
