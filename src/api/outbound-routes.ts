/**
 * Outbound call APIs, as a Fastify plugin:
 *   POST /api/v1/actions/dialout  (bot-api dialout: a bot talks to the callee) -> {conversationId}
 *   POST /api/v1/calls            (conversation API: a dial plan runs on the call) -> {conversationId, status}
 * Both need the `dialout` scope (checked by the API's scope enforcement).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { dialPlanSchema } from '../bots/dial-plan/dial-plan.js';
import type { Logger } from '../logger.js';
import { OutboundRequestError, type OutboundCallRequest } from '../dialer/outbound.js';
import type { CallbackStyle, OutboundNotifications, StoredStatusCallback } from '../dialer/outbound-notifications.js';

export interface OutboundRoutesOptions {
  placer: { place(request: OutboundCallRequest, extra?: { notifyUrl?: string; callback?: StoredStatusCallback; onCreated?: (conversationId: string) => void }): Promise<{ conversationId: string }> };
  notifications: OutboundNotifications;
  logger: Logger;
}

const phone = z.string().min(3).max(40);

const dialoutSchema = z
  .object({
    bot: z.string().min(1),
    target: phone,
    caller: phone,
    callerHost: z.string().optional(),
    callerDisplayName: z.string().max(100).optional(),
    notifyUrl: z.string().url().optional(),
    machineDetection: z.enum(['disconnect', 'detect']).optional(),
    metadata: z.record(z.unknown()).optional(),
    /** The carrier to call through; default: the caller number's route's carrier, else the only one configured. */
    carrier: z.string().min(1).optional(),
  })
  .strict();

const conversationCallSchema = z
  .object({
    from: phone,
    to: z.object({ phone }).strict(),
    dialPlan: dialPlanSchema,
    callback: z.object({ url: z.string().url(), strategy: z.enum(['OnChange', 'OnCompletion']).default('OnChange') }).strict().optional(),
    /** `${name}` values for the dial plan's SAY texts. */
    variables: z.record(z.string()).optional(),
    carrier: z.string().min(1).optional(),
  })
  .strict();

function validationMessage(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

export async function outboundRoutes(scope: FastifyInstance, opts: OutboundRoutesOptions): Promise<void> {
  const placeOr400 = async (reply: FastifyReply, request: OutboundCallRequest, watch?: { url: string; style: CallbackStyle }, notifyUrl?: string) => {
    try {
      // Watched from the moment the call exists, so no status (and no notification racing the answer) is missed.
      const onCreated = watch && ((id: string) => opts.notifications.watch(id, watch.url, watch.style, request.target));
      // A conversation-API callback is kept with the record: a survivor sends the outcome if this instance dies.
      const callback = watch && watch.style !== 'dialout' ? { url: watch.url, style: watch.style } : undefined;
      return await opts.placer.place(request, { notifyUrl, callback, onCreated });
    } catch (err) {
      if (err instanceof OutboundRequestError) {
        void reply.code(400).send({ error: err.message });
        return undefined;
      }
      throw err;
    }
  };

  scope.post('/actions/dialout', { config: { scope: 'dialout' } }, async (request, reply) => {
    const parsed = dialoutSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: validationMessage(parsed.error) });
    const b = parsed.data;
    const call: OutboundCallRequest = { bot: b.bot, target: b.target, caller: b.caller, carrier: b.carrier, callerDisplayName: b.callerDisplayName, machineDetection: b.machineDetection, metadata: b.metadata, source: 'dialout' };
    const placed = await placeOr400(reply, call, b.notifyUrl ? { url: b.notifyUrl, style: 'dialout' } : undefined, b.notifyUrl);
    if (!placed) return reply;
    return { conversationId: placed.conversationId };
  });

  scope.post('/calls', { config: { scope: 'dialout' } }, async (request, reply) => {
    const parsed = conversationCallSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: validationMessage(parsed.error) });
    const b = parsed.data;
    const placed = await placeOr400(reply, { dialPlan: b.dialPlan, target: b.to.phone, caller: b.from, carrier: b.carrier, variables: b.variables, source: 'conversation-api' }, b.callback && { url: b.callback.url, style: b.callback.strategy });
    if (!placed) return reply;
    return { conversationId: placed.conversationId, status: 'Queued' };
  });
}
