/** Voxgate configuration: a YAML file plus environment variables, validated here. Every setting has a default. */
import { z } from 'zod';
import { callSettingsSchema } from '../call/settings.js';
import { secretSchema } from '../runtime/secrets.js';
import { googleCredentialsSchema } from '../auth/google-service-account.js';
import { dialogflowCxConfigSchema } from '../bots/dialogflow-cx/dialogflow-cx-config.js';
import { directLineConfigSchema } from '../bots/direct-line/direct-line-config.js';
import { rasaConfigSchema } from '../bots/rasa/rasa-config.js';
import { azureSttConfigSchema } from '../speech/stt/azure-stt.js';
import { googleSttConfigSchema } from '../speech/stt/google-stt.js';
import { openAiSttConfigSchema } from '../speech/stt/openai-transcription.js';
import { voskConfigSchema } from '../speech/stt/vosk.js';
import { azureTtsConfigSchema } from '../speech/tts/azure-tts.js';
import { elevenLabsTtsConfigSchema } from '../speech/tts/elevenlabs-tts.js';
import { googleTtsConfigSchema } from '../speech/tts/google-tts.js';
import { pollyTtsConfigSchema } from '../speech/tts/polly-tts.js';
import { metricsConfigSchema } from '../api/metrics.js';
import { alarmsConfigSchema } from '../alarms/alarms-config.js';
import { apiOAuthConfigSchema } from '../api/auth/api-auth.js';
import { authLimitsConfigSchema } from '../api/auth/auth-throttle.js';
import { carriersConfigSchema, configuredCarrierNames } from '../carriers/index.js';
import { addressOrRange, connectionLimitsSchema } from '../app/connection-limits.js';
import { liveCallsConfigSchema } from '../app/call-reaper.js';
export type { SecretRef } from '../runtime/secrets.js';

/** Where the conversation service initiates calls (seed 000's DCS_URL role): the dialout API. */
export const CALL_INITIATION_PATH = '/api/v1/actions/dialout';

const botApiSchema = z
  .object({
    /** The bot's base URL (AudioCodes-compatible Bot API). */
    url: z.string().url(),
    /** Static Bearer token. */
    token: secretSchema.optional(),
    /** OAuth 2.0 client credentials; the token is cached per bot and renewed before it expires. */
    oauth: z
      .object({ tokenUrl: z.string().url(), clientId: z.string().min(1), clientSecret: secretSchema, scope: z.string().optional(), credentialsIn: z.enum(['basic', 'body']).optional() })
      .strict()
      .optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
    retries: z.number().int().min(0).max(5).optional(),
  })
  .strict();

const llmToolSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64'),
    description: z.string().min(1),
    parameters: z.record(z.unknown()).default({ type: 'object', properties: {} }),
    url: z.string().url(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
    headers: z.record(z.string()).optional(),
  })
  .strict();

const llmSchema = z
  .object({
    /** OpenAI-compatible API root, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama). */
    baseUrl: z.string().url(),
    apiKey: secretSchema.optional(),
    /** Azure OpenAI sends the key as `api-key`. */
    apiKeyHeader: z.string().optional(),
    query: z.record(z.string()).optional(),
    model: z.string().min(1),
    systemPrompt: z.string().min(1),
    greeting: z.string().optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().optional(),
    tools: z.array(llmToolSchema).optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
    /** Once the answer streams, the longest gap between two stream events before it counts as stalled (bot failure policy). Default 10000. */
    idleTimeoutMs: z.number().int().positive().optional(),
    maxToolRounds: z.number().int().min(1).max(20).optional(),
  })
  .strict();

const webhookBotSchema = z
  .object({
    /** The conversation service ("brain") URL that receives the call's start, the caller's text and DTMF, and its end. */
    url: z.string().url(),
    /** Bearer token Voxgate sends to the brain. */
    token: secretSchema.optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export const botSchema = z
  .object({
    name: z.string().min(1),
    /** A template other bots extend; it answers no calls itself. */
    isBase: z.boolean().default(false),
    /** Inherit everything from this base bot except name and isBase; own values win, settings merge key by key. */
    extends: z.string().min(1).optional(),
    /** Required unless inherited from a base bot. */
    type: z.enum(['flow', 'bot-api', 'llm', 'webhook', 'rasa', 'direct-line', 'dialogflow-cx']).optional(),
    /** Path to a YAML/JSON flow file, or the flow inline. Omitted: the built-in demo flow. */
    flow: z.union([z.string().min(1), z.record(z.unknown())]).optional(),
    /** type bot-api: where the bot is and how to authenticate. */
    botApi: botApiSchema.optional(),
    /** type llm: the model server and the assistant. */
    llm: llmSchema.optional(),
    /** type webhook: a remote conversation service that answers on Voxgate's /webhook/response endpoint. */
    webhook: webhookBotSchema.optional(),
    /** type rasa: a Rasa server's REST channel. */
    rasa: rasaConfigSchema.optional(),
    /** type direct-line: a Microsoft Bot Framework bot through Direct Line 3.0. */
    directLine: directLineConfigSchema.optional(),
    /** type dialogflow-cx: a Dialogflow CX agent (detectIntent over REST, service-account auth). */
    dialogflowCx: dialogflowCxConfigSchema.optional(),
    /** Conversation settings for this bot (bot-api names: bargeIn, sendDTMF, userNoInputTimeoutMS...). */
    settings: callSettingsSchema.partial().strict().default({}),
  })
  .strict();

export const routeSchema = z
  .object({
    /** Called number, or "*" for any number. */
    number: z.string().min(1),
    bot: z.string().min(1),
    /** The carrier the number belongs to: inbound calls match only through it, and calls placed from this number go out through it. Omitted: any carrier. */
    carrier: z.string().min(1).optional(),
  })
  .strict();

/** Instance ids travel in routing tokens and load-balancer rules: letters, digits and . _ : - only. */
const INSTANCE_ID = /^[A-Za-z0-9._:-]+$/;

export const clusterConfigSchema = z
  .object({
    /** Join the other instances sharing redis.url and databaseUrl (env VOXGATE_CLUSTER=1). Needs both, and `secret`. */
    enabled: z.boolean().default(false),
    /**
     * Shared by every instance (env VOXGATE_CLUSTER_SECRET, at least 32 characters): signs the routing
     * tokens in the URLs given to carriers and authenticates requests one instance forwards to another.
     */
    secret: secretSchema.optional(),
    /**
     * Where the other instances reach this one directly (env VOXGATE_INTERNAL_URL), e.g.
     * http://10.0.0.5:8080; default http://<server.host, or the hostname when 0.0.0.0>:<port>.
     */
    internalUrl: z.string().url().optional(),
    /** Prefix of every Redis key and channel the cluster uses (several clusters may share one Redis). */
    keyPrefix: z.string().regex(/^[A-Za-z0-9._:-]+$/).default('voxgate'),
    /** How often this instance renews its lease in Redis. */
    heartbeatMs: z.number().int().min(100).default(2_500),
    /** An instance whose lease is this old is lost: a survivor ends its calls (cause `instance-lost`). */
    leaseMs: z.number().int().min(500).default(10_000),
    /** Safety net behind the pub/sub invalidation: configuration is re-read from the store this often. */
    configRefreshMs: z.number().int().min(1000).default(30_000),
  })
  .strict()
  .refine((c) => c.leaseMs > 2 * c.heartbeatMs, { message: 'leaseMs must exceed two heartbeats', path: ['leaseMs'] });

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        /**
         * This process's name among the instances sharing one store; calls it ran carry it, and a restart
         * ends only its own interrupted calls. Default <hostname>:<port>. Keep it stable across restarts.
         */
        instanceId: z.string().min(1).max(200).regex(INSTANCE_ID, 'letters, digits and . _ : - only').optional(),
        /** Heartbeats in the store: a sibling silent for deadAfterMs is dead, and a live instance ends the calls it left open. */
        instanceLeases: z
          .object({ heartbeatMs: z.number().int().min(100).default(10_000), deadAfterMs: z.number().int().min(1000).default(60_000) })
          .strict()
          .refine((l) => l.deadAfterMs > 2 * l.heartbeatMs, { message: 'deadAfterMs must exceed two heartbeats' })
          .default({}),
        /** The URL carriers use to reach this server; defaults to http://127.0.0.1:<port>. */
        publicUrl: z.string().url().optional(),
        /**
         * Other public base URLs carriers may use for this service (a shared load-balancer name beside
         * each instance's own): signatures are checked against whichever of publicUrl and these the
         * request came in on (its Host, or X-Forwarded-Host/-Proto from a trusted proxy).
         */
        publicUrls: z.array(z.string().url()).default([]),
        /** On SIGTERM: readiness goes 503 at once, new calls go to other instances, live calls get this long to finish. */
        drainTimeoutMs: z.number().int().min(0).default(30_000),
        /** Reverse proxies whose X-Forwarded-For/-Proto count (addresses or CIDR ranges; true: any). Off: the socket's own. */
        trustProxy: z.union([z.boolean(), z.array(addressOrRange)]).default(false),
        /** Per-source connection caps and request timeouts (src/app/connection-limits.ts). */
        connections: connectionLimitsSchema,
      })
      .strict()
      .default({}),
    dataDir: z.string().default('./data'),
    /** PostgreSQL URL; SQLite under dataDir when absent. */
    databaseUrl: z.string().url().optional(),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).strict().default({}),
    /** The carriers calls come through (src/carriers/index.ts); left out, the embedded default. */
    carriers: carriersConfigSchema,
    tts: z
      .object({
        /** espeak: local, offline. http: a generic text-in, audio-out service (AI_TTS_URL). openai: OpenAI-compatible /audio/speech. */
        provider: z.enum(['espeak', 'http', 'openai', 'elevenlabs', 'azure', 'google', 'polly']).default('espeak'),
        /** Once a prompt's audio started, the longest gap between two chunks before the stream counts as stalled (the fallback voice takes over); 0 = no deadline. */
        idleTimeoutMs: z.number().int().min(0).max(120_000).default(5000),
        http: z.object({ url: z.string().url(), token: secretSchema.optional(), requestTimeoutMs: z.number().int().positive().optional() }).strict().optional(),
        openai: z
          .object({
            baseUrl: z.string().url(),
            apiKey: secretSchema.optional(),
            model: z.string().min(1),
            voice: z.string().optional(),
            speed: z.number().min(0.25).max(4).optional(),
          })
          .strict()
          .optional(),
        elevenlabs: elevenLabsTtsConfigSchema.optional(),
        azure: azureTtsConfigSchema.optional(),
        google: googleTtsConfigSchema.optional(),
        polly: pollyTtsConfigSchema.optional(),
        cache: z
          .object({
            enabled: z.boolean().default(true),
            ttlHours: z.number().positive().default(24),
            maxMemoryMB: z.number().positive().default(64),
            /** With cluster.enabled: cap of the TTS cache level in Redis shared by every instance (oldest entries evicted). */
            redisMaxMB: z.number().positive().default(256),
            /** Defaults to <dataDir>/tts-cache. */
            dir: z.string().optional(),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({})
      .superRefine((tts, ctx) => {
        if (tts.provider === 'http' && !tts.http) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['http'], message: 'provider http needs an http section (url), or set AI_TTS_URL' });
        if (tts.provider === 'openai' && !tts.openai) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['openai'], message: 'provider openai needs an openai section (baseUrl, model)' });
        for (const [name, needs] of [['elevenlabs', 'apiKey, voiceId'], ['azure', 'key, region'], ['google', 'apiKey, or google.credentials at the top level'], ['polly', 'region, accessKeyId, secretAccessKey']] as const) {
          if (tts.provider === name && !tts[name]) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: `provider ${name} needs a ${name} section (${needs})` });
        }
      }),
    /** Voxgate's endpoint for webhook bots' replies (the DCS_RESPONSE_URL role): POST <publicUrl>/webhook/response. */
    webhook: z
      .object({
        /** Bearer token the brain must send on /webhook/response (env DCS_RESPONSE_TOKEN). */
        responseToken: secretSchema.optional(),
        /** The reply URL the brain is told (env DCS_RESPONSE_URL); defaults to <publicUrl>/webhook/response. */
        responseUrl: z.string().url().optional(),
        /**
         * Voxgate's call-initiation endpoint as the conversation service reaches it (env DCS_URL, seed 000's
         * name): the dialout API; defaults to <publicUrl>/api/v1/actions/dialout. Logged at startup.
         */
        callInitiationUrl: z
          .string()
          .url()
          .refine((url) => new URL(url).pathname.replace(/\/+$/, '').endsWith(CALL_INITIATION_PATH), `must be Voxgate's dialout endpoint, <publicUrl>/api/v1/actions/dialout`)
          .optional(),
      })
      .strict()
      .default({}),
    /** Speech-to-text for caller speech; without it callers are heard only by the VAD (barge-in, no-input). */
    stt: z
      .object({
        provider: z.enum(['none', 'deepgram', 'openai', 'vosk', 'google', 'azure']).default('none'),
        deepgram: z
          .object({ apiKey: secretSchema, baseUrl: z.string().url().optional(), model: z.string().optional(), endpointingMs: z.number().int().positive().optional(), idleTimeoutMs: z.number().int().min(0).max(120_000).optional() })
          .strict()
          .optional(),
        openai: openAiSttConfigSchema.optional(),
        vosk: voskConfigSchema.optional(),
        google: googleSttConfigSchema.optional(),
        azure: azureSttConfigSchema.optional(),
      })
      .strict()
      .default({})
      .superRefine((stt, ctx) => {
        for (const [name, needs] of [['deepgram', 'apiKey'], ['openai', 'baseUrl, model'], ['vosk', 'url'], ['google', 'apiKey, or google.credentials at the top level'], ['azure', 'key, region']] as const) {
          if (stt.provider === name && !stt[name]) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: `provider ${name} needs a ${name} section (${needs})` });
        }
      }),
    /** A Google service account for Google STT/TTS when their section has no apiKey. */
    google: z.object({ credentials: googleCredentialsSchema }).strict().optional(),
    /** The HTTP APIs (outbound calls; management later): the token callers must present. */
    api: z
      .object({
        /** A static admin credential (bootstrap, scripts): Bearer token with every scope. */
        token: secretSchema.optional(),
        /** OAuth 2.0 client-credentials tokens for API clients (`voxgate clients add`). */
        oauth: apiOAuthConfigSchema.default({}),
        /** Brute-force limits on failed authentications (token endpoint, bearer tokens), hash-check bounds, the auth-failure alarm. */
        authLimits: authLimitsConfigSchema.default({}),
      })
      .strict()
      .default({}),
    /** Key (32 bytes, hex or base64; env VOXGATE_SECRETS_KEY) sealing configuration stored through the API; default a key file in dataDir. */
    secretsKey: secretSchema.optional(),
    /** Redis (env REDIS_URL): campaign queues and their rate limit move to BullMQ, shared by every Voxgate process. */
    redis: z.object({ url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional() }).strict().default({}),
    /**
     * Several Voxgate processes as one service (README "Running several instances"): a call registry
     * and event fan-out in Redis, records and configuration in PostgreSQL, a load balancer in front.
     * Off by default: one process works alone exactly as without it.
     */
    cluster: clusterConfigSchema.default({}),
    /** Status callbacks (dialout notifyUrl, conversation-API callbacks, campaigns): the HMAC-SHA256 signing key; defaults to api.token. */
    callbacks: z.object({ secret: secretSchema.optional() }).strict().default({}),
    /** Outbound calls: how fast they may start, and how long a callee's phone may ring. */
    dialer: z
      .object({
        /** Carriers queue calls above the account's rate (often 1-2/s by default); Voxgate paces itself to it. */
        callsPerSecond: z.number().positive().max(1000).default(2),
        /** A carrier's own rate where its account limit differs, e.g. { twilio: 1 }; the others use callsPerSecond. */
        carrierCallsPerSecond: z.record(z.string(), z.number().positive().max(1000)).default({}),
        ringTimeoutSec: z.number().int().min(1).max(300).default(45),
      })
      .strict()
      .default({}),
    /** Calls the carrier went quiet on (no stream, no media, no hangup callback) are ended after these bounds. */
    liveCalls: liveCallsConfigSchema.default({}),
    /** Prometheus /metrics (open unless a token is set). */
    metrics: metricsConfigSchema.default({}),
    /** Alarms on bot, speech and carrier failures and error rates. */
    alarms: alarmsConfigSchema.default({}),
    /** Call record writes while the store cannot take them (disk full, database down): kept in memory in order and retried. */
    store: z
      .object({
        /** Writes held at most; beyond it new writes are refused and logged with their call ids. */
        maxQueuedWrites: z.number().int().positive().default(100_000),
        /** How long shutdown waits for queued writes before logging what is left unwritten. */
        flushTimeoutMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({}),
    /** Settings every bot starts from. */
    defaults: callSettingsSchema.partial().strict().default({}),
    bots: z.array(botSchema).default([{ name: 'demo', type: 'flow', settings: {} }]),
    routes: z.array(routeSchema).default([{ number: '*', bot: 'demo' }]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const byName = new Map<string, (typeof cfg.bots)[number]>();
    cfg.bots.forEach((b, i) => {
      if (byName.has(b.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'name'], message: `duplicate bot name "${b.name}"` });
      byName.set(b.name, b);
    });
    cfg.bots.forEach((b, i) => {
      const problem = inheritanceProblem(b.name, byName);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'extends'], message: problem });
      else if (!b.isBase) {
        const resolved = resolveBot(b.name, byName);
        if (!resolved.type) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'type'], message: `bot "${b.name}" has no type and inherits none` });
        else if (resolved.type === 'bot-api' && !resolved.botApi) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'botApi'], message: `bot "${b.name}" is of type bot-api but has no botApi section (url, token or oauth)` });
        else if (resolved.type === 'webhook' && !resolved.webhook) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'webhook'], message: `bot "${b.name}" is of type webhook but has no webhook section (url)` });
        else if (resolved.type === 'llm' && !resolved.llm) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'llm'], message: `bot "${b.name}" is of type llm but has no llm section (baseUrl, model, systemPrompt)` });
        else if (resolved.type === 'rasa' && !resolved.rasa) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'rasa'], message: `bot "${b.name}" is of type rasa but has no rasa section (url)` });
        else if (resolved.type === 'direct-line' && !resolved.directLine) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'directLine'], message: `bot "${b.name}" is of type direct-line but has no directLine section (secret)` });
        else if (resolved.type === 'dialogflow-cx' && !resolved.dialogflowCx) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'dialogflowCx'], message: `bot "${b.name}" is of type dialogflow-cx but has no dialogflowCx section (project, location, agent, credentials)` });
      }
    });
    if (cfg.cluster.enabled) {
      if (!cfg.redis.url) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['cluster', 'enabled'], message: 'a cluster needs redis.url (REDIS_URL): the call registry and event fan-out live there' });
      if (!cfg.databaseUrl) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['cluster', 'enabled'], message: 'a cluster needs databaseUrl (DATABASE_URL, PostgreSQL): every instance must share records and configuration' });
      if (!cfg.secretsKey) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['secretsKey'], message: 'a cluster needs secretsKey (VOXGATE_SECRETS_KEY, the same on every instance): configuration stored through the API is sealed with it, and every instance must read it' });
      if (!cfg.cluster.secret) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['cluster', 'secret'], message: 'a cluster needs cluster.secret (VOXGATE_CLUSTER_SECRET, the same on every instance)' });
    }
    const answering = cfg.bots.filter((b) => !b.isBase).map((b) => b.name);
    const carriers = configuredCarrierNames(cfg.carriers);
    cfg.routes.forEach((r, i) => {
      if (r.carrier !== undefined && !carriers.includes(r.carrier)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['routes', i, 'carrier'], message: `carrier "${r.carrier}" is not configured (configured: ${carriers.join(', ')})` });
      const bot = byName.get(r.bot);
      if (!bot) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['routes', i, 'bot'], message: `unknown bot "${r.bot}" (known: ${answering.join(', ') || 'none'})` });
      else if (bot.isBase) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['routes', i, 'bot'], message: `"${r.bot}" is a base bot (a template); route to a bot that extends it` });
    });
  });

type RawBot = z.infer<typeof botSchema>;

/** Why a bot's `extends` chain is broken (unknown base, a non-base parent, a cycle), or undefined. */
function inheritanceProblem(name: string, byName: Map<string, RawBot>): string | undefined {
  const seen = [name];
  for (let bot = byName.get(name); bot?.extends; ) {
    const parent = byName.get(bot.extends);
    if (!parent) return `bot "${bot.name}" extends unknown bot "${bot.extends}"`;
    if (!parent.isBase) return `bot "${bot.name}" extends "${parent.name}", which is not a base bot (isBase: true)`;
    if (seen.includes(parent.name)) return `bots extend each other in a cycle: ${[...seen, parent.name].join(' -> ')}`;
    seen.push(parent.name);
    bot = parent;
  }
  return undefined;
}

/** A bot with its base bots' values filled in: own values win, settings merge key by key. */
export function resolveBot(name: string, byName: Map<string, RawBot>): RawBot {
  const bot = byName.get(name)!;
  if (!bot.extends) return bot;
  const base = resolveBot(bot.extends, byName);
  return {
    ...base,
    ...Object.fromEntries(Object.entries(bot).filter(([, v]) => v !== undefined)),
    name: bot.name,
    isBase: bot.isBase,
    settings: { ...base.settings, ...bot.settings },
  };
}

export type VoxgateConfig = z.infer<typeof configSchema>;
export type BotConfig = z.infer<typeof botSchema>;
