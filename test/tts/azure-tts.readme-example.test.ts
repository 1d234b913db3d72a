import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { azureTtsConfigSchema } from '../../src/speech/tts/azure-tts.js';

const doc = readFileSync(new URL('../../docs/readme/azure-tts.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as { tts?: { provider?: string; azure?: unknown } });

describe('the Azure TTS README section', () => {
  it('has a YAML example whose tts.azure section validates against azureTtsConfigSchema', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.tts?.provider).toBe('azure');
      expect(() => azureTtsConfigSchema.parse(block.tts?.azure)).not.toThrow();
    }
  });
});
