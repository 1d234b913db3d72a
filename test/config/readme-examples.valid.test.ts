import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { validateFlow } from '../../src/bots/flow/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('the README’s YAML examples', () => {
  it('are there to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it.each(blocks.map((b, i) => [i, b] as const))('example %i is valid configuration (or a valid flow)', (_i, block) => {
    const doc = parseYaml(block) as Record<string, unknown>;
    if ('steps' in doc) {
      expect(() => validateFlow(doc, 'README flow')).not.toThrow();
      return;
    }
    // Partial examples show one section; give them the routes a full file would have.
    const bots = (doc.bots as { name: string; isBase?: boolean }[] | undefined) ?? [];
    const firstBot = bots.find((b) => !b.isBase)?.name;
    const withRoutes = doc.routes || !firstBot ? doc : { ...doc, routes: [{ number: '*', bot: firstBot }] };
    expect(() => parseConfig(withRoutes)).not.toThrow();
  });
});
