/**
 * The route set (RFC 3261 12.1.1, 12.2.1.1, 16.12): Voxgate copies the INVITE's Record-Route into its
 * 18x and 2xx, and its own in-dialog requests (the BYE when the bot hangs up) carry that route set as
 * Route headers and go to the first route, so they follow the proxies and SBCs the INVITE came through.
 * A strict router (no `lr`) becomes the Request-URI with the remote target as the last Route.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipTestClient, branchOf, cseqOf, tagOf, type ReceivedRequest } from '../../support/sip-test-client.js';
import { noLiveCalls, startUasGateway, udpClient, type UasGateway } from './uas-gateway.js';

const DTMF_2 = 'Signal=2\r\nDuration=160\r\n';

describe('UAS: Record-Route copied, our BYE follows the route set', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  let proxy: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway();
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
    await proxy?.close();
    await noLiveCalls(e2e);
  });

  /** A call through `recordRoute`, up to the gateway's BYE when the bot hangs up after the key 2 (sent by INFO). */
  async function callUntilOurBye(recordRoute: string[], byeArrivesAt: () => SipTestClient): Promise<{ bye: ReceivedRequest; contact: string; localTag: string; remoteTag: string; callId: string }> {
    const invite = phone.invite({ headers: recordRoute.map((r): [string, string] => ['Record-Route', r]) });
    phone.send(invite);
    const ringing = await phone.waitForResponse(invite, 180);
    const ok = await phone.waitForResponse(invite, 200);
    const expected = recordRoute.flatMap((line) => line.split(/,\s*(?=<)/));
    expect(ringing.headers.getAll('record-route')).toEqual(expected);
    expect(ok.headers.getAll('record-route')).toEqual(expected);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    const ended = e2e.nextCallEnded();
    const info = dialog.request('INFO', { body: DTMF_2, contentType: 'application/dtmf-relay' });
    phone.send(info);
    expect((await phone.waitForResponse(info)).status).toBe(200);
    const bye = await byeArrivesAt().waitForRequest('BYE', { callId: dialog.callId, timeoutMs: 15_000 });
    byeArrivesAt().respond(bye, 200);
    expect(await ended).toMatchObject({ side: 'gateway', reason: 'bot-hangup' });
    return { bye, contact: phone.contactUri(), localTag: dialog.localTag, remoteTag: dialog.remoteTag, callId: dialog.callId };
  }

  it('sends its BYE to the first Record-Route entry with the route set as Route headers, in order (loose routing)', async () => {
    phone = await udpClient(e2e);
    proxy = await udpClient(e2e, { user: 'proxy' });
    const recordRoute = [`<sip:127.0.0.1:${proxy.local.port};lr>`, '<sip:edge.example.net;lr;transport=udp>, <sip:192.0.2.10:5080;lr>'];
    const { bye, contact, localTag, remoteTag, callId } = await callUntilOurBye(recordRoute, () => proxy);
    const request = bye.message;
    expect(request.uri).toBe(contact); // the remote target: the INVITE's Contact
    expect(request.headers.getAll('route')).toEqual([`<sip:127.0.0.1:${proxy.local.port};lr>`, '<sip:edge.example.net;lr;transport=udp>', '<sip:192.0.2.10:5080;lr>']);
    expect(tagOf(request.headers.get('from'))).toBe(remoteTag);
    expect(tagOf(request.headers.get('to'))).toBe(localTag);
    expect(request.headers.get('call-id')).toBe(callId);
    expect(cseqOf(request).method).toBe('BYE');
    expect(branchOf(request)).toMatch(/^z9hG4bK/);
    expect(request.headers.get('max-forwards')).toBe('70');
    expect(request.headers.has('contact')).toBe(false); // RFC 3261 table 2: Contact is not applicable to BYE
    expect(phone.received.filter((r) => r.message.kind === 'request' && r.message.method === 'BYE')).toEqual([]);
  });

  it('treats a Record-Route without lr as a strict router: it becomes the Request-URI, the BYE goes there, the Contact is the last Route', async () => {
    phone = await udpClient(e2e);
    proxy = await udpClient(e2e, { user: 'proxy' });
    const strict = `sip:127.0.0.1:${proxy.local.port}`;
    const { bye, contact } = await callUntilOurBye([`<${strict}>`, '<sip:192.0.2.10:5080;lr>'], () => proxy);
    expect(bye.message.uri).toBe(strict);
    expect(bye.message.headers.getAll('route')).toEqual(['<sip:192.0.2.10:5080;lr>', `<${contact}>`]);
    expect(phone.received.filter((r) => r.message.kind === 'request' && r.message.method === 'BYE')).toEqual([]);
  });

  it('without Record-Route sends its BYE straight to the Contact, with no Route header', async () => {
    phone = await udpClient(e2e);
    proxy = await udpClient(e2e, { user: 'proxy' });
    const { bye, contact } = await callUntilOurBye([], () => phone);
    expect(bye.message.uri).toBe(contact);
    expect(bye.message.headers.has('route')).toBe(false);
  });
});
