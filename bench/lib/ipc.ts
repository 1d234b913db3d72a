/**
 * Parent <-> child command link for the benchmark processes (gateway, bare relay, load generator run
 * as separate Node processes so each one's CPU is its own). The child answers named commands; the
 * parent awaits the answers.
 */
import { fork, type ChildProcess } from 'node:child_process';

interface CommandRequest {
  id: number;
  cmd: string;
  args?: unknown;
}
type CommandReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
interface ReadyNotice {
  ready: unknown;
}

export type CommandHandlers = Record<string, (args: never) => unknown>;

/** Child side: answers the parent's commands, then announces `ready` with what the parent needs (URLs). */
export function serveCommands(handlers: CommandHandlers, ready: unknown): void {
  if (!process.send) throw new Error('this benchmark entry must be started by bench/run.ts (no IPC channel)');
  process.on('message', (raw: unknown) => {
    const req = raw as CommandRequest;
    const handler = handlers[req.cmd] as ((args: unknown) => unknown) | undefined;
    const reply = (msg: CommandReply) => process.send!(msg);
    if (!handler) return reply({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
    Promise.resolve()
      .then(() => handler(req.args))
      .then(
        (result) => reply({ id: req.id, ok: true, result: result ?? null }),
        (err: unknown) => reply({ id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  // The parent going away must not leave a gateway or 1000 sockets behind.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready } satisfies ReadyNotice);
}

export class BenchChild<Ready = unknown> {
  readonly process: ChildProcess;
  readonly ready: Promise<Ready>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  constructor(
    readonly label: string,
    script: string,
    opts: { args?: string[]; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.process = fork(script, opts.args ?? [], {
      execArgv: ['--import', 'tsx', '--expose-gc', ...(opts.nodeArgs ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...opts.env },
    });
    this.ready = new Promise<Ready>((resolve, reject) => {
      this.process.on('message', (raw: unknown) => {
        const msg = raw as CommandReply | ReadyNotice;
        if ('ready' in msg) return resolve(msg.ready as Ready);
        const waiter = this.pending.get(msg.id);
        if (!waiter) return;
        this.pending.delete(msg.id);
        if (msg.ok) waiter.resolve(msg.result);
        else waiter.reject(new Error(`${label}: ${msg.error}`));
      });
      this.process.on('exit', (code, signal) => {
        this.exited = true;
        const err = new Error(`${label} exited (code ${code}, signal ${signal})`);
        reject(err);
        for (const w of this.pending.values()) w.reject(err);
        this.pending.clear();
      });
    });
  }

  get pid(): number {
    return this.process.pid!;
  }

  call<T>(cmd: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.process.send({ id, cmd, args } satisfies CommandRequest);
    });
  }

  /** Asks the child to stop, and kills it (by its own pid) if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.call('shutdown').catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
