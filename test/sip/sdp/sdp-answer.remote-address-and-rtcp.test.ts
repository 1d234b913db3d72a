import { describe, expect, it } from 'vitest';
import { answerOffer } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import { BARESIP_G711_OFFER, CISCO_CUBE_OFFER, LOCAL, LOCAL6, OLD_TRUNK_OFFER, expectOffererAgrees, expectValidAnswer, mLines, sdp } from './sdp-fixtures.js';

function answer(offer: string, local = LOCAL) {
  const result = answerOffer(offer, local, { codecs: ['PCMU', 'PCMA'] });
  const parsed = expectValidAnswer(offer, result.answerSdp);
  expectOffererAgrees(offer, result.answerSdp, result.media, local);
  return { ...result, parsed };
}

describe('answerOffer finds where to send RTP and RTCP', () => {
  it('c= at media level only (an old trunk)', () => {
    expect(answer(OLD_TRUNK_OFFER).media.remote).toEqual({ address: '198.51.100.77', port: 30000, rtcpPort: 30001 });
  });

  it('c= at both levels: the media level wins (an SBC anchoring media elsewhere)', () => {
    const offer = CISCO_CUBE_OFFER.replace('m=audio 16434 RTP/AVP 18 0 8 4 101 19\r\nc=IN IP4 203.0.113.40', 'm=audio 16434 RTP/AVP 18 0 8 4 101 19\r\nc=IN IP4 198.51.100.99');
    expect(answer(offer).media.remote).toEqual({ address: '198.51.100.99', port: 16434, rtcpPort: 16435 });
  });

  it('each stream reads its own c=: video\'s does not leak into audio', () => {
    const offer = sdp(
      'v=0',
      'o=- 1 1 IN IP4 192.0.2.1',
      's=-',
      'c=IN IP4 192.0.2.1',
      't=0 0',
      'm=video 6000 RTP/AVP 96',
      'c=IN IP4 192.0.2.99',
      'a=rtpmap:96 VP8/90000',
      'm=audio 6002 RTP/AVP 0',
    );
    expect(answer(offer).media.remote).toEqual({ address: '192.0.2.1', port: 6002, rtcpPort: 6003 });
  });

  it('a=rtcp:<port> gives the RTCP port (baresip)', () => {
    expect(answer(BARESIP_G711_OFFER).media.remote).toEqual({ address: '127.0.0.1', port: 10002, rtcpPort: 10003 });
    const offer = BARESIP_G711_OFFER.replace('a=rtcp:10003', 'a=rtcp:10101');
    expect(answer(offer).media.remote.rtcpPort).toBe(10101);
  });

  it('a=rtcp with an address (RFC 3605) still gives the port', () => {
    const offer = BARESIP_G711_OFFER.replace('a=rtcp:10003', 'a=rtcp:53020 IN IP4 126.16.64.4');
    expect(answer(offer).media.remote).toEqual({ address: '127.0.0.1', port: 10002, rtcpPort: 53020 });
  });

  it('an unreadable a=rtcp falls back to port + 1, with a note', () => {
    const offer = BARESIP_G711_OFFER.replace('a=rtcp:10003', 'a=rtcp:');
    const { media } = answer(offer);
    expect(media.remote.rtcpPort).toBe(10003);
    expect(media.notes?.join('\n')).toMatch(/unreadable a=rtcp/);
  });

  it('a=rtcp-mux is noted, not accepted: RTCP stays on its own port', () => {
    const offer = BARESIP_G711_OFFER.replace('a=rtcp:10003', 'a=rtcp-mux');
    const { media, answerSdp } = answer(offer);
    expect(media.remote).toEqual({ address: '127.0.0.1', port: 10002, rtcpPort: 10003, rtcpMux: true });
    expect(answerSdp).not.toContain('rtcp-mux');
    expect(media.notes?.join('\n')).toMatch(/rtcp-mux/);
  });

  describe('IPv6', () => {
    const offer6 = sdp(
      'v=0',
      'o=- 1902516395 2127937422 IN IP6 2001:db8::20',
      's=-',
      'c=IN IP6 2001:db8::20',
      't=0 0',
      'm=audio 10000 RTP/AVP 0 8 101',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-15',
      'a=ptime:20',
    );

    it('c=IN IP6 gives an IPv6 remote; our IPv6 answer says IN IP6 in o= and c=', () => {
      const { media, parsed, answerSdp } = answer(offer6, LOCAL6);
      expect(media.remote).toEqual({ address: '2001:db8::20', port: 10000, rtcpPort: 10001 });
      expect(parsed.origin).toMatchObject({ ipVer: 6, address: '2001:db8::5' });
      expect(parsed.connection).toEqual({ version: 6, ip: '2001:db8::5' });
      expect(answerSdp).toContain('c=IN IP6 2001:db8::5\r\n');
    });

    it('an IPv6 media c= under an IPv4 session c= (dual-stack SBC)', () => {
      const offer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 10000 RTP/AVP 0', 'c=IN IP6 2001:db8::abcd');
      expect(answer(offer, LOCAL6).media.remote.address).toBe('2001:db8::abcd');
    });
  });

  it('a host name in c= (RFC 8866 allows an FQDN) is passed on as is', () => {
    const offer = sdp('v=0', 'o=- 1 1 IN IP4 media.example.net', 's=-', 'c=IN IP4 media.example.net', 't=0 0', 'm=audio 10000 RTP/AVP 0');
    expect(answer(offer).media.remote.address).toBe('media.example.net');
  });

  describe('ptime', () => {
    it('defaults to 20 when absent', () => {
      const offer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 10000 RTP/AVP 0');
      const { media } = answer(offer);
      expect(media.ptime).toBe(20);
      expect(media.notes).toEqual(['peer offered no telephone-event/8000: DTMF can only arrive in-band or by SIP INFO']);
    });

    it('a peer asking for 30 ms is reported; we still answer ptime 20', () => {
      const { media, parsed } = answer(BARESIP_G711_OFFER.replace('a=ptime:20', 'a=ptime:30'));
      expect(media.ptime).toBe(30);
      expect(parsed.media[0].ptime).toBe(20);
      expect(media.notes).toContain('peer asked for a=ptime:30; Voxgate sends 20 ms packets');
    });

    it('a maxptime below 20 ms is reported', () => {
      const { media } = answer(BARESIP_G711_OFFER.replace('a=ptime:20', 'a=ptime:10\r\na=maxptime:10'));
      expect(media.ptime).toBe(10);
      expect(media.notes).toContain("peer's a=maxptime:10 is below the 20 ms Voxgate sends");
    });
  });

  describe('tolerated layout', () => {
    it('LF-only line endings, trailing blanks and a missing final newline', () => {
      const sloppy = BARESIP_G711_OFFER.replace(/\r\n/g, ' \n').trimEnd();
      const { media } = answer(sloppy);
      expect(media).toMatchObject({ codec: 'PCMU', telephoneEventPayloadType: 101, remote: { address: '127.0.0.1', port: 10002, rtcpPort: 10003 } });
    });

    it('a port count (m=audio 49170/2) uses the first port', () => {
      const offer = sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 49170/2 RTP/AVP 0');
      const { media, answerSdp } = answerOffer(offer, LOCAL, { codecs: ['PCMU'] });
      expect(media.remote.port).toBe(49170);
      expect(mLines(answerSdp)).toEqual(['m=audio 40000 RTP/AVP 0']);
    });

    it('b=, i=, k=, unknown and session-level attributes are ignored', () => {
      const offer = sdp(
        'v=0',
        'o=- 1 1 IN IP4 192.0.2.1',
        's=A call',
        'i=Some information',
        'u=http://example.com/',
        'c=IN IP4 192.0.2.1',
        'b=CT:128',
        't=0 0',
        'a=tool:something 1.0',
        'a=group:BUNDLE 0',
        'm=audio 10000 RTP/AVP 0',
        'i=voice',
        'b=AS:64',
        'k=prompt',
        'a=mid:0',
        'a=x-unknown:whatever',
      );
      expect(answer(offer).media.codec).toBe('PCMU');
    });
  });
});
