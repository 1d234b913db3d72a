import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowError, loadFlow, parseFlow } from '../../src/bots/flow/flow-schema.js';
import { EXAMPLE_FLOW } from '../support/flow-driver.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxgate-flow-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const withSteps = (steps: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name: 'demo', start: 'a', steps, ...extra });

describe('loadFlow: YAML and JSON files', () => {
  it('loads the example flow from YAML, with digit keys as strings and defaults filled in', async () => {
    const file = join(dir, 'demo.yaml');
    await writeFile(
      file,
      `name: demo
start: welcome
steps:
  welcome: { say: "Hi.", next: menu }
  menu:
    collect: { prompt: "Press 1.", branches: { 1: bye }, timeout: bye }
  bye: { say: "Goodbye.", hangup: completed }
`,
    );
    const flow = await loadFlow(file);
    expect(flow.language).toBe('en-US');
    expect(flow.steps.menu.collect).toMatchObject({ maxDigits: 1, timeoutMs: 5000, branches: { '1': 'bye' } });
  });

  it('loads JSON and plain objects', async () => {
    const file = join(dir, 'demo.json');
    await writeFile(file, JSON.stringify(EXAMPLE_FLOW));
    expect((await loadFlow(file)).start).toBe('welcome');
    expect((await loadFlow(EXAMPLE_FLOW)).name).toBe('demo');
  });
});

describe('loadFlow: invalid flows get errors naming the flow, step and field', () => {
  const cases: [string, unknown, string][] = [
    [
      'a branch to an unknown step',
      withSteps({ a: { collect: { branches: { '1': 'a', '3': 'nowhere' } } } }),
      'flow "demo": step "a": collect.branches."3" points to unknown step "nowhere"',
    ],
    ['an unknown start step', withSteps({ a: { hangup: true } }, { start: 'begin' }), 'flow "demo": start points to unknown step "begin"'],
    ['a missing start', { name: 'demo', steps: { a: { hangup: true } } }, 'flow "demo": start: Required'],
    ['a next to an unknown step', withSteps({ a: { say: 'x', next: 'b' } }), 'flow "demo": step "a": next points to unknown step "b"'],
    ['a misspelt field', withSteps({ a: { sya: 'Hello', hangup: true } }), 'flow "demo": step "a": unknown field "sya"'],
    ['a step with no way on', withSteps({ a: { say: 'Hello' } }), 'flow "demo": step "a": has no way on'],
    ['two exits', withSteps({ a: { hangup: true, next: 'a' } }), 'flow "demo": step "a": has hangup and next'],
    ['maxVisits without exhausted', withSteps({ a: { say: 'x', next: 'a', maxVisits: 2 } }), 'maxVisits and exhausted go together'],
    ['a wrong type', withSteps({ a: { pause: 'long', next: 'a' } }), 'flow "demo": step "a": pause: Expected number, received string'],
    ['a bad transfer target', withSteps({ a: { transfer: 'agent' } }), 'flow "demo": step "a": transfer: "agent" is not a tel: or sip: URI'],
    ['a bad branch key', withSteps({ a: { collect: { branches: { one: 'a' } } } }), 'step "a": collect.branches.one: branch keys are DTMF digits'],
  ];
  for (const [what, flow, message] of cases) {
    it(what, async () => {
      const err = await loadFlow(flow as Record<string, unknown>).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlowError);
      expect((err as Error).message).toContain(message);
    });
  }

  it('bad YAML names the file, line and column', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'name: demo\nsteps:\n  a: { say: "x", next: b\n  b: [\n');
    await expect(loadFlow(file)).rejects.toThrow(new RegExp(`flow file "${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}": invalid YAML at line \\d+, column \\d+`));
  });

  it('a missing file and a non-mapping document are reported', async () => {
    await expect(loadFlow(join(dir, 'missing.yaml'))).rejects.toThrow('cannot read: ENOENT');
    expect(() => parseFlow('- just\n- a list\n', 'inline')).toThrow('inline: expected a mapping with name, start and steps');
  });
});
