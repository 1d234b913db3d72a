/**
 * Where the transport sends the response to a request, whatever the request's Via says: a port of 0 or
 * an rport of 0 is dropped with a rate-limited warning (node's dgram throws for it, and out of a socket
 * handler that is an uncaught exception: the fuzz test found it), and a `received` the peer wrote itself
 * is replaced by the packet's real source (RFC 3261 18.2.1, RFC 3581), so no peer can aim Voxgate's
 * responses at a third address.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { SipTransport } from '../../src/carriers/sip/transport/sip-transport.js';
import { systemClock } from '../../src/runtime/clock.js';
import { captureLogger, LOG_WARN } from '../support/captured-logger.js';

function bindUdp(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

/** A request the parser rejects (bad Max-Forwards) but can answer: it gets a 400. */
function badRequest(via: string): Buffer {
  return Buffer.from(
    [
      'OPTIONS sip:voxgate@127.0.0.1 SIP/2.0',
      `Via: ${via}`,
      'Max-Forwards: many',
      'From: <sip:a@127.0.0.1>;tag=1',
      'To: <sip:voxgate@127.0.0.1>',
      'Call-ID: c1@127.0.0.1',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

describe('SIP transport: where responses go', () => {
  let transport: SipTransport | undefined;
  const sockets: dgram.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await transport?.close();
  });

  it('drops a response for port 0 without throwing, and answers the real source despite a forged received', async () => {
    const { logger, lines } = captureLogger();
    transport = new SipTransport({ address: '127.0.0.1', port: 0, transports: ['udp'], advertisedAddress: '127.0.0.1', logger, clock: systemClock });
    await transport.listen();
    const port = transport.port('udp')!;
    const peer = await bindUdp();
    sockets.push(peer);
    const received: string[] = [];
    peer.on('message', (data) => received.push(data.toString('latin1')));
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      peer.send(badRequest('SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bKzero'), port, '127.0.0.1');
      peer.send(badRequest('SIP/2.0/UDP 127.0.0.1;rport=0;branch=z9hG4bKrport0'), port, '127.0.0.1');
      // Sent-by names our port, received names another loopback address: the answer must come to us.
      peer.send(badRequest(`SIP/2.0/UDP 127.0.0.1:${peer.address().port};received=127.0.0.2;branch=z9hG4bKspoof`), port, '127.0.0.1');
      await expect.poll(() => received.length, { timeout: 3000 }).toBe(1);
      expect(received[0]).toMatch(/^SIP\/2\.0 400 /);
      expect(received[0]).toMatch(/\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;received=127\.0\.0\.1;branch=z9hG4bKspoof\r\n/);
      expect(uncaught).toEqual([]);
      expect(lines.filter((l) => l.level >= LOG_WARN).map((l) => l.msg)).toContain('SIP message to 127.0.0.1:0 dropped: not a usable port');
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
