import { describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';

const flow = { name: 'shared', start: 'hi', steps: { hi: { say: 'Hello.', hangup: 'completed' } } };

describe('base bots (isBase / extends)', () => {
  it('lets a bot inherit type, flow and settings from a base bot, its own values winning key by key', async () => {
    const config = parseConfig({
      defaults: { userNoInputTimeoutMS: 5000 },
      bots: [
        { name: 'company-base', isBase: true, type: 'flow', flow, settings: { bargeIn: true, bargeInOnDTMF: true, language: 'en-GB' } },
        { name: 'sales', extends: 'company-base', settings: { bargeInOnDTMF: false } },
      ],
      routes: [{ number: '*', bot: 'sales' }],
    });
    const bots = await BotDirectory.load(config);
    expect(bots.route('+15550001').name).toBe('sales');
    const { settings } = bots.create('sales', { callId: 'c', carrier: 'plivo', carrierCallId: 'x', direction: 'inbound', from: '1', to: '2' }, silentLogger());
    expect(settings).toMatchObject({ bargeIn: true, bargeInOnDTMF: false, language: 'en-GB', userNoInputTimeoutMS: 5000 });
  });

  it('refuses to route calls to a base bot, naming it', () => {
    expect(() => parseConfig({ bots: [{ name: 'base', isBase: true, type: 'flow' }], routes: [{ number: '*', bot: 'base' }] })).toThrow(
      /routes\.0\.bot: "base" is a base bot \(a template\); route to a bot that extends it/,
    );
  });

  it('names a broken extends chain: unknown base, a parent that is not a base, a cycle', () => {
    const routes = [{ number: '*', bot: 'a' }];
    expect(() => parseConfig({ bots: [{ name: 'a', extends: 'ghost' }], routes })).toThrow(/bots\.0\.extends: bot "a" extends unknown bot "ghost"/);
    expect(() => parseConfig({ bots: [{ name: 'a', extends: 'b' }, { name: 'b', type: 'flow' }], routes })).toThrow(/bot "a" extends "b", which is not a base bot/);
    expect(() =>
      parseConfig({ bots: [{ name: 'a', extends: 'b' }, { name: 'b', isBase: true, extends: 'c' }, { name: 'c', isBase: true, extends: 'b' }], routes }),
    ).toThrow(/cycle: a -> b -> c -> b/);
  });

  it('requires a type on a bot that inherits none', () => {
    expect(() => parseConfig({ bots: [{ name: 'a' }], routes: [{ number: '*', bot: 'a' }] })).toThrow(/bots\.0\.type: bot "a" has no type and inherits none/);
  });
});
