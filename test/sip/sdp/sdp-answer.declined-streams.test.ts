import { describe, expect, it } from 'vitest';
import { answerOffer } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import { LOCAL, VIDEO_PHONE_OFFER, expectOffererAgrees, expectValidAnswer, mLines, sdp } from './sdp-fixtures.js';

function answer(offer: string) {
  const result = answerOffer(offer, LOCAL, { codecs: ['PCMU', 'PCMA', 'G722'] });
  const parsed = expectValidAnswer(offer, result.answerSdp);
  expectOffererAgrees(offer, result.answerSdp, result.media, LOCAL);
  return { ...result, parsed };
}

const session = ['v=0', 'o=- 20518 0 IN IP4 192.0.2.50', 's=-', 'c=IN IP4 192.0.2.50', 't=0 0'];

describe('answerOffer accepts one audio stream and declines the rest in place (RFC 3264 6)', () => {
  it('audio then video: video answered with port 0 and its own formats', () => {
    const { answerSdp, media, parsed } = answer(VIDEO_PHONE_OFFER);
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0 97', 'm=video 0 RTP/AVP 96 97']);
    // Nothing describes the declined stream beyond its m= line.
    expect(parsed.media[1].rtp).toEqual([]);
    expect(parsed.media[1].direction).toBeUndefined();
    expect(media.remote).toEqual({ address: '192.0.2.77', port: 7078, rtcpPort: 7079 });
    expect(media.notes).toContain('declined m=video RTP/AVP (stream 2)');
  });

  it('video first, audio second: the positions are kept', () => {
    const offer = sdp(
      ...session,
      'm=video 51372 RTP/AVP 31 34',
      'a=rtpmap:31 H261/90000',
      'm=audio 49170 RTP/AVP 8 101',
      'a=rtpmap:101 telephone-event/8000',
    );
    const { answerSdp, media } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=video 0 RTP/AVP 31 34', 'm=audio 40000 RTP/AVP 8 101']);
    expect(media).toMatchObject({ codec: 'PCMA', remote: { address: '192.0.2.50', port: 49170 } });
  });

  it('two audio streams: the first usable one is taken, the second declined', () => {
    const offer = sdp(...session, 'm=audio 49170 RTP/AVP 0', 'm=audio 49180 RTP/AVP 8');
    const { answerSdp, media } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0', 'm=audio 0 RTP/AVP 8']);
    expect(media.remote.port).toBe(49170);
  });

  it('a first audio stream without a common codec is declined and the second one used', () => {
    const offer = sdp(...session, 'm=audio 49170 RTP/AVP 96', 'a=rtpmap:96 opus/48000/2', 'm=audio 49180 RTP/AVP 8');
    const { answerSdp, media } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=audio 0 RTP/AVP 96', 'm=audio 40000 RTP/AVP 8']);
    expect(media).toMatchObject({ codec: 'PCMA', remote: { port: 49180 } });
  });

  it('SRTP audio first and plain audio second (an SDES "fallback" offer): the plain one, SRTP declined', () => {
    const offer = sdp(
      ...session,
      'm=audio 49170 RTP/SAVP 0 101',
      'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32',
      'a=rtpmap:101 telephone-event/8000',
      'm=audio 49172 RTP/AVP 0 101',
      'a=rtpmap:101 telephone-event/8000',
    );
    const { answerSdp, media } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=audio 0 RTP/SAVP 0 101', 'm=audio 40000 RTP/AVP 0 101']);
    expect(answerSdp).not.toContain('crypto');
    expect(media.remote.port).toBe(49172);
  });

  it('an audio stream the offer itself disabled (port 0) stays disabled; the next one is used', () => {
    const offer = sdp(...session, 'm=audio 0 RTP/AVP 0', 'm=audio 49180 RTP/AVP 0');
    const { answerSdp, media } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=audio 0 RTP/AVP 0', 'm=audio 40000 RTP/AVP 0']);
    expect(media.remote.port).toBe(49180);
    expect(media.notes?.some((n) => n.startsWith('declined'))).toBe(false);
  });

  it('T.38 fax (m=image udptl) and a BFCP application stream are declined keeping their format tokens', () => {
    const offer = sdp(
      ...session,
      'm=audio 49170 RTP/AVP 0 101',
      'a=rtpmap:101 telephone-event/8000',
      'm=image 49172 udptl t38',
      'a=T38FaxVersion:0',
      'a=T38FaxRateManagement:transferredTCF',
      'm=application 49174 TCP/BFCP *',
      'a=floorctrl:c-s',
    );
    const { answerSdp } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0 101', 'm=image 0 udptl t38', 'm=application 0 TCP/BFCP *']);
    expect(answerSdp).not.toContain('T38');
  });

  it('a WebRTC-style video stream with its own c= and no session c= for it still declines cleanly', () => {
    const offer = sdp(
      'v=0',
      'o=- 1 1 IN IP4 192.0.2.60',
      's=-',
      't=0 0',
      'm=audio 49170 RTP/AVP 0',
      'c=IN IP4 192.0.2.60',
      'm=video 0 RTP/AVP 96',
    );
    expect(mLines(answer(offer).answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0', 'm=video 0 RTP/AVP 96']);
  });
});
