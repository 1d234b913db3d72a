/**
 * The SIP benchmark's floor: the least a process can do to carry N RTP calls. Per call it answers the
 * INVITE (200 with an SDP answer, from Voxgate's own SIP parser, response builder and SDP negotiation)
 * and binds an RTP port pair; per packet it does no SIP work at all: it reads the RTP header and, as
 * the echo (the "relay"), sends the payload straight back to where it came from under a header of its
 * own (its SSRC, sequence and timestamp), in the same buffer. With `echo` off (the "sink") it only
 * reads. No jitter buffer, no pacing, no codec, no VAD, no sessions, no transactions: a BYE just gets
 * its 200 and closes the call's sockets.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { parseSipMessage } from '../../src/carriers/sip/message/parser.js';
import { serializeSipMessage } from '../../src/carriers/sip/message/serializer.js';
import { buildResponse } from '../../src/carriers/sip/message/responses.js';
import { newTag } from '../../src/carriers/sip/message/headers.js';
import type { SipRequest } from '../../src/carriers/sip/message/sip-message.js';
import { createRtpHeader, isRtcp, parseRtpHeader, writeRtpHeader } from '../../src/carriers/sip/rtp/rtp-packet.js';
import { RtpPortPool, type RtpPortPair } from '../../src/carriers/sip/rtp/rtp-port-pool.js';
import { LocalSdpSession } from '../../src/carriers/sip/sdp/sdp-negotiation.js';
import { ArrivalStats, FrameArrivals } from './frame-arrivals.js';

const ADDRESS = '127.0.0.1';

interface EchoCall {
  ports: RtpPortPair;
  /** The 200 OK, resent when the INVITE is. */
  ok: Buffer;
  /** Received packets and the sequence span they cover, for RFC 3550's count of packets lost on the way here. */
  received: number;
  firstSeq: number;
  highestSeq: number;
}

export class SipEchoFloor {
  readonly arrivals = new ArrivalStats();
  echo = true;
  /** RTP packets received and sent back, and lost on the way here (sequence gaps), over the run. */
  readonly totals = { calls: 0, packetsReceived: 0, packetsSent: 0, packetsLost: 0 };
  private readonly sip = dgram.createSocket('udp4');
  private readonly calls = new Map<string, EchoCall>();
  /** INVITEs being answered (their ports binding): a retransmission must not answer twice. */
  private readonly answering = new Set<string>();
  private readonly pool: RtpPortPool;
  private readonly header = createRtpHeader();

  constructor(rtpPorts: { min: number; max: number }) {
    this.pool = new RtpPortPool({ address: ADDRESS, minPort: rtpPorts.min, maxPort: rtpPorts.max });
    this.sip.on('message', (data, rinfo) => void this.onSip(data, rinfo).catch(() => undefined));
  }

  get liveCalls(): number {
    return this.calls.size;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.sip.bind(0, ADDRESS, resolve));
    return `sip:${ADDRESS}:${this.sip.address().port}`;
  }

  private send(data: Buffer, rinfo: dgram.RemoteInfo): void {
    this.sip.send(data, rinfo.port, rinfo.address);
  }

  private async onSip(data: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    let message;
    try {
      message = parseSipMessage(data, { datagram: true });
    } catch {
      return;
    }
    if (message.kind !== 'request' || message.method === 'ACK') return;
    const callId = message.headers.get('call-id') ?? '';
    if (message.method === 'INVITE') {
      const known = this.calls.get(callId);
      if (known) return this.send(known.ok, rinfo);
      this.send(serializeSipMessage(buildResponse(message, 100)), rinfo);
      if (this.answering.has(callId)) return;
      this.answering.add(callId);
      try {
        await this.answer(message, callId, rinfo);
      } finally {
        this.answering.delete(callId);
      }
      return;
    }
    this.send(serializeSipMessage(buildResponse(message, 200)), rinfo);
    if (message.method === 'BYE') this.hangUp(callId);
  }

  private async answer(invite: SipRequest, callId: string, rinfo: dgram.RemoteInfo): Promise<void> {
    const ports = await this.pool.allocate();
    let answerSdp: string;
    try {
      ({ answerSdp } = new LocalSdpSession(ADDRESS, ports.port).answer(invite.body.toString('utf8'), { codecs: ['PCMU', 'PCMA'] }));
    } catch {
      this.send(serializeSipMessage(buildResponse(invite, 488, { toTag: newTag() })), rinfo);
      this.release(ports);
      return;
    }
    const ok = serializeSipMessage(
      buildResponse(invite, 200, {
        toTag: newTag(),
        headers: [['Contact', `<sip:floor@${ADDRESS}:${this.sip.address().port}>`]],
        body: Buffer.from(answerSdp),
        contentType: 'application/sdp',
      }),
    );
    const call: EchoCall = { ports, ok, received: 0, firstSeq: -1, highestSeq: -1 };
    this.calls.set(callId, call);
    this.totals.calls++;
    this.echoRtp(call);
    this.send(ok, rinfo);
  }

  /** The per-packet path: read the header, count, and (echo) send the payload back under our header. */
  private echoRtp(call: EchoCall): void {
    const frames = new FrameArrivals(this.arrivals);
    const out = { marker: true, payloadType: 0, sequence: randomInt(0, 65536), timestamp: randomInt(0, 2 ** 32), ssrc: randomInt(0, 2 ** 32) };
    const h = this.header;
    const socket = call.ports.rtp;
    socket.on('message', (packet, rinfo) => {
      if (isRtcp(packet) || !parseRtpHeader(packet, h)) return;
      frames.onFrame();
      call.received++;
      this.totals.packetsReceived++;
      const seq = h.sequence;
      if (call.firstSeq < 0) {
        call.firstSeq = seq;
        call.highestSeq = seq;
      } else {
        // Extended sequence number: unwrap against the highest seen.
        const delta = (seq - (call.highestSeq & 0xffff) + 0x10000) & 0xffff;
        if (delta < 0x8000) call.highestSeq += delta;
      }
      // Echo plain headers only: ours has no CSRC list or extension to keep the payload in place.
      if (!this.echo || h.payloadOffset !== 12) return;
      out.payloadType = h.payloadType;
      writeRtpHeader(packet, out);
      out.marker = false;
      out.sequence = (out.sequence + 1) & 0xffff;
      out.timestamp = (out.timestamp + 160) >>> 0;
      // Same buffer back: the payload stays where it arrived (the header we wrote is as long as a plain one).
      socket.send(packet, 0, h.payloadOffset + h.payloadLength, rinfo.port, rinfo.address);
      this.totals.packetsSent++;
    });
  }

  private hangUp(callId: string): void {
    const call = this.calls.get(callId);
    if (!call) return;
    this.calls.delete(callId);
    if (call.firstSeq >= 0) this.totals.packetsLost += Math.max(0, call.highestSeq - call.firstSeq + 1 - call.received);
    this.release(call.ports);
  }

  private release(ports: RtpPortPair): void {
    for (const s of [ports.rtp, ports.rtcp]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.pool.release(ports.port);
  }

  /** Packets lost on the way here, ended and live calls. */
  lost(): number {
    let lost = this.totals.packetsLost;
    for (const call of this.calls.values()) if (call.firstSeq >= 0) lost += Math.max(0, call.highestSeq - call.firstSeq + 1 - call.received);
    return lost;
  }

  async close(): Promise<void> {
    for (const id of [...this.calls.keys()]) this.hangUp(id);
    await new Promise<void>((resolve) => this.sip.close(() => resolve()));
  }
}
