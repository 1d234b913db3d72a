import { afterEach, describe, expect, it } from 'vitest';
import { RasaConnector } from '../../src/bots/rasa/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { RasaServer } from '../support/rasa-server.js';
import { FakeClock } from '../support/fake-clock.js';

const call = { conversationId: 'call-end', direction: 'inbound' as const, caller: '+1', callee: '+2' };

let rasa: RasaServer | undefined;
afterEach(async () => {
  await rasa?.close();
  rasa = undefined;
});

describe('Rasa: the end of the call', () => {
  it('sends nothing at the end by default (the REST channel has no session end), and ignores later activity', async () => {
    rasa = await new RasaServer().listen();
    const bot = new RasaConnector({ name: 'moodbot', url: rasa.url });
    await bot.start(call);
    await bot.end('client-disconnected', 'caller hung up');
    await bot.send(messageActivity('too late'));
    expect(rasa.received.map((m) => m.message)).toEqual(['/greet']);
  });

  it('sends the configured end message once, however often end() is called', async () => {
    rasa = await new RasaServer().listen();
    rasa.reply = () => [{ text: 'Bye' }];
    const bot = new RasaConnector({ name: 'moodbot', url: rasa.url, endMessage: '/session_end{"reason":"${reasonCode}"}' });
    await bot.start(call);
    let emitted = 0;
    bot.on('activities', () => emitted++);
    await Promise.all([bot.end('client-disconnected', 'caller hung up'), bot.end('error')]);
    await bot.end('bot-disconnected');
    expect(rasa.received.map((m) => m.message)).toEqual(['/greet', '/session_end{"reason":"client-disconnected"}']);
    expect(rasa.received[1]!.metadata).toEqual({ reasonCode: 'client-disconnected', reason: 'caller hung up' });
    expect(emitted).toBe(0); // Rasa's answer to the end message has no call to play on
  });

  it('drops a turn Rasa is still thinking about without a failure, then sends the end message', async () => {
    rasa = await new RasaServer().listen();
    rasa.reply = (m) => (m.message === 'hello?' ? 'hold' : []);
    const clock = new FakeClock();
    const bot = new RasaConnector({ name: 'moodbot', url: rasa.url, endMessage: '/session_end', clock });
    const failures: Error[] = [];
    bot.on('failure', (e) => failures.push(e));
    await bot.start(call);
    const turn = bot.send(messageActivity('hello?'));
    await rasa.message(1);
    await bot.end('client-disconnected');
    await turn;
    expect((await rasa.message(2)).message).toBe('/session_end');
    expect(failures).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('does not report a Rasa that is gone when only the end message fails', async () => {
    rasa = await new RasaServer().listen();
    const bot = new RasaConnector({ name: 'moodbot', url: rasa.url, endMessage: '/session_end' });
    await bot.start(call);
    await rasa.close();
    const failures: Error[] = [];
    bot.on('failure', (e) => failures.push(e));
    await expect(bot.end('client-disconnected')).resolves.toBeUndefined();
    expect(failures).toEqual([]);
  });

  it('never contacts Rasa when the call ends before the conversation started', async () => {
    rasa = await new RasaServer().listen();
    const bot = new RasaConnector({ name: 'moodbot', url: rasa.url, endMessage: '/session_end' });
    await bot.end('no-answer');
    await bot.start(call);
    expect(rasa.received).toEqual([]);
  });
});
