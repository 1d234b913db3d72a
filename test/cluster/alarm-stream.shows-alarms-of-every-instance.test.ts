/**
 * The alarm event stream (SSE) of one instance shows the severity changes made on any instance of
 * the cluster, each once; the raising instance's own stream shows them once too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app/gateway.js';
import type { AlarmChange } from '../../src/alarms/alarm-manager.js';
import { clusterReachable, startServiceViewCluster, type ServiceViewCluster } from '../support/service-view-cluster.js';

const ADMIN_TOKEN = 'alarm-stream-admin-token-0123456789';

/** Reads `GET /api/v1/alarms/stream` and collects its `alarm` events. */
async function alarmStream(gateway: Gateway) {
  const abort = new AbortController();
  const res = await fetch(`${gateway.url}/api/v1/alarms/stream`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  const changes: AlarmChange[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (block.includes('event: alarm') && data) changes.push(JSON.parse(data.slice(6)) as AlarmChange);
      }
    }
  })().catch(() => undefined);
  return {
    changes,
    async close() {
      abort.abort();
      await reading;
    },
  };
}

describe.skipIf(!clusterReachable)('the alarm stream of one instance shows every instance (two gateways, Redis, PostgreSQL)', () => {
  let cluster: ServiceViewCluster;
  beforeAll(async () => {
    cluster = await startServiceViewCluster({ api: { token: ADMIN_TOKEN } });
  }, 90_000);
  afterAll(() => cluster?.close(), 60_000);

  it('shows an alarm raised and cleared on instance 1 on the stream of instance 2, once each', async () => {
    const [one, two] = cluster.gateways;
    const stream2 = await alarmStream(two);
    const stream1 = await alarmStream(one);

    await one.alarms.raise('probe', 'trunk-7', 'major', 'raised on instance 1');
    await one.alarms.clear('probe', 'trunk-7', 'cleared on instance 1');

    const ofProbe = (changes: AlarmChange[]) => changes.filter((c) => c.key === 'probe:trunk-7').map((c) => `${c.severity}:${c.message}`);
    await expect.poll(() => ofProbe(stream2.changes).length, { timeout: 15_000, interval: 20 }).toBe(2);
    expect(ofProbe(stream2.changes)).toEqual(['major:raised on instance 1', 'clear:cleared on instance 1']);
    expect(ofProbe(stream1.changes)).toEqual(['major:raised on instance 1', 'clear:cleared on instance 1']);
    // The same history ids on both: one change, shown twice, not made twice.
    expect(stream2.changes.map((c) => c.sequence)).toEqual(stream1.changes.map((c) => c.sequence));
    expect((await two.alarms.history({ limit: 10 })).entries.filter((e) => e.key === 'probe:trunk-7')).toHaveLength(2);

    await stream1.close();
    await stream2.close();
  }, 60_000);
});
