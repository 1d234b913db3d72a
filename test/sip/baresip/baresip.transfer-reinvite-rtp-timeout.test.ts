/**
 * What a baresip 1.0.0 phone does mid-call, as the far end of Voxgate's SIP leg will see it: it
 * follows a REFER (blind transfer) and reports the outcome in NOTIFYs, answers re-INVITEs (hold and
 * resume), and with rtp_timeout set ends a call whose RTP stopped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Baresip, BARESIP_AVAILABLE } from '../../support/baresip.js';

describe.skipIf(!BARESIP_AVAILABLE)(`a baresip phone mid-call${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  afterEach(async () => {
    await Baresip.stopAll();
  });

  it('follows a blind transfer: on REFER it dials the Refer-To target and NOTIFYs 200; the referrer ends the first call', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true, sipTrace: true });
    const b = await Baresip.start({ name: 'bob', sipTrace: true });
    const c = await Baresip.start({ name: 'carol', autoAnswer: true });
    await b.dial(a.uri);
    const first = await b.waitForEvent('CALL_ESTABLISHED');
    await a.waitForEvent('CALL_ESTABLISHED');

    // A (the transferor, Voxgate's role) sends REFER; B is the transferee.
    await a.transfer(c.uri);
    expect(await b.waitForEvent('TRANSFER')).toMatchObject({ id: first.id, param: c.uri });
    const second = await b.waitForEvent('CALL_ESTABLISHED');
    expect(second).toMatchObject({ direction: 'outgoing', peeruri: c.uri });
    expect(second.id).not.toBe(first.id);
    expect(await c.waitForEvent('CALL_ESTABLISHED')).toMatchObject({ peeruri: 'sip:bob@127.0.0.1' });

    // baresip as transferor hangs up on the NOTIFY with "SIP/2.0 200 OK"; the transferee waits for that BYE.
    expect(await a.waitForEvent('CALL_CLOSED')).toMatchObject({ id: first.id, param: 'Call transfered' });
    expect(await b.waitForEvent('CALL_CLOSED')).toMatchObject({ id: first.id, param: 'Connection reset by peer' });
    expect(b.events.filter((e) => e.type === 'CALL_CLOSED')).toHaveLength(1);

    // On the wire: 202 Accepted, NOTIFY "SIP/2.0 100 Trying" (subscription active), then once the target
    // answered NOTIFY "SIP/2.0 200 OK" with Subscription-State terminated; the sipfrag ends in LF only.
    expect(b.log).toMatch(/SIP\/2\.0 202 Accepted/);
    const notifies = b.log.split('\n#\n').filter((m) => /^\S+ \S+ -> \S+\nNOTIFY /.test(m));
    expect(notifies).toHaveLength(2);
    // Found by content, not by log order: under load baresip's trace lines can come out in another order.
    const trying = notifies.find((m) => /\r\n\r\nSIP\/2\.0 100 Trying\n/.test(m)) ?? '';
    const done = notifies.find((m) => /\r\n\r\nSIP\/2\.0 200 OK\n/.test(m)) ?? '';
    expect(trying).toMatch(/Event: refer;id=\d+/);
    expect(trying).toMatch(/Subscription-State: active;expires=\d+/); // 60 as sent; a retransmission counts down
    expect(trying).toMatch(/Content-Type: message\/sipfrag/);
    expect(done).toMatch(/Subscription-State: terminated;reason=noresource/);
    // The new INVITE carries no Referred-By or Replaces: just a fresh call from the transferee's AOR.
    const inviteToC = b.log.split('\n#\n').find((m) => /\nINVITE sip:carol@/.test(m)) ?? '';
    expect(inviteToC).toMatch(/From: <sip:bob@127\.0\.0\.1>;tag=/);
    expect(inviteToC).not.toMatch(/Referred-By|Replaces/i);
  });

  it('reports a failed transfer target in the final NOTIFY ("SIP/2.0 486 Rejected") and keeps the first call up', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true });
    const b = await Baresip.start({ name: 'bob' });
    const c = await Baresip.start({ name: 'carol', rejectWith: 486 });
    await b.dial(a.uri);
    const first = await b.waitForEvent('CALL_ESTABLISHED');

    await a.transfer(c.uri);
    await b.waitForEvent('TRANSFER');
    expect(await b.waitForEvent('CALL_CLOSED')).toMatchObject({ param: '486 Rejected', peeruri: c.uri });
    // The transferor learns it from the sipfrag; baresip as transferor then hangs up by itself.
    expect(await a.waitForEvent('TRANSFER_FAILED')).toMatchObject({ id: first.id, param: '486 Rejected' });
    expect(await b.waitForEvent('CALL_CLOSED')).toMatchObject({ id: first.id, param: 'Connection reset by peer' });
  });

  it('answers re-INVITEs: hold (sendonly -> recvonly) and resume keep the call', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true, sipTrace: true });
    const b = await Baresip.start({ name: 'bob' });
    await b.dial(a.uri);
    await Promise.all([a.waitForEvent('CALL_ESTABLISHED'), b.waitForEvent('CALL_ESTABLISHED')]);
    await a.waitForEvent('CALL_REMOTE_SDP'); // the initial offer
    await b.waitForEvent('CALL_REMOTE_SDP'); // the initial answer

    await b.command('hold');
    expect((await a.waitForEvent('CALL_REMOTE_SDP')).param).toBe('offer');
    expect((await b.waitForEvent('CALL_REMOTE_SDP')).param).toBe('answer');
    await b.command('resume');
    expect((await a.waitForEvent('CALL_REMOTE_SDP')).param).toBe('offer');
    expect((await b.waitForEvent('CALL_REMOTE_SDP')).param).toBe('answer');

    const answers = a.log.split('\n#\n').filter((m) => /\nSIP\/2\.0 200 OK\r\n[\s\S]*CSeq: \d+ INVITE/.test(m));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/a=recvonly/);
    expect(answers[1]).toMatch(/a=sendrecv/);
    // The first INVITE's 200 says "Answering", not "OK".
    expect(a.log).toMatch(/SIP\/2\.0 200 Answering/);
    expect(a.events.map((e) => e.type)).not.toContain('CALL_CLOSED');
    expect(b.events.map((e) => e.type)).not.toContain('CALL_CLOSED');
  });

  it('with rtp_timeout (off by default) it sends BYE once the far end stops sending RTP', async () => {
    const a = await Baresip.start({ name: 'alice', autoAnswer: true, rtpTimeoutSec: 2 });
    const b = await Baresip.start({ name: 'bob' });
    await b.dial(a.uri);
    await Promise.all([a.waitForEvent('CALL_ESTABLISHED'), b.waitForEvent('CALL_ESTABLISHED')]);
    await a.waitForEvent('CALL_RTPESTAB');
    await b.waitForEvent('CALL_RTPESTAB');

    const frozenAt = Date.now();
    b.freeze();
    const closed = await a.waitForEvent('CALL_CLOSED', 8000);
    const silentFor = Date.now() - frozenAt;
    expect(closed.param).toBe('rtp stream error');
    // Checked once a second: between 2 and 3 s of silence, plus scheduling slack on a busy machine. The
    // silence counts from bob's last packet, which left up to a few packet times before the freeze took hold.
    expect(silentFor).toBeGreaterThanOrEqual(1900);
    expect(silentFor).toBeLessThan(5000);
    // B, frozen, answers nothing; it gets A's BYE (retransmitted over UDP) once it runs again.
    b.thaw();
    expect((await b.waitForEvent('CALL_CLOSED')).param).toBe('Connection reset by peer');
  });
});
