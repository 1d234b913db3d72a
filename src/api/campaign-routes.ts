/**
 * Campaign API, as a Fastify plugin under /api/v1/campaigns:
 *   POST   /                 {campaign: {...definition}, contactsCsv?: "phone,name,..."} -> 201 campaign
 *   GET    /?status=&limit=&cursor=   {campaigns: [progress...], nextCursor}, newest first
 *   GET    /:id              live progress (counts by outcome)
 *   GET    /:id/attempts     every attempt, in order
 *   GET    /:id/results.csv  results export
 *   POST   /:id/pause | /:id/resume | /:id/cancel
 * Scopes: campaigns:read to follow and export, campaigns:write to create and control.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CampaignDefinitionError } from '../dialer/campaign-definition.js';
import { ContactListError, parseContactsCsv } from '../dialer/campaign-contacts.js';
import type { CampaignRunner } from '../dialer/campaign-runner.js';
import type { Logger } from '../logger.js';
import { queryInteger, zodError } from './route-schemas.js';

export interface CampaignRoutesOptions {
  campaigns: CampaignRunner;
  logger: Logger;
}

const createSchema = z
  .object({
    campaign: z.record(z.unknown()),
    /** The contact list as CSV text (header: phone, name, timezone, then variables), added to campaign.contacts. */
    contactsCsv: z.string().max(20 * 1024 * 1024).optional(),
  })
  .strict();

const idParams = z.object({ id: z.string().uuid('a campaign id (UUID)') });

export const MAX_CAMPAIGN_PAGE = 200;
const DEFAULT_CAMPAIGN_PAGE = 50;
const listQuery = z
  .object({
    status: z.enum(['running', 'paused', 'cancelled', 'completed']).optional(),
    limit: queryInteger(1, MAX_CAMPAIGN_PAGE).optional(),
    cursor: z.string().min(1).optional(),
  })
  .strict();

/** Opaque page token: the last campaign of the page, so the next page starts right after it. */
function encodeCursor(campaign: { createdAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([campaign.createdAt, campaign.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && value[0] >= 0 && typeof value[1] === 'string' && value[1]) return { createdAt: value[0] as number, id: value[1] };
  } catch {
    // fall through: not a cursor this API issued
  }
  return undefined;
}

export async function campaignRoutes(scope: FastifyInstance, opts: CampaignRoutesOptions): Promise<void> {
  const { campaigns } = opts;
  scope.post('/', { bodyLimit: 25 * 1024 * 1024, config: { scope: 'campaigns:write' } }, async (request, reply) => {
    const parsed = createSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') });
    try {
      const contacts = parsed.data.contactsCsv === undefined ? undefined : parseContactsCsv(parsed.data.contactsCsv);
      const record = await campaigns.create(parsed.data.campaign, contacts);
      return reply.code(201).send({ id: record.id, name: record.name, status: record.status, progress: await campaigns.progress(record.id) });
    } catch (err) {
      if (err instanceof CampaignDefinitionError || err instanceof ContactListError) return reply.code(400).send({ error: err.message });
      throw err;
    }
  });

  scope.get('/', { config: { scope: 'campaigns:read' }, schema: { tags: ['campaigns'], summary: 'Campaigns with their progress, newest first' } }, async (request, reply) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) return reply.code(400).send({ error: zodError(parsed.error) });
    const { cursor, limit = DEFAULT_CAMPAIGN_PAGE, status } = parsed.data;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) return reply.code(400).send({ error: 'cursor: expected the nextCursor of a previous page' });
    // One more than asked tells whether another page exists without a count query.
    const rows = await campaigns.list({ status, limit: limit + 1, after });
    const page = rows.slice(0, limit);
    const progress = await Promise.all(page.map((c) => campaigns.progress(c.id)));
    return {
      campaigns: progress.filter((p) => p !== undefined),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null,
    };
  });

  const withCampaign = <T>(handler: (id: string) => Promise<T | undefined>) =>
    async (request: { params: unknown }, reply: import('fastify').FastifyReply) => {
      const params = idParams.safeParse(request.params);
      if (!params.success) return reply.code(400).send({ error: `id: ${params.error.issues[0].message}` });
      const result = await handler(params.data.id);
      if (result === undefined) return reply.code(404).send({ error: `no campaign ${params.data.id}` });
      return result;
    };

  const read = { config: { scope: 'campaigns:read' } } as const;
  scope.get('/:id', read, withCampaign((id) => campaigns.progress(id)));
  scope.get(
    '/:id/attempts',
    read,
    withCampaign(async (id) => ((await campaigns.progress(id)) ? { attempts: await campaigns.history(id) } : undefined)),
  );
  scope.get('/:id/results.csv', read, async (request, reply) => {
    const params = idParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send({ error: `id: ${params.error.issues[0].message}` });
    if (!(await campaigns.progress(params.data.id))) return reply.code(404).send({ error: `no campaign ${params.data.id}` });
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="campaign-${params.data.id}.csv"`).send(await campaigns.exportCsv(params.data.id));
  });
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    scope.post(`/:id/${action}`, { config: { scope: 'campaigns:write' } }, async (request, reply) => {
      const params = idParams.safeParse(request.params);
      if (!params.success) return reply.code(400).send({ error: `id: ${params.error.issues[0].message}` });
      const before = await campaigns.progress(params.data.id);
      if (!before) return reply.code(404).send({ error: `no campaign ${params.data.id}` });
      const changed = await campaigns[action](params.data.id);
      if (!changed) return reply.code(409).send({ error: `campaign is ${before.status}: cannot ${action} it` });
      return campaigns.progress(params.data.id);
    });
  }
}
