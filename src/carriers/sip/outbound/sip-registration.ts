/**
 * Registration with a trunk's registrar (RFC 3261 10): REGISTER our Contact for the trunk's account,
 * answer its digest challenge, and refresh before the granted expiry; on failure, retry with backoff
 * and say why in the log, so calls to our number keep arriving without anyone watching.
 */
import type { Logger } from '../../../logger.js';
import type { Clock, TimerHandle } from '../../../runtime/clock.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { SipHeaders } from '../message/sip-message.js';
import { buildAuthorization, parseChallenge } from '../message/digest.js';
import { formatVia, newBranch, newCallId, newTag, parseUri } from '../message/headers.js';
import { endpointOf, splitHostPort } from '../dialog/sip-dialog.js';
import type { SipUserAgent } from '../sip-user-agent.js';

export interface SipRegistrationOptions {
  ua: SipUserAgent;
  clock: Clock;
  logger: Logger;
  /** The registrar (the trunk's proxy), e.g. sip:sbc.example.com. */
  registrar: string;
  /** Our address of record, e.g. sip:voxgate@example.com. */
  aor: string;
  contact: string;
  credentials: { username: string; password: string };
  expiresSec: number;
}

const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 300_000;

export class SipRegistration {
  private readonly callId: string;
  private readonly tag = newTag();
  private seq = 0;
  private timer?: TimerHandle;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;
  /** Seconds the registrar granted, once registered. */
  registeredFor?: number;

  constructor(private readonly options: SipRegistrationOptions) {
    this.callId = newCallId(options.ua.transport.advertisedAddress);
  }

  start(): void {
    this.register(this.options.expiresSec);
  }

  /** Unregisters (Expires: 0) and stops refreshing. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    if (this.registeredFor === undefined) return;
    await new Promise<void>((resolve) => this.send(this.request(0), 0, () => resolve()));
  }

  private register(expiresSec: number): void {
    this.send(this.request(expiresSec), expiresSec);
  }

  private request(expiresSec: number, authorization?: [string, string]): SipRequest {
    const uri = parseUri(this.options.registrar);
    const destination = endpointOf(uri, 'udp');
    const headers = new SipHeaders();
    headers.append('Via', formatVia({ protocol: 'SIP/2.0', transport: destination.transport.toUpperCase(), ...splitHostPort(this.options.ua.transport.hostPort(destination.transport)), params: new Map([['branch', newBranch()], ['rport', null]]) }));
    headers.append('Max-Forwards', '70');
    headers.append('From', `<${this.options.aor}>;tag=${this.tag}`);
    headers.append('To', `<${this.options.aor}>`);
    headers.append('Call-ID', this.callId);
    headers.append('CSeq', `${++this.seq} REGISTER`);
    headers.append('Contact', `<${this.options.contact}>`);
    headers.append('Expires', String(expiresSec));
    if (authorization) headers.append(authorization[0], authorization[1]);
    return { kind: 'request', method: 'REGISTER', uri: `${uri.scheme}:${uri.host}${uri.port ? `:${uri.port}` : ''}`, headers, body: Buffer.alloc(0) };
  }

  private send(request: SipRequest, expiresSec: number, done?: () => void, authorized = false): void {
    const destination = endpointOf(parseUri(this.options.registrar), 'udp');
    this.options.ua.transactions.request(request, destination, {
      onFinal: (response) => {
        if ((response.status === 401 || response.status === 407) && !authorized) {
          const retry = this.withCredentials(response, expiresSec);
          if (retry) {
            this.send(retry, expiresSec, done, true);
            return;
          }
        }
        this.result(response, expiresSec);
        done?.();
      },
      onTimeout: () => {
        this.failed('the registrar did not answer');
        done?.();
      },
    });
  }

  private withCredentials(response: SipResponse, expiresSec: number): SipRequest | undefined {
    const proxy = response.status === 407;
    const header = response.headers.get(proxy ? 'proxy-authenticate' : 'www-authenticate');
    if (!header) return undefined;
    const probe = this.request(expiresSec);
    const value = buildAuthorization({ challenge: parseChallenge(header), method: 'REGISTER', uri: probe.uri, username: this.options.credentials.username, password: this.options.credentials.password });
    this.seq--; // the probe only named the URI; the retry takes its CSeq
    return this.request(expiresSec, [proxy ? 'Proxy-Authorization' : 'Authorization', value]);
  }

  private result(response: SipResponse, expiresSec: number): void {
    if (this.stopped || expiresSec === 0) return;
    if (response.status >= 200 && response.status < 300) {
      const granted = grantedExpiry(response, this.options.contact) ?? expiresSec;
      const first = this.registeredFor === undefined;
      this.registeredFor = granted;
      this.retryMs = RETRY_MIN_MS;
      if (first) this.options.logger.info({ registrar: this.options.registrar, aor: this.options.aor, expiresSec: granted }, 'SIP registration accepted');
      // Refresh well before expiry (RFC 3261 10.2.4 leaves the margin to us): at 90 %, and at least 5 s before.
      const refreshMs = Math.max(1000, Math.min(granted * 900, (granted - 5) * 1000));
      this.timer = this.options.clock.setTimeout(() => this.register(this.options.expiresSec), refreshMs);
      return;
    }
    this.failed(`${response.status} ${response.reason}`);
  }

  private failed(why: string): void {
    if (this.stopped) return;
    this.registeredFor = undefined;
    this.options.logger.warn({ registrar: this.options.registrar, aor: this.options.aor, retryInMs: this.retryMs }, `SIP registration failed: ${why}`);
    this.timer = this.options.clock.setTimeout(() => this.register(this.options.expiresSec), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}

/** The expiry the registrar granted our Contact (its Contact's expires parameter, else Expires). */
function grantedExpiry(response: SipResponse, contact: string): number | undefined {
  for (const value of response.headers.getAll('contact')) {
    if (!value.includes(contact)) continue;
    const match = /;\s*expires\s*=\s*(\d+)/i.exec(value);
    if (match) return Number(match[1]);
  }
  const expires = response.headers.get('expires');
  return expires && /^\d+$/.test(expires.trim()) ? Number(expires.trim()) : undefined;
}
