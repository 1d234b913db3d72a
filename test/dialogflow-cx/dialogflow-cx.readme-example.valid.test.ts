import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dialogflowCxConfigSchema } from '../../src/bots/dialogflow-cx/index.js';

const doc = readFileSync(new URL('../../docs/readme/dialogflow-cx.md', import.meta.url), 'utf8');

describe('Dialogflow CX README section', () => {
  it('has a bot example whose dialogflowCx section validates against dialogflowCxConfigSchema', () => {
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as { bots: { type: string; dialogflowCx: unknown }[] });
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const bot = block.bots[0];
      expect(bot.type).toBe('dialogflow-cx');
      const parsed = dialogflowCxConfigSchema.safeParse(bot.dialogflowCx);
      expect(parsed.error?.issues ?? []).toEqual([]);
    }
  });
});
