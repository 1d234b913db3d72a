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
  // The SDP names `sdpPeer`; the far end really sends from `natPeer` (NAT, or an SBC's other port).
  const sdpPeer = await UdpPeer.create();
  const natPeer = await UdpPeer.create();
  const rtp = await boundSocket();
  const session = new RtpSession({ rtp, codec: PCMU, remote: { address: '127.0.0.1', port: sdpPeer.port }, clock, logger: silentLogger(), pacer: new RtpPacer(clock) });
  const warnings: string[] = [];
  session.on('warning', (w) => warnings.push(w));
  cleanups.push(async () => {
    const closed = socketClosed(rtp);
    session.close();
    await closed;
    await sdpPeer.close();
    await natPeer.close();
  });
  const deliver = async (from: UdpPeer, packets: Buffer[]) => {
    const handled = nextMessages(rtp, packets.length);
    for (const p of packets) from.send(p, rtp.address().port);
    await handled;
  };
  const tick = () => clock.advance(20);
  return { clock, sdpPeer, natPeer, rtp, session, warnings, deliver, tick };
}

const audio = (seq: number, ssrc = 0xaaaa) => rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc, payload: new Uint8Array(160).fill(0x80) });

describe('RTP session: symmetric RTP', () => {
  it('sends to the SDP address until the peer\'s packets arrive, then to their source, warning once', async () => {
    const { sdpPeer, natPeer, session, warnings, deliver, tick } = await setup();
    tick();
    tick();
    await sdpPeer.waitForTotal(2);
    await deliver(natPeer, [audio(1)]);
    expect(session.destination).toEqual({ address: '127.0.0.1', port: natPeer.port });
    tick();
    await natPeer.waitForTotal(1);
    await deliver(natPeer, [audio(2), audio(3)]);
    tick();
    tick();
    await natPeer.waitForTotal(3);
    expect(sdpPeer.packets).toHaveLength(2);
    expect(warnings).toEqual([`RTP arrives from 127.0.0.1:${natPeer.port}, not the SDP's 127.0.0.1:${sdpPeer.port}; sending there (symmetric RTP)`]);
    // One continuous stream across the switch.
    const all = [...sdpPeer.packets, ...natPeer.packets].map((p) => p.header);
    all.forEach((h, i) => expect(h.sequence).toBe((all[0].sequence + i) & 0xffff));
  });

  it('a stray datagram from elsewhere (another SSRC) does not steal the stream', async () => {
    const { natPeer, session, deliver, tick } = await setup();
    await deliver(natPeer, [audio(1), audio(2)]);
    const stray = await UdpPeer.create();
    try {
      await deliver(stray, [audio(77, 0xbad), audio(500, 0xbad2)]);
      expect(session.destination).toEqual({ address: '127.0.0.1', port: natPeer.port });
      tick();
      await natPeer.waitForTotal(1);
      expect(stray.packets).toHaveLength(0);
    } finally {
      await stray.close();
    }
  });

  it('setRemote (re-INVITE to a new address) sends there until packets show where the peer really is', async () => {
    const { natPeer, session, deliver, tick } = await setup();
    await deliver(natPeer, [audio(1)]);
    const moved = await UdpPeer.create();
    try {
      session.setRemote({ address: '127.0.0.1', port: moved.port });
      tick();
      await moved.waitForTotal(1);
      expect(session.destination?.port).toBe(moved.port);
      // The SBC failed over: same stream continues from the new address.
      await deliver(moved, [audio(2), audio(3)]);
      tick();
      await moved.waitForTotal(2);
      expect(natPeer.packets).toHaveLength(0);
    } finally {
      await moved.close();
    }
  });
});
