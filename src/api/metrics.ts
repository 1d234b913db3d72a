/**
 * Prometheus metrics, driven by the event bus: live calls, calls by outcome, turn latency
 * histograms, barge-ins, provider errors, outbound statuses, campaign progress, plus Node's own
 * process and event-loop metrics. Each VoxgateMetrics owns its Registry (never prom-client's
 * global one), so several gateways or test suites in one process do not clash.
 *
 * Each instance of a cluster exports its own calls (it counts from its own bus, not the service
 * bus); with `instanceId` every series carries `instance="<server.instanceId>"`, so a Prometheus
 * scraping several instances keeps them apart (docs/prometheus.md: `honor_labels: true`).
 *
 * `metricsRoutes` serves it as `GET /metrics` in the text exposition format, open by default or
 * behind a bearer token.
 */
import type { FastifyInstance } from 'fastify';
import { checkStaticBearer, refuseStaticBearer, type StaticBearerThrottle } from './auth/static-bearer.js';
// Types only: @fastify/swagger's `hide`, keeping operational endpoints out of the API document.
import type {} from '@fastify/swagger';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { secretSchema } from '../runtime/secrets.js';
import type { EventBus } from '../events/bus.js';
import type { TurnEvent } from '../events/call-events.js';
import { silentLogger, type Logger } from '../logger.js';
import { CampaignRepository } from '../store/campaign-repository.js';
import type { VoxgateDatabase } from '../store/schema.js';
import type { Kysely } from 'kysely';

/** Seconds: spread over what a phone caller perceives, from "instant" to "the line went dead". */
export const TURN_LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5] as const;

/** A cut prompt counts as a barge-in unless the call ends within this long after the cut (then the hangup cut it). */
const HANGUP_CUT_TOLERANCE_MS = 1000;

/** The `metrics` configuration section. */
export const metricsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    path: z.string().regex(/^\/[\w./-]*$/, 'a URL path starting with /').default('/metrics'),
    /** When set, scrapes need `Authorization: Bearer <token>`; resolve with resolveSecret. */
    token: secretSchema.optional(),
    /** Node process metrics and event-loop lag. */
    processMetrics: z.boolean().default(true),
  })
  .strict();

export type MetricsConfig = z.infer<typeof metricsConfigSchema>;

export type ProviderErrorKind = 'stt' | 'tts' | 'bot' | 'carrier' | 'store';

/** Call end reasons that mean a provider failed (EndReason in src/call/session-types.ts). */
const END_REASON_ERROR_KIND: Partial<Record<string, Exclude<ProviderErrorKind, 'carrier'>>> = { 'stt-error': 'stt', 'tts-error': 'tts', 'bot-error': 'bot' };

/** One campaign's progress, as `CampaignRepository.progress()` reports it (the fields the gauge reads). */
export interface CampaignProgressSample {
  campaignId: string;
  name: string;
  status: string;
  contacts: { total: number; pending: number; inProgress: number; done: number; skipped: number };
}

/** `collectCampaigns` over the store: progress of running and paused campaigns. */
export function storeCampaignProgress(store: { db: Kysely<VoxgateDatabase> }): () => Promise<CampaignProgressSample[]> {
  const campaigns = new CampaignRepository(store.db);
  return async () => {
    const open = await campaigns.listByStatus(['running', 'paused']);
    const progress = await Promise.all(open.map((c) => campaigns.progress(c.id)));
    return progress.filter((p): p is NonNullable<typeof p> => p !== undefined);
  };
}

export interface VoxgateMetricsOptions {
  /** Read at scrape time: progress of the campaigns worth showing (e.g. running and paused ones). */
  collectCampaigns?: () => Promise<CampaignProgressSample[]>;
  /** Node process metrics (CPU, memory, handles, GC, event-loop lag). Default true. */
  processMetrics?: boolean;
  /** Event-loop delay sampling resolution, ms. Default 10. */
  eventLoopMonitoringPrecision?: number;
  /** `server.instanceId`: the `instance` label of every series. */
  instanceId?: string;
  logger?: Logger;
}

interface CallState {
  direction: string;
  carrier: string;
  bot: string;
  lastSttProvider?: string;
  lastTtsProvider?: string;
  /** Provider error kinds already counted from turns, so the call's end reason does not count them again. */
  countedErrors: Set<ProviderErrorKind>;
  /** Prompts cut before the end; confirmed as barge-ins once the call is seen going on. */
  cutPrompts: number[];
}

export class VoxgateMetrics {
  readonly registry = new Registry();
  readonly activeCalls: Gauge<'direction' | 'carrier'>;
  readonly calls: Counter<'direction' | 'carrier' | 'reason'>;
  readonly bargeIns: Counter<'bot'>;
  readonly providerErrors: Counter<'kind' | 'provider'>;
  readonly outboundCalls: Counter<'carrier' | 'status' | 'reason'>;
  readonly turns: Counter<'bot' | 'outcome'>;
  readonly turnLatency: Histogram<'stage' | 'bot'>;
  readonly campaignContacts: Gauge<'campaign' | 'name' | 'state'>;

  private readonly live = new Map<string, CallState>();
  private readonly logger: Logger;

  constructor(opts: VoxgateMetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.instanceId !== undefined) this.registry.setDefaultLabels({ instance: opts.instanceId });
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'metrics' });
    this.activeCalls = new Gauge({ name: 'voxgate_active_calls', help: 'Calls in progress', labelNames: ['direction', 'carrier'], registers });
    this.calls = new Counter({ name: 'voxgate_calls_total', help: 'Calls ended, by direction, carrier and end reason (caller-hangup, bot-error, no-answer...)', labelNames: ['direction', 'carrier', 'reason'], registers });
    this.bargeIns = new Counter({ name: 'voxgate_barge_ins_total', help: 'Prompts the caller cut off while the call went on', labelNames: ['bot'], registers });
    this.providerErrors = new Counter({ name: 'voxgate_provider_errors_total', help: 'Failures of speech, bot and carrier providers', labelNames: ['kind', 'provider'], registers });
    this.outboundCalls = new Counter({ name: 'voxgate_outbound_calls_total', help: 'Outbound call status changes, by carrier, status and reason code', labelNames: ['carrier', 'status', 'reason'], registers });
    this.turns = new Counter({ name: 'voxgate_turns_total', help: 'Conversational turns, by bot and outcome', labelNames: ['bot', 'outcome'], registers });
    this.turnLatency = new Histogram({
      name: 'voxgate_turn_latency_seconds',
      help: 'Turn latency by stage: stt (speech end to final transcript), bot (request to answer), tts (answer to first audio), e2e (speech end to first audio)',
      labelNames: ['stage', 'bot'],
      buckets: [...TURN_LATENCY_BUCKETS],
      registers,
    });
    const collectCampaigns = opts.collectCampaigns;
    const logger = this.logger;
    this.campaignContacts = new Gauge({
      name: 'voxgate_campaign_contacts',
      help: 'Campaign contacts by state (total, pending, in_progress, done, skipped)',
      labelNames: ['campaign', 'name', 'state'],
      registers,
      async collect() {
        if (!collectCampaigns) return;
        this.reset();
        try {
          for (const c of await collectCampaigns()) {
            const labels = { campaign: c.campaignId, name: c.name };
            const { total, pending, inProgress, done, skipped } = c.contacts;
            for (const [state, value] of [['total', total], ['pending', pending], ['in_progress', inProgress], ['done', done], ['skipped', skipped]] as const) {
              this.set({ ...labels, state }, value);
            }
          }
        } catch (err) {
          // A scrape still answers with everything else; the gauge is just empty this time.
          logger.warn({ err }, 'campaign progress not read for /metrics');
        }
      },
    });
    if (opts.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'voxgate_', eventLoopMonitoringPrecision: opts.eventLoopMonitoringPrecision ?? 10 });
    }
  }

  /** Subscribes to the bus; returns the unsubscribe function. */
  attach(bus: EventBus): () => void {
    const offs = [
      bus.subscribe('call.started', (e) => this.guard('call.started', () => this.callStarted(e.callId, e.direction, e.carrier, e.bot))),
      bus.subscribe('call.ended', (e) => this.guard('call.ended', () => this.callEnded(e.callId, e.reason, e.at))),
      bus.subscribe('prompt.played', (e) => this.guard('prompt.played', () => this.promptPlayed(e.callId, e.heardInFull, e.endedAt))),
      bus.subscribe('turn', (e) => this.guard('turn', () => this.turn(e))),
      bus.subscribe('transcript', (e) => this.guard('transcript', () => e.who === 'caller' && this.callWentOn(e.callId))),
      bus.subscribe('dtmf', (e) => this.guard('dtmf', () => this.callWentOn(e.callId))),
      bus.subscribe('outbound.status', (e) => this.guard('outbound.status', () => this.outboundStatus(e.status, e.reasonCode, e.carrier))),
      // A failure a fallback covered, or one of the record store, shows in no turn or call outcome: it counts from its provider.error.
      bus.subscribe('provider.error', (e) => this.guard('provider.error', () => (e.fallback !== undefined || e.kind === 'store') && this.providerError(e.kind, e.provider))),
    ];
    return () => offs.forEach((off) => off());
  }

  /** The text exposition, as a scrape gets it. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Counts a provider failure that does not show on the bus (e.g. from a future `provider.error` event). */
  providerError(kind: ProviderErrorKind, provider: string | undefined): void {
    this.providerErrors.inc({ kind, provider: provider || 'unknown' });
  }

  private callStarted(callId: string, direction: string, carrier: string, bot: string): void {
    if (this.live.has(callId)) return;
    this.live.set(callId, { direction, carrier, bot, countedErrors: new Set(), cutPrompts: [] });
    this.activeCalls.inc({ direction, carrier });
  }

  private callEnded(callId: string, reason: string, at: number): void {
    const call = this.live.get(callId);
    const direction = call?.direction ?? 'unknown';
    const carrier = call?.carrier ?? 'unknown';
    this.calls.inc({ direction, carrier, reason });
    if (!call) return;
    this.live.delete(callId);
    this.activeCalls.dec({ direction, carrier });
    for (const cutAt of call.cutPrompts) if (at - cutAt > HANGUP_CUT_TOLERANCE_MS) this.bargeIns.inc({ bot: call.bot });
    const kind = END_REASON_ERROR_KIND[reason];
    if (kind && !call.countedErrors.has(kind)) {
      const provider = kind === 'stt' ? call.lastSttProvider : kind === 'tts' ? call.lastTtsProvider : call.bot;
      this.providerError(kind, provider);
    }
  }

  private promptPlayed(callId: string, heardInFull: boolean, endedAt: number): void {
    this.callWentOn(callId);
    const call = this.live.get(callId);
    if (call && !heardInFull) call.cutPrompts.push(endedAt);
  }

  /** Something happened after a cut prompt: the caller, not a hangup, cut it. */
  private callWentOn(callId: string): void {
    const call = this.live.get(callId);
    if (!call || call.cutPrompts.length === 0) return;
    this.bargeIns.inc({ bot: call.bot }, call.cutPrompts.length);
    call.cutPrompts = [];
  }

  private turn(t: TurnEvent): void {
    this.callWentOn(t.callId);
    const call = this.live.get(t.callId);
    if (call) {
      if (t.sttProvider) call.lastSttProvider = t.sttProvider;
      if (t.ttsProvider) call.lastTtsProvider = t.ttsProvider;
    }
    this.turns.inc({ bot: t.bot, outcome: t.outcome });
    for (const [stage, ms] of [['stt', t.sttMs], ['bot', t.botMs], ['tts', t.ttsMs], ['e2e', t.e2eMs]] as const) {
      if (ms !== null && Number.isFinite(ms) && ms >= 0) this.turnLatency.observe({ stage, bot: t.bot }, ms / 1000);
    }
    const kind = t.outcome === 'bot-error' ? 'bot' : t.outcome === 'tts-error' ? 'tts' : undefined;
    if (kind) {
      this.providerError(kind, kind === 'bot' ? t.bot : (t.ttsProvider ?? undefined));
      call?.countedErrors.add(kind);
    }
  }

  private outboundStatus(status: string, reasonCode: string | undefined, carrier: string | undefined): void {
    this.outboundCalls.inc({ carrier: carrier ?? 'unknown', status, reason: reasonCode ?? '' });
    // The carrier refused or could not place the call (API error, unreachable network).
    if (status === 'failed' && reasonCode === 'error') this.providerError('carrier', carrier);
  }

  private guard(event: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, event }, 'metrics update failed');
    }
  }
}

export interface MetricsRoutesOptions {
  metrics: VoxgateMetrics;
  /** When set, scrapes must send `Authorization: Bearer <token>`; unset, /metrics is open. */
  bearerToken?: string;
  /** Default '/metrics'. */
  path?: string;
  /** The API's brute-force limits: a source locked out there is locked out here, and wrong tokens here count there. */
  throttle?: StaticBearerThrottle;
}

/** `GET /metrics` in the Prometheus text format. */
export async function metricsRoutes(app: FastifyInstance, opts: MetricsRoutesOptions): Promise<void> {
  const expected = opts.bearerToken ? Buffer.from(opts.bearerToken) : undefined;
  app.get(opts.path ?? '/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected) {
      const outcome = await checkStaticBearer(request, expected, opts.throttle, 'metrics');
      if (!outcome.ok) return refuseStaticBearer(reply, outcome, 'metrics', 'metrics');
    }
    const { contentType, body } = await opts.metrics.exposition();
    return reply.type(contentType).send(body);
  });
}
