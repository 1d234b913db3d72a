import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { WebhookBotConnector } from '../../src/bots/webhook/index.js';
import { WebhookBrain } from '../support/webhook-brain.js';

describe('the conversation-service names of seed 000 (DCS_URL, DCS_RESPONSE_URL, AI_TTS_URL)', () => {
  it('DCS_URL alone makes a webhook bot "dcs" that answers every number', () => {
    const cfg = parseConfig({}, { DCS_URL: 'https://brain.example/voice' });
    expect(cfg.bots).toEqual([expect.objectContaining({ name: 'dcs', type: 'webhook', webhook: { url: 'https://brain.example/voice' } })]);
    expect(cfg.routes).toEqual([{ number: '*', bot: 'dcs' }]);
  });

  it('next to configured bots and routes, DCS_URL adds the dcs bot and leaves the routes alone', () => {
    const cfg = parseConfig({ bots: [{ name: 'menu', type: 'flow' }], routes: [{ number: '*', bot: 'menu' }] }, { DCS_URL: 'https://brain.example/voice' });
    expect(cfg.bots.map((b) => b.name)).toEqual(['menu', 'dcs']);
    expect(cfg.routes).toEqual([{ number: '*', bot: 'menu' }]);
  });

  it('DCS_RESPONSE_URL and AI_TTS_URL set the reply URL and the HTTP TTS service', () => {
    const cfg = parseConfig({}, { DCS_RESPONSE_URL: 'https://voxgate.example/webhook/response', AI_TTS_URL: 'https://tts.example/speak' });
    expect(cfg.webhook.responseUrl).toBe('https://voxgate.example/webhook/response');
    expect(cfg.tts).toMatchObject({ provider: 'http', http: { url: 'https://tts.example/speak' } });
  });

  it('a malformed DCS_URL is a configuration error naming the bot', () => {
    expect(() => parseConfig({}, { DCS_URL: 'not a url' })).toThrow(/bots\.0\.webhook\.url: Invalid url/);
  });
});

describe('the brain is told where to reply', () => {
  let brain: WebhookBrain;
  beforeEach(async () => {
    brain = await new WebhookBrain().listen();
  });
  afterEach(() => brain.close());

  it('the start carries response_url when Voxgate knows its reply URL', async () => {
    const bot = new WebhookBotConnector({ name: 'dcs', url: brain.url, responseUrl: () => 'https://voxgate.example/webhook/response' });
    await bot.start({ conversationId: 'call-9', direction: 'inbound', caller: '+1', callee: '+2' });
    const start = await brain.request('start');
    expect(start.body).toMatchObject({ type: 'start', call_id: 'call-9', response_url: 'https://voxgate.example/webhook/response' });
    await bot.end('client-disconnected');
  });
});
