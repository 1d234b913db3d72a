/**
 * An ACK acknowledges one 2xx: the one Voxgate is retransmitting, named by its CSeq. Only that ACK stops
 * the retransmissions, and only when that 2xx carried Voxgate's offer (a re-INVITE without SDP) is the
 * ACK's body taken as the SDP answer. Any other ACK of the dialog - repeated, stale or forged - moves no
 * media, however well it is addressed. (The fuzz test found every in-dialog ACK's SDP being applied.)
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { GREETING } from '../support/e2e-fixtures.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';
import { SipUdpPhone } from '../support/sip-udp-phone.js';

const flow = {
  name: 'wait',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 60_000, branches: {}, noMatch: 'bye', timeout: 'bye' } },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

function bindUdp(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

/** Counts datagrams arriving at `socket` for `ms`. */
function countFor(socket: dgram.Socket, ms: number): Promise<number> {
  let n = 0;
  const on = () => void n++;
  socket.on('message', on);
  return new Promise((resolve) =>
    setTimeout(() => {
      socket.off('message', on);
      resolve(n);
    }, ms),
  );
}

describe('SIP call: an ACK acknowledges the 2xx it names', () => {
  let e2e: SipE2eSetup | undefined;
  let phone: SipUdpPhone | undefined;
  let elsewhere: dgram.Socket | undefined;
  afterEach(async () => {
    elsewhere?.close();
    await phone?.close();
    await e2e?.close();
  });

  it('a stray ACK with an SDP moves no media; the ACK answering the offer in our 200 does', async () => {
    e2e = await startSipE2e({ bots: [{ name: 'wait-bot', type: 'flow', flow }], routes: [{ number: SIP_NUMBER, bot: 'wait-bot' }] }, { transports: ['udp'] });
    phone = await SipUdpPhone.start('acker');
    elsewhere = await bindUdp();
    const call = await phone.dial(SIP_NUMBER, e2e.sipPort);
    // Voxgate's RTP reaches the phone; the phone goes quiet so no packet of it re-latches Voxgate's stream.
    await expect.poll(() => phone!.heard.length, { timeout: 5000 }).toBeGreaterThan(5);
    phone.pauseMedia();
    const movedSdp = phone.offer(3).replace(`m=audio ${phone.rtpPort} `, `m=audio ${elsewhere.address().port} `);

    // The 200 to the INVITE was ACKed already: an ACK with its CSeq again, or another CSeq, acknowledges nothing.
    for (const cseq of [call.cseq, call.cseq + 7]) {
      phone.send(phone.request('ACK', call.remoteTarget, { from: call.from, to: call.to, callId: call.callId, cseq, body: movedSdp }).raw, e2e.sipPort);
    }
    expect(await countFor(elsewhere, 400)).toBe(0);
    const heardBefore = phone.heard.length;
    await expect.poll(() => phone!.heard.length - heardBefore, { timeout: 2000 }).toBeGreaterThan(5);

    // A re-INVITE without SDP: Voxgate offers in its 200, and the ACK of that 200 carries the answer.
    const cseq = ++call.cseq;
    const reInvite = phone.inDialog('INVITE', { cseq });
    const ok = await phone.transaction(reInvite.raw, reInvite.branch, e2e.sipPort, 5000, (r) => r.status >= 200);
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toMatch(/^m=audio \d+ RTP\/AVP/m);
    phone.send(phone.request('ACK', call.remoteTarget, { from: call.from, to: call.to, callId: call.callId, cseq, body: movedSdp }).raw, e2e.sipPort);
    expect(await countFor(elsewhere, 400)).toBeGreaterThan(5);
  });
});
