/** The `carriers.sip` configuration section: where Voxgate listens for SIP, who may call it, and how it calls out. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { secretSchema } from '../../runtime/secrets.js';

const port = z.coerce.number().int().min(0).max(65535);
const codec = z.enum(['PCMU', 'PCMA', 'G722']);

const cidr = z.string().refine((value) => {
  const [address, prefix] = value.split('/');
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}, 'expected an IP address or CIDR, e.g. 203.0.113.0/24');

const sipUri = z.string().regex(/^sips?:[^\s]+$/i, 'expected a SIP URI, e.g. sip:sbc.example.com:5060;transport=tcp');

export const sipTrunkSchema = z
  .object({
    name: z.string().min(1),
    /** Calls from this trunk: the addresses its SBC/PBX sends from, and/or credentials it must present. */
    inbound: z
      .object({
        from: z.array(cidr).default([]),
        auth: z.object({ username: z.string().min(1), password: secretSchema }).strict().optional(),
      })
      .strict()
      .refine((inbound) => inbound.from.length > 0 || inbound.auth !== undefined, 'give `from` addresses, `auth` credentials, or both')
      .optional(),
    /** Calls through this trunk. */
    outbound: z
      .object({
        /** Where INVITEs go: the trunk's SBC or proxy. */
        proxy: sipUri,
        /** Digest credentials for the trunk's 401/407 challenges. */
        username: z.string().min(1).optional(),
        password: secretSchema.optional(),
        /** The domain of our From and Request-URI (default: the proxy's host). */
        domain: z.string().min(1).optional(),
        /** Adds P-Asserted-Identity with the caller id, for trunks that take the caller id from it. */
        pAssertedIdentity: z.boolean().default(false),
        /** Registers with the proxy (as `username`) and keeps the registration fresh. */
        register: z.object({ expiresSec: z.number().int().min(60).default(3600) }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const sipConfigSchema = z
  .object({
    /** Bind address for SIP and RTP. */
    address: z.string().default('0.0.0.0'),
    /** UDP and TCP port. */
    port: port.default(5060),
    transports: z.array(z.enum(['udp', 'tcp'])).min(1).default(['udp', 'tcp']),
    /** SIP over TLS, when a certificate is given. */
    tls: z.object({ port: port.default(5061), certFile: z.string().min(1), keyFile: z.string().min(1) }).strict().optional(),
    /** The address peers reach us at, written into Via, Contact and SDP (behind NAT: the public one). Default: the bind address, or this host's first external IPv4 when binding to all. */
    externalAddress: z.string().optional(),
    rtp: z
      .object({
        minPort: port.default(10000),
        maxPort: port.default(20000),
        /** A call with no RTP for this long is ended with a clear cause (0: never). */
        timeoutSec: z.number().min(0).default(30),
        jitterBufferFrames: z.number().int().min(1).max(25).default(3),
      })
      .strict()
      .default({})
      .refine((rtp) => rtp.minPort < rtp.maxPort, 'minPort must be below maxPort'),
    /** Codecs Voxgate accepts (the peer's offer order decides among them) and offers on calls it places, in this order. */
    codecs: z.array(codec).min(1).default(['G722', 'PCMU', 'PCMA']),
    /** Who may call in, and how calls go out. Default: calls from this machine only. */
    trunks: z
      .array(sipTrunkSchema)
      .default([{ name: 'local', inbound: { from: ['127.0.0.0/8', '::1/128'] } }])
      .refine((trunks) => new Set(trunks.map((t) => t.name)).size === trunks.length, 'trunk names must be unique'),
    /** INVITE headers passed to the bot (names, or prefixes ending in *); a bot's sipHeadersToBot narrows them further. */
    headersToBot: z.array(z.string().min(1)).default(['X-*', 'P-Asserted-Identity', 'Diversion', 'User-to-User']),
    /**
     * Digest challenges for trunks with inbound `auth`: the realm (default: the advertised address) and
     * the secret that signs nonces (default: random per process). Several processes behind one
     * dispatcher set both the same, so the INVITE that answers a challenge may land on any of them.
     */
    digest: z.object({ realm: z.string().min(1).optional(), nonceSecret: secretSchema.optional() }).strict().default({}),
    /** INVITEs one source address may send per second (a flood gets 503), and the burst allowed. */
    invitesPerSecond: z.number().positive().default(20),
    inviteBurst: z.number().int().positive().default(40),
    /** RFC 4028 session interval asked for when the peer supports session timers. */
    sessionExpiresSec: z.number().int().min(90).default(1800),
    /** How long the target of a bridged transfer may ring before the transfer counts as failed. */
    transferRingTimeoutSec: z.number().positive().default(30),
    /** How long a REFER transfer may take before it counts as failed. */
    referTimeoutSec: z.number().positive().default(30),
  })
  .strict();

export type SipConfig = z.infer<typeof sipConfigSchema>;
export type SipTrunkConfig = z.infer<typeof sipTrunkSchema>;
