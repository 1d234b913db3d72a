/**
 * The INVITE server side over real UDP: a retransmitted INVITE is absorbed (one call, one record),
 * the 200 OK is retransmitted on T1, 2*T1... until the ACK, and a CANCEL before the answer gets 200
 * while the INVITE gets 487 (RFC 3261 9.2, 13.3.1.4, 17.2.1).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipTestClient, tagOf } from '../../support/sip-test-client.js';
import { RING_MS, SLOW_NUMBER, hangUp, liveCallsFor, noLiveCalls, placeCall, recordsFor, startUasGateway, udpClient, type UasGateway } from './uas-gateway.js';

describe('UAS: INVITE retransmissions, CANCEL and the 2xx retransmitted until the ACK', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
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

  it('absorbs a retransmitted INVITE (same branch): one call, one record, the last provisional sent again', async () => {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const invite = phone.invite({ to: SLOW_NUMBER });
    const callId = invite.headers.find(([n]) => n === 'Call-ID')![1];
    phone.send(invite);
    phone.send(invite); // a retransmission racing the first copy's processing
    await phone.waitForResponse(invite, 180);
    // While ringing, each copy gets the 180 again (RFC 3261 17.2.1 Proceeding).
    phone.send(invite);
    await phone.waitForResponse(invite, 180);
    phone.send(invite);
    await phone.waitForResponse(invite, 180);
    const ok = await phone.waitForResponse(invite, 200, { timeoutMs: RING_MS + 5000 });
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    // A copy arriving after the 200 (RFC 6026 Accepted) is absorbed too, and is not answered by a second 200 from another dialog.
    phone.send(invite);
    await phone.barrier();
    expect(liveCallsFor(e2e, callId)).toHaveLength(1);
    expect(new Set(phone.responsesTo(invite, 200).map((r) => tagOf(r.message.headers.get('to'))))).toEqual(new Set([dialog.remoteTag]));
    expect(e2e.brainRequests.filter((r) => r.type === 'start')).toHaveLength(1);
    await hangUp(e2e, phone, { invite, ok, dialog });
    expect(await recordsFor(e2e, callId)).toHaveLength(1);
  });

  it('retransmits the 200 OK over UDP at T1 then 2*T1 while no ACK comes, and a late ACK still confirms the call', async () => {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const call = await placeCall(phone, { ack: false });
    await phone.waitForResponse(call.invite, 200, { timeoutMs: 3000 });
    await phone.waitForResponse(call.invite, 200, { timeoutMs: 3000 });
    const copies = phone.responsesTo(call.invite, 200);
    expect(copies).toHaveLength(3);
    const gaps = [copies[1].at - copies[0].at, copies[2].at - copies[1].at];
    // T1 = 500 ms then 2*T1 (timers fire late on a busy machine, never early).
    expect(gaps[0]).toBeGreaterThanOrEqual(480);
    expect(gaps[0]).toBeLessThan(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(980);
    expect(gaps[1]).toBeLessThan(1800);
    // Every copy is the same response: same To tag, same SDP answer.
    expect(new Set(copies.map((c) => c.raw.toString('latin1'))).size).toBe(1);
    phone.send(call.dialog.ack());
    await phone.barrier();
    await hangUp(e2e, phone, call);
  });

  it('answers a CANCEL while ringing 200 and the INVITE 487, absorbs the ACK, and ends the record as the caller', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite({ to: SLOW_NUMBER });
    const callId = invite.headers.find(([n]) => n === 'Call-ID')![1];
    const ended = e2e.nextCallEnded();
    phone.send(invite);
    const ringing = await phone.waitForResponse(invite, 180);
    const cancel = phone.cancel(invite);
    phone.send(cancel);
    const cancelOk = await phone.waitForResponse(cancel);
    expect(cancelOk.status).toBe(200);
    const terminated = await phone.waitForResponse(invite);
    expect(terminated.status).toBe(487);
    // RFC 3261 9.2: the 200 to the CANCEL and the 487 carry the same To tag, the one of the 180.
    expect(tagOf(terminated.headers.get('to'))).toBe(tagOf(ringing.headers.get('to')));
    expect(tagOf(cancelOk.headers.get('to'))).toBe(tagOf(terminated.headers.get('to')));
    phone.send(phone.ackFailure(invite, terminated));
    await phone.barrier();
    expect(phone.responsesTo(invite, 200)).toEqual([]);
    expect(await ended).toMatchObject({ side: 'caller' });
    const [record, ...more] = await recordsFor(e2e, callId);
    expect(more).toEqual([]);
    if (record) expect(record).toMatchObject({ hangupSide: 'caller', hangupCause: expect.stringMatching(/cancel/i) });
  });

  it('records a call cancelled while ringing as never answered, and ends it at once rather than when the bot would have answered', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite({ to: SLOW_NUMBER });
    const callId = invite.headers.find(([n]) => n === 'Call-ID')![1];
    phone.send(invite);
    await phone.waitForResponse(invite, 180);
    const cancelledAt = Date.now();
    const ended = e2e.nextCallEnded();
    phone.send(phone.cancel(invite));
    const terminated = await phone.waitForResponse(invite, 487);
    phone.send(phone.ackFailure(invite, terminated));
    await ended;
    const endedAfterMs = Date.now() - cancelledAt;
    expect(await recordsFor(e2e, callId)).toEqual([expect.objectContaining({ hangupSide: 'caller', answeredAt: null })]);
    expect(endedAfterMs).toBeLessThan(RING_MS / 2);
  });

  it('answers a CANCEL that crosses the 200 OK with 200, and the call goes on', async () => {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const call = await placeCall(phone);
    const cancel = phone.cancel(call.invite);
    phone.send(cancel);
    expect((await phone.waitForResponse(cancel)).status).toBe(200);
    const options = call.dialog.request('OPTIONS');
    phone.send(options);
    expect((await phone.waitForResponse(options)).status).toBe(200);
    expect(phone.responsesTo(call.invite, 487)).toEqual([]);
    await hangUp(e2e, phone, call);
  });

  it('answers a CANCEL matching no INVITE 481', async () => {
    phone = await udpClient(e2e);
    const cancel = phone.cancel(phone.invite());
    phone.send(cancel);
    expect((await phone.waitForResponse(cancel)).status).toBe(481);
  });
});
