/** Reading the shipped deployment files (deploy/, Dockerfile) the way their tools do, for the manifest tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function repoPath(path: string): string {
  return fileURLToPath(new URL(path, new URL('../../../', import.meta.url)));
}

export function readRepoFile(path: string): string {
  return readFileSync(repoPath(path), 'utf8');
}

/** One YAML document; `<<` merge keys resolved as Compose does. */
export function readYaml<T = Record<string, unknown>>(path: string): T {
  return parseYaml(readRepoFile(path), { merge: true }) as T;
}

/** Every document of a multi-document YAML file, each failing loudly if it does not parse. */
export function readYamlDocuments<T = Record<string, unknown>>(path: string): T[] {
  return parseAllDocuments(readRepoFile(path)).map((doc, i) => {
    if (doc.errors.length) throw new Error(`${path} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as T;
  });
}

/** A Compose env file: KEY=VALUE lines; comments and blank lines skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`env file line is not KEY=VALUE: ${line}`);
    env[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return env;
}

/** HAProxy's `server <name> <address>` lines and `use-server <name> if { var(txn.vxr) -m beg <prefix> }` rules of a backend. */
export function haproxyBackend(config: string, backend: string): { servers: Map<string, string>; routes: Map<string, string> } {
  const lines = config.split('\n');
  const start = lines.findIndex((l) => l.trim() === `backend ${backend}`);
  if (start < 0) throw new Error(`no backend ${backend}`);
  const servers = new Map<string, string>();
  const routes = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const server = /^\s+server\s+(\S+)\s+(\S+)/.exec(line);
    if (server) servers.set(server[1], server[2]);
    const route = /^\s+use-server\s+(\S+)\s+if\s+\{\s*var\(txn\.vxr\)\s+-m\s+beg\s+(\S+)\s*\}/.exec(line);
    if (route) routes.set(route[1], route[2]);
  }
  return { servers, routes };
}

/** Milliseconds of a Compose duration such as 40s, 1m30s, 500ms. */
export function composeDurationMs(value: string): number {
  let total = 0;
  const pattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let matched = '';
  for (let m = pattern.exec(value); m; m = pattern.exec(value)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched += m[0];
  }
  if (matched !== value) throw new Error(`not a Compose duration: ${value}`);
  return total;
}
