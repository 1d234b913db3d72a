/**
 * The one error type the SIP message layer throws for bad input. Kept in its own file so the header
 * grammar and the message parser can both throw it without importing each other; parser.ts re-exports it.
 */
import type { SipRequest } from './sip-message.js';

export class SipParseError extends Error {
  override readonly name: string = 'SipParseError';
  /**
   * The response a UAS should answer with when it answers at all: 400, 505 for another SIP version,
   * 513 for a message over the size limit.
   */
  readonly status: number;
  /** When the request line and Via, From, To, Call-ID and CSeq parsed: the best-effort request, enough to build that response. */
  readonly partial?: SipRequest;

  constructor(message: string, options: { status?: number; partial?: SipRequest } = {}) {
    super(message);
    this.status = options.status ?? 400;
    if (options.partial) this.partial = options.partial;
  }

  /** The same error with the best-effort request attached. */
  withPartial(partial: SipRequest): SipParseError {
    return new SipParseError(this.message, { status: this.status, partial });
  }
}
