/**
 * The Dockerfile, read against the project it packages (no image is built here: no registry access):
 * the build stage gets every file `npm run build` reads and nothing .dockerignore drops; the runtime
 * stage gets what `voxgate serve` loads (bin/, dist/ with the console Vite builds into it, production
 * node_modules), runs as a non-root user, listens where Voxgate does, and its HEALTHCHECK command,
 * run as written, tells a live /healthz from a dead one.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { readRepoFile, repoPath } from './support/deploy-files.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with their continuation lines joined; comments and the syntax directive skipped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

const instructions = parseDockerfile(readRepoFile('Dockerfile'));
const stageStarts = instructions.flatMap((ins, i) => (ins.keyword === 'FROM' ? [i] : []));
const buildStage = instructions.slice(stageStarts[0], stageStarts[1]);
const runtimeStage = instructions.slice(stageStarts[1]);
const only = (stage: Instruction[], keyword: string) => stage.filter((ins) => ins.keyword === keyword);
const ignored = readRepoFile('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

describe('Dockerfile', () => {
  it('builds on Node 20 (package.json engines) in a build stage and runs from a separate, slim stage', () => {
    expect(stageStarts).toHaveLength(2);
    expect(buildStage[0].args).toBe('node:20-bookworm-slim AS build');
    expect(runtimeStage[0].args).toBe('node:20-bookworm-slim');
    const engines = (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/^>=20\./);
  });

  it('copies into the build stage every file the build reads, none of them excluded by .dockerignore', () => {
    const copied = only(buildStage, 'COPY').flatMap((ins) => ins.args.split(/\s+/).slice(0, -1));
    for (const path of ['package.json', 'package-lock.json', '.prebuild-installrc', 'tsconfig.json', 'tsconfig.build.json', 'vite.config.ts', 'bin', 'src']) {
      expect(copied, path).toContain(path);
      expect(existsSync(repoPath(path)), path).toBe(true);
      expect(ignored.some((pattern) => pattern === path || path.startsWith(`${pattern}/`)), `${path} is in .dockerignore`).toBe(false);
    }
    // `npm ci` runs the prepare script, which is the build.
    expect((JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts.prepare).toBe('npm run build');
    expect(only(buildStage, 'RUN').some((ins) => /\bnpm ci\b/.test(ins.args) && /npm prune --omit=dev/.test(ins.args))).toBe(true);
  });

  it('gives the runtime stage what `voxgate serve` loads: bin/, dist/ (the console included) and node_modules', () => {
    const fromBuild = only(runtimeStage, 'COPY')
      .filter((ins) => ins.args.startsWith('--from=build '))
      .map((ins) => ins.args.split(/\s+/)[1]);
    expect(fromBuild.sort()).toEqual(['/app/bin', '/app/dist', '/app/node_modules', '/app/package.json']);
    expect(readRepoFile('bin/voxgate.js')).toContain("from '../dist/cli/main.js'");
    // Vite builds the console into dist/ui, where console-routes serves it from.
    expect(readRepoFile('vite.config.ts')).toContain("new URL('./dist/ui', import.meta.url)");
    expect(readRepoFile('tsconfig.build.json')).toContain('"outDir": "dist"');
  });

  it('runs `voxgate serve` as the non-root node user, stopping with SIGTERM (the drain)', () => {
    expect(only(runtimeStage, 'USER').map((ins) => ins.args)).toEqual(['node']);
    expect(only(runtimeStage, 'ENTRYPOINT').map((ins) => JSON.parse(ins.args))).toEqual([['node', 'bin/voxgate.js']]);
    expect(only(runtimeStage, 'CMD').map((ins) => JSON.parse(ins.args))).toEqual([['serve']]);
    expect(only(runtimeStage, 'STOPSIGNAL').map((ins) => ins.args)).toEqual(['SIGTERM']);
  });

  it('exposes the port Voxgate listens on by default and keeps its data directory in a volume the user owns', () => {
    const env = only(runtimeStage, 'ENV')
      .flatMap((ins) => ins.args.split(/\s+/))
      .map((pair) => pair.split('='));
    const vars = Object.fromEntries(env);
    const config = parseConfig({}, vars);
    expect(only(runtimeStage, 'EXPOSE').map((ins) => ins.args)).toEqual([String(config.server.port)]);
    expect(config.server.host).toBe('0.0.0.0');
    expect(only(runtimeStage, 'VOLUME').map((ins) => ins.args)).toEqual([config.dataDir]);
    expect(only(runtimeStage, 'RUN').some((ins) => ins.args.includes(`chown node:node ${config.dataDir}`))).toBe(true);
  });

  describe('its HEALTHCHECK command, run as written', () => {
    const healthcheck = only(runtimeStage, 'HEALTHCHECK')[0];
    const command = JSON.parse(healthcheck.args.slice(healthcheck.args.indexOf('CMD ') + 4)) as string[];
    let server: Server | undefined;

    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    // Asynchronously: the server answering it lives in this process.
    const run = (port: number) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(command[0] === 'node' ? process.execPath : command[0], command.slice(1), { env: { ...process.env, VOXGATE_PORT: String(port) }, stdio: 'ignore', timeout: 15_000 });
        child.once('error', reject);
        child.once('exit', (code) => resolve(code));
      });

    it('succeeds while /healthz answers 200 and fails once nothing listens', async () => {
      const paths: string[] = [];
      server = createServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(req.url === '/healthz' ? 200 : 404).end('{"status":"ok"}');
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
      const { port } = server.address() as AddressInfo;
      expect(await run(port)).toBe(0);
      expect(paths).toEqual(['/healthz']);
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
      expect(await run(port)).toBe(1);
    });
  });
});
