import { afterEach, describe, expect, it } from 'vitest';
import type dgram from 'node:dgram';
import { createRtpSocket, RtpPortPool } from '../../../src/carriers/sip/rtp/rtp-port-pool.js';

const sockets: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A range unlikely to be busy on the test machine, different per run. */
function range(pairs: number): { minPort: number; maxPort: number } {
  const minPort = 30_000 + 2 * Math.floor(Math.random() * 10_000);
  return { minPort, maxPort: minPort + pairs * 2 - 1 };
}

async function take(pool: RtpPortPool) {
  const pair = await pool.allocate();
  sockets.push(pair.rtp, pair.rtcp);
  return pair;
}

async function occupy(port: number): Promise<void> {
  const s = createRtpSocket('127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  sockets.push(s);
}

describe('RTP port pool', () => {
  it('hands out an even RTP port with RTCP on the next one, both bound', async () => {
    const pool = new RtpPortPool({ address: '127.0.0.1', ...range(10) });
    const pairs = await Promise.all([take(pool), take(pool), take(pool)]);
    const ports = pairs.map((p) => p.port);
    expect(new Set(ports).size).toBe(3);
    for (const p of pairs) {
      expect(p.port % 2).toBe(0);
      expect(p.rtp.address()).toMatchObject({ address: '127.0.0.1', port: p.port });
      expect(p.rtcp.address()).toMatchObject({ address: '127.0.0.1', port: p.port + 1 });
      expect(p.port).toBeGreaterThanOrEqual(pool.minPort);
      expect(p.port + 1).toBeLessThanOrEqual(pool.maxPort);
    }
    expect(pool.allocated).toBe(3);
  });

  it('skips pairs where another socket holds the RTP or the RTCP port', async () => {
    const r = range(3);
    await occupy(r.minPort); // RTP port of pair 1
    await occupy(r.minPort + 3); // RTCP port of pair 2
    const pool = new RtpPortPool({ address: '127.0.0.1', ...r });
    const pair = await take(pool);
    expect(pair.port).toBe(r.minPort + 4);
  });

  it('rejects with an error naming the range once every pair is taken; a released port comes back', async () => {
    const r = range(2);
    const pool = new RtpPortPool({ address: '127.0.0.1', ...r });
    const a = await take(pool);
    await take(pool);
    await expect(pool.allocate()).rejects.toThrow(`No free RTP port pair in ${r.minPort}-${r.maxPort} on 127.0.0.1`);
    await new Promise<void>((resolve) => a.rtp.close(() => resolve()));
    await new Promise<void>((resolve) => a.rtcp.close(() => resolve()));
    sockets.splice(sockets.indexOf(a.rtp), 2);
    pool.release(a.port);
    expect((await take(pool)).port).toBe(a.port);
  });

  it('rounds an odd lower bound up to even and refuses a range without a pair', () => {
    expect(new RtpPortPool({ address: '0.0.0.0', minPort: 10001, maxPort: 10010 }).minPort).toBe(10002);
    expect(() => new RtpPortPool({ address: '0.0.0.0', minPort: 10001, maxPort: 10002 })).toThrow(/no even\/odd port pair/);
    expect(() => new RtpPortPool({ address: '0.0.0.0', minPort: 0, maxPort: 70000 })).toThrow(RangeError);
  });
});
