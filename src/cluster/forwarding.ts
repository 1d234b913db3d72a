/**
 * Calls land anywhere and run where they started. Every carrier webhook (and a webhook bot's reply, and
 * a media stream's upgrade) goes through here before its signature is checked, and one decision is made:
 *   (a) forwarded by a sibling (`x-voxgate-forwarded-by`, src/cluster/internal-auth.ts): handled here,
 *       never forwarded again; a forged or stale header is refused (403);
 *   (b) a routing token (`vxr`, src/cluster/routing-token.ts) naming another live instance: sent there;
 *       a token this cluster did not sign is refused (403);
 *   (c) a call this process does not know but the call directory places on another live instance: sent
 *       there;
 *   (d) otherwise handled here, except a new call on a draining instance, which goes to a live sibling
 *       that is not draining (503 when there is none: the carrier's fallback URL takes the call).
 * Forwarding is a direct HTTP request to the owner's internal URL with the same method, path, query,
 * carrier signature headers and body, plus the public URL this instance resolved (X-Forwarded-Proto and
 * -Host, which the owner verifies the carrier's signature against); the carrier is answered only once
 * the owner answered, with the owner's status and body. An owner that does not answer within 5 s gets
 * the carrier a 503 naming it (the carrier retries).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import type { CallDirectory, CallKey, InstanceInfo } from './call-directory.js';
import { checkForwardedBy, FORWARDED_BY_HEADER, forwardedByHeader } from './internal-auth.js';
import { readRoutingToken, routingToken } from './routing-token.js';
import type { PublicOrigin } from '../carriers/public-urls.js';

export interface ClusterRoutingOptions {
  /** `cluster.secret`. */
  secret: string;
  /** This instance's id (`server.instanceId`). */
  instanceId: string;
  logger: Logger;
  clock: Clock;
  /** How long the owner may take to answer a forwarded request; default 5 s. */
  forwardTimeoutMs?: number;
}

/** What a request is about, as the route that took it knows. */
export interface RoutedRequest {
  /** For logs and errors: "Plivo hangup callback", "webhook bot reply". */
  what: string;
  /** The routing token the request carries, if any. */
  token?: string;
  /** The names of the call it is about (carrier ids, Voxgate's id), for the directory. */
  callKeys: CallKey[];
  /** This process knows the call (live, ended recently, or placed by its dialer). */
  knownHere: boolean;
  /** The request would start a new call here (an inbound call's answer URL). */
  startsCall?: boolean;
  /** The body as it is forwarded (and as the forward signature covers it): re-encoded from the parsed one. */
  body: string;
  /** The public URL this instance takes the request to have come in on (sent on to the owner). */
  cameIn: PublicOrigin;
}

/** Handle here (`forwardedBy` and `cameIn` when a sibling passed it on), or the reply was already sent. */
export type RoutingDecision = { handle: 'here'; forwardedBy?: string; cameIn?: PublicOrigin } | { handle: 'replied' };

/** A media stream upgrade: take it here, relay it to the owner, or refuse it (close 1008). */
export type UpgradeDecision =
  | { handle: 'here'; forwardedBy?: string; cameIn?: PublicOrigin }
  | { handle: 'relay'; owner: InstanceInfo; headers: Record<string, string> }
  | { handle: 'refuse'; problem: string; closeReason: string };

/** Headers that describe one hop, not the request: never copied onto the forwarded one. */
const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'proxy-connection', 'forwarded', 'expect']);
const isHopHeader = (name: string) => HOP_HEADERS.has(name) || name.startsWith('x-forwarded-') || name.startsWith('sec-websocket-') || name === FORWARDED_BY_HEADER;

const DEFAULT_FORWARD_TIMEOUT_MS = 5_000;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The cluster's routing for one instance; calls are looked up once the directory is attached. */
export class ClusterRouting {
  /** This instance's routing token: what the URLs given to carriers carry. */
  readonly token: string;
  readonly instanceId: string;
  private readonly secret: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly warnings: RateLimitedWarnings;
  private directory?: CallDirectory;
  private nextSibling = 0;

  constructor(opts: ClusterRoutingOptions) {
    this.secret = opts.secret;
    this.instanceId = opts.instanceId;
    this.token = routingToken(opts.secret, opts.instanceId);
    this.log = opts.logger.child({ component: 'cluster-routing' });
    this.clock = opts.clock;
    this.timeoutMs = opts.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS;
    this.warnings = new RateLimitedWarnings(this.log, opts.clock);
  }

  /** The directory exists only once the server listens (its internal URL needs the port); until then everything is handled here. */
  attach(directory: CallDirectory): void {
    this.directory = directory;
  }

  /** Decides for an HTTP request (carrier webhook, bot reply); forwards it, or refuses it, itself. */
  async route(request: FastifyRequest, reply: FastifyReply, about: RoutedRequest): Promise<RoutingDecision> {
    const forwarded = this.forwardedBy(request, about.body);
    if (forwarded) {
      if ('problem' in forwarded) {
        this.log.warn({ url: request.url, ip: request.ip }, `${about.what} refused: ${forwarded.problem}`);
        void reply.code(403).type('application/json').send({ error: `forged forward: ${forwarded.problem}` });
        return { handle: 'replied' };
      }
      return { handle: 'here', forwardedBy: forwarded.instanceId, cameIn: forwarded.cameIn };
    }
    const found = await this.owner(about);
    if ('problem' in found) {
      this.log.warn({ url: request.url, ip: request.ip }, `${about.what} refused: ${found.problem}`);
      void reply.code(403).type('application/json').send({ error: `invalid routing token: ${found.problem}` });
      return { handle: 'replied' };
    }
    if (found.owner) {
      await this.forward(request, reply, found.owner, about, found.why);
      return { handle: 'replied' };
    }
    if (about.startsCall && !about.knownHere && (await this.draining())) {
      const sibling = await this.liveSibling();
      if (sibling) {
        this.log.info({ sibling: sibling.id }, `${about.what}: this instance is draining; the new call goes to ${sibling.id}`);
        await this.forward(request, reply, sibling, about, 'this instance is draining');
      } else {
        this.log.warn({ url: request.url }, `${about.what} refused: this instance is draining and no sibling takes new calls`);
        void reply.code(503).type('application/json').send({ error: `instance ${this.instanceId} is draining and no other instance takes new calls; use the fallback URL` });
      }
      return { handle: 'replied' };
    }
    return { handle: 'here' };
  }

  /** Decides for a media stream upgrade, named only by its routing token (the stream's `start` comes later). */
  async routeUpgrade(request: FastifyRequest, token: string | undefined, cameIn: PublicOrigin): Promise<UpgradeDecision> {
    const forwarded = this.forwardedBy(request, '');
    if (forwarded) {
      if ('problem' in forwarded) return { handle: 'refuse', problem: `forged forward: ${forwarded.problem}`, closeReason: 'forged x-voxgate-forwarded-by' };
      return { handle: 'here', forwardedBy: forwarded.instanceId, cameIn: forwarded.cameIn };
    }
    if (token === undefined || !this.directory) return { handle: 'here' };
    const found = await this.owner({ what: 'stream upgrade', token, callKeys: [], knownHere: true, body: '', cameIn });
    if ('problem' in found) return { handle: 'refuse', problem: `invalid routing token: ${found.problem}`, closeReason: 'invalid routing token' };
    if (!found.owner) return { handle: 'here' };
    return { handle: 'relay', owner: found.owner, headers: this.forwardHeaders(request, cameIn, '') };
  }

  /**
   * Serves a GET from the live instance `instanceId`, which holds what it asks for on its own disk (a
   * call's recording): the request goes there as it came, client credentials included (every instance
   * knows the same API clients), and the answer comes back byte for byte. False, and nothing sent, when
   * that instance is not live or the request was itself forwarded by a sibling (no second hop).
   */
  async fetchFrom(instanceId: string, request: FastifyRequest, reply: FastifyReply, what: string): Promise<boolean> {
    const directory = this.directory;
    if (!directory || instanceId === this.instanceId || headerValue(request.headers, FORWARDED_BY_HEADER) !== undefined) return false;
    const holder = await this.ask(`instance ${instanceId}`, () => directory.instance(instanceId));
    if (!holder) return false;
    const target = `${holder.internalUrl.replace(/\/+$/, '')}${request.url}`;
    try {
      const res = await fetch(target, { headers: this.forwardHeaders(request, { proto: request.protocol, host: request.host }, ''), redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs * 6) });
      const bytes = Buffer.from(await res.arrayBuffer());
      for (const name of ['content-type', 'content-disposition']) {
        const value = res.headers.get(name);
        if (value) void reply.header(name, value);
      }
      this.log.info({ holder: holder.id, url: request.url, status: res.status, bytes: bytes.length }, `${what} fetched from instance ${holder.id}`);
      void reply.code(res.status).send(bytes);
    } catch (err) {
      this.log.error({ err, holder: holder.id, url: request.url }, `${what} could not be fetched from instance ${holder.id}`);
      void reply.code(503).type('application/json').send({ error: `${what} is on instance ${holder.id} (${holder.internalUrl}), which did not answer: ${(err as Error).message}` });
    }
    return true;
  }

  /** The owner a request goes to (undefined: here), or why its routing token is refused. */
  private async owner(about: RoutedRequest): Promise<{ owner?: InstanceInfo; why?: string } | { problem: string }> {
    const directory = this.directory;
    if (!directory) return {};
    if (about.token !== undefined) {
      const read = readRoutingToken(this.secret, about.token);
      if ('problem' in read) return read;
      if (read.instanceId === this.instanceId) return {};
      const named = await this.ask(`instance ${read.instanceId}`, () => directory.instance(read.instanceId));
      if (named) return { owner: named, why: 'routing token' };
      // The instance is gone (a survivor ended its calls): the directory may still know the call.
    }
    if (about.knownHere || !directory.shared) return {};
    for (const key of about.callKeys) {
      const owner = await this.ask('owner of a call', () => directory.ownerOf(key));
      if (owner) return owner.id === this.instanceId ? {} : { owner, why: 'call directory' };
    }
    return {};
  }

  /** A directory question; Redis trouble degrades to "handle here" (logged), never fails the request. */
  private async ask<T>(what: string, question: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await question();
    } catch (err) {
      this.warnings.warn('directory-unavailable', `cluster routing: the call directory did not answer (${what}): ${(err as Error).message}; handling the request here`);
      return undefined;
    }
  }

  private async draining(): Promise<boolean> {
    const directory = this.directory;
    if (!directory) return false;
    return (await this.ask('draining', () => directory.instance(directory.instanceId)))?.draining ?? false;
  }

  /** A live sibling taking new calls, in turn. */
  private async liveSibling(): Promise<InstanceInfo | undefined> {
    const directory = this.directory;
    if (!directory) return undefined;
    const all = (await this.ask('live instances', () => directory.instances())) ?? [];
    const open = all.filter((i) => i.id !== this.instanceId && !i.draining).sort((a, b) => a.id.localeCompare(b.id));
    if (open.length === 0) return undefined;
    return open[this.nextSibling++ % open.length];
  }

  /** The verified forward header's sender and public URL; undefined when the request carries none. */
  private forwardedBy(request: FastifyRequest, body: string): { instanceId: string; cameIn: PublicOrigin } | { problem: string } | undefined {
    const header = headerValue(request.headers, FORWARDED_BY_HEADER);
    if (header === undefined) return undefined;
    const forwardedProto = headerValue(request.headers, 'x-forwarded-proto') ?? '';
    const forwardedHost = headerValue(request.headers, 'x-forwarded-host') ?? '';
    const check = checkForwardedBy(this.secret, header, { method: request.method, url: request.url, body, forwardedProto, forwardedHost }, this.clock.now());
    if ('problem' in check) return check;
    if (check.instanceId === this.instanceId) return { problem: `${FORWARDED_BY_HEADER} names this instance (${this.instanceId}): a forwarding loop` };
    return { instanceId: check.instanceId, cameIn: { proto: forwardedProto, host: forwardedHost } };
  }

  /** The request's own headers for the owner, with the public URL and this instance's signature over it. */
  private forwardHeaders(request: FastifyRequest, cameIn: PublicOrigin, body: string): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || isHopHeader(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['x-forwarded-proto'] = cameIn.proto;
    headers['x-forwarded-host'] = cameIn.host;
    headers[FORWARDED_BY_HEADER] = forwardedByHeader(this.secret, this.instanceId, { method: request.method, url: request.url, body, forwardedProto: cameIn.proto, forwardedHost: cameIn.host }, this.clock.now());
    return headers;
  }

  private async forward(request: FastifyRequest, reply: FastifyReply, owner: InstanceInfo, about: RoutedRequest, why: string | undefined): Promise<void> {
    const target = `${owner.internalUrl.replace(/\/+$/, '')}${request.url}`;
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    const fields = { owner: owner.id, ownerUrl: owner.internalUrl, url: request.url, why };
    try {
      const res = await fetch(target, {
        method: request.method,
        headers: this.forwardHeaders(request, about.cameIn, hasBody ? about.body : ''),
        ...(hasBody ? { body: about.body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      this.log.info({ ...fields, status: res.status }, `${about.what} forwarded to instance ${owner.id}`);
      const contentType = res.headers.get('content-type');
      if (contentType) void reply.type(contentType);
      void reply.code(res.status).send(text);
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
      this.log.error({ ...fields, err }, `${about.what} could not be forwarded to instance ${owner.id}: ${reason}`);
      void reply
        .code(503)
        .type('application/json')
        .send({ error: `the call's owner, instance ${owner.id} (${owner.internalUrl}), did not take the forwarded ${about.what}: ${reason}`, owner: owner.id });
    }
  }
}
