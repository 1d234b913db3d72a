/**
 * Session timers (RFC 4028) as a peer negotiates them over the wire: the 200 OK says the interval and
 * who refreshes, with Require: timer when the peer supports it, and a refresh re-INVITE or UPDATE is
 * answered the same way. (What happens when nobody refreshes is on a fake clock in sip-call.*.test.ts.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipTestClient, sdpOffer } from '../../support/sip-test-client.js';
import { hangUp, noLiveCalls, placeCall, startUasGateway, udpClient, type UasGateway } from './uas-gateway.js';

describe('UAS: session timer negotiation', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway({ sessionExpiresSec: 600 });
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
    await noLiveCalls(e2e);
  });

  it('answers Supported: timer with Session-Expires: 90 by a 200 naming the caller refresher, with Require: timer', async () => {
    phone = await udpClient(e2e);
    const call = await placeCall(phone, { headers: [['Supported', 'timer'], ['Session-Expires', '90']] });
    expect(call.ok.headers.get('session-expires')).toBe('90;refresher=uac');
    expect(call.ok.headers.getAll('require')).toContain('timer');
    expect(call.ok.headers.getAll('supported')).toContain('timer');

    const refresh = call.dialog.request('INVITE', { body: sdpOffer({ version: 2 }), headers: [['Supported', 'timer'], ['Session-Expires', '90;refresher=uac']] });
    phone.send(refresh);
    const ok = await phone.waitForResponse(refresh, 200);
    phone.send(call.dialog.ackFor(refresh));
    expect(ok.headers.get('session-expires')).toBe('90;refresher=uac');

    const update = call.dialog.request('UPDATE', { headers: [['Supported', 'timer'], ['Session-Expires', '120;refresher=uac']] });
    phone.send(update);
    expect((await phone.waitForResponse(update)).headers.get('session-expires')).toBe('120;refresher=uac');
    await hangUp(e2e, phone, call);
  });

  it('takes the refresher role when the caller asks for it (refresher=uas)', async () => {
    phone = await udpClient(e2e);
    const call = await placeCall(phone, { headers: [['Supported', 'timer'], ['Session-Expires', '1800;refresher=uas']] });
    expect(call.ok.headers.get('session-expires')).toBe('1800;refresher=uas');
    await hangUp(e2e, phone, call);
  });

  it('proposes its configured interval to a caller that supports timers without asking for one', async () => {
    phone = await udpClient(e2e);
    const call = await placeCall(phone, { headers: [['Supported', 'timer, 100rel']] });
    expect(call.ok.headers.get('session-expires')).toBe('600;refresher=uac');
    await hangUp(e2e, phone, call);
  });

  it('takes the compact form x for Session-Expires', async () => {
    phone = await udpClient(e2e);
    const call = await placeCall(phone, { headers: [['k', 'timer'], ['x', '300']] });
    expect(call.ok.headers.get('session-expires')).toBe('300;refresher=uac');
    await hangUp(e2e, phone, call);
  });
});
