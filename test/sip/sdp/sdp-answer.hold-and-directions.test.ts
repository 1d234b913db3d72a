import { describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { answerOffer, type MediaDirection } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import { LOCAL, LOCAL6, expectOffererAgrees, expectValidAnswer, sdp } from './sdp-fixtures.js';

/** baresip's re-INVITE when its user presses hold: the same offer with a new version and a=sendonly. */
function baresipReInvite(direction: MediaDirection | undefined, address = '192.168.1.20', version = 2): string {
  return sdp(
    'v=0',
    `o=- 1902516395 ${version} IN IP4 192.168.1.20`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    'm=audio 10000 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    ...(direction ? [`a=${direction}`] : []),
    'a=ptime:20',
  );
}

function answer(offer: string, wanted?: MediaDirection, local = LOCAL) {
  const result = answerOffer(offer, local, { codecs: ['PCMU', 'PCMA'], direction: wanted });
  const parsed = expectValidAnswer(offer, result.answerSdp);
  expectOffererAgrees(offer, result.answerSdp, result.media, local);
  return { ...result, parsed };
}

describe('answerOffer mirrors the peer\'s direction and reports hold', () => {
  it.each([
    ['sendrecv', 'sendrecv', false],
    [undefined, 'sendrecv', false],
    ['sendonly', 'recvonly', true],
    ['inactive', 'inactive', true],
    ['recvonly', 'sendonly', false],
  ] as const)('peer a=%s: we answer %s, onHold %s', (peer, ours, onHold) => {
    const { media, parsed } = answer(baresipReInvite(peer));
    expect(media.direction).toBe(ours);
    expect(media.onHold).toBe(onHold);
    expect(parsed.media[0].direction).toBe(ours);
  });

  it('a session-level direction applies to the stream', () => {
    const offer = sdp('v=0', 'o=- 1 2 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', 'a=sendonly', 'm=audio 5004 RTP/AVP 0');
    expect(answer(offer).media).toMatchObject({ direction: 'recvonly', onHold: true });
  });

  it('a media-level direction overrides the session-level one', () => {
    const offer = sdp('v=0', 'o=- 1 2 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', 'a=inactive', 'm=audio 5004 RTP/AVP 0', 'a=sendrecv');
    expect(answer(offer).media).toMatchObject({ direction: 'sendrecv', onHold: false });
  });

  describe('RFC 2543 hold: c=0.0.0.0', () => {
    it('is hold even with sendrecv, and we send nothing there: recvonly', () => {
      const { media, parsed } = answer(baresipReInvite('sendrecv', '0.0.0.0'));
      expect(media).toMatchObject({ direction: 'recvonly', onHold: true });
      expect(media.remote.address).toBe('0.0.0.0');
      expect(media.notes?.join('\n')).toMatch(/RFC 2543 hold/);
      // Our own address stays real: we still want to hear the peer when it resumes.
      expect(parsed.connection?.ip).toBe('203.0.113.5');
    });

    it('with no direction attribute (the classic form): recvonly', () => {
      expect(answer(baresipReInvite(undefined, '0.0.0.0')).media).toMatchObject({ direction: 'recvonly', onHold: true });
    });

    it('with recvonly or inactive: inactive', () => {
      expect(answer(baresipReInvite('recvonly', '0.0.0.0')).media).toMatchObject({ direction: 'inactive', onHold: true });
      expect(answer(baresipReInvite('inactive', '0.0.0.0')).media).toMatchObject({ direction: 'inactive', onHold: true });
    });

    it('IPv6 c=IN IP6 :: is the same', () => {
      const offer = sdp('v=0', 'o=- 1 2 IN IP6 2001:db8::20', 's=-', 'c=IN IP6 ::', 't=0 0', 'm=audio 5004 RTP/AVP 0');
      expect(answer(offer, undefined, LOCAL6).media).toMatchObject({ direction: 'recvonly', onHold: true });
    });
  });

  describe('our own wish (e.g. the bot holds the caller, then the peer refreshes the session)', () => {
    it.each([
      ['sendrecv', 'sendonly', 'sendonly'],
      ['sendrecv', 'inactive', 'inactive'],
      ['sendrecv', 'recvonly', 'recvonly'],
      ['sendonly', 'sendonly', 'inactive'],
      ['sendonly', 'sendrecv', 'recvonly'],
      ['recvonly', 'recvonly', 'inactive'],
    ] as const)('peer %s, we want %s: we answer %s', (peer, wanted, ours) => {
      expect(answer(baresipReInvite(peer), wanted).media.direction).toBe(ours);
    });

    it('our hold is not the peer\'s: onHold stays false', () => {
      expect(answer(baresipReInvite('sendrecv'), 'sendonly').media.onHold).toBe(false);
    });
  });

  it('hold and resume keep codec, payload types and remote address', () => {
    const held = answer(baresipReInvite('sendonly')).media;
    const resumed = answer(baresipReInvite('sendrecv', '192.168.1.20', 3)).media;
    expect(held).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101 });
    expect(resumed).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101, direction: 'sendrecv', onHold: false });
    expect(held.remote).toEqual(resumed.remote);
  });

  it('the answer always states the direction explicitly', () => {
    const { answerSdp } = answer(baresipReInvite(undefined));
    expect(parse(answerSdp).media[0].direction).toBe('sendrecv');
    expect(answerSdp).toContain('a=sendrecv\r\n');
  });
});
