import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DialPlanBot } from '../../src/bots/dial-plan/dial-plan-bot.js';
import { DialPlanError } from '../../src/bots/dial-plan/plan-segments.js';
import { PlaceholderError } from '../../src/runtime/placeholders.js';
import { CollectEventReceiver } from '../support/collect-event-receiver.js';
import { startDialPlanCall } from './dial-plan-call.js';

describe('DialPlanBot: placeholders and plan errors', () => {
  let receiver: CollectEventReceiver;
  beforeEach(async () => void (receiver = await new CollectEventReceiver().listen()));
  afterEach(async () => receiver.close());

  it('fills ${name} placeholders from the variables in SAY text and the eventUrl', async () => {
    const call = await startDialPlanCall(
      {
        verbs: [
          { type: 'SAY', message: { text: 'Hello ${firstName}, ticket ${ticketId} needs you.' }, bargeIn: true },
          { type: 'COLLECT', eventUrl: `${receiver.url('/answers')}?contact=\${contactId}` },
        ],
      },
      { bot: { variables: { firstName: 'Maria', ticketId: 'T-4711', contactId: 'c42' } } },
    );
    expect(call.queued()).toEqual(['Hello Maria, ticket T-4711 needs you.']);
    await call.press('1');
    const [event] = await receiver.waitFor(1);
    expect(event.path).toBe('/answers?contact=c42');
  });

  it('an unknown placeholder is an error at construction naming it and the verb', () => {
    const build = () =>
      new DialPlanBot({ verbs: [{ type: 'PAUSE', duration: 1 }, { type: 'SAY', message: { text: 'Ticket ${ticketId}' } }] }, { variables: { firstName: 'Maria' } });
    expect(build).toThrow(PlaceholderError);
    expect(build).toThrow('dial plan verbs.1.message.text: unknown placeholder ${ticketId} (known: firstName)');
  });

  it('an invalid plan is a DialPlanError naming the field and the problem', () => {
    const build = (verbs: unknown[]) => () => new DialPlanBot({ verbs } as never);
    expect(build([])).toThrow(DialPlanError);
    expect(build([{ type: 'COLLECT', maxDigits: 0 }])).toThrow(/verbs\.0\.maxDigits: Number must be greater than or equal to 1/);
    expect(build([{ type: 'SAY', message: { text: 'Hi', gender: 'robot' } }])).toThrow(/verbs\.0\.message\.gender/);
    expect(build([{ type: 'DIAL', to: '+1555' }])).toThrow(/verbs\.0\.type/);
  });

  it('a placeholder value that breaks a URL is a DialPlanError naming the field', () => {
    const build = (host: string) => () => new DialPlanBot({ verbs: [{ type: 'COLLECT', eventUrl: 'https://${host}/answers' }] }, { variables: { host } });
    expect(build('hooks.example.com')).not.toThrow();
    expect(build('bad host')).toThrow(DialPlanError);
    expect(build('bad host')).toThrow('verbs.0.eventUrl: "https://bad host/answers" is not a URL after filling placeholders');
  });

  it('start twice and send before start are errors', async () => {
    const bot = new DialPlanBot({ verbs: [{ type: 'PAUSE', duration: 1 }] });
    await expect(bot.send({ id: 'x', timestamp: '', type: 'event', name: 'DTMF', value: '1' })).rejects.toThrow('send() before start()');
    const info = { conversationId: 'c', direction: 'outbound' as const, caller: 'a', callee: 'b' };
    await bot.start(info);
    await expect(bot.start(info)).rejects.toThrow('start() called twice');
  });
});
