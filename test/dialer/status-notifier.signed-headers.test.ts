import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { signVoxgateCallback, verifyVoxgateSignature } from '../../src/dialer/status-notifier.js';
import { CALLBACK_SECRET, startNotifierHarness, T0, type NotifierHarness } from '../support/callback-receiver.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('status callbacks are signed', (ctx) => {
  let h: NotifierHarness;
  afterEach(async () => h?.close());

  it('POSTs the JSON with Idempotency-Key, timestamp and an HMAC-SHA256 signature the receiver verifies', async () => {
    h = await startNotifierHarness(ctx.store);
    const payload = { conversationId: 'conv-9', status: 'completed', dtmf: '1#', note: 'Καλημέρα' };
    h.notifier.notify(h.receiver.url('/hooks/voxgate'), payload, 'conv-9:completed');
    const [req] = await h.receiver.waitForRequests(1);
    await h.notifier.idle();

    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks/voxgate');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('conv-9:completed');
    expect(req.headers['x-voxgate-timestamp']).toBe(String(T0 / 1000));
    expect(JSON.parse(req.body)).toEqual(payload);
    const expected = createHmac('sha256', CALLBACK_SECRET).update(`${T0 / 1000}.${req.body}`).digest('hex');
    expect(req.headers['x-voxgate-signature']).toBe(`sha256=${expected}`);
    expect(verifyVoxgateSignature(CALLBACK_SECRET, req.headers['x-voxgate-timestamp'] as string, req.body, req.headers['x-voxgate-signature'] as string, 300, T0)).toBe(true);
    expect(req.reply).toMatchObject({ status: 200 });
    expect(await h.outbox.get('conv-9:completed')).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a receiver holding another secret answers 401: failed at once, not retried', async () => {
    h = await startNotifierHarness(ctx.store, { secret: 'someone-elses-secret' });
    h.notifier.notify(h.receiver.url(), { status: 'ringing' }, 'conv-10:ringing');
    await h.receiver.waitForRequests(1);
    await h.notifier.idle();
    h.clock.advance(3600_000);
    await h.notifier.idle();
    expect(h.receiver.requests).toHaveLength(1);
    expect(await h.outbox.get('conv-10:ringing')).toMatchObject({ status: 'failed', attempts: 1, lastError: 'HTTP 401: {"error":"invalid X-Voxgate-Signature"}' });
  });
});

describe('verifyVoxgateSignature', () => {
  const body = '{"status":"answered"}';
  const ts = 1_700_000_000;
  const header = signVoxgateCallback('s3cret', ts, body);
  const now = ts * 1000;

  it('accepts the signature of the exact body and timestamp', () => {
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyVoxgateSignature('s3cret', String(ts), body, header, 300, now)).toBe(true);
    expect(verifyVoxgateSignature('s3cret', ts, Buffer.from(body), header, 300, now)).toBe(true);
  });

  it('matches the example in the README (secret whsec_example)', () => {
    expect(signVoxgateCallback('whsec_example', 1_700_000_000, '{"conversationId":"conv-1","status":"completed"}')).toBe(
      'sha256=e253d374d36201975a279034860606a948839b9cd85dd9eef263bdaea3b6bbb0',
    );
  });

  it('rejects a changed body, timestamp, secret, or a malformed header', () => {
    expect(verifyVoxgateSignature('s3cret', String(ts), '{"status":"failed"}', header, 300, now)).toBe(false);
    expect(verifyVoxgateSignature('s3cret', String(ts + 1), body, header, 300, now)).toBe(false);
    expect(verifyVoxgateSignature('other', String(ts), body, header, 300, now)).toBe(false);
    expect(verifyVoxgateSignature('s3cret', String(ts), body, header.slice(7), 300, now)).toBe(false);
    expect(verifyVoxgateSignature('s3cret', String(ts), body, 'sha256=zz', 300, now)).toBe(false);
    expect(verifyVoxgateSignature('s3cret', undefined, body, header, 300, now)).toBe(false);
    expect(verifyVoxgateSignature('s3cret', String(ts), body, undefined, 300, now)).toBe(false);
  });

  it('rejects a replay older than the tolerance (5 minutes by default)', () => {
    expect(verifyVoxgateSignature('s3cret', String(ts), body, header, undefined, now + 300_000)).toBe(true);
    expect(verifyVoxgateSignature('s3cret', String(ts), body, header, undefined, now + 301_000)).toBe(false);
    expect(verifyVoxgateSignature('s3cret', String(ts), body, header, Infinity, now + 86_400_000)).toBe(true);
  });
});
