import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed002EscalationPlan } from '../../src/bots/dial-plan/index.js';
import { CallbackReceiver } from '../support/callback-receiver.js';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';

const TOKEN = 'outbound-api-token';
const SECRET = 'callback-signing-secret';
const flow = {
  name: 'offer',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: 'Press 1 to accept.', maxDigits: 1, timeoutMs: 4000, branches: { '1': 'yes' }, noMatch: 'bye', timeout: 'bye' } },
    yes: { say: 'Thanks.', hangup: 'accepted' },
    bye: { say: 'Bye.', hangup: 'completed' },
  },
};

describe('outbound APIs over HTTP: dialout and the conversation API (dial plans)', () => {
  let e2e: E2eSetup;
  let receiver: CallbackReceiver;
  const post = (path: string, body: unknown, token = TOKEN) =>
    fetch(`${e2e.gateway.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

  beforeAll(async () => {
    e2e = await startE2e({ api: { token: TOKEN }, callbacks: { secret: SECRET }, bots: [{ name: 'offer', type: 'flow', flow }], routes: [{ number: '*', bot: 'offer' }] });
    receiver = await CallbackReceiver.start({ secret: SECRET });
  });
  afterAll(async () => {
    await e2e?.close();
    await receiver?.close();
  });

  it('dialout answers with the conversation id and notifies answered then completed, signed', async () => {
    e2e.sim.addCallee('+14155550301', { answerAfterSec: 0.2, keys: [{ atSec: 0.8, digits: '1' }] });
    const before = receiver.requests.length;
    const res = await post('/actions/dialout', { bot: 'offer', target: 'tel:+14155550301', caller: VOXGATE_NUMBER, notifyUrl: receiver.url('/dialout'), metadata: { ticket: 'T-9' } });
    expect(res.status).toBe(200);
    const { conversationId } = (await res.json()) as { conversationId: string };
    const got = (await receiver.waitForRequests(before + 2)).slice(before);
    expect(got.map((r) => JSON.parse(r.body))).toEqual([
      { conversationId, status: 'answered' },
      { conversationId, status: 'completed', reasonCode: 'normal' },
    ]);
    expect(got.every((r) => 'status' in r.reply && r.reply.status === 200 && r.headers['idempotency-key'] && r.headers['x-voxgate-signature'])).toBe(true);
  });

  it('dialout to a busy line notifies failed with reason busy', async () => {
    e2e.sim.addCallee('+14155550302', { busy: true });
    const before = receiver.requests.length;
    const res = await post('/actions/dialout', { bot: 'offer', target: '+14155550302', caller: VOXGATE_NUMBER, notifyUrl: receiver.url('/busy') });
    const { conversationId } = (await res.json()) as { conversationId: string };
    const [note] = (await receiver.waitForRequests(before + 1)).slice(before);
    expect(JSON.parse(note.body)).toMatchObject({ conversationId, status: 'failed', reasonCode: 'busy' });
  });

  it('refuses a wrong token (401), a bad body naming the field (400) and an unknown bot (400)', async () => {
    expect((await post('/actions/dialout', { bot: 'offer', target: '+1415', caller: VOXGATE_NUMBER }, 'wrong')).status).toBe(401);
    const bad = await post('/actions/dialout', { bot: 'offer', caller: VOXGATE_NUMBER });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^target: Required/);
    const unknown = await post('/actions/dialout', { bot: 'ghost', target: '+14155550303', caller: VOXGATE_NUMBER });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe('bot: unknown bot "ghost"');
  });

  it('the conversation API runs a dial plan; OnChange reports every status and the collected key at the end', async () => {
    // The key falls in the first menu (the ticket itself cannot be interrupted): collected at once.
    e2e.sim.addCallee('+14155550304', { answerAfterSec: 0.2, keys: [{ afterHeardSec: 2.2, digits: '1' }] });
    const before = receiver.requests.length;
    const res = await post('/calls', {
      from: VOXGATE_NUMBER,
      to: { phone: '+14155550304' },
      dialPlan: seed002EscalationPlan('Ticket 42.', { waitSeconds: 3 }),
      callback: { url: receiver.url('/conversation'), strategy: 'OnChange' },
    });
    expect(res.status).toBe(200);
    const { conversationId } = (await res.json()) as { conversationId: string; status: string };
    const notes: { status: string; input?: { dtmf: string } }[] = [];
    for (let n = before + 1; ; n++) {
      const all = await receiver.waitForRequests(n);
      notes.push(JSON.parse(all[n - 1].body) as { status: string; input?: { dtmf: string } });
      if (notes.at(-1)!.status === 'completed' || notes.at(-1)!.status === 'failed') break;
    }
    expect(notes.map((n) => n.status)).toEqual(['queued', 'ringing', 'answered', 'completed']);
    expect(notes.at(-1)).toMatchObject({ conversationId, input: { dtmf: '1' } });
  });

  it('OnCompletion reports once, at the end', async () => {
    e2e.sim.addCallee('+14155550305', { busy: true });
    const before = receiver.requests.length;
    const res = await post('/calls', { from: VOXGATE_NUMBER, to: { phone: '+14155550305' }, dialPlan: { verbs: [{ type: 'SAY', message: { text: 'Hello' } }] }, callback: { url: receiver.url('/once'), strategy: 'OnCompletion' } });
    const { conversationId } = (await res.json()) as { conversationId: string };
    const [note] = (await receiver.waitForRequests(before + 1)).slice(before);
    expect(JSON.parse(note.body)).toMatchObject({ conversationId, status: 'busy' });
  });

  it('a dial plan naming an unknown placeholder is refused before dialing', async () => {
    const res = await post('/calls', { from: VOXGATE_NUMBER, to: { phone: '+14155550306' }, dialPlan: { verbs: [{ type: 'SAY', message: { text: 'Hello ${name}' } }] } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^dialPlan: .*name/);
  });
});
