import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MediaFrameScanner } from '../../src/carriers/websocket-media/media-frame-scanner.js';

const media = (payload: string, extra = '') =>
  Buffer.from(`{"event":"media","sequenceNumber":12,"streamId":"s-1","media":{"track":"inbound","timestamp":"1700000000000","chunk":3,"payload":"${payload}"${extra}}}`);

describe('inbound media fast path', () => {
  it('decodes exactly what JSON.parse + base64 decoding would, for every payload length and padding', () => {
    const scanner = new MediaFrameScanner();
    for (let n = 0; n <= 700; n += n < 10 ? 1 : 37) {
      const raw = randomBytes(n);
      const msg = media(raw.toString('base64'));
      const expected = Buffer.from(JSON.parse(msg.toString()).media.payload, 'base64');
      expect(scanner.tryDecode(msg), `payload of ${n} bytes`).toEqual(expected);
    }
  });

  it('accepts media without a track field and in another key order', () => {
    const scanner = new MediaFrameScanner();
    const payload = randomBytes(160);
    const msg = Buffer.from(`{"sequenceNumber":1,"media":{"payload":"${payload.toString('base64')}","chunk":1},"event":"media","streamId":"x"}`);
    expect(scanner.tryDecode(msg)).toEqual(payload);
  });

  it('leaves anything it does not recognise exactly to the full parser', () => {
    const scanner = new MediaFrameScanner();
    const b64 = randomBytes(160).toString('base64');
    const cases = {
      'another event': Buffer.from(`{"event":"dtmf","dtmf":{"digit":"5"}}`),
      'outbound track': Buffer.from(media(b64).toString().replace('"inbound"', '"outbound"')),
      'whitespace in JSON': Buffer.from(`{"event": "media", "media": {"payload": "${b64}"}}`),
      'escaped slash in payload': media('ab\\/c'),
      'character outside base64': media('ab!d'),
      'length not a multiple of 4': media('abcde'),
      'no payload': Buffer.from(`{"event":"media","media":{"track":"inbound"}}`),
      'unterminated payload': Buffer.from(`{"event":"media","media":{"payload":"abcd`),
    };
    for (const [what, msg] of Object.entries(cases)) expect(scanner.tryDecode(msg), what).toBeUndefined();
  });
});
