import { afterEach, describe, expect, it } from 'vitest';
import { decodeMuLaw } from '../../src/media/g711.js';
import { answerParams, connectStream, postCallback, startPlivoTestServer, tone, type PlivoTestServer } from '../support/plivo-harness.js';

async function connectedLeg(server: PlivoTestServer) {
  await postCallback(`${server.baseUrl}/plivo/answer`, answerParams('call-1'), { authToken: 'tok' });
  const client = await connectStream(server, 'call-1', 'tok');
  client.start('call-1');
  const leg = await server.handler.waitForLeg('call-1');
  return { client, leg };
}

const playAudioSamples = (msgs: Record<string, unknown>[]) =>
  msgs.filter((m) => m.event === 'playAudio').reduce((n, m) => n + decodeMuLaw(Buffer.from((m.media as { payload: string }).payload, 'base64')).length, 0);

describe('a long prompt on a Plivo leg', () => {
  let server: PlivoTestServer;
  afterEach(() => server?.close());

  it('is sent whole and in order, with its checkpoint after the last audio', async () => {
    server = await startPlivoTestServer({ contentType: 'audio/x-mulaw;rate=8000', authToken: 'tok' });
    const { client, leg } = await connectedLeg(server);
    leg.play(tone(8000 * 10, 8000));
    leg.mark('after-10s');
    leg.play(tone(8000, 8000));
    await client.next((m) => m.event === 'checkpoint');
    const seen = client.received.filter((m) => m.event === 'playAudio' || m.event === 'checkpoint');
    const checkpointAt = seen.findIndex((m) => m.event === 'checkpoint');
    expect(playAudioSamples(seen.slice(0, checkpointAt))).toBe(80_000);
    expect(seen.length - checkpointAt - 1).toBeLessThanOrEqual(1); // the next prompt's audio follows its checkpoint
  });

  it('does not hold the event loop for the whole prompt: a clear right after play drops what was not sent', async () => {
    server = await startPlivoTestServer({ contentType: 'audio/x-mulaw;rate=8000', authToken: 'tok' });
    const { client, leg } = await connectedLeg(server);
    leg.play(tone(8000 * 10, 8000)); // ten seconds = several messages
    leg.mark('never');
    leg.clear(); // barge-in before the next event-loop turn
    await client.next((m) => m.event === 'clearAudio');
    leg.play(tone(800, 8000));
    leg.mark('next-prompt');
    await client.next((m) => m.event === 'checkpoint');
    const events = client.received.map((m) => m.event);
    expect(events.filter((e) => e === 'playAudio')).toHaveLength(2); // first message of the long prompt, then the new prompt
    expect(client.received.filter((m) => m.event === 'checkpoint').map((m) => m.name)).toEqual(['next-prompt']);
  });
});
