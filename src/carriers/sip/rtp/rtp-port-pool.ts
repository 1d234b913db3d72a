/**
 * RTP/RTCP port pairs for calls: an even RTP port and RTCP on the next one (RFC 3550 section 11),
 * both bound before the SDP names them. Ports this pool handed out are skipped until released; ports
 * another process holds are found by the bind failing and skipped too. Allocation walks the range
 * round-robin from where the last one stopped, so a port just released is not reused at once (late
 * packets of the old call would land in the new one).
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';

export interface RtpPortPoolOptions {
  /** Bind address, e.g. '0.0.0.0', '127.0.0.1', '::'. */
  address: string;
  minPort: number;
  maxPort: number;
}

export interface RtpPortPair {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  port: number;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of every send(), even an IP literal, through `lookup`, and with the
 * default one the datagram leaves on the next tick, reading its buffer then. Answering IP literals
 * synchronously sends at once, so a reused send buffer is safe and no tick is spent per packet.
 */
export function literalFirstLookup(hostname: string, options: unknown, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  const fam = typeof options === 'number' ? options : ((options as { family?: number } | undefined)?.family ?? 0);
  dnsLookup(hostname, { family: fam }, (err, address, resolved) => callback(err, address, resolved));
}

/** A UDP socket of the right family for `address`, sending without a tick of delay to IP literals. */
export function createRtpSocket(address: string): dgram.Socket {
  return dgram.createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', lookup: literalFirstLookup as never });
}

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      socket.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/** Bind errors that mean "this port is taken, try another". */
function portTaken(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES';
}

export class RtpPortPool {
  readonly address: string;
  readonly minPort: number;
  readonly maxPort: number;
  private readonly inUse = new Set<number>();
  /** Next even port to try. */
  private cursor: number;

  constructor(options: RtpPortPoolOptions) {
    const { address, minPort, maxPort } = options;
    if (!Number.isInteger(minPort) || !Number.isInteger(maxPort) || minPort < 1 || maxPort > 65535) {
      throw new RangeError(`RTP port range ${minPort}-${maxPort} is not within 1-65535`);
    }
    this.address = address;
    this.minPort = minPort + (minPort % 2); // RTP ports are even
    this.maxPort = maxPort;
    if (this.minPort + 1 > this.maxPort) throw new RangeError(`RTP port range ${minPort}-${maxPort} holds no even/odd port pair`);
    this.cursor = this.minPort;
  }

  /** Port pairs in the range. */
  get capacity(): number {
    return Math.floor((this.maxPort - this.minPort + 1) / 2);
  }

  /** Pairs handed out and not released. */
  get allocated(): number {
    return this.inUse.size;
  }

  /**
   * Binds the next free pair. Rejects, naming the range, when every pair is taken (by this pool or by
   * other sockets), and with the bind error for anything else (an address not on this host).
   */
  async allocate(): Promise<RtpPortPair> {
    const pairs = this.capacity;
    let busyElsewhere = 0;
    for (let attempt = 0; attempt < pairs; attempt++) {
      const port = this.cursor;
      this.cursor = port + 2 + 1 > this.maxPort ? this.minPort : port + 2;
      if (this.inUse.has(port)) continue;
      this.inUse.add(port); // reserved while binding, so concurrent allocations skip it
      const rtp = createRtpSocket(this.address);
      const rtcp = createRtpSocket(this.address);
      try {
        await bind(rtp, port, this.address);
        await bind(rtcp, port + 1, this.address);
        return { rtp, rtcp, port };
      } catch (err) {
        this.inUse.delete(port);
        closeQuietly(rtp);
        closeQuietly(rtcp);
        if (!portTaken(err)) throw err;
        busyElsewhere++;
      }
    }
    throw new Error(
      `No free RTP port pair in ${this.minPort}-${this.maxPort} on ${this.address}: ${this.inUse.size} pairs in use by calls, ${busyElsewhere} taken by other sockets`,
    );
  }

  /** Returns a pair's port to the pool (after its sockets are closed, e.g. by RtpSession.close()). */
  release(port: number): void {
    this.inUse.delete(port);
  }
}
