/** The shared Bearer-token check of the /api/v1 routes (until OAuth scopes replace it). */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** An onRequest hook: 503 when no token is configured (the API is never open), 401 for a missing or wrong one. */
export function requireApiToken(token: string | undefined, logger: Logger) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!token) {
      await reply.code(503).send({ error: 'the API is disabled: set api.token (env VOXGATE_API_TOKEN) to enable it' });
      return;
    }
    const header = request.headers.authorization ?? '';
    let given = '';
    if (header.startsWith('Bearer ')) given = header.slice(7);
    else if (header.startsWith('Basic ')) given = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':');
    if (!given || !sameSecret(given, token)) {
      logger.warn({ url: request.url, ip: request.ip }, 'API request with a missing or wrong token');
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or invalid bearer token' });
    }
  };
}
