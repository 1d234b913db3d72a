/**
 * deploy/prometheus/prometheus.yml: every job keeps the instance label Voxgate puts on its series
 * (honor_labels), the static job scrapes each compose instance at its internal address, and the
 * Kubernetes job keeps exactly the pods deploy/kubernetes annotates. `promtool check config` when
 * promtool is installed (Debian `prometheus`); Debian builds it without Kubernetes discovery, so there
 * the Kubernetes job is checked by promtool only if the build knows it (said when it is left out).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readYaml, readYamlDocuments, repoPath } from './support/deploy-files.js';

interface ScrapeJob {
  job_name: string;
  honor_labels?: boolean;
  metrics_path?: string;
  static_configs?: { targets: string[] }[];
  kubernetes_sd_configs?: { role: string; namespaces?: { names: string[] } }[];
  relabel_configs?: { source_labels?: string[]; action?: string; regex?: string }[];
}

const PROMTOOL = process.env.VOXGATE_PROMTOOL ?? '/usr/bin/promtool';
const prometheus = readYaml<{ scrape_configs: ScrapeJob[] }>('deploy/prometheus/prometheus.yml');
const jobs = new Map(prometheus.scrape_configs.map((job) => [job.job_name, job]));

describe('deploy/prometheus/prometheus.yml', () => {
  it('keeps the instance label of every series as Voxgate set it (honor_labels on every job)', () => {
    expect(jobs.size).toBeGreaterThanOrEqual(2);
    for (const job of jobs.values()) expect(job.honor_labels, job.job_name).toBe(true);
  });

  it("scrapes each compose instance's /metrics at its internal address", () => {
    const compose = readYaml<{ services: Record<string, { environment?: Record<string, string> }> }>('deploy/compose.yaml');
    const internal = Object.values(compose.services).flatMap((s) => (s.environment?.VOXGATE_INTERNAL_URL ? [new URL(s.environment.VOXGATE_INTERNAL_URL).host] : []));
    const job = jobs.get('voxgate')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs!.flatMap((c) => c.targets).sort()).toEqual(internal.sort());
  });

  it('keeps the Kubernetes pods that deploy/kubernetes annotates for scraping, in their namespace', () => {
    const job = jobs.get('voxgate-kubernetes-pods')!;
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['voxgate'] } }]);
    const keep = job.relabel_configs!.find((r) => r.action === 'keep')!;
    expect(keep.source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_scrape']);
    const [statefulSet] = readYamlDocuments<{ spec: { template: { metadata: { annotations: Record<string, string> } } } }>('deploy/kubernetes/statefulset.yaml');
    expect(new RegExp(`^(?:${keep.regex})$`).test(statefulSet.spec.template.metadata.annotations['prometheus.io/scrape'])).toBe(true);
  });

  it.skipIf(!existsSync(PROMTOOL))(`passes promtool check config${existsSync(PROMTOOL) ? '' : ` (skipped: ${PROMTOOL} not found; apt-get install prometheus)`}`, async () => {
    const check = (path: string) => {
      const result = spawnSync(PROMTOOL, ['check', 'config', path], { encoding: 'utf8', timeout: 20_000 });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    };
    const full = check(repoPath('deploy/prometheus/prometheus.yml'));
    if (full.status === 0) return;
    // Debian's promtool is built without Kubernetes discovery: check the rest, and say so.
    expect(full.output, full.output).toMatch(/field kubernetes_sd_configs not found/);
    console.warn('promtool here has no Kubernetes discovery (a Debian build): checking prometheus.yml without its Kubernetes job');
    const dir = await mkdtemp(join(tmpdir(), 'vg-promtool-'));
    try {
      const withoutKubernetes = { ...prometheus, scrape_configs: prometheus.scrape_configs.filter((job) => !job.kubernetes_sd_configs) };
      await writeFile(join(dir, 'prometheus.yml'), stringify(withoutKubernetes));
      const rest = check(join(dir, 'prometheus.yml'));
      expect(rest.status, rest.output).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
