/**
 * Server transactions (RFC 3261 17.2, RFC 6026): what the peer sees of them. INVITE: 100 Trying at
 * once, retransmitted INVITEs absorbed with the last provisional resent, a non-2xx final retransmitted
 * on Timer G (T1, 2*T1, ... capped at T2) over UDP until the ACK, Timer H when the ACK never comes,
 * Timer I after it, the 2xx's Accepted state absorbing retransmissions. Non-INVITE: the same final
 * response for every retransmission until Timer J. Nothing retransmitted over reliable transports.
 */
import { describe, expect, it } from 'vitest';
import { T1, T2, T4 } from '../../../src/carriers/sip/transaction/transactions.js';
import { TransactionHarness, makeRequest, peer } from './transaction-harness.js';

/** Timer G's schedule: T1, 2*T1, 4*T1... capped at T2, as offsets from the first send, strictly before `until`. */
function timerG(until: number): number[] {
  const times = [0];
  let at = 0;
  for (let interval = T1; at + interval < until; interval = Math.min(interval * 2, T2)) {
    at += interval;
    times.push(at);
  }
  return times;
}

describe('INVITE server transaction', () => {
  it('sends 100 Trying at once and passes the INVITE up once; copies get the last provisional again', () => {
    const h = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE', extra: [['Timestamp', '54']] });
    h.layer.receive(invite, peer('udp'));
    expect(h.responseTimes(100)).toEqual([0]);
    const trying = h.wire[0].message;
    expect(trying.kind === 'response' && trying.headers.get('timestamp')).toBe('54');
    expect(trying.kind === 'response' && trying.headers.get('to')).not.toMatch(/tag=/); // 100 carries no To tag
    expect(h.requests).toHaveLength(1);
    h.layer.receive(invite, peer('udp'));
    expect(h.responseTimes(100)).toEqual([0, 0]);
    h.requests[0].transaction!.reply(180, { toTag: 'us' });
    h.clock.advance(700);
    h.layer.receive(invite, peer('udp'));
    h.layer.receive(invite, peer('udp'));
    expect(h.responseTimes(180)).toEqual([0, 700, 700]);
    expect(h.requests).toHaveLength(1);
  });

  it('retransmits a non-2xx final over UDP at T1, 2*T1, 4*T1... capped at T2 until the ACK, which it absorbs', () => {
    const h = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE', branch: 'z9hG4bKfail1' });
    h.layer.receive(invite, peer('udp'));
    h.requests[0].transaction!.reply(486, { toTag: 'us' });
    h.clock.advance(20_000);
    expect(h.responseTimes(486)).toEqual(timerG(20_000)); // 0, 500, 1500, 3500, 7500, 11500, 15500, 19500
    expect(h.responseTimes(486).slice(0, 6)).toEqual([0, 500, 1500, 3500, 7500, 11_500]);
    h.layer.receive(makeRequest({ method: 'ACK', branch: 'z9hG4bKfail1', toTag: 'us' }), peer('udp'));
    h.clock.advance(40_000);
    expect(h.responseTimes(486)).toHaveLength(timerG(20_000).length);
    expect(h.requests.map((r) => r.request.method)).toEqual(['INVITE']); // the ACK stayed in the transaction
    expect(h.ackTimeouts).toEqual([]);
  });

  it('resends the final response when the INVITE comes again before the ACK', () => {
    const h = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE' });
    h.layer.receive(invite, peer('udp'));
    h.requests[0].transaction!.reply(603, { toTag: 'us' });
    h.clock.advance(100);
    h.layer.receive(invite, peer('udp'));
    expect(h.responseTimes(603)).toEqual([0, 100]);
    expect(h.requests).toHaveLength(1);
  });

  it('gives up at Timer H (64*T1) when no ACK comes: retransmissions stop and the user hears of it', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'INVITE' }), peer('udp'));
    const transaction = h.requests[0].transaction!;
    transaction.reply(480, { toTag: 'us' });
    h.clock.advance(64 * T1 - 1);
    expect(h.ackTimeouts).toEqual([]);
    h.clock.advance(1);
    expect(h.ackTimeouts).toEqual([transaction]);
    expect(h.layer.serverCount).toBe(0);
    const sent = h.responseTimes(480).length;
    h.clock.advance(60_000);
    expect(h.responseTimes(480)).toHaveLength(sent);
    expect(Math.max(...h.responseTimes(480))).toBeLessThan(64 * T1);
  });

  it('keeps absorbing copies of the ACK for T4 (Timer I), then forgets the transaction', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKi' }), peer('udp'));
    h.requests[0].transaction!.reply(404, { toTag: 'us' });
    const ack = makeRequest({ method: 'ACK', branch: 'z9hG4bKi', toTag: 'us' });
    h.layer.receive(ack, peer('udp'));
    h.clock.advance(T4 - 1);
    h.layer.receive(ack, peer('udp'));
    expect(h.requests).toHaveLength(1);
    expect(h.layer.serverCount).toBe(1);
    h.clock.advance(1);
    expect(h.layer.serverCount).toBe(0);
  });

  it('on a 2xx moves to Accepted (RFC 6026): copies of the INVITE are absorbed without an answer from the transaction, the ACK (new branch) goes up', () => {
    const h = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE', branch: 'z9hG4bKok' });
    h.layer.receive(invite, peer('udp'));
    const transaction = h.requests[0].transaction!;
    transaction.reply(200, { toTag: 'us' });
    expect(transaction.state).toBe('accepted');
    h.clock.advance(2000);
    h.layer.receive(invite, peer('udp'));
    expect(h.responseTimes(200)).toEqual([0]); // the core retransmits the 2xx, not the transaction
    expect(h.requests).toHaveLength(1);
    h.layer.receive(makeRequest({ method: 'ACK', toTag: 'us' }), peer('udp'));
    expect(h.requests.map((r) => [r.request.method, r.transaction])).toEqual([
      ['INVITE', transaction],
      ['ACK', undefined],
    ]);
    h.clock.advance(64 * T1);
    expect(h.layer.serverCount).toBe(0);
  });

  it('does not retransmit over a reliable transport and ends at once after the ACK (Timer I = 0), Timer H still applying', () => {
    const h = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE', branch: 'z9hG4bKtcp', transport: 'tcp' });
    h.layer.receive(invite, peer('tcp'));
    h.requests[0].transaction!.reply(486, { toTag: 'us' });
    h.clock.advance(10_000);
    expect(h.responseTimes(486)).toEqual([0]);
    expect(h.wire.every((w) => w.destination.connectionId === 7)).toBe(true);
    h.layer.receive(makeRequest({ method: 'ACK', branch: 'z9hG4bKtcp', toTag: 'us', transport: 'tcp' }), peer('tcp'));
    h.clock.advance(0);
    expect(h.layer.serverCount).toBe(0);

    const unacked = new TransactionHarness();
    unacked.layer.receive(makeRequest({ method: 'INVITE', transport: 'tcp' }), peer('tcp'));
    unacked.requests[0].transaction!.reply(486, { toTag: 'us' });
    unacked.clock.advance(64 * T1);
    expect(unacked.ackTimeouts).toHaveLength(1);
    expect(unacked.responseTimes(486)).toEqual([0]);
  });

  it('tells two INVITEs apart by branch and by sent-by, and matches RFC 2543 retransmissions without a magic cookie', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKsame' }), peer('udp'));
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKsame', sentBy: '198.51.100.8:5060', callId: 'other@x' }), peer('udp'));
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKdifferent', callId: 'third@x' }), peer('udp'));
    expect(h.requests).toHaveLength(3);

    const old = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE', branch: '', callId: 'rfc2543@x' });
    old.layer.receive(invite, peer('udp'));
    old.layer.receive(invite, peer('udp'));
    expect(old.requests).toHaveLength(1);
    old.requests[0].transaction!.reply(486, { toTag: 'us' });
    old.layer.receive(makeRequest({ method: 'ACK', branch: '', callId: 'rfc2543@x', toTag: 'us' }), peer('udp'));
    old.clock.advance(10_000);
    expect(old.responseTimes(486)).toEqual([0]);
    expect(old.requests).toHaveLength(1);
  });

  it('finds the INVITE transaction a CANCEL names (same branch), and none for another branch', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKc' }), peer('udp'));
    const invite = h.requests[0].transaction!;
    expect(h.layer.inviteTransactionFor(makeRequest({ method: 'CANCEL', branch: 'z9hG4bKc' }))).toBe(invite);
    expect(h.layer.inviteTransactionFor(makeRequest({ method: 'CANCEL', branch: 'z9hG4bKnot' }))).toBeUndefined();
  });

  it('sends nothing after its final response: neither a second final nor a late provisional', () => {
    const h = new TransactionHarness();
    const invite = makeRequest({ method: 'INVITE' });
    h.layer.receive(invite, peer('udp'));
    const transaction = h.requests[0].transaction!;
    transaction.reply(486, { toTag: 'us' });
    transaction.reply(180, { toTag: 'us' });
    transaction.reply(200, { toTag: 'us' });
    h.layer.receive(invite, peer('udp'));
    expect(h.wire.map((w) => w.message.kind === 'response' && w.message.status)).toEqual([100, 486, 486]);
  });

  it('tags the To of every final response it builds, the same tag each time, and never the 100', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'INVITE' }), peer('udp'));
    const transaction = h.requests[0].transaction!;
    const busy = transaction.reply(486);
    expect(busy.headers.get('to')).toMatch(/;tag=\w+/);
    h.clock.advance(T1);
    const again = h.wire.at(-1)!.message;
    expect(again.kind === 'response' && again.headers.get('to')).toBe(busy.headers.get('to'));
  });
});

describe('non-INVITE server transaction', () => {
  it('answers a retransmitted request with the same final response until Timer J (64*T1), then takes it as new', () => {
    const h = new TransactionHarness();
    const bye = makeRequest({ method: 'BYE', toTag: 'us', cseq: 2 });
    h.layer.receive(bye, peer('udp'));
    expect(h.wire).toEqual([]); // no 100 for a non-INVITE
    h.layer.receive(bye, peer('udp')); // Trying: nothing to resend yet
    expect(h.wire).toEqual([]);
    const ok = h.requests[0].transaction!.reply(200);
    h.clock.advance(10_000);
    expect(h.responseTimes(200)).toEqual([0]); // a non-INVITE final is never retransmitted on its own
    h.layer.receive(bye, peer('udp'));
    h.layer.receive(bye, peer('udp'));
    expect(h.responseTimes(200)).toEqual([0, 10_000, 10_000]);
    expect(h.wire.every((w) => w.message === ok)).toBe(true);
    expect(h.requests).toHaveLength(1);
    h.clock.advance(64 * T1 - 10_000);
    h.layer.receive(bye, peer('udp'));
    expect(h.requests).toHaveLength(2);
  });

  it('resends its provisional response to a retransmission while Proceeding', () => {
    const h = new TransactionHarness();
    const info = makeRequest({ method: 'INFO', toTag: 'us', cseq: 3 });
    h.layer.receive(info, peer('udp'));
    h.requests[0].transaction!.reply(183);
    h.layer.receive(info, peer('udp'));
    expect(h.responseTimes(183)).toEqual([0, 0]);
  });

  it('over a reliable transport forgets the transaction as soon as it answered (Timer J = 0)', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'OPTIONS', transport: 'tcp' }), peer('tcp'));
    h.requests[0].transaction!.reply(200);
    h.clock.advance(0);
    expect(h.layer.serverCount).toBe(0);
  });
});

describe('merged requests (RFC 3261 8.2.2.2)', () => {
  it('names the live transaction a copy of the same request with another branch merges with, until it is refused or forgotten', () => {
    const h = new TransactionHarness();
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKpath1', callId: 'fork@x' }), peer('udp'));
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKpath2', callId: 'fork@x' }), peer('udp'));
    const [first, second] = h.requests.map((r) => r.transaction!);
    expect(h.layer.mergedWith(second)).toBe(first);
    expect(h.layer.mergedWith(first)).toBeUndefined();
    // Another CSeq (a retry after a challenge), another From tag or a request in a dialog is not a copy.
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKretry', callId: 'fork@x', cseq: 2 }), peer('udp'));
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKother', callId: 'fork@x', fromTag: 'other' }), peer('udp'));
    h.layer.receive(makeRequest({ method: 'INVITE', branch: 'z9hG4bKdialog', callId: 'fork@x', toTag: 'us' }), peer('udp'));
    for (const { transaction } of h.requests.slice(2)) expect(h.layer.mergedWith(transaction!)).toBeUndefined();
    // A first copy that was refused does not make the next one a loop.
    first.reply(401);
    expect(h.layer.mergedWith(second)).toBeUndefined();
  });
});
