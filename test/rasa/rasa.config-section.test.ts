import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { rasaConfigSchema, rasaOptionsFromConfig } from '../../src/bots/rasa/rasa-config.js';
import { RasaConnector } from '../../src/bots/rasa/index.js';

const doc = readFileSync(new URL('../../docs/providers/rasa.md', import.meta.url), 'utf8');
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('Rasa config section', () => {
  it('accepts the README example, whose options build a working connector', () => {
    expect(yamlBlocks.length).toBeGreaterThan(0);
    for (const block of yamlBlocks) {
      const bots = (parseYaml(block) as { bots: { name: string; type: string; rasa: unknown }[] }).bots.filter((b) => b.type === 'rasa');
      expect(bots.length).toBeGreaterThan(0);
      for (const bot of bots) {
        const config = rasaConfigSchema.parse(bot.rasa);
        const options = rasaOptionsFromConfig(bot.name, config, { RASA_TOKEN: 's3cret' });
        expect(options).toMatchObject({ name: 'moodbot', url: 'http://rasa:5005', token: 's3cret', channel: 'rest', dtmfTemplate: '/dtmf{"digits":"${digits}"}' });
        expect(new RasaConnector(options).botName).toBe('moodbot');
      }
    }
  });

  it('fills the defaults: /greet, bare digits, no events, no end message', () => {
    expect(rasaConfigSchema.parse({ url: 'http://localhost:5005' })).toEqual({
      url: 'http://localhost:5005',
      channel: 'rest',
      startMessage: '/greet',
      dtmfTemplate: '${digits}',
      eventMessages: {},
      requestTimeoutMs: 10000,
    });
  });

  it('rejects a misspelled key, a non-http url and an empty start message, naming the field', () => {
    const issues = (input: unknown) => rasaConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ url: 'http://rasa:5005', tokn: 'x' })).toEqual([expect.stringContaining("Unrecognized key(s) in object: 'tokn'")]);
    expect(issues({ url: 'ftp://rasa' })).toEqual(['url: must be an http(s) URL']);
    expect(issues({ url: 'http://admin:pw@rasa:5005' })).toEqual(['url: must not contain credentials; use token or bearerToken']);
    expect(issues({ url: 'http://rasa:5005', startMessage: '' })).toEqual([expect.stringMatching(/^startMessage: /)]);
  });

  it('names the missing environment variable of a secret', () => {
    const config = rasaConfigSchema.parse({ url: 'http://rasa:5005', bearerToken: { env: 'RASA_JWT' } });
    expect(() => rasaOptionsFromConfig('moodbot', config, {})).toThrow('bots.moodbot.rasa.bearerToken: environment variable RASA_JWT is not set');
  });
});
