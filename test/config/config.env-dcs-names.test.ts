import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { WebhookBotConnector } from '../../src/bots/webhook/index.js';
import { WebhookBrain } from '../support/webhook-brain.js';

describe('the conversation-service names of seed 000 (DCS_URL, DCS_RESPONSE_URL, AI_TTS_URL) and CONVERSATION_SERVICE_URL', () => {
  it('CONVERSATION_SERVICE_URL alone makes a webhook bot "conversation-service" that answers every number', () => {
    const cfg = parseConfig({}, { CONVERSATION_SERVICE_URL: 'https://brain.example/voice' });
    expect(cfg.bots).toEqual([expect.objectContaining({ name: 'conversation-service', type: 'webhook', webhook: { url: 'https://brain.example/voice' } })]);
    expect(cfg.routes).toEqual([{ number: '*', bot: 'conversation-service' }]);
  });

  it('next to configured bots and routes, CONVERSATION_SERVICE_URL adds its bot and leaves the routes alone', () => {
    const cfg = parseConfig({ bots: [{ name: 'menu', type: 'flow' }], routes: [{ number: '*', bot: 'menu' }] }, { CONVERSATION_SERVICE_URL: 'https://brain.example/voice' });
    expect(cfg.bots.map((b) => b.name)).toEqual(['menu', 'conversation-service']);
    expect(cfg.routes).toEqual([{ number: '*', bot: 'menu' }]);
  });

  it("DCS_URL names Voxgate's own call-initiation endpoint (the dialout API), as seed 000 has it", () => {
    const cfg = parseConfig({}, { DCS_URL: 'https://voxgate.example/api/v1/actions/dialout' });
    expect(cfg.webhook.callInitiationUrl).toBe('https://voxgate.example/api/v1/actions/dialout');
    expect(cfg.bots.map((b) => b.type)).not.toContain('webhook'); // no bot is made from it
  });

  it('a DCS_URL naming anything else (the old meaning: the conversation service) is refused, saying what to set instead', () => {
    expect(() => parseConfig({}, { DCS_URL: 'https://brain.example/voice' })).toThrow(
      'DCS_URL "https://brain.example/voice" does not name Voxgate\'s call-initiation endpoint (<publicUrl>/api/v1/actions/dialout). DCS_URL is where the conversation service initiates calls on Voxgate (seed 000, docs/dcs.md); if this is the conversation service\'s own URL, set CONVERSATION_SERVICE_URL=https://brain.example/voice instead.',
    );
    expect(() => parseConfig({}, { DCS_URL: 'not a url' })).toThrow(/DCS_URL "not a url" is not a valid absolute URL/);
    expect(() => parseConfig({ webhook: { callInitiationUrl: 'https://voxgate.example/calls' } })).toThrow(/webhook\.callInitiationUrl: must be Voxgate's dialout endpoint/);
  });

  it('DCS_RESPONSE_URL and AI_TTS_URL set the reply URL and the HTTP TTS service', () => {
    const cfg = parseConfig({}, { DCS_RESPONSE_URL: 'https://voxgate.example/webhook/response', AI_TTS_URL: 'https://tts.example/speak' });
    expect(cfg.webhook.responseUrl).toBe('https://voxgate.example/webhook/response');
    expect(cfg.tts).toMatchObject({ provider: 'http', http: { url: 'https://tts.example/speak' } });
  });

  it('a malformed CONVERSATION_SERVICE_URL is a configuration error naming the bot', () => {
    expect(() => parseConfig({}, { CONVERSATION_SERVICE_URL: 'not a url' })).toThrow(/bots\.0\.webhook\.url: Invalid url/);
  });
});

describe('the brain is told where to reply', () => {
  let brain: WebhookBrain;
  beforeEach(async () => {
    brain = await new WebhookBrain().listen();
  });
  afterEach(() => brain.close());

  it('the start carries response_url when Voxgate knows its reply URL', async () => {
    const bot = new WebhookBotConnector({ name: 'conversation-service', url: brain.url, responseUrl: () => 'https://voxgate.example/webhook/response' });
    await bot.start({ conversationId: 'call-9', direction: 'inbound', caller: '+1', callee: '+2' });
    const start = await brain.request('start');
    expect(start.body).toMatchObject({ type: 'start', call_id: 'call-9', response_url: 'https://voxgate.example/webhook/response' });
    await bot.end('client-disconnected');
  });
});
