import { describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { LocalSdpSession, acceptAnswer, answerOffer, type CodecName } from '../../../src/carriers/sip/sdp/sdp-negotiation.js';
import { BARESIP_G711_OFFER, VIDEO_PHONE_OFFER, expectValidAnswer, mLines, sdp } from './sdp-fixtures.js';

const CODECS: CodecName[] = ['PCMU', 'PCMA', 'G722'];

function origin(sdpText: string): { sessionId: string; sessionVersion: number } {
  const o = parse(sdpText).origin;
  return { sessionId: String(o.sessionId), sessionVersion: o.sessionVersion };
}

/** baresip's offer with another version and direction, as in its hold/resume re-INVITEs. */
function reOffer(version: number, direction: 'sendrecv' | 'sendonly' | 'inactive'): string {
  return BARESIP_G711_OFFER.replace('o=- 372114939 1429875512', `o=- 372114939 ${1429875512 + version}`).replace('a=sendrecv', `a=${direction}`);
}

/** What a peer answers to our offer: the first format we listed and our telephone-event, on its own address. */
function peerAnswer(ourOffer: string, direction = 'sendrecv'): string {
  const lines = parse(ourOffer).media.flatMap((m) => {
    if (m.port === 0) return [`m=${m.type} 0 ${m.protocol} ${m.payloads}`];
    const te = m.rtp.find((r) => r.codec === 'telephone-event');
    const first = String(m.payloads).split(' ')[0];
    return te
      ? [`m=audio 7000 ${m.protocol} ${first} ${te.payload}`, `a=rtpmap:${te.payload} telephone-event/8000`, `a=${direction}`]
      : [`m=audio 7000 ${m.protocol} ${first}`, `a=${direction}`];
  });
  return sdp('v=0', 'o=- 55 55 IN IP4 192.0.2.9', 's=-', 'c=IN IP4 192.0.2.9', 't=0 0', ...lines);
}

describe('LocalSdpSession: one o= line across a dialog (RFC 3264 8)', () => {
  it('keeps the session id, and the version while our SDP does not change', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const first = session.answer(BARESIP_G711_OFFER, { codecs: CODECS });
    const again = session.answer(BARESIP_G711_OFFER, { codecs: CODECS });
    expect(origin(first.answerSdp)).toEqual({ sessionId: session.sessionId, sessionVersion: 1 });
    expect(again.answerSdp).toBe(first.answerSdp);
    expect(session.sessionVersion).toBe(1);
    expect(session.sessionId).toMatch(/^\d+$/);
  });

  it('a session refresh re-INVITE (new peer version, same content) gets the same answer and version', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const first = session.answer(BARESIP_G711_OFFER, { codecs: CODECS });
    expect(session.answer(reOffer(1, 'sendrecv'), { codecs: CODECS }).answerSdp).toBe(first.answerSdp);
  });

  it('hold, re-hold and resume: a bump for each change only', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const versions: number[] = [];
    const directions: string[] = [];
    for (const [i, direction] of (['sendrecv', 'sendonly', 'sendonly', 'inactive', 'sendrecv'] as const).entries()) {
      const { answerSdp, media } = session.answer(reOffer(i, direction), { codecs: CODECS });
      expectValidAnswer(reOffer(i, direction), answerSdp);
      versions.push(origin(answerSdp).sessionVersion);
      directions.push(media.direction);
      expect(origin(answerSdp).sessionId).toBe(session.sessionId);
    }
    expect(directions).toEqual(['sendrecv', 'recvonly', 'recvonly', 'inactive', 'sendrecv']);
    expect(versions).toEqual([1, 2, 2, 3, 4]);
    expect(session.media).toMatchObject({ direction: 'sendrecv', onHold: false });
  });

  it('our offers count too: offer, identical re-offer (refresh), hold offer, resume offer', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const offer = session.offer({ codecs: ['PCMA', 'PCMU'] });
    session.acceptAnswer(peerAnswer(offer));
    const refresh = session.offer({ codecs: ['PCMA', 'PCMU'] });
    const hold = session.offer({ codecs: ['PCMA', 'PCMU'], direction: 'sendonly' });
    const held = session.acceptAnswer(peerAnswer(hold, 'recvonly'));
    const resume = session.offer({ codecs: ['PCMA', 'PCMU'] });
    expect([offer, refresh, hold, resume].map((o) => origin(o).sessionVersion)).toEqual([1, 1, 2, 3]);
    expect(refresh).toBe(offer);
    expect(held).toMatchObject({ direction: 'sendonly', onHold: false });
    expect(session.acceptAnswer(peerAnswer(resume))).toMatchObject({ direction: 'sendrecv', onHold: false });
  });

  it('answers and offers share one version sequence', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const answered = session.answer(BARESIP_G711_OFFER, { codecs: CODECS });
    const hold = session.offer({ codecs: CODECS, direction: 'inactive' });
    expect(origin(answered.answerSdp).sessionVersion).toBe(1);
    expect(origin(hold).sessionVersion).toBe(2);
    expect(origin(hold).sessionId).toBe(origin(answered.answerSdp).sessionId);
  });

  it('a re-offer after the peer\'s offer keeps its m= lines, the codec and telephone-event number in use', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const { media } = session.answer(VIDEO_PHONE_OFFER, { codecs: ['PCMA', 'PCMU'] });
    expect(media).toMatchObject({ codec: 'PCMU', telephoneEventPayloadType: 97 });
    const hold = session.offer({ codecs: ['PCMA', 'PCMU'], direction: 'sendonly' });
    // The video stream stays where it was, declined; PCMU stays first so holding does not switch codecs.
    expect(mLines(hold)).toEqual(['m=audio 40000 RTP/AVP 0 8 97', 'm=video 0 RTP/AVP 96 97']);
    expect(parse(hold).media[0].direction).toBe('sendonly');
    const held = session.acceptAnswer(peerAnswer(hold, 'recvonly'));
    expect(held).toMatchObject({ codec: 'PCMU', telephoneEventPayloadType: 97, direction: 'sendonly' });
  });

  it('a first offer of ours has one audio stream; an explicit telephone-event number wins', () => {
    const session = new LocalSdpSession('2001:db8::5', 40000);
    const offer = session.offer({ codecs: ['G722'], telephoneEventPayloadType: 120 });
    expect(mLines(offer)).toEqual(['m=audio 40000 RTP/AVP 9 120']);
    expect(parse(offer).connection).toEqual({ version: 6, ip: '2001:db8::5' });
  });

  it('acceptAnswer repeats harmlessly for a retransmitted 2xx and refuses without an offer', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    expect(() => session.acceptAnswer(peerAnswer(createFirst()))).toThrow(/no offer of ours/);
    const offer = session.offer({ codecs: CODECS });
    const answer = peerAnswer(offer);
    expect(session.acceptAnswer(answer)).toEqual(session.acceptAnswer(answer));
    // Answering the peer's offer closes our offer: a late answer to it is not taken.
    session.answer(BARESIP_G711_OFFER, { codecs: CODECS });
    expect(() => session.acceptAnswer(answer)).toThrow(/no offer of ours/);
  });

  it('session answers equal the stateless answerOffer for the same o= values', () => {
    const session = new LocalSdpSession('203.0.113.5', 40000);
    const viaSession = session.answer(BARESIP_G711_OFFER, { codecs: CODECS });
    const stateless = answerOffer(BARESIP_G711_OFFER, { address: '203.0.113.5', port: 40000, sessionId: session.sessionId, sessionVersion: 1 }, { codecs: CODECS });
    expect(viaSession).toEqual(stateless);
    expect(acceptAnswer(BARESIP_G711_OFFER, viaSession.answerSdp).codec).toBe('PCMU');
  });

  it('two sessions get different ids', () => {
    expect(new LocalSdpSession('203.0.113.5', 40000).sessionId).not.toBe(new LocalSdpSession('203.0.113.5', 40002).sessionId);
  });

  it('refuses a host name or a bad port', () => {
    expect(() => new LocalSdpSession('voxgate.example.com', 40000)).toThrow(TypeError);
    expect(() => new LocalSdpSession('203.0.113.5', 70000)).toThrow(RangeError);
  });
});

function createFirst(): string {
  return new LocalSdpSession('203.0.113.5', 40000).offer({ codecs: CODECS });
}
