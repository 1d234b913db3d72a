/**
 * Several instances scraped by one Prometheus: every series of an instance's /metrics carries
 * `instance="<server.instanceId>"` (docs/prometheus.md keeps it with honor_labels: true).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoxgateMetrics } from '../../src/api/metrics.js';
import { EventBus } from '../../src/events/bus.js';
import { startE2e, type E2eSetup } from '../support/e2e-gateway.js';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';

describe('the instance label on /metrics', () => {
  it('is on every series: call counters, histograms and process metrics alike', async () => {
    const bus = new EventBus();
    const metrics = new VoxgateMetrics({ instanceId: 'voxgate-1:8080' });
    metrics.attach(bus);
    bus.publish('call.started', { callId: 'c1', carrier: 'plivo', carrierCallId: 'u1', direction: 'inbound', from: '+15550001', to: '+15550002', bot: 'support', at: 1 });
    bus.publish('call.ended', { callId: 'c1', at: 2, cause: 'NORMAL_CLEARING', side: 'caller', reason: 'caller-hangup' });

    const samples = parsePrometheusText((await metrics.exposition()).body);
    expect(samples.length).toBeGreaterThan(20);
    expect(samples.filter((s) => s.labels.instance !== 'voxgate-1:8080')).toEqual([]);
    expect(sampleValue(samples, 'voxgate_calls_total', { instance: 'voxgate-1:8080', reason: 'caller-hangup' })).toBe(1);
    expect(samples.some((s) => s.name === 'voxgate_process_cpu_seconds_total')).toBe(true);
  });

  it('has none when no instance id is given (the metrics of an embedding app)', async () => {
    const samples = parsePrometheusText((await new VoxgateMetrics({ processMetrics: false }).exposition()).body);
    expect(samples.some((s) => 'instance' in s.labels)).toBe(false);
  });

  describe('on a running gateway', () => {
    let e2e: E2eSetup;
    beforeAll(async () => {
      e2e = await startE2e();
    }, 60_000);
    afterAll(() => e2e?.close());

    it("names the gateway's server.instanceId on every line of GET /metrics", async () => {
      const res = await fetch(`${e2e.gateway.url}/metrics`);
      expect(res.status).toBe(200);
      const samples = parsePrometheusText(await res.text());
      expect(samples.length).toBeGreaterThan(0);
      expect(new Set(samples.map((s) => s.labels.instance))).toEqual(new Set([e2e.gateway.instanceId]));
    });
  });
});
