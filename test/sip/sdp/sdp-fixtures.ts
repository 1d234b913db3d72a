/**
 * Offers as real peers send them (baresip, Asterisk, FreeSWITCH, a Cisco CUBE, a video phone) and the
 * checks every answer must pass: it parses with sdp-transform, keeps the offer's m= lines in order
 * (RFC 3264 6), and read back as the answer to that offer it agrees with what answerOffer reported.
 */
import { expect } from 'vitest';
import { parse } from 'sdp-transform';
import { acceptAnswer, type LocalMediaEndpoint, type NegotiatedMedia } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';

/** SDP bodies are written with CRLF as on the wire. */
export function sdp(...lines: string[]): string {
  return lines.join('\r\n') + '\r\n';
}

export const LOCAL: LocalMediaEndpoint = { address: '203.0.113.5', port: 40000, sessionId: '3849203812', sessionVersion: 1 };
export const LOCAL6: LocalMediaEndpoint = { address: '2001:db8::5', port: 40000, sessionId: '3849203812', sessionVersion: 1 };

/** baresip with its g711 and g722 modules and opus loaded: opus first, then G.722, then G.711. */
export const BARESIP_OFFER = sdp(
  'v=0',
  'o=- 1902516395 2127937422 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 10000 RTP/AVP 96 9 0 8 101',
  'b=AS:64',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=rtcp-rsize',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:3120987613 cname:8c9f4a51-41a3-4bd1-b0e2-1c3e2a5a5e11',
  'a=ptime:20',
);

/** baresip with only the g711 module: the common minimal phone. */
export const BARESIP_G711_OFFER = sdp(
  'v=0',
  'o=- 372114939 1429875512 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 10002 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=rtcp:10003',
  'a=ptime:20',
);

/** Asterisk (chan_pjsip) with A-law first, GSM and G.726 in the list and maxptime. */
export const ASTERISK_OFFER = sdp(
  'v=0',
  'o=- 1925370946 1925370946 IN IP4 10.0.0.5',
  's=Asterisk',
  'c=IN IP4 10.0.0.5',
  't=0 0',
  'm=audio 18514 RTP/AVP 3 111 8 0 9 101',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:111 G726-32/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
);

/** FreeSWITCH: opus first, telephone-event twice (48 kHz for opus, 8 kHz for the rest), comfort noise. */
export const FREESWITCH_OFFER = sdp(
  'v=0',
  'o=FreeSWITCH 1700001234 1700001235 IN IP4 198.51.100.10',
  's=FreeSWITCH',
  'c=IN IP4 198.51.100.10',
  't=0 0',
  'm=audio 24582 RTP/AVP 102 9 0 8 103 101 13',
  'a=rtpmap:102 opus/48000/2',
  'a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20; minptime=10; maxptime=40',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:103 telephone-event/48000',
  'a=fmtp:103 0-16',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtpmap:13 CN/8000',
  'a=ptime:20',
);

/** A Cisco CUBE towards a carrier: G.729 first, c= repeated at media level, telephone-event on 101. */
export const CISCO_CUBE_OFFER = sdp(
  'v=0',
  'o=CiscoSystemsSIP-GW-UserAgent 4614 6513 IN IP4 203.0.113.40',
  's=SIP Call',
  'c=IN IP4 203.0.113.40',
  't=0 0',
  'm=audio 16434 RTP/AVP 18 0 8 4 101 19',
  'c=IN IP4 203.0.113.40',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:4 G723/8000',
  'a=fmtp:4 annexa=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtpmap:19 CN/8000',
  'a=ptime:20',
);

/** A desk/soft phone with video (Linphone-like): audio then video, telephone-event at 8 kHz on 97. */
export const VIDEO_PHONE_OFFER = sdp(
  'v=0',
  'o=alice 2890 1 IN IP4 192.0.2.77',
  's=Talk',
  'c=IN IP4 192.0.2.77',
  't=0 0',
  'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
  'm=audio 7078 RTP/AVP 96 0 8 101 97',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 useinbandfec=1',
  'a=rtpmap:101 telephone-event/48000',
  'a=rtpmap:97 telephone-event/8000',
  'a=rtcp-fb:* trr-int 1000',
  'm=video 9078 RTP/AVP 96 97',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 H264/90000',
  'a=fmtp:97 profile-level-id=42801F',
  'a=rtcp-fb:* nack',
);

/** An old trunk: no rtpmap for the static types, telephone-event on 126, c= only at media level. */
export const OLD_TRUNK_OFFER = sdp(
  'v=0',
  'o=- 0 0 IN IP4 198.51.100.77',
  's=session',
  't=0 0',
  'm=audio 30000 RTP/AVP 8 0 126',
  'c=IN IP4 198.51.100.77',
  'a=rtpmap:126 telephone-event/8000',
  'a=fmtp:126 0-15',
);

/** The same offer with the given m=/a= lines for one audio stream; session level c= to 192.0.2.10. */
export function audioOffer(mLine: string, ...attributes: string[]): string {
  return sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', mLine, ...attributes);
}

/**
 * RFC 3264 6 on our answer: it parses, has the offer's m= lines in order with the same media types
 * and transports; declined ones have port 0 and the offer's formats, the accepted one a subset of
 * the offer's formats under the same payload types. Returns the parsed answer for further checks.
 */
export function expectValidAnswer(offerSdp: string, answerSdp: string): ReturnType<typeof parse> {
  expect(answerSdp.endsWith('\r\n')).toBe(true);
  expect(answerSdp).not.toMatch(/[^\r]\n/); // every line ends in CRLF
  const offer = parse(offerSdp);
  const answer = parse(answerSdp);
  expect(answer.version).toBe(0);
  expect(answer.name).toBe('-');
  expect(answer.timing).toEqual({ start: 0, stop: 0 });
  expect(answer.media.length).toBe(offer.media.length);
  answer.media.forEach((m, i) => {
    expect(m.type).toBe(offer.media[i].type);
    expect(m.protocol).toBe(offer.media[i].protocol);
    if (m.port === 0) {
      expect(m.payloads).toBe(offer.media[i].payloads);
    } else {
      const offered = String(offer.media[i].payloads).split(' ');
      for (const pt of String(m.payloads).split(' ')) expect(offered).toContain(pt);
      for (const map of m.rtp) {
        const offeredMap = offer.media[i].rtp.find((r) => r.payload === map.payload);
        if (offeredMap) expect(offeredMap.codec.toLowerCase()).toBe(map.codec.toLowerCase());
      }
    }
  });
  return answer;
}

/**
 * Read back by the offerer, our answer must say the same thing: same codec and payload types,
 * Voxgate's address and port as the remote, and the offerer's own direction the mirror of ours.
 */
export function expectOffererAgrees(offerSdp: string, answerSdp: string, media: NegotiatedMedia, local: LocalMediaEndpoint): NegotiatedMedia {
  const theirs = acceptAnswer(offerSdp, answerSdp);
  expect(theirs.codec).toBe(media.codec);
  expect(theirs.payloadType).toBe(media.payloadType);
  expect(theirs.telephoneEventPayloadType).toBe(media.telephoneEventPayloadType);
  expect(theirs.sendPayloadType).toBeUndefined();
  expect(theirs.sendTelephoneEventPayloadType).toBeUndefined();
  expect(theirs.remote).toEqual({ address: local.address, port: local.port, rtcpPort: local.port + 1 });
  expect(theirs.ptime).toBe(20);
  expect(theirs.direction).toBe(MIRROR[media.direction]);
  return theirs;
}

const MIRROR = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' } as const;

/** The m= lines of an SDP, verbatim. */
export function mLines(sdpText: string): string[] {
  return sdpText.split('\r\n').filter((l) => l.startsWith('m='));
}
