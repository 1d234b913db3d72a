import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, VOXGATE_NUMBER, type E2eSetup } from '../support/e2e-gateway.js';
import { WebhookBrain } from '../support/webhook-brain.js';

describe('a webhook bot (conversation service / dialer connector split) on a Plivo call, end to end', () => {
  let brain: WebhookBrain;
  let e2e: E2eSetup;
  beforeAll(async () => {
    brain = await new WebhookBrain({ token: 'brain-token' }).listen();
    e2e = await startE2e({
      bots: [{ name: 'brain', type: 'webhook', webhook: { url: brain.url, token: 'brain-token' } }],
      routes: [{ number: VOXGATE_NUMBER, bot: 'brain' }],
      webhook: { responseToken: 'reply-token' },
    });
  });
  afterAll(async () => {
    await e2e?.close();
    await brain?.close();
  });

  it('plays the brain’s audio_url instead of synthesizing, takes async replies on /webhook/response, and hangs up on request', async () => {
    brain.answer = (req) => (req.type === 'start' ? { body: { replies: [{ type: 'text', text: 'Welcome to the brain.', audio_url: brain.audioUrl('welcome') }] } } : { body: {} });
    const ended = e2e.nextCallEnded();
    const call = e2e.sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 30 } });
    const start = await brain.request('start');
    expect(start.authorization).toBe('Bearer brain-token');
    // Once the caller has heard the welcome, the brain answers later, on its own, through Voxgate's response endpoint.
    call.once('heard-audio-stop', () => {
      void (async () => {
        const url = `${e2e.gateway.publicUrl}/webhook/response`;
        const rejected = await brain.postReply(url, { type: 'text', call_id: start.call_id, text: 'Goodbye.' }, 'wrong-token');
        expect(rejected.status).toBe(401);
        expect((await brain.postReply(url, { type: 'text', call_id: start.call_id, text: 'Goodbye.', audio_url: brain.audioUrl('goodbye') }, 'reply-token')).status).toBe(200);
        expect((await brain.postReply(url, { type: 'hangup', call_id: start.call_id, reason: 'done' }, 'reply-token')).status).toBe(200);
      })();
    });
    const result = await call.ended;
    const end = await ended;
    await e2e.gateway.records.flush();

    expect(end).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
    expect(brain.audioFetches).toEqual(['/audio/welcome.wav', '/audio/goodbye.wav']);
    const heard = call.timeline.filter((e) => e.type === 'heard-audio-stop').map((e) => (e as { durationMs: number }).durationMs);
    expect(heard).toHaveLength(2);
    for (const ms of heard) expect(Math.abs(ms - 200)).toBeLessThan(40); // the brain's 200 ms WAVs, not synthesized speech
    expect(result.cause).toBe('Normal Hangup');
    const record = await e2e.gateway.store.calls.getByCarrierCallId(call.callUuid, 'plivo');
    const lines = await e2e.gateway.store.transcripts.listForCall(record!.id);
    expect(lines.map((l) => `${l.speaker}: ${l.text}`)).toEqual(['bot: Welcome to the brain.', 'bot: Goodbye.']);
    // An unknown call id is refused, naming the problem.
    expect((await brain.postReply(`${e2e.gateway.publicUrl}/webhook/response`, { type: 'text', call_id: 'no-such-call', text: 'hi' }, 'reply-token')).status).toBe(404);
  });
});
