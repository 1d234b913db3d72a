import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiTranscriptionProvider } from '../../src/speech/stt/openai-transcription.js';
import type { SttResult } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { OpenAiTranscriptionServer } from '../support/openai-transcription-server.js';
import { toneFrames } from '../support/deepgram-session.js';

describe('OpenAI STT: close() while an upload is in flight', () => {
  let server: OpenAiTranscriptionServer;
  beforeEach(async () => {
    server = await OpenAiTranscriptionServer.start();
  });
  afterEach(() => server.close());

  it('abandons the upload: no result and no failure after close, and nothing more is uploaded', async () => {
    server.reply('too late', { held: true });
    const session = new OpenAiTranscriptionProvider({ baseUrl: server.url, apiKey: 'sk-test-key', model: 'whisper-1', logger: silentLogger() }).startSession({
      language: 'en-US',
      sampleRate: 8000,
    });
    const events: Array<SttResult | Error> = [];
    session.on('result', (r) => events.push(r));
    session.on('failure', (e) => events.push(e));
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();
    const request = await server.request(0);

    session.close();
    request.release();
    await request.answered;

    // Writing and ending utterances after close is harmless and sends nothing.
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();
    session.close();
    expect(server.requests).toHaveLength(1);
    expect(events).toEqual([]);
  });

  it('a stream cut by close() emits none of its remaining deltas', async () => {
    server.reply('one two three', { deltas: ['one', ' two', ' three'], held: true });
    const session = new OpenAiTranscriptionProvider({
      baseUrl: server.url,
      apiKey: 'sk-test-key',
      model: 'gpt-4o-transcribe',
      stream: true,
      logger: silentLogger(),
    }).startSession({ language: 'en-US', sampleRate: 8000 });
    const events: Array<SttResult | Error> = [];
    session.on('result', (r) => events.push(r));
    session.on('failure', (e) => events.push(e));
    for (const f of toneFrames(10)) session.write(f);
    session.endOfUtterance();
    const request = await server.request(0);
    session.close();
    request.release();
    await request.answered;
    expect(request.fields.stream).toBe('true');
    expect(events).toEqual([]);
  });
});
