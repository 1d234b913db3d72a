/**
 * Who may call Voxgate over SIP. Each trunk lists the source addresses (CIDRs) its SBC or PBX sends
 * from, and/or digest credentials its INVITEs must carry; an INVITE no trunk admits gets 403. A
 * per-source token bucket limits INVITE floods (a scanner, a looping PBX) with 503 so one source cannot
 * starve the others.
 */
import { BlockList, isIP } from 'node:net';
import type { SipRequest } from './message/sip-message.js';
import { DigestVerifier, formatChallenge, parseAuthorization } from './message/digest.js';

export interface InboundTrunk {
  name: string;
  /** Source addresses or CIDRs ("203.0.113.0/24", "2001:db8::/32", "10.1.2.3"). */
  from: readonly string[];
  /** When set, INVITEs must also authenticate with these credentials (digest, 401 challenge). */
  auth?: { username: string; password: string };
}

export type Admission =
  | { admitted: true; trunk: string }
  | { admitted: false; status: 401 | 403 | 503; reason: string; headers?: [string, string][] };

export interface InboundAccessOptions {
  trunks: readonly InboundTrunk[];
  realm: string;
  /** Signs the digest nonces; processes behind one dispatcher share it, so a nonce one issued is good at another. */
  nonceSecret?: Buffer;
  /** INVITEs per second one source address may send, sustained. */
  invitesPerSecond: number;
  /** How many it may send at once before the rate applies. */
  burst: number;
  now: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_TRACKED_SOURCES = 10_000;

export class InboundAccess {
  private readonly byAddress: { trunk: InboundTrunk; list: BlockList }[];
  private readonly verifier: DigestVerifier;
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: InboundAccessOptions) {
    this.byAddress = options.trunks.map((trunk) => ({ trunk, list: blockListOf(trunk) }));
    this.verifier = new DigestVerifier({ realm: options.realm, now: options.now, ...(options.nonceSecret ? { secret: options.nonceSecret } : {}) });
  }

  /** Whether an INVITE (or another request starting something, e.g. an out-of-dialog REFER) from `address` may proceed. */
  admit(request: SipRequest, address: string): Admission {
    if (!this.takeToken(address)) return { admitted: false, status: 503, reason: 'Service Unavailable (too many INVITEs from this source)', headers: [['Retry-After', '5']] };
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const bySource = this.byAddress.filter(({ list }) => list.check(address, family)).map(({ trunk }) => trunk);
    const open = this.options.trunks.filter((t) => t.from.length === 0 && t.auth);
    const candidates = [...bySource, ...open];
    if (candidates.length === 0) return { admitted: false, status: 403, reason: 'Forbidden (source not allowed)' };
    const plain = bySource.find((t) => !t.auth);
    if (plain) return { admitted: true, trunk: plain.name };

    // Every candidate trunk wants digest credentials.
    const header = request.headers.get('authorization');
    if (!header) return this.challenge(false);
    let credentials;
    try {
      credentials = parseAuthorization(header);
    } catch {
      return { admitted: false, status: 403, reason: 'Forbidden (malformed Authorization)' };
    }
    const trunk = candidates.find((t) => t.auth!.username === credentials.username);
    if (!trunk) return { admitted: false, status: 403, reason: 'Forbidden (unknown user)' };
    // The digest covers the URI the client names; it must be this request's, or a response could be replayed onto another.
    if (credentials.uri !== request.uri) return { admitted: false, status: 403, reason: 'Forbidden (Authorization for another URI)' };
    const verdict = this.verifier.verify(request.method, credentials, trunk.auth!.password);
    if (verdict === 'ok') return { admitted: true, trunk: trunk.name };
    if (verdict === 'stale') return this.challenge(true);
    return { admitted: false, status: 403, reason: 'Forbidden (wrong credentials)' };
  }

  private challenge(stale: boolean): Admission {
    return { admitted: false, status: 401, reason: 'Unauthorized', headers: [['WWW-Authenticate', formatChallenge(this.verifier.challenge(stale))]] };
  }

  private takeToken(address: string): boolean {
    const { invitesPerSecond, burst, now } = this.options;
    const at = now();
    let bucket = this.buckets.get(address);
    if (!bucket) {
      if (this.buckets.size >= MAX_TRACKED_SOURCES) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: burst, at };
      this.buckets.set(address, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.at) / 1000) * invitesPerSecond);
    bucket.at = at;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

function blockListOf(trunk: InboundTrunk): BlockList {
  const list = new BlockList();
  for (const entry of trunk.from) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(address) === 0) throw new Error(`carriers.sip.trunks.${trunk.name}.inbound.from: "${entry}" is not an IP address or CIDR`);
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}
