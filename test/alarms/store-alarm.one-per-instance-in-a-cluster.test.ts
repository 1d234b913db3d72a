/**
 * In a cluster each instance's record writes fail or recover on their own: the `store` alarm is the
 * instance's own (entity `record-writes@<instanceId>`, the instance named in the message), so one
 * instance recovering does not clear another's outage. One process alone keeps `record-writes`.
 */
import { describe, expect, it } from 'vitest';
import { StoreWriteAlarm, type StoreWriteHealthSource } from '../../src/alarms/store-alarm.js';
import type { AlarmSeverity } from '../../src/alarms/severity.js';

type Health = ReturnType<StoreWriteHealthSource['health']>;

function writerHealth() {
  let health: Health = { failing: false, waiting: 0, failingSince: null, lastError: null };
  const listeners = new Set<(h: Health) => void>();
  return {
    source: { health: () => health, onHealthChange: (l: (h: Health) => void) => (listeners.add(l), () => void listeners.delete(l)) } satisfies StoreWriteHealthSource,
    set(next: Partial<Health>) {
      health = { ...health, ...next };
      for (const l of listeners) l(health);
    },
  };
}

function recorder() {
  const writes: { entity: string; severity: AlarmSeverity; message: string }[] = [];
  return {
    writes,
    raise: async (_type: string, entity: string, severity: AlarmSeverity, message: string) => void writes.push({ entity, severity, message }),
    clear: async (_type: string, entity: string, message = '') => void writes.push({ entity, severity: 'clear', message }),
  };
}

describe('the store alarm of each instance', () => {
  it('names the instance in its entity and message, and clears only its own', async () => {
    const alarms = recorder();
    const a = writerHealth();
    const b = writerHealth();
    const alarmA = new StoreWriteAlarm({ alarms, records: a.source, instanceId: 'voxgate-0' });
    const alarmB = new StoreWriteAlarm({ alarms, records: b.source, instanceId: 'voxgate-1' });
    a.set({ failing: true, waiting: 3, failingSince: 1_700_000_000_000, lastError: 'connection refused' });
    b.set({ failing: true, waiting: 5, failingSince: 1_700_000_000_000, lastError: 'connection refused' });
    a.set({ failing: false, waiting: 0 });
    await expect.poll(() => alarms.writes.length).toBe(3);
    expect(alarms.writes).toEqual([
      { entity: 'record-writes@voxgate-0', severity: 'critical', message: expect.stringMatching(/^record store cannot take writes .* \(instance voxgate-0\)$/) },
      { entity: 'record-writes@voxgate-1', severity: 'critical', message: expect.stringMatching(/\(instance voxgate-1\)$/) },
      { entity: 'record-writes@voxgate-0', severity: 'clear', message: 'record store takes writes again (instance voxgate-0)' },
    ]);
    alarmA.stop();
    alarmB.stop();
  });

  it('keeps the entity record-writes for one process alone', async () => {
    const alarms = recorder();
    const a = writerHealth();
    const alarm = new StoreWriteAlarm({ alarms, records: a.source });
    a.set({ failing: true, waiting: 1, failingSince: 1_700_000_000_000, lastError: 'disk full' });
    await expect.poll(() => alarms.writes.length).toBe(1);
    expect(alarms.writes[0]).toMatchObject({ entity: 'record-writes', severity: 'critical', message: expect.not.stringContaining('instance') });
    alarm.stop();
  });
});
