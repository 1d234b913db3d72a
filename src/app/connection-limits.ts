/**
 * Limits that keep slow or piled-up connections from exhausting the server (server.connections):
 *   - Node's own timeouts: a request's headers, and the whole request, must arrive in time (slowloris),
 *     and an idle keep-alive connection is closed.
 *   - per source address: at most maxPerSource open TCP connections (more are destroyed on accept),
 *     and at most maxPendingUpgradesPerSource WebSockets that have not yet sent their first message
 *     (a carrier's start event, the console's auth message); more upgrades answer 503.
 * Sources in exemptSources (and trusted proxies) have no per-source caps: behind a reverse proxy
 * every client shares its address, and a carrier's media servers carry many calls each.
 */
import { BlockList, isIPv6 } from 'node:net';
import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/websocket';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../runtime/clock.js';

export const addressOrRange = z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'an IP address or CIDR range (10.0.0.0/8)');

export const connectionLimitsSchema = z
  .object({
    /** Open TCP connections from one address; the next is closed at once. */
    maxPerSource: z.number().int().min(1).default(256),
    /** WebSockets from one address still waiting for their first (start or auth) message; the next upgrade answers 503. */
    maxPendingUpgradesPerSource: z.number().int().min(1).default(32),
    /** Addresses or CIDR ranges without per-source caps (a reverse proxy, a carrier's media servers). */
    exemptSources: z.array(addressOrRange).default([]),
    /** A request's headers must have arrived this long after it started (slowloris); 408 and close otherwise. */
    headersTimeoutMs: z.number().int().min(100).default(10_000),
    /** The whole request, body included, must have arrived in this time. */
    requestTimeoutMs: z.number().int().min(100).default(60_000),
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: z.number().int().min(100).default(72_000),
    /** Requests served on one keep-alive connection before it is closed; 0: no limit. */
    maxRequestsPerSocket: z.number().int().min(0).default(0),
  })
  .strict()
  .refine((c) => c.headersTimeoutMs <= c.requestTimeoutMs, { message: 'headersTimeoutMs must not exceed requestTimeoutMs', path: ['headersTimeoutMs'] })
  .default({});

export type ConnectionLimitsConfig = z.infer<typeof connectionLimitsSchema>;

/** Options for Fastify() that set Node's HTTP timeouts. */
export function serverTimeoutOptions(limits: ConnectionLimitsConfig): { http: ServerOptions; keepAliveTimeout: number; requestTimeout: number; maxRequestsPerSocket: number } {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node only looks for expired requests this often (30 s by default): often enough that a timeout is kept to within a quarter.
      connectionsCheckingInterval: Math.max(25, Math.floor(shortest / 4)),
    },
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
  };
}

/** "::ffff:10.0.0.1" (IPv4 on a dual-stack socket) counts as 10.0.0.1. */
function sourceOf(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function exemptList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address, prefix] = range.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** How often a refusal is logged at most; the refusals in between are counted into the next line. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Distinct sources one log line names; the rest are summed up. */
const MAX_SOURCES_LOGGED = 20;

export interface ConnectionLimitsOptions {
  limits: ConnectionLimitsConfig;
  /** Trusted proxies (server.trustProxy addresses) are exempt too. */
  alsoExempt?: readonly string[];
  logger: Logger;
  clock?: Clock;
}

/** Counts connections and pending WebSocket upgrades per source address, and refuses those over the caps. */
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();
  private readonly pendingUpgrades = new Map<string, number>();
  private readonly exempt: BlockList;
  private readonly refused = new Map<string, number>();
  private lastRefusalLog = -Infinity;
  private readonly clock: Clock;

  constructor(private readonly opts: ConnectionLimitsOptions) {
    this.exempt = exemptList([...opts.limits.exemptSources, ...(opts.alsoExempt ?? [])]);
    this.clock = opts.clock ?? systemClock;
  }

  /** Counts every TCP connection the server accepts; over the cap it is destroyed before a byte is read. */
  attach(app: FastifyInstance): void {
    app.server.on('connection', (socket: Socket) => this.onConnection(socket));
    // Registered after @fastify/websocket's own hook, which sets request.ws.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.ws) return;
      const source = sourceOf(request.socket.remoteAddress);
      if (this.isExempt(source)) return;
      const pending = this.pendingUpgrades.get(source) ?? 0;
      if (pending >= this.opts.limits.maxPendingUpgradesPerSource) {
        this.logRefusal(source, 'websocket');
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: `connections: ${pending} WebSockets from ${source} have not sent their first message yet (server.connections.maxPendingUpgradesPerSource ${this.opts.limits.maxPendingUpgradesPerSource})` });
      }
      this.pendingUpgrades.set(source, pending + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.decrement(this.pendingUpgrades, source);
      };
      this.releases.set(request.raw, release);
      request.socket.once('close', release);
    });
    app.websocketServer.on('connection', (ws, rawRequest) => {
      const release = this.releases.get(rawRequest);
      if (release) ws.once('message', release);
    });
  }

  private readonly releases = new WeakMap<object, () => void>();

  private onConnection(socket: Socket): void {
    const source = sourceOf(socket.remoteAddress);
    if (this.isExempt(source)) return;
    const open = this.open.get(source) ?? 0;
    if (open >= this.opts.limits.maxPerSource) {
      this.logRefusal(source, 'tcp');
      socket.destroy();
      return;
    }
    this.open.set(source, open + 1);
    socket.once('close', () => this.decrement(this.open, source));
  }

  private isExempt(source: string): boolean {
    try {
      return this.exempt.check(source, isIPv6(source) ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  }

  private decrement(counts: Map<string, number>, source: string): void {
    const left = (counts.get(source) ?? 1) - 1;
    // Sources with nothing open are forgotten, so the maps hold only live connections.
    if (left <= 0) counts.delete(source);
    else counts.set(source, left);
  }

  /** One warn line per interval at most, whatever a flood does; it counts what it did not log. */
  private logRefusal(source: string, kind: 'tcp' | 'websocket'): void {
    const key = `${kind} ${source}`;
    if (this.refused.has(key) || this.refused.size < MAX_SOURCES_LOGGED) this.refused.set(key, (this.refused.get(key) ?? 0) + 1);
    else this.refused.set('other', (this.refused.get('other') ?? 0) + 1);
    const now = this.clock.now();
    if (now - this.lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastRefusalLog = now;
    const { maxPerSource, maxPendingUpgradesPerSource } = this.opts.limits;
    this.opts.logger.warn(
      { refused: Object.fromEntries(this.refused), maxPerSource, maxPendingUpgradesPerSource },
      'connections refused: over the per-source cap (server.connections); counts since the last such line',
    );
    this.refused.clear();
  }

  /** Open connections and pending upgrades of one source (tests, diagnostics). */
  countsOf(address: string): { open: number; pendingUpgrades: number } {
    const source = sourceOf(address);
    return { open: this.open.get(source) ?? 0, pendingUpgrades: this.pendingUpgrades.get(source) ?? 0 };
  }
}
