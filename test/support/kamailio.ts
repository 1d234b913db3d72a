/**
 * Kamailio (Debian `kamailio`, 5.5+) as the SIP front of Voxgates in tests: runs the shipped
 * deploy/kamailio/kamailio.cfg in the foreground (`-DD -E`: not daemonized, logging to stderr) with the
 * defines a test needs - listen on 127.0.0.1 at a free UDP port, a dispatcher.list naming the test's
 * Voxgates, probes every `pingIntervalSec`, `frTimerMs` to give up on a silent Voxgate, two workers,
 * its control socket and runtime files in a temp dir, and LOOPBACK_ONLY (it refuses to relay anywhere
 * but 127.0.0.1; it does no DNS). Its log lines can be waited on (e.g. the config's
 * "voxgate-front: destination down: sip:127.0.0.1:5071").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAMAILIO_PATH = process.env.VOXGATE_KAMAILIO ?? '/usr/sbin/kamailio';
export const KAMAILIO_MODULES = process.env.VOXGATE_KAMAILIO_MODULES ?? '/usr/lib/x86_64-linux-gnu/kamailio/modules';
export const KAMAILIO_CONFIG = fileURLToPath(new URL('../../deploy/kamailio/kamailio.cfg', import.meta.url));
/** kamailio and the modules the shipped config loads are installed (`apt-get install kamailio`). */
export const KAMAILIO_AVAILABLE = existsSync(KAMAILIO_PATH) && ['tm.so', 'rr.so', 'dispatcher.so', 'ctl.so', 'sanity.so'].every((m) => existsSync(join(KAMAILIO_MODULES, m)));
export const KAMAILIO_SKIP_REASON = KAMAILIO_AVAILABLE ? '' : `kamailio not found (${KAMAILIO_PATH}, modules in ${KAMAILIO_MODULES}): apt-get install kamailio`;

export interface KamailioOptions {
  /** host:port of each Voxgate, all in dispatcher set 1. */
  destinations: string[];
  pingIntervalSec?: number;
  frTimerMs?: number;
}

const running = new Set<Kamailio>();
let exitHookInstalled = false;

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export class Kamailio {
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      for (const waiter of [...this.waiters]) waiter();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      running.delete(this);
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  static async start(options: KamailioOptions): Promise<Kamailio> {
    if (!KAMAILIO_AVAILABLE) throw new Error(KAMAILIO_SKIP_REASON);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const k of running) k.killGroup('SIGKILL');
      });
    }
    const dir = await mkdtemp(join(tmpdir(), 'vg-kamailio-'));
    const list = join(dir, 'dispatcher.list');
    await writeFile(list, options.destinations.map((d, i) => `1 sip:${d} 0 0 duid=voxgate-${i + 1}\n`).join(''));
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freeUdpPort();
      const args = [
        '-f', KAMAILIO_CONFIG,
        '-DD', '-E',
        '-L', KAMAILIO_MODULES,
        '-m', '32', '-M', '8',
        '-Y', dir,
        '-A', `LISTEN=udp:127.0.0.1:${port}`,
        '-A', `DISPATCHER_LIST="${list}"`,
        '-A', `DS_PING_INTERVAL=${options.pingIntervalSec ?? 1}`,
        '-A', `FR_TIMER=${options.frTimerMs ?? 1000}`,
        '-A', 'CHILDREN=2',
        '-A', `CTL_SOCKET="unix:${join(dir, 'kamailio_ctl')}"`,
        '-A', 'LOOPBACK_ONLY',
      ];
      // Its own process group: the workers it forks go with it even when the main process is SIGKILLed.
      const child = spawn(KAMAILIO_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const kamailio = new Kamailio(port, dir, child);
      running.add(kamailio);
      try {
        await kamailio.waitForLog(/main\(\): processes \(at least\)/, 10_000);
        return kamailio;
      } catch (err) {
        lastError = err as Error;
        kamailio.killGroup('SIGKILL');
        if (!/Address already in use|bind/i.test(kamailio.log)) break;
      }
    }
    await rm(dir, { recursive: true, force: true });
    throw lastError ?? new Error('kamailio did not start');
  }

  /** stdout and stderr so far. */
  get log(): string {
    return this.output;
  }

  /** Log lines matching `pattern` so far. */
  lines(pattern: RegExp): string[] {
    return this.output.split('\n').filter((line) => pattern.test(line));
  }

  /** Resolves with the first log line matching `pattern` after character offset `from` (default: anywhere). */
  waitForLog(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = this.output
          .slice(from)
          .split('\n')
          .find((l) => pattern.test(l));
        if (line !== undefined) {
          done();
          resolve(line);
          return true;
        }
        if (this.exited) {
          done();
          reject(new Error(`kamailio exited (${this.exited.code ?? this.exited.signal}) while waiting for ${pattern}\n${this.output.slice(-4000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`kamailio: no log line ${pattern} within ${timeoutMs} ms\n${this.output.slice(-4000)}`));
      }, timeoutMs);
      const waiter = () => void check();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  /** SIGTERM (its main process stops the workers), SIGKILL to the whole group after `timeoutMs`, then the temp dir goes. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.killGroup('SIGKILL'), timeoutMs);
      await gone;
      clearTimeout(timer);
    }
    // Workers that outlived their main process (they normally exit with it).
    this.killGroup('SIGKILL');
    if (process.env.VOXGATE_KAMAILIO_LOG) console.log(`--- kamailio log ---\n${this.output}`);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Signals the process group this Kamailio leads (its main process and the workers it forked). */
  killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }
}
