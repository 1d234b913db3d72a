/** Voxgate's side of the webhook bot on loopback: a Fastify app with the response route under /webhook, and helpers to wait for connector events. */
import { once } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { WebhookReplyRouter, webhookResponseRoutes } from '../../src/bots/webhook/index.js';
import type { Activity } from '../../src/bots/activity.js';
import type { BotConnector } from '../../src/bots/connector.js';

export class WebhookResponseServer {
  readonly router = new WebhookReplyRouter();
  private app?: FastifyInstance;

  constructor(private readonly token?: string) {}

  async listen(): Promise<this> {
    this.app = Fastify();
    await this.app.register(webhookResponseRoutes, { prefix: '/webhook', router: this.router, token: this.token });
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    return this;
  }

  /** The `DCS_RESPONSE_URL` the brain posts replies to. */
  get responseUrl(): string {
    const { port } = this.app!.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/webhook/response`;
  }

  async close(): Promise<void> {
    await this.app?.close();
  }
}

export async function nextActivities(bot: BotConnector): Promise<Activity[]> {
  const [activities] = (await once(bot, 'activities')) as [Activity[]];
  return activities;
}

export async function nextFailure(bot: BotConnector): Promise<Error> {
  const [error] = (await once(bot, 'failure')) as [Error];
  return error;
}
