/**
 * Fast path for the message that arrives 50 times a second per call: an inbound `media` event, which
 * Plivo's and Twilio's stream protocols spell alike (`"event":"media"`, `media.track`, `media.payload`). It
 * finds the base64 payload in the raw bytes and decodes it straight into a scratch buffer, skipping
 * the UTF-8 decode, JSON.parse and string base64 decode. Anything it does not recognise exactly
 * (another event, whitespace or escapes, another track, bad base64) goes to the full parser, which
 * also owns the error messages.
 */

const EVENT_MEDIA = Buffer.from('"event":"media"');
const TRACK_KEY = Buffer.from('"track":"');
const INBOUND = Buffer.from('inbound"');
const PAYLOAD_KEY = Buffer.from('"payload":"');
const QUOTE = 0x22;
const PAD = 0x3d; // '='

const BASE64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

export class MediaFrameScanner {
  private scratch = Buffer.allocUnsafe(1024);
  private view = this.scratch.subarray(0, 0);

  /** The decoded payload of an inbound media message, or undefined when the full parser must look at it. Valid until the next call. */
  tryDecode(msg: Buffer): Buffer | undefined {
    if (msg.indexOf(EVENT_MEDIA) < 0) return undefined;
    const track = msg.indexOf(TRACK_KEY);
    if (track >= 0) {
      const at = track + TRACK_KEY.length;
      if (msg.compare(INBOUND, 0, INBOUND.length, at, at + INBOUND.length) !== 0) return undefined;
    }
    const key = msg.indexOf(PAYLOAD_KEY);
    if (key < 0) return undefined;
    const start = key + PAYLOAD_KEY.length;
    const end = msg.indexOf(QUOTE, start);
    const len = end - start;
    if (end < 0 || len % 4 !== 0) return undefined;
    const padding = len === 0 ? 0 : msg[end - 1] === PAD ? (msg[end - 2] === PAD ? 2 : 1) : 0;
    const outLen = (len / 4) * 3 - padding;
    if (this.scratch.length < outLen) this.scratch = Buffer.allocUnsafe(outLen * 2);
    const out = this.scratch;
    const quads = padding ? len - 4 : len;
    let o = 0;
    for (let i = start; i < start + quads; i += 4) {
      const a = BASE64[msg[i]];
      const b = BASE64[msg[i + 1]];
      const c = BASE64[msg[i + 2]];
      const d = BASE64[msg[i + 3]];
      if ((a | b | c | d) < 0) return undefined;
      const n = (a << 18) | (b << 12) | (c << 6) | d;
      out[o++] = n >> 16;
      out[o++] = (n >> 8) & 0xff;
      out[o++] = n & 0xff;
    }
    if (padding) {
      const i = start + quads;
      const a = BASE64[msg[i]];
      const b = BASE64[msg[i + 1]];
      const c = padding === 1 ? BASE64[msg[i + 2]] : 0;
      if ((a | b | c) < 0) return undefined;
      const n = (a << 18) | (b << 12) | (c << 6);
      out[o++] = n >> 16;
      if (padding === 1) out[o++] = (n >> 8) & 0xff;
    }
    // Frames keep their size, so the view object is reused rather than made per frame.
    if (this.view.buffer !== out.buffer || this.view.length !== outLen) this.view = out.subarray(0, outLen);
    return this.view;
  }
}
