import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { pollyTtsConfigSchema } from '../../src/speech/tts/polly-tts.js';

const doc = readFileSync(new URL('../../docs/readme/polly.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as { tts?: { provider?: string; polly?: unknown } });

describe('the Polly README section', () => {
  it('has a YAML example whose tts.polly section validates against pollyTtsConfigSchema', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.tts?.provider).toBe('polly');
      expect(() => pollyTtsConfigSchema.parse(block.tts?.polly)).not.toThrow();
    }
  });
});
