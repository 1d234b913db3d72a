/**
 * What the peer may send inside an answered call and what it gets back: CSeq checks (500 for an
 * out-of-order request), re-INVITE for hold (sendonly -> recvonly, o= version bumped) and without SDP
 * (our offer in the 200, the answer in the ACK), UPDATE, INFO DTMF reaching the bot, in-dialog OPTIONS,
 * a refused REFER, and the 200 to a re-INVITE retransmitted until its ACK.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { SipTestClient, sdpOffer } from '../../support/sip-test-client.js';
import { hangUp, noLiveCalls, placeCall, recordsFor, startUasGateway, udpClient, type PlacedCall, type UasGateway } from './uas-gateway.js';

function sdpOf(body: Buffer): ReturnType<typeof parse> {
  return parse(body.toString('utf8'));
}

describe('UAS: in-dialog requests', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  let call: PlacedCall;
  beforeAll(async () => {
    e2e = await startUasGateway();
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
    await noLiveCalls(e2e);
  });

  async function answeredCall(): Promise<PlacedCall> {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    call = await placeCall(phone);
    return call;
  }

  async function stillUp(): Promise<void> {
    const options = call.dialog.request('OPTIONS');
    phone.send(options);
    expect((await phone.waitForResponse(options)).status).toBe(200);
    expect(e2e.gateway.calls.list().some((c) => c.info.carrierCallId === call.dialog.callId)).toBe(true);
  }

  it('answers an in-dialog request whose CSeq is lower than the last one 500, and goes on', async () => {
    await answeredCall();
    const ahead = call.dialog.request('INFO', { cseq: 10, body: 'hello', contentType: 'text/plain' });
    phone.send(ahead);
    expect((await phone.waitForResponse(ahead)).status).toBe(200);
    const late = call.dialog.request('INFO', { cseq: 5, body: 'late', contentType: 'text/plain' });
    phone.send(late);
    const refused = await phone.waitForResponse(late);
    expect(refused.status).toBe(500);
    expect(refused.headers.has('retry-after')).toBe(true);
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it('answers a re-INVITE putting it on hold (sendonly) with recvonly and a bumped o= version, and the call goes on', async () => {
    await answeredCall();
    const first = sdpOf(call.ok.body);
    const hold = call.dialog.request('INVITE', { body: sdpOffer({ direction: 'sendonly', version: 2 }) });
    phone.send(hold);
    const ok = await phone.waitForResponse(hold, 200);
    const answer = sdpOf(ok.body);
    expect(answer.media[0].direction).toBe('recvonly');
    expect(answer.origin!.sessionId).toBe(first.origin!.sessionId);
    expect(Number(answer.origin!.sessionVersion)).toBe(Number(first.origin!.sessionVersion) + 1);
    expect(answer.media[0].payloads).toBe(first.media[0].payloads);
    phone.send(call.dialog.ackFor(hold));
    const resume = call.dialog.request('INVITE', { body: sdpOffer({ direction: 'sendrecv', version: 3 }) });
    phone.send(resume);
    const resumed = sdpOf((await phone.waitForResponse(resume, 200)).body);
    phone.send(call.dialog.ackFor(resume));
    expect(resumed.media[0].direction).toBe('sendrecv');
    expect(Number(resumed.origin!.sessionVersion)).toBe(Number(first.origin!.sessionVersion) + 2);
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it('answers a re-INVITE without SDP with its own offer in the 200, takes the answer in the ACK, and the call goes on', async () => {
    await answeredCall();
    const reInvite = call.dialog.request('INVITE');
    phone.send(reInvite);
    const ok = await phone.waitForResponse(reInvite, 200);
    expect(ok.headers.get('content-type')).toBe('application/sdp');
    const offer = sdpOf(ok.body);
    expect(offer.media).toHaveLength(1);
    expect(offer.media[0].rtp.map((r) => r.codec)).toContain('PCMU');
    phone.send(call.dialog.ackFor(reInvite, { body: sdpOffer({ formats: [[0, 'PCMU/8000'], [101, 'telephone-event/8000']], version: 2 }) }));
    await stillUp();
    // The 200 was acknowledged: no retransmission of it comes after the ACK was taken.
    expect(phone.responsesTo(reInvite, 200).length).toBeLessThanOrEqual(2);
    await hangUp(e2e, phone, call);
  });

  it('retransmits the 200 to a re-INVITE until its ACK, and answers a second re-INVITE meanwhile 491', async () => {
    await answeredCall();
    const hold = call.dialog.request('INVITE', { body: sdpOffer({ direction: 'sendonly', version: 2 }) });
    phone.send(hold);
    await phone.waitForResponse(hold, 200);
    const glare = call.dialog.request('INVITE', { body: sdpOffer({ version: 3 }) });
    phone.send(glare);
    expect((await phone.waitForResponse(glare)).status).toBe(491);
    await phone.waitForResponse(hold, 200, { timeoutMs: 2000 });
    phone.send(call.dialog.ackFor(hold));
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it('refuses a re-INVITE with no codec in common 488 and keeps the call as it was', async () => {
    await answeredCall();
    const reInvite = call.dialog.request('INVITE', { body: sdpOffer({ formats: [[96, 'opus/48000/2']], version: 2 }) });
    phone.send(reInvite);
    const refused = await phone.waitForResponse(reInvite);
    expect(refused.status).toBe(488);
    phone.send(phone.ackFailure(reInvite, refused));
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it('answers an UPDATE with SDP with its answer, and one without SDP with a bare 200', async () => {
    await answeredCall();
    const update = call.dialog.request('UPDATE', { body: sdpOffer({ direction: 'inactive', version: 2 }) });
    phone.send(update);
    const ok = await phone.waitForResponse(update);
    expect(ok.status).toBe(200);
    expect(sdpOf(ok.body).media[0].direction).toBe('inactive');
    const bare = call.dialog.request('UPDATE');
    phone.send(bare);
    const bareOk = await phone.waitForResponse(bare);
    expect(bareOk.status).toBe(200);
    expect(bareOk.body.length).toBe(0);
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it.each([
    ['application/dtmf-relay', 'Signal=2\r\nDuration=160\r\n'],
    ['application/dtmf', '2'],
  ])('answers an INFO with %s 200 and the key reaches the bot, which takes its branch and hangs up', async (contentType, body) => {
    await answeredCall();
    const ended = e2e.nextCallEnded();
    const info = call.dialog.request('INFO', { body, contentType });
    phone.send(info);
    expect((await phone.waitForResponse(info)).status).toBe(200);
    const bye = await phone.waitForRequest('BYE', { callId: call.dialog.callId, timeoutMs: 15_000 });
    expect(bye.message.headers.get('reason')).toMatch(/^SIP;cause=200/);
    expect(await ended).toMatchObject({ side: 'gateway', reason: 'bot-hangup' });
    const [record] = await recordsFor(e2e, call.dialog.callId);
    expect((await e2e.gateway.store.dtmf.listForCall(record.id)).map((d) => d.digit)).toEqual(['2']);
    expect((await e2e.gateway.store.prompts.listForCall(record.id)).map((p) => p.text)).toContain('Done.'); // the branch of key 2
  });

  it('answers an INFO it cannot read as DTMF 200 without passing anything to the bot', async () => {
    await answeredCall();
    const info = call.dialog.request('INFO', { body: 'Signal=\r\n', contentType: 'application/dtmf-relay' });
    phone.send(info);
    expect((await phone.waitForResponse(info)).status).toBe(200);
    await stillUp();
    const ended = e2e.nextCallEnded();
    const bye = call.dialog.request('BYE');
    phone.send(bye);
    await phone.waitForResponse(bye);
    const end = await ended;
    expect(end.side).toBe('caller');
    const [record] = await recordsFor(e2e, call.dialog.callId);
    expect(await e2e.gateway.store.dtmf.listForCall(record.id)).toEqual([]);
  });

  it('declines a REFER from the peer 603 and answers an unknown in-dialog method 405, and the call goes on', async () => {
    await answeredCall();
    const refer = call.dialog.request('REFER', { headers: [['Refer-To', '<sip:bob@192.0.2.1>']] });
    phone.send(refer);
    expect((await phone.waitForResponse(refer)).status).toBe(603);
    const message = call.dialog.request('MESSAGE', { body: 'hi', contentType: 'text/plain' });
    phone.send(message);
    const refused = await phone.waitForResponse(message);
    expect(refused.status).toBe(405);
    expect(refused.headers.getAll('allow')).toContain('INVITE');
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it('answers an in-dialog request requiring an unknown extension 420, and the call goes on', async () => {
    await answeredCall();
    const info = call.dialog.request('INFO', { body: 'x', contentType: 'text/plain', headers: [['Require', 'foo']] });
    phone.send(info);
    const refused = await phone.waitForResponse(info);
    expect(refused.status).toBe(420);
    expect(refused.headers.getAll('unsupported')).toEqual(['foo']);
    await stillUp();
    await hangUp(e2e, phone, call);
  });

  it('follows a target refresh: after a re-INVITE with a new Contact, the bot’s BYE goes there', async () => {
    await answeredCall();
    const moved = await udpClient(e2e, { user: 'moved' });
    try {
      const reInvite = call.dialog.request('INVITE', { body: sdpOffer({ version: 2 }) });
      const contact = reInvite.headers.findIndex(([n]) => n === 'Contact');
      reInvite.headers[contact] = ['Contact', `<${moved.contactUri()}>`];
      phone.send(reInvite);
      await phone.waitForResponse(reInvite, 200);
      phone.send(call.dialog.ackFor(reInvite));
      const ended = e2e.nextCallEnded();
      const info = call.dialog.request('INFO', { body: 'Signal=2\r\n', contentType: 'application/dtmf-relay' });
      phone.send(info);
      await phone.waitForResponse(info);
      const bye = await moved.waitForRequest('BYE', { timeoutMs: 15_000 });
      expect(bye.message.uri).toBe(moved.contactUri());
      moved.respond(bye, 200);
      await ended;
    } finally {
      await moved.close();
    }
  });

  it('answers a retransmitted BYE with the same 200 and ends the call once', async () => {
    await answeredCall();
    const ended = e2e.nextCallEnded();
    const bye = call.dialog.request('BYE');
    phone.send(bye);
    await phone.waitForResponse(bye, 200);
    phone.send(bye);
    await phone.waitForResponse(bye, 200);
    expect(await ended).toMatchObject({ side: 'caller' });
    const after = call.dialog.request('BYE');
    phone.send(after);
    expect((await phone.waitForResponse(after)).status).toBe(481);
    expect(await recordsFor(e2e, call.dialog.callId)).toEqual([expect.objectContaining({ hangupSide: 'caller' })]);
  });
});
