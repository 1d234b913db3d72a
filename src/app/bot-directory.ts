/**
 * The configured bots and the routes from called numbers to them. Every bot is checked at start
 * (flows loaded, secrets found), so a bad bot stops startup instead of failing a caller. `reload`
 * swaps in a new configuration checked the same way: new calls use it, calls in progress keep the
 * connector and settings they were given.
 */
import type { Logger } from 'pino';
import { BotApiConnector, OAuthTokenCache } from '../bots/bot-api/index.js';
import type { BotConnector } from '../bots/connector.js';
import { DEFAULT_FLOW, FlowBot, loadFlow } from '../bots/flow/index.js';
import { LlmBotConnector } from '../bots/llm/index.js';
import { WebhookBotConnector, type WebhookReplyRouter } from '../bots/webhook/index.js';
import { DialogflowCxConnector, dialogflowCxOptionsFromConfig } from '../bots/dialogflow-cx/index.js';
import { DirectLineConnector, directLineOptionsFromConfig } from '../bots/direct-line/index.js';
import { RasaConnector, rasaOptionsFromConfig } from '../bots/rasa/index.js';
import { NoRouteError, type CallInfo } from '../carriers/leg.js';
import { DEFAULT_CALL_SETTINGS, mergeSettings, type CallSettings } from '../call/settings.js';
import { resolveSecret } from '../runtime/secrets.js';
import { resolveBot, type BotConfig, type SecretRef, type VoxgateConfig } from '../config/schema.js';

export { NoRouteError };

/** Builds the connector for one call; replaces the configured bot type (tests, benchmarks, embedding apps). */
export type BotConnectorFactory = (botName: string, info: CallInfo, logger: Logger) => BotConnector;

interface LoadedBot {
  config: BotConfig;
  settings: CallSettings;
  connect: (logger: Logger) => BotConnector;
}

interface LoadedConfig {
  bots: Map<string, LoadedBot>;
  routes: VoxgateConfig['routes'];
  defaults: CallSettings;
}

interface DirectoryDeps {
  connectorFactory?: BotConnectorFactory;
  env: NodeJS.ProcessEnv;
  webhookReplies?: WebhookReplyRouter;
  webhookResponseUrl?: () => string;
}

export class BotDirectory {
  private constructor(
    private loaded: LoadedConfig,
    private readonly deps: DirectoryDeps,
  ) {}

  static async load(
    config: VoxgateConfig,
    connectorFactory?: BotConnectorFactory,
    env: NodeJS.ProcessEnv = process.env,
    webhookReplies?: WebhookReplyRouter,
    /** The URL webhook bots' brains reply to (DCS_RESPONSE_URL role); known once the server listens. */
    webhookResponseUrl?: () => string,
  ): Promise<BotDirectory> {
    const deps: DirectoryDeps = { connectorFactory, env, webhookReplies, webhookResponseUrl };
    return new BotDirectory(await BotDirectory.build(config, deps), deps);
  }

  /**
   * Puts a new configuration to use for the next calls. Checked fully before the swap: on a bad bot
   * (a missing secret, an unreadable flow) it throws and the current configuration stays.
   */
  async reload(config: VoxgateConfig): Promise<void> {
    this.loaded = await BotDirectory.build(config, this.deps);
  }

  private static async build(config: VoxgateConfig, deps: DirectoryDeps): Promise<LoadedConfig> {
    const { env, webhookReplies, webhookResponseUrl } = deps;
    const bots = new Map<string, LoadedBot>();
    const byName = new Map(config.bots.map((b) => [b.name, b]));
    for (const raw of config.bots) {
      if (raw.isBase) continue;
      const bot = resolveBot(raw.name, byName);
      const secret = (ref: SecretRef | undefined, key: string) => resolveSecret(ref, `bots.${bot.name}.${key}`, env);
      const base = mergeSettings(DEFAULT_CALL_SETTINGS, config.defaults);
      if (bot.type === 'bot-api') {
        const api = bot.botApi!;
        // One token cache per bot: all its calls share (and renew) one OAuth token.
        const tokenCache = new OAuthTokenCache();
        const token = secret(api.token, 'botApi.token');
        const oauth = api.oauth && { ...api.oauth, clientSecret: secret(api.oauth.clientSecret, 'botApi.oauth.clientSecret')! };
        bots.set(bot.name, {
          config: bot,
          settings: mergeSettings(base, bot.settings),
          connect: (logger) => new BotApiConnector({ name: bot.name, botUrl: api.url, token, oauth, tokenCache, requestTimeoutMs: api.requestTimeoutMs, retries: api.retries, logger }),
        });
      } else if (bot.type === 'webhook') {
        const hook = bot.webhook!;
        const token = secret(hook.token, 'webhook.token');
        bots.set(bot.name, {
          config: bot,
          settings: mergeSettings(base, bot.settings),
          connect: (logger) => new WebhookBotConnector({ name: bot.name, url: hook.url, token, requestTimeoutMs: hook.requestTimeoutMs, router: webhookReplies, responseUrl: webhookResponseUrl, logger }),
        });
      } else if (bot.type === 'llm') {
        const llm = bot.llm!;
        const apiKey = secret(llm.apiKey, 'llm.apiKey');
        bots.set(bot.name, {
          config: bot,
          settings: mergeSettings(base, bot.settings),
          connect: (logger) => new LlmBotConnector({ ...llm, name: bot.name, apiKey, logger }),
        });
      } else if (bot.type === 'rasa') {
        const options = rasaOptionsFromConfig(bot.name, bot.rasa!, env);
        bots.set(bot.name, { config: bot, settings: mergeSettings(base, bot.settings), connect: (logger) => new RasaConnector({ ...options, logger }) });
      } else if (bot.type === 'direct-line') {
        const options = directLineOptionsFromConfig(bot.name, bot.directLine!, env);
        bots.set(bot.name, { config: bot, settings: mergeSettings(base, bot.settings), connect: (logger) => new DirectLineConnector({ ...options, logger }) });
      } else if (bot.type === 'dialogflow-cx') {
        const options = dialogflowCxOptionsFromConfig(bot.name, bot.dialogflowCx!, env);
        bots.set(bot.name, { config: bot, settings: mergeSettings(base, bot.settings), connect: (logger) => new DialogflowCxConnector({ ...options, logger }) });
      } else {
        const flow = await loadFlow(bot.flow ?? DEFAULT_FLOW);
        bots.set(bot.name, {
          config: bot,
          settings: mergeSettings(base, { language: flow.language }, bot.settings),
          connect: (logger) => new FlowBot(flow, { logger }),
        });
      }
    }
    return { bots, routes: config.routes, defaults: mergeSettings(DEFAULT_CALL_SETTINGS, config.defaults) };
  }

  /**
   * The bot for a number called through `carrier`: an exact route first, then "*"; a route that names
   * a carrier takes only that carrier's calls (with no carrier given, every route is considered).
   */
  route(calledNumber: string, carrier?: string): BotConfig {
    const normalized = calledNumber.replace(/^\+/, '');
    const { routes, bots } = this.loaded;
    const usable = carrier === undefined ? routes : routes.filter((r) => r.carrier === undefined || r.carrier === carrier);
    const route = usable.find((r) => r.number.replace(/^\+/, '') === normalized) ?? usable.find((r) => r.number === '*');
    if (!route) throw new NoRouteError(`no route for number ${calledNumber}${carrier ? ` called through ${carrier}` : ''}`);
    return bots.get(route.bot)!.config;
  }

  /** The bot a caller asked for by name (a browser call); NoRouteError when there is none by that name. */
  named(botName: string): BotConfig {
    const bot = this.loaded.bots.get(botName);
    if (!bot) throw new NoRouteError(`no bot named "${botName}"`);
    return bot.config;
  }

  /** The carrier a number belongs to, when its route names one (outbound calls from that number go through it). */
  carrierOfNumber(number: string): string | undefined {
    const normalized = number.replace(/^\+/, '');
    return this.loaded.routes.find((r) => r.number !== '*' && r.number.replace(/^\+/, '') === normalized)?.carrier;
  }

  has(botName: string): boolean {
    return this.loaded.bots.has(botName);
  }

  /** A connector built elsewhere (a dial plan) with the configured default settings. */
  withDefaults(connector: BotConnector): { connector: BotConnector; settings: CallSettings } {
    return { connector, settings: this.loaded.defaults };
  }

  create(botName: string, info: CallInfo, logger: Logger): { connector: BotConnector; settings: CallSettings } {
    const bot = this.loaded.bots.get(botName);
    if (!bot) throw new NoRouteError(`unknown bot "${botName}"`);
    const callLogger = logger.child({ callId: info.callId });
    const connector = this.deps.connectorFactory?.(botName, info, logger) ?? bot.connect(callLogger);
    return { connector, settings: bot.settings };
  }
}
