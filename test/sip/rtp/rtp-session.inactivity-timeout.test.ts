import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { PCMU } from '../../../src/carriers/sip/rtp/rtp-codec.js';
import { RtpPacer, RtpSession } from '../../../src/carriers/sip/rtp/rtp-session.js';
import { FakeClock } from '../../support/fake-clock.js';
import { boundSocket, nextMessages, rtpPacket, socketClosed, UdpPeer } from './rtp-test-peer.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const clock = new FakeClock();
  const peer = await UdpPeer.create();
  const rtp = await boundSocket();
  const session = new RtpSession({
    rtp,
    codec: PCMU,
    remote: { address: '127.0.0.1', port: peer.port },
    clock,
    logger: silentLogger(),
    pacer: new RtpPacer(clock),
    inactivityTimeoutMs: 2000,
  });
  const timeouts: { at: number; silentMs: number }[] = [];
  const start = clock.now();
  session.on('timeout', (silentMs) => timeouts.push({ at: clock.now() - start, silentMs }));
  cleanups.push(async () => {
    const closed = socketClosed(rtp);
    session.close();
    await closed;
    await peer.close();
  });
  let seq = 0;
  const deliverOne = async () => {
    const handled = nextMessages(rtp, 1);
    peer.send(rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc: 1, payload: new Uint8Array(160) }), rtp.address().port);
    seq++;
    await handled;
  };
  return { clock, session, timeouts, deliverOne, start };
}

describe('RTP session: media inactivity', () => {
  it('no RTP at all: one timeout when the limit is reached, not before and not again', async () => {
    const { clock, timeouts } = await setup();
    clock.advance(1980);
    expect(timeouts).toEqual([]);
    clock.advance(20);
    expect(timeouts).toEqual([{ at: 2000, silentMs: 2000 }]);
    clock.advance(10_000);
    expect(timeouts).toHaveLength(1);
  });

  it('counts from the last packet received, and a packet after a timeout re-arms it', async () => {
    const { clock, session, timeouts, deliverOne } = await setup();
    clock.advance(1500);
    await deliverOne();
    expect(session.stats.lastReceivedAt).toBe(clock.now());
    clock.advance(1980);
    expect(timeouts).toEqual([]);
    clock.advance(20);
    expect(timeouts).toEqual([{ at: 3500, silentMs: 2000 }]);
    await deliverOne();
    clock.advance(2000);
    expect(timeouts.map((t) => t.at)).toEqual([3500, 5500]);
  });

  it('on hold (sendonly or inactive from our side) no media is expected: no timeout; resuming starts the count again', async () => {
    const { clock, session, timeouts } = await setup();
    clock.advance(1000);
    session.setDirection('sendonly');
    clock.advance(10_000);
    session.setDirection('inactive');
    clock.advance(10_000);
    expect(timeouts).toEqual([]);
    session.setDirection('sendrecv');
    clock.advance(1980);
    expect(timeouts).toEqual([]);
    clock.advance(20);
    expect(timeouts).toEqual([{ at: 23_000, silentMs: 2000 }]);
  });

  it('recvonly (we hold the peer: it still sends) keeps the timeout', async () => {
    const { clock, session, timeouts } = await setup();
    session.setDirection('recvonly');
    clock.advance(2000);
    expect(timeouts).toHaveLength(1);
  });
});
