import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookBotConnector } from '../../src/bots/webhook/index.js';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { WebhookBrain } from '../support/webhook-brain.js';
import { nextActivities } from '../support/webhook-response-server.js';

describe('webhook bot: call start, caller turns and end reach the brain', () => {
  let brain: WebhookBrain;
  beforeEach(async () => {
    brain = await new WebhookBrain({ token: 's3cret' }).listen();
  });
  afterEach(() => brain.close());

  it('posts start with the call id and speaks the greeting the brain answers with', async () => {
    brain.answer = (req) => (req.type === 'start' ? { body: { replies: [{ type: 'text', call_id: req.call_id, text: 'Hello, this is Ori.' }] } } : { body: {} });
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 's3cret' });
    const greeting = nextActivities(bot);
    await bot.start({ conversationId: 'call-1', direction: 'outbound', caller: '+15550001', callee: '+15550002', callerDisplayName: 'Acme', parameters: { campaign: 'renewals' } });

    const start = await brain.request('start');
    expect(start.authorization).toBe('Bearer s3cret');
    expect(start.body).toEqual({
      type: 'start',
      call_id: 'call-1',
      caller: '+15550001',
      callee: '+15550002',
      direction: 'outbound',
      parameters: { campaign: 'renewals', callerDisplayName: 'Acme' },
    });
    const [activity] = await greeting;
    expect(activity).toMatchObject({ type: 'message', text: 'Hello, this is Ori.' });
    expect(activity!.id).toBeTruthy();
  });

  it('sends caller text and DTMF in order with the call id, and the end only once', async () => {
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 's3cret' });
    await bot.start({ conversationId: 'call-2', direction: 'inbound', caller: '+1', callee: '+2' });
    await bot.send(messageActivity('I want to renew'));
    await bot.send(eventActivity('DTMF', { value: '42#' }));
    await bot.send(eventActivity('noUserInput', { value: 1 }));
    await bot.end('client-disconnected', 'caller hung up');
    await bot.end('client-disconnected');
    await bot.send(messageActivity('too late'));

    expect(brain.requests.map((r) => r.body)).toEqual([
      expect.objectContaining({ type: 'start', call_id: 'call-2' }),
      { type: 'text', call_id: 'call-2', text: 'I want to renew' },
      { type: 'dtmf', call_id: 'call-2', digits: '42#' },
      { type: 'end', call_id: 'call-2', reason: 'caller hung up', reason_code: 'client-disconnected' },
    ]);
  });

  it('answers a caller turn with several replies in one response', async () => {
    brain.answer = (req) =>
      req.type === 'text'
        ? { body: { replies: [{ type: 'text', text: 'One moment.' }, { type: 'text', call_id: req.call_id, text: 'Your plan is renewed.' }] } }
        : { body: {} };
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 's3cret' });
    await bot.start({ conversationId: 'call-3', direction: 'inbound', caller: '+1', callee: '+2' });
    const answer = nextActivities(bot);
    await bot.send(messageActivity('renew please'));
    expect((await answer).map((a) => a.text)).toEqual(['One moment.', 'Your plan is renewed.']);
  });
});
