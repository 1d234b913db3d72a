import { afterEach, describe, expect, it } from 'vitest';
import { XMLParser } from 'fast-xml-parser';
import { decodeMuLaw, encodeMuLaw } from '../../src/media/g711.js';
import { collectFrames, tone } from '../support/carrier-harness.js';
import { TwilioStreamClient, postWebhook, startTwilioTestServer, voiceParams, type TwilioTestServer } from '../support/twilio-harness.js';

const TOKEN = 'twilio-test-token';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

describe('a Twilio call through the adapter', () => {
  let server: TwilioTestServer;
  afterEach(async () => {
    await server.close();
  });

  it('answers with <Connect><Stream>, carries the call over Media Streams with marks, clear and DTMF, and ends on the status callback', async () => {
    server = await startTwilioTestServer({ authToken: TOKEN });
    const answer = await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams('CA1'), { authToken: TOKEN });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/text\/xml/);
    const stream = xml.parse(answer.text).Response.Connect.Stream;
    expect(stream['@_url']).toBe(server.streamUrl);
    expect(stream.Parameter).toContainEqual({ '@_name': 'callId', '@_value': 'vx-1' });
    // The ticket that ties the stream to this call (see twilio.stream.tied-to-its-call.test.ts).
    expect(stream.Parameter).toContainEqual({ '@_name': 'voxgateTicket', '@_value': expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(server.handler.answered).toEqual([expect.objectContaining({ callId: 'vx-1', carrier: 'twilio', carrierCallId: 'CA1', direction: 'inbound', from: '+14155551234', to: '+14155550000' })]);

    const client = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    client.start('CA1', { callId: 'vx-1' });
    const leg = await server.handler.waitForLeg('CA1');
    expect(leg.carrier).toBe('twilio');
    expect(leg.sampleRate).toBe(8000);
    // No REST credentials: nothing to transfer with; Media Streams carry no outbound DTMF.
    expect(leg.capabilities).toEqual({ transfer: false, bridgeTransfer: false, sendDtmf: false, sendMetadata: false, record: false });
    expect(() => leg.sendDtmf('1')).toThrow(/Cannot send DTMF on Twilio call CA1/);

    // Caller audio: one 20 ms mu-law chunk per media message becomes one frame.
    const voice = tone(160, 8000);
    const frames = collectFrames(leg, 2);
    client.media(Buffer.from(encodeMuLaw(voice)));
    client.media(Buffer.from(encodeMuLaw(voice)));
    const [first] = await frames;
    expect(first).toHaveLength(160);
    expect(Math.max(...first.map((s, i) => Math.abs(s - voice[i])))).toBeLessThan(600);

    // Bot audio goes out as mu-law media messages on the stream's sid, then the mark.
    const botAudio = tone(12_000, 8000, 300);
    leg.play(botAudio);
    leg.mark('prompt-1');
    const mark = await client.next((m) => m.event === 'mark');
    const media = client.received.filter((m) => m.event === 'media') as { streamSid: string; media: { payload: string } }[];
    expect(media.length).toBe(2); // 1.5 s of audio in messages of at most one second
    expect(media.every((m) => m.streamSid === 'MZ1' + '0'.repeat(31))).toBe(true);
    const played = Int16Array.from(media.flatMap((m) => [...decodeMuLaw(Buffer.from(m.media.payload, 'base64'))]));
    expect(played.length).toBe(botAudio.length);
    expect(mark).toEqual({ event: 'mark', streamSid: 'MZ1' + '0'.repeat(31), mark: { name: 'prompt-1' } });

    // Twilio returns the mark once the audio before it has played.
    const heard = new Promise((resolve) => leg.once('mark', resolve));
    client.mark('prompt-1');
    expect(await heard).toBe('prompt-1');

    // Barge-in: clear, then a mark of Voxgate's own that Twilio answers at once into the emptied buffer.
    leg.clear();
    const clear = await client.next((m) => m.event === 'clear');
    expect(clear).toEqual({ event: 'clear', streamSid: 'MZ1' + '0'.repeat(31) });
    const sentinel = (await client.next((m) => m.event === 'mark' && (m.mark as { name: string }).name !== 'prompt-1')) as { mark: { name: string } };
    const cleared = new Promise((resolve) => leg.once('cleared', () => resolve(true)));
    const marks: string[] = [];
    leg.on('mark', (name) => marks.push(name));
    client.mark(sentinel.mark.name);
    expect(await cleared).toBe(true);
    expect(marks).toEqual([]); // the confirmation is not taken for a prompt's mark

    const digit = new Promise((resolve) => leg.once('dtmf', resolve));
    client.dtmf('7');
    expect(await digit).toBe('7');

    // The status callback ends the call and the leg, and closes the stream.
    const legHangup = new Promise((resolve) => leg.once('hangup', resolve));
    const status = await postWebhook(`${server.baseUrl}/twilio/status`, voiceParams('CA1', { CallStatus: 'completed', CallDuration: '42' }), { authToken: TOKEN });
    expect(status.status).toBe(200);
    expect(server.handler.ended).toEqual([{ callId: 'vx-1', end: { cause: 'Completed', side: 'caller', durationSec: 42 } }]);
    expect(await legHangup).toEqual({ cause: 'Completed', side: 'caller' });
    expect((await client.closed).code).toBe(1000);

    // A stream Twilio opens after the call ended is refused, naming why.
    const late = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    late.start('CA1');
    expect(await late.closed).toEqual({ code: 1008, reason: 'call CA1 already ended' });
  });

  it('passes SIP headers of a SIP-originated call to the application by their SIP names', async () => {
    server = await startTwilioTestServer({ authToken: TOKEN });
    await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams('CA2', { 'SipHeader_X-Tenant': 'acme', CallerName: 'Ada' }), { authToken: TOKEN });
    expect(server.handler.answered[0]).toMatchObject({ callerDisplayName: 'Ada', extra: { 'X-Tenant': 'acme', CallerName: 'Ada' } });
  });

  it('a stop message ends the leg as the carrier hanging up', async () => {
    server = await startTwilioTestServer({ authToken: TOKEN });
    await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams('CA3'), { authToken: TOKEN });
    const client = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    client.start('CA3');
    const leg = await server.handler.waitForLeg('CA3');
    const hangup = new Promise((resolve) => leg.once('hangup', resolve));
    client.stop('CA3');
    expect(await hangup).toEqual({ cause: 'Stream stopped', side: 'carrier' });
  });
});
