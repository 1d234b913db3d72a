import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { googleTtsConfigSchema } from '../../src/speech/tts/google-tts.js';

const doc = readFileSync(new URL('../../docs/readme/google-tts.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as { tts?: { provider?: string; google?: unknown } });

describe('the Google README section', () => {
  it('has a YAML example whose tts.google section validates against googleTtsConfigSchema', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.tts?.provider).toBe('google');
      expect(() => googleTtsConfigSchema.parse(block.tts?.google)).not.toThrow();
    }
  });
});
