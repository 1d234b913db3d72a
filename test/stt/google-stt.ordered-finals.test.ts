// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GoogleSttProvider } from '../../src/speech/stt/google-stt.js';
import type { SttResult, SttSession } from '../../src/speech/stt/provider.js';
import { silentLogger } from '../../src/logger.js';
import { GoogleSttServer } from '../support/google-stt-server.js';
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

function concat(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const f of frames) {
    out.set(f, offset);
    offset += f.length;
  }
  return out;
}

describe('Google STT: one final per utterance, in utterance order', () => {
  let server: GoogleSttServer;
  let provider: GoogleSttProvider;
  beforeEach(async () => {
    server = await GoogleSttServer.start({ apiKey: 'google-test-key' });
    provider = new GoogleSttProvider({ apiKey: 'google-test-key', baseUrl: server.url, logger: silentLogger() });
  });
  afterEach(() => server.close());

  it('uploads the utterance on endOfUtterance and delivers Google\'s transcript as a final with its confidence', async () => {
    server.nextTranscript('I need help with my bill.', { confidence: 0.87 });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 1);
    const frames = toneFrames(25);
    for (const f of frames) session.write(f);
    // Nothing is sent while the caller is still talking: sync recognize needs the whole utterance.
    expect(server.requests).toEqual([]);
    session.endOfUtterance();
    expect(await results).toEqual([{ text: 'I need help with my bill.', final: true, confidence: 0.87 }]);
    const request = await server.request(0);
    // The audio Google got is exactly what the caller said, as LINEAR16.
    expect(Array.from(request.samples)).toEqual(Array.from(concat(frames)));
    session.close();
  });

  it('joins the results Google splits long speech into, and skips a silent utterance without uploading', async () => {
    server.nextTranscript(['My account number is', 'one two three four.'], { confidence: 0.9 });
    const session = provider.startSession({ language: 'en-US', sampleRate: 16000 });
    const results = finals(session, 1);
    // Only silence: no request at all.
    for (let i = 0; i < 30; i++) session.write(new Int16Array(320));
    session.endOfUtterance();
    for (let i = 0; i < 20; i++) session.write(new Int16Array(320));
    for (const f of toneFrames(10, 16000)) session.write(f);
    session.endOfUtterance();
    expect(await results).toEqual([{ text: 'My account number is one two three four.', final: true, confidence: 0.9 }]);
    expect(server.requests).toHaveLength(1);
    // A short quiet pre-roll is kept before the speech (240 ms at 16 kHz), not the whole 400 ms of silence before it.
    expect(server.requests[0]!.samples.length).toBe(12 * 320 + 10 * 320);
    session.close();
  });

  it('delivers finals in utterance order even when Google answers the second upload first', async () => {
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    server.nextTranscript('First.', { after: firstHeld });
    server.nextTranscript('Second.');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 2);
    const frames = toneFrames(20);
    for (const f of frames.slice(0, 10)) session.write(f);
    session.endOfUtterance();
    for (const f of frames.slice(10)) session.write(f);
    session.endOfUtterance();
    // Both uploads are in flight at once; the second is answered while the first is held.
    await server.request(1);
    releaseFirst();
    expect((await results).map((r) => r.text)).toEqual(['First.', 'Second.']);
    session.close();
  });

  it('gives no result when Google heard no speech (no "results" in the answer)', async () => {
    server.nextResponse({ results: [] });
    server.nextTranscript('Yes.');
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 1);
    const frames = toneFrames(20);
    for (const f of frames.slice(0, 10)) session.write(f);
    session.endOfUtterance();
    for (const f of frames.slice(10)) session.write(f);
    session.endOfUtterance();
    expect(await results).toEqual([{ text: 'Yes.', final: true, confidence: 0.92 }]);
    session.close();
  });

  it('cuts an utterance longer than maxUtteranceMs into several uploads, each within the sync limit', async () => {
    const short = new GoogleSttProvider({ apiKey: 'google-test-key', baseUrl: server.url, maxUtteranceMs: 200, logger: silentLogger() });
    server.nextTranscript('part one');
    server.nextTranscript('part two');
    const session = short.startSession({ language: 'en-US', sampleRate: 8000 });
    const results = finals(session, 2);
    for (const f of toneFrames(15)) session.write(f);
    session.endOfUtterance();
    expect((await results).map((r) => r.text)).toEqual(['part one', 'part two']);
    expect(server.requests.map((r) => r.samples.length)).toEqual([10 * 160, 5 * 160]);
    session.close();
  });
});
