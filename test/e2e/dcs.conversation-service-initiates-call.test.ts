/**
 * Seed 000's split, in its direction: the conversation service initiates a call on Voxgate (the
 * dialer connector) at DCS_URL, Voxgate's dialout endpoint, with an API client's OAuth token; Voxgate
 * dials through Plivo and the service then runs the call as a webhook bot (its own URL, where call
 * events go), replying on DCS_RESPONSE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { WebhookBrain } from '../support/webhook-brain.js';

const ADMIN_TOKEN = 'bootstrap-admin-token';
const CALLEE = '+14155550377';

describe('the conversation service initiates a call at DCS_URL', () => {
  let brain: WebhookBrain;
  let e2e: E2eSetup;
  beforeAll(async () => {
    brain = await new WebhookBrain().listen();
    e2e = await startE2e({
      api: { token: ADMIN_TOKEN },
      bots: [{ name: 'conversation-service', type: 'webhook', webhook: { url: brain.url } }],
      routes: [{ number: VOXGATE_NUMBER, bot: 'conversation-service' }],
      webhook: { responseToken: 'reply-token' },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await brain?.close();
  });

  /** The service's credentials: an API client holding only the `dialout` scope, exchanged for a Bearer token. */
  async function serviceToken(): Promise<string> {
    const created = await fetch(`${e2e.gateway.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'conversation service', scopes: ['dialout'] }),
    });
    expect(created.status).toBe(201);
    const { clientId, clientSecret } = (await created.json()) as { clientId: string; clientSecret: string };
    const token = await fetch(`${e2e.gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    return ((await token.json()) as { access_token: string }).access_token;
  }

  it('a dialout request to DCS_URL places the call, and the service gets the call events and runs it', async () => {
    const dcsUrl = `${e2e.gateway.publicUrl}/api/v1/actions/dialout`;
    const token = await serviceToken();
    e2e.sim.addCallee(CALLEE, { answerAfterSec: 0.2 });
    brain.answer = (req) => (req.type === 'start' ? { body: { replies: [{ type: 'text', text: 'Hello, your order has shipped.' }, { type: 'hangup', reason: 'notified' }] } } : { body: {} });
    const ended = e2e.nextCallEnded();

    const initiated = await fetch(dcsUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ bot: 'conversation-service', target: `tel:${CALLEE}`, caller: VOXGATE_NUMBER, metadata: { order: 'O-17' } }),
    });
    expect(initiated.status).toBe(200);
    const { conversationId } = (await initiated.json()) as { conversationId: string };

    const start = await brain.request('start');
    expect(start.body).toMatchObject({ type: 'start', call_id: conversationId, direction: 'outbound', response_url: `${e2e.gateway.publicUrl}/webhook/response` });
    const end = await ended;
    expect(end).toMatchObject({ callId: conversationId, reason: 'bot-hangup' });
    await e2e.gateway.records.flush();
    const lines = await e2e.gateway.store.transcripts.listForCall(conversationId);
    expect(lines.map((l) => `${l.speaker}: ${l.text}`)).toEqual(['bot: Hello, your order has shipped.']);
  });

  it('DCS_URL refuses a request without credentials, or with a token lacking the dialout scope', async () => {
    const dcsUrl = `${e2e.gateway.publicUrl}/api/v1/actions/dialout`;
    const body = JSON.stringify({ bot: 'conversation-service', target: CALLEE, caller: VOXGATE_NUMBER });
    expect((await fetch(dcsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(401);
    const reader = await fetch(`${e2e.gateway.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reader', scopes: ['calls:read'] }),
    });
    const { clientId, clientSecret } = (await reader.json()) as { clientId: string; clientSecret: string };
    const tokenRes = await fetch(`${e2e.gateway.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}` });
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const refused = await fetch(dcsUrl, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' }, body });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/dialout/);
  });
});
