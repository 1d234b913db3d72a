import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { TwilioStreamClient, postWebhook, startTwilioTestServer, voiceParams, type TwilioTestServer } from '../support/twilio-harness.js';

const TOKEN = 'twilio-tie-token';

describe('a Twilio Media Stream is accepted only with the ticket of the call it names, once', () => {
  let server: TwilioTestServer;
  beforeEach(async () => {
    server = await startTwilioTestServer({ authToken: TOKEN });
    for (const sid of ['CAaaaa', 'CAbbbb']) expect((await postWebhook(`${server.baseUrl}/twilio/voice`, voiceParams(sid), { authToken: TOKEN })).status).toBe(200);
  });
  afterEach(async () => {
    await server.close();
  });

  it('a signed upgrade whose start carries no ticket, or another call\'s, is refused; the call then takes its own stream', async () => {
    // Twilio signs the handshake over the bare URL, so a captured signature fits every call: the ticket is what ties.
    const none = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    none.start('CAaaaa', { voxgateTicket: null });
    const closed = await none.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^start carries no valid voxgateTicket parameter for call CAaaaa/);

    const foreign = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    const ticketOfB = 'f'.repeat(32);
    foreign.start('CAaaaa', { voxgateTicket: ticketOfB });
    expect((await foreign.closed).code).toBe(1008);
    await server.logs.waitFor((l) => /Twilio stream refused: start carries no valid voxgateTicket/.test(l.msg));

    const own = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    own.start('CAaaaa');
    const leg = await server.handler.waitForLeg('CAaaaa');
    const frame = once(leg, 'audio');
    own.media(Buffer.alloc(160, 0xff));
    await frame;
    own.close();
  });

  it('once the call had its stream, another one is refused even after the first closed', async () => {
    const first = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    first.start('CAbbbb');
    const leg = await server.handler.waitForLeg('CAbbbb');
    const hungUp = once(leg, 'hangup');
    first.close();
    await hungUp;
    const again = await TwilioStreamClient.connect(server.streamUrl, TOKEN);
    again.start('CAbbbb');
    expect(await again.closed).toEqual({ code: 1008, reason: 'call CAbbbb already has a stream' });
  });
});
