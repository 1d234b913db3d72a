/** The composition root: wires configuration, store, speech, bots and carrier routes into one server. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../runtime/clock.js';
import { Carriers } from '../carriers/index.js';
import { CALL_INITIATION_PATH, type VoxgateConfig } from '../config/schema.js';
import { EventBus } from '../events/bus.js';
import { SpeechPromptAudio } from '../speech/speech-prompt-audio.js';
import { TtsCache } from '../speech/tts/cache.js';
import { EspeakTtsProvider } from '../speech/tts/espeak.js';
import type { SttProvider } from '../speech/stt/provider.js';
import { resolveSecret } from '../runtime/secrets.js';
import type { TtsProvider } from '../speech/tts/provider.js';
import { openDatabase, type Store } from '../store/database.js';
import { attachRecordWriter, type RecordWriter } from '../store/record-writer.js';
import { ranByInstance, reconcileInterruptedCalls } from '../store/interrupted-calls.js';
import { InstanceLeases } from '../store/instance-leases.js';
import { BotDirectory, type BotConnectorFactory } from './bot-directory.js';
import { WebhookReplyRouter, webhookResponseRoutes } from '../bots/webhook/index.js';
import { LiveCalls } from './live-calls.js';
import { RuntimeConfig } from '../config/runtime-config.js';
import { createApiAuth } from '../api/auth/api-auth.js';
import { oauthTokenRoutes } from '../api/auth/token-endpoint.js';
import { scopeEnforcement } from '../api/auth/scope-enforcement.js';
import { clientsRoutes } from '../api/clients-routes.js';
import { AuthFailureAlarm } from '../alarms/auth-failure-alarm.js';
import { callsRoutes } from '../api/calls-routes.js';
import { configRoutes } from '../api/config-routes.js';
import { ttsCacheRoutes } from '../api/tts-cache-routes.js';
import { alarmRoutes } from '../api/alarm-routes.js';
import { healthRoutes } from '../api/health-routes.js';
import { metricsRoutes, storeCampaignProgress, VoxgateMetrics } from '../api/metrics.js';
import { registerOpenApi } from '../api/openapi.js';
import { consoleRoutes } from '../api/console-routes.js';
import { registerSecurityHeaders } from '../api/security-headers.js';
import { ConnectionLimiter, serverTimeoutOptions } from './connection-limits.js';
import { liveStreamRoutes } from '../api/live-stream-routes.js';
import { createAlarms } from '../alarms/alarms-config.js';
import type { AlarmManager } from '../alarms/alarm-manager.js';
import { CallRetention } from '../store/retention.js';
import { ConfigRepository } from '../store/config-repository.js';
import { ConfigCipher, keyFromFile, parseSecretsKey } from '../store/config-cipher.js';
import { OutboundDialer } from '../dialer/outbound-dialer.js';
import { OutboundNotifications } from '../dialer/outbound-notifications.js';
import { createStatusNotifier, type StatusNotifier } from '../dialer/status-notifier.js';
import { DialPlanBot } from '../bots/dial-plan/index.js';
import { outboundRoutes } from '../api/outbound-routes.js';
import { campaignRoutes } from '../api/campaign-routes.js';
import { createCampaignRunner, type CampaignRunner } from '../dialer/campaign-runner.js';
import { randomBytes } from 'node:crypto';
import { sttFromConfig, ttsFromConfig } from './speech-from-config.js';
import { LocalCallDirectory, type CallDirectory } from '../cluster/call-directory.js';
import { RedisCallDirectory } from '../cluster/redis-call-directory.js';
import { LostInstances } from '../cluster/lost-instances.js';
import { GatewayDrain, type DrainOutcome } from '../cluster/drain.js';
import { startClusterConfigSync } from '../cluster/config-sync.js';
import { SharedCallPacing } from '../cluster/shared-rate-limiter.js';
import { RedisTtsCacheLevel } from '../speech/tts/redis-cache-level.js';
import { openServiceEvents } from '../cluster/service-events.js';
import { ClusterRouting } from '../cluster/forwarding.js';
import { withRoutingToken } from '../cluster/routing-token.js';
import { WebCallers } from './web-callers.js';
import { WidgetAccess } from './widget-access.js';
import { widgetCallLimitsFor } from './widget-call-limits.js';
import { WidgetKeyRepository } from '../store/widget-key-repository.js';
import { widgetKeysRoutes } from '../api/widget-keys-routes.js';
import { BusCallEventFeed } from './call-event-feed.js';

export interface GatewayOptions {
  logger: Logger;
  clock?: Clock;
  /** Replaces the configured TTS provider (tests, benchmarks). */
  tts?: TtsProvider;
  stt?: SttProvider;
  /** Replaces the configured bots' connectors (tests, benchmarks, embedding apps); settings and routes still come from the config. */
  createBotConnector?: BotConnectorFactory;
}

export interface Gateway {
  readonly app: FastifyInstance;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly publicUrl: string;
  readonly store: Store;
  readonly bus: EventBus;
  /** What views and alarms of the whole service listen to: `bus`, and with `cluster.enabled` every other instance's events too. */
  readonly serviceBus: EventBus;
  readonly calls: LiveCalls;
  /** The configured carriers (their webhooks and media sockets are mounted under /<name>). */
  readonly carriers: Carriers;
  readonly ttsCache: TtsCache | undefined;
  readonly records: RecordWriter;
  /** Places outbound calls (dialout API, conversation API, campaigns). */
  readonly dialer: OutboundDialer;
  /** Delivers status callbacks (signed, retried, at least once). */
  readonly notifier: StatusNotifier;
  /** Outbound campaigns: contact lists called with retries, escalation, pacing and windows. */
  readonly campaigns: CampaignRunner;
  readonly metrics: VoxgateMetrics;
  readonly alarms: AlarmManager;
  /** Bots, routes and providers as edited through the API, over the file. */
  readonly runtimeConfig: RuntimeConfig;
  /** `server.instanceId`: this process's name among the instances of one service. */
  readonly instanceId: string;
  /** Which instance owns which live call (Redis with `cluster.enabled`; this process alone otherwise). */
  readonly directory: CallDirectory;
  /** Draining: readiness is 503 and new calls belong elsewhere (SIGTERM). */
  readonly draining: boolean;
  /** Readiness 503 at once, live calls finish up to server.drainTimeoutMs, the rest are hung up, then the gateway closes. */
  drain(): Promise<DrainOutcome>;
  close(): Promise<void>;
}

/** Seals configuration stored through the API (it can hold vendor keys) with a key kept outside the database. */
function configCipher(config: VoxgateConfig, logger: Logger): ConfigCipher {
  const configured = resolveSecret(config.secretsKey, 'secretsKey', process.env);
  if (configured) return new ConfigCipher(parseSecretsKey(configured, 'secretsKey'));
  const path = join(config.dataDir, 'secrets.key');
  if (config.databaseUrl) logger.warn({ path }, 'no secretsKey (VOXGATE_SECRETS_KEY): API-stored configuration is sealed with a key file only this host has; give every process sharing the database the same secretsKey');
  return new ConfigCipher(keyFromFile(path));
}

/** Carriers send at most ~64 KiB per media stream message; anything bigger is refused. */
const MAX_WS_MESSAGE_BYTES = 64 * 1024;

export async function startGateway(config: VoxgateConfig, opts: GatewayOptions): Promise<Gateway> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const webhookReplies = new WebhookReplyRouter();
  let publicUrl = config.server.publicUrl ?? '';
  const store = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, logger });
  // Bots, routes and speech providers edited through the API apply to new calls at once.
  // Filled in below; a change can only come through the API, once both exist.
  const editable: { bots?: BotDirectory; calls?: LiveCalls } = {};
  const runtime = await RuntimeConfig.open({
    file: config,
    entries: new ConfigRepository(store.db, configCipher(config, logger)),
    logger,
    apply: async (edited) => {
      await editable.bots?.reload(edited);
      editable.calls?.useSpeech(speechFor(edited));
    },
  });
  const effective = runtime.current;
  const bots = (editable.bots = await BotDirectory.load(effective, opts.createBotConnector, process.env, webhookReplies, () => withRoutingToken(config.webhook.responseUrl ?? `${publicUrl}/webhook/response`, routing?.token)));
  const bus = new EventBus(logger);
  // Stable across restarts (a restart reconciles the calls its previous run left open) and distinct
  // between processes on one host (their ports differ).
  const instanceId = config.server.instanceId ?? (config.server.port ? `${hostname()}:${config.server.port}` : hostname());
  const records = attachRecordWriter(bus, store, logger, { clock, instanceId, ...config.store });
  const serviceEvents = await openServiceEvents(bus, { instanceId, cluster: config.cluster.enabled ? { redisUrl: config.redis.url!, keyPrefix: config.cluster.keyPrefix } : undefined, clock, logger });
  const cacheCfg = config.tts.cache;
  // A cluster shares synthesized prompts through Redis, behind each instance's memory and disk.
  const sharedTts = config.cluster.enabled && cacheCfg.enabled ? new RedisTtsCacheLevel({ url: config.redis.url!, keyPrefix: config.cluster.keyPrefix, maxBytes: cacheCfg.redisMaxMB * 1024 * 1024, clock, logger }) : undefined;
  const ttsCache = cacheCfg.enabled
    ? new TtsCache({ dir: cacheCfg.dir ?? join(config.dataDir, 'tts-cache'), ttlMs: cacheCfg.ttlHours * 3_600_000, maxMemoryBytes: cacheCfg.maxMemoryMB * 1024 * 1024, shared: sharedTts, logger })
    : undefined;
  const speechFor = (c: VoxgateConfig) => {
    const tts = opts.tts ?? ttsFromConfig(c, logger);
    const audio = new SpeechPromptAudio(tts, { cache: ttsCache, fallback: tts.name === 'espeak' ? undefined : new EspeakTtsProvider(), idleTimeoutMs: c.tts.idleTimeoutMs, clock, logger });
    return { audio, stt: opts.stt ?? sttFromConfig(c, logger), ttsProvider: tts.name };
  };
  const speech = speechFor(effective);
  // Expired TTS entries are never served; pruning only reclaims their memory and disk.
  const pruneTimer = ttsCache ? setInterval(() => void ttsCache.prune().catch((err: unknown) => logger.warn({ err }, 'TTS cache prune failed')), 3_600_000).unref() : undefined;
  // A cluster's URLs carry this instance's routing token; what reaches it about another instance's call goes there.
  const clusterSecret = config.cluster.enabled ? resolveSecret(config.cluster.secret, 'cluster.secret', process.env) : undefined;
  const routing = clusterSecret ? new ClusterRouting({ secret: clusterSecret, instanceId, logger, clock }) : undefined;
  const apiAuth = await createApiAuth(config.api, store.db, process.env, clock, { redisUrl: config.redis.url, logger });
  // Browser calls: the console's operator with calls:web, or a website's widget key; the page follows its call's events.
  const widgetKeys = new WidgetKeyRepository(store.db, clock);
  const widgetAccess = new WidgetAccess({ keys: widgetKeys, knowsBot: (name) => bots.has(name), limits: widgetCallLimitsFor({ redisUrl: config.redis.url, keyPrefix: config.cluster.keyPrefix, clock, logger }), throttle: apiAuth.throttle, clock, logger });
  const webCallers = new WebCallers({ auth: apiAuth, knowsBot: (name) => bots.has(name), consoleOrigins: () => [publicUrl, ...(config.server.publicUrls ?? [])], widgetAccess });
  const callEvents = new BusCallEventFeed(bus);
  const carriers = Carriers.create(config.carriers, { publicUrl: () => publicUrl, publicUrls: () => config.server.publicUrls, logger, clock, redisUrl: config.redis.url, cluster: routing, webCallers, callEvents, draining: () => drainer.draining });
  // A cluster's instances pace each carrier's call starts together (Redis); alone, this process does.
  const sharedPacing = config.cluster.enabled ? new SharedCallPacing({ url: config.redis.url!, keyPrefix: config.cluster.keyPrefix, clock, logger }) : undefined;
  const dialer = new OutboundDialer({
    carriers,
    carrierOfNumber: (number) => bots.carrierOfNumber(number),
    knowsBot: (name) => bots.has(name),
    dialPlanConnector: (request) => new DialPlanBot(request.dialPlan!, { variables: request.variables, logger, clock }),
    callsPerSecond: config.dialer.callsPerSecond,
    carrierCallsPerSecond: config.dialer.carrierCallsPerSecond,
    pacer: sharedPacing && ((carrier, callsPerSecond) => sharedPacing.pacer(carrier, callsPerSecond)),
    ringTimeoutSec: config.dialer.ringTimeoutSec,
    bus,
    clock,
    logger,
    records: store.outboundCalls,
  });
  const apiToken = resolveSecret(config.api.token, 'api.token', process.env);
  const callbackSecret = resolveSecret(config.callbacks.secret, 'callbacks.secret', process.env) ?? apiToken;
  if (!callbackSecret) logger.warn('no callbacks.secret (or api.token): status callbacks are signed with a random key receivers cannot check');
  const notifier = createStatusNotifier(store, { secret: callbackSecret ?? randomBytes(32).toString('hex'), clock, logger });
  const notifications = new OutboundNotifications(bus, notifier);
  // With Redis, campaign calls go through BullMQ queues whose rate limit holds across processes.
  const campaigns = createCampaignRunner(store, {
    placer: dialer,
    subscribe: (listener) => bus.subscribe('outbound.status', listener),
    notifier,
    clock,
    logger,
    ...(config.redis.url ? { queue: { connection: config.redis.url } } : {}),
  });
  const recordingsDir = join(config.dataDir, 'recordings');
  // Calls a crashed process left open are ended before this one takes any (it is not listening yet).
  await reconcileInterruptedCalls(store, { startedBefore: clock.now(), recordingsDir, restrictTo: ranByInstance(instanceId), logger }).catch((err: unknown) => logger.error({ err }, 'reconciling calls interrupted by a restart failed; they stay without an end'));
  // Siblings sharing the store: a dead one's open calls are ended here, and this one's heartbeat keeps its own.
  const leases = new InstanceLeases(store, instanceId, clock, logger, config.server.instanceLeases);
  await leases.start().catch((err: unknown) => logger.error({ err, instanceId }, 'instance lease not written; siblings may take this instance for dead'));
  const calls = (editable.calls = new LiveCalls({ bots, ...speech, bus, clock, logger, recordingsDir, outbound: dialer, carriers, reaping: config.liveCalls }));
  // The directory exists once the server listens; the drain and the live list reach it through here.
  const cluster: { directory?: CallDirectory } = {};
  const drainer = new GatewayDrain({ calls, directory: () => cluster.directory, timeoutMs: config.server.drainTimeoutMs, clock, logger });
  const retention = new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir, isLive: (id) => calls.get(id) !== undefined, logger });
  // With metrics off nothing listens for them: no bus subscribers, no process collectors.
  const metrics = new VoxgateMetrics({ logger, instanceId, collectCampaigns: storeCampaignProgress(store), processMetrics: config.metrics.enabled && config.metrics.processMetrics });
  const detachMetrics = config.metrics.enabled ? metrics.attach(bus) : () => undefined;
  const alarmCluster = serviceEvents.fanout && { fanout: serviceEvents.fanout, instanceId, heartbeatMs: config.cluster.heartbeatMs, leaseMs: config.cluster.leaseMs };
  const alarms = createAlarms(config.alarms, { store, bus: serviceEvents.bus, cluster: alarmCluster, notifier, records, clock, logger });
  const authAlarm = config.alarms.enabled ? new AuthFailureAlarm({ alarms: alarms.manager, ...config.api.authLimits.alarm, instanceId: alarmCluster?.instanceId, clock, logger }) : undefined;
  const offAuthFailures = apiAuth.throttle.onFailure((failure) => authAlarm?.record(failure));

  // A missed rejection is a bug, but it must not take every other call down with it.
  const onUnhandled = (err: unknown) => logger.error({ err }, 'unhandled promise rejection; the gateway keeps running');
  process.on('unhandledRejection', onUnhandled);

  // Shutdown ends long-lived requests too (alarm event streams, a console left open): calls are already ended by then.
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    trustProxy: config.server.trustProxy,
    ...serverTimeoutOptions(config.server.connections),
  });
  await registerSecurityHeaders(app);
  await app.register(websocket, { options: { maxPayload: MAX_WS_MESSAGE_BYTES } });
  const trustedProxies = Array.isArray(config.server.trustProxy) ? config.server.trustProxy : [];
  new ConnectionLimiter({ limits: config.server.connections, alsoExempt: trustedProxies, logger, clock }).attach(app);
  // Stays 200 while record writes fail (a liveness probe restarting the process would lose the queued writes); /readyz goes red.
  app.get('/health', async () => {
    const writes = records.health();
    return { status: writes.failing ? 'degraded' : 'ok', liveCalls: calls.size, store: store.dialect, ...(writes.failing ? { recordWrites: { failing: true, waiting: writes.waiting, since: writes.failingSince, error: writes.lastError } } : {}) };
  });
  await app.register(healthRoutes, { db: store.db, recordWrites: records, extraChecks: [() => drainer.readinessProblem()], logger });
  if (config.metrics.enabled) await app.register(metricsRoutes, { metrics, path: config.metrics.path, bearerToken: resolveSecret(config.metrics.token, 'metrics.token', process.env), throttle: apiAuth.throttle });
  await registerOpenApi(app, { publicUrl: config.server.publicUrl });
  // The console's files are public; everything it shows comes from the scoped API.
  await app.register(consoleRoutes, { logger });
  await app.register(liveStreamRoutes, { auth: apiAuth, bus: serviceEvents.bus, live: calls, serviceCalls: () => directory.calls(), instanceId, store, logger });
  await app.register(oauthTokenRoutes, { auth: apiAuth, logger });
  // Every route in here declares the scope it needs; the enforcement refuses to start with one that does not.
  await app.register(async (api) => {
    await api.register(scopeEnforcement, { auth: apiAuth, logger });
    await api.register(outboundRoutes, { prefix: '/api/v1', placer: dialer, notifications, logger });
    await api.register(campaignRoutes, { prefix: '/api/v1/campaigns', campaigns, logger });
    await api.register(clientsRoutes, { prefix: '/api/v1/clients', auth: apiAuth, logger });
    await api.register(widgetKeysRoutes, { prefix: '/api/v1/widget-keys', keys: widgetKeys, knowsBot: (name) => bots.has(name), logger });
    await api.register(callsRoutes, { prefix: '/api/v1', store, live: calls, directory: () => cluster.directory, instanceId, retention, recordingsDir, recordingFromInstance: routing ? (holder, request, reply) => routing.fetchFrom(holder, request, reply, 'recording') : undefined, logger });
    await api.register(configRoutes, { prefix: '/api/v1', config: runtime, logger });
    await api.register(ttsCacheRoutes, { prefix: '/api/v1', cache: ttsCache, logger });
    await api.register(alarmRoutes, { prefix: '/api/v1', alarms: alarms.manager, changes: alarms.changes, logger });
  });
  await app.register(webhookResponseRoutes, { prefix: '/webhook', router: webhookReplies, token: resolveSecret(config.webhook.responseToken, 'webhook.responseToken', process.env), throttle: apiAuth.throttle, logger, cluster: routing });

  // Each carrier mounts its webhooks and media socket under its prefix; all of them hand calls to the one registry.
  for (const carrier of carriers.list()) await carrier.registerRoutes(app, calls);
  // Listen first so the public URL can default to the real port (port 0 in tests).
  let address: string;
  try {
    address = await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    // Close what already listens (a carrier's SIP sockets, timers) so a failed start exits instead of hanging.
    await app.close().catch(() => undefined);
    await leases.stop();
    await Promise.all([alarms.stop(), serviceEvents.close()]).catch(() => undefined);
    throw err;
  }
  const port = Number(new URL(address).port);
  const url = `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${port}`;
  publicUrl ||= url;
  // Siblings reach this instance here, past the load balancer; a wildcard listener is named by its host.
  const internalUrl = config.cluster.internalUrl ?? `http://${config.server.host === '0.0.0.0' || config.server.host === '::' ? hostname() : config.server.host}:${port}`;
  const directory: CallDirectory = config.cluster.enabled
    ? new RedisCallDirectory({ url: config.redis.url!, keyPrefix: config.cluster.keyPrefix, instanceId, internalUrl, heartbeatMs: config.cluster.heartbeatMs, leaseMs: config.cluster.leaseMs, clock, logger })
    : new LocalCallDirectory(instanceId, internalUrl, clock.now());
  try {
    await directory.start();
  } catch (err) {
    await app.close().catch(() => undefined);
    await leases.stop();
    await directory.stop().catch(() => undefined);
    await Promise.all([alarms.stop(), serviceEvents.close()]).catch(() => undefined);
    throw new Error(`cluster: could not announce instance ${instanceId} in Redis (${(err as Error).message})`, { cause: err });
  }
  cluster.directory = directory;
  calls.useDirectory(directory);
  // A sibling that died: one survivor ends its calls (cause instance-lost) and sends what it owed.
  const lostInstances = directory.shared ? new LostInstances({ directory, store, carriers, bus, notifier, campaigns, clock, logger, intervalMs: config.cluster.heartbeatMs }) : undefined;
  lostInstances?.start();
  routing?.attach(directory);
  // Edits, revocations and cache clears made through this instance's API reach the others at once, and theirs reach this one.
  const configSync = config.cluster.enabled
    ? await startClusterConfigSync({ url: config.redis.url!, keyPrefix: config.cluster.keyPrefix, instanceId, refreshMs: config.cluster.configRefreshMs, config: runtime, auth: apiAuth, ttsCache, widgetKeys: { onChange: (listener) => widgetKeys.onChange(listener), forget: (keyId) => widgetAccess.forget(keyId) }, clock, logger })
    : undefined;
  notifier.start();
  // Campaigns left running by a previous process go on (their interrupted attempts are never re-dialed).
  await campaigns.start();
  // The conversation service's DCS_URL (seed 000): where it initiates calls on Voxgate (docs/dcs.md).
  const callInitiationUrl = config.webhook.callInitiationUrl ?? `${publicUrl}${CALL_INITIATION_PATH}`;
  logger.info({ url, publicUrl, callInitiationUrl, store: store.location }, 'voxgate listening');
  let closing: Promise<void> | undefined;

  return {
    app,
    url,
    get publicUrl() {
      return publicUrl;
    },
    store,
    bus,
    serviceBus: serviceEvents.bus,
    calls,
    carriers,
    ttsCache,
    records,
    dialer,
    notifier,
    campaigns,
    metrics,
    alarms: alarms.manager,
    runtimeConfig: runtime,
    instanceId,
    directory,
    get draining() {
      return drainer.draining;
    },
    async drain() {
      const outcome = await drainer.drain();
      await (closing ??= closeGateway());
      return outcome;
    },
    close() {
      return (closing ??= closeGateway());
    },
  };
  async function closeGateway(): Promise<void> {
    await campaigns.stop();
    await alarms.stop();
    detachMetrics();
    dialer.close();
    await sharedPacing?.close();
    await configSync?.stop();
    notifications.close();
    clearInterval(pruneTimer);
    process.off('unhandledRejection', onUnhandled);
    calls.endAll();
    callEvents.close();
    await widgetAccess.close();
    await lostInstances?.stop();
    await app.close();
    offAuthFailures();
    authAlarm?.stop();
    await apiAuth.close();
    await records.flush();
    await leases.stop();
    await directory.stop();
    await serviceEvents.close();
    await notifier.close();
    records.detach();
    records.stop();
    await store.close();
    await sharedTts?.close();
  }
}
