import { describe, expect, it } from 'vitest';
import { LocalSdpSession, SdpNegotiationError, answerOffer, type CodecName } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import { BARESIP_OFFER, LOCAL, audioOffer, sdp } from './sdp-fixtures.js';

const ALL: CodecName[] = ['PCMU', 'PCMA', 'G722'];

function refusal(offer: string, codecs: CodecName[] = ALL): SdpNegotiationError {
  try {
    answerOffer(offer, LOCAL, { codecs });
  } catch (err) {
    expect(err).toBeInstanceOf(SdpNegotiationError);
    expect((err as Error).name).toBe('SdpNegotiationError');
    return err as SdpNegotiationError;
  }
  throw new Error('the offer was accepted');
}

const session = ['v=0', 'o=- 20518 0 IN IP4 192.0.2.50', 's=-', 'c=IN IP4 192.0.2.50', 't=0 0'];

describe('answerOffer refuses with 488 Not Acceptable Here, naming what the offer had', () => {
  it('no codec in common: the message lists the offered formats and ours', () => {
    const err = refusal(audioOffer('m=audio 5004 RTP/AVP 96 3', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:3 GSM/8000'));
    expect(err.status).toBe(488);
    expect(err.message).toBe('no codec in common: offered opus/48000/2, GSM/8000; Voxgate supports PCMU, PCMA, G722');
  });

  it('static types without rtpmap and a dynamic type without one are named too', () => {
    const err = refusal(audioOffer('m=audio 5004 RTP/AVP 18 4 97 101', 'a=rtpmap:101 telephone-event/8000'));
    expect(err.message).toBe('no codec in common: offered G729/8000, G723/8000, PT 97 (no rtpmap), telephone-event/8000; Voxgate supports PCMU, PCMA, G722');
  });

  it('the list named is the one configured', () => {
    const err = refusal(BARESIP_OFFER.replace('96 9 0 8 101', '96 9 0 101'), ['PCMA']);
    expect(err.message).toMatch(/; Voxgate supports PCMA$/);
    expect(err.message).toMatch(/^no codec in common: offered opus\/48000\/2, G722\/8000, PCMU\/8000, telephone-event\/8000/);
  });

  it('telephone-event alone is no audio codec', () => {
    expect(refusal(audioOffer('m=audio 5004 RTP/AVP 101', 'a=rtpmap:101 telephone-event/8000')).status).toBe(488);
  });

  it('video only: no audio stream', () => {
    const err = refusal(sdp(...session, 'm=video 51372 RTP/AVP 96', 'a=rtpmap:96 VP8/90000'));
    expect(err.status).toBe(488);
    expect(err.message).toBe('no audio stream in the offer: it has m=video');
  });

  it('audio disabled by the offer itself (port 0) next to video', () => {
    const err = refusal(sdp(...session, 'm=audio 0 RTP/AVP 0', 'm=video 51372 RTP/AVP 96', 'a=rtpmap:96 VP8/90000'));
    expect(err.message).toBe('no audio stream in the offer: it has m=audio (port 0), m=video');
  });

  it('no m= line at all', () => {
    const err = refusal(sdp(...session));
    expect(err.status).toBe(488);
    expect(err.message).toBe('the offer has no media stream (no m= line)');
  });

  it.each(['RTP/SAVP', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVPF'])('%s only: SRTP is not supported', (profile) => {
    const err = refusal(
      audioOffer(`m=audio 5004 ${profile} 0 101`, 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR', 'a=rtpmap:101 telephone-event/8000'),
    );
    expect(err.status).toBe(488);
    expect(err.message).toBe(`SRTP is not supported: the audio stream is ${profile} and Voxgate does plain RTP/AVP`);
  });

  it('RTP over TCP is not supported', () => {
    const err = refusal(audioOffer('m=audio 5004 TCP/RTP/AVP 0'));
    expect(err.message).toBe('transport TCP/RTP/AVP is not supported: Voxgate does RTP/AVP over UDP');
  });

  it('a multicast session', () => {
    const offer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 233.252.0.1/127', 't=0 0', 'm=audio 5004 RTP/AVP 0');
    expect(refusal(offer).message).toBe('multicast address 233.252.0.1 is not supported');
  });

  it('several audio streams, none usable: each one\'s reason, numbered by position', () => {
    const err = refusal(sdp(...session, 'm=audio 49170 RTP/SAVP 0', 'm=video 49172 RTP/AVP 96', 'm=audio 49174 RTP/AVP 3'));
    expect(err.message).toBe(
      'audio stream 1: SRTP is not supported: the audio stream is RTP/SAVP and Voxgate does plain RTP/AVP; ' +
        'audio stream 3: no codec in common: offered GSM/8000; Voxgate supports PCMU, PCMA, G722',
    );
  });
});

describe('answerOffer refuses an offer that does not parse with 400, naming the line', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['an empty body', '', /^malformed SDP offer: empty body$/],
    ['blank lines only', '\r\n\r\n', /empty body/],
    ['HTML from a misconfigured proxy', '<html><body>502 Bad Gateway</body></html>', /must start with "v=0", line 1 is "<html>/],
    ['JSON', '{"sdp": "v=0"}', /must start with "v=0"/],
    ['a line that is not type=value', sdp(...session, 'this is not sdp', 'm=audio 5004 RTP/AVP 0'), /line 6 is not an SDP line: "this is not sdp"/],
    ['no o= line', sdp('v=0', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 5004 RTP/AVP 0'), /no o= line/],
    ['a broken o= line', sdp('v=0', 'o=- 1 IN IP4', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 5004 RTP/AVP 0'), /line 2 is not an o= line/],
    ['no t= line', sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 'm=audio 5004 RTP/AVP 0'), /no t= line/],
    ['no c= anywhere', sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=audio 5004 RTP/AVP 0'), /no c= line for the m=audio at line 5 nor at session level/],
    ['c= with a non-address', audioOffer('m=audio 5004 RTP/AVP 0').replace('c=IN IP4 192.0.2.10', 'c=IN IP4 999.1.1.1'), /line 4: "999.1.1.1" is not an IPv4 address/],
    ['c= IP4 with an IPv6 address', audioOffer('m=audio 5004 RTP/AVP 0').replace('c=IN IP4 192.0.2.10', 'c=IN IP4 2001:db8::1'), /line 4 says IP4 but "2001:db8::1" is an IPv6 address/],
    ['an m= line without formats', audioOffer('m=audio 5004 RTP/AVP'), /line 6 is not an m= line/],
    ['an RTP format that is not a payload type', audioOffer('m=audio 5004 RTP/AVP 0 PCMU'), /line 6: "PCMU" is not an RTP payload type/],
    ['a payload type above 127', audioOffer('m=audio 5004 RTP/AVP 0 200'), /"200" is not an RTP payload type/],
    ['a port above 65535', audioOffer('m=audio 70000 RTP/AVP 0'), /port 70000 out of range at line 6/],
    ['an rtpmap without clock rate', audioOffer('m=audio 5004 RTP/AVP 0', 'a=rtpmap:0 PCMU'), /line 7 is not an rtpmap/],
    ['a second v= line', sdp(...session, 'v=0', 'm=audio 5004 RTP/AVP 0'), /a second v= line at line 6/],
  ];
  it.each(cases)('%s', (_what, offer, message) => {
    const err = refusal(offer);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });

  describe('a body cut short in transit', () => {
    const full = BARESIP_OFFER;
    it.each([
      ['inside the c= line', full.slice(0, full.indexOf('c=IN IP4 192.168.1.20') + 14)],
      ['inside the m= line', full.slice(0, full.indexOf('m=audio') + 12)],
      ['inside the m= line, after the transport', full.slice(0, full.indexOf('RTP/AVP') + 7)],
      ['inside an rtpmap', full.slice(0, full.indexOf('a=rtpmap:101') + 20)],
      ['before t=', full.slice(0, full.indexOf('t=0 0'))],
    ])('%s', (_where, truncated) => {
      expect(refusal(truncated).status).toBe(400);
    });
  });

  it('control characters in the quoted line are made visible and long lines clipped', () => {
    const err = refusal(`v=0\r\n\u0000\u0001${'x'.repeat(200)}\r\n`);
    expect(err.message).toContain('"??xxxxxxxxxx');
    expect(err.message).toContain('..."');
    expect(err.message.length).toBeLessThan(150);
  });

  it('a non-string body (a Buffer handed over by mistake) is a 400, not a crash', () => {
    expect(refusal(Buffer.from(BARESIP_OFFER) as unknown as string).status).toBe(400);
  });

  it('a refused re-offer leaves the dialog\'s session unchanged', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const first = session.answer(BARESIP_OFFER, { codecs: ALL });
    expect(() => session.answer('garbage', { codecs: ALL })).toThrow(SdpNegotiationError);
    expect(() => session.answer(audioOffer('m=audio 5004 RTP/AVP 3'), { codecs: ALL })).toThrow(/no codec in common/);
    expect(session.media).toEqual(first.media);
    expect(session.answer(BARESIP_OFFER, { codecs: ALL }).answerSdp).toBe(first.answerSdp);
  });
});
