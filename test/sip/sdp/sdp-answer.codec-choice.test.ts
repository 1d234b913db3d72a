import { describe, expect, it } from 'vitest';
import { answerOffer, type CodecName } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import {
  ASTERISK_OFFER,
  BARESIP_G711_OFFER,
  BARESIP_OFFER,
  CISCO_CUBE_OFFER,
  FREESWITCH_OFFER,
  LOCAL,
  OLD_TRUNK_OFFER,
  VIDEO_PHONE_OFFER,
  audioOffer,
  expectOffererAgrees,
  expectValidAnswer,
  mLines,
} from './sdp-fixtures.js';

const ALL: CodecName[] = ['PCMU', 'PCMA', 'G722'];

function answer(offer: string, codecs: CodecName[] = ALL) {
  const result = answerOffer(offer, LOCAL, { codecs });
  const parsed = expectValidAnswer(offer, result.answerSdp);
  expectOffererAgrees(offer, result.answerSdp, result.media, LOCAL);
  return { ...result, parsed };
}

describe('answerOffer picks the first offered codec Voxgate accepts (the peer\'s preference)', () => {
  it('baresip offering opus, G.722, PCMU, PCMA: G.722, with its telephone-event 101', () => {
    const { answerSdp, media, parsed } = answer(BARESIP_OFFER);
    expect(media).toMatchObject({ codec: 'G722', payloadType: 9, telephoneEventPayloadType: 101, ptime: 20, direction: 'sendrecv', onHold: false });
    expect(media.remote).toEqual({ address: '192.168.1.20', port: 10000, rtcpPort: 10001 });
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 9 101']);
    const audio = parsed.media[0];
    expect(audio.rtp).toEqual([
      { payload: 9, codec: 'G722', rate: 8000 },
      { payload: 101, codec: 'telephone-event', rate: 8000 },
    ]);
    expect(audio.fmtp).toEqual([{ payload: 101, config: '0-15' }]);
    expect(audio.ptime).toBe(20);
    expect(audio.direction).toBe('sendrecv');
  });

  it('the whole answer reads as the protocol doc\'s example: o=, s=, c= and t= at session level', () => {
    const { answerSdp } = answer(BARESIP_G711_OFFER);
    expect(answerSdp).toBe(
      [
        'v=0',
        'o=- 3849203812 1 IN IP4 203.0.113.5',
        's=-',
        'c=IN IP4 203.0.113.5',
        't=0 0',
        'm=audio 40000 RTP/AVP 0 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-15',
        'a=ptime:20',
        'a=sendrecv',
        '',
      ].join('\r\n'),
    );
  });

  it('our list filters but does not reorder: without G.722 baresip gets PCMU, its next choice', () => {
    expect(answer(BARESIP_OFFER, ['PCMA', 'PCMU']).media).toMatchObject({ codec: 'PCMU', payloadType: 0 });
    expect(answer(BARESIP_OFFER, ['PCMA']).media).toMatchObject({ codec: 'PCMA', payloadType: 8 });
  });

  it('Asterisk offering GSM and G.726-32 first: PCMA, the first one we have', () => {
    const { media, answerSdp } = answer(ASTERISK_OFFER);
    expect(media).toMatchObject({ codec: 'PCMA', payloadType: 8, telephoneEventPayloadType: 101 });
    expect(answerSdp).toContain('a=fmtp:101 0-16\r\n');
    expect(media.remote).toEqual({ address: '10.0.0.5', port: 18514, rtcpPort: 18515 });
  });

  it('FreeSWITCH offering telephone-event at 48 and 8 kHz: the 8 kHz one (101), not 103', () => {
    const { media, answerSdp } = answer(FREESWITCH_OFFER, ['PCMU', 'PCMA']);
    expect(media).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101 });
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0 101']);
    expect(answerSdp).not.toContain('103');
    expect(answerSdp).not.toContain('CN/8000');
  });

  it('a Cisco CUBE offering G.729 first: PCMU, and its telephone-event range 0-16', () => {
    const { media, parsed } = answer(CISCO_CUBE_OFFER);
    expect(media).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 101 });
    expect(parsed.media[0].fmtp).toEqual([{ payload: 101, config: '0-16' }]);
  });

  it('static payload types without rtpmap are known from RFC 3551; telephone-event keeps the peer\'s 126', () => {
    const { media, parsed, answerSdp } = answer(OLD_TRUNK_OFFER);
    expect(media).toMatchObject({ codec: 'PCMA', payloadType: 8, telephoneEventPayloadType: 126 });
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 8 126']);
    // Our answer names every format it uses, static or not.
    expect(parsed.media[0].rtp).toEqual([
      { payload: 8, codec: 'PCMA', rate: 8000 },
      { payload: 126, codec: 'telephone-event', rate: 8000 },
    ]);
  });

  it('a video phone with telephone-event 97 at 8 kHz (and 101 at 48 kHz): 97', () => {
    const { media, answerSdp } = answer(VIDEO_PHONE_OFFER);
    expect(media).toMatchObject({ codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: 97 });
    expect(mLines(answerSdp)[0]).toBe('m=audio 40000 RTP/AVP 0 97');
  });

  it('telephone-event on 96 is reused as offered', () => {
    const offer = audioOffer('m=audio 5004 RTP/AVP 0 96', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15');
    const { media, answerSdp } = answer(offer);
    expect(media.telephoneEventPayloadType).toBe(96);
    expect(answerSdp).toContain('m=audio 40000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n');
  });

  it('a codec on a dynamic payload type is matched by name and keeps that number', () => {
    const offer = audioOffer('m=audio 5004 RTP/AVP 98 101', 'a=rtpmap:98 pcma/8000', 'a=rtpmap:101 telephone-event/8000');
    const { media, answerSdp } = answer(offer);
    expect(media).toMatchObject({ codec: 'PCMA', payloadType: 98 });
    expect(answerSdp).toContain('a=rtpmap:98 PCMA/8000\r\n');
  });

  it('encoding names match case-insensitively; stereo G.711 and a wrong clock rate do not match', () => {
    const offer = audioOffer(
      'm=audio 5004 RTP/AVP 110 111 0',
      'a=rtpmap:110 PCMU/8000/2',
      'a=rtpmap:111 PCMA/16000',
      'a=rtpmap:0 pcmu/8000',
    );
    expect(answer(offer).media).toMatchObject({ codec: 'PCMU', payloadType: 0 });
  });

  it('G722/16000 (the sample rate written as clock rate) is taken as G.722 with a note; the answer says G722/8000', () => {
    const offer = audioOffer('m=audio 5004 RTP/AVP 9 0', 'a=rtpmap:9 G722/16000');
    const { media, answerSdp } = answerOffer(offer, LOCAL, { codecs: ALL });
    expect(media.codec).toBe('G722');
    expect(media.notes?.join('\n')).toMatch(/G722\/16000/);
    expect(answerSdp).toContain('a=rtpmap:9 G722/8000\r\n');
  });

  it('a dynamic payload type without rtpmap cannot be used: the next format is', () => {
    const offer = audioOffer('m=audio 5004 RTP/AVP 97 8');
    expect(answer(offer).media).toMatchObject({ codec: 'PCMA', payloadType: 8 });
  });

  describe('telephone-event', () => {
    const withEvents = (fmtp?: string) =>
      audioOffer('m=audio 5004 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', ...(fmtp ? [`a=fmtp:101 ${fmtp}`] : []));

    it.each([
      ['0-15', '0-15'],
      ['0-16', '0-16'],
      ['0-255', '0-16'],
      ['0-11', '0-11'],
      ['0-9,11', '0-9,11'],
      ['0-15,32-41', '0-15'],
      ['events=0-16', '0-16'],
    ])('offered %s, answered %s: the offered events Voxgate handles', (offered, answered) => {
      const { parsed } = answer(withEvents(offered));
      expect(parsed.media[0].fmtp).toEqual([{ payload: 101, config: answered }]);
    });

    it('without fmtp the RFC 4733 default (0-15) is answered', () => {
      expect(answer(withEvents()).parsed.media[0].fmtp).toEqual([{ payload: 101, config: '0-15' }]);
    });

    it('an unreadable event list counts as the default', () => {
      expect(answer(withEvents('foo')).parsed.media[0].fmtp).toEqual([{ payload: 101, config: '0-15' }]);
    });

    it('events outside DTMF only (tones 32-41): telephone-event is not accepted, with a note', () => {
      const { media, answerSdp } = answer(withEvents('32-41'));
      expect(media.telephoneEventPayloadType).toBeUndefined();
      expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0']);
      expect(media.notes?.join('\n')).toMatch(/none of the DTMF events/);
    });

    it('an offer without telephone-event gets an answer without it, and a note that DTMF must come otherwise', () => {
      const offer = audioOffer('m=audio 5004 RTP/AVP 8 0', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:0 PCMU/8000');
      const { media, answerSdp } = answer(offer);
      expect(media.telephoneEventPayloadType).toBeUndefined();
      expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 8']);
      expect(answerSdp).not.toContain('fmtp');
      expect(media.notes?.join('\n')).toMatch(/no telephone-event/);
    });
  });

  it('RTP/AVPF is answered in kind (feedback we never send is harmless)', () => {
    const offer = audioOffer('m=audio 5004 RTP/AVPF 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=rtcp-fb:* nack');
    const { answerSdp, media } = answer(offer);
    expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVPF 0 101']);
    expect(media.codec).toBe('PCMU');
    expect(answerSdp).not.toContain('rtcp-fb');
  });

  it('a=crypto on plain RTP/AVP (best-effort SRTP) is ignored: the answer is plain RTP, with a note', () => {
    const offer = audioOffer('m=audio 5004 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32');
    const { answerSdp, media } = answer(offer);
    expect(answerSdp).not.toContain('crypto');
    expect(media.notes?.join('\n')).toMatch(/ignored a=crypto/);
  });

  it('the answer uses our port, our address in o= and c=, and the session id and version given', () => {
    const { parsed } = answer(BARESIP_OFFER);
    expect(parsed.origin).toMatchObject({ username: '-', sessionId: 3849203812, sessionVersion: 1, netType: 'IN', ipVer: 4, address: '203.0.113.5' });
    expect(parsed.connection).toEqual({ version: 4, ip: '203.0.113.5' });
    expect(parsed.media[0].port).toBe(40000);
    expect(parsed.media[0].connection).toBeUndefined();
  });

  it('refuses a configuration mistake with a plain error, not a 488', () => {
    expect(() => answerOffer(BARESIP_OFFER, LOCAL, { codecs: [] })).toThrow(RangeError);
    expect(() => answerOffer(BARESIP_OFFER, LOCAL, { codecs: ['OPUS' as CodecName] })).toThrow(/unknown codec "OPUS"/);
    expect(() => answerOffer(BARESIP_OFFER, { ...LOCAL, address: 'voxgate.example.com' }, { codecs: ALL })).toThrow(TypeError);
    expect(() => answerOffer(BARESIP_OFFER, { ...LOCAL, port: 0 }, { codecs: ALL })).toThrow(RangeError);
  });
});
