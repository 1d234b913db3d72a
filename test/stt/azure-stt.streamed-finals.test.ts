// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureSttProvider } from '../../src/speech/stt/azure-stt.js';
import type { SttResult, SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { AzureSttServer } from '../support/azure-stt-server.js';
import { toneFrames } from '../support/deepgram-session.js';

function finals(session: SttSession, count: number): Promise<SttResult[]> {
  return new Promise((resolve, reject) => {
    const got: SttResult[] = [];
    session.on('result', (r) => {
      got.push(r);
      if (got.length === count) resolve(got);
    });
    session.once('failure', reject);
  });
}

describe('Azure STT: audio streamed while the caller speaks, one final per utterance', () => {
  let server: AzureSttServer;
  let provider: AzureSttProvider;
  beforeEach(async () => {
    server = await AzureSttServer.start('azure-test-key');
    provider = new AzureSttProvider({ key: 'azure-test-key', baseUrl: server.url, logger: silentLogger() });
  });
  afterEach(() => server.close());

  it('streams the utterance before it ends and delivers Azure\'s Display text with its confidence', async () => {
    server.nextRecognition('I need help with my bill.', { confidence: 0.8812 });
    const session = provider.startSession({ language: 'en-US', sampleRate: 16000 });
    const results = finals(session, 1);
    const frames = toneFrames(30, 16000);
    for (const f of frames.slice(0, 20)) session.write(f);
    const request = await server.request(0);
    // 44-byte WAV header and 20 frames of 640 bytes reached Azure while the caller is still talking.
    await request.waitForBytes(44 + 20 * 640);
    expect(request.status).toBe(0);
    for (const f of frames.slice(20)) session.write(f);
    session.endOfUtterance();
    expect(await results).toEqual([{ text: 'I need help with my bill.', final: true, confidence: 0.8812 }]);
    // 16 kHz audio goes to Azure unchanged.
    const sent = frames.flatMap((f) => Array.from(f));
    expect(Array.from(request.wav!.samples)).toEqual(sent);
    session.close();
  });

  it('resamples 8 kHz telephone audio to the 16 kHz Azure requires, keeping its length', async () => {
    server.nextRecognition('Yes.');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 1);
    for (const f of toneFrames(50)) session.write(f);
    session.endOfUtterance();
    await results;
    const wav = (await server.request(0)).wav!;
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length).toBe(2 * 50 * 160);
    // Still the 440 Hz tone: count rising zero crossings over one second.
    let crossings = 0;
    for (let i = 1; i < 16000; i++) if (wav.samples[i - 1]! < 0 && wav.samples[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(438);
    expect(crossings).toBeLessThanOrEqual(441);
    session.close();
  });

  it('delivers finals in utterance order even when Azure answers the second request first', async () => {
    let releaseFirst!: () => void;
    server.nextRecognition('First.', { after: new Promise<void>((resolve) => (releaseFirst = resolve)) });
    server.nextRecognition('Second.');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 2);
    const frames = toneFrames(20);
    for (const f of frames.slice(0, 10)) session.write(f);
    session.endOfUtterance();
    for (const f of frames.slice(10)) session.write(f);
    session.endOfUtterance();
    const second = await server.request(1);
    await second.waitForBytes(44 + 10 * 320 * 2);
    releaseFirst();
    expect((await results).map((r) => r.text)).toEqual(['First.', 'Second.']);
    session.close();
  });

  it('gives no result for NoMatch, InitialSilenceTimeout or BabbleTimeout, and sends nothing for silence', async () => {
    server.nextResponse({ recognitionStatus: 'NoMatch' });
    server.nextResponse({ recognitionStatus: 'InitialSilenceTimeout' });
    server.nextResponse({ recognitionStatus: 'BabbleTimeout' });
    server.nextRecognition('Okay.');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 1);
    for (let i = 0; i < 25; i++) session.write(new Int16Array(160));
    session.endOfUtterance();
    const frames = toneFrames(40);
    for (let u = 0; u < 4; u++) {
      for (const f of frames.slice(u * 10, u * 10 + 10)) session.write(f);
      session.endOfUtterance();
    }
    expect(await results).toEqual([{ text: 'Okay.', final: true, confidence: 0.93 }]);
    expect(server.requests).toHaveLength(4);
    session.close();
  });

  it('takes Azure\'s answer when Azure ends the phrase before the utterance upload ended, and carries on', async () => {
    server.nextRecognition('Hello there.', { answerAfterBytes: 44 + 10 * 640 });
    server.nextRecognition('Bye.');
    const session = provider.startSession({ language: 'en-US', sampleRate: 16000 });
    const results = finals(session, 2);
    const failures: Error[] = [];
    session.on('failure', (e) => failures.push(e));
    const frames = toneFrames(40, 16000);
    for (const f of frames.slice(0, 12)) session.write(f);
    const first = await server.request(0);
    await first.waitForBytes(44 + 10 * 640);
    // The caller keeps talking into the answered request: that audio is dropped, not an error.
    for (const f of frames.slice(12, 20)) session.write(f);
    session.endOfUtterance();
    for (const f of frames.slice(20)) session.write(f);
    session.endOfUtterance();
    expect((await results).map((r) => r.text)).toEqual(['Hello there.', 'Bye.']);
    expect(failures).toEqual([]);
    session.close();
  });

  it('ends a request at maxUtteranceMs and carries on with the rest of the utterance in a new one', async () => {
    const short = new AzureSttProvider({ key: 'azure-test-key', baseUrl: server.url, maxUtteranceMs: 200, logger: silentLogger() });
    server.nextRecognition('part one');
    server.nextRecognition('part two');
    const session = short.startSession({ language: 'en-US', sampleRate: 16000 });
    const results = finals(session, 2);
    for (const f of toneFrames(15, 16000)) session.write(f);
    session.endOfUtterance();
    expect((await results).map((r) => r.text)).toEqual(['part one', 'part two']);
    expect(server.requests.map((r) => r.wav!.samples.length)).toEqual([10 * 320, 5 * 320]);
    session.close();
  });
});
