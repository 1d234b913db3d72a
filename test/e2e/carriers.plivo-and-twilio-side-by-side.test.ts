import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLIVO_NUMBER, TWILIO_NUMBER, startTwilioE2e, type TwilioE2eSetup } from '../support/e2e-twilio.js';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';

const TOKEN = 'two-carriers-token';
const flow = (greeting: string) => ({
  name: 'hello',
  language: 'en-US',
  start: 'hi',
  steps: { hi: { say: greeting, hangup: 'completed' } },
});

describe('Plivo and Twilio in one gateway at once', () => {
  let e2e: TwilioE2eSetup;
  beforeAll(async () => {
    e2e = await startTwilioE2e(
      {
        api: { token: TOKEN },
        dialer: { callsPerSecond: 10 },
        bots: [
          { name: 'plivo-bot', type: 'flow', flow: flow('You called us through Plivo.') },
          { name: 'twilio-bot', type: 'flow', flow: flow('You called us through Twilio.') },
        ],
        // The same catch-all would take both; each number belongs to its carrier.
        routes: [
          { number: PLIVO_NUMBER, bot: 'plivo-bot', carrier: 'plivo' },
          { number: TWILIO_NUMBER, bot: 'twilio-bot', carrier: 'twilio' },
        ],
      },
      { withPlivo: true },
    );
  });
  afterAll(() => e2e?.close());

  it('takes calls from both carriers at the same time, each routed by its carrier and recorded with it', async () => {
    const plivoCalls = [1, 2].map((i) => e2e.plivo!.dialInbound({ from: `+1415555030${i}`, to: PLIVO_NUMBER, script: { hangupAfterSec: 20 } }));
    const twilioCalls = [1, 2].map((i) => e2e.twilio.dialInbound({ from: `+1415555040${i}`, to: TWILIO_NUMBER, script: { hangupAfterSec: 20 } }));
    // All four are up together before any ends.
    await expect.poll(() => e2e.gateway.calls.size).toBe(4);
    expect(new Set(e2e.gateway.calls.list().map((c) => c.info.carrier))).toEqual(new Set(['plivo', 'twilio']));
    const results = await Promise.all([...plivoCalls.map((c) => c.ended), ...twilioCalls.map((c) => c.ended)]);
    expect(results.map((r) => ('status' in r ? r.status : r.cause))).toEqual(['Normal Hangup', 'Normal Hangup', 'completed', 'completed']);
    await e2e.gateway.records.flush();
    for (const call of plivoCalls) {
      const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
      expect(record).toMatchObject({ carrier: 'plivo', bot: 'plivo-bot', endReason: 'bot-hangup' });
      expect((await e2e.gateway.store.transcripts.listForCall(record!.id)).map((l) => l.text)).toEqual(['You called us through Plivo.']);
    }
    for (const call of twilioCalls) {
      const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callSid, 'twilio');
      expect(record).toMatchObject({ carrier: 'twilio', bot: 'twilio-bot', endReason: 'bot-hangup' });
      expect((await e2e.gateway.store.transcripts.listForCall(record!.id)).map((l) => l.text)).toEqual(['You called us through Twilio.']);
    }
    const metrics = parsePrometheusText(await (await fetch(`${e2e.gateway.url}/metrics`)).text());
    expect(sampleValue(metrics, 'voxgate_calls_total', { direction: 'inbound', carrier: 'plivo', reason: 'bot-hangup' })).toBe(2);
    expect(sampleValue(metrics, 'voxgate_calls_total', { direction: 'inbound', carrier: 'twilio', reason: 'bot-hangup' })).toBe(2);
  });

  it('places each outbound call through the carrier its caller number belongs to, or the one it names; refuses a call with no way to choose', async () => {
    e2e.plivo!.addCallee('+14155550501', { answerAfterSec: 0.2 });
    e2e.twilio.addCallee('+14155550502', { answerAfterSec: 0.2 });
    e2e.twilio.addCallee('+14155550503', { answerAfterSec: 0.2 });
    const dialout = (body: Record<string, unknown>) =>
      fetch(`${e2e.gateway.url}/api/v1/actions/dialout`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ bot: 'plivo-bot', ...body }) });
    const completed = new Map<string, string | undefined>();
    const allDone = new Promise<void>((resolve) =>
      e2e.gateway.bus.subscribe('outbound.status', (e) => {
        if (e.status !== 'completed' && e.status !== 'failed') return;
        completed.set(e.conversationId, `${e.carrier}:${e.status}`);
        if (completed.size === 3) resolve();
      }),
    );
    const ids: string[] = [];
    for (const body of [
      { target: '+14155550501', caller: PLIVO_NUMBER },
      { target: '+14155550502', caller: TWILIO_NUMBER },
      { target: '+14155550503', caller: '+14155550999', carrier: 'twilio' },
    ]) {
      const res = await dialout(body);
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { conversationId: string }).conversationId);
    }
    await allDone;
    expect(ids.map((id) => completed.get(id))).toEqual(['plivo:completed', 'twilio:completed', 'twilio:completed']);
    const ambiguous = await dialout({ target: '+14155550504', caller: '+14155550999' });
    expect(ambiguous.status).toBe(400);
    expect(((await ambiguous.json()) as { error: string }).error).toMatch(/^carrier: 2 carriers are configured \(plivo, twilio\); name one/);
  });
});
