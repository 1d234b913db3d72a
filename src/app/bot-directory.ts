/** The configured bots and the routes from called numbers to them. Flows are loaded and checked at start. */
import type { Logger } from 'pino';
import type { BotConnector } from '../bots/connector.js';
import { DEFAULT_FLOW, FlowBot, loadFlow, type Flow } from '../bots/flow/index.js';
import type { CallInfo } from '../carriers/leg.js';
import { DEFAULT_CALL_SETTINGS, mergeSettings, type CallSettings } from '../call/settings.js';
import { resolveBot, type BotConfig, type VoxgateConfig } from '../config/schema.js';

export class NoRouteError extends Error {}

interface LoadedBot {
  config: BotConfig;
  flow: Flow;
  settings: CallSettings;
}

/** Builds the connector for one call; replaces the configured bot type (tests, benchmarks, embedding apps). */
export type BotConnectorFactory = (botName: string, info: CallInfo, logger: Logger) => BotConnector;

export class BotDirectory {
  private constructor(
    private readonly bots: Map<string, LoadedBot>,
    private readonly routes: VoxgateConfig['routes'],
    private readonly connectorFactory?: BotConnectorFactory,
  ) {}

  static async load(config: VoxgateConfig, connectorFactory?: BotConnectorFactory): Promise<BotDirectory> {
    const bots = new Map<string, LoadedBot>();
    const byName = new Map(config.bots.map((b) => [b.name, b]));
    for (const raw of config.bots) {
      if (raw.isBase) continue;
      const bot = resolveBot(raw.name, byName);
      const flow = await loadFlow(bot.flow ?? DEFAULT_FLOW);
      bots.set(bot.name, { config: bot, flow, settings: mergeSettings(DEFAULT_CALL_SETTINGS, config.defaults, { language: flow.language }, bot.settings) });
    }
    return new BotDirectory(bots, config.routes, connectorFactory);
  }

  /** The bot for a called number: an exact route first, then "*". */
  route(calledNumber: string): BotConfig {
    const normalized = calledNumber.replace(/^\+/, '');
    const route = this.routes.find((r) => r.number.replace(/^\+/, '') === normalized) ?? this.routes.find((r) => r.number === '*');
    if (!route) throw new NoRouteError(`no route for called number ${calledNumber}`);
    return this.bots.get(route.bot)!.config;
  }

  create(botName: string, info: CallInfo, logger: Logger): { connector: BotConnector; settings: CallSettings } {
    const bot = this.bots.get(botName);
    if (!bot) throw new NoRouteError(`unknown bot "${botName}"`);
    const connector = this.connectorFactory?.(botName, info, logger) ?? new FlowBot(bot.flow, { logger: logger.child({ callId: info.callId }) });
    return { connector, settings: bot.settings };
  }
}
