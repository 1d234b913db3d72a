/**
 * Decodes base64 media payloads into one growing scratch buffer, so steady-state frames allocate nothing.
 * Node's decoder silently skips characters outside the alphabet, so a short decode means a corrupt payload.
 */
import type { StreamProtocolError } from './stream-protocol-error.js';

export class Base64PayloadDecoder {
  private scratch = Buffer.allocUnsafe(640);

  constructor(private readonly error: (field: string, expected: string, got?: string) => StreamProtocolError) {}

  /** Returns a view of the decoded bytes, valid until the next call. Throws the carrier's StreamProtocolError on bad base64. */
  decode(payload: string): Buffer {
    const len = payload.length;
    if (len % 4 !== 0) throw this.error('media.payload', 'base64 (length a multiple of 4)', `${len} characters long`);
    const padding = len === 0 ? 0 : payload.charCodeAt(len - 1) === 61 ? (payload.charCodeAt(len - 2) === 61 ? 2 : 1) : 0;
    const expected = (len / 4) * 3 - padding;
    if (this.scratch.length < expected) this.scratch = Buffer.allocUnsafe(Math.max(expected, this.scratch.length * 2));
    const written = this.scratch.write(payload, 0, expected, 'base64');
    if (written !== expected) throw this.error('media.payload', 'base64 (A-Z a-z 0-9 + / =)', 'a string with characters outside the base64 alphabet');
    return this.scratch.subarray(0, written);
  }
}
