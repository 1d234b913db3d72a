import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookBotConnector, WebhookBotError } from '../../src/bots/webhook/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { WebhookBrain } from '../support/webhook-brain.js';
import { nextFailure } from '../support/webhook-response-server.js';
import { FakeClock } from '../support/fake-clock.js';

const call = { conversationId: 'call-f', direction: 'inbound' as const, caller: '+1', callee: '+2' };

describe('webhook bot: a brain that fails is reported, never thrown', () => {
  let brain: WebhookBrain;
  beforeEach(async () => {
    brain = await new WebhookBrain({ token: 'brain-token' }).listen();
  });
  afterEach(() => brain.close());

  it('reports a 500 on a caller turn as a failure naming the status', async () => {
    brain.answer = (req) => (req.type === 'text' ? { status: 500, body: { error: 'database down' } } : { body: {} });
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 'brain-token' });
    await bot.start(call);
    const failure = nextFailure(bot);
    await expect(bot.send(messageActivity('hello'))).resolves.toBeUndefined();
    const err = await failure;
    expect(err).toBeInstanceOf(WebhookBotError);
    expect(err.message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/webhook \(text\) answered 500: .*database down/);
  });

  it('reports a rejected token at start with a hint to check it', async () => {
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 'wrong' });
    const failure = nextFailure(bot);
    await bot.start(call);
    expect((await failure).message).toMatch(/answered 401 \(check the webhook bot token\)/);
  });

  it('reports an unreachable brain', async () => {
    const url = brain.url;
    await brain.close();
    const bot = new WebhookBotConnector({ name: 'ori', url });
    const failure = nextFailure(bot);
    await bot.start(call);
    expect((await failure).message).toMatch(/\(start\) failed: ECONNREFUSED/);
  });

  it('reports a brain that does not answer within requestTimeoutMs (fake clock)', async () => {
    brain.answer = () => 'hold';
    const clock = new FakeClock();
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 'brain-token', requestTimeoutMs: 3000, clock });
    let failed = false;
    bot.on('failure', () => (failed = true));
    const failure = nextFailure(bot);
    const started = bot.start(call);
    await brain.request('start');
    clock.advance(2999);
    expect(failed).toBe(false);
    clock.advance(1);
    const err = await failure;
    expect(err.message).toMatch(/\(start\) got no answer within 3000 ms/);
    await started;
  });

  it('reports a malformed synchronous answer naming the field', async () => {
    brain.answer = () => ({ body: { replies: [{ type: 'text', text: 'ok' }, { type: 'text', text: '' }] } });
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 'brain-token' });
    let activities = 0;
    bot.on('activities', () => activities++);
    const failure = nextFailure(bot);
    await bot.start(call);
    expect((await failure).message).toContain('replies[1]: reply field "text" must be a non-empty string');
    expect(activities).toBe(0);
  });

  it('reports an answer that is not JSON, and a reply for another call', async () => {
    brain.answer = (req) => (req.type === 'start' ? { body: '<html>oops</html>' } : { body: { replies: [{ type: 'text', call_id: 'someone-else', text: 'hi' }] } });
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, token: 'brain-token' });
    let failure = nextFailure(bot);
    await bot.start(call);
    expect((await failure).message).toMatch(/answered 200 with a body that is not JSON: <html>oops/);
    failure = nextFailure(bot);
    await bot.send(messageActivity('hi'));
    expect((await failure).message).toContain('reply field "call_id" is "someone-else" but the request was for call "call-f"');
  });

  it('reports a bad url at start without sending anything', async () => {
    const bot = new WebhookBotConnector({ name: 'ori', url: 'brain.local/webhook' });
    const failure = nextFailure(bot);
    await bot.start(call);
    expect((await failure).message).toContain('url "brain.local/webhook" is not an absolute http(s) URL');
  });
});

describe('webhook bot: the call ends while the brain is still thinking', () => {
  it('drops the waiting request without a failure and still tells the brain the call ended', async () => {
    const brain = await new WebhookBrain().listen();
    try {
      brain.answer = (req) => (req.type === 'text' ? 'hold' : { body: {} });
      const clock = new FakeClock();
      const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, clock });
      const failures: Error[] = [];
      bot.on('failure', (e) => failures.push(e));
      await bot.start(call);
      const turn = bot.send(messageActivity('hello?'));
      await brain.request('text');
      await bot.end('client-disconnected', 'caller hung up');
      await turn;
      expect((await brain.request('end')).body).toMatchObject({ type: 'end', call_id: 'call-f', reason: 'caller hung up' });
      expect(failures).toEqual([]);
      expect(clock.pendingTimers()).toBe(0);
    } finally {
      await brain.close();
    }
  });
});
