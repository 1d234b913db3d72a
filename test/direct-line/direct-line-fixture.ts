/** Shared set-up for the Direct Line tests: a double, connectors that are ended after each test, and what they emitted. */
import { EventEmitter } from 'node:events';
import { DirectLineConnector, type DirectLineConnectorOptions } from '../../src/bots/direct-line/index.js';
import type { Activity } from '../../src/bots/activity.js';
import type { BotConversationInfo } from '../../src/bots/connector.js';
import { DirectLineServer, type DirectLineServerOptions } from '../support/direct-line-server.js';

export const callInfo: BotConversationInfo = {
  conversationId: 'call-dl-1',
  direction: 'inbound',
  caller: '+15550001',
  callee: '+15550002',
  callerHost: 'carrier.example',
  calleeHost: 'voxgate.example',
  callerDisplayName: 'Ada',
  parameters: { 'X-Account': '42' },
};

/** Everything a connector emitted, with waits on what is still to come. */
export class Emitted extends EventEmitter<{ change: [] }> {
  readonly activities: Activity[] = [];
  readonly failures: Error[] = [];

  constructor(bot: DirectLineConnector) {
    super();
    bot.on('activities', (list) => {
      this.activities.push(...list);
      this.emit('change');
    });
    bot.on('failure', (err) => {
      this.failures.push(err);
      this.emit('change');
    });
  }

  /** Resolves with the first emitted activity matching `match`. */
  activity(match: (a: Activity) => boolean): Promise<Activity> {
    return this.until(() => this.activities.find(match));
  }

  failure(): Promise<Error> {
    return this.until(() => this.failures[0]);
  }

  private until<T>(probe: () => T | undefined): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const check = () => {
        const found = probe();
        if (found === undefined) return;
        this.off('change', check);
        resolve(found);
      };
      this.on('change', check);
    });
  }
}

export class DirectLineFixture {
  server!: DirectLineServer;
  private readonly connectors: DirectLineConnector[] = [];

  async startServer(opts: DirectLineServerOptions = {}): Promise<DirectLineServer> {
    this.server = await DirectLineServer.start(opts);
    return this.server;
  }

  connector(extra: Partial<DirectLineConnectorOptions> = {}): { bot: DirectLineConnector; emitted: Emitted } {
    const bot = new DirectLineConnector({ name: 'echo', secret: this.server.secretValue, baseUrl: this.server.baseUrl, ...extra });
    this.connectors.push(bot);
    return { bot, emitted: new Emitted(bot) };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.connectors.splice(0).map((c) => c.end('client-disconnected').catch(() => undefined)));
    await this.server?.close();
  }
}

/** The texts the caller would hear, in order. */
export function spoken(activities: Activity[]): string[] {
  return activities.filter((a) => a.type === 'message').map((a) => a.text ?? '');
}
