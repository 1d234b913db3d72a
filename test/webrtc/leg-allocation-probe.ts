/**
 * Drives one WebRTC leg's receive path (RTP -> decode -> 20 ms frame) and send path (queued PCM ->
 * encode -> RTP packet) for many frames, alone in its own process (run with --expose-gc), and prints
 * what it saw as JSON: distinct frame arrays and packet objects handed out, heap allocated per frame
 * (no collection in between) and retained after a collection, the least over several rounds. A
 * process of its own keeps the test runner's allocations out of the figures.
 */
import { OpusCodec } from '../../src/media/opus.js';
import { RtpHeader, RtpPacket } from 'werift';
import { encodeMuLaw } from '../../src/media/g711.js';
import { silentLogger } from '../../src/logger.js';
import { RtpPacer } from '../../src/carriers/rtp-media/rtp-pacer.js';
import { createLegCodec } from '../../src/carriers/webrtc/leg-codecs.js';
import type { WebRtcCodecName } from '../../src/carriers/webrtc/webrtc-config.js';
import { WebRtcLeg } from '../../src/carriers/webrtc/webrtc-leg.js';
import { FakeClock } from '../support/fake-clock.js';
import { tone } from '../support/media-signals.js';


const FRAMES = 3000;

/** The caller's packets for `codec`: 20 ms of a tone each, encoded once up front (what the browser would send). */
function callerPackets(codec: WebRtcCodecName, count: number): RtpPacket[] {
  const rate = codec === 'opus' ? 16000 : 8000;
  const opus = codec === 'opus' ? new OpusCodec(16000) : undefined;
  const signal = tone(440, rate, (rate / 50) * count);
  const packets: RtpPacket[] = [];
  for (let i = 0; i < count; i++) {
    const frame = signal.subarray((i * rate) / 50, ((i + 1) * rate) / 50);
    const payload = opus ? opus.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), frame.length) : Buffer.from(encodeMuLaw(frame));
    packets.push(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * (codec === 'opus' ? 960 : 160), payloadType: codec === 'opus' ? 111 : 0, ssrc: 1 }), payload));
  }
  opus?.delete();
  return packets;
}

/** What the leg sent: how many packets, and every distinct packet object. */
interface Sent {
  count: number;
  objects: Set<RtpPacket>;
}

function makeLeg(codec: WebRtcCodecName, clock: FakeClock, sent: Sent): WebRtcLeg {
  return new WebRtcLeg({
    callId: 'c1',
    carrier: 'webrtc',
    codec: createLegCodec(codec, 16000),
    send: (packet) => {
      sent.count++;
      sent.objects.add(packet);
    },
    // The test ticks the leg itself, so only the leg's own work is measured (not a timer per tick).
    pacer: new RtpPacer(clock),
    clock,
    logger: silentLogger(),
    requestEnd: () => undefined,
  });
}

/** Runs `frames` frames through both paths: one caller packet in (decode, 20 ms frame out), one tick out (encode, packetize). */
function drive(leg: WebRtcLeg, packets: RtpPacket[], from: number, frames: number): void {
  for (let i = from; i < from + frames; i++) {
    leg.receiveRtp(packets[i]);
    leg.tick(i * 20);
  }
}


const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const codec = (process.argv[2] ?? 'PCMU') as WebRtcCodecName;
const clock = new FakeClock();
const sent: Sent = { count: 0, objects: new Set() };
const leg = makeLeg(codec, clock, sent);
const frames = new Set<Int16Array>();
let audioEvents = 0;
leg.on('audio', (frame) => {
  frames.add(frame);
  audioEvents++;
});
const WARM_UP = 1000;
const ROUNDS = 5;
const packets = callerPackets(codec, ROUNDS * FRAMES + WARM_UP);
// The bot speaks for the whole run: one long prompt, queued once.
leg.play(tone(300, leg.sampleRate, (leg.sampleRate / 50) * (ROUNDS * FRAMES + WARM_UP + 100)));

drive(leg, packets, 0, WARM_UP); // codec state, optimized code, first buffers
// Whatever else the process does meanwhile (module loading, the runtime's own work) only adds to a
// round's figures, so the least of several rounds is the leg's own.
let allocatedPerFrame = Infinity;
let retainedBytes = Infinity;
for (let round = 0; round < ROUNDS; round++) {
  gc();
  const before = process.memoryUsage().heapUsed;
  drive(leg, packets, WARM_UP + round * FRAMES, FRAMES);
  // Without a collection in between, what the frames allocated shows as heap growth.
  allocatedPerFrame = Math.min(allocatedPerFrame, (process.memoryUsage().heapUsed - before) / FRAMES);
  gc();
  retainedBytes = Math.min(retainedBytes, process.memoryUsage().heapUsed - before);
}
leg.endFromCarrier({ cause: 'done', side: 'caller' });
console.log(JSON.stringify({ codec, frames: ROUNDS * FRAMES + WARM_UP, audioEvents, distinctFrameArrays: frames.size, packetsSent: sent.count, distinctPacketObjects: sent.objects.size, allocatedPerFrame, retainedBytes }));
