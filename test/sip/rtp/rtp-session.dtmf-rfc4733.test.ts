import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { PCMU } from '../../../src/carriers/sip/rtp/rtp-codec.js';
import { RtpPacer, RtpSession } from '../../../src/carriers/sip/rtp/rtp-session.js';
import { parseTelephoneEvent, writeTelephoneEvent } from '../../../src/carriers/rtp-media/telephone-event.js';
import { FakeClock } from '../../support/fake-clock.js';
import { boundSocket, nextMessages, rtpPacket, socketClosed, UdpPeer } from './rtp-test-peer.js';

const TE = 101;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(te: number | null = TE) {
  const clock = new FakeClock();
  const peer = await UdpPeer.create();
  const rtp = await boundSocket();
  const session = new RtpSession({
    rtp,
    codec: PCMU,
    telephoneEventPayloadType: te ?? undefined,
    remote: { address: '127.0.0.1', port: peer.port },
    clock,
    logger: silentLogger(),
    pacer: new RtpPacer(clock),
  });
  const digits: string[] = [];
  session.on('dtmf', (d) => digits.push(d));
  cleanups.push(async () => {
    const closed = socketClosed(rtp);
    session.close();
    await closed;
    await peer.close();
  });
  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) clock.advance(20);
    await peer.waitForTotal(session.stats.packetsSent);
  };
  /** Sends datagrams to the session and waits until it has handled them. */
  const deliver = async (packets: Buffer[]) => {
    const handled = nextMessages(rtp, packets.length);
    for (const p of packets) peer.send(p, rtp.address().port);
    await handled;
  };
  return { clock, peer, rtp, session, digits, ticks, deliver };
}

function event(seq: number, ts: number, ev: number, end: boolean, duration: number, marker = false): Buffer {
  const payload = Buffer.alloc(4);
  writeTelephoneEvent(payload, 0, { event: ev, end, volume: 10, duration });
  return rtpPacket({ pt: TE, seq, ts, ssrc: 0x5151, marker, payload });
}

describe('RTP session: RFC 4733 DTMF', () => {
  it('a digit goes out as one event: shared start timestamp, marker on the first, growing duration, end packet x3; audio pauses and resumes', async () => {
    const { peer, session, ticks } = await setup();
    session.play(new Int16Array(160 * 4).fill(1000)); // 4 packets of audio
    await ticks(1);
    session.sendDtmf('1#', { durationMs: 100, pauseMs: 60 });
    await ticks(7 + 3 + 7 + 3);
    const p = peer.packets;
    const kinds = p.map((x) => (x.header.payloadType === TE ? 'E' : x.payload.every((b) => b === 0xff) ? 's' : 'a'));
    // audio, digit 1 (5 + 2 repeats of the end), 3 ticks of pause, digit # (7), then the rest of the audio.
    expect(kinds.join('')).toBe('a' + 'EEEEEEE' + 'sss' + 'EEEEEEE' + 'aaa');

    const first = p.slice(1, 8).map((x) => ({ ts: x.header.timestamp, m: x.header.marker, ...parseTelephoneEvent(x.payload)! }));
    expect(first.map((e) => e.event)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(new Set(first.map((e) => e.ts)).size).toBe(1);
    expect(first.map((e) => e.m)).toEqual([true, false, false, false, false, false, false]);
    expect(first.map((e) => e.duration)).toEqual([160, 320, 480, 640, 800, 800, 800]);
    expect(first.map((e) => e.end)).toEqual([false, false, false, false, true, true, true]);
    expect(first[0].volume).toBe(10);
    // The event starts where the stream's clock is: one packet after the audio packet before it.
    expect(first[0].ts).toBe((p[0].header.timestamp + 160) >>> 0);

    const second = p.slice(11, 18).map((x) => ({ ts: x.header.timestamp, m: x.header.marker, ...parseTelephoneEvent(x.payload)! }));
    expect(second.every((e) => e.event === 11 && e.ts === second[0].ts)).toBe(true);
    expect(second[0].m).toBe(true);
    expect(second[0].ts).toBe((p[0].header.timestamp + 11 * 160) >>> 0);
    // Sequence numbers run on through events; the stream timestamp kept time under them.
    p.forEach((x, i) => expect(x.header.sequence).toBe((p[0].header.sequence + i) & 0xffff));
    expect(p[18].header.timestamp).toBe((p[0].header.timestamp + 18 * 160) >>> 0);
  });

  it('throws for characters that are not DTMF digits, and when telephone-event was not negotiated', async () => {
    const { session } = await setup();
    expect(() => session.sendDtmf('12x')).toThrow(/"x" is not a DTMF digit/);
    const other = await setup(null);
    expect(() => other.session.sendDtmf('1')).toThrow(/telephone-event/);
  });

  it('an incoming event is reported once although its end packet comes three times', async () => {
    const { digits, deliver } = await setup();
    const ts = 4000;
    await deliver([
      event(1, ts, 5, false, 160, true),
      event(2, ts, 5, false, 320),
      event(3, ts, 5, false, 480),
      event(4, ts, 5, true, 640),
      event(5, ts, 5, true, 640),
      event(6, ts, 5, true, 640),
    ]);
    expect(digits).toEqual(['5']);
    await deliver([event(7, ts + 2000, 11, false, 160, true), event(8, ts + 2000, 11, true, 320), event(9, ts + 2000, 11, true, 320)]);
    expect(digits).toEqual(['5', '#']);
  });

  it('a key press between audio packets is not counted as lost audio (events share the sequence numbers)', async () => {
    const { session, deliver } = await setup();
    const audio = (seq: number) => rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc: 0x5151, payload: Buffer.alloc(160, 0xff) });
    const ts = 11 * 160;
    await deliver([audio(1), audio(2), audio(3), audio(4), audio(5), audio(6), audio(7), audio(8), audio(9), audio(10)]);
    await deliver([event(11, ts, 5, false, 160, true), event(12, ts, 5, false, 320), event(13, ts, 5, true, 480), event(14, ts, 5, true, 480), event(15, ts, 5, true, 480)]);
    await deliver([audio(16), audio(17), audio(18)]);
    expect(session.stats.packetsLost).toBe(0);
  });

  it('when every end packet is lost, the digit is still reported: at the next event, or after a timeout', async () => {
    const { clock, digits, deliver } = await setup();
    await deliver([event(1, 100, 3, false, 160, true), event(2, 100, 3, false, 320)]);
    expect(digits).toEqual([]);
    await deliver([event(3, 900, 4, false, 160, true)]);
    expect(digits).toEqual(['3']);
    for (let i = 0; i < 20; i++) clock.advance(20); // 400 ms without packets of event 4
    expect(digits).toEqual(['3', '4']);
  });

  it('events on the wrong payload type are ignored with a warning, not misread as digits', async () => {
    const { session, digits, deliver } = await setup();
    const warnings: string[] = [];
    session.on('warning', (w) => warnings.push(w));
    const wrong = event(1, 100, 3, true, 160);
    wrong[1] = 96;
    await deliver([wrong, wrong, wrong]);
    expect(digits).toEqual([]);
    expect(session.stats.ignored).toBe(3);
    expect(warnings).toHaveLength(1); // rate-limited
  });
});
