/**
 * deploy/kubernetes/: what would otherwise surface only in a cluster. Every document parses; the pods'
 * environment (ConfigMap, Secret, the downward API as Kubernetes expands it) and the mounted config
 * file make a valid cluster configuration under Voxgate's own loader, each pod's id being its name and
 * its internal URL its own IP; probes hit /readyz and /healthz on the port Voxgate listens on; a pod
 * gets longer to stop than its preStop pause plus the drain; Services, the Ingress and the disruption
 * budget select the pods; kustomization.yaml lists every file.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { parseSecretsKey } from '../../src/store/config-cipher.js';
import { readYaml, readYamlDocuments, repoPath } from './support/deploy-files.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects, read as the API server would, field by field. */
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [field: string]: any };

const DIR = 'deploy/kubernetes';
const files = readdirSync(repoPath(DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const manifests: Manifest[] = files.flatMap((file) => readYamlDocuments<Manifest>(`${DIR}/${file}`));
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${DIR}`);
  return found;
};

const statefulSet = find('StatefulSet', 'voxgate');
const pod = statefulSet.spec.template;
const container = pod.spec.containers.find((c: any) => c.name === 'voxgate');
const configMap = find('ConfigMap', 'voxgate');
const secret = find('Secret', 'voxgate');

/**
 * The container's environment as the kubelet builds it: envFrom sources in order, then env entries,
 * `$(VAR)` expanded from those defined before; fieldRefs answered for `podName` at `podIp`.
 */
function podEnv(podName: string, podIp: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom) {
    const ref = source.configMapRef ?? source.secretRef;
    const object = source.configMapRef ? find('ConfigMap', ref.name) : find('Secret', ref.name);
    // Only keys that are valid variable names become variables (voxgate.yaml, a file, does not).
    for (const [key, value] of Object.entries<string>(object.data ?? object.stringData ?? {})) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) env[key] = value;
  }
  const fields: Record<string, string> = { 'metadata.name': podName, 'status.podIP': podIp };
  for (const entry of container.env) {
    if (entry.valueFrom) {
      const field = entry.valueFrom.fieldRef?.fieldPath;
      if (!(field in fields)) throw new Error(`env ${entry.name}: unexpected valueFrom ${JSON.stringify(entry.valueFrom)}`);
      env[entry.name] = fields[field];
    } else env[entry.name] = String(entry.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
  }
  return env;
}

/** The mounted configuration file, at the path VOXGATE_CONFIG names. */
function mountedConfig(env: Record<string, string>): unknown {
  const mount = container.volumeMounts.find((m: any) => env.VOXGATE_CONFIG.startsWith(`${m.mountPath}/`));
  expect(mount, `a volume mounted where VOXGATE_CONFIG (${env.VOXGATE_CONFIG}) points`).toBeDefined();
  const volume = pod.spec.volumes.find((v: any) => v.name === mount.name);
  const item = volume.configMap.items.find((i: any) => `${mount.mountPath}/${i.path}` === env.VOXGATE_CONFIG);
  expect(item, `${env.VOXGATE_CONFIG} in ConfigMap ${volume.configMap.name}`).toBeDefined();
  return parseYaml(find('ConfigMap', volume.configMap.name).data[item.key]);
}

describe('deploy/kubernetes', () => {
  it('holds a StatefulSet of 2+ pods, its Services, an Ingress, a PodDisruptionBudget, a ConfigMap and a Secret, all in one namespace', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Ingress', 'Namespace', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'StatefulSet']);
    expect(statefulSet.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(container.args).toEqual(['serve']);
    const namespace = find('Namespace', 'voxgate').metadata.name;
    for (const m of manifests.filter((m) => m.kind !== 'Namespace')) expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toBe(namespace);
  });

  it("gives each pod a valid cluster configuration under Voxgate's own loader: its name as instance id, its IP in its internal URL", () => {
    for (const [name, ip] of [['voxgate-0', '10.1.2.3'], ['voxgate-1', '10.1.2.4']]) {
      const env = podEnv(name, ip);
      const config = parseConfig(mountedConfig(env), env, `${DIR}/configmap.yaml`);
      expect(config.cluster.enabled).toBe(true);
      expect(config.server.instanceId).toBe(name);
      expect(config.cluster.internalUrl).toBe(`http://${ip}:${config.server.port}`);
      expect(config.redis.url).toMatch(/^redis:\/\//);
      expect(config.databaseUrl).toMatch(/^postgres:\/\//);
      expect(String(config.cluster.secret).length).toBeGreaterThanOrEqual(32);
      expect(parseSecretsKey(String(config.secretsKey), 'VOXGATE_SECRETS_KEY')).toHaveLength(32);
      expect(config.server.publicUrl).toBe(configMap.data.VOXGATE_PUBLIC_URL);
      // The ingress controller's pods count as proxies (forwarded headers, connection caps).
      expect(config.server.trustProxy).not.toEqual(false);
    }
  });

  it('keeps secrets in the Secret and settings in the ConfigMap', () => {
    for (const key of ['VOXGATE_CLUSTER_SECRET', 'VOXGATE_SECRETS_KEY', 'VOXGATE_API_TOKEN', 'DATABASE_URL']) {
      expect(secret.stringData[key], key).toBeTruthy();
      expect(configMap.data[key], `${key} in the ConfigMap`).toBeUndefined();
    }
  });

  it('probes readiness on /readyz and liveness on /healthz, on the port Voxgate listens on', () => {
    const env = podEnv('voxgate-0', '10.1.2.3');
    const { port } = parseConfig(mountedConfig(env), env).server;
    const http = container.ports.find((p: any) => p.name === 'http');
    expect(http.containerPort).toBe(port);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('gives a stopping pod longer than its preStop pause plus server.drainTimeoutMs', () => {
    const env = podEnv('voxgate-0', '10.1.2.3');
    const { drainTimeoutMs } = parseConfig(mountedConfig(env), env).server;
    const command: string[] = container.lifecycle.preStop.exec.command;
    expect(command[0]).toBe('sleep');
    const pauseMs = Number(command[1]) * 1000;
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(pauseMs + drainTimeoutMs);
  });

  it('runs as a non-root user with a read-only root filesystem, writing only to its data directory and /tmp', () => {
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    const writable = container.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath);
    expect(writable.sort()).toEqual(['/tmp', '/var/lib/voxgate']);
  });

  it("selects the pods from both Services, the disruption budget and the StatefulSet's own selector; the Ingress sends to the Service", () => {
    const labels: Record<string, string> = pod.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(selects(statefulSet.spec.selector.matchLabels)).toBe(true);
    const service = find('Service', 'voxgate');
    const headless = find('Service', 'voxgate-headless');
    for (const s of [service, headless]) {
      expect(selects(s.spec.selector), s.metadata.name).toBe(true);
      expect(s.spec.ports.map((p: any) => p.targetPort)).toEqual(['http']);
    }
    expect(statefulSet.spec.serviceName).toBe('voxgate-headless');
    expect(headless.spec.clusterIP).toBe('None');
    // A draining pod keeps its DNS name: what names it can still reach it.
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect(selects(find('PodDisruptionBudget', 'voxgate').spec.selector.matchLabels)).toBe(true);
    const backend = find('Ingress', 'voxgate').spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe('voxgate');
    expect(service.spec.ports.map((p: any) => p.name)).toContain(backend.port.name);
  });

  it('lets Prometheus find the pods (prometheus.io annotations) and kustomize apply every file', () => {
    const annotations = pod.metadata.annotations;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(container.ports.find((p: any) => p.name === 'http').containerPort);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    const kustomization = readYaml<{ resources: string[] }>(`${DIR}/kustomization.yaml`);
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
  });
});
