/**
 * docs/prometheus.md's scrape configuration works: promtool accepts it, and a real Prometheus
 * scraping two instances with it (bearer token from a file, honor_labels) stores their series
 * under each instance's own id. Skipped where promtool/prometheus are not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRoutes, VoxgateMetrics } from '../../src/api/metrics.js';

const docs = readFileSync(new URL('../../docs/prometheus.md', import.meta.url), 'utf8');
const scrapeBlocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((y) => y.startsWith('scrape_configs:'));
const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const promtool = has('promtool');
const prometheus = has('prometheus');
if (!promtool || !prometheus) console.warn('Prometheus scrape-config checks skipped: promtool/prometheus not installed (Debian: apt-get install prometheus).');

type ScrapeConfig = { job_name: string; honor_labels?: boolean; authorization?: { credentials_file?: string }; static_configs?: { targets: string[] }[]; kubernetes_sd_configs?: unknown[] };

/** The docs' block with its token file replaced by `tokenFile` and, for static targets, `targets`. */
function adapted(block: string, tokenFile: string, targets?: string[]): { scrape_configs: ScrapeConfig[]; global?: object } {
  const config = parse(block) as { scrape_configs: ScrapeConfig[] };
  for (const job of config.scrape_configs) {
    if (job.authorization?.credentials_file) job.authorization.credentials_file = tokenFile;
    if (targets && job.static_configs) job.static_configs = [{ targets }];
  }
  return config;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the Prometheus scrape configuration in docs/prometheus.md', () => {
  let dir: string;
  let tokenFile: string;
  const TOKEN = 'metrics-scrape-token-0123456789';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-prom-'));
    tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('gives a static and a Kubernetes pod-discovery job, both with honor_labels', () => {
    const jobs = scrapeBlocks.flatMap((b) => (parse(b) as { scrape_configs: ScrapeConfig[] }).scrape_configs);
    expect(jobs.map((j) => [j.job_name, j.honor_labels, Boolean(j.static_configs), Boolean(j.kubernetes_sd_configs)])).toEqual([
      ['voxgate', true, true, false],
      ['voxgate-kubernetes-pods', true, false, true],
    ]);
  });

  // Debian's promtool is built without Kubernetes discovery, so only the static job is checked there.
  it.skipIf(!promtool)('passes promtool check config (static targets)', async () => {
    const file = join(dir, 'static.yml');
    await writeFile(file, stringify(adapted(scrapeBlocks[0], tokenFile)));
    const check = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).not.toContain('FAILED');
    expect(check.status).toBe(0);
  });

  describe.skipIf(!prometheus)('a real Prometheus scraping two instances with it', () => {
    const apps: FastifyInstance[] = [];
    let prom: ChildProcess | undefined;
    afterAll(async () => {
      if (prom && prom.exitCode === null) {
        const exited = new Promise((resolve) => prom!.once('exit', resolve));
        prom.kill('SIGTERM');
        await exited;
      }
      await Promise.all(apps.map((a) => a.close()));
    });

    it("stores each instance's series under its server.instanceId, not under host:port", async () => {
      const targets: string[] = [];
      for (const instanceId of ['voxgate-0', 'voxgate-1']) {
        const app = Fastify();
        await app.register(metricsRoutes, { metrics: new VoxgateMetrics({ instanceId, processMetrics: true }), bearerToken: TOKEN });
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        apps.push(app);
        targets.push(new URL(url).host);
      }
      const config = { global: { scrape_interval: '1s', scrape_timeout: '1s' }, ...adapted(scrapeBlocks[0], tokenFile, targets) };
      const file = join(dir, 'prometheus.yml');
      await writeFile(file, stringify(config));
      const port = await freePort();
      prom = spawn('prometheus', [`--config.file=${file}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });

      const query = async (q: string) => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?${new URLSearchParams({ query: q })}`);
          const body = (await res.json()) as { data?: { result: { metric: Record<string, string> }[] } };
          return body.data?.result ?? [];
        } catch {
          return []; // not up yet
        }
      };
      await expect
        .poll(async () => (await query('voxgate_process_start_time_seconds')).map((r) => r.metric.instance).sort(), { timeout: 30_000, interval: 250 })
        .toEqual(['voxgate-0', 'voxgate-1']);
      // Both scrapes succeeded with the token (up is Prometheus's own series: its instance is host:port).
      expect((await query('up == 1')).map((r) => r.metric.instance).sort()).toEqual([...targets].sort());
      expect(await query('voxgate_process_start_time_seconds{exported_instance!=""}')).toEqual([]);
    }, 60_000);
  });
});
