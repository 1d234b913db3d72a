/**
 * RFC 4733 telephone-events (DTMF over RTP). Payload: event (8 bits) | E (1) R (1) volume (6) |
 * duration (16, in RTP clock units). Every packet of one key press carries the same RTP timestamp (the
 * event's start); the duration grows; the last packet has E set and is sent three times.
 */

export interface TelephoneEvent {
  event: number;
  end: boolean;
  /** Power level in -dBm0 (0-63). */
  volume: number;
  /** Duration so far, in RTP clock units. */
  duration: number;
}

export const TELEPHONE_EVENT_LENGTH = 4;

const DIGITS = '0123456789*#ABCD';

/** The DTMF digit for events 0-15; undefined for other events (flash, tones). */
export function dtmfDigitOfEvent(event: number): string | undefined {
  return Number.isInteger(event) && event >= 0 && event < 16 ? DIGITS[event] : undefined;
}

/** The event number of a DTMF digit (0-9, *, #, A-D, case-insensitive); undefined for anything else. */
export function eventOfDtmfDigit(digit: string): number | undefined {
  if (digit.length !== 1) return undefined;
  const i = DIGITS.indexOf(digit.toUpperCase());
  return i < 0 ? undefined : i;
}

/** Parses a telephone-event payload; null when shorter than 4 bytes. Trailing bytes (redundant events) are ignored. */
export function parseTelephoneEvent(payload: Buffer): TelephoneEvent | null {
  const into: TelephoneEvent = { event: 0, end: false, volume: 0, duration: 0 };
  return parseTelephoneEventInto(payload, 0, payload.length, into) ? into : null;
}

/** Allocation-free form for the receive path: parses payload bytes [offset, offset + length) of `packet`. */
export function parseTelephoneEventInto(packet: Uint8Array, offset: number, length: number, into: TelephoneEvent): boolean {
  if (length < TELEPHONE_EVENT_LENGTH || offset + TELEPHONE_EVENT_LENGTH > packet.length) return false;
  into.event = packet[offset];
  into.end = (packet[offset + 1] & 0x80) !== 0;
  into.volume = packet[offset + 1] & 0x3f;
  into.duration = (packet[offset + 2] << 8) | packet[offset + 3];
  return true;
}

/** Writes a 4-byte telephone-event payload at `offset`; returns 4. */
export function writeTelephoneEvent(buf: Uint8Array, offset: number, e: TelephoneEvent): number {
  buf[offset] = e.event & 0xff;
  buf[offset + 1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  buf[offset + 2] = (e.duration >> 8) & 0xff;
  buf[offset + 3] = e.duration & 0xff;
  return TELEPHONE_EVENT_LENGTH;
}

/** How many event timestamps are remembered as already reported (end packets may arrive late and out of order). */
const REMEMBERED = 8;
/** An event whose packets stop without an end packet is reported this long after its last packet. */
export const DEFAULT_EVENT_TIMEOUT_MS = 300;

/**
 * Receive side: turns the packet stream into one report per key press. A digit is reported when its
 * end packet arrives (once, however many times the end is repeated), or, when every end packet was
 * lost, when the next event starts or `timeoutMs` passes without a packet of it (poll()). Reporting at
 * the end keeps a long press one digit; events other than 0-15 are followed but never reported.
 */
export class TelephoneEventTracker {
  /** The event in progress (its timestamp), not yet reported. */
  private active = false;
  private activeTimestamp = 0;
  private activeEvent = 0;
  private activeLastAt = 0;
  /** Timestamps of reported events: their late repeats are dropped. */
  private readonly reported = new Float64Array(REMEMBERED).fill(-1);
  private reportedNext = 0;

  constructor(
    private readonly onDigit: (digit: string) => void,
    private readonly timeoutMs = DEFAULT_EVENT_TIMEOUT_MS,
  ) {}

  /** Feeds one telephone-event packet (its RTP timestamp and parsed payload) received at `now`. */
  onPacket(timestamp: number, event: number, end: boolean, now: number): void {
    if (this.wasReported(timestamp)) return;
    if (this.active && this.activeTimestamp !== timestamp) this.finishActive(); // its end packets were all lost
    if (end) {
      this.active = false;
      this.report(timestamp, event);
      return;
    }
    this.active = true;
    this.activeTimestamp = timestamp;
    this.activeEvent = event;
    this.activeLastAt = now;
  }

  /** Reports an event whose packets stopped without an end packet for `timeoutMs`. Call on every tick. */
  poll(now: number): void {
    if (this.active && now - this.activeLastAt >= this.timeoutMs) this.finishActive();
  }

  /** Forgets everything (a new stream: its timestamps are unrelated). An event in progress is reported first. */
  reset(): void {
    if (this.active) this.finishActive();
    this.reported.fill(-1);
  }

  private finishActive(): void {
    this.active = false;
    this.report(this.activeTimestamp, this.activeEvent);
  }

  private wasReported(timestamp: number): boolean {
    const r = this.reported;
    for (let i = 0; i < REMEMBERED; i++) if (r[i] === timestamp) return true;
    return false;
  }

  private report(timestamp: number, event: number): void {
    this.reported[this.reportedNext] = timestamp;
    this.reportedNext = (this.reportedNext + 1) % REMEMBERED;
    const digit = dtmfDigitOfEvent(event);
    if (digit !== undefined) this.onDigit(digit);
  }
}
