/**
 * Who may call in (carriers.sip.trunks): an INVITE from outside every trunk's addresses gets 403; a
 * trunk with credentials challenges with 401 and takes the digest retry (RFC 2617/7616 qop=auth,
 * same Call-ID and From tag, next CSeq), refusing a wrong password or a replayed response with 403;
 * and one source flooding INVITEs gets 503 beyond its burst while another source still gets through.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthorization, parseChallenge, type SipResponse } from '../../../src/carriers/sip/message/index.js';
import { SipTestClient, headerOf, sdpOffer, tagOf, type OutgoingRequest } from '../../support/sip-test-client.js';
import { hangUp, liveCallsFor, noLiveCalls, startUasGateway, udpClient, type UasGateway } from './uas-gateway.js';

/** The INVITE again with credentials for `challenge`: same Call-ID, From (tag) and branch-new, CSeq + 1. */
function withCredentials(client: SipTestClient, invite: OutgoingRequest, challenge: SipResponse, username: string, password: string): OutgoingRequest {
  const authorization = buildAuthorization({ challenge: parseChallenge(challenge.headers.get('www-authenticate')!), method: 'INVITE', uri: invite.uri, username, password });
  const retry = client.invite({
    callId: headerOf(invite, 'Call-ID'),
    fromTag: tagOf(headerOf(invite, 'From')),
    cseq: Number(headerOf(invite, 'CSeq')!.split(' ')[0]) + 1,
    headers: [['Authorization', authorization]],
  });
  return retry;
}

describe('access control by trunk source address', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway({ trunks: [{ name: 'sbc', inbound: { from: ['127.0.0.2/32', '10.0.0.0/8'] } }] });
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
    await noLiveCalls(e2e);
  });

  it('refuses an INVITE from a source outside every trunk with 403, starting nothing', async () => {
    phone = await udpClient(e2e, { localAddress: '127.0.0.1' });
    const invite = phone.invite();
    phone.send(invite);
    const refused = await phone.waitForResponse(invite);
    expect(refused.status).toBe(403);
    expect(tagOf(refused.headers.get('to'))).toBeDefined();
    phone.send(phone.ackFailure(invite, refused));
    await phone.barrier();
    expect(liveCallsFor(e2e, headerOf(invite, 'Call-ID')!)).toEqual([]);
  });

  it("answers an INVITE from a trunk's address, and names the trunk to the bot", async () => {
    phone = await udpClient(e2e, { localAddress: '127.0.0.2' });
    phone.autoRespond('BYE', 200);
    const invite = phone.invite();
    phone.send(invite);
    const ok = await phone.waitForResponse(invite);
    expect(ok.status).toBe(200);
    const dialog = phone.dialogFrom(invite, ok);
    phone.send(dialog.ack());
    expect(liveCallsFor(e2e, dialog.callId)[0].info.extra).toMatchObject({ 'X-Voxgate-Trunk': 'sbc' });
    await hangUp(e2e, phone, { invite, ok, dialog });
  });
});

describe('access control by digest credentials', () => {
  let e2e: UasGateway;
  let phone: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway({ trunks: [{ name: 'pbx', inbound: { auth: { username: 'pbx-7', password: 's3cret!' } } }] });
  });
  afterAll(async () => {
    await e2e?.close();
  });
  afterEach(async () => {
    await phone?.close();
    await noLiveCalls(e2e);
  });

  async function challenged(): Promise<{ invite: OutgoingRequest; challenge: SipResponse }> {
    phone = await udpClient(e2e);
    phone.autoRespond('BYE', 200);
    const invite = phone.invite();
    phone.send(invite);
    const challenge = await phone.waitForResponse(invite);
    phone.send(phone.ackFailure(invite, challenge));
    return { invite, challenge };
  }

  it('challenges an INVITE without credentials with 401 and a digest WWW-Authenticate (MD5, qop=auth)', async () => {
    const { challenge } = await challenged();
    expect(challenge.status).toBe(401);
    const parsed = parseChallenge(challenge.headers.get('www-authenticate')!);
    expect(parsed).toMatchObject({ algorithm: 'MD5', qop: ['auth'] });
    expect(parsed.realm).toBeTruthy();
    expect(parsed.nonce.length).toBeGreaterThan(16);
    expect(tagOf(challenge.headers.get('to'))).toBeDefined();
  });

  it('answers the retry with the right credentials, and the call goes on as the trunk', async () => {
    const { invite, challenge } = await challenged();
    const retry = withCredentials(phone, invite, challenge, 'pbx-7', 's3cret!');
    phone.send(retry);
    const ok = await phone.waitForResponse(retry);
    expect(ok.status).toBe(200);
    const dialog = phone.dialogFrom(retry, ok);
    phone.send(dialog.ack());
    expect(liveCallsFor(e2e, dialog.callId)[0].info.extra).toMatchObject({ 'X-Voxgate-Trunk': 'pbx' });
    await hangUp(e2e, phone, { invite: retry, ok, dialog });
  });

  it('refuses a wrong password and an unknown user with 403', async () => {
    const { invite, challenge } = await challenged();
    const wrong = withCredentials(phone, invite, challenge, 'pbx-7', 'guess');
    phone.send(wrong);
    expect((await phone.waitForResponse(wrong)).status).toBe(403);
    const stranger = withCredentials(phone, invite, challenge, 'someone', 's3cret!');
    phone.send(stranger);
    expect((await phone.waitForResponse(stranger)).status).toBe(403);
    await phone.barrier();
    expect(liveCallsFor(e2e, headerOf(invite, 'Call-ID')!)).toEqual([]);
  });

  it('refuses the same credentials replayed on another INVITE with 403', async () => {
    const { invite, challenge } = await challenged();
    const retry = withCredentials(phone, invite, challenge, 'pbx-7', 's3cret!');
    phone.send(retry);
    const ok = await phone.waitForResponse(retry);
    expect(ok.status).toBe(200);
    const dialog = phone.dialogFrom(retry, ok);
    phone.send(dialog.ack());
    const replay = phone.invite({ headers: [['Authorization', headerOf(retry, 'Authorization')!]] });
    phone.send(replay);
    expect((await phone.waitForResponse(replay)).status).toBe(403);
    await hangUp(e2e, phone, { invite: retry, ok, dialog });
  });
});

describe('INVITE flood from one source', () => {
  let e2e: UasGateway;
  let flooder: SipTestClient;
  let other: SipTestClient;
  beforeAll(async () => {
    e2e = await startUasGateway({ invitesPerSecond: 5, inviteBurst: 20 });
  });
  afterAll(async () => {
    await flooder?.close();
    await other?.close();
    await e2e?.close();
  });

  it('answers 503 with Retry-After beyond the burst, while an INVITE from another address gets through', async () => {
    flooder = await udpClient(e2e, { localAddress: '127.0.0.1' });
    // Offers with no common codec: each INVITE the limiter lets through is refused 488 without starting a call.
    const invites = Array.from({ length: 200 }, () => flooder.invite({ sdp: sdpOffer({ formats: [[96, 'opus/48000/2']] }) }));
    for (const invite of invites) flooder.send(invite);
    const finals = await Promise.all(invites.map((invite) => flooder.waitForResponse(invite, undefined, { timeoutMs: 15_000 })));
    for (const [i, final] of finals.entries()) flooder.send(flooder.ackFailure(invites[i], final));
    const statuses = finals.map((f) => f.status);
    const admitted = statuses.filter((s) => s === 488).length;
    const limited = finals.filter((f) => f.status === 503);
    expect(admitted + limited.length).toBe(200);
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThan(60);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(488)); // the burst
    expect(limited[0].headers.get('retry-after')).toMatch(/^\d+$/);

    other = await udpClient(e2e, { localAddress: '127.0.0.2' });
    other.autoRespond('BYE', 200);
    const invite = other.invite();
    other.send(invite);
    const ok = await other.waitForResponse(invite);
    expect(ok.status).toBe(200);
    const dialog = other.dialogFrom(invite, ok);
    other.send(dialog.ack());
    await hangUp(e2e, other, { invite, ok, dialog });
    await noLiveCalls(e2e);
  });
});
