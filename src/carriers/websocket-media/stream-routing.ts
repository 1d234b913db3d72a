/**
 * Where a media stream's upgrade goes, decided before the carrier's own checks (its signature, its
 * ticket): with a cluster, a stream whose routing token names another live instance is relayed there
 * (src/carriers/websocket-media/stream-relay.ts), a forged token or forward header is refused; one
 * handled here is verified against the public URLs the carrier may have used, the one it came in on
 * (or the one a sibling that relayed it resolved) first.
 */
import type { FastifyRequest } from 'fastify';
import type { ClusterRouting, UpgradeDecision } from '../../cluster/forwarding.js';
import { baseOrigin, requestOrigin, type PublicOrigin } from '../public-urls.js';

export type StreamRoute = Exclude<UpgradeDecision, { handle: 'here' }> | { handle: 'here'; bases: string[] };

export async function routeStreamUpgrade(
  request: FastifyRequest,
  token: string | undefined,
  opts: { cluster?: ClusterRouting; publicBases(cameIn: PublicOrigin): string[] },
): Promise<StreamRoute> {
  let cameIn = requestOrigin(request);
  if (opts.cluster) {
    const decision = await opts.cluster.routeUpgrade(request, token, { ...cameIn, ...baseOrigin(opts.publicBases(cameIn)[0]) });
    if (decision.handle !== 'here') return decision;
    if (decision.cameIn) cameIn = decision.cameIn;
  }
  return { handle: 'here', bases: opts.publicBases(cameIn) };
}
