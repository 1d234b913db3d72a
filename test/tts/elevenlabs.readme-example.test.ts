import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { elevenLabsTtsConfigSchema } from '../../src/speech/tts/elevenlabs-tts.js';

const doc = readFileSync(new URL('../../docs/readme/elevenlabs.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as { tts?: { provider?: string; elevenlabs?: unknown } });

describe('the ElevenLabs README section', () => {
  it('has a YAML example whose tts.elevenlabs section validates against elevenLabsTtsConfigSchema', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.tts?.provider).toBe('elevenlabs');
      expect(() => elevenLabsTtsConfigSchema.parse(block.tts?.elevenlabs)).not.toThrow();
    }
  });
});
