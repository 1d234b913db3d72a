/** The `carriers.webrtc` section: how browsers reach the gateway's media (ICE), which codecs, how many calls. */
import { z } from 'zod';
import { secretSchema } from '../../runtime/secrets.js';

export const WEBRTC_CODECS = ['opus', 'PCMU', 'PCMA'] as const;
export type WebRtcCodecName = (typeof WEBRTC_CODECS)[number];

const iceServerSchema = z
  .object({
    /** stun:host:port or turn:host:port[?transport=udp|tcp] (one URL or several). */
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    /** TURN password (a secret: env:NAME or file:/path work as elsewhere). */
    credential: secretSchema.optional(),
  })
  .strict();

export const webrtcConfigSchema = z
  .object({
    /**
     * A public IPv4 announced as an extra host candidate, for a gateway behind 1:1 NAT (a cloud VM's
     * elastic IP): the browser's checks reach the same port on the private address.
     */
    publicAddress: z.string().ip({ version: 'v4' }).optional(),
    /**
     * Gather and bind only this local IPv4 address (e.g. 127.0.0.1 for tests on loopback, or one NIC);
     * default: every non-loopback interface.
     */
    interfaceAddress: z.string().ip({ version: 'v4' }).optional(),
    /** STUN/TURN servers for the gateway's own candidates (server-reflexive, relayed) when it sits behind NAT. */
    iceServers: z.array(iceServerSchema).default([]),
    /** UDP ports ICE may bind (open them in the firewall); default: any ephemeral port. */
    portRange: z
      .tuple([z.number().int().min(1024).max(65535), z.number().int().min(1024).max(65535)])
      .refine(([min, max]) => min < max, { message: 'portRange: [min, max] with min < max' })
      .optional(),
    /** The codecs accepted, in order of preference (the first the browser also offers is used). */
    codecs: z.array(z.enum(WEBRTC_CODECS)).min(1).default(['opus', 'PCMU', 'PCMA']),
    /** Browser calls at once on this instance; beyond it a new call gets 503. */
    maxCalls: z.coerce.number().int().min(1).default(100),
    /** The leg's PCM rate on Opus calls (what STT, VAD and TTS see); PCMU/PCMA calls are 8000. */
    sampleRate: z.union([z.literal(8000), z.literal(16000)]).default(16000),
    /** A call whose ICE/DTLS has not connected this long after the answer ends (the browser could not reach us). */
    connectTimeoutSec: z.number().min(1).max(120).default(15),
  })
  .strict();

export type WebRtcConfig = z.infer<typeof webrtcConfigSchema>;
