/**
 * What a benchmark process reports about itself over a measurement window: CPU (user + system, as a
 * fraction of one core), event-loop utilization and delay, memory.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

export interface CpuWindowResult {
  wallMs: number;
  /** (user + system CPU time) / wall time: 1.0 is one core fully busy. */
  cpuFraction: number;
  userMs: number;
  systemMs: number;
  /** Event-loop utilization over the window (0..1). */
  elu: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface MemorySnapshot {
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  arrayBuffersMB: number;
}

export class CpuWindow {
  private cpu = process.cpuUsage();
  private wall = performance.now();
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 });

  constructor() {
    this.delay.enable();
  }

  start(): void {
    this.cpu = process.cpuUsage();
    this.wall = performance.now();
    this.elu = performance.eventLoopUtilization();
    this.delay.reset();
  }

  stop(): CpuWindowResult {
    const cpu = process.cpuUsage(this.cpu);
    const wallMs = performance.now() - this.wall;
    const elu = performance.eventLoopUtilization(this.elu);
    return {
      wallMs,
      cpuFraction: (cpu.user + cpu.system) / 1000 / wallMs,
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
      elu: elu.utilization,
      loopDelayP50Ms: this.delay.percentile(50) / 1e6,
      loopDelayP99Ms: this.delay.percentile(99) / 1e6,
      loopDelayMaxMs: this.delay.max / 1e6,
    };
  }
}

/** Memory after a full GC when the process runs with --expose-gc (the benchmark children do). */
export function memorySnapshot(collect = true): MemorySnapshot {
  if (collect && typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const m = process.memoryUsage();
  const mb = (b: number) => b / (1024 * 1024);
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external), arrayBuffersMB: mb(m.arrayBuffers) };
}

/**
 * A CPU profile of this process's main thread over a chosen window (the steady state), through the
 * inspector, so start-up, ramp-up and teardown do not blur where the media path spends its time.
 */
export class WindowProfiler {
  private session: import('node:inspector').Session | undefined;

  async start(): Promise<void> {
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    this.session = session;
    await this.post('Profiler.enable');
    await this.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.post('Profiler.start');
  }

  /** Stops and writes the .cpuprofile (loadable in Chrome DevTools, or bench/profile-summary.ts). */
  async stop(path: string): Promise<void> {
    if (!this.session) return;
    const { profile } = (await this.post('Profiler.stop')) as { profile: unknown };
    this.session.disconnect();
    this.session = undefined;
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(profile));
  }

  private post(method: string, params?: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result)));
    });
  }
}
