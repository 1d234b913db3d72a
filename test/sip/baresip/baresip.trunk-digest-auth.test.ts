/**
 * A baresip phone with trunk credentials: it REGISTERs and places calls through a registrar that
 * challenges with 401, answering with RFC 2617 digest (qop=auth). The trunk here is a few lines of
 * UDP that challenge each first request and check the digest of the retry.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Baresip, BARESIP_AVAILABLE } from '../../support/baresip.js';

const REALM = 'voxgate';
const NONCE = 'bm9uY2UtMQ';

interface Received {
  method: string;
  requestUri: string;
  headers: Map<string, string[]>;
}

/** Challenges every request without Authorization; REGISTER then gets 200, INVITE `inviteStatus`. */
async function startTrunk(inviteStatus: string): Promise<{ port: number; received: Received[]; socket: Socket }> {
  const socket = createSocket('udp4');
  const received: Received[] = [];
  socket.on('message', (buffer, peer) => {
    const [head] = buffer.toString('utf8').split('\r\n\r\n');
    const [requestLine, ...lines] = head.split('\r\n');
    const [method, requestUri] = requestLine.split(' ');
    if (method.startsWith('SIP/')) return;
    const headers = new Map<string, string[]>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    received.push({ method, requestUri, headers });
    if (method === 'ACK') return;
    const one = (name: string) => headers.get(name)?.[0] ?? '';
    const authorized = headers.has('authorization');
    const status = !authorized ? '401 Unauthorized' : method === 'REGISTER' ? '200 OK' : inviteStatus;
    const response = [
      `SIP/2.0 ${status}`,
      ...(headers.get('via') ?? []).map((v) => `Via: ${v}`),
      `From: ${one('from')}`,
      `To: ${one('to')}${method === 'INVITE' ? ';tag=trunk1' : ''}`,
      `Call-ID: ${one('call-id')}`,
      `CSeq: ${one('cseq')}`,
      ...(!authorized ? [`WWW-Authenticate: Digest realm="${REALM}", nonce="${NONCE}", algorithm=MD5, qop="auth"`] : []),
      ...(authorized && method === 'REGISTER' ? [`Contact: ${one('contact')}`] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    socket.send(response, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, received, socket };
}

function parseDigest(header: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) fields[match[1]] = match[2] ?? match[3];
  return fields;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The response a client knowing `password` computes for qop=auth. */
function expectedResponse(fields: Record<string, string>, method: string, password: string): string {
  const ha1 = md5(`${fields.username}:${fields.realm}:${password}`);
  const ha2 = md5(`${method}:${fields.uri}`);
  return md5(`${ha1}:${fields.nonce}:${fields.nc}:${fields.cnonce}:${fields.qop}:${ha2}`);
}

describe.skipIf(!BARESIP_AVAILABLE)(`a baresip phone with trunk credentials${BARESIP_AVAILABLE ? '' : ' (skipped: baresip not installed)'}`, () => {
  let trunk: Awaited<ReturnType<typeof startTrunk>> | undefined;
  afterEach(async () => {
    // Phones first: quitting un-REGISTERs, and the trunk must still be there to answer.
    await Baresip.stopAll();
    trunk?.socket.close();
    trunk = undefined;
  });

  it('registers and calls through a registrar that challenges with 401, with a correct digest each time', async () => {
    trunk = await startTrunk('480 Temporarily Unavailable');
    const phone = await Baresip.start({ name: 'pbx', account: { user: 'trunkuser', password: 's3cret', registrar: `127.0.0.1:${trunk.port}` } });
    // start() returns once registered.
    expect(phone.events.map((e) => e.type)).toEqual(expect.arrayContaining(['REGISTERING', 'REGISTER_OK']));

    await phone.dial(`sip:+15551234@127.0.0.1:${trunk.port}`);
    expect((await phone.waitForEvent('CALL_CLOSED')).param).toBe('480 Temporarily Unavailable');

    const registers = trunk.received.filter((r) => r.method === 'REGISTER');
    const invites = trunk.received.filter((r) => r.method === 'INVITE');
    expect(registers.length).toBeGreaterThanOrEqual(2);
    expect(invites).toHaveLength(2);
    for (const [request, method] of [
      [registers[1], 'REGISTER'],
      [invites[1], 'INVITE'],
    ] as const) {
      const digest = parseDigest(request.headers.get('authorization')?.[0] ?? '');
      expect(digest).toMatchObject({ username: 'trunkuser', realm: REALM, nonce: NONCE, qop: 'auth', nc: '00000001', uri: request.requestUri });
      expect(digest.response).toBe(expectedResponse(digest, method, 's3cret'));
    }
    // The challenged INVITE is retried in the same dialog attempt: same Call-ID and From tag, CSeq + 1.
    expect(invites[1].headers.get('call-id')).toEqual(invites[0].headers.get('call-id'));
    expect(invites[1].headers.get('from')).toEqual(invites[0].headers.get('from'));
    const cseq = (r: Received) => Number((r.headers.get('cseq')?.[0] ?? '').split(' ')[0]);
    expect(cseq(invites[1])).toBe(cseq(invites[0]) + 1);
    expect(invites[0].headers.get('from')?.[0]).toMatch(new RegExp(`^<sip:trunkuser@127\\.0\\.0\\.1:${trunk.port}>;tag=`));
    // The 401 of the first INVITE was ACKed.
    expect(trunk.received.filter((r) => r.method === 'ACK')).toHaveLength(2);
  });
});
