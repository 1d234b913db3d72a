import { describe, expect, it } from 'vitest';
import { metricsConfigSchema } from '../../src/api/metrics.js';

describe('metrics configuration', () => {
  it('defaults to an open /metrics with process metrics, and takes the token as a secret reference', () => {
    expect(metricsConfigSchema.parse({})).toEqual({ enabled: true, path: '/metrics', processMetrics: true });
    expect(metricsConfigSchema.parse({ token: { env: 'VOXGATE_METRICS_TOKEN' } }).token).toEqual({ env: 'VOXGATE_METRICS_TOKEN' });
    const bad = metricsConfigSchema.safeParse({ path: 'metrics', bearer: 'x' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.message)).toEqual(expect.arrayContaining(['a URL path starting with /']));
  });
});
