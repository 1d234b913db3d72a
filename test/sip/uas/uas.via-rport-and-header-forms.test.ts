/**
 * Where responses go and what they copy: RFC 3581 rport (answer the packet's source, what makes NAT
 * and SBCs work), the sent-by of the top Via without it, every Via copied in order whether a proxy
 * comma-joined them or wrote one per line; and requests written with compact header names,
 * odd-cased names and folded lines are understood like any other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipTestClient, headerOf, newBranch, serializeRequest, type OutgoingRequest } from '../../support/sip-test-client.js';
import { SIP_NUMBER, hangUp, noLiveCalls, startUasGateway, udpClient, type UasGateway } from './uas-gateway.js';

const COMPACT: Record<string, string> = { via: 'v', from: 'f', to: 't', 'call-id': 'i', contact: 'm', 'content-type': 'c', supported: 'k' };

/** The request with every header that has a compact form written in it, and Content-Length as `l`. */
function compactForm(request: OutgoingRequest): OutgoingRequest {
  return {
    ...request,
    headers: [...request.headers.map(([name, value]): [string, string] => [COMPACT[name.toLowerCase()] ?? name, value]), ['l', String(request.body.length)]],
  };
}

describe('UAS: Via handling (rport, sent-by, several Vias) and header forms', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  let other: SipTestClient | undefined;
  beforeAll(async () => {
    e2e = await startUasGateway();
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
    await other?.close();
    other = undefined;
    await noLiveCalls(e2e);
  });

  it('answers to the packet source when the Via asks for rport, whatever its sent-by says, and says so in received/rport', async () => {
    phone = await udpClient(e2e);
    other = await udpClient(e2e); // the port the Via claims: nothing may arrive there
    const options = phone.request('OPTIONS');
    options.headers[0] = ['Via', `SIP/2.0/UDP 127.0.0.1:${other.local.port};branch=${newBranch()};rport`];
    phone.send(options);
    const ok = await phone.waitForResponse(options);
    expect(ok.status).toBe(200);
    const via = ok.headers.get('via')!;
    expect(via).toContain(`127.0.0.1:${other.local.port}`);
    expect(via).toMatch(new RegExp(`;rport=${phone.local.port}(;|$)`));
    expect(via).toMatch(/;received=127\.0\.0\.1(;|$)/);
    await other.barrier();
    expect(other.received.filter((r) => r.message.headers.get('call-id') === ok.headers.get('call-id'))).toEqual([]);
  });

  it('answers to the sent-by of the top Via when the request does not ask for rport (RFC 3261 18.2.2)', async () => {
    phone = await udpClient(e2e);
    other = await udpClient(e2e);
    const options = phone.request('OPTIONS');
    options.headers[0] = ['Via', `SIP/2.0/UDP 127.0.0.1:${other.local.port};branch=${newBranch()}`];
    phone.send(options);
    const ok = await other.waitFor((r) => r.message.kind === 'response' && r.message.headers.get('call-id') === headerOf(options, 'Call-ID'));
    expect(ok.message.kind === 'response' && ok.message.status).toBe(200);
    await phone.barrier();
    expect(phone.responsesTo(options)).toEqual([]);
  });

  it('routes the whole call by rport: the 200 OK, its retransmissions and our BYE reach the real source', async () => {
    phone = await udpClient(e2e);
    other = await udpClient(e2e);
    const invite = phone.invite({ via: [`SIP/2.0/UDP 127.0.0.1:${other.local.port};branch=${newBranch()};rport`] });
    phone.send(invite);
    const ok = await phone.waitForResponse(invite, 200);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    await hangUp(e2e, phone, { invite, ok, dialog });
    expect(other.received).toEqual([]);
  });

  it('copies every Via in order into its responses, comma-joined in one line or one per line', async () => {
    phone = await udpClient(e2e);
    const ours = phone.via();
    const vias = [
      `${ours}`,
      'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy1, SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKproxy2;received=192.0.2.7',
      'SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKphone',
    ];
    const expected = [
      expect.stringMatching(new RegExp(`^${ours.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/;rport$/, '')}`)),
      'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKproxy1',
      'SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKproxy2;received=192.0.2.7',
      'SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKphone',
    ];
    const options = phone.request('OPTIONS');
    options.headers.splice(0, 1, ...vias.map((v): [string, string] => ['Via', v]));
    phone.send(options);
    expect((await phone.waitForResponse(options)).headers.getAll('via')).toEqual(expected);

    phone.autoRespond('BYE', 200);
    const invite = phone.invite({ via: vias });
    phone.send(invite);
    const ringing = await phone.waitForResponse(invite, 180);
    const ok = await phone.waitForResponse(invite, 200);
    expect(ringing.headers.getAll('via')).toEqual(expected);
    expect(ok.headers.getAll('via')).toEqual(expected);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    await hangUp(e2e, phone, { invite, ok, dialog });
  });

  it('takes an INVITE, its ACK and BYE written with compact header names (v f t i m l c k)', async () => {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const invite = phone.invite({ headers: [['Supported', 'timer']] });
    const compact = compactForm(invite);
    expect(serializeRequest(compact).toString('latin1')).not.toMatch(/^(Via|From|To|Call-ID|Contact|Content-Length|Content-Type):/m);
    phone.send(compact);
    const ok = await phone.waitForResponse(invite, 200);
    expect(ok.headers.get('content-type')).toBe('application/sdp');
    const dialog = phone.dialogFrom(invite, ok);
    const ended = e2e.nextCallEnded();
    phone.send(compactForm(dialog.ack()));
    const bye = dialog.request('BYE');
    phone.send(compactForm(bye));
    expect((await phone.waitForResponse(bye)).status).toBe(200);
    expect(await ended).toMatchObject({ side: 'caller' });
  });

  it('takes header names in any case and folded header lines', async () => {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const invite = phone.invite();
    const odd: OutgoingRequest = {
      ...invite,
      headers: [
        ...invite.headers.map(([name, value]): [string, string] => [name === 'From' ? 'fROM' : name === 'CSeq' ? 'cseq' : name === 'Max-Forwards' ? 'MAX-FORWARDS' : name, value]),
        ['Subject', 'a subject\r\n  folded over\r\n\ttwo lines'],
        ['X-Account', 'a=1,\r\n b=2'],
      ],
    };
    phone.send(odd);
    const ok = await phone.waitForResponse(invite, 200);
    expect(ok.headers.get('from')).toBe(invite.headers.find(([n]) => n === 'From')![1]);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    const [live] = e2e.gateway.calls.list().filter((c) => c.info.carrierCallId === dialog.callId);
    expect(live.info.extra).toMatchObject({ 'X-Account': 'a=1, b=2' });
    expect(live.info.to).toBe(SIP_NUMBER);
    await hangUp(e2e, phone, { invite, ok, dialog });
  });
});
