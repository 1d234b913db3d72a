import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PROBE = fileURLToPath(new URL('./leg-allocation-probe.ts', import.meta.url));

interface ProbeResult {
  frames: number;
  audioEvents: number;
  distinctFrameArrays: number;
  packetsSent: number;
  distinctPacketObjects: number;
  allocatedPerFrame: number;
  retainedBytes: number;
}

async function probe(codec: string): Promise<ProbeResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, codec], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
}

describe.each(['PCMU', 'opus'] as const)('the WebRTC leg per frame (%s)', (codec) => {
  it('hands out the same frame array and the same RTP packet object for every frame, and keeps no memory per frame', async () => {
    const r = await probe(codec);
    console.log(`${codec}: ${r.allocatedPerFrame.toFixed(1)} bytes of heap allocated per frame (receive + send), ${(r.retainedBytes / 1024).toFixed(1)} kB retained over 3000 frames`);
    expect(r.audioEvents).toBe(r.frames);
    expect(r.distinctFrameArrays).toBe(1);
    expect(r.packetsSent).toBe(r.frames);
    expect(r.distinctPacketObjects).toBe(1);
    // Nothing accumulates per frame (a leak of even 10 bytes a frame would be 30 kB here).
    expect(r.retainedBytes).toBeLessThan(16 * 1024);
    // G.711 runs in our own buffers alone; opusscript hands back a fresh Buffer per encode and decode (its API).
    expect(r.allocatedPerFrame).toBeLessThan(codec === 'opus' ? 1024 : 64);
  });
});
