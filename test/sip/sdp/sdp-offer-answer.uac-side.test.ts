import { describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { SdpNegotiationError, acceptAnswer, answerOffer, createOffer, type CodecName } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import { LOCAL, LOCAL6, mLines, sdp } from './sdp-fixtures.js';

const OFFER = createOffer(LOCAL, { codecs: ['PCMU', 'PCMA', 'G722'] });

/** What baresip answers to our offer when it takes PCMA (it keeps our payload type numbers). */
function baresipAnswer(mLine = 'm=audio 10000 RTP/AVP 8 101', ...attributes: string[]): string {
  return sdp(
    'v=0',
    'o=- 812396 812396 IN IP4 192.168.1.20',
    's=-',
    'c=IN IP4 192.168.1.20',
    't=0 0',
    mLine,
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    ...(attributes.length > 0 ? attributes : ['a=sendrecv', 'a=rtcp:10001', 'a=ptime:20']),
  );
}

function refusal(offer: string, answer: string): SdpNegotiationError {
  try {
    acceptAnswer(offer, answer);
  } catch (err) {
    expect(err).toBeInstanceOf(SdpNegotiationError);
    return err as SdpNegotiationError;
  }
  throw new Error('the answer was accepted');
}

describe('createOffer: one audio stream with our codecs in order and telephone-event', () => {
  it('writes the offer for an outbound call', () => {
    expect(OFFER).toBe(
      [
        'v=0',
        'o=- 3849203812 1 IN IP4 203.0.113.5',
        's=-',
        'c=IN IP4 203.0.113.5',
        't=0 0',
        'm=audio 40000 RTP/AVP 0 8 9 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:8 PCMA/8000',
        'a=rtpmap:9 G722/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
  });

  it('another telephone-event payload type, a hold direction, IPv6, duplicates dropped', () => {
    const offer = createOffer(LOCAL6, { codecs: ['G722', 'PCMA', 'G722'], telephoneEventPayloadType: 96, direction: 'sendonly' });
    const parsed = parse(offer);
    expect(parsed.origin.ipVer).toBe(6);
    expect(parsed.connection).toEqual({ version: 6, ip: '2001:db8::5' });
    expect(mLines(offer)).toEqual(['m=audio 40000 RTP/AVP 9 8 96']);
    expect(parsed.media[0].fmtp).toEqual([{ payload: 96, config: '0-16' }]);
    expect(parsed.media[0].direction).toBe('sendonly');
  });

  it('refuses a static telephone-event payload type or no codec', () => {
    expect(() => createOffer(LOCAL, { codecs: ['PCMU'], telephoneEventPayloadType: 8 })).toThrow(RangeError);
    expect(() => createOffer(LOCAL, { codecs: ['PCMU'], telephoneEventPayloadType: 128 })).toThrow(RangeError);
    expect(() => createOffer(LOCAL, { codecs: [] })).toThrow(RangeError);
    expect(() => createOffer(LOCAL, { codecs: ['G729' as CodecName] })).toThrow(TypeError);
  });

  it('is an offer Voxgate itself answers: our own two sides agree', () => {
    const callee = { ...LOCAL, address: '198.51.100.2', port: 50000 };
    const { answerSdp, media: answered } = answerOffer(OFFER, callee, { codecs: ['PCMA', 'PCMU'] });
    const offered = acceptAnswer(OFFER, answerSdp);
    expect(answered).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101, remote: { address: '203.0.113.5', port: 40000 } });
    expect(offered).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101, direction: 'sendrecv', onHold: false });
    expect(offered.remote).toEqual({ address: '198.51.100.2', port: 50000, rtcpPort: 50001 });
  });
});

describe('acceptAnswer: what the peer took from our offer', () => {
  it('baresip picking PCMA', () => {
    const media = acceptAnswer(OFFER, baresipAnswer());
    expect(media).toEqual({
      codec: 'PCMA',
      payloadType: 8,
      telephoneEventPayloadType: 101,
      remote: { address: '192.168.1.20', port: 10000, rtcpPort: 10001 },
      ptime: 20,
      direction: 'sendrecv',
      onHold: false,
      notes: [],
    });
  });

  it('an answer listing several codecs: the first one we offered is what we send', () => {
    const media = acceptAnswer(OFFER, baresipAnswer('m=audio 10000 RTP/AVP 18 9 0 101', 'a=rtpmap:18 G729/8000'));
    expect(media).toMatchObject({ codec: 'G722', payloadType: 9 });
  });

  it('an answer without rtpmap for static types (or for our telephone-event number) means what we offered', () => {
    const answer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.9', 's=-', 'c=IN IP4 192.0.2.9', 't=0 0', 'm=audio 7000 RTP/AVP 0 101');
    expect(acceptAnswer(OFFER, answer)).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101 });
  });

  it('an answer renumbering telephone-event: we send its number, receive ours', () => {
    const answer = sdp(
      'v=0',
      'o=- 1 1 IN IP4 192.0.2.9',
      's=-',
      'c=IN IP4 192.0.2.9',
      't=0 0',
      'm=audio 7000 RTP/AVP 0 100',
      'a=rtpmap:100 telephone-event/8000',
    );
    const media = acceptAnswer(OFFER, answer);
    expect(media).toMatchObject({ telephoneEventPayloadType: 101, sendTelephoneEventPayloadType: 100 });
    expect(media.sendPayloadType).toBeUndefined();
  });

  it('an answer mapping one of our codecs to a dynamic number: we send that number', () => {
    const answer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.9', 's=-', 'c=IN IP4 192.0.2.9', 't=0 0', 'm=audio 7000 RTP/AVP 97', 'a=rtpmap:97 PCMA/8000');
    const media = acceptAnswer(OFFER, answer);
    expect(media).toMatchObject({ codec: 'PCMA', payloadType: 8, sendPayloadType: 97 });
    expect(media.notes?.join('\n')).toMatch(/we send 97/);
  });

  it('an answer without telephone-event: none, with a note', () => {
    const answer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.9', 's=-', 'c=IN IP4 192.0.2.9', 't=0 0', 'm=audio 7000 RTP/AVP 0');
    const media = acceptAnswer(OFFER, answer);
    expect(media.telephoneEventPayloadType).toBeUndefined();
    expect(media.notes?.join('\n')).toMatch(/no telephone-event/);
  });

  describe('directions', () => {
    it.each([
      ['sendrecv', 'sendrecv', 'sendrecv', false],
      ['sendrecv', 'recvonly', 'sendonly', false],
      ['sendrecv', 'sendonly', 'recvonly', true],
      ['sendrecv', 'inactive', 'inactive', true],
      ['sendonly', 'recvonly', 'sendonly', false],
      ['sendonly', 'inactive', 'inactive', true],
      ['inactive', 'inactive', 'inactive', true],
    ] as const)('we offer %s, the answer says %s: we %s, onHold %s', (offered, answered, ours, onHold) => {
      const offer = createOffer(LOCAL, { codecs: ['PCMA'], direction: offered });
      const media = acceptAnswer(offer, baresipAnswer(undefined, `a=${answered}`));
      expect(media.direction).toBe(ours);
      expect(media.onHold).toBe(onHold);
    });

    it('an answer with c=0.0.0.0: nothing is sent to it', () => {
      const answer = baresipAnswer().replace('c=IN IP4 192.168.1.20', 'c=IN IP4 0.0.0.0');
      expect(acceptAnswer(OFFER, answer)).toMatchObject({ direction: 'recvonly', onHold: true });
    });
  });

  it('an answer with a media-level c= and a=ptime:30', () => {
    const answer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.9', 's=-', 't=0 0', 'm=audio 7000 RTP/AVP 8', 'c=IN IP4 192.0.2.77', 'a=ptime:30');
    const media = acceptAnswer(OFFER, answer);
    expect(media.remote).toEqual({ address: '192.0.2.77', port: 7000, rtcpPort: 7001 });
    expect(media.ptime).toBe(30);
  });

  describe('refused answers', () => {
    it('the audio stream declined (port 0): 488', () => {
      const err = refusal(OFFER, baresipAnswer('m=audio 0 RTP/AVP 0'));
      expect(err.status).toBe(488);
      expect(err.message).toBe('the answer declined the audio stream (port 0)');
    });

    it('a codec we did not offer: 488 naming both', () => {
      const offer = createOffer(LOCAL, { codecs: ['PCMU'] });
      const err = refusal(offer, baresipAnswer('m=audio 10000 RTP/AVP 8 101'));
      expect(err.status).toBe(488);
      expect(err.message).toBe('the answer picked PCMA/8000, telephone-event/8000, none of which the offer had (PCMU/8000, telephone-event/8000)');
    });

    it('a changed transport: 488', () => {
      const err = refusal(OFFER, baresipAnswer('m=audio 10000 RTP/SAVP 8 101'));
      expect(err.message).toBe('the answer changed the audio transport from RTP/AVP to RTP/SAVP');
    });

    it('a different number of m= lines: 400', () => {
      const answer = baresipAnswer() + 'm=video 0 RTP/AVP 96\r\n';
      const err = refusal(OFFER, answer);
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/it has 2 m= line\(s\) for the offer's 1/);
    });

    it('a different media type in the audio position: 400', () => {
      expect(refusal(OFFER, baresipAnswer('m=video 10000 RTP/AVP 8 101')).status).toBe(400);
    });

    it('garbage: 400 that says it is the answer', () => {
      const err = refusal(OFFER, 'SIP/2.0 200 OK');
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/^malformed SDP answer: /);
    });
  });
});
