import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { validateFlow } from '../../src/bots/flow/index.js';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';

const root = new URL('../../', import.meta.url);
const documents = ['README.md', ...readdirSync(new URL('docs/providers/', root)).map((f) => `docs/providers/${f}`)];
const blocks = documents.flatMap((doc) =>
  [...readFileSync(new URL(doc, root), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => [`${doc} #${i}`, m[1]] as const),
);

describe('the YAML examples of the README and the provider pages', () => {
  it('are there to check', () => {
    expect(blocks.filter(([where]) => where.startsWith('README')).length).toBeGreaterThanOrEqual(8);
    expect(blocks.length).toBeGreaterThanOrEqual(20);
  });

  it.each(blocks)('%s is valid configuration (or a valid flow or campaign)', (_where, block) => {
    const doc = parseYaml(block) as Record<string, unknown>;
    if ('attemptsPerContact' in doc) {
      expect(() => parseCampaignDefinition(doc)).not.toThrow();
      return;
    }
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
