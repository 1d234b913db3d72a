/**
 * Client transactions (RFC 3261 17.1, RFC 6026): INVITE retransmitted on Timer A (T1 doubling, no
 * cap) until a response, Timer B after 64*T1 without one; the ACK to a non-2xx sent in the transaction
 * (same branch, Request-URI, top Via, the response's To) for each copy of the failure; 2xx copies
 * passed to on2xxRetransmission for the core to ACK again. Non-INVITE retransmitted on Timer E (capped
 * at T2, T2 once a provisional came) until Timer F. Nothing retransmitted over reliable transports.
 */
import { describe, expect, it } from 'vitest';
import type { SipResponse } from '../../../src/carriers/sip/message/index.js';
import { T1, T2, T4 } from '../../../src/carriers/sip/transaction/transactions.js';
import { TransactionHarness, makeRequest, makeResponse, peer } from './transaction-harness.js';

const OURS = '192.0.2.100:5060';

function handlers() {
  const seen = { provisional: [] as number[], final: [] as number[], retransmitted2xx: 0, timeouts: 0 };
  return {
    seen,
    handlers: {
      onProvisional: (r: SipResponse) => void seen.provisional.push(r.status),
      onFinal: (r: SipResponse) => void seen.final.push(r.status),
      on2xxRetransmission: () => void seen.retransmitted2xx++,
      onTimeout: () => void seen.timeouts++,
    },
  };
}

describe('INVITE client transaction', () => {
  it('retransmits the INVITE over UDP at T1, 2*T1, 4*T1... without a cap, and times out at Timer B (64*T1)', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    h.layer.request(makeRequest({ method: 'INVITE', sentBy: OURS, extra: [['Route', '<sip:sbc.example.net;lr>']] }), peer('udp'), hs);
    h.clock.advance(64 * T1 - 1);
    expect(h.requestTimes('INVITE')).toEqual([0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    expect(seen.timeouts).toBe(0);
    h.clock.advance(1);
    expect(seen.timeouts).toBe(1);
    h.clock.advance(60_000);
    expect(h.requestTimes('INVITE')).toHaveLength(7);
    expect(h.layer.clientCount).toBe(0);
  });

  it('stops retransmitting at the first provisional, and then waits for the final beyond Timer B', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    const invite = makeRequest({ method: 'INVITE', sentBy: OURS });
    h.layer.request(invite, peer('udp'), hs);
    h.clock.advance(600);
    h.layer.receive(makeResponse(invite, 180, 'them'), peer('udp'));
    h.clock.advance(120_000);
    expect(h.requestTimes('INVITE')).toEqual([0, 500]);
    expect(seen).toMatchObject({ provisional: [180], timeouts: 0, final: [] });
    h.layer.receive(makeResponse(invite, 200, 'them'), peer('udp'));
    expect(seen.final).toEqual([200]);
  });

  it('ACKs a non-2xx final in the transaction: same branch and Request-URI, top Via only, the response To, CSeq n ACK, Route kept; again for each copy, until Timer D', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    const invite = makeRequest({ method: 'INVITE', sentBy: OURS, branch: 'z9hG4bKuac1', cseq: 7, extra: [['Route', '<sip:sbc.example.net;lr>'], ['Contact', '<sip:voxgate@192.0.2.100>'], ['Content-Type', 'application/sdp']] });
    h.layer.request(invite, peer('udp'), hs);
    const busy = makeResponse(invite, 486, 'them');
    h.layer.receive(busy, peer('udp'));
    const [ack] = h.wire.filter((w) => w.message.kind === 'request' && w.message.method === 'ACK').map((w) => w.message);
    expect(ack.kind === 'request' && ack.uri).toBe(invite.uri);
    expect(ack.headers.getAll('via')).toEqual(invite.headers.getAll('via').slice(0, 1));
    expect(ack.headers.get('via')).toContain('branch=z9hG4bKuac1');
    expect(ack.headers.get('to')).toBe(busy.headers.get('to'));
    expect(ack.headers.get('cseq')).toBe('7 ACK');
    expect(ack.headers.get('route')).toBe('<sip:sbc.example.net;lr>');
    expect(ack.headers.has('content-type')).toBe(false);
    expect(ack.body.length).toBe(0);
    h.clock.advance(1000);
    h.layer.receive(busy, peer('udp'));
    expect(h.requestTimes('ACK')).toEqual([0, 1000]);
    expect(seen.final).toEqual([486]); // once
    h.clock.advance(32_000 - 1000 - 1);
    expect(h.layer.clientCount).toBe(1);
    h.clock.advance(1);
    expect(h.layer.clientCount).toBe(0); // Timer D
    h.layer.receive(busy, peer('udp'));
    expect(h.strays.map((r) => r.status)).toEqual([486]);
  });

  it('passes a 2xx up once, and its retransmissions to on2xxRetransmission (Accepted), for 64*T1', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    const invite = makeRequest({ method: 'INVITE', sentBy: OURS });
    h.layer.request(invite, peer('udp'), hs);
    const ok = makeResponse(invite, 200, 'them');
    h.layer.receive(ok, peer('udp'));
    h.layer.receive(ok, peer('udp'));
    h.layer.receive(ok, peer('udp'));
    expect(seen.final).toEqual([200]);
    expect(seen.retransmitted2xx).toBe(2);
    expect(h.requestTimes('ACK')).toEqual([]); // the ACK to a 2xx is the core's, not the transaction's
    h.clock.advance(64 * T1);
    h.layer.receive(ok, peer('udp'));
    expect(h.strays).toHaveLength(1);
    expect(h.requestTimes('INVITE')).toEqual([0]);
  });

  it('does not retransmit over a reliable transport, and Timer B still ends it', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    const invite = makeRequest({ method: 'INVITE', sentBy: OURS, transport: 'tcp' });
    h.layer.request(invite, peer('tcp'), hs);
    h.clock.advance(64 * T1);
    expect(h.requestTimes('INVITE')).toEqual([0]);
    expect(seen.timeouts).toBe(1);

    const failed = new TransactionHarness();
    const f = handlers();
    failed.layer.request(invite, peer('tcp'), f.handlers);
    failed.layer.receive(makeResponse(invite, 503, 'them'), peer('tcp'));
    failed.clock.advance(0);
    expect(failed.layer.clientCount).toBe(0); // Timer D = 0
    expect(failed.requestTimes('ACK')).toEqual([0]);
  });

  it('refuses to send an ACK in a transaction (the ACK to a 2xx goes out with sendAck)', () => {
    const h = new TransactionHarness();
    expect(() => h.layer.request(makeRequest({ method: 'ACK', sentBy: OURS }), peer('udp'), handlers().handlers)).toThrow(/sendAck/);
  });
});

describe('non-INVITE client transaction', () => {
  it('retransmits over UDP at T1, 2*T1, 4*T1 then every T2, and times out at Timer F (64*T1)', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    h.layer.request(makeRequest({ method: 'BYE', sentBy: OURS, toTag: 'them' }), peer('udp'), hs);
    h.clock.advance(64 * T1 - 1);
    expect(h.requestTimes('BYE')).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    expect(seen.timeouts).toBe(0);
    h.clock.advance(1);
    expect(seen.timeouts).toBe(1);
    h.clock.advance(10_000);
    expect(h.requestTimes('BYE')).toHaveLength(11);
  });

  it('retransmits every T2 once a provisional came, and still times out at Timer F', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    const refer = makeRequest({ method: 'REFER', sentBy: OURS, toTag: 'them' });
    h.layer.request(refer, peer('udp'), hs);
    h.clock.advance(600);
    h.layer.receive(makeResponse(refer, 100), peer('udp'));
    h.clock.advance(64 * T1 - 600);
    const times = h.requestTimes('REFER');
    expect(times.slice(0, 3)).toEqual([0, 500, 1500]);
    for (let i = 3; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(T2);
    expect(seen).toMatchObject({ provisional: [100], timeouts: 1 });
  });

  it('passes the final response up once, absorbs its copies for T4 (Timer K), and stops retransmitting', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    const bye = makeRequest({ method: 'BYE', sentBy: OURS, toTag: 'them' });
    h.layer.request(bye, peer('udp'), hs);
    h.clock.advance(700);
    const ok = makeResponse(bye, 200);
    h.layer.receive(ok, peer('udp'));
    h.layer.receive(ok, peer('udp'));
    expect(seen.final).toEqual([200]);
    h.clock.advance(T4);
    expect(h.layer.clientCount).toBe(0);
    expect(h.requestTimes('BYE')).toEqual([0, 500]);
    expect(h.strays).toEqual([]);
  });

  it('does not retransmit over a reliable transport', () => {
    const h = new TransactionHarness();
    const { seen, handlers: hs } = handlers();
    h.layer.request(makeRequest({ method: 'OPTIONS', sentBy: OURS, transport: 'tcp' }), peer('tcp'), hs);
    h.clock.advance(64 * T1);
    expect(h.requestTimes('OPTIONS')).toEqual([0]);
    expect(seen.timeouts).toBe(1);
  });

  it('matches responses by branch and CSeq method: the 200 to a CANCEL does not complete the INVITE it shares a branch with', () => {
    const h = new TransactionHarness();
    const invite = handlers();
    const cancel = handlers();
    const request = makeRequest({ method: 'INVITE', sentBy: OURS, branch: 'z9hG4bKshared' });
    h.layer.request(request, peer('udp'), invite.handlers);
    const cancelRequest = makeRequest({ method: 'CANCEL', sentBy: OURS, branch: 'z9hG4bKshared' });
    h.layer.request(cancelRequest, peer('udp'), cancel.handlers);
    h.layer.receive(makeResponse(cancelRequest, 200, 'them'), peer('udp'));
    expect(cancel.seen.final).toEqual([200]);
    expect(invite.seen.final).toEqual([]);
    h.layer.receive(makeResponse(request, 487, 'them'), peer('udp'));
    expect(invite.seen.final).toEqual([487]);
  });
});
