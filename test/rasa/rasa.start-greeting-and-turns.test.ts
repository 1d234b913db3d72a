import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RasaConnector, type RasaConnectorOptions } from '../../src/bots/rasa/index.js';
import { messageActivity, type Activity } from '../../src/bots/activity.js';
import { decodeBotActivity } from '../../src/call/bot-command.js';
import { RasaServer, type RasaReply } from '../support/rasa-server.js';

const call = {
  conversationId: 'call-rasa-1',
  direction: 'inbound' as const,
  caller: '+15550001',
  callee: '+15550002',
  callerHost: 'carrier.example',
  calleeHost: 'voxgate.example',
  callerDisplayName: 'Ada',
  parameters: { 'X-Account': '42' },
};

let rasa: RasaServer | undefined;
const bots: RasaConnector[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.end('client-disconnected')));
  await rasa?.close();
  rasa = undefined;
});

function connect(server: RasaServer, extra: Partial<RasaConnectorOptions> = {}): RasaConnector {
  const bot = new RasaConnector({ name: 'moodbot', url: server.url, ...extra });
  bots.push(bot);
  return bot;
}

function nextActivities(bot: RasaConnector): Promise<Activity[]> {
  return (once(bot, 'activities') as Promise<[Activity[]]>).then(([a]) => a);
}

describe('Rasa REST channel: the call starts with a greeting', () => {
  it('sends /greet as the call id with the call parameters in metadata and speaks the answer', async () => {
    rasa = await new RasaServer().listen();
    rasa.reply = (m) => (m.message === '/greet' ? [{ text: 'Hey! How are you?' }] : []);
    const bot = connect(rasa);
    const greeted = nextActivities(bot);
    await bot.start(call);
    expect((await greeted).map((a) => [a.type, a.text])).toEqual([['message', 'Hey! How are you?']]);
    const first = await rasa.message(0);
    expect(first).toMatchObject({ channel: 'rest', sender: 'call-rasa-1', message: '/greet' });
    expect(first.metadata).toEqual({
      caller: '+15550001',
      callee: '+15550002',
      callerHost: 'carrier.example',
      calleeHost: 'voxgate.example',
      callerDisplayName: 'Ada',
      direction: 'inbound',
      vaigConversationId: 'call-rasa-1',
      'X-Account': '42',
    });
  });

  it('starts with a configured intent carrying entities, and on a custom channel name', async () => {
    rasa = await new RasaServer({ channels: ['rest', 'voice'] }).listen();
    const bot = connect(rasa, { startMessage: '/session_start{"lang":"en"}', channel: 'voice' });
    await bot.start(call);
    expect(await rasa.message(0)).toMatchObject({ channel: 'voice', message: '/session_start{"lang":"en"}' });
  });

  it('keeps SSML text as is, so the call speaks it as SSML', async () => {
    rasa = await new RasaServer().listen();
    rasa.reply = () => [{ text: '<speak>Welcome <break time="300ms"/> back</speak>' }];
    const bot = connect(rasa);
    const greeted = nextActivities(bot);
    await bot.start(call);
    const [activity] = await greeted;
    expect(decodeBotActivity(activity!)).toMatchObject({ kind: 'speak', ssml: true, text: '<speak>Welcome <break time="300ms"/> back</speak>' });
  });
});

describe('Rasa REST channel: caller turns', () => {
  it('sends what the caller said and plays every text message Rasa answers, in order', async () => {
    rasa = await new RasaServer().listen();
    rasa.reply = (m) => (m.message === 'I am sad' ? [{ text: 'Here is something to cheer you up:' }, { image: 'https://i.imgur.com/nGF1K8f.jpg' }, { text: 'Did that help you?', buttons: [{ title: 'yes', payload: '/affirm' }, { title: 'no', payload: '/deny' }] }] : []);
    const bot = connect(rasa);
    await bot.start(call);
    const answered = nextActivities(bot);
    await bot.send(messageActivity('I am sad', { parameters: { confidence: 0.91 } }));
    // The image is not spoken; the buttons' question is, without the buttons.
    expect((await answered).map((a) => a.text)).toEqual(['Here is something to cheer you up:', 'Did that help you?']);
    expect(await rasa.message(1)).toMatchObject({ sender: 'call-rasa-1', message: 'I am sad', metadata: { confidence: 0.91 } });
  });

  it('sends the next turn only after Rasa answered the previous one', async () => {
    rasa = await new RasaServer().listen();
    let releaseFirst!: (r: RasaReply) => void;
    rasa.reply = (m) => (m.message === 'first' ? new Promise<RasaReply>((resolve) => (releaseFirst = resolve)) : [{ text: `echo ${m.message}` }]);
    const bot = connect(rasa);
    await bot.start(call);
    const spoken: string[] = [];
    bot.on('activities', (as) => spoken.push(...as.map((a) => a.text ?? '')));
    const first = bot.send(messageActivity('first'));
    const second = bot.send(messageActivity('second'));
    await rasa.message(1);
    releaseFirst([{ text: 'answer to first' }]);
    await Promise.all([first, second]);
    expect((await rasa.message(2)).answeredBefore).toBe(2); // start and "first" were answered before "second" went out
    expect(spoken).toEqual(['answer to first', 'echo second']);
  });

  it('emits nothing when Rasa has nothing to say', async () => {
    rasa = await new RasaServer().listen();
    const bot = connect(rasa);
    let emitted = 0;
    bot.on('activities', () => emitted++);
    await bot.start(call);
    await bot.send(messageActivity('hello?'));
    expect(rasa.received.map((m) => m.message)).toEqual(['/greet', 'hello?']);
    expect(emitted).toBe(0);
  });
});
