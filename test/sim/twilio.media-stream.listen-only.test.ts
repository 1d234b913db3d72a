import { describe, expect, it } from 'vitest';
import { encodeMuLaw } from '../../src/media/g711.js';
import { ToneTts } from '../support/sim-tone-tts.js';
import { ACCOUNT_SID, advanceUntil, eventually, timelineEvent, twilioTestbed, verbStarted } from './twilio-harness.js';

const NUMBER = '+18005553000';

describe('Twilio Media Streams: <Start><Stream> (listen-only)', () => {
  const bed = twilioTestbed({ tts: new ToneTts(20), streams: true });

  const sent = (event: string) => bed.streams.messages.filter((m) => m.msg.event === event).map((m) => m.msg);

  it('runs beside the TwiML, carries both tracks when asked, sends no dtmf, and ends on <Stop> by name', async () => {
    bed.app.route(
      '/voice',
      `<Response><Start><Stream name="fork" track="both_tracks" url="${bed.streams.base}/fork"/></Start><Say>hello</Say><Pause length="1"/><Stop><Stream name="fork"/></Stop><Pause length="1"/></Response>`,
    );
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script: { keys: [{ atSec: 0.2, digits: '7' }] } });
    const start = await bed.streams.waitFor((m) => m.event === 'start');
    const streamSid = start.streamSid as string;
    expect(start.start).toMatchObject({ tracks: ['inbound', 'outbound'], customParameters: {} });
    await verbStarted(call, 'Say');

    // The Say (5 characters of tone: 100 ms) is on the outbound track while the caller, silent, is on the inbound one.
    bed.clock.advance(200);
    await bed.streams.waitForCount((m) => m.event === 'media', 20);
    const media = sent('media').map((m) => m.media as { track: string; chunk: string; payload: string });
    expect(media.filter((m) => m.track === 'inbound').map((m) => m.chunk)).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 1)));
    const outbound = media.filter((m) => m.track === 'outbound').map((m) => Buffer.from(m.payload, 'base64'));
    expect(outbound.slice(0, 5).every((f) => f.some((b) => b !== 0xff))).toBe(true);
    expect(outbound.slice(5).every((f) => f.every((b) => b === 0xff))).toBe(true);

    await advanceUntil(bed.clock, () => call.timeline.some((e) => e.type === 'stream-stop'));
    expect(sent('stop')).toEqual([{ event: 'stop', sequenceNumber: expect.any(String), streamSid, stop: { accountSid: ACCOUNT_SID, callSid: call.callSid } }]);
    expect(call.timeline.find((e) => e.type === 'stream-stop')).toMatchObject({ reason: '<Stop><Stream>' });
    expect(sent('dtmf')).toHaveLength(0);
    // The key was not consumed by the listen-only stream.
    expect(call.timeline.find((e) => e.type === 'key')).toMatchObject({ digit: '7', consumed: false });
    await advanceUntil(bed.clock, () => call.isEnded);
    expect(call.timeline.flatMap((e) => (e.type === 'xml' ? [e.verb] : []))).toEqual(['Start', 'Say', 'Pause', 'Stop', 'Pause']);
  });

  it('audio, marks or clears sent on a listen-only stream are protocol errors: Twilio plays nothing', async () => {
    bed.app.route('/voice', `<Response><Start><Stream url="${bed.streams.base}/fork"/></Start><Pause length="5"/></Response>`);
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script: {} });
    const ws = await bed.streams.nextConnection();
    const start = await bed.streams.waitFor((m) => m.event === 'start');
    const streamSid = start.streamSid as string;
    const payload = Buffer.from(encodeMuLaw(new Int16Array(160).fill(5000))).toString('base64');
    ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload } }));
    ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'm' } }));
    ws.send(JSON.stringify({ event: 'clear', streamSid }));
    await eventually(() => bed.sim.stats.protocolErrors === 3);
    const warning = await timelineEvent(call, (e) => e.type === 'warning');
    expect(warning).toMatchObject({ message: 'stream protocol error: media on a listen-only <Start><Stream>: Twilio plays nothing' });
    await advanceUntil(bed.clock, () => call.isEnded);
    expect(bed.sim.stats.framesReceived).toBe(0);
  });

  it('a listen-only stream survives a REST update of the TwiML and ends with the call', async () => {
    bed.app.route('/voice', `<Response><Start><Stream url="${bed.streams.base}/fork"/></Start><Pause length="60"/></Response>`).route('/next', '<Response><Pause length="1"/></Response>');
    bed.sim.addNumber(NUMBER, { voiceUrl: bed.app.url('/voice') });
    const call = bed.sim.dialInbound({ from: '+14155551234', to: NUMBER, script: {} });
    await bed.streams.waitFor((m) => m.event === 'start');
    await verbStarted(call, 'Pause');
    expect(call.redirect({ url: bed.app.url('/next'), method: 'POST' })).toBe(true);
    await bed.app.waitFor('/next');
    await advanceUntil(bed.clock, () => call.isEnded);
    expect(await timelineEvent(call, (e) => e.type === 'stream-stop')).toMatchObject({ reason: 'call ended' });
    expect(sent('stop')).toHaveLength(1);
  });
});
