/**
 * A real HAProxy (Debian package `haproxy`) on loopback in front of several Voxgate instances, with a
 * generated configuration that follows the documented one (deploy/haproxy/haproxy.cfg): servers named
 * by instance id, a request whose routing token (`vxr=<instanceId>.<sig>`, or a Twilio stream path's
 * last segment) names an instance goes to it (even while it drains), everything else round-robin;
 * X-Forwarded-For/-Host/-Proto; WebSocket-friendly timeouts; health checks on /readyz, fast for tests
 * (every 500 ms, down after 2 failures, up after 1 success).
 * A stats page (CSV) tells a test what HAProxy thinks of each server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type HaproxyProbe = { available: true; binary: string; version: string } | { available: false; reason: string };

/** Whether an haproxy binary runs here (PATH, then /usr/sbin). */
export function probeHaproxy(): HaproxyProbe {
  for (const binary of ['haproxy', '/usr/sbin/haproxy']) {
    const run = spawnSync(binary, ['-v'], { encoding: 'utf8' });
    if (run.status === 0) return { available: true, binary, version: run.stdout.split('\n')[0] ?? '' };
  }
  return { available: false, reason: 'no haproxy binary on PATH or in /usr/sbin (apt-get install -y haproxy)' };
}

export const haproxyProbe: HaproxyProbe = probeHaproxy();
if (!haproxyProbe.available) console.warn(`HAProxy tests skipped: ${haproxyProbe.reason}`);

export interface BackendServer {
  /** The Voxgate instance id (`server.instanceId`): the server's name and the routing token's prefix. */
  id: string;
  port: number;
}

export type ServerState = 'UP' | 'DOWN' | 'MAINT' | 'DRAIN' | 'NOLB' | string;

/** A free TCP port on 127.0.0.1 right now (bound and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The configuration, as documented for production, with test-speed health checks. */
export function haproxyConfig(opts: { port: number; statsPort: number; servers: BackendServer[] }): string {
  const lines = [
    'global',
    '  maxconn 4096',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    '  timeout client 60s',
    '  timeout server 60s',
    // A media stream is a WebSocket that lives as long as its call.
    '  timeout tunnel 1h',
    '  timeout client-fin 10s',
    '',
    'frontend voxgate_public',
    `  bind 127.0.0.1:${opts.port}`,
    '  option forwardfor',
    '  http-request set-header X-Forwarded-Proto http',
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)]',
    '  default_backend voxgate',
    '',
    'backend voxgate',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server check inter 500 fall 2 rise 1',
    // A request naming a draining owner still reaches it (its calls need their streams and callbacks);
    // a dead owner refuses the connection and the retry goes to a survivor.
    '  option persist',
    '  option redispatch 1',
    '  retries 2',
    // The routing token: vxr in the query, or a Twilio stream path's last segment (Twilio drops a stream URL's query).
    '  http-request set-var(txn.vxr) urlp(vxr)',
    '  http-request set-var(txn.vxr) path,field(4,/) if { path_reg ^/twilio/stream/[^/]+$ }',
    ...opts.servers.map((s) => `  use-server ${s.id} if { var(txn.vxr) -m beg ${s.id}. }`),
    ...opts.servers.map((s) => `  server ${s.id} 127.0.0.1:${s.port}`),
    '',
    'listen stats',
    `  bind 127.0.0.1:${opts.statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ];
  return lines.join('\n');
}

export class Haproxy {
  private stderr = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
    readonly statsPort: number,
    readonly config: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-8000)));
    child.stdout?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-8000)));
    child.once('exit', (code, signal) => (this.exited = { code, signal }));
  }

  /** Writes the configuration, checks it (haproxy -c), starts HAProxy in the foreground and waits until it accepts connections. */
  static async start(opts: { servers: BackendServer[]; port?: number; startTimeoutMs?: number }): Promise<Haproxy> {
    if (!haproxyProbe.available) throw new Error(`HAProxy unavailable: ${haproxyProbe.reason}`);
    const binary = haproxyProbe.binary;
    const port = opts.port ?? (await freePort());
    const statsPort = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'vg-haproxy-'));
    const config = haproxyConfig({ port, statsPort, servers: opts.servers });
    const file = join(dir, 'haproxy.cfg');
    await writeFile(file, config);
    const check = spawnSync(binary, ['-c', '-q', '-f', file], { encoding: 'utf8' });
    if (check.status !== 0) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`haproxy -c refused the generated configuration:\n${check.stderr}${check.stdout}\n--- config ---\n${config}`);
    }
    const child = spawn(binary, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const haproxy = new Haproxy(child, dir, port, statsPort, config);
    running.add(child);
    installExitHook();
    try {
      await haproxy.waitListening(opts.startTimeoutMs ?? 10_000);
    } catch (err) {
      await haproxy.stop();
      throw err;
    }
    return haproxy;
  }

  /** The load balancer's URL: what carriers are given (server.publicUrl of every instance). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** HAProxy's view of each server (UP, DOWN, MAINT...), from its stats page. */
  async serverStates(): Promise<Map<string, ServerState>> {
    const res = await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`);
    const [header, ...rows] = (await res.text()).trim().split('\n');
    const columns = header.replace(/^# /, '').split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c));
    const states = new Map<string, ServerState>();
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[px] === 'voxgate' && cells[sv] !== 'FRONTEND' && cells[sv] !== 'BACKEND') states.set(cells[sv], cells[st].split(' ')[0]);
    }
    return states;
  }

  /** Waits until HAProxy reports `server` in `state` (e.g. DOWN once its /readyz fails twice). */
  async waitForServerState(server: string, state: ServerState, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: ServerState | undefined;
    while (Date.now() < deadline) {
      last = (await this.serverStates()).get(server);
      if (last === state) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`HAProxy: server ${server} still ${last ?? 'unknown'} after ${timeoutMs} ms, expected ${state}`);
  }

  /** Stops HAProxy (SIGTERM, SIGKILL after 5 s) and removes its configuration. */
  async stop(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    running.delete(this.child);
    await rm(this.dir, { recursive: true, force: true });
  }

  describe(): string {
    return `--- haproxy output ---\n${this.stderr.slice(-3000)}`;
  }

  private async waitListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`haproxy exited at start (${this.exited.code ?? this.exited.signal})\n${this.describe()}`);
      if (await accepts(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`haproxy not listening on 127.0.0.1:${this.port} after ${timeoutMs} ms\n${this.describe()}`);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner that dies must not leave HAProxy holding its port.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
