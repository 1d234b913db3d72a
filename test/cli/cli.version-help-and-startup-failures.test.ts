/**
 * The first things a newcomer types: `voxgate --version`, `voxgate <command> --help`, and `voxgate
 * serve` on a port another process holds, which must exit at once, non-zero, saying what to do.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs the CLI in a child process (as `voxgate <args>`) and collects its exit code and output. */
function voxgate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.main(${JSON.stringify(args)})).then((code) => process.exit(code))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('the voxgate command line', () => {
  let dir: string;
  let holder: Server;
  let takenPort: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-cli-'));
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    takenPort = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the package version with --version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await voxgate(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `voxgate ${pkg.version}\n` });
  });

  it('prints a command’s own help with <command> --help', async () => {
    const serve = await voxgate(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/^voxgate serve \[options\]/);
    expect(serve.stdout).not.toContain('--watch');
    const demo = await voxgate(['demo', '--help']);
    expect(demo.stdout).toMatch(/^voxgate demo/);
    expect(demo.stdout).toContain('--carrier <name>');
  });

  it('exits at once with a hint when the port is taken', async () => {
    const run = await voxgate(['serve', '-p', String(takenPort)], { VOXGATE_DATA_DIR: join(dir, 'data'), VOXGATE_HOST: '127.0.0.1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`voxgate serve: listen EADDRINUSE: address already in use 127.0.0.1:${takenPort}`);
    expect(run.stderr).toContain(`the port ${takenPort} is taken by another process: choose another with -p <port> or VOXGATE_PORT`);
  }, 30_000);
});
