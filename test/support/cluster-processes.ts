/**
 * Several Voxgate instances as separate OS processes, each running the real command line
 * (`voxgate serve -c <file>`, through this file as its own entry point under node + tsx), as they
 * are deployed behind a load balancer: one fresh PostgreSQL database and one Redis key prefix shared
 * by all, each with its own instance id, port and data directory, cluster settings from the
 * documented environment variables. Readiness is /readyz; a test can SIGKILL (a crash) or SIGTERM
 * (a rolling update's drain) any of them and wait for its exit. close() kills what is left, drops
 * the database and deletes the Redis keys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const START_TIMEOUT_MS = 40_000;

export interface ClusterOptions {
  /** Instance ids, one process each (letters, digits, . _ - : they name HAProxy servers too). */
  ids: string[];
  /** The shared load balancer's URL: every instance's server.publicUrl (what carriers are given); undefined: each its own. */
  publicUrl?: string;
  databaseUrl: string;
  redisUrl: string;
  /** Unique per test: every Redis key and channel of this cluster lives under it. */
  keyPrefix: string;
  /** The rest of the configuration file (carriers, bots, routes, api...), the same for every instance. */
  config: Record<string, unknown>;
  heartbeatMs?: number;
  leaseMs?: number;
  drainTimeoutMs?: number;
  /** Extra environment for every instance. */
  env?: Record<string, string>;
  /** false: the same processes without cluster mode (each alone, its call directory local), for comparisons. Default true. */
  cluster?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Allocates a free loopback port (bound and released; the instance binds it right after). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export class ClusterInstance {
  private output = '';
  private exited: ExitStatus | undefined;
  private readonly exitedPromise: Promise<ExitStatus>;

  constructor(
    readonly id: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exitedPromise = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        running.delete(child);
        resolve(this.exited);
      }),
    );
  }

  /** Its own address (the cluster's internal URL for it), bypassing the load balancer. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** GET /readyz: its status code, or 0 when nothing answers. */
  async readyz(): Promise<number> {
    try {
      const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** Waits for /readyz 200; fails naming the instance, with its output, if it exits or takes too long. */
  async waitReady(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`instance ${this.id} exited while starting (${this.exited.code ?? this.exited.signal})\n${this.describe()}`);
      if ((await this.readyz()) === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`instance ${this.id} not ready on ${this.url}/readyz after ${timeoutMs} ms\n${this.describe()}`);
  }

  /** A crash: SIGKILL, no goodbye to anyone. Resolves once the process is gone. */
  async kill(): Promise<ExitStatus> {
    if (!this.exited) this.child.kill('SIGKILL');
    return this.exitedPromise;
  }

  /** What an orchestrator sends to stop it: SIGTERM (it drains, then exits). Does not wait. */
  terminate(): void {
    if (!this.exited) this.child.kill('SIGTERM');
  }

  /** Its exit status, or a rejection naming the instance after `timeoutMs`. */
  waitExit(timeoutMs: number): Promise<ExitStatus> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${this.id} still running ${timeoutMs} ms later\n${this.describe()}`)), timeoutMs);
      void this.exitedPromise.then((status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
  }

  /** Its last output lines, for failure messages. */
  describe(): string {
    return `--- ${this.id} (pid ${this.pid}) output ---\n${this.output.slice(-4000)}`;
  }
}

export class VoxgateCluster {
  private constructor(
    readonly instances: ClusterInstance[],
    private readonly dir: string,
  ) {}

  /**
   * Starts one process per id. The first starts alone (it migrates the fresh database), the others
   * together once it is ready; resolves when every /readyz answers 200.
   */
  static async start(opts: ClusterOptions): Promise<VoxgateCluster> {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const child of running) child.kill('SIGKILL');
      });
    }
    const dir = await mkdtemp(join(tmpdir(), 'vg-cluster-'));
    const clusterSecret = randomBytes(32).toString('hex');
    const secretsKey = randomBytes(32).toString('hex');
    const cluster = new VoxgateCluster([], dir);
    const launch = async (id: string): Promise<ClusterInstance> => {
      const port = await freePort();
      const dataDir = join(dir, id);
      const env: Record<string, string> = {
        ...(process.env as Record<string, string>),
        VOXGATE_INSTANCE_ID: id,
        VOXGATE_HOST: '127.0.0.1',
        VOXGATE_PORT: String(port),
        ...(opts.publicUrl ? { VOXGATE_PUBLIC_URL: opts.publicUrl } : {}),
        VOXGATE_DATA_DIR: dataDir,
        ...(opts.cluster === false ? {} : { VOXGATE_CLUSTER: '1', VOXGATE_CLUSTER_SECRET: clusterSecret, VOXGATE_INTERNAL_URL: `http://127.0.0.1:${port}` }),
        VOXGATE_SECRETS_KEY: secretsKey,
        DATABASE_URL: opts.databaseUrl,
        REDIS_URL: opts.redisUrl,
        LOG_LEVEL: 'warn',
        ...opts.env,
      };
      // JSON is YAML: the file an operator would write; identity and the cluster's secrets come from the environment.
      const instanceFile = join(dir, `${id}.yaml`);
      await writeFile(instanceFile, JSON.stringify(instanceConfig(opts), null, 2));
      const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, 'serve', '-c', instanceFile], { stdio: ['pipe', 'pipe', 'pipe'], env });
      running.add(child);
      const instance = new ClusterInstance(id, port, dataDir, child);
      cluster.instances.push(instance);
      return instance;
    };
    try {
      const [first, ...rest] = opts.ids;
      await (await launch(first)).waitReady();
      const others = await Promise.all(rest.map(launch));
      await Promise.all(others.map((i) => i.waitReady()));
      cluster.instances.sort((a, b) => opts.ids.indexOf(a.id) - opts.ids.indexOf(b.id));
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  instance(id: string): ClusterInstance {
    const found = this.instances.find((i) => i.id === id);
    if (!found) throw new Error(`no instance ${id} (have ${this.instances.map((i) => i.id).join(', ')})`);
    return found;
  }

  /** Kills every process still running and removes the files (the caller drops the database and Redis keys it made). */
  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The configuration file of one instance: shared settings plus the cluster timings. */
function instanceConfig(opts: ClusterOptions): Record<string, unknown> {
  const server = (opts.config.server as Record<string, unknown> | undefined) ?? {};
  return {
    ...opts.config,
    log: { level: 'warn' },
    server: { trustProxy: ['127.0.0.1'], ...server, ...(opts.drainTimeoutMs !== undefined ? { drainTimeoutMs: opts.drainTimeoutMs } : {}) },
    cluster: { keyPrefix: opts.keyPrefix, ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}), ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}) },
  };
}

// Entry point of each instance: the real CLI, exactly as `voxgate serve -c file` runs it.
if (process.argv[1] === SCRIPT) {
  // The test runner going away closes stdin: an instance must not outlive it.
  process.stdin.on('end', () => process.exit(1));
  process.stdin.resume();
  const { main } = await import('../../src/cli/main.js');
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
  // What keeps the process alive from here is what the gateway failed to close, as with bin/voxgate.js.
  process.stdin.removeAllListeners('end');
  process.stdin.pause();
  process.stdin.unref?.();
}
