import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { PCMU } from '../../../src/carriers/sip/rtp/rtp-codec.js';
import { RtpPacer, RtpSession } from '../../../src/carriers/sip/rtp/rtp-session.js';
import { parseRtcp, writeReceiverReport, writeSenderReport, ntpTime, type RtcpCompound } from '../../../src/carriers/sip/rtp/rtcp.js';
import { FakeClock } from '../../support/fake-clock.js';
import { boundSocket, nextMessages, rtpPacket, socketClosed, UdpPeer } from './rtp-test-peer.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const PEER_SSRC = 0x7777;

async function setup(mux = false) {
  const clock = new FakeClock();
  const peerRtp = await UdpPeer.create();
  const peerRtcp = await UdpPeer.create();
  const rtp = await boundSocket();
  const rtcp = mux ? undefined : await boundSocket();
  const session = new RtpSession({
    rtp,
    rtcp,
    rtcpMux: mux,
    codec: PCMU,
    remote: { address: '127.0.0.1', port: peerRtp.port, rtcpPort: peerRtcp.port },
    clock,
    logger: silentLogger(),
    pacer: new RtpPacer(clock),
    cname: 'bot@voxgate',
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const done = Promise.all([socketClosed(rtp), ...(rtcp ? [socketClosed(rtcp)] : [])]);
    session.close();
    await done;
  };
  cleanups.push(async () => {
    await close();
    await peerRtp.close();
    await peerRtcp.close();
  });
  /** Runs the clock tick by tick, letting the peers' sockets drain every 10 ticks (a loopback burst of hundreds would overflow them). */
  const runFor = async (ms: number) => {
    for (let t = 0; t < ms; t += 20) {
      clock.advance(20);
      if ((t / 20) % 10 === 9) await peerRtp.waitForTotal(session.stats.packetsSent);
    }
  };
  const rtcpFrom = (peer: UdpPeer): RtcpCompound[] => peer.packets.map((p) => parseRtcp(p.raw)).filter((r): r is RtcpCompound => r !== null && r.cname !== undefined);
  return { clock, peerRtp, peerRtcp, rtp, rtcp, session, close, rtcpFrom, runFor };
}

describe('RTP session: RTCP', () => {
  it('sends SR + SDES CNAME every few seconds with its packet counts, and a report block on what it receives', async () => {
    const { peerRtp, peerRtcp, rtp, session, rtcpFrom, runFor } = await setup();
    // The peer sends 20 packets with two lost.
    const handled = nextMessages(rtp, 18);
    for (let k = 0; k < 20; k++) {
      if (k === 5 || k === 6) continue;
      peerRtp.send(rtpPacket({ pt: 0, seq: 100 + k, ts: k * 160, ssrc: PEER_SSRC, payload: new Uint8Array(160) }), rtp.address().port);
    }
    await handled;
    await runFor(8000);
    await peerRtcp.waitForTotal(1);
    const reports = rtcpFrom(peerRtcp);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    const r = reports[0];
    expect(r.cname).toBe('bot@voxgate');
    expect(r.sender?.ssrc).toBe(session.localSsrc);
    expect(r.sender?.packetCount).toBeGreaterThan(50);
    expect(r.sender?.octetCount).toBe(r.sender!.packetCount * 160);
    expect(r.reports).toEqual([expect.objectContaining({ ssrc: PEER_SSRC, cumulativeLost: 2, extendedHighestSequence: 119, fractionLost: Math.floor((2 * 256) / 20) })]);
  });

  it('round-trip time from the peer\'s report on our SR (LSR/DLSR), and the peer\'s SR reflected in our next report', async () => {
    const { clock, peerRtp, peerRtcp, rtp, rtcp, session, rtcpFrom, runFor } = await setup();
    const media = nextMessages(rtp, 1);
    peerRtp.send(rtpPacket({ pt: 0, seq: 1, ts: 0, ssrc: PEER_SSRC, payload: new Uint8Array(160) }), rtp.address().port);
    await media;
    await runFor(4000);
    await peerRtcp.waitForTotal(1);
    const sr = rtcpFrom(peerRtcp).at(-1)!.sender!;
    const lsr = (((sr.ntpSeconds & 0xffff) << 16) | (sr.ntpFraction >>> 16)) >>> 0;
    const srSentAt = (sr.ntpSeconds - 2_208_988_800) * 1000 + (sr.ntpFraction / 2 ** 32) * 1000;
    // Our SR reached the peer after 20 ms; it answers when the clock says so, and its RR takes 20 ms back: RTT 40 ms.
    const heldMs = clock.now() + 20 - srSentAt - 40;
    const buf = Buffer.alloc(200);
    const peerNtp = ntpTime(clock.now());
    let n = writeSenderReport(buf, 0, { ssrc: PEER_SSRC, ntpSeconds: peerNtp.seconds, ntpFraction: peerNtp.fraction, rtpTimestamp: 0, packetCount: 0, octetCount: 0 });
    n = writeReceiverReport(buf, n, PEER_SSRC, {
      ssrc: session.localSsrc,
      fractionLost: 64,
      cumulativeLost: 3,
      extendedHighestSequence: 0,
      jitter: 80,
      lastSr: lsr,
      delaySinceLastSr: Math.round((heldMs / 1000) * 65536),
    });
    clock.advance(20);
    const handled = nextMessages(rtcp!, 1);
    peerRtcp.socket.send(buf.subarray(0, n), rtcp!.address().port, '127.0.0.1');
    await handled;
    expect(session.stats.roundTripMs).toBeCloseTo(40, 0);
    expect(session.stats.remoteFractionLost).toBe(0.25);
    expect(session.stats.remoteJitterMs).toBe(10);

    // Our next report tells the peer when its SR arrived (LSR) and how long we held it (DLSR).
    const srArrivedAt = clock.now();
    const before = rtcpFrom(peerRtcp).length;
    await runFor(8000);
    await peerRtcp.waitForTotal(before + 1);
    const report = rtcpFrom(peerRtcp).at(-1)!;
    const block = report.reports.find((b) => b.ssrc === PEER_SSRC)!;
    expect(block.lastSr).toBe((((peerNtp.seconds & 0xffff) << 16) | (peerNtp.fraction >>> 16)) >>> 0);
    const reportSentAt = (report.sender!.ntpSeconds - 2_208_988_800) * 1000 + (report.sender!.ntpFraction / 2 ** 32) * 1000;
    expect((block.delaySinceLastSr / 65536) * 1000).toBeCloseTo(reportSentAt - srArrivedAt, -1);
  });

  it('close() sends a BYE (after SR/RR + SDES) and closes both sockets', async () => {
    const { clock, peerRtcp, session, close, rtcpFrom } = await setup();
    clock.advance(20);
    await close();
    await peerRtcp.waitForTotal(1);
    const last = rtcpFrom(peerRtcp).at(-1)!;
    expect(last.bye).toEqual([session.localSsrc]);
    session.close(); // idempotent
  });

  it('rtcp-mux: RTCP goes out on the RTP port, and RTCP arriving there is not taken for bad RTP', async () => {
    const { peerRtp, rtp, session, rtcpFrom, runFor } = await setup(true);
    await runFor(8000);
    await peerRtp.waitForTotal(session.stats.packetsSent + 1);
    expect(rtcpFrom(peerRtp).length).toBeGreaterThanOrEqual(1);
    const buf = Buffer.alloc(64);
    const n = writeReceiverReport(buf, 0, PEER_SSRC);
    const handled = nextMessages(rtp, 1);
    peerRtp.send(buf.subarray(0, n), rtp.address().port);
    await handled;
    expect(session.stats.malformed).toBe(0);
    expect(session.stats.ignored).toBe(0);
  });
});
