import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeepgramSttProvider } from '../../src/speech/stt/deepgram.js';
import { silentLogger } from '../../src/logger.js';
import { DeepgramServer } from '../support/deepgram-server.js';
import { littleEndianBytes, toneFrames } from '../support/deepgram-session.js';

describe('Deepgram STT: audio on the wire', () => {
  let server: DeepgramServer;
  beforeEach(async () => {
    server = await DeepgramServer.start();
  });
  afterEach(() => server.close());

  it('sends every frame as one binary little-endian PCM16 message, in order, including frames written before the socket opened', async () => {
    const provider = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, logger: silentLogger() });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const frames = toneFrames(50);
    // The first 10 frames are written while the WebSocket is still connecting.
    for (const f of frames.slice(0, 10)) session.write(f);
    const connection = await server.connection();
    await connection.waitForAudioBytes(10 * 320);
    for (const f of frames.slice(10)) session.write(f);
    await connection.waitForAudioBytes(50 * 320);

    expect(connection.audioMessages).toHaveLength(50);
    expect(connection.audioMessages.every((m) => m.byteLength === 320)).toBe(true);
    expect(connection.audio().equals(littleEndianBytes(frames))).toBe(true);
    session.close();
  });

  it('does not alter the caller\'s frame buffer, so a reused frame can be refilled safely', async () => {
    const provider = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, logger: silentLogger() });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const frames = toneFrames(4);
    // The first frame is flushed when the socket opens: once it arrives, writes go straight to the socket.
    session.write(frames[0]!);
    const connection = await server.connection();
    await connection.waitForAudioBytes(320);
    const reused = new Int16Array(160);
    for (const f of frames.slice(1)) {
      reused.set(f);
      session.write(reused);
      expect(Array.from(reused)).toEqual(Array.from(f));
    }
    await connection.waitForAudioBytes(4 * 320);
    expect(connection.audio().equals(littleEndianBytes(frames))).toBe(true);
    session.close();
  });

  it('keeps only the most recent audio when the socket takes long to open, bounded by maxPendingAudioMs', async () => {
    const provider = new DeepgramSttProvider({ apiKey: 'dg-test-key', baseUrl: server.url, maxPendingAudioMs: 200, logger: silentLogger() });
    const session = provider.startSession({ language: 'en-US', sampleRate: 8000 });
    const frames = toneFrames(25);
    for (const f of frames) session.write(f);
    const connection = await server.connection();
    await connection.waitForAudioBytes(10 * 320);
    expect(connection.audio().equals(littleEndianBytes(frames.slice(15)))).toBe(true);
    session.close();
  });
});
