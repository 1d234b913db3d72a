/**
 * The SIP user agent core: what Voxgate does with each request the transaction layer lets through.
 * New INVITEs pass access control and go to the carrier as offered calls; in-dialog requests go to the
 * call whose dialog they name (481 when none does); CANCEL ends a call still ringing; OPTIONS answers
 * SBC keep-alives (503 while draining, so Kamailio moves new calls elsewhere); anything else is 405.
 */
import type { Logger } from '../../logger.js';
import type { Clock } from '../../runtime/clock.js';
import type { SipRequest, SipResponse } from './message/sip-message.js';
import { parseNameAddr } from './message/headers.js';
import type { SipEndpoint, SipTransport } from './transport/sip-transport.js';
import { SipTransactionLayer, type ServerTransaction, type TransactionUser } from './transaction/transactions.js';
import type { InboundAccess } from './inbound-access.js';

/** Methods Voxgate handles, announced in Allow. */
export const ALLOWED_METHODS = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY, UPDATE';
/**
 * Extensions Voxgate implements (Supported); a Require naming anything else gets 420. Only what is
 * really done is named: no `replaces` (an INVITE with Replaces would be taken for a new call), no
 * `100rel` (provisional responses are not sent reliably), no `norefersub`.
 */
export const SUPPORTED_EXTENSIONS = ['timer'];
const UNDERSTOOD = new Set(SUPPORTED_EXTENSIONS);

/** What a call (one dialog, or one INVITE still being answered) does with the requests that belong to it. */
export interface SipDialogUser {
  /** An in-dialog request (BYE, re-INVITE, INFO, REFER, NOTIFY, UPDATE, OPTIONS); `transaction` undefined for an ACK. */
  onDialogRequest(request: SipRequest, source: SipEndpoint, transaction: ServerTransaction | undefined): void;
  /** A 2xx to our INVITE arrived again (our ACK was lost). */
  onInvite2xxRetransmission?(response: SipResponse): void;
  /** CANCEL for the INVITE this call is answering. */
  onCancel?(): void;
}

export interface SipUserAgentOptions {
  transport: SipTransport;
  clock: Clock;
  logger: Logger;
  access: InboundAccess;
  /** A new INVITE passed access control: the carrier answers it through the transaction (or refuses it). */
  onInvite(invite: SipRequest, source: SipEndpoint, transaction: ServerTransaction, trunk: string): void;
}

export class SipUserAgent implements TransactionUser {
  readonly transactions: SipTransactionLayer;
  private readonly dialogs = new Map<string, SipDialogUser>();
  /** Calls still answering their INVITE, by the INVITE transaction's key, for CANCEL. */
  private readonly pending = new Map<ServerTransaction, SipDialogUser>();
  private draining = false;

  constructor(private readonly options: SipUserAgentOptions) {
    this.transactions = new SipTransactionLayer(options.transport, options.clock, options.logger);
    this.transactions.tu = this;
    options.transport.on('message', (message, source) => this.transactions.receive(message, source));
  }

  get transport(): SipTransport {
    return this.options.transport;
  }

  /** While draining, new INVITEs and OPTIONS probes get 503: a dispatcher in front moves new calls elsewhere, live calls go on. */
  setDraining(draining: boolean): void {
    this.draining = draining;
  }

  registerDialog(key: string, user: SipDialogUser): void {
    this.dialogs.set(key, user);
  }

  unregisterDialog(key: string): void {
    this.dialogs.delete(key);
  }

  /** A call answering `transaction` hears the CANCEL for it. */
  registerPending(transaction: ServerTransaction, user: SipDialogUser): void {
    this.pending.set(transaction, user);
  }

  unregisterPending(transaction: ServerTransaction): void {
    this.pending.delete(transaction);
  }

  get dialogCount(): number {
    return this.dialogs.size;
  }

  onRequest(request: SipRequest, source: SipEndpoint, transaction: ServerTransaction | undefined): void {
    const toTag = tagOf(request.headers.get('to'));
    if (transaction && toTag === undefined && this.transactions.mergedWith(transaction)) {
      // RFC 3261 8.2.2.2: the same request came another way (a forking proxy, a loop); one copy is enough.
      transaction.reply(482, { reason: 'Loop Detected (merged request)' });
      return;
    }
    if (transaction && request.method !== 'CANCEL') {
      // RFC 3261 8.2.2.3: an extension the request requires and we do not know is refused, in a dialog or not.
      const unsupported = unsupportedExtensions(request);
      if (unsupported.length > 0) {
        transaction.reply(420, { headers: [['Unsupported', unsupported.join(', ')]] });
        return;
      }
    }
    if (toTag !== undefined) {
      this.inDialog(request, source, transaction, toTag);
      return;
    }
    if (!transaction) return; // an ACK outside any dialog: nothing to acknowledge
    switch (request.method) {
      case 'INVITE':
        this.newInvite(request, source, transaction);
        return;
      case 'CANCEL':
        this.cancel(request, transaction);
        return;
      case 'OPTIONS':
        if (this.draining) transaction.reply(503, { reason: 'Service Unavailable (draining)', headers: [['Retry-After', '30']] });
        else transaction.reply(200, { headers: capabilityHeaders() });
        return;
      case 'BYE':
      case 'INFO':
      case 'NOTIFY':
      case 'UPDATE':
      case 'PRACK':
        transaction.reply(481, { reason: 'Call/Transaction Does Not Exist' });
        return;
      default:
        transaction.reply(405, { headers: [['Allow', ALLOWED_METHODS]] });
    }
  }

  onStrayResponse(response: SipResponse): void {
    if (response.status < 200 || response.status >= 300) return;
    const cseq = response.headers.get('cseq') ?? '';
    if (!/\bINVITE$/i.test(cseq.trim())) return;
    const localTag = tagOf(response.headers.get('from'));
    const remoteTag = tagOf(response.headers.get('to'));
    const user = this.dialogs.get(`${response.headers.get('call-id')}|${localTag}|${remoteTag}`);
    user?.onInvite2xxRetransmission?.(response);
  }

  onAckTimeout(): void {
    // A refused call's failure response was never acknowledged: nothing was set up, nothing to clean.
  }

  private newInvite(invite: SipRequest, source: SipEndpoint, transaction: ServerTransaction): void {
    if (this.draining) {
      transaction.reply(503, { reason: 'Service Unavailable (draining)', headers: [['Retry-After', '30']] });
      return;
    }
    const admission = this.options.access.admit(invite, source.address);
    if (!admission.admitted) {
      this.options.logger.info({ source: `${source.address}:${source.port}`, status: admission.status, from: invite.headers.get('from') }, `SIP INVITE refused: ${admission.reason}`);
      transaction.reply(admission.status, { reason: admission.reason, headers: admission.headers });
      return;
    }
    this.options.onInvite(invite, source, transaction, admission.trunk);
  }

  private cancel(cancel: SipRequest, transaction: ServerTransaction): void {
    const invite = this.transactions.inviteTransactionFor(cancel);
    if (!invite) {
      transaction.reply(481, { reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    // RFC 3261 9.2: 200 whenever the INVITE transaction exists, with the To tag of its responses; once it has its final response the CANCEL changes nothing.
    const toTag = tagOf(invite.lastResponse?.headers.get('to'));
    transaction.reply(200, toTag ? { toTag } : undefined);
    if (invite.finalSent) return;
    const user = this.pending.get(invite);
    if (user?.onCancel) user.onCancel();
    else invite.reply(487);
  }

  private inDialog(request: SipRequest, source: SipEndpoint, transaction: ServerTransaction | undefined, toTag: string): void {
    const key = `${request.headers.get('call-id')}|${toTag}|${tagOf(request.headers.get('from')) ?? ''}`;
    const user = this.dialogs.get(key);
    if (user) {
      user.onDialogRequest(request, source, transaction);
      return;
    }
    if (request.method === 'CANCEL' && transaction) {
      this.cancel(request, transaction);
      return;
    }
    transaction?.reply(481, { reason: 'Call/Transaction Does Not Exist' });
  }
}

/** The extensions a request requires that Voxgate does not support. */
function unsupportedExtensions(request: SipRequest): string[] {
  return request.headers
    .getAll('require')
    .map((e) => e.trim())
    .filter((e) => e && !UNDERSTOOD.has(e.toLowerCase()));
}

/** Allow, Accept and Supported: what OPTIONS answers, and what INVITE answers carry. */
export function capabilityHeaders(): [string, string][] {
  return [
    ['Allow', ALLOWED_METHODS],
    ['Accept', 'application/sdp, application/dtmf-relay, message/sipfrag'],
    ['Supported', SUPPORTED_EXTENSIONS.join(', ')],
  ];
}

export function tagOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return parseNameAddr(value).params.get('tag') ?? undefined;
  } catch {
    return undefined;
  }
}
