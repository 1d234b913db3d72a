import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DIRECT_LINE_PUBLIC_BASE_URL, directLineConfigSchema, directLineOptionsFromConfig } from '../../src/bots/direct-line/index.js';

describe('Direct Line config', () => {
  it('the README example validates and yields connector options with the secret from the environment', () => {
    const doc = readFileSync(new URL('../../docs/providers/direct-line.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1];
    const bot = (parseYaml(yaml) as { bots: { name: string; directLine: unknown }[] }).bots[0];
    const config = directLineConfigSchema.parse(bot.directLine);
    const options = directLineOptionsFromConfig(bot.name, config, { DIRECT_LINE_SECRET: 's3cret' });
    expect(options).toMatchObject({ name: 'support', secret: 's3cret', exchangeSecretForToken: true, locale: 'en-US', useWebSocket: true });
  });

  it('defaults to the public Direct Line endpoint over WebSocket', () => {
    expect(directLineConfigSchema.parse({ secret: 'x' })).toEqual({
      secret: 'x',
      baseUrl: DIRECT_LINE_PUBLIC_BASE_URL,
      exchangeSecretForToken: false,
      useWebSocket: true,
      pollIntervalMs: 1000,
      requestTimeoutMs: 20_000,
    });
  });

  it('rejects unknown keys, a missing secret, and names an unset secret variable', () => {
    expect(directLineConfigSchema.safeParse({ secret: 'x', token: 'y' }).success).toBe(false);
    expect(directLineConfigSchema.safeParse({}).success).toBe(false);
    const config = directLineConfigSchema.parse({ secret: { env: 'NO_SUCH_VAR' } });
    expect(() => directLineOptionsFromConfig('support', config, {})).toThrow('invalid configuration: bots.support.directLine.secret: environment variable NO_SUCH_VAR is not set');
  });
});
