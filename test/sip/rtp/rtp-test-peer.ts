/**
 * Test support for RTP sessions over real UDP on 127.0.0.1: a peer socket that records what it
 * receives and lets a test wait for the n-th datagram (no wall-clock sleeps), and packet builders.
 */
import type dgram from 'node:dgram';
import { createRtpSocket } from '../../../src/carriers/sip/rtp/rtp-port-pool.js';
import { createRtpHeader, parseRtpHeader, writeRtpHeader, type RtpHeader } from '../../../src/carriers/sip/rtp/rtp-packet.js';

export async function boundSocket(): Promise<dgram.Socket> {
  const s = createRtpSocket('127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

export function portOf(s: dgram.Socket): number {
  return s.address().port;
}

/** Resolves once `socket` has emitted `count` more datagrams (its earlier listeners, e.g. a session's, ran first). */
export function nextMessages(socket: dgram.Socket, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = () => {
      if (++seen >= count) {
        socket.off('message', on);
        resolve();
      }
    };
    if (count <= 0) resolve();
    else socket.on('message', on);
  });
}

export interface ReceivedRtp {
  header: RtpHeader;
  payload: Buffer;
  raw: Buffer;
  from: { address: string; port: number };
}

/** A UDP endpoint standing in for the far end: records every datagram (RTP parsed when it parses). */
export class UdpPeer {
  readonly packets: ReceivedRtp[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (raw, rinfo) => {
      const header = createRtpHeader();
      if (!parseRtpHeader(raw, header)) header.version = -1;
      this.packets.push({ header, payload: raw.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength), raw, from: { address: rinfo.address, port: rinfo.port } });
      this.waiters = this.waiters.filter((w) => {
        if (this.packets.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  static async create(): Promise<UdpPeer> {
    return new UdpPeer(await boundSocket());
  }

  get port(): number {
    return portOf(this.socket);
  }

  /** Resolves when `count` datagrams in all have arrived. */
  waitForTotal(count: number): Promise<void> {
    if (this.packets.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  send(buf: Buffer, port: number): void {
    this.socket.send(buf, port, '127.0.0.1');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export function rtpPacket(opts: { pt: number; seq: number; ts: number; ssrc: number; marker?: boolean; payload: Uint8Array }): Buffer {
  const buf = Buffer.alloc(12 + opts.payload.length);
  writeRtpHeader(buf, { marker: opts.marker ?? false, payloadType: opts.pt, sequence: opts.seq & 0xffff, timestamp: opts.ts >>> 0, ssrc: opts.ssrc });
  buf.set(opts.payload, 12);
  return buf;
}

/** Waits for sockets to close (after RtpSession.close(), which closes them once the BYE has left). */
export function socketClosed(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.once('close', () => resolve()));
}
