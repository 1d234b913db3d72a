import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';

const dir = await mkdtemp(join(tmpdir(), 'vg-config-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('configuration', () => {
  it('runs on embedded defaults with no file: the demo flow bot answers every number', async () => {
    const cfg = await loadConfig(undefined, {});
    expect(cfg.server.port).toBe(8080);
    expect(cfg.carriers.plivo!.contentType).toBe('audio/x-mulaw;rate=8000');
    expect(cfg.routes).toEqual([{ number: '*', bot: 'demo' }]);
  });

  it('lets environment variables override the file', async () => {
    const path = join(dir, 'a.yaml');
    await writeFile(path, 'server:\n  port: 9000\ncarriers:\n  plivo:\n    contentType: audio/x-l16;rate=16000\n');
    const cfg = await loadConfig(path, { VOXGATE_PORT: '9100', PLIVO_AUTH_TOKEN: 'secret' });
    expect(cfg.server.port).toBe(9100);
    expect(cfg.carriers.plivo!.contentType).toBe('audio/x-l16;rate=16000');
    expect(cfg.carriers.plivo!.authToken).toBe('secret');
  });

  it('names the bad key and what was expected', () => {
    expect(() => parseConfig({ carriers: { plivo: { contentType: 'audio/wav' } } })).toThrow(/carriers\.plivo\.contentType: Invalid enum value/);
    expect(() => parseConfig({ server: { port: 'eighty' } })).toThrow(/server\.port: Expected number/);
    expect(() => parseConfig({ defaults: { bargein: true } })).toThrow(/defaults: Unrecognized key\(s\) in object: 'bargein'/);
  });

  it('rejects a route to a bot that does not exist, naming it', () => {
    expect(() => parseConfig({ routes: [{ number: '*', bot: 'sales' }] })).toThrow(/routes\.0\.bot: unknown bot "sales" \(known: demo\)/);
  });

  it('names the environment variable when it is the culprit', () => {
    expect(() => parseConfig({}, { VOXGATE_PORT: '99999' })).toThrow(/env VOXGATE_PORT[\s\S]*server\.port/);
  });

  it('reports unreadable files and bad YAML clearly', async () => {
    await expect(loadConfig(join(dir, 'missing.yaml'), {})).rejects.toThrow(ConfigError);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'server: [unclosed');
    await expect(loadConfig(bad, {})).rejects.toThrow(/not valid YAML/);
  });
});
