import { afterEach, describe, expect, it } from 'vitest';
import { RasaConnector, type RasaConnectorOptions } from '../../src/bots/rasa/index.js';
import { eventActivity, messageActivity } from '../../src/bots/activity.js';
import { RasaServer } from '../support/rasa-server.js';

const call = { conversationId: 'call-dtmf', direction: 'inbound' as const, caller: '+1', callee: '+2' };

let rasa: RasaServer | undefined;
let bot: RasaConnector | undefined;
afterEach(async () => {
  await bot?.end('client-disconnected');
  await rasa?.close();
  rasa = bot = undefined;
});

async function started(extra: Partial<RasaConnectorOptions> = {}): Promise<{ rasa: RasaServer; bot: RasaConnector }> {
  rasa = await new RasaServer().listen();
  bot = new RasaConnector({ name: 'ivr', url: rasa.url, ...extra });
  await bot.start(call);
  return { rasa, bot };
}

describe('Rasa: caller keypad input', () => {
  it('sends the digits as the message text by default', async () => {
    const { rasa, bot } = await started();
    await bot.send(eventActivity('DTMF', { value: '1234#' }));
    expect((await rasa.message(1)).message).toBe('1234#');
  });

  it('fills the configured intent template, so Rasa gets a digits entity', async () => {
    const { rasa, bot } = await started({ dtmfTemplate: '/dtmf{"digits":"${digits}"}' });
    await bot.send(eventActivity('DTMF', { value: '12' }));
    expect((await rasa.message(1)).message).toBe('/dtmf{"digits":"12"}');
  });

  it('drops characters that are not keypad keys, so they cannot break the intent JSON', async () => {
    const { rasa, bot } = await started({ dtmfTemplate: '/dtmf{"digits":"${digits}"}' });
    await bot.send(eventActivity('DTMF', { value: '4"}5' }));
    expect((await rasa.message(1)).message).toBe('/dtmf{"digits":"45"}');
  });
});

describe('Rasa: other gateway events', () => {
  it('sends a configured event as its intent message, with the value filled in and in metadata', async () => {
    const { rasa, bot } = await started({ eventMessages: { noUserInput: '/no_user_input{"retry":"${value}"}' } });
    await bot.send(eventActivity('noUserInput', { value: 2 }));
    expect(await rasa.message(1)).toMatchObject({ message: '/no_user_input{"retry":"2"}', metadata: { event: 'noUserInput', value: 2 } });
  });

  it('asks the call for barge-in reports only when promptInterrupted has a message', async () => {
    const { rasa, bot } = await started({ eventMessages: { promptInterrupted: '/interrupted' } });
    expect(bot.wantsPromptInterruptions).toBe(true);
    expect(new RasaConnector({ name: 'ivr', url: rasa.url }).wantsPromptInterruptions).toBe(false);
    await bot.send(eventActivity('promptInterrupted', { value: { activityId: 'a1', heardFraction: 0.4 } }));
    expect(await rasa.message(1)).toMatchObject({ message: '/interrupted', metadata: { event: 'promptInterrupted', value: { activityId: 'a1', heardFraction: 0.4 } } });
  });

  it('does not send events that have no configured message', async () => {
    const { rasa, bot } = await started({ eventMessages: { noUserInput: '/no_user_input' } });
    await bot.send(eventActivity('promptInterrupted', { value: { activityId: 'a1', heardFraction: 0.4 } }));
    await bot.send(eventActivity('speechHypothesis', { value: 'I wa' }));
    await bot.send(messageActivity('I want to pay'));
    expect(rasa.received.map((m) => m.message)).toEqual(['/greet', 'I want to pay']);
  });
});
