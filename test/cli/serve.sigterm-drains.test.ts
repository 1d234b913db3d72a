/**
 * `voxgate serve` as an orchestrator stops it: SIGTERM drains (logged with the live calls and the
 * deadline, readiness 503 meanwhile) and exits 0 once the calls are done; a second SIGTERM during the
 * drain closes at once, hanging up what is still live.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const AUTH_ID = 'MASERVEDRAINTEST';
const AUTH_TOKEN = 'serve-drain-auth-token';
const VOXGATE_NUMBER = '+14155550100';

interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the first log line whose msg matches. */
  logged(msg: RegExp): Promise<{ msg: string } & Record<string, unknown>>;
  exitCode: Promise<number | null>;
}

async function serve(configPath: string): Promise<ServeProcess> {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.main(['serve', '-c', ${JSON.stringify(configPath)}])).then((code) => process.exit(code))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: ({ msg: string } & Record<string, unknown>)[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as { msg: string });
    } catch {
      return; // not a log line
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const exitCode = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = async (msg: RegExp) => {
    for (;;) {
      const line = lines.find((l) => msg.test(l.msg));
      if (line) return line;
      await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), exitCode.then(() => Promise.reject(new Error(`serve exited before logging ${String(msg)}`)))]);
    }
  };
  const listening = await logged(/^voxgate listening$/);
  return { child, url: listening.url as string, logged, exitCode };
}

describe('voxgate serve on SIGTERM', () => {
  let dir: string | undefined;
  let sim: PlivoSimulator | undefined;
  let proc: ServeProcess | undefined;
  afterEach(async () => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    await proc?.exitCode;
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = sim = proc = undefined;
  });

  async function start() {
    dir = await mkdtemp(join(tmpdir(), 'vg-serve-drain-'));
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    const { restBaseUrl } = await sim.listen();
    const config = {
      server: { host: '127.0.0.1', port: 0, drainTimeoutMs: 60_000 },
      dataDir: dir,
      log: { level: 'info' },
      carriers: { plivo: { authId: AUTH_ID, authToken: AUTH_TOKEN, apiBaseUrl: restBaseUrl } },
      bots: [{ name: 'held', type: 'flow', flow: { name: 'held', language: 'en-US', start: 'hold', steps: { hold: { collect: { prompt: 'Please hold.', maxDigits: 1, timeoutMs: 600_000, branches: { '1': 'bye' }, noMatch: 'bye', timeout: 'bye' } }, bye: { say: 'Goodbye.', hangup: 'completed' } } } }],
      routes: [{ number: '*', bot: 'held' }],
    };
    const configPath = join(dir, 'voxgate.yaml');
    await writeFile(configPath, JSON.stringify(config));
    proc = await serve(configPath);
    sim.addNumber(VOXGATE_NUMBER, { answerUrl: `${proc.url}/plivo/answer`, hangupUrl: `${proc.url}/plivo/hangup` });
    return { sim, proc };
  }

  it('with no call up: drains at once and exits 0', async () => {
    const { proc } = await start();
    proc.child.kill('SIGTERM');
    expect((await proc.logged(/^draining:/)).msg).toBe('draining: 0 live calls, up to 60 s');
    expect((await proc.logged(/^drained:/)).msg).toMatch(/^drained: 0 calls finished in \d+ s$/);
    expect(await proc.exitCode).toBe(0);
  }, 60_000);

  it('with a call up: unready while it drains; a second SIGTERM closes at once and hangs the call up', async () => {
    const { sim, proc } = await start();
    const call = sim.dialInbound({ from: '+14155550123', to: VOXGATE_NUMBER, script: { hangupAfterSec: 600, recordHeard: false } });
    await proc.logged(/^conversation started$/);

    proc.child.kill('SIGTERM');
    expect((await proc.logged(/^draining:/)).msg).toBe('draining: 1 live calls, up to 60 s');
    const ready = await fetch(`${proc.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/^draining: 1 live calls/);

    proc.child.kill('SIGTERM');
    await proc.logged(/^second signal during the drain/);
    expect(await proc.exitCode).toBe(0);
    await call.ended;
  }, 60_000);
});
