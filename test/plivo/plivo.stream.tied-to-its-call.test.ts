import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { XMLParser } from 'fast-xml-parser';
import { PlivoStreamClient, answerParams, connectStream, postCallback, signedHeaders, startPlivoTestServer, type PlivoTestServer } from '../support/plivo-harness.js';

const TOKEN = 'tie-token';
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });

describe('a Plivo stream is accepted only for the call it was issued for, once', () => {
  let server: PlivoTestServer;
  beforeEach(async () => {
    server = await startPlivoTestServer({ authToken: TOKEN });
  });
  afterEach(async () => {
    await server.close();
  });

  const answer = async (callUuid: string) => {
    const res = await postCallback(`${server.baseUrl}/plivo/answer`, answerParams(callUuid), { authToken: TOKEN });
    expect(res.status).toBe(200);
    return String(xml.parse(res.text).Response.Stream['#text']);
  };

  it('the answer XML gives a stream URL naming the call and its ticket', async () => {
    const url = await answer('call-a');
    expect(url).toBe(server.streamUrlFor('call-a'));
    expect(new URL(url).searchParams.get('ticket')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a validly signed upgrade without a ticket, or with another call\'s, is closed with 1008 before any start', async () => {
    await answer('call-a');
    const bare = `${server.streamUrl}?callUuid=call-a`;
    const noTicket = await PlivoStreamClient.connect(bare, signedHeaders('GET', bare.replace('ws://', 'http://'), {}, TOKEN));
    expect(await noTicket.closed).toEqual({ code: 1008, reason: 'invalid stream ticket' });
    await server.logs.waitFor((l) => /Plivo stream upgrade rejected: the stream ticket is not the one issued for call call-a/.test(l.msg));

    const ticketOfB = new URL(server.streamUrlFor('call-b')).searchParams.get('ticket')!;
    const swapped = `${server.streamUrl}?callUuid=call-a&ticket=${ticketOfB}`;
    const other = await PlivoStreamClient.connect(swapped, signedHeaders('GET', swapped.replace('ws://', 'http://'), {}, TOKEN));
    expect((await other.closed).reason).toBe('invalid stream ticket');

    const noCall = await PlivoStreamClient.connect(server.streamUrl, signedHeaders('GET', server.streamUrl.replace('ws://', 'http://'), {}, TOKEN));
    expect((await noCall.closed).code).toBe(1008);
    await server.logs.waitFor((l) => /the stream URL names no call/.test(l.msg));
    expect(server.handler.legs.size).toBe(0);
  });

  it('a stream whose start names another waiting call is refused, and that call still gets its own stream', async () => {
    await answer('call-a');
    await answer('call-b');
    const hijack = await connectStream(server, 'call-a', TOKEN);
    hijack.start('call-b');
    expect(await hijack.closed).toEqual({ code: 1008, reason: 'start names call call-b, but the stream URL was issued for call call-a' });
    await server.logs.waitFor((l) => /Plivo stream refused: start names call call-b/.test(l.msg));

    const own = await connectStream(server, 'call-b', TOKEN);
    own.start('call-b');
    const leg = await server.handler.waitForLeg('call-b');
    const frame = once(leg, 'audio');
    own.media(Buffer.alloc(160, 0xff));
    await frame;
    own.close();
  });

  it('a second stream for a call that already had one is refused, also after the first one closed', async () => {
    await answer('call-a');
    const first = await connectStream(server, 'call-a', TOKEN);
    first.start('call-a');
    const leg = await server.handler.waitForLeg('call-a');

    const whileUp = await connectStream(server, 'call-a', TOKEN);
    whileUp.start('call-a');
    expect(await whileUp.closed).toEqual({ code: 1008, reason: 'call call-a already has a stream' });
    const frame = once(leg, 'audio');
    first.media(Buffer.alloc(160, 0xff));
    await frame;

    const hungUp = once(leg, 'hangup');
    first.close();
    await hungUp;
    // The call is still live (no hangup callback yet) and waits for nothing: a new socket may not take it over.
    const after = await connectStream(server, 'call-a', TOKEN);
    after.start('call-a');
    expect(await after.closed).toEqual({ code: 1008, reason: 'call call-a already has a stream' });
    await server.logs.waitFor((l) => /Plivo call call-a already had its media stream; closing the second one/.test(l.msg));
    expect(server.handler.ended).toEqual([]);
  });
});
