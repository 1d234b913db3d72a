/**
 * The shipped load-balancer configurations, run for real on loopback: deploy/haproxy/haproxy.cfg under
 * HAProxy and deploy/nginx/voxgate.conf under nginx (Debian `haproxy`, `nginx`), with only their
 * listen addresses and the instances' addresses replaced by loopback ones. Each replacement must match
 * the shipped text, so a config edited out of shape fails the test instead of being tested half-changed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './instance-doubles.js';

export const HAPROXY_PATH = process.env.VOXGATE_HAPROXY ?? '/usr/sbin/haproxy';
export const NGINX_PATH = process.env.VOXGATE_NGINX ?? '/usr/sbin/nginx';
export const HAPROXY_CONFIG = fileURLToPath(new URL('../../../deploy/haproxy/haproxy.cfg', import.meta.url));
export const NGINX_CONFIG = fileURLToPath(new URL('../../../deploy/nginx/voxgate.conf', import.meta.url));
export const HAPROXY_SKIP_REASON = existsSync(HAPROXY_PATH) ? '' : `haproxy not found at ${HAPROXY_PATH}: apt-get install haproxy (.ci/run does)`;
export const NGINX_SKIP_REASON = existsSync(NGINX_PATH) ? '' : `nginx not found at ${NGINX_PATH}: apt-get install nginx (.ci/run does)`;

/** `text` with `from` replaced by `to`: every occurrence, and there must be at least one. */
function replaceShipped(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}: update the test's substitutions with the config`);
  return text.split(from).join(to);
}

/** Runs a binary to completion (a config check): exit status and everything it printed. */
export function runCheck(binary: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** A load balancer process in the foreground, its output collected, stopped (and its temp dir removed) by stop(). */
export class LoadBalancerProcess {
  private output = '';
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exit = new Promise((resolve) => child.once('exit', () => ((this.exited = true), resolve())));
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return !this.exited;
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exit;
      clearTimeout(killer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface HaproxyRun {
  process: LoadBalancerProcess;
  statsPort: number;
  /** HAProxy's view of each server of the voxgate backend: UP, DOWN... (its stats CSV). */
  serverStatus(): Promise<Record<string, string>>;
}

/** HAProxy with the shipped haproxy.cfg, in front of the given loopback instances (name -> port). */
export async function startHaproxy(instances: Record<string, number>): Promise<HaproxyRun> {
  const file = 'deploy/haproxy/haproxy.cfg';
  const [port, statsPort] = [await freePort(), await freePort()];
  let config = await readFile(HAPROXY_CONFIG, 'utf8');
  config = replaceShipped(config, 'bind :8080', `bind 127.0.0.1:${port}`, file);
  config = replaceShipped(config, 'bind :8404', `bind 127.0.0.1:${statsPort}`, file);
  for (const [name, instancePort] of Object.entries(instances)) {
    config = replaceShipped(config, `server ${name} ${name}:8080`, `server ${name} 127.0.0.1:${instancePort}`, file);
  }
  const dir = await mkdtemp(join(tmpdir(), 'vg-haproxy-'));
  const path = join(dir, 'haproxy.cfg');
  await writeFile(path, config);
  // -db: foreground, no daemon; the config's log goes to stdout.
  const child = spawn(HAPROXY_PATH, ['-db', '-f', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const haproxy = new LoadBalancerProcess('haproxy', port, child, dir);
  const serverStatus = async (): Promise<Record<string, string>> => {
    const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`, { signal: AbortSignal.timeout(5000) })).text();
    const [header, ...rows] = csv.trim().split('\n');
    const columns = header.replace(/^# /, '').split(',');
    const status: Record<string, string> = {};
    for (const row of rows.map((r) => r.split(','))) {
      if (row[columns.indexOf('pxname')] === 'voxgate' && !['FRONTEND', 'BACKEND'].includes(row[columns.indexOf('svname')])) status[row[columns.indexOf('svname')]] = row[columns.indexOf('status')];
    }
    return status;
  };
  return { process: haproxy, statsPort, serverStatus };
}

/** nginx with the shipped voxgate.conf inside a minimal main configuration, in front of two loopback instances. */
export async function startNginx(instances: { 'voxgate-1': number; 'voxgate-2': number }): Promise<LoadBalancerProcess> {
  const file = 'deploy/nginx/voxgate.conf';
  const port = await freePort();
  let site = await readFile(NGINX_CONFIG, 'utf8');
  site = replaceShipped(site, 'listen 80;', `listen 127.0.0.1:${port};`, file);
  site = replaceShipped(site, '10.0.0.11:8080', `127.0.0.1:${instances['voxgate-1']}`, file);
  site = replaceShipped(site, '10.0.0.12:8080', `127.0.0.1:${instances['voxgate-2']}`, file);
  const dir = await mkdtemp(join(tmpdir(), 'vg-nginx-'));
  await writeFile(join(dir, 'voxgate.conf'), site);
  await writeFile(join(dir, 'nginx.conf'), nginxMainConfig(dir, join(dir, 'voxgate.conf')));
  const child = spawn(NGINX_PATH, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new LoadBalancerProcess('nginx', port, child, dir);
}

/**
 * The main configuration a packaged nginx gives conf.d files (an http block including them), with
 * every runtime file in `dir`: one foreground process, logs to stderr.
 */
export function nginxMainConfig(dir: string, include: string): string {
  return [
    'daemon off;',
    'master_process off;',
    `pid ${join(dir, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
    `  include ${include};`,
    '}',
    '',
  ].join('\n');
}
