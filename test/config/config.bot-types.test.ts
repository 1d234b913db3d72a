import { describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/app/bot-directory.js';
import { BotApiConnector } from '../../src/bots/bot-api/index.js';
import { LlmBotConnector } from '../../src/bots/llm/index.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';

const info = { callId: 'c1', carrier: 'plivo', carrierCallId: 'x', direction: 'inbound' as const, from: '1', to: '2' };
const routes = [{ number: '*', bot: 'b' }];

describe('bot types in the configuration', () => {
  it('builds a Bot API connector and an LLM connector from their sections', async () => {
    const config = parseConfig({
      bots: [
        { name: 'b', type: 'bot-api', botApi: { url: 'http://127.0.0.1:9/bot', token: { env: 'SUPPORT_BOT_TOKEN' } } },
        { name: 'assistant', type: 'llm', llm: { baseUrl: 'http://127.0.0.1:9/v1', model: 'llama3', systemPrompt: 'You answer phone calls.', apiKey: { env: 'LLM_KEY' } } },
      ],
      routes: [
        { number: '+15550001', bot: 'assistant' },
        { number: '*', bot: 'b' },
      ],
    });
    const bots = await BotDirectory.load(config, undefined, { SUPPORT_BOT_TOKEN: 'tok', LLM_KEY: 'key' });
    expect(bots.create('b', info, silentLogger()).connector).toBeInstanceOf(BotApiConnector);
    expect(bots.create(bots.route('+15550001').name, info, silentLogger()).connector).toBeInstanceOf(LlmBotConnector);
  });

  it('names the missing section of a typed bot', () => {
    expect(() => parseConfig({ bots: [{ name: 'b', type: 'bot-api' }], routes })).toThrow(/bots\.0\.botApi: bot "b" is of type bot-api but has no botApi section/);
    expect(() => parseConfig({ bots: [{ name: 'b', type: 'llm' }], routes })).toThrow(/bots\.0\.llm: bot "b" is of type llm but has no llm section/);
  });

  it('stops startup naming the bot, the key and the variable when a secret is not in the environment', async () => {
    const config = parseConfig({ bots: [{ name: 'b', type: 'bot-api', botApi: { url: 'http://127.0.0.1:9/bot', token: { env: 'MISSING_TOKEN' } } }], routes });
    await expect(BotDirectory.load(config, undefined, {})).rejects.toThrow('bots.b.botApi.token: environment variable MISSING_TOKEN is not set');
  });
});

describe('speech-to-text in the configuration', () => {
  it('is off unless a provider is chosen, and names the missing section', () => {
    expect(parseConfig({}).stt.provider).toBe('none');
    expect(() => parseConfig({ stt: { provider: 'deepgram' } })).toThrow(/stt\.deepgram: provider deepgram needs a deepgram section/);
    expect(parseConfig({ stt: { provider: 'deepgram', deepgram: { apiKey: { env: 'DEEPGRAM_API_KEY' } } } }).stt.deepgram?.apiKey).toEqual({ env: 'DEEPGRAM_API_KEY' });
  });
});

describe('text-to-speech in the configuration', () => {
  it('defaults to the local eSpeak provider', () => {
    expect(parseConfig({}).tts.provider).toBe('espeak');
  });

  it('selects the HTTP provider from AI_TTS_URL, the conversation-service integration name', () => {
    const cfg = parseConfig({}, { AI_TTS_URL: 'http://127.0.0.1:9/tts' });
    expect(cfg.tts).toMatchObject({ provider: 'http', http: { url: 'http://127.0.0.1:9/tts' } });
  });

  it('names the missing section of a chosen provider', () => {
    expect(() => parseConfig({ tts: { provider: 'openai' } })).toThrow(/tts\.openai: provider openai needs an openai section/);
    expect(() => parseConfig({ tts: { provider: 'http' } })).toThrow(/tts\.http: provider http needs an http section \(url\), or set AI_TTS_URL/);
  });
});
