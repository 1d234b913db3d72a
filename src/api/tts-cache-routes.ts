/**
 * TTS cache administration, a Fastify plugin mounted at /api/v1:
 *   GET  /tts-cache        entries and bytes in memory, hits, misses, hit rate (providers:read)
 *   POST /tts-cache/clear  empties memory and disk (providers:write; admin implies it)
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import type { TtsCache } from '../speech/tts/cache.js';
import { documentOnly } from './route-schemas.js';

export interface TtsCacheRoutesOptions {
  /** Undefined when tts.cache.enabled is false: the routes say so instead of pretending an empty cache. */
  cache: Pick<TtsCache, 'stats' | 'clear'> | undefined;
  logger: Logger;
}

export async function ttsCacheRoutes(scope: FastifyInstance, opts: TtsCacheRoutesOptions): Promise<void> {
  documentOnly(scope);
  const tags = ['tts-cache'];
  const disabled = { error: 'tts.cache: the TTS cache is disabled (tts.cache.enabled: false)' };

  scope.get('/tts-cache', { config: { scope: 'providers:read' }, schema: { tags, summary: 'TTS cache statistics' } }, async (_request, reply) => {
    if (!opts.cache) return reply.code(409).send(disabled);
    const stats = opts.cache.stats();
    const lookups = stats.hits + stats.misses;
    return { enabled: true, ...stats, hitRate: lookups === 0 ? null : stats.hits / lookups };
  });

  scope.post('/tts-cache/clear', { config: { scope: 'providers:write' }, schema: { tags, summary: 'Empty the TTS cache (memory and disk)' } }, async (_request, reply) => {
    if (!opts.cache) return reply.code(409).send(disabled);
    const before = opts.cache.stats();
    await opts.cache.clear();
    opts.logger.info({ entries: before.entries, bytes: before.bytes }, 'TTS cache cleared through the API');
    return { cleared: { entries: before.entries, bytes: before.bytes } };
  });
}
