import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookBotConnector } from '../../src/bots/webhook/index.js';
import { WebhookBrain } from '../support/webhook-brain.js';
import { WebhookResponseServer } from '../support/webhook-response-server.js';

describe('webhook bot: the response endpoint refuses what it cannot deliver', () => {
  let brain: WebhookBrain;
  let voxgate: WebhookResponseServer;
  let bot: WebhookBotConnector;
  let delivered: number;
  beforeEach(async () => {
    brain = await new WebhookBrain().listen();
    voxgate = await new WebhookResponseServer('resp-token').listen();
    bot = new WebhookBotConnector({ name: 'ori', url: brain.url, router: voxgate.router });
    delivered = 0;
    bot.on('activities', () => delivered++);
    await bot.start({ conversationId: 'call-live', direction: 'inbound', caller: '+1', callee: '+2' });
  });
  afterEach(async () => {
    await brain.close();
    await voxgate.close();
  });

  it.each([
    [{ type: 'text', call_id: 'call-live' }, 'text'],
    [{ type: 'text', text: 'hi' }, 'call_id'],
    [{ type: 'speak', call_id: 'call-live', text: 'hi' }, 'type'],
    [{ type: 'text', call_id: 'call-live', text: 'hi', audio_url: 'file:///etc/passwd' }, 'audio_url'],
    [{ type: 'transfer', call_id: 'call-live' }, 'target'],
    [{ type: 'hangup', call_id: 'call-live', reason: 42 }, 'reason'],
    [[{ type: 'text', call_id: 'call-live', text: 'hi' }], 'must be a JSON object'],
  ])('answers 400 naming the bad field for %j', async (reply, named) => {
    const res = await brain.postReply(voxgate.responseUrl, reply, 'resp-token');
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toContain(named);
    expect(delivered).toBe(0);
  });

  it('answers 404 for a call id it does not know', async () => {
    const res = await brain.postReply(voxgate.responseUrl, { type: 'text', call_id: 'call-nope', text: 'hi' }, 'resp-token');
    expect(res.status).toBe(404);
    expect((res.body as { error: string }).error).toContain('call-nope');
  });

  it('answers 404 once the call has ended, and the ended call gets nothing', async () => {
    await bot.end('client-disconnected');
    const res = await brain.postReply(voxgate.responseUrl, { type: 'text', call_id: 'call-live', text: 'are you there?' }, 'resp-token');
    expect(res.status).toBe(404);
    expect(delivered).toBe(0);
    expect(voxgate.router.size).toBe(0);
  });

  it('answers 401 without the bearer token or with a wrong one', async () => {
    const reply = { type: 'text', call_id: 'call-live', text: 'hi' };
    expect((await brain.postReply(voxgate.responseUrl, reply)).status).toBe(401);
    expect((await brain.postReply(voxgate.responseUrl, reply, 'resp-tokeX')).status).toBe(401);
    expect(delivered).toBe(0);
    expect((await brain.postReply(voxgate.responseUrl, reply, 'resp-token')).status).toBe(200);
    expect(delivered).toBe(1);
  });
});
