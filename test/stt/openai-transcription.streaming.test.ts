import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiTranscriptionProvider } from '../../src/speech/stt/openai-transcription.js';
import type { SttResult, SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { OpenAiTranscriptionServer } from '../support/openai-transcription-server.js';
import { nextFailure, resultsUntilFinal, toneFrames } from '../support/deepgram-session.js';

function speak(session: SttSession): void {
  for (const f of toneFrames(10)) session.write(f);
  session.endOfUtterance();
}

describe('OpenAI STT: stream: true (server-sent transcript.text.delta / transcript.text.done)', () => {
  let server: OpenAiTranscriptionServer;
  beforeEach(async () => {
    server = await OpenAiTranscriptionServer.start();
  });
  afterEach(() => server.close());

  const session = (punctuation?: boolean) =>
    new OpenAiTranscriptionProvider({
      baseUrl: server.url,
      apiKey: 'sk-test-key',
      model: 'gpt-4o-mini-transcribe',
      stream: true,
      logger: silentLogger(),
    }).startSession({ language: 'en-US', sampleRate: 8000, ...(punctuation === undefined ? {} : { punctuation }) });

  it('delivers the growing text as interim results, then the done text as the final', async () => {
    server.reply('I need a taxi.', { deltas: ['I', ' need', ' a', ' taxi', '.'] });
    const s = session();
    const results = resultsUntilFinal(s);
    speak(s);
    expect(await results).toEqual([
      { text: 'I', final: false },
      { text: 'I need', final: false },
      { text: 'I need a', final: false },
      { text: 'I need a taxi', final: false },
      { text: 'I need a taxi.', final: false },
      { text: 'I need a taxi.', final: true },
    ]);
    expect((await server.request(0)).fields).toMatchObject({ stream: 'true', model: 'gpt-4o-mini-transcribe', response_format: 'json' });
    s.close();
  });

  it('keeps interim results of a later utterance behind the final of the earlier one', async () => {
    server.reply('first', { deltas: ['fi', 'rst'], held: true });
    server.reply('second', { deltas: ['sec', 'ond'] });
    const s = session(false);
    const seen: SttResult[] = [];
    const done = new Promise<void>((resolve) =>
      s.on('result', (r) => {
        seen.push(r);
        if (r.final && r.text === 'second') resolve();
      }),
    );
    speak(s);
    speak(s);
    const first = await server.request(0);
    await server.request(1);
    first.release();
    await done;
    expect(seen).toEqual([
      { text: 'fi', final: false },
      { text: 'first', final: false },
      { text: 'first', final: true },
      { text: 'sec', final: false },
      { text: 'second', final: false },
      { text: 'second', final: true },
    ]);
    s.close();
  });

  it('reports a stream that breaks off before transcript.text.done, after its interim results', async () => {
    server.cut(['hello', ' wor']);
    const s = session();
    const interims: SttResult[] = [];
    s.on('result', (r) => interims.push(r));
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/^OpenAI STT: POST .*\/audio\/transcriptions (failed|ended the event stream without transcript\.text\.done)/);
    expect(interims.every((r) => !r.final)).toBe(true);
    s.close();
  });

  it('reports an event that is not JSON', async () => {
    server.raw(200, 'data: {"type":"transcript.text.delta","delta":\n\n', 'text/event-stream');
    const s = session();
    const failure = nextFailure(s);
    speak(s);
    expect((await failure).message).toMatch(/sent an event that is not JSON: "\{\\"type\\":\\"transcript\.text\.delta\\",\\"delta\\":"$/);
    s.close();
  });

  it('accepts a plain JSON answer from a server that does not stream', async () => {
    server.raw(200, JSON.stringify({ text: 'no stream here' }), 'application/json');
    const s = session();
    const results = resultsUntilFinal(s);
    speak(s);
    expect(await results).toEqual([{ text: 'no stream here', final: true }]);
    s.close();
  });
});
