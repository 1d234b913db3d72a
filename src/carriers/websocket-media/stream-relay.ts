/**
 * A media stream that reached an instance other than its call's owner (a load balancer without the
 * routing rule): the socket is accepted and piped to the owner, a WebSocket to the owner's internal URL
 * with the same path and query, the carrier's signature headers and the cluster's forward header. Every
 * message goes through as it came (text or binary), both ways; each side is closed with the code and
 * reason the other closed with. The owner does every check (signature, ticket, one stream per call);
 * this instance only carries bytes. Shared by every WebSocket carrier.
 */
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../../logger.js';
import type { InstanceInfo } from '../../cluster/call-directory.js';
import { wsForm } from '../public-urls.js';
import { closeReason, DEFAULT_MAX_MESSAGE_BYTES } from './websocket-leg.js';

export interface StreamRelayOptions {
  /** "Plivo", "Twilio". */
  label: string;
  owner: InstanceInfo;
  /** Path and query of the upgrade, passed on unchanged. */
  url: string;
  /** The upgrade's headers for the owner (src/cluster/forwarding.ts builds them). */
  headers: Record<string, string>;
  logger: Logger;
  maxMessageBytes?: number;
  /** How long the owner may take to accept the socket; default 5 s. */
  connectTimeoutMs?: number;
}

/** Messages a carrier may send before the owner's socket is open (a `start` and a few media frames). */
const MAX_QUEUED = 256;

/** A close code one side may send on: 1005 (none given) and 1006 (dropped) are only ever observed. */
function sendableCode(code: number): number {
  if (code === 1005) return 1000;
  if (code === 1006 || code < 1000 || (code > 1014 && code < 3000) || code > 4999 || code === 1004) return 1011;
  return code;
}

function closeSide(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
  else if (socket.readyState === WebSocket.OPEN) socket.close(sendableCode(code), closeReason(reason));
}

/** Pipes the carrier's `socket` to the call's owner. */
export function relayStream(socket: WebSocket, opts: StreamRelayOptions): void {
  const { owner, label } = opts;
  const log = opts.logger.child({ owner: owner.id, url: opts.url });
  const target = `${wsForm(owner.internalUrl.replace(/\/+$/, ''))}${opts.url}`;
  const upstream = new WebSocket(target, { headers: opts.headers, maxPayload: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, handshakeTimeout: opts.connectTimeoutMs ?? 5_000 });
  const queued: [RawData, boolean][] = [];
  let opened = false;

  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
    else if (queued.length < MAX_QUEUED) queued.push([data, isBinary]);
    else {
      log.warn(`${label} stream relay: the owner's socket is not open after ${MAX_QUEUED} messages; closing`);
      closeSide(socket, 1011, `owner instance ${owner.id} is not ready`);
      upstream.terminate();
    }
  });
  upstream.on('open', () => {
    opened = true;
    log.info(`${label} stream relayed to instance ${owner.id}`);
    for (const [data, isBinary] of queued.splice(0)) upstream.send(data, { binary: isBinary });
  });
  upstream.on('message', (data: RawData, isBinary: boolean) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(data, { binary: isBinary });
  });
  upstream.on('error', (err: Error) => {
    if (opened) {
      log.warn({ err }, `${label} stream relay: the socket to instance ${owner.id} failed`);
      closeSide(socket, 1011, `owner instance ${owner.id} failed`);
      return;
    }
    log.error({ err, ownerUrl: owner.internalUrl }, `${label} stream relay: instance ${owner.id} did not take the stream: ${err.message}`);
    closeSide(socket, 1011, `owner instance ${owner.id} unreachable`);
  });
  upstream.on('close', (code: number, reason: Buffer) => closeSide(socket, code, reason.toString('utf8')));
  socket.on('close', (code: number, reason: Buffer) => closeSide(upstream, code, reason.toString('utf8')));
  socket.on('error', () => upstream.terminate());
}
