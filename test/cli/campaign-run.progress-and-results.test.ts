import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCampaign } from '../../src/cli/campaign-command.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/runtime/config-error.js';
import { silentLogger } from '../../src/logger.js';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';

const CAMPAIGN = `
name: Renewal reminders
caller: "+14155550100"
escalation: all
attemptsPerContact: 2
retrySpacingSec: 0.2
pacing: { callsPerSecond: 5, maxConcurrent: 5 }
dialPlan:
  verbs:
    - { type: SAY, message: { text: "Hello \${name}, your plan renews soon. Press 1 to renew." }, bargeIn: true }
    - { type: COLLECT, maxDigits: 1, timeout: 2 }
`;

describe('voxgate campaign run', () => {
  let dir: string;
  let sim: PlivoSimulator;
  let restBaseUrl: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-campaign-cli-'));
    sim = new PlivoSimulator({ authId: 'MACLITEST', authToken: 'cli-token' });
    ({ restBaseUrl } = await sim.listen());
    await writeFile(join(dir, 'campaign.yaml'), CAMPAIGN);
    await writeFile(join(dir, 'contacts.csv'), 'phone,name,plan\n+14155550501,Ann,gold\n+14155550502,Ben,silver\n+14155550503,Cy,gold\n');
  });
  afterAll(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = () =>
    parseConfig({ server: { host: '127.0.0.1', port: 0 }, dataDir: join(dir, 'data'), log: { level: 'silent' }, carriers: { plivo: { authId: 'MACLITEST', authToken: 'cli-token', apiBaseUrl: restBaseUrl } }, dialer: { callsPerSecond: 10, ringTimeoutSec: 1 } });

  it('runs the campaign to its end with a progress bar, then writes the results CSV', async () => {
    sim.addCallee('+14155550501', { answerAfterSec: 0.1, keys: [{ afterHeardSec: 0.5, digits: '1' }] });
    sim.addCallee('+14155550502', { busy: true });
    sim.addCallee('+14155550503', { neverAnswer: true });
    const output: string[] = [];
    const code = await runCampaign(config(), {
      contactsPath: join(dir, 'contacts.csv'),
      campaignPath: join(dir, 'campaign.yaml'),
      watch: true,
      resultsPath: join(dir, 'results.csv'),
      logger: silentLogger(),
      out: (t) => output.push(t),
      interactive: false,
      interrupted: new Promise(() => undefined),
    });
    expect(code).toBe(0);
    const bars = output.filter((l) => l.startsWith('['));
    expect(bars.length).toBeGreaterThan(2);
    expect(bars[0]).toMatch(/^\[-{24}\] 0\/3 contacts/);
    expect(bars.at(-1)).toMatch(/^\[#{24}\] 3\/3 contacts \((?=.*accepted 1)(?=.*exhausted 2).*\) \| attempts 5, 0 in progress \| completed/);
    const csv = await readFile(join(dir, 'results.csv'), 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(1 + 5); // header + one row per attempt
    expect(csv).toMatch(/Ann.*accepted/);
  }, 60_000);

  it('names the file and the field when the campaign or the contact list is wrong', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'name: x\ncaller: "+14155550100"\nbot: demo\npacing: { callsPerSecond: 0 }\n');
    await expect(runCampaign(config(), { contactsPath: join(dir, 'contacts.csv'), campaignPath: join(dir, 'bad.yaml'), watch: false, logger: silentLogger(), out: () => undefined })).rejects.toThrow(
      /bad\.yaml: invalid campaign: pacing\.callsPerSecond/,
    );
    await writeFile(join(dir, 'bad.csv'), 'phone,name\nnot-a-number,Zed\n');
    await expect(runCampaign(config(), { contactsPath: join(dir, 'bad.csv'), campaignPath: join(dir, 'campaign.yaml'), watch: false, logger: silentLogger(), out: () => undefined })).rejects.toThrow(ConfigError);
  });
});
