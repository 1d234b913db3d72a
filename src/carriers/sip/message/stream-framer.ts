/**
 * TCP/TLS: a byte stream to SIP messages. On a stream Content-Length is the only frame boundary
 * (RFC 3261 18.3), so the framer finds the end of the header section, reads Content-Length from it
 * and waits for that many body bytes before handing the exact message bytes to the parser. A message
 * that frames but does not parse is a non-fatal error (the next one starts right after it); one that
 * cannot be framed (no or conflicting Content-Length, headers or message over the size limit, binary
 * data where a start line should be) leaves no way to find the next message, so the error is fatal and
 * the caller closes the connection.
 *
 * CRLF keep-alives between messages (RFC 5626 4.4.1) are reported: `pong: false` for a "\r\n\r\n"
 * ping, which the caller answers with "\r\n"; `pong: true` for a lone "\r\n", which must not be answered
 * (answering pongs would loop forever between two such peers).
 */
import { parseSipMessage, DEFAULT_MAX_MESSAGE_BYTES, MAX_LINE_LENGTH } from './parser.js';
import type { SipMessage } from './sip-message.js';
import { SipParseError } from './sip-parse-error.js';
import { describe, trimLws } from './lexical.js';

export type SipStreamItem = { message: SipMessage } | { error: SipParseError; fatal: boolean } | { keepAlive: true; pong: boolean };

const CR = 0x0d;
const LF = 0x0a;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

export class SipStreamFramer {
  private readonly maxMessageBytes: number;
  private buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  /** Where the search for the end of the current header section resumes. */
  private scanFrom = 0;
  /** Total length of the current message once its header section has been read, while its body arrives. */
  private pendingLength = -1;
  /** The last item was a lone CRLF at the end of the data: with the next CRLF it was a split ping. */
  private halfPing = false;
  private failure: SipParseError | undefined;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Messages, errors and keep-alives completed by this chunk, in stream order. After a fatal error every push repeats it. */
  push(chunk: Buffer): SipStreamItem[] {
    if (this.failure) return [{ error: this.failure, fatal: true }];
    this.append(chunk);
    const out: SipStreamItem[] = [];
    while (this.end > this.start && !this.failure) {
      if (this.pendingLength < 0 && this.buffer[this.start] === CR) {
        if (!this.readKeepAlive(out)) break;
        continue;
      }
      const length = this.pendingLength >= 0 ? this.pendingLength : this.frame();
      if (length === undefined || this.end - this.start < length) break;
      // a copy: the message body must not change when the buffer is reused
      const bytes = Buffer.from(this.buffer.subarray(this.start, this.start + length));
      this.consume(length);
      this.halfPing = false;
      try {
        out.push({ message: parseSipMessage(bytes, { maxBytes: this.maxMessageBytes }) });
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
        out.push({ error: err, fatal: false });
      }
    }
    if (this.failure) out.push({ error: this.failure, fatal: true });
    else if (this.start === this.end) this.start = this.end = this.scanFrom = 0;
    return out;
  }

  /** Consumes CRLF keep-alives at a message boundary; false when more bytes are needed to tell. */
  private readKeepAlive(out: SipStreamItem[]): boolean {
    const available = this.end - this.start;
    const b = this.buffer;
    const s = this.start;
    if (available < 2) return false;
    if (b[s + 1] !== LF) {
      this.fail('a CR not followed by LF between messages');
      return false;
    }
    if (available >= 4 && b[s + 2] === CR && b[s + 3] === LF) {
      this.consume(4);
      this.halfPing = false;
      out.push({ keepAlive: true, pong: false });
      return true;
    }
    if (this.halfPing) {
      this.consume(2);
      this.halfPing = false;
      out.push({ keepAlive: true, pong: false });
      return true;
    }
    if (available === 3) return false; // "\r\n\r": wait for the rest of a ping
    this.consume(2);
    // a lone CRLF at the end of the data may be the first half of a ping split across segments
    this.halfPing = this.start === this.end;
    out.push({ keepAlive: true, pong: true });
    return true;
  }

  /** Length of the message starting at `start` once its header section is complete; undefined while waiting or after a fatal error. */
  private frame(): number | undefined {
    const b = this.buffer;
    const from = Math.max(this.start, this.scanFrom - 3);
    const headEnd = b.subarray(0, this.end).indexOf(CRLF_CRLF, from);
    if (headEnd < 0) {
      this.scanFrom = this.end;
      return this.checkIncompleteHead();
    }
    const headLength = headEnd + 4 - this.start;
    if (headLength > this.maxMessageBytes) return this.fail(`header section of ${headLength} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
    const contentLength = this.contentLength(b.toString('latin1', this.start, headEnd));
    if (contentLength === undefined) return undefined;
    const total = headLength + contentLength;
    if (total > this.maxMessageBytes) return this.fail(`message of ${total} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
    this.pendingLength = total;
    return total;
  }

  /** While the header section is incomplete: give up early on what cannot become a SIP message. */
  private checkIncompleteHead(): undefined {
    const available = this.end - this.start;
    if (available > this.maxMessageBytes) return this.fail(`no end of the header section within ${this.maxMessageBytes} bytes`);
    const b = this.buffer;
    let i = this.start;
    for (; i < this.end && b[i] !== CR; i++) {
      if ((b[i] < 0x20 && b[i] !== 0x09) || b[i] === 0x7f) return this.fail('binary data where a SIP start line should be');
    }
    if (i - this.start > MAX_LINE_LENGTH) return this.fail(`start line longer than ${MAX_LINE_LENGTH} bytes`);
    return undefined;
  }

  /** Content-Length from the raw header section; failing when it is missing, malformed or contradicts itself. */
  private contentLength(head: string): number | undefined {
    let found: string | undefined;
    let current: string | undefined;
    const lines = head.split('\r\n');
    const take = (): boolean => {
      if (current === undefined) return true;
      const value = trimLws(current);
      current = undefined;
      if (found !== undefined && found !== value) return false;
      found = value;
      return true;
    };
    for (let n = 1; n < lines.length; n++) {
      const line = lines[n];
      const first = line.charCodeAt(0);
      if (first === 0x20 || first === 0x09) {
        if (current !== undefined) current += line;
        continue;
      }
      if (!take()) return this.fail('conflicting Content-Length values: the message cannot be framed');
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = trimLws(line.slice(0, colon)).toLowerCase();
      if (name === 'content-length' || name === 'l') current = line.slice(colon + 1);
    }
    if (!take()) return this.fail('conflicting Content-Length values: the message cannot be framed');
    if (found === undefined) return this.fail('missing Content-Length, which a stream transport needs to frame messages');
    if (!/^\d{1,10}$/.test(found)) return this.fail(`malformed Content-Length ${describe(found)}: the message cannot be framed`);
    return Number(found);
  }

  private fail(message: string): undefined {
    this.failure = new SipParseError(message);
    return undefined;
  }

  private consume(length: number): void {
    this.start += length;
    this.pendingLength = -1;
    this.scanFrom = this.start;
  }

  private append(chunk: Buffer): void {
    const needed = this.end - this.start + chunk.length;
    if (this.end + chunk.length > this.buffer.length) {
      if (needed <= this.buffer.length / 2) {
        this.buffer.copy(this.buffer, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(needed * 2, 4096));
        this.buffer.copy(grown, 0, this.start, this.end);
        this.buffer = grown;
      }
      this.scanFrom -= this.start;
      this.end -= this.start;
      this.start = 0;
    }
    chunk.copy(this.buffer, this.end);
    this.end += chunk.length;
  }
}
