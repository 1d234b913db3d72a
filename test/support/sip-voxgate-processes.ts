/**
 * Voxgates as real child processes (sip-voxgate-process.ts under node + tsx), as they are deployed
 * behind a SIP front: separate processes, separate SIP ports. Each reports its events as JSON lines,
 * which a test waits on; commands (drain, undrain, exit) go to its stdin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./sip-voxgate-process.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface VoxgateEvent {
  event: string;
  sipCallId?: string;
  [key: string]: unknown;
}

const running = new Set<VoxgateProcess>();
let exitHookInstalled = false;

export class VoxgateProcess {
  readonly events: VoxgateEvent[] = [];
  sipPort = 0;
  /** Its gateway's data dir: removed by the process when it exits, by kill() when it cannot. */
  dataDir = '';
  private stderr = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: VoxgateEvent;
      try {
        event = JSON.parse(line) as VoxgateEvent;
      } catch {
        this.stderr += `[stdout] ${line}\n`;
        return;
      }
      this.events.push(event);
      this.wake();
    });
    child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      running.delete(this);
      this.wake();
    });
  }

  /** Spawns the process and waits for its `ready` line (its SIP port). */
  static async start(name: string): Promise<VoxgateProcess> {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const p of running) p.child.kill('SIGKILL');
      });
    }
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'silent' } });
    const voxgate = new VoxgateProcess(name, child);
    running.add(voxgate);
    try {
      const ready = await voxgate.waitFor((e) => e.event === 'ready', START_TIMEOUT_MS, 0);
      voxgate.sipPort = Number(ready.sipPort);
      voxgate.dataDir = String(ready.dataDir);
      return voxgate;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Events of one kind so far. */
  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  /** The first event from index `from` on (default: any so far) that `match` accepts. */
  waitFor(match: (event: VoxgateEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<VoxgateEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find(match);
        if (found) {
          done();
          resolve(found);
          return true;
        }
        if (this.exited) {
          done();
          reject(new Error(`${this.name}: the Voxgate process exited (${this.exited.code ?? this.exited.signal})\n${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no such event within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const waiter = () => void check();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  /** Sends a command line (drain, undrain, exit). */
  command(command: 'drain' | 'undrain' | 'exit'): void {
    this.child.stdin?.write(`${command}\n`);
  }

  /** Kills the process at once (a crash: no BYE, no 503, its port simply goes silent) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /** Asks it to exit (the gateway closes), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.command('exit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  describe(): string {
    return `events: ${this.events.map((e) => e.event).join(', ') || '(none)'}\n--- ${this.name} stderr ---\n${this.stderr.slice(-3000)}`;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
