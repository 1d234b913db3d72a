/**
 * Voxgate's response endpoint (`DCS_RESPONSE_URL` role): the brain POSTs a reply for a live call and
 * the router hands it to that call's webhook connector. With a cluster, a reply for a call another
 * instance runs (its `call_id` is in the call directory, or the URL's routing token names it) is
 * forwarded there and answered with the owner's answer.
 */
import { checkStaticBearer, refuseStaticBearer, type StaticBearerThrottle } from '../../api/auth/static-bearer.js';
import type { FastifyPluginAsync } from 'fastify';
import type { ClusterRouting } from '../../cluster/forwarding.js';
import { ROUTING_PARAM } from '../../cluster/routing-token.js';
import { requestOrigin } from '../../carriers/public-urls.js';
import type { Logger } from '../../logger.js';
import { parseWebhookReply, WebhookReplyError } from './webhook-reply.js';
import type { WebhookReply } from './webhook-reply.js';

/** What the router needs of a connector (WebhookBotConnector implements it). */
export interface WebhookReplyTarget {
  /** False when the conversation has ended. */
  deliverReply(reply: WebhookReply): boolean;
}

export interface WebhookDelivery {
  status: number;
  error?: string;
}

export class WebhookReplyRouter {
  private readonly calls = new Map<string, WebhookReplyTarget>();

  register(callId: string, connector: WebhookReplyTarget): void {
    this.calls.set(callId, connector);
  }

  /** With `connector`, only removes the entry if it still belongs to that connector. */
  unregister(callId: string, connector?: WebhookReplyTarget): void {
    if (connector && this.calls.get(callId) !== connector) return;
    this.calls.delete(callId);
  }

  /** Whether a conversation of this process answers to `callId`. */
  has(callId: string): boolean {
    return this.calls.has(callId);
  }

  get size(): number {
    return this.calls.size;
  }

  /** 200 delivered; 400 bad reply (the error names the field); 404 unknown or ended call. */
  deliver(body: unknown): WebhookDelivery {
    let reply: WebhookReply;
    try {
      reply = parseWebhookReply(body);
    } catch (err) {
      if (err instanceof WebhookReplyError) return { status: 400, error: err.message };
      throw err;
    }
    const target = this.calls.get(reply.call_id);
    if (!target) return { status: 404, error: `no live call with call_id "${reply.call_id}"` };
    if (!target.deliverReply(reply)) {
      this.calls.delete(reply.call_id);
      return { status: 404, error: `call "${reply.call_id}" has ended` };
    }
    return { status: 200 };
  }
}

export interface WebhookResponseRoutesOptions {
  router: WebhookReplyRouter;
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  /** The API's brute-force limits, applied to the token check. */
  throttle?: StaticBearerThrottle;
  logger?: Logger;
  /** With a cluster: replies for another instance's calls are forwarded there. */
  cluster?: ClusterRouting;
}

/** `POST /response`: mount with a prefix (`/webhook`). */
export const webhookResponseRoutes: FastifyPluginAsync<WebhookResponseRoutesOptions> = async (app, opts) => {
  const { router } = opts;
  const token = opts.token ? Buffer.from(opts.token) : undefined;
  app.post('/response', async (req, reply) => {
    if (token) {
      const outcome = await checkStaticBearer(req, token, opts.throttle, 'webhook reply');
      if (!outcome.ok) {
        opts.logger?.warn({ ip: req.ip, reason: outcome.reason }, 'webhook reply rejected: missing, wrong or locked-out bearer token');
        return refuseStaticBearer(reply, outcome, 'webhook reply', 'voxgate');
      }
    }
    if (opts.cluster) {
      const body: unknown = req.body;
      const callId = body && typeof body === 'object' && typeof (body as { call_id?: unknown }).call_id === 'string' ? (body as { call_id: string }).call_id : undefined;
      const token = (req.query as Record<string, unknown> | undefined)?.[ROUTING_PARAM];
      const decision = await opts.cluster.route(req, reply, {
        what: 'webhook bot reply',
        token: typeof token === 'string' ? token : undefined,
        callKeys: callId ? [{ callId }] : [],
        knownHere: callId === undefined || router.has(callId),
        body: JSON.stringify(body ?? null),
        cameIn: requestOrigin(req),
      });
      if (decision.handle === 'replied') return reply;
    }
    const result = router.deliver(req.body);
    if (result.status !== 200) {
      opts.logger?.warn({ status: result.status, problem: result.error }, 'webhook reply refused');
      return reply.code(result.status).send({ error: result.error });
    }
    return reply.code(200).send({ ok: true });
  });
};
