import { afterEach, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { decodeMuLaw, encodeMuLaw } from '../../src/media/g711.js';
import { concatPcm } from '../../src/media/audio.js';
import type { PlivoContentType } from '../../src/carriers/plivo/answer-xml.js';
import {
  answerParams,
  collectFrames,
  connectStream,
  postCallback,
  startPlivoTestServer,
  tone,
  type PlivoTestServer,
} from '../support/plivo-harness.js';

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

function l16Bytes(pcm: Int16Array): Buffer {
  const buf = Buffer.alloc(pcm.length * 2);
  pcm.forEach((s, i) => buf.writeInt16LE(s, i * 2));
  return buf;
}

function decodePlayAudio(messages: Array<Record<string, unknown>>, encoding: string): Int16Array {
  const parts: Int16Array[] = [];
  for (const m of messages) {
    const media = m.media as { contentType: string; payload: string };
    const bytes = Buffer.from(media.payload, 'base64');
    if (encoding === 'audio/x-mulaw') parts.push(decodeMuLaw(bytes));
    else parts.push(Int16Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readInt16LE(i * 2)));
  }
  return concatPcm(parts);
}

const formats: Array<{ contentType: PlivoContentType; encoding: string; rate: number }> = [
  { contentType: 'audio/x-mulaw;rate=8000', encoding: 'audio/x-mulaw', rate: 8000 },
  { contentType: 'audio/x-l16;rate=8000', encoding: 'audio/x-l16', rate: 8000 },
  { contentType: 'audio/x-l16;rate=16000', encoding: 'audio/x-l16', rate: 16000 },
];

describe.each(formats)('a Plivo call end to end with $contentType', ({ contentType, encoding, rate }) => {
  let server: PlivoTestServer;
  afterEach(async () => {
    await server?.close();
  });

  it('answers with stream XML, carries audio both ways, confirms marks and clears, and ends on the hangup callback', async () => {
    server = await startPlivoTestServer({ contentType, authToken: 'tok' });
    const answerUrl = `${server.baseUrl}/plivo/answer`;

    // Answer: the handler hears about the call and Plivo gets a bidirectional stream in our format.
    const answer = await postCallback(answerUrl, answerParams('call-1', { ForwardedFrom: '14155559999', 'X-PH-Tenant': 'acme' }), { authToken: 'tok' });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/text\/xml/);
    const stream = xml.parse(answer.text).Response.Stream;
    expect(stream['#text']).toBe(server.streamUrlFor('call-1'));
    expect(stream['@_bidirectional']).toBe('true');
    expect(stream['@_keepCallAlive']).toBe('true');
    expect(stream['@_contentType']).toBe(contentType);
    expect(server.handler.answered).toEqual([
      {
        callId: 'vx-1',
        carrier: 'plivo',
        carrierCallId: 'call-1',
        direction: 'inbound',
        from: '14155551234',
        to: '14155550000',
        extra: { ForwardedFrom: '14155559999', ALegUUID: 'call-1', CallStatus: 'in-progress', Event: 'StartApp', 'X-PH-Tenant': 'acme' },
      },
    ]);

    // Stream: signed over the http:// form of the URL, as Plivo does.
    const client = await connectStream(server, 'call-1', 'tok');
    client.start('call-1', { encoding, sampleRate: rate });
    const leg = await server.handler.waitForLeg('call-1');
    expect(leg.callId).toBe('vx-1');
    expect(leg.sampleRate).toBe(rate);
    expect(leg.capabilities).toEqual({ transfer: false, bridgeTransfer: false, sendDtmf: true, sendMetadata: false, record: false });

    // Caller audio arrives as 20 ms PCM16 frames.
    const frameSamples = rate / 50;
    const input = tone(frameSamples * 3, rate);
    const framesPromise = collectFrames(leg, 3);
    for (let f = 0; f < 3; f++) {
      const pcm = input.subarray(f * frameSamples, (f + 1) * frameSamples);
      client.media(encoding === 'audio/x-mulaw' ? Buffer.from(encodeMuLaw(pcm)) : l16Bytes(pcm));
    }
    const frames = await framesPromise;
    expect(frames.map((f) => f.length)).toEqual([frameSamples, frameSamples, frameSamples]);
    const received = new Int16Array(frameSamples * 3);
    frames.forEach((f, i) => received.set(f, i * frameSamples));
    const tolerance = encoding === 'audio/x-mulaw' ? 300 : 0;
    for (let i = 0; i < received.length; i++) expect(Math.abs(received[i] - input[i])).toBeLessThanOrEqual(tolerance);

    // DTMF from the caller.
    const digit = new Promise((resolve) => leg.once('dtmf', resolve));
    client.sendJson({ event: 'dtmf', streamId: 'st', dtmf: { track: 'inbound', digit: '7', timestamp: '1' } });
    expect(await digit).toBe('7');

    // Bot audio: 3 s is sent at once (Plivo queues it), split into messages under 16 KB of base64.
    const botAudio = tone(rate * 3, rate, 300);
    const before = client.received.length;
    leg.play(botAudio);
    leg.mark('prompt-1');
    const checkpoint = await client.next((m) => m.event === 'checkpoint', before);
    const plays = client.received.slice(before).filter((m) => m.event === 'playAudio');
    expect(plays.length).toBeGreaterThan(1);
    for (const p of plays) {
      const media = p.media as { contentType: string; sampleRate: number; payload: string };
      expect(media.contentType).toBe(encoding);
      expect(media.sampleRate).toBe(rate);
      expect(media.payload.length).toBeLessThan(16 * 1024);
    }
    const played = decodePlayAudio(plays, encoding);
    expect(played.length).toBe(botAudio.length);
    for (let i = 0; i < played.length; i++) expect(Math.abs(played[i] - botAudio[i])).toBeLessThanOrEqual(tolerance);
    expect(checkpoint).toEqual({ event: 'checkpoint', streamId: 'st-call-1', name: 'prompt-1' });

    // Plivo acknowledges the checkpoint once played.
    const mark = new Promise((resolve) => leg.once('mark', resolve));
    client.sendJson({ event: 'playedStream', streamId: 'st-call-1', name: 'prompt-1' });
    expect(await mark).toBe('prompt-1');

    // Barge-in: clear -> clearAudio -> clearedAudio -> cleared.
    leg.clear();
    expect(await client.next((m) => m.event === 'clearAudio')).toEqual({ event: 'clearAudio', streamId: 'st-call-1' });
    const cleared = new Promise((resolve) => leg.once('cleared', () => resolve(true)));
    client.sendJson({ event: 'clearedAudio', streamId: 'st-call-1' });
    expect(await cleared).toBe(true);

    leg.sendDtmf('12#');
    expect(await client.next((m) => m.event === 'sendDTMF')).toEqual({ event: 'sendDTMF', dtmf: '12#' });

    // The hangup callback ends the call and the leg, and closes the stream.
    const legHangup = new Promise((resolve) => leg.once('hangup', resolve));
    const hangup = await postCallback(
      `${server.baseUrl}/plivo/hangup`,
      { ...answerParams('call-1'), CallStatus: 'completed', HangupCause: 'NORMAL_CLEARING', HangupCauseName: 'Normal Hangup', HangupCauseCode: '4000', HangupSource: 'Caller', Duration: '42', BillDuration: '60' },
      { authToken: 'tok' },
    );
    expect(hangup.status).toBe(200);
    expect(server.handler.ended).toEqual([{ callId: 'vx-1', end: { cause: 'Normal Hangup', side: 'caller', durationSec: 42 } }]);
    expect(await legHangup).toEqual({ cause: 'Normal Hangup', side: 'caller' });
    expect((await client.closed).code).toBe(1000);

    // A late second stream for the ended call is refused at once.
    const late = await connectStream(server, 'call-1', 'tok');
    late.start('call-1', { encoding, sampleRate: rate });
    const lateClose = await late.closed;
    expect(lateClose.code).toBe(1008);
    expect(lateClose.reason).toBe('call call-1 already ended');
    expect(server.handler.legs.size).toBe(1);
  });
});
