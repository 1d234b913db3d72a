/**
 * A SIP call whose peer stops sending RTP is ended by the RTP inactivity timeout, and the record says
 * so: reason media-timeout with the timeout in the cause, a BYE to the peer, nothing left live. (The
 * registry's own reaper leaves SIP calls to these timers.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SipTestClient } from '../../support/sip-test-client.js';
import { noLiveCalls, placeCall, recordsFor, startUasGateway, udpClient, type UasGateway } from './uas-gateway.js';

describe('UAS: a peer that sends no RTP', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway({ rtp: { timeoutSec: 0.5 } });
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
  });

  it('is hung up with a BYE and recorded as media-timeout, not as a carrier hangup', async () => {
    phone = await udpClient(e2e);
    const ended = e2e.nextCallEnded();
    const call = await placeCall(phone);
    const bye = await phone.waitForRequest('BYE', { callId: call.dialog.callId, timeoutMs: 10_000 });
    expect(bye.message.headers.get('reason')).toMatch(/No RTP received/);
    expect(await ended).toMatchObject({ reason: 'media-timeout', side: 'gateway', cause: expect.stringMatching(/^No RTP received for \d+ s \(media timeout\)$/) });
    const [record] = await recordsFor(e2e, call.dialog.callId);
    expect(record).toMatchObject({ endReason: 'media-timeout' });
    await noLiveCalls(e2e);
    expect(e2e.gateway.calls.reaper.size).toBe(0);
  });
});
