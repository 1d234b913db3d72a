import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmsConfigSchema, createAlarms } from '../../src/alarms/alarms-config.js';
import { EventBus } from '../../src/events/bus.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

describe('alarms configuration', () => {
  let dir: TempDir;
  let store: Store;
  beforeAll(async () => {
    dir = await makeTempDir();
    store = await openDatabase({ dataDir: dir.path });
  });
  afterAll(async () => {
    await store.close();
    await dir.remove();
  });

  it('fills the documented defaults and refuses unknown or bad fields by name', () => {
    expect(alarmsConfigSchema.parse({})).toEqual({ enabled: true, webhookUrls: [], historyLimit: 10_000, evaluateEveryMs: 10_000, thresholds: {} });
    const bad = alarmsConfigSchema.safeParse({ thresholds: { bot: { windowMinutes: 5 } }, webhookUrls: ['ftp://x.example/a'] });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['thresholds.bot', 'webhookUrls.0']));
  });

  it('wires manager and conditions from the section: bus failures become active alarms, with overridden thresholds', async () => {
    const clock = new FakeClock();
    const bus = new EventBus();
    const alarms = createAlarms(alarmsConfigSchema.parse({ thresholds: { carrier: { majorCount: 2, criticalCount: 4 } } }), { store, bus, clock });
    for (let i = 0; i < 2; i++) bus.publish('outbound.status', { conversationId: `c${i}`, carrier: 'plivo', status: 'failed', reasonCode: 'error', reason: 'Plivo API answered 500', at: clock.now() });
    await alarms.manager.idle();
    expect(await alarms.manager.active()).toMatchObject([{ key: 'carrier-failure:plivo', severity: 'major' }]);
    await alarms.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('the README example', () => {
  it('validates against the metrics and alarms schemas', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const { metricsConfigSchema } = await import('../../src/api/metrics.js');
    const text = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    // The README's monitoring example: the YAML block that configures both sections.
    const yaml = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('metrics:') && b.includes('alarms:'));
    const doc = parse(yaml ?? '') as { metrics: unknown; alarms: unknown };
    expect(metricsConfigSchema.parse(doc.metrics).token).toEqual({ env: 'VOXGATE_METRICS_TOKEN' });
    expect(alarmsConfigSchema.parse(doc.alarms).thresholds.carrier).toEqual({ majorCount: 5 });
  });
});
