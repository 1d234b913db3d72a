/**
 * A gateway killed mid-call (SIGKILL: no shutdown, no call.ended) leaves its calls without an end.
 * The next gateway on the same data directory ends them with cause gateway-restart before it takes
 * calls, and closes the WAV files they were recording as far as they got.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { CRASH_AUTH_ID, CRASH_AUTH_TOKEN, crashGatewayConfig } from '../support/crash-gateway-process.js';
import { spawnGatewayChild, type ChildGateway } from '../support/gateway-child.js';

const SCRIPT = fileURLToPath(new URL('../support/crash-gateway-process.ts', import.meta.url));
const VOXGATE_NUMBER = '+14155550100';

const spawnGateway = (dataDir: string, restBaseUrl: string) => spawnGatewayChild(SCRIPT, [dataDir, restBaseUrl]);

describe('calls in flight when the gateway is SIGKILLed', () => {
  let dataDir: string | undefined;
  let sim: PlivoSimulator | undefined;
  let crashed: ChildGateway | undefined;
  let restarted: Gateway | undefined;
  afterEach(async () => {
    crashed?.child.kill('SIGKILL');
    await restarted?.close();
    await sim?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = sim = crashed = restarted = undefined;
  });

  it('are ended with cause gateway-restart by the next gateway, duration and recordings kept as far as they got', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'vg-crash-'));
    sim = new PlivoSimulator({ authId: CRASH_AUTH_ID, authToken: CRASH_AUTH_TOKEN });
    const { restBaseUrl } = await sim.listen();
    crashed = await spawnGateway(dataDir, restBaseUrl);
    sim.addNumber(VOXGATE_NUMBER, { answerUrl: `${crashed.url}/plivo/answer`, hangupUrl: `${crashed.url}/plivo/hangup` });
    const calls = [0, 1].map(() => sim!.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 600, recordHeard: false } }));
    const callIds = await crashed.greeted(2);

    const exited = new Promise((resolve) => crashed!.child.once('exit', resolve));
    crashed.child.kill('SIGKILL');
    await exited;
    await Promise.all(calls.map((c) => c.ended));

    restarted = await startGateway(crashGatewayConfig(dataDir, restBaseUrl), { logger: silentLogger() });
    for (const callId of callIds) {
      const record = await restarted.store.calls.get(callId);
      expect(record).toMatchObject({ hangupCause: 'gateway-restart', hangupSide: 'gateway', endReason: 'gateway-restart' });
      // Ended at the last moment it was known alive: after the greeting played, before the restart.
      const prompts = await restarted.store.prompts.listForCall(callId);
      expect(record!.endedAt).toBeGreaterThanOrEqual(prompts[0].endedAt);
      expect(record!.durationMs).toBe(record!.endedAt! - record!.answeredAt!);
      expect(record!.durationMs).toBeGreaterThan(1000);
      // The opening turn was complete before the crash and stays as it was.
      expect((await restarted.store.turns.listForCall(callId)).map((t) => t.seq)).toEqual([0]);

      const [recording] = await restarted.store.recordings.listForCall(callId);
      expect(recording).toMatchObject({ callId, status: 'partial', error: 'interrupted by a gateway restart', sampleRate: 8000, channels: 2 });
      expect(recording.durationMs).toBeGreaterThan(1000);
      const wav = await readFile(recording.path);
      // The header now describes exactly the audio that reached the disk.
      expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
      expect(Math.round(((wav.length - 44) / 4 / 8000) * 1000)).toBe(recording.durationMs);
    }
    // Nothing is left looking live.
    expect((await restarted.store.calls.list()).filter((c) => c.endedAt === null)).toEqual([]);
  }, 60_000);
});
