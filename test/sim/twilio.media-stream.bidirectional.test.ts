import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import type { WebSocket } from 'ws';
import { encodeMuLaw } from '../../src/media/g711.js';
import type { TwilioCall } from '../../src/sim/twilio/twilio-call.js';
import type { TwilioMediaStreamClient } from '../../src/sim/twilio/media-stream-client.js';
import { audibleMs, ToneTts } from '../support/sim-tone-tts.js';
import { ACCOUNT_SID, API, AUTH_TOKEN, advanceUntil, eventually, rest, timelineEvent, twilioTestbed } from './twilio-harness.js';

const NUMBER = '+18005552000';

function tone(ms: number): Int16Array {
  const out = new Int16Array((8000 * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(9000 * Math.sin((2 * Math.PI * 500 * i) / 8000));
  return out;
}
const mulaw = (pcm: Int16Array) => Buffer.from(encodeMuLaw(pcm)).toString('base64');

describe('Twilio Media Streams: <Connect><Stream> (bidirectional)', () => {
  const bed = twilioTestbed({ tts: new ToneTts(20), streams: true });

  const connectTwiml = (after = '') =>
    `<Response><Connect><Stream url="${bed.streams.base}/media"><Parameter name="botId" value="42"/><Parameter name="lang" value="en"/></Stream></Connect>${after}</Response>`;

  /** An inbound call whose TwiML connects a stream; resolves once the stream sent `start`. */
  async function connectedCall(script = {}, after = ''): Promise<{ call: TwilioCall; ws: WebSocket; streamSid: string; client: TwilioMediaStreamClient }> {
    bed.app.route('/voice', connectTwiml(after));
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script });
    const ws = await bed.streams.nextConnection();
    const start = await bed.streams.waitFor((m) => m.event === 'start');
    return { call, ws, streamSid: start.streamSid as string, client: [...call.streams][0] };
  }
  const sent = (event: string) => bed.streams.messages.filter((m) => m.msg.event === event).map((m) => m.msg);

  it('signs the upgrade over the stream URL, sends connected and start with the Parameters, then the caller voice every 20 ms', async () => {
    const voice = tone(200);
    const { call, streamSid } = await connectedCall({ voice: [{ atSec: 0.1, samples: voice }] });
    expect(twilio.validateRequest(AUTH_TOKEN, String(bed.streams.upgradeHeaders[0]['x-twilio-signature']), bed.streams.upgradeUrls[0], {})).toBe(true);
    expect(bed.streams.messages[0].msg).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(bed.streams.messages[1].msg).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid,
      start: {
        streamSid,
        accountSid: ACCOUNT_SID,
        callSid: call.callSid,
        tracks: ['inbound'],
        customParameters: { botId: '42', lang: 'en' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    expect(streamSid).toMatch(/^MZ[0-9a-f]{32}$/);

    bed.clock.advance(500);
    await bed.streams.waitForCount((m) => m.event === 'media', 25);
    const media = sent('media');
    expect(media.map((m) => m.sequenceNumber)).toEqual(Array.from({ length: 25 }, (_, i) => String(i + 2)));
    media.forEach((m, i) => {
      expect(m.streamSid).toBe(streamSid);
      expect(m.media).toMatchObject({ track: 'inbound', chunk: String(i + 1), timestamp: String(i * 20) });
      expect(Buffer.from((m.media as { payload: string }).payload, 'base64')).toHaveLength(160);
    });
    // The caller speaks 100-300 ms after answer: frames 5..14, silence (0xFF) before.
    const frame = (i: number) => Buffer.from((media[i].media as { payload: string }).payload, 'base64');
    expect(frame(0).every((b) => b === 0xff)).toBe(true);
    expect(frame(5).equals(Buffer.from(encodeMuLaw(voice.subarray(0, 160))))).toBe(true);
    expect(bed.sim.stats.framesSent).toBe(25);
    expect(bed.sim.stats.frameLateness.maxMs).toBe(0);
  });

  it('plays the media it receives in real time and echoes a mark only once the audio before it has played', async () => {
    const { call, ws, streamSid, client } = await connectedCall();
    const audio = tone(600);
    // Sent faster than real time, in 3 messages of any size.
    for (const part of [audio.subarray(0, 1000), audio.subarray(1000, 3500), audio.subarray(3500)]) ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: mulaw(part) } }));
    ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'greeting' } }));
    await eventually(() => client.stats.marksReceived === 1);
    expect(client.stats).toMatchObject({ audioMessages: 3, framesReceived: 30 });

    bed.clock.advance(580);
    expect(client.stats.marksAcked).toBe(0);
    bed.clock.advance(20);
    expect(client.stats.marksAcked).toBe(1);
    expect(await bed.streams.waitFor((m) => m.event === 'mark')).toEqual({ event: 'mark', sequenceNumber: expect.any(String), streamSid, mark: { name: 'greeting' } });
    expect(call.timeline.find((e) => e.type === 'checkpoint')).toMatchObject({ name: 'greeting', atMs: 600 });

    ws.close();
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBe(600);
    expect(bed.sim.stats.framesPlayed).toBe(30);
  });

  it('clear drops the queued audio at once and echoes every pending mark', async () => {
    const { call, ws, streamSid, client } = await connectedCall();
    ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: mulaw(tone(3000)) } }));
    ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'sentence-1' } }));
    ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: mulaw(tone(1000)) } }));
    ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'sentence-2' } }));
    await eventually(() => client.stats.marksReceived === 2);
    bed.clock.advance(200);

    ws.send(JSON.stringify({ event: 'clear', streamSid }));
    const cleared = await timelineEvent(call, (e) => e.type === 'cleared');
    expect(cleared).toMatchObject({ droppedMs: 3800 });
    expect(client.stats.marksAcked).toBe(2);
    await bed.streams.waitForCount((m) => m.event === 'mark', 2);
    expect(sent('mark').map((m) => (m.mark as { name: string }).name)).toEqual(['sentence-1', 'sentence-2']);

    bed.clock.advance(1000);
    ws.close();
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBe(200);
  });

  it('sends the caller\'s keys as dtmf on the inbound track, and runs the next verb once the application closes the socket', async () => {
    const { call, ws, streamSid } = await connectedCall({ keys: [{ atSec: 0.1, digits: '4#' }] }, '<Say>after the stream</Say>');
    bed.clock.advance(300);
    await bed.streams.waitForCount((m) => m.event === 'dtmf', 2);
    expect(sent('dtmf')).toEqual([
      { event: 'dtmf', streamSid, sequenceNumber: expect.any(String), dtmf: { track: 'inbound_track', digit: '4' } },
      { event: 'dtmf', streamSid, sequenceNumber: expect.any(String), dtmf: { track: 'inbound_track', digit: '#' } },
    ]);
    expect(call.timeline.filter((e) => e.type === 'key' && e.consumed)).toHaveLength(2);

    ws.close();
    await timelineEvent(call, (e) => e.type === 'stream-stop');
    await advanceUntil(bed.clock, () => call.isEnded);
    expect(call.timeline.flatMap((e) => (e.type === 'xml' ? [e.verb] : []))).toEqual(['Connect', 'Say']);
    expect(call.timeline.find((e) => e.type === 'stream-stop')).toMatchObject({ reason: 'socket closed by the server (code 1005)' });
    expect(sent('stop')).toHaveLength(0);
  });

  it('a REST update with new TwiML ends the stream (stop, then close) and runs the new TwiML', async () => {
    const { call, ws, streamSid } = await connectedCall();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const update = await rest(bed.base, `${API}/Calls/${call.callSid}.json`, { Twiml: '<Response><Say>transferring</Say><Hangup/></Response>' });
    expect(update.status).toBe(200);
    expect(await closed).toBe(1000);
    expect(sent('stop')).toEqual([{ event: 'stop', sequenceNumber: expect.any(String), streamSid, stop: { accountSid: ACCOUNT_SID, callSid: call.callSid } }]);
    await advanceUntil(bed.clock, () => call.isEnded);
    expect(call.timeline.flatMap((e) => (e.type === 'xml' ? [e.verb] : []))).toEqual(['Connect', 'Say', 'Hangup']);
    expect(call.timeline.find((e) => e.type === 'stream-stop')).toMatchObject({ reason: "the call's TwiML was replaced" });
  });

  it('the stream ends with stop when the caller hangs up', async () => {
    const { call, ws, streamSid } = await connectedCall({ hangupAfterSec: 0.5 });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    bed.clock.advance(500);
    expect(await call.ended).toMatchObject({ status: 'completed', endedBy: 'caller' });
    expect(await closed).toBe(1000);
    expect(sent('stop')[0]).toMatchObject({ streamSid });
  });

  it('an application that sends garbage gets each message counted, logged and dropped; the call goes on', async () => {
    const { call, ws, streamSid, client } = await connectedCall();
    const warnings: string[] = [];
    call.on('warning', (e) => warnings.push(e.message));
    ws.send('not json');
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.send('[1,2]');
    ws.send(JSON.stringify({ event: 'playAudio', streamSid, media: { payload: 'AAAA' } }));
    ws.send(JSON.stringify({ event: 'media', streamSid: 'MZ00000000000000000000000000000000', media: { payload: 'AAAA' } }));
    ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: '%%% not base64 %%%' } }));
    ws.send(JSON.stringify({ event: 'media', streamSid }));
    ws.send(JSON.stringify({ event: 'mark', streamSid, mark: {} }));
    ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: mulaw(tone(20)) } }));
    await eventually(() => client.stats.audioMessages === 1);
    expect(client.stats.protocolErrors).toBe(8);
    expect(bed.sim.stats.protocolErrors).toBe(8);
    expect(warnings).toEqual([
      'stream protocol error: message is not valid JSON',
      'stream protocol error: binary WebSocket message (Twilio expects JSON text frames)',
      'stream protocol error: message is not a JSON object',
      'stream protocol error: unknown event "playAudio" (Twilio accepts media, mark and clear)',
      `stream protocol error: media with streamSid "MZ00000000000000000000000000000000", not this stream's ${streamSid}`,
      'stream protocol error: media.payload is not base64 (Twilio expects base64 mu-law 8 kHz audio)',
      'stream protocol error: media without media.payload',
      'stream protocol error: mark without mark.name',
    ]);
    bed.clock.advance(100);
    ws.close();
    const result = await call.ended;
    expect(audibleMs(result.heard)).toBe(20);
  });

  it('a stream URL Twilio would refuse is a failed verb, visibly, and the TwiML goes on', async () => {
    bed.app.route('/voice', '<Response><Connect><Stream url="ws://media.example.com/x"/></Connect><Connect><Stream/></Connect><Hangup/></Response>');
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script: {} });
    await call.ended;
    const warnings = call.timeline.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings).toEqual([
      '<Connect> failed: <Stream url="ws://media.example.com/x">: Twilio streams to wss:// URLs only (ws:// is allowed to a loopback host in the simulator); continuing with the next element',
      '<Connect> failed: <Stream> needs a url attribute (wss://...); continuing with the next element',
    ]);
  });

  it('warns about a query string on the stream URL and connects without it', async () => {
    bed.app.route('/voice', `<Response><Connect><Stream url="${bed.streams.base}/media?botId=42"/></Connect></Response>`);
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script: {} });
    const ws = await bed.streams.nextConnection();
    expect(bed.streams.upgradeUrls[0]).toBe(`${bed.streams.base}/media`);
    expect(call.timeline.find((e) => e.type === 'warning')).toMatchObject({ message: expect.stringMatching(/does not pass query strings to the stream; send values as <Parameter>s/) });
    ws.close();
    await call.ended;
    expect(sent('start')[0].start).toMatchObject({ customParameters: {} });
  });
});
