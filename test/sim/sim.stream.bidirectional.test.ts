import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import plivo from 'plivo';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { encodeMuLaw } from '../../src/media/g711.js';
import { FakePlivoApp, FakeStreamServer, type StreamMessage } from '../support/sim-app-server.js';
import { audibleMs } from '../support/sim-tone-tts.js';

const AUTH_ID = 'MASTREAMTEST';
const AUTH_TOKEN = 'stream-token';

function tone(ms: number, rate = 8000): Int16Array {
  const out = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(9000 * Math.sin((2 * Math.PI * 500 * i) / rate));
  return out;
}

const streamXml = (url: string, attrs = 'bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000"') =>
  `<Response><Stream ${attrs} extraHeaders="botId=42,lang=en">${url}</Stream></Response>`;

describe('bidirectional audio stream', () => {
  let sim: PlivoSimulator;
  let app: FakePlivoApp;
  let streams: FakeStreamServer;

  beforeEach(async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    await sim.listen();
    app = new FakePlivoApp();
    await app.listen();
    streams = new FakeStreamServer();
    await streams.listen();
    app.route('/hangup', '');
  });
  afterEach(async () => {
    await sim.close();
    await streams.close();
    await app.close();
  });

  it('signs the upgrade, sends start, then a media frame every 20 ms carrying the caller voice in order', async () => {
    app.route('/answer', streamXml(`${streams.base}/media?call=1`));
    sim.addNumber('18005550000', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
    const voice = tone(200);
    const call = sim.dialInbound({ from: '14155551234', to: '18005550000', script: { voice: [{ atSec: 0.1, samples: voice }] } });

    const start = await streams.waitFor((m) => m.event === 'start');
    const headers = streams.upgradeHeaders[0];
    const httpUrl = streams.upgradeUrls[0].replace(/^ws/, 'http');
    expect(plivo.validateV3Signature('GET', httpUrl, String(headers['x-plivo-signature-v3-nonce']), AUTH_TOKEN, String(headers['x-plivo-signature-v3']), {})).toBe(true);
    const s = start.start as { callId: string; streamId: string; accountId: string; tracks: string[]; mediaFormat: { encoding: string; sampleRate: number } };
    expect(s.callId).toBe(call.callUuid);
    expect(s.accountId).toBe(AUTH_ID);
    expect(s.tracks).toEqual(['inbound']);
    expect(s.mediaFormat).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000 });
    expect(start.extra_headers).toBe('botId=42,lang=en');
    expect(start.sequenceNumber).toBe(1);

    await streams.waitForCount((m) => m.event === 'media', 25);
    const media = streams.messages.filter((m) => m.msg.event === 'media');
    const seqs = media.map((m) => m.msg.sequenceNumber as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1);
    const chunks = media.map((m) => (m.msg.media as { chunk: number }).chunk);
    expect(chunks.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    for (const m of media) {
      const med = m.msg.media as { track: string; payload: string; timestamp: string };
      expect(med.track).toBe('inbound');
      expect(Buffer.from(med.payload, 'base64').length).toBe(160);
      expect(m.msg.streamId).toBe(s.streamId);
    }
    const stamps = media.map((m) => Number((m.msg.media as { timestamp: string }).timestamp));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i] - stamps[i - 1]).toBe(20);
    // Paced in real time: 24 intervals of 20 ms cannot arrive in much less than 480 ms.
    expect(media[24].at - media[0].at).toBeGreaterThan(400);
    // The caller's voice (100-300 ms after answer) is in frames 5..14, silence (0xFF) before it.
    const frame = (i: number) => Buffer.from((media[i].msg.media as { payload: string }).payload, 'base64');
    expect(frame(0).every((b) => b === 0xff)).toBe(true);
    expect(Buffer.compare(frame(5), Buffer.from(encodeMuLaw(voice.subarray(0, 160))))).toBe(0);

    sim.getCall(call.callUuid)!.party.stop();
    streams.sockets[0].close();
    const result = await call.ended;
    expect(result.causeCode).toBe(4010); // socket closed by the app, XML ran out
    expect(sim.stats.frameLateness.count).toBeGreaterThan(20);
    expect(sim.stats.frameLateness.percentile(50)).toBeLessThan(20);
  });

  it('plays playAudio to the caller in real time and acknowledges a checkpoint only after it played', async () => {
    app.route('/answer', streamXml(`${streams.base}/media`));
    sim.addNumber('18005550001', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
    const call = sim.dialInbound({ from: '14155551234', to: '18005550001', script: {} });
    const ws = await streams.nextConnection();
    const start = await streams.waitFor((m) => m.event === 'start');
    const streamId = (start.start as { streamId: string }).streamId;

    const audio = tone(600);
    // Sent faster than real time, in 3 messages, as Plivo allows.
    for (let i = 0; i < 3; i++) {
      const part = Buffer.from(encodeMuLaw(audio.subarray(i * 1600, (i + 1) * 1600)));
      ws.send(JSON.stringify({ event: 'playAudio', media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: part.toString('base64') } }));
    }
    const sentAt = performance.now();
    ws.send(JSON.stringify({ event: 'checkpoint', streamId, name: 'greeting' }));
    const played = await streams.waitFor((m) => m.event === 'playedStream');
    const ackedAfterMs = performance.now() - sentAt;
    expect(played.name).toBe('greeting');
    expect(played.streamId).toBe(streamId);
    expect(ackedAfterMs).toBeGreaterThan(550);

    ws.close();
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBe(600);
    const seg = call.timeline.find((e) => e.type === 'heard-audio-stop');
    expect(seg && seg.type === 'heard-audio-stop' && seg.durationMs).toBe(600);
    expect(sim.stats.framesReceived).toBe(30);
    expect(sim.stats.framesPlayed).toBe(30);
    expect(call.timeline.some((e) => e.type === 'checkpoint' && e.name === 'greeting')).toBe(true);
  });

  it('clearAudio cuts playout at once, is acknowledged, and drops the checkpoint queued behind the cleared audio', async () => {
    app.route('/answer', streamXml(`${streams.base}/media`));
    sim.addNumber('18005550002', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
    const call = sim.dialInbound({ from: '14155551234', to: '18005550002', script: {} });
    const ws = await streams.nextConnection();
    const start = await streams.waitFor((m) => m.event === 'start');
    const streamId = (start.start as { streamId: string }).streamId;

    ws.send(JSON.stringify({ event: 'playAudio', media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: Buffer.from(encodeMuLaw(tone(3000))).toString('base64') } }));
    ws.send(JSON.stringify({ event: 'checkpoint', streamId, name: 'long-prompt' }));
    await new Promise<void>((resolve) => call.once('heard-audio-start', () => resolve()));
    // Let ~200 ms play (counted in heard frames, not wall sleeps), then barge in.
    await new Promise<void>((resolve) => {
      const check = () => (call.party.heard.length >= 8000 * 0.3 ? resolve() : setImmediate(check));
      check();
    });
    ws.send(JSON.stringify({ event: 'clearAudio', streamId }));
    const cleared = await streams.waitFor((m) => m.event === 'clearedAudio');
    expect(cleared.streamId).toBe(streamId);
    const stop = await new Promise<{ durationMs: number }>((resolve) => call.once('heard-audio-stop', resolve));
    expect(stop.durationMs).toBeLessThan(1000);
    ws.close();
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBeLessThan(1000);
    expect(streams.messages.some((m) => m.msg.event === 'playedStream')).toBe(false);
    const clearedEv = call.timeline.find((e) => e.type === 'cleared');
    expect(clearedEv && clearedEv.type === 'cleared' && clearedEv.droppedMs).toBeGreaterThan(2000);
  });

  it('drops playAudio whose contentType does not match the stream, as Plivo plays nothing, and logs it', async () => {
    app.route('/answer', streamXml(`${streams.base}/media`, 'bidirectional="true" keepCallAlive="true" contentType="audio/x-l16;rate=16000"'));
    sim.addNumber('18005550003', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
    const call = sim.dialInbound({ from: '1', to: '18005550003', script: {} });
    const ws = await streams.nextConnection();
    const start = await streams.waitFor((m) => m.event === 'start');
    expect((start.start as { mediaFormat: unknown }).mediaFormat).toEqual({ encoding: 'audio/x-l16', sampleRate: 16000 });
    const media = await streams.waitFor((m) => m.event === 'media');
    expect(Buffer.from((media.media as { payload: string }).payload, 'base64').length).toBe(640); // 20 ms of 16-bit at 16 kHz

    const warning = new Promise<{ message: string }>((resolve) => call.once('warning', resolve));
    ws.send(JSON.stringify({ event: 'playAudio', media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: Buffer.from(encodeMuLaw(tone(200))).toString('base64') } }));
    expect((await warning).message).toMatch(/does not match the stream's audio\/x-l16 16000/);

    // The right format at 16 kHz is heard, at the right duration, in the 8 kHz recording.
    const pcm16k = tone(300, 16000);
    ws.send(JSON.stringify({ event: 'playAudio', media: { contentType: 'audio/x-l16', sampleRate: 16000, payload: Buffer.from(pcm16k.buffer).toString('base64') } }));
    ws.send(JSON.stringify({ event: 'checkpoint', streamId: (start.start as { streamId: string }).streamId, name: 'done' }));
    await streams.waitFor((m) => m.event === 'playedStream');
    ws.close();
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBeGreaterThanOrEqual(280);
    expect(audibleMs(result.heard)).toBeLessThanOrEqual(320);
    expect(sim.stats.protocolErrors).toBe(1);
  });

  it('sends the caller key presses as dtmf events and lets the app send DTMF to the caller', async () => {
    app.route('/answer', streamXml(`${streams.base}/media`));
    sim.addNumber('18005550004', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
    const call = sim.dialInbound({ from: '1', to: '18005550004', script: { keys: [{ atSec: 0.1, digits: '4#' }] } });
    const ws = await streams.nextConnection();
    const first = await streams.waitFor((m) => m.event === 'dtmf');
    expect((first.dtmf as { digit: string; track: string })).toMatchObject({ digit: '4', track: 'inbound' });
    await streams.waitFor((m: StreamMessage) => m.event === 'dtmf' && (m.dtmf as { digit: string }).digit === '#');
    const heard = new Promise<{ digits: string }>((resolve) => call.once('dtmf-heard', resolve));
    ws.send(JSON.stringify({ event: 'sendDTMF', dtmf: '123' }));
    expect((await heard).digits).toBe('123');
    ws.close();
    await call.ended;
    expect(call.party.heardDigits).toBe('123');
  });

  it('without keepCallAlive the XML continues after the stream starts (and ends the call when it runs out)', async () => {
    app.route('/answer', `<Response><Stream bidirectional="true" contentType="audio/x-mulaw;rate=8000">${streams.base}/media</Stream><Wait length="0.3"/></Response>`);
    sim.addNumber('18005550005', { answerUrl: app.url('/answer'), hangupUrl: app.url('/hangup') });
    const call = sim.dialInbound({ from: '1', to: '18005550005', script: {} });
    const ws = await streams.nextConnection();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const result = await call.ended;
    expect(result.causeCode).toBe(4010);
    expect(await closed).toBe(1000);
    expect(call.timeline.filter((e) => e.type === 'xml').map((e) => e.type === 'xml' && e.verb)).toEqual(['Stream', 'Wait']);
  });
});
