// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { googleSttConfigSchema } from '../../src/speech/stt/google-stt.js';

const doc = readFileSync(new URL('../../docs/readme/google-stt.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as { stt?: { provider?: string; google?: unknown } });

describe('the Google STT README section', () => {
  it('has a YAML example whose stt.google section validates against googleSttConfigSchema', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.stt?.provider).toBe('google');
      expect(() => googleSttConfigSchema.parse(block.stt?.google)).not.toThrow();
    }
  });
});
