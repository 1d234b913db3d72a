import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RasaConnector } from '../../src/bots/rasa/index.js';
import { messageActivity, type Activity } from '../../src/bots/activity.js';
import { decodeBotActivity, type BotCommand } from '../../src/call/bot-command.js';
import { RasaServer, type RasaBotMessage } from '../support/rasa-server.js';

const call = { conversationId: 'call-custom', direction: 'inbound' as const, caller: '+1', callee: '+2' };

let rasa: RasaServer | undefined;
let bot: RasaConnector | undefined;
afterEach(async () => {
  await bot?.end('client-disconnected');
  await rasa?.close();
  rasa = bot = undefined;
});

/** The commands the call executes when Rasa answers the caller's "go" with `messages`. */
async function commandsFor(messages: RasaBotMessage[]): Promise<{ commands: BotCommand[]; activities: Activity[] }> {
  rasa = await new RasaServer().listen();
  rasa.reply = (m) => (m.message === 'go' ? messages : []);
  bot = new RasaConnector({ name: 'voicebot', url: rasa.url });
  await bot.start(call);
  const answered = once(bot, 'activities') as Promise<[Activity[]]>;
  await bot.send(messageActivity('go'));
  const [activities] = await answered;
  return { commands: activities.map((a) => decodeBotActivity(a)), activities };
}

describe('Rasa custom payloads drive the call (AudioCodes activity convention)', () => {
  it('hangs up after saying goodbye', async () => {
    const { commands } = await commandsFor([{ text: 'Goodbye!' }, { custom: { type: 'event', name: 'hangup', activityParams: { hangupReason: 'conversation completed' } } }]);
    expect(commands).toEqual([expect.objectContaining({ kind: 'speak', text: 'Goodbye!' }), { kind: 'hangup', reason: 'conversation completed' }]);
  });

  it('transfers the call with SIP headers', async () => {
    const { commands } = await commandsFor([
      { custom: { type: 'event', name: 'transfer', activityParams: { transferTarget: 'tel:+15550100', transferSipHeaders: [{ name: 'X-Intent', value: 'billing' }] } } },
    ]);
    expect(commands).toEqual([{ kind: 'transfer', target: 'tel:+15550100', headers: { 'X-Intent': 'billing' } }]);
  });

  it('plays a URL, and takes several activities from one {activities:[...]} payload in order', async () => {
    const { commands, activities } = await commandsFor([
      {
        custom: {
          activities: [
            { type: 'event', name: 'config', sessionParams: { bargeIn: true, userNoInputTimeoutMS: 5000 } },
            { type: 'event', name: 'playUrl', activityParams: { playUrlUrl: 'https://media.example/hold.wav', playUrlMediaFormat: 'wav/lpcm16' } },
            { type: 'event', name: 'sendDtmf', activityParams: { dtmfDigits: '12#' } },
          ],
        },
      },
    ]);
    expect(commands).toEqual([
      { kind: 'none' },
      { kind: 'play', activityId: activities[1]!.id, url: 'https://media.example/hold.wav', mediaFormat: 'wav/lpcm16', label: '[audio https://media.example/hold.wav]' },
      { kind: 'sendDtmf', digits: '12#' },
    ]);
    expect(activities[0]!.sessionParams).toEqual({ bargeIn: true, userNoInputTimeoutMS: 5000 });
    expect(activities.every((a) => typeof a.id === 'string' && a.id && !Number.isNaN(Date.parse(a.timestamp)))).toBe(true);
  });

  it('keeps a custom message activity with its language and an id the bot chose', async () => {
    const { activities } = await commandsFor([{ custom: { type: 'message', id: 'bot-msg-7', text: 'Bonjour', language: 'fr-FR' } }]);
    expect(activities).toEqual([expect.objectContaining({ id: 'bot-msg-7', type: 'message', text: 'Bonjour', language: 'fr-FR' })]);
  });

  it('ignores custom payloads that are not activities, and images, without failing the call', async () => {
    rasa = await new RasaServer().listen();
    rasa.reply = (m) => (m.message === 'go' ? [{ custom: { blocks: [{ type: 'section' }] } }, { image: 'https://example.com/cat.jpg' }, { custom: { type: 'event' } }, { text: 'Still here.' }] : []);
    bot = new RasaConnector({ name: 'voicebot', url: rasa.url });
    const failures: Error[] = [];
    bot.on('failure', (e) => failures.push(e));
    await bot.start(call);
    const answered = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('go'));
    const [activities] = await answered;
    expect(activities.map((a) => a.text)).toEqual(['Still here.']);
    expect(failures).toEqual([]);
  });
});
