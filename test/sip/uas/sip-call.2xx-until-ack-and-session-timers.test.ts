/**
 * SipCall's timers on a fake clock: the 200 OK retransmitted at T1, 2*T1... capped at T2 over UDP and
 * not at all over TCP, the BYE after 64*T1 when no ACK ever comes (RFC 3261 13.3.1.4), session timers
 * (RFC 4028): the 200 says who refreshes, a session the peer stops refreshing is ended by BYE, one we
 * refresh gets UPDATE (or re-INVITE) at half the interval; and the SDP answer carried by an ACK.
 */
import { describe, expect, it } from 'vitest';
import { CallHarness, ANSWER_SDP } from './sip-call-harness.js';
import { sdpOffer } from '../../support/sip-test-client.js';

describe('SipCall: the 200 OK until the ACK', () => {
  it('retransmits the 200 over UDP at 0.5, 1.5, 3.5, 7.5 s then every 4 s, and sends a BYE (408) at 32 s when no ACK comes', async () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    h.clock.advance(31_999);
    expect(h.sentResponses(200, 'INVITE', 1).map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    expect(h.requests('BYE')).toEqual([]);
    h.clock.advance(1);
    const [bye] = h.requests('BYE');
    expect(bye.at).toBe(32_000);
    expect(bye.message.headers.get('reason')).toMatch(/^SIP;cause=408;text="No ACK/);
    expect(bye.destination).toMatchObject({ address: '198.51.100.7', port: 5062, transport: 'udp' });
    h.clock.advance(10_000);
    expect(h.sentResponses(200, 'INVITE', 1)).toHaveLength(11); // none after the BYE
    h.respondTo(bye, 200);
    await Promise.resolve();
    expect(h.ended).toEqual([expect.objectContaining({ side: 'gateway', status: 408 })]);
    expect(h.confirmed).toBe(false);
    expect(h.ua.dialogCount).toBe(0);
  });

  it('stops retransmitting at the ACK and the call is confirmed', () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    h.clock.advance(1600);
    h.ack();
    expect(h.confirmed).toBe(true);
    h.clock.advance(60_000);
    expect(h.sentResponses(200, 'INVITE', 1).map((s) => s.at)).toEqual([0, 500, 1500]);
    expect(h.requests('BYE')).toEqual([]);
    expect(h.ended).toEqual([]);
  });

  it('holds a hangup decided before the ACK until the ACK arrives, then sends the BYE (RFC 3261 15)', async () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    h.clock.advance(600);
    const hungUp = h.call.hangup('bot hung up');
    await Promise.resolve();
    expect(h.requests('BYE')).toEqual([]);
    h.clock.advance(400);
    h.ack();
    await Promise.resolve();
    const [bye] = h.requests('BYE');
    expect(bye.at).toBe(1000);
    expect(bye.message.headers.get('reason')).toMatch(/bot hung up/);
    h.respondTo(bye, 200);
    await hungUp;
    expect(h.ended).toEqual([expect.objectContaining({ side: 'gateway', cause: 'bot hung up' })]);
  });

  it('sends one BYE, the missing-ACK one, when a hangup waits for an ACK that never comes', async () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    const hungUp = h.call.hangup('bot hung up');
    h.clock.advance(32_000);
    await Promise.resolve();
    expect(h.requests('BYE').map((b) => b.at)).toEqual([32_000]);
    h.respondTo(h.requests('BYE')[0], 200);
    await hungUp;
    expect(h.ended).toEqual([expect.objectContaining({ status: 408 })]);
  });

  it('does not retransmit the 200 over TCP, and still sends the BYE at 32 s without an ACK', () => {
    const h = new CallHarness({ transport: 'tcp' });
    h.offerAndAnswer();
    h.clock.advance(31_999);
    expect(h.sentResponses(200, 'INVITE', 1)).toHaveLength(1);
    h.clock.advance(1);
    expect(h.requests('BYE')).toHaveLength(1);
    expect(h.requests('BYE')[0].destination).toMatchObject({ transport: 'tcp', connectionId: 1 });
  });

  it('ends the call as soon as the BYE after the missing ACK leaves, and keeps retransmitting that BYE to a silent peer (Timer E)', async () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    h.clock.advance(32_000);
    await Promise.resolve();
    // A peer that vanished must not hold the call (and its record) open for Timer F's 32 s.
    expect(h.ended).toEqual([expect.objectContaining({ status: 408 })]);
    h.clock.advance(32_000);
    expect(h.requests('BYE').length).toBeGreaterThan(5); // retransmitted over UDP meanwhile
  });
});

describe('SipCall: session timers (RFC 4028)', () => {
  it('names the peer as refresher when it supports timers, with Require: timer, and ends a session it stops refreshing with a BYE before it expires', () => {
    const h = new CallHarness({ inviteHeaders: [['Supported', 'timer'], ['Session-Expires', '90']] });
    const ok = h.offerAndAnswer();
    expect(ok.headers.get('session-expires')).toBe('90;refresher=uac');
    expect(ok.headers.getAll('require')).toContain('timer');
    h.ack();
    h.clock.advance(59_999); // 90 s less min(32, 90/3) = 60 s
    expect(h.requests('BYE')).toEqual([]);
    h.clock.advance(1);
    const [bye] = h.requests('BYE');
    expect(bye.message.headers.get('reason')).toMatch(/Session timer expired/);
    // The call record says why: the session timer, not the peer, ended it.
    expect(h.ended).toEqual([expect.objectContaining({ cause: 'Session timer expired', side: 'gateway', reason: 'session-timeout' })]);
  });

  it('restarts the interval when the peer refreshes with a re-INVITE or an UPDATE', () => {
    const h = new CallHarness({ inviteHeaders: [['Supported', 'timer'], ['Session-Expires', '90']] });
    h.offerAndAnswer();
    h.ack();
    h.clock.advance(45_000);
    const reInvite = h.inDialog('INVITE', [['Supported', 'timer'], ['Session-Expires', '90;refresher=uac']], sdpOffer({ address: '198.51.100.7', version: 2 }));
    const [refreshed] = h.sentResponses(200, 'INVITE', 2);
    expect(refreshed.message.headers.get('session-expires')).toBe('90;refresher=uac');
    h.ack(Number(reInvite.headers.get('cseq')!.split(' ')[0]));
    h.clock.advance(59_999); // 60 s after the refresh
    expect(h.requests('BYE')).toEqual([]);
    h.inDialog('UPDATE', [['Supported', 'timer'], ['Session-Expires', '90;refresher=uac']]);
    expect(h.sentResponses(200, 'UPDATE')).toHaveLength(1);
    h.clock.advance(59_999);
    expect(h.requests('BYE')).toEqual([]);
    h.clock.advance(1);
    expect(h.requests('BYE')).toHaveLength(1);
  });

  it('refreshes the session itself with an UPDATE at half the interval when the peer asks it to (refresher=uas)', () => {
    const h = new CallHarness({ inviteHeaders: [['Supported', 'timer'], ['Session-Expires', '120;refresher=uas'], ['Allow', 'INVITE, ACK, BYE, CANCEL, UPDATE']] });
    const ok = h.offerAndAnswer();
    expect(ok.headers.get('session-expires')).toBe('120;refresher=uas');
    h.ack();
    h.clock.advance(59_999);
    expect(h.requests('UPDATE')).toEqual([]);
    h.clock.advance(1);
    const [update] = h.requests('UPDATE');
    // We send this refresh, so we are its UAC: refresher=uac names us (RFC 4028 7.4).
    expect(update.message.headers.get('session-expires')).toBe('120;refresher=uac');
    expect(update.message.headers.get('to')).toContain(`tag=${h.fromTag}`);
    h.respondTo(update, 200, [['Session-Expires', '120;refresher=uac']]);
    h.clock.advance(60_000);
    expect(h.requests('UPDATE')).toHaveLength(2);
    expect(h.requests('BYE')).toEqual([]);
  });

  it('refreshes with a re-INVITE carrying its SDP, and ACKs the 200, when the peer does not allow UPDATE', () => {
    const h = new CallHarness({ inviteHeaders: [['Supported', 'timer'], ['Session-Expires', '90;refresher=uas'], ['Allow', 'INVITE, ACK, BYE, CANCEL']] });
    h.offerAndAnswer();
    h.ack();
    h.clock.advance(45_000);
    const [reInvite] = h.requests('INVITE');
    expect(reInvite.message.body.toString()).toBe(ANSWER_SDP);
    h.respondTo(reInvite, 200, [['Contact', '<sip:alice@198.51.100.7:5062>'], ['Content-Type', 'application/sdp']], sdpOffer({ address: '198.51.100.7', version: 2 }));
    const [ack] = h.requests('ACK');
    expect(ack.message.headers.get('cseq')).toBe(`${reInvite.message.headers.get('cseq')!.split(' ')[0]} ACK`);
  });

  it('refreshes the session itself when the peer sends Session-Expires without supporting timers', () => {
    const h = new CallHarness({ inviteHeaders: [['Session-Expires', '90'], ['Allow', 'INVITE, ACK, BYE, UPDATE']] });
    const ok = h.offerAndAnswer();
    expect(ok.headers.get('session-expires')).toBe('90;refresher=uas');
    expect(ok.headers.getAll('require')).not.toContain('timer');
    h.ack();
    h.clock.advance(45_000);
    expect(h.requests('UPDATE')).toHaveLength(1);
  });

  it('asks for its own interval when the peer supports timers but names none', () => {
    const h = new CallHarness({ inviteHeaders: [['Supported', 'timer']], sessionExpiresSec: 600 });
    expect(h.offerAndAnswer().headers.get('session-expires')).toBe('600;refresher=uac');
  });

  it('has no session timer when the peer neither supports nor asks for one', () => {
    const h = new CallHarness();
    const ok = h.offerAndAnswer();
    h.ack();
    expect(ok.headers.has('session-expires')).toBe(false);
    h.clock.advance(4 * 3600_000);
    expect(h.network.sent.filter((s) => s.message.kind === 'request')).toEqual([]);
  });
});

describe('SipCall: offer in our 200, answer in the ACK', () => {
  it('gives the SDP of the ACK to the media side as the answer to its offer, not as a new offer', () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    h.ack();
    expect(h.offers).toHaveLength(0);
    const reInvite = h.inDialog('INVITE');
    const [ok] = h.sentResponses(200, 'INVITE', 2);
    expect(ok.message.body.toString()).toBe(ANSWER_SDP); // our offer
    const answer = sdpOffer({ address: '198.51.100.7', version: 2, formats: [[0, 'PCMU/8000']] });
    h.ack(Number(reInvite.headers.get('cseq')!.split(' ')[0]), answer);
    expect(h.answers).toEqual([answer]);
    expect(h.offers).toEqual([]);
  });
});
