import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsRoutes, VoxgateMetrics } from '../../src/api/metrics.js';
import { EventBus } from '../../src/events/bus.js';
import type { TurnEvent } from '../../src/events/call-events.js';
import { parsePrometheusText, sampleValue, type Sample } from '../support/prometheus-text.js';

const T0 = 1_700_000_000_000;

function turn(callId: string, seq: number, over: Partial<TurnEvent> = {}): TurnEvent {
  return {
    callId, seq, inputKind: 'speech', inputText: 'hi', speechEndedAt: T0, inputAt: T0, botSentAt: T0, botAnsweredAt: T0, firstAudioAt: T0,
    sttMs: 120, botMs: 400, ttsMs: 180, e2eMs: 700, sttProvider: 'deepgram', ttsProvider: 'azure', bot: 'support', outcome: 'answered', error: null,
    ...over,
  };
}

function started(bus: EventBus, callId: string, direction: 'inbound' | 'outbound' = 'inbound', bot = 'support'): void {
  bus.publish('call.started', { callId, carrier: 'plivo', carrierCallId: callId, direction, from: '+15550001', to: '+15550002', bot, at: T0 });
}

describe('GET /metrics after calls on the bus', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function scrape(metrics: VoxgateMetrics, headers: Record<string, string> = {}, token?: string): Promise<{ status: number; samples: Sample[]; contentType: string }> {
    app = Fastify();
    await app.register(metricsRoutes, { metrics, bearerToken: token });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers });
    return { status: res.statusCode, contentType: String(res.headers['content-type']), samples: res.statusCode === 200 ? parsePrometheusText(res.body) : [] };
  }

  it('counts active calls and ended calls by direction and end reason', async () => {
    const bus = new EventBus();
    const metrics = new VoxgateMetrics({ processMetrics: false });
    metrics.attach(bus);
    started(bus, 'a');
    started(bus, 'b');
    started(bus, 'c', 'outbound');
    bus.publish('call.ended', { callId: 'a', at: T0 + 5000, cause: 'NORMAL_CLEARING', side: 'caller', reason: 'caller-hangup' });

    const { samples, contentType } = await scrape(metrics);
    expect(contentType).toContain('text/plain');
    expect(sampleValue(samples, 'voxgate_active_calls', { direction: 'inbound' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_active_calls', { direction: 'outbound' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_calls_total', { direction: 'inbound', reason: 'caller-hangup' })).toBe(1);
  });

  it('puts turn latencies in seconds into the stage histograms', async () => {
    const bus = new EventBus();
    const metrics = new VoxgateMetrics({ processMetrics: false });
    metrics.attach(bus);
    started(bus, 'a');
    bus.publish('turn', turn('a', 1, { sttMs: 120, botMs: 400, ttsMs: 180, e2eMs: 700 }));
    bus.publish('turn', turn('a', 2, { sttMs: 60, botMs: 2600, ttsMs: null, e2eMs: 4000 }));

    const { samples } = await scrape(metrics);
    const bucket = (stage: string, le: string) => sampleValue(samples, 'voxgate_turn_latency_seconds_bucket', { stage, bot: 'support', le });
    expect(bucket('stt', '0.05')).toBe(0);
    expect(bucket('stt', '0.1')).toBe(1);
    expect(bucket('stt', '0.2')).toBe(2);
    expect(bucket('bot', '0.5')).toBe(1);
    expect(bucket('bot', '3')).toBe(2);
    expect(bucket('e2e', '0.75')).toBe(1);
    expect(bucket('e2e', '5')).toBe(2);
    expect(bucket('e2e', '+Inf')).toBe(2);
    expect(sampleValue(samples, 'voxgate_turn_latency_seconds_count', { stage: 'tts', bot: 'support' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_turn_latency_seconds_sum', { stage: 'e2e', bot: 'support' })).toBeCloseTo(4.7);
    expect(sampleValue(samples, 'voxgate_turns_total', { bot: 'support', outcome: 'answered' })).toBe(2);
  });

  it('counts a cut prompt as a barge-in when the call goes on, not when the hangup cut it', async () => {
    const bus = new EventBus();
    const metrics = new VoxgateMetrics({ processMetrics: false });
    metrics.attach(bus);
    started(bus, 'a');
    started(bus, 'b');
    const prompt = (callId: string, endedAt: number, heardInFull: boolean) =>
      bus.publish('prompt.played', { callId, promptId: 'p', text: 'Welcome', startedAt: endedAt - 900, endedAt, heardInFull });
    prompt('a', T0 + 1000, true);
    prompt('a', T0 + 3000, false);
    bus.publish('transcript', { callId: 'a', at: T0 + 3500, who: 'caller', text: 'agent please' });
    // Call b: the caller hung up mid-prompt.
    prompt('b', T0 + 2000, false);
    bus.publish('call.ended', { callId: 'b', at: T0 + 2000, cause: 'NORMAL_CLEARING', side: 'caller', reason: 'caller-hangup' });

    const { samples } = await scrape(metrics);
    expect(sampleValue(samples, 'voxgate_barge_ins_total', { bot: 'support' })).toBe(1);
  });

  it('counts provider errors once per failure, by kind and provider', async () => {
    const bus = new EventBus();
    const metrics = new VoxgateMetrics({ processMetrics: false });
    metrics.attach(bus);
    started(bus, 'a');
    bus.publish('turn', turn('a', 1, { outcome: 'tts-error', error: 'azure: 401', ttsMs: null, e2eMs: null }));
    bus.publish('call.ended', { callId: 'a', at: T0 + 9000, cause: 'x', side: 'gateway', reason: 'tts-error' });
    started(bus, 'b');
    bus.publish('turn', turn('b', 1));
    bus.publish('call.ended', { callId: 'b', at: T0 + 9000, cause: 'x', side: 'gateway', reason: 'stt-error' });
    bus.publish('outbound.status', { conversationId: 'c', status: 'failed', reasonCode: 'error', reason: 'Plivo API 401', at: T0 });
    bus.publish('outbound.status', { conversationId: 'd', status: 'failed', reasonCode: 'busy', at: T0 });

    const { samples } = await scrape(metrics);
    expect(sampleValue(samples, 'voxgate_provider_errors_total', { kind: 'tts', provider: 'azure' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_provider_errors_total', { kind: 'stt', provider: 'deepgram' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_provider_errors_total', { kind: 'carrier', provider: 'unknown' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_outbound_calls_total', { status: 'failed', reason: 'busy' })).toBe(1);
    expect(sampleValue(samples, 'voxgate_outbound_calls_total', { status: 'failed', reason: 'error' })).toBe(1);
  });

  it('reads campaign progress at scrape time, and still answers when that read fails', async () => {
    let fail = false;
    const metrics = new VoxgateMetrics({
      processMetrics: false,
      collectCampaigns: async () => {
        if (fail) throw new Error('store closed');
        return [{ campaignId: 'c1', name: 'renewals', status: 'running', contacts: { total: 10, pending: 6, inProgress: 1, done: 3, skipped: 0 } }];
      },
    });
    let { samples } = await scrape(metrics);
    expect(sampleValue(samples, 'voxgate_campaign_contacts', { campaign: 'c1', state: 'done' })).toBe(3);
    expect(sampleValue(samples, 'voxgate_campaign_contacts', { campaign: 'c1', state: 'total' })).toBe(10);
    await app?.close();
    fail = true;
    const again = await scrape(metrics);
    samples = again.samples;
    expect(again.status).toBe(200);
    expect(sampleValue(samples, 'voxgate_campaign_contacts', { campaign: 'c1', state: 'done' })).toBeUndefined();
  });

  it('exposes event-loop lag and process metrics, and two instances keep separate registries', async () => {
    const one = new VoxgateMetrics();
    const two = new VoxgateMetrics();
    const bus = new EventBus();
    one.attach(bus);
    started(bus, 'a');
    const { samples } = await scrape(one);
    expect(sampleValue(samples, 'voxgate_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'voxgate_process_resident_memory_bytes') ?? sampleValue(samples, 'voxgate_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    await app?.close();
    const other = await scrape(two);
    expect(sampleValue(other.samples, 'voxgate_active_calls', { direction: 'inbound' })).toBeUndefined();
  });

  it('asks for the bearer token when one is configured', async () => {
    const metrics = new VoxgateMetrics({ processMetrics: false });
    expect((await scrape(metrics, {}, 's3cret')).status).toBe(401);
    await app?.close();
    expect((await scrape(metrics, { authorization: 'Bearer wrong!' }, 's3cret')).status).toBe(401);
    await app?.close();
    expect((await scrape(metrics, { authorization: 'Bearer s3cret' }, 's3cret')).status).toBe(200);
  });
});
