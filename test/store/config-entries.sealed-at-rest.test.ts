import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { ConfigCipher, ConfigCipherError, keyFromFile, parseSecretsKey } from '../../src/store/config-cipher.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const T0 = 1_700_000_000_000;
const bot = { name: 'assistant', type: 'llm', llm: { baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-very-secret-123', model: 'gpt-4o-mini', systemPrompt: 'Be brief.' } };

describeOnEachDialect('configuration stored through the API is sealed at rest', (ctx) => {
  it('the stored row does not hold the vendor key; the repository reads it back whole', async () => {
    const repo = new ConfigRepository(ctx.store.db, new ConfigCipher(randomBytes(32)));
    await repo.put('bot', 'assistant', bot, T0);
    const row = await ctx.store.db.selectFrom('config_entries').select('body').where('name', '=', 'assistant').executeTakeFirstOrThrow();
    expect(row.body).not.toContain('sk-very-secret');
    expect(row.body).not.toContain('gpt-4o-mini');
    expect((await repo.list('bot')).map((e) => e.body)).toEqual([bot]);
  });

  it('another key cannot read it and says why; rows stored before sealing are still read', async () => {
    const plain = new ConfigRepository(ctx.store.db);
    await plain.put('route', '+14155550100', { number: '+14155550100', bot: 'assistant' }, T0);
    const sealed = new ConfigRepository(ctx.store.db, new ConfigCipher(randomBytes(32)));
    await sealed.put('bot', 'other', bot, T0);
    expect((await sealed.list('route')).map((e) => e.body)).toEqual([{ number: '+14155550100', bot: 'assistant' }]);
    await expect(new ConfigRepository(ctx.store.db, new ConfigCipher(randomBytes(32))).list('bot')).rejects.toThrow(/config entry bot \w+: cannot be decrypted with this secrets key/);
    await expect(plain.list('bot')).rejects.toThrow(ConfigCipherError);
  });
});

describe('secrets key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-secrets-key-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a key file is created once, readable by its owner only, and reused', async () => {
    const path = join(dir, 'data', 'secrets.key');
    const first = keyFromFile(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(keyFromFile(path).equals(first)).toBe(true);
    expect((await readFile(path, 'utf8')).trim()).toHaveLength(64);
  });

  it('a configured key must be 32 bytes, hex or base64, and the error names where it came from', () => {
    expect(parseSecretsKey('ab'.repeat(32), 'secretsKey')).toHaveLength(32);
    expect(parseSecretsKey(randomBytes(32).toString('base64'), 'secretsKey')).toHaveLength(32);
    expect(() => parseSecretsKey('short', 'secretsKey')).toThrow(/secretsKey: the secrets key must be 32 bytes/);
  });
});
