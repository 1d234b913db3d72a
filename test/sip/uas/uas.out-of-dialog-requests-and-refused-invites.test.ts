/**
 * What a peer or an SBC sees when it sends Voxgate something it does not take: OPTIONS keep-alives,
 * unknown methods, requests for dialogs that do not exist, and INVITEs refused before any call starts
 * (unknown Require, too short a session interval, no common codec, a body that is not SDP, a
 * Content-Length the datagram does not hold). Every refusal copies Via, From, Call-ID and CSeq, tags
 * the To, and leaves no call behind.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SipResponse } from '../../../src/carriers/sip/message/index.js';
import type { SipE2eSetup } from '../../support/e2e-sip.js';
import { SipTestClient, headerOf, sdpOffer, serializeRequest, tagOf, type OutgoingRequest } from '../../support/sip-test-client.js';
import { noLiveCalls, startUasGateway, udpClient } from './uas-gateway.js';

/** RFC 3261 8.2.6: the response copies the request's Vias, From, Call-ID and CSeq; a final response tags the To. */
function expectAnswers(response: SipResponse, request: OutgoingRequest): void {
  expect(response.headers.getAll('via')).toEqual([expect.stringContaining(headerOf(request, 'Via')!.replace(/;rport$/, ''))]);
  expect(response.headers.get('from')).toBe(headerOf(request, 'From'));
  expect(response.headers.get('call-id')).toBe(headerOf(request, 'Call-ID'));
  expect(response.headers.get('cseq')).toBe(headerOf(request, 'CSeq'));
  expect(response.headers.get('to')).toContain(headerOf(request, 'To'));
  if (response.status > 100) expect(tagOf(response.headers.get('to'))).toMatch(/^\S+$/);
}

describe('UAS: out-of-dialog requests and INVITEs refused up front', () => {
  let e2e: SipE2eSetup;
  let phone: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway();
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
  });

  it('answers OPTIONS 200 with Allow, Accept: application/sdp and Supported (the SBC keep-alive)', async () => {
    phone = await udpClient(e2e);
    const options = phone.request('OPTIONS');
    phone.send(options);
    const ok = await phone.waitForResponse(options);
    expect(ok.status).toBe(200);
    expectAnswers(ok, options);
    const allow = ok.headers.getAll('allow');
    for (const method of ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REFER', 'NOTIFY', 'INFO']) expect(allow).toContain(method);
    expect(ok.headers.getAll('accept')).toContain('application/sdp');
    expect(ok.headers.getAll('supported')).toContain('timer');
  });

  it('answers a method it does not implement 405 with Allow', async () => {
    phone = await udpClient(e2e);
    const publish = phone.request('PUBLISH', { headers: [['Event', 'presence']], body: 'x' });
    phone.send(publish);
    const refused = await phone.waitForResponse(publish);
    expect(refused.status).toBe(405);
    expectAnswers(refused, publish);
    expect(refused.headers.getAll('allow')).toEqual(expect.arrayContaining(['INVITE', 'BYE', 'OPTIONS']));
  });

  it.each(['BYE', 'INFO', 'NOTIFY', 'UPDATE', 'OPTIONS', 'INVITE'])('answers an in-dialog %s for a dialog it does not know 481', async (method) => {
    phone = await udpClient(e2e);
    const request = phone.request(method, { toTag: 'nosuchdialog' });
    phone.send(request);
    const refused = await phone.waitForResponse(request);
    expect(refused.status).toBe(481);
    expectAnswers(refused, request);
    expect(tagOf(refused.headers.get('to'))).toBe('nosuchdialog');
  });

  it('refuses an INVITE requiring an extension it does not know with 420 naming it in Unsupported', async () => {
    phone = await udpClient(e2e);
    // 100rel and replaces are real extensions Voxgate does not implement: requiring them is refused too.
    const invite = phone.invite({ headers: [['Require', 'foo, timer, 100rel, replaces']] });
    phone.send(invite);
    const refused = await phone.waitForResponse(invite);
    expect(refused.status).toBe(420);
    expectAnswers(refused, invite);
    expect(refused.headers.getAll('unsupported')).toEqual(['foo', '100rel', 'replaces']);
  });

  it('refuses any request requiring an unknown extension with 420, not only an INVITE', async () => {
    phone = await udpClient(e2e);
    const options = phone.request('OPTIONS', { headers: [['Require', 'foo']] });
    phone.send(options);
    const refused = await phone.waitForResponse(options);
    expect(refused.status).toBe(420);
    expect(refused.headers.getAll('unsupported')).toEqual(['foo']);
  });

  it('refuses a second copy of an INVITE that came another way (same Call-ID, From tag and CSeq, another branch) with 482', async () => {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const invite = phone.invite();
    const forked = { ...invite, headers: invite.headers.map(([n, v]): [string, string] => [n, n === 'Via' ? phone.via() : v]) };
    phone.send(invite);
    phone.send(forked);
    const ok = await phone.waitForResponse(invite, 200);
    const merged = await phone.waitForResponse(forked);
    expect(merged.status).toBe(482);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    phone.send(phone.ackFailure(forked, merged));
    await phone.barrier();
    expect(e2e.gateway.calls.list().filter((c) => c.info.carrierCallId === dialog.callId)).toHaveLength(1);
    const ended = e2e.nextCallEnded();
    const bye = dialog.request('BYE');
    phone.send(bye);
    await phone.waitForResponse(bye);
    await ended;
  });

  it('while draining answers OPTIONS and new INVITEs 503 with Retry-After, so a dispatcher moves calls elsewhere', async () => {
    phone = await udpClient(e2e);
    e2e.sip.ua.setDraining(true);
    try {
      const options = phone.request('OPTIONS');
      phone.send(options);
      const probe = await phone.waitForResponse(options);
      expect(probe.status).toBe(503);
      expect(probe.headers.get('retry-after')).toMatch(/^\d+$/);
      const invite = phone.invite();
      phone.send(invite);
      const refused = await phone.waitForResponse(invite);
      expect(refused.status).toBe(503);
      phone.send(phone.ackFailure(invite, refused));
    } finally {
      e2e.sip.ua.setDraining(false);
    }
    const options = phone.request('OPTIONS');
    phone.send(options);
    expect((await phone.waitForResponse(options)).status).toBe(200);
  });

  it('refuses Session-Expires below 90 s with 422 and Min-SE: 90', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite({ headers: [['Supported', 'timer'], ['Session-Expires', '30']] });
    phone.send(invite);
    const refused = await phone.waitForResponse(invite);
    expect(refused.status).toBe(422);
    expectAnswers(refused, invite);
    expect(refused.headers.get('min-se')).toBe('90');
  });

  it('refuses an offer with no codec in common (opus, GSM) with 488 and a Warning naming what was offered', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite({ sdp: sdpOffer({ formats: [[96, 'opus/48000/2'], [3, 'GSM/8000']] }) });
    phone.send(invite);
    const refused = await phone.waitForResponse(invite);
    expect(refused.status).toBe(488);
    expectAnswers(refused, invite);
    const warning = refused.headers.get('warning') ?? '';
    expect(warning).toMatch(/^30[45] \S+ ".*"$/);
    expect(warning).toMatch(/opus/i);
    expect(warning).toMatch(/GSM/);
    phone.send(phone.ackFailure(invite, refused));
    await phone.barrier();
    expect(e2e.gateway.calls.list()).toEqual([]);
  });

  it('refuses an INVITE whose body is not SDP with 415 and Accept: application/sdp', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite({ sdp: '<xml>not sdp</xml>', contentType: 'application/xml' });
    phone.send(invite);
    const refused = await phone.waitForResponse(invite);
    expect(refused.status).toBe(415);
    expectAnswers(refused, invite);
    expect(refused.headers.getAll('accept')).toContain('application/sdp');
  });

  it('keeps retransmitting a refusal over UDP until the ACK with the same branch', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite({ headers: [['Require', 'foo']] });
    phone.send(invite);
    await phone.waitForResponse(invite, 420);
    const again = await phone.waitForResponse(invite, 420, { timeoutMs: 2000 }); // Timer G: T1 later
    const [first, second] = phone.responsesTo(invite, 420);
    expect(second.at - first.at).toBeGreaterThanOrEqual(400);
    expect(tagOf(again.headers.get('to'))).toBeDefined();
    expect(tagOf(again.headers.get('to'))).toBe(tagOf(first.message.headers.get('to')));
    phone.send(phone.ackFailure(invite, again));
    await phone.barrier();
    expect(e2e.gateway.calls.list()).toEqual([]);
  });

  it('answers a request in another SIP version 505', async () => {
    phone = await udpClient(e2e);
    const options = phone.request('OPTIONS');
    phone.send(serializeRequest(options).toString('latin1').replace(/ SIP\/2\.0\r\n/, ' SIP/3.0\r\n'));
    const refused = await phone.waitForResponse(options);
    expect(refused.status).toBe(505);
  });

  it('answers a datagram whose Content-Length is larger than what arrived with 400', async () => {
    phone = await udpClient(e2e);
    const invite = phone.invite();
    invite.contentLength = invite.body.length + 50;
    phone.send(invite);
    const refused = await phone.waitForResponse(invite);
    expect(refused.status).toBe(400);
    expect(refused.reason).toMatch(/Content-Length/i);
    expect(tagOf(refused.headers.get('to'))).toBeDefined();
    await noLiveCalls(e2e);
  });
});
