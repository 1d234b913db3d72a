/**
 * Ties a carrier's media stream to the one call it was issued for, and lets each call have it once.
 * The answer names the stream with a ticket, an HMAC of the carrier's call id under a key of this
 * process: in the stream URL (Plivo, where the upgrade signature covers it) or in a stream parameter
 * (Twilio, whose URL carries no query). A stream whose ticket does not fit the call it names, or for a
 * call that already had its stream, is refused, so neither a captured upgrade nor a stray socket can
 * take over a call's audio. The key is per process: the live call, and so its stream, lives there too.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Calls whose stream was accepted, remembered as long as the call registry remembers ended calls. */
const STREAMED_MEMORY = 10_000;

export class StreamAdmission {
  private readonly streamed = new LRUCache<string, true>({ max: STREAMED_MEMORY });

  constructor(private readonly key: Buffer = randomBytes(32)) {}

  /** Letters and digits only (hex), so it fits a URL query and Plivo's extraHeaders rule alike. */
  ticketFor(carrierCallId: string): string {
    return createHmac('sha256', this.key).update(carrierCallId).digest('hex').slice(0, 32);
  }

  ticketMatches(carrierCallId: string, ticket: string | undefined): boolean {
    if (!ticket) return false;
    const expected = Buffer.from(this.ticketFor(carrierCallId));
    const got = Buffer.from(ticket);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  /** True the first time a stream is accepted for the call; false ever after. */
  claim(carrierCallId: string): boolean {
    if (this.streamed.has(carrierCallId)) return false;
    this.streamed.set(carrierCallId, true);
    return true;
  }
}
