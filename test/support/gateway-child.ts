/**
 * A Voxgate gateway as a process of its own (node --import tsx <script>), for tests that kill or
 * freeze it mid-call. The child runs `reportGatewayProgress(gateway)`, which writes one JSON object
 * per line on stdout:
 *   {"event":"ready","url":"http://127.0.0.1:PORT","pid":123}
 *   {"event":"greeted","callId":"..."}   the greeting played and every record so far is written
 * and the test holds it through `spawnGatewayChild`. The bot both scripts run: `holdingBot`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Gateway } from '../../src/app/gateway.js';

export const HOLD_GREETING = 'Thanks for calling. Please hold.';

/** A flow bot that records the call, greets, then waits ten minutes for a key (so calls stay up until the test acts). */
export function holdingBot(settings: Record<string, unknown> = {}) {
  return {
    name: 'held',
    type: 'flow' as const,
    settings,
    flow: { name: 'held', language: 'en-US', start: 'hold', steps: { hold: { collect: { prompt: HOLD_GREETING, maxDigits: 1, timeoutMs: 600_000, branches: { '1': 'bye' }, noMatch: 'bye', timeout: 'bye' } }, bye: { say: 'Goodbye.', hangup: 'completed' } } },
  };
}

export interface ChildGateway {
  child: ChildProcess;
  url: string;
  /** Resolves once the child has greeted `n` calls and written their records. */
  greeted(n: number): Promise<string[]>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/** Starts `script` with `args` and resolves once the gateway in it listens. */
export async function spawnGatewayChild(script: string, args: string[]): Promise<ChildGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const greeted: string[] = [];
  const waiters: (() => void)[] = [];
  let ready!: (url: string) => void;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const isReady = new Promise<string>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code, signal) => reject(new Error(`gateway process ${script} exited before it was ready (${signal ?? code})`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { event: string; url?: string; callId?: string };
    if (event.event === 'ready') ready(event.url!);
    if (event.event === 'greeted' && !greeted.includes(event.callId!)) {
      greeted.push(event.callId!);
      for (const wake of waiters.splice(0)) wake();
    }
  });
  return {
    child,
    url: await isReady,
    greeted: async (n) => {
      while (greeted.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return [...greeted];
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The child's side: reports readiness and every greeting once its records are written; exits when the test runner goes away. */
export function reportGatewayProgress(gateway: Gateway): void {
  const report = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
  gateway.bus.subscribe('prompt.played', (e) => {
    void gateway.records.flush().then(() => report({ event: 'greeted', callId: e.callId }));
  });
  // The test runner going away closes stdin: do not outlive it.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  report({ event: 'ready', url: gateway.url, pid: process.pid });
}
