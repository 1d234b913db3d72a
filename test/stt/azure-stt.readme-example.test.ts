// Loads the config module before secrets.ts, whose import of ConfigError from load.ts is circular.
import '../../src/config/load.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { azureSttConfigSchema } from '../../src/speech/stt/azure-stt.js';

const doc = readFileSync(new URL('../../docs/readme/azure-stt.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as { stt?: { provider?: string; azure?: unknown } });

describe('the Azure STT README section', () => {
  it('has a YAML example whose stt.azure section validates against azureSttConfigSchema', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.stt?.provider).toBe('azure');
      expect(() => azureSttConfigSchema.parse(block.stt?.azure)).not.toThrow();
    }
  });
});
