/**
 * SIP over TCP (RFC 3261 18.3): a stream where Content-Length alone frames messages. A call works over
 * one connection, responses and our own requests included; two messages in one segment and one
 * message over many segments read the same; a message without Content-Length cannot be framed: 400,
 * and the connection is closed since nothing after it can be found.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipTestClient, serializeRequest } from '../../support/sip-test-client.js';
import { hangUp, noLiveCalls, startUasGateway, tcpClient, type UasGateway } from './uas-gateway.js';

describe('UAS over TCP: framing by Content-Length', () => {
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

  it('takes an INVITE over TCP and runs the call on that connection, the bot’s BYE included', async () => {
    phone = await tcpClient(e2e);
    const invite = phone.invite();
    phone.send(invite);
    const ok = await phone.waitForResponse(invite);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('contact')).toMatch(/;transport=tcp/);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    const ended = e2e.nextCallEnded();
    const info = dialog.request('INFO', { body: 'Signal=2\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' });
    phone.send(info);
    expect((await phone.waitForResponse(info)).status).toBe(200);
    const bye = await phone.waitForRequest('BYE', { timeoutMs: 15_000 });
    expect(bye.message.headers.get('via')).toMatch(/^SIP\/2\.0\/TCP /);
    phone.respond(bye, 200);
    expect(await ended).toMatchObject({ side: 'gateway', reason: 'bot-hangup' });
    expect(phone.isClosed).toBe(false);
  });

  it('reads two messages written in one segment', async () => {
    phone = await tcpClient(e2e);
    const first = phone.request('OPTIONS');
    const second = phone.request('OPTIONS');
    phone.send(Buffer.concat([serializeRequest(first), serializeRequest(second)]));
    expect((await phone.waitForResponse(first)).status).toBe(200);
    expect((await phone.waitForResponse(second)).status).toBe(200);
  });

  it('reads an INVITE with its SDP body split over many small segments, and a message straddling two segments', async () => {
    phone = await tcpClient(e2e);
    phone.autoRespond('BYE', 200);
    const invite = phone.invite();
    await phone.sendInPieces(serializeRequest(invite), 7);
    const ok = await phone.waitForResponse(invite, 200);
    const dialog = phone.dialogFrom(invite, ok);
    const ack = serializeRequest(dialog.ack());
    const options = dialog.request('OPTIONS');
    const both = Buffer.concat([ack, serializeRequest(options)]);
    const cut = ack.length + 30;
    await phone.sendInPieces(both.subarray(0, cut), cut);
    await phone.sendInPieces(both.subarray(cut), both.length);
    expect((await phone.waitForResponse(options)).status).toBe(200);
    await hangUp(e2e, phone, { invite, ok, dialog });
  });

  it('answers a message without Content-Length 400 and closes the connection', async () => {
    phone = await tcpClient(e2e);
    const options = phone.request('OPTIONS');
    options.contentLength = 'omit';
    phone.send(options);
    const refused = await phone.waitForResponse(options);
    expect(refused.status).toBe(400);
    expect(refused.reason).toMatch(/Content-Length/i);
    await phone.closed();
  });

  it('answers a message with two different Content-Lengths 400 and closes the connection', async () => {
    phone = await tcpClient(e2e);
    const options = phone.request('OPTIONS', { headers: [['Content-Length', '0'], ['l', '12']] });
    phone.send(options);
    expect((await phone.waitForResponse(options)).status).toBe(400);
    await phone.closed();
  });

  it('answers an INVITE without Content-Length split over segments 400 and closes the connection, leaving no call', async () => {
    phone = await tcpClient(e2e);
    const before = phone.request('OPTIONS');
    const invite = phone.invite();
    invite.contentLength = 'omit';
    await phone.sendInPieces(Buffer.concat([serializeRequest(before), serializeRequest(invite)]), 50);
    expect((await phone.waitForResponse(before)).status).toBe(200);
    expect((await phone.waitForResponse(invite)).status).toBe(400);
    await phone.closed();
    expect(e2e.gateway.calls.list()).toEqual([]);
  });
});
