/**
 * The page's JSON event channel: the data channel `voxgate` the browser opens before its offer.
 * Server -> page: the call's PageCallEvents as they happen (queued, a few, until the channel opens).
 * Page -> server: `{"type":"dtmf","digits":"12#"}` (each digit reaches the call like an RFC 4733 key)
 * and `{"type":"hangup"}`; anything else is answered with `{"type":"error","error":...}`, logged, and
 * the call goes on.
 */
import type { RTCDataChannel } from 'werift';
import type { Logger } from '../../logger.js';
import type { PageCallEvent } from '../carrier.js';

export const PAGE_CHANNEL_LABEL = 'voxgate';
/** Events kept for a page whose channel is not open yet (the greeting's transcript, `answered`). */
const MAX_QUEUED = 32;
/** Longest page message read (a keypad string is a few bytes). */
const MAX_MESSAGE_BYTES = 4096;
const DTMF_DIGITS = /^[0-9*#A-D]+$/i;

export interface PageRequests {
  /** One key of the page's keypad. */
  dtmf(digit: string): void;
  /** The page hangs up. */
  hangup(): void;
  /** The page closed its channel: it left (a browser closing its peer connection closes its channels first). */
  left(): void;
}

type Outgoing = PageCallEvent | { type: 'error'; error: string };

export class PageChannel {
  private channel?: RTCDataChannel;
  private readonly pending: Outgoing[] = [];
  private dropped = 0;
  /** We are closing the channel (the call ended): its close is not the page leaving. */
  private closing = false;

  constructor(
    private readonly requests: PageRequests,
    private readonly log: Logger,
  ) {}

  /** The browser's data channel arrived; other labels are not ours and are left alone. */
  attach(channel: RTCDataChannel): void {
    if (channel.label !== PAGE_CHANNEL_LABEL || this.channel) {
      this.log.info({ label: channel.label }, 'data channel ignored (the page channel is labelled voxgate)');
      return;
    }
    this.channel = channel;
    channel.onMessage.subscribe((data) => this.receive(data));
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') this.flush();
      else if (state === 'closed' && !this.closing) this.requests.left();
    });
    if (channel.readyState === 'open') this.flush();
  }

  /** Sends an event now, or queues it until the channel opens. */
  send(event: Outgoing): void {
    if (this.channel?.readyState === 'open') {
      this.write(event);
      return;
    }
    if (this.pending.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.pending.push(event);
  }

  get isOpen(): boolean {
    return this.channel?.readyState === 'open';
  }

  /**
   * Closes the data channel: an SCTP stream reset, which the page sees as the channel's `close` at once
   * (the peer connection's own end may only show when ICE consent lapses). Resolves once the reset
   * completed, or after `boundMs`.
   */
  close(boundMs: number): Promise<void> {
    this.closing = true;
    const channel = this.channel;
    if (!channel || channel.readyState === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, boundMs);
      channel.stateChanged.subscribe((state) => {
        if (state !== 'closed') return;
        clearTimeout(timer);
        resolve();
      });
      try {
        channel.close();
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private flush(): void {
    if (this.dropped > 0) this.log.warn({ dropped: this.dropped }, 'page events dropped while its data channel was not open');
    for (const event of this.pending.splice(0)) this.write(event);
  }

  private write(event: Outgoing): void {
    try {
      this.channel!.send(JSON.stringify(event));
    } catch (err) {
      this.log.warn({ err, type: event.type }, 'page event not sent on the data channel');
    }
  }

  private receive(data: string | Buffer): void {
    const problem = this.handle(data);
    if (!problem) return;
    this.log.info({ problem }, 'page message refused');
    this.send({ type: 'error', error: problem });
  }

  /** Acts on one page message; returns what was wrong with it, if anything. */
  private handle(data: string | Buffer): string | undefined {
    if (typeof data !== 'string') return 'page messages are JSON text, not binary';
    if (data.length > MAX_MESSAGE_BYTES) return `page message of ${data.length} bytes is over ${MAX_MESSAGE_BYTES}`;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch (err) {
      return `page message is not JSON: ${(err as Error).message}`;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'page message must be a JSON object with a "type"';
    const { type, digits } = message as { type?: unknown; digits?: unknown };
    if (type === 'hangup') {
      this.requests.hangup();
      return undefined;
    }
    if (type === 'dtmf') {
      if (typeof digits !== 'string' || !DTMF_DIGITS.test(digits) || digits.length > 32) return 'dtmf needs "digits": 1 to 32 of 0-9 * # A-D';
      for (const digit of digits.toUpperCase()) this.requests.dtmf(digit);
      return undefined;
    }
    return `unknown page message type ${JSON.stringify(type)} (expected "dtmf" or "hangup")`;
  }
}
