import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { cxText } from '../support/dialogflow-cx-server.js';
import { CALL, CxFixture } from './cx-fixture.js';

describe('Dialogflow CX: caller turns become detectIntent queries on the call\'s session', () => {
  let f: CxFixture;
  beforeEach(async () => {
    f = await new CxFixture().start();
    f.cx.reply({ responseMessages: [cxText('Welcome!')] });
    await f.connector.start(CALL);
    await f.batchesReceived(1);
  });
  afterEach(() => f.close());

  it('sends recognized speech as text input and plays the answer', async () => {
    f.cx.reply({ responseMessages: [cxText('Your order ships tomorrow.')] });
    await f.connector.send(messageActivity('where is my order'));
    expect((await f.batchesReceived(2))[1].map((a) => a.text)).toEqual(['Your order ships tomorrow.']);
    expect(f.cx.requests[1].sessionId).toBe(CALL.conversationId);
    expect(f.cx.requests[1].body.queryInput).toEqual({ text: { text: 'where is my order' }, languageCode: 'en' });
    expect(f.google.requests).toHaveLength(1); // the start's token is reused
  });

  it('sends the recognizer\'s language when the caller\'s turn carries one', async () => {
    await f.connector.send(messageActivity('bonjour', { language: 'fr-FR' }));
    await f.cx.waitForRequests(2);
    expect(f.cx.requests[1].body.queryInput.languageCode).toBe('fr-FR');
  });

  it('sends keypad digits as DTMF input, a trailing # as the finish digit', async () => {
    f.cx.reply({ responseMessages: [cxText('Account 1234 found.')] }, { responseMessages: [cxText('Operator.')] });
    await f.connector.send(eventActivity('DTMF', { value: '1234#' }));
    await f.connector.send(eventActivity('DTMF', { value: '0' }));
    await f.batchesReceived(3);
    expect(f.cx.requests[1].body.queryInput).toEqual({ dtmf: { digits: '1234', finishDigit: '#' }, languageCode: 'en' });
    expect(f.cx.requests[2].body.queryInput).toEqual({ dtmf: { digits: '0' }, languageCode: 'en' });
  });

  it('sends caller silence as the no-input event', async () => {
    f.cx.reply({ responseMessages: [cxText('Are you still there?')] });
    await f.connector.send(eventActivity('noUserInput', { value: 1 }));
    expect((await f.batchesReceived(2))[1][0].text).toBe('Are you still there?');
    expect(f.cx.requests[1].body.queryInput).toEqual({ event: { event: 'sys.no-input-default' }, languageCode: 'en' });
  });

  it('keeps the caller\'s order: a turn waits for the agent\'s answer to the previous one', async () => {
    f.cx.reply({ hang: true });
    const first = f.connector.send(messageActivity('first'));
    const second = f.connector.send(messageActivity('second'));
    await f.cx.waitForRequests(2);
    expect(f.cx.requests).toHaveLength(2); // "second" is held back while "first" is unanswered
    f.clock.advance(5000); // first times out: the call fails, second is never sent
    await Promise.all([first, second]);
    expect((await f.failure()).message).toMatch(/Dialogflow CX detectIntent \(text\).*got no answer within 5000 ms/);
    expect(f.cx.requests.map((r) => r.body.queryInput.text?.text)).toEqual([undefined, 'first']);
  });

  it('does not send empty speech or gateway-internal events', async () => {
    await f.connector.send(messageActivity('   '));
    await f.connector.send(eventActivity('promptInterrupted', { value: { heardFraction: 0.5 } }));
    await f.connector.send(eventActivity('DTMF', { value: 'x' }));
    f.cx.reply({ responseMessages: [cxText('ok')] });
    await f.connector.send(messageActivity('real words'));
    await f.batchesReceived(2);
    expect(f.cx.requests.map((r) => r.body.queryInput.text?.text)).toEqual([undefined, 'real words']);
  });
});
