/**
 * Blind transfer (RFC 3515) from the UAS side, on a fake clock: the REFER goes in the dialog with
 * Refer-To and Referred-By, the transfer succeeds on the NOTIFY whose sipfrag says 2xx (each NOTIFY
 * answered 200), and fails on a refused REFER, a failure sipfrag, or no final NOTIFY in time.
 */
import { describe, expect, it } from 'vitest';
import { CallHarness } from './sip-call-harness.js';

const sipfrag = (line: string) => `${line}\r\n`;

async function confirmedCall(): Promise<CallHarness> {
  const h = new CallHarness();
  h.offerAndAnswer();
  h.ack();
  return h;
}

function notify(h: CallHarness, body: string, state = 'active;expires=60'): void {
  h.inDialog('NOTIFY', [['Event', 'refer'], ['Subscription-State', state], ['Content-Type', 'message/sipfrag;version=2.0']], body);
}

describe('SipCall: REFER transfer', () => {
  it('sends the REFER in the dialog with Refer-To and Referred-By, answers each NOTIFY 200, and succeeds on the 200 sipfrag', async () => {
    const h = await confirmedCall();
    const transfer = h.call.refer('sip:+14155550100@pbx.example.net', { 'X-Reason': 'sales' });
    const [refer] = h.requests('REFER');
    expect(refer.message.headers.get('refer-to')).toBe('<sip:+14155550100@pbx.example.net>');
    expect(refer.message.headers.get('referred-by')).toContain('sip:+14155550170@192.0.2.100');
    expect(refer.message.headers.get('x-reason')).toBe('sales');
    expect(refer.message.headers.get('to')).toContain(`tag=${h.fromTag}`);
    expect(refer.message.headers.get('contact')).toBe('<sip:voxgate@192.0.2.100:5060>');
    h.respondTo(refer, 202);
    notify(h, sipfrag('SIP/2.0 100 Trying'));
    notify(h, sipfrag('SIP/2.0 180 Ringing'));
    let settled = false;
    void transfer.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    notify(h, sipfrag('SIP/2.0 200 OK'), 'terminated;reason=noresource');
    await expect(transfer).resolves.toBeUndefined();
    expect(h.sentResponses(200, 'NOTIFY')).toHaveLength(3);
  });

  it('fails when the peer refuses the REFER', async () => {
    const h = await confirmedCall();
    const transfer = h.call.refer('sip:bob@pbx.example.net');
    h.respondTo(h.requests('REFER')[0], 403);
    await expect(transfer).rejects.toThrow(/refused by the peer: 403/);
  });

  it('fails when the NOTIFY reports the target busy', async () => {
    const h = await confirmedCall();
    const transfer = h.call.refer('sip:bob@pbx.example.net');
    h.respondTo(h.requests('REFER')[0], 202);
    notify(h, sipfrag('SIP/2.0 486 Busy Here'), 'terminated');
    await expect(transfer).rejects.toThrow(/486 Busy Here/);
  });

  it('fails when no final NOTIFY comes within the transfer timeout, and refuses a second transfer meanwhile', async () => {
    const h = await confirmedCall();
    const transfer = h.call.refer('sip:bob@pbx.example.net');
    await expect(h.call.refer('sip:carol@pbx.example.net')).rejects.toThrow(/already in progress/);
    h.respondTo(h.requests('REFER')[0], 202);
    h.clock.advance(30_000);
    await expect(transfer).rejects.toThrow(/no final NOTIFY/);
  });

  it('fails when the call ends during the transfer', async () => {
    const h = await confirmedCall();
    const transfer = h.call.refer('sip:bob@pbx.example.net');
    h.respondTo(h.requests('REFER')[0], 202);
    h.inDialog('BYE');
    await expect(transfer).rejects.toThrow(/ended before the transfer completed/);
    expect(h.ended).toEqual([expect.objectContaining({ side: 'caller' })]);
  });

  it('cannot transfer a call that is not answered and confirmed', async () => {
    const h = new CallHarness();
    h.offerAndAnswer();
    await expect(h.call.refer('sip:bob@pbx.example.net')).rejects.toThrow(/the call is answering/);
  });
});
