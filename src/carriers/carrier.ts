/**
 * The carrier module contract. Each folder under src/carriers/ (plivo, twilio, ...) exports one
 * `CarrierModule`: its configuration section, the environment variables that fill it, and how to make
 * the `Carrier` that mounts its webhooks and media sockets, places outbound calls and says what its
 * failure reports mean. Nothing outside a carrier's folder names the carrier; the composition root loops
 * over the configured ones (src/carriers/index.ts lists them).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import type { OutboundReasonCode } from '../events/outbound-events.js';
import type { CallHandler, OutboundFailure } from './leg.js';
import type { HangupSide } from '../events/call-events.js';
import type { ClusterRouting } from '../cluster/forwarding.js';

/** An outbound call as the dialer asks a carrier to place it. */
export interface PlaceCallRequest {
  /** Voxgate's id for the call, chosen by the dialer; the carrier's callbacks must name it (e.g. in their URLs). */
  callId: string;
  /** Caller id (E.164). */
  from: string;
  /** The callee (E.164). */
  to: string;
  callerDisplayName?: string;
  /** Seconds the callee's phone may ring. */
  ringTimeoutSec: number;
  /**
   * Answering-machine detection. `detect`: the verdict reaches the handler (`machineDetected`) and the
   * call goes on; `disconnect`: a machine ends the call, by the carrier itself or by the adapter hanging
   * up once the verdict arrives, and the handler hears the verdict first.
   */
  machineDetection?: 'detect' | 'disconnect';
}

export interface Carrier {
  /** "plivo", "twilio": the name on call records, metrics, alarms, routes and dialout requests. */
  readonly name: string;
  /** Where its webhooks and media sockets are mounted, e.g. "/plivo". */
  readonly prefix: string;
  /** Registers the webhooks and the media socket on `app` (which has @fastify/websocket), under `prefix`. */
  registerRoutes(app: FastifyInstance, handler: CallHandler): Promise<void>;
  /** Places an outbound call; resolves with the carrier's id for the request once the carrier took it. */
  placeCall(request: PlaceCallRequest): Promise<{ carrierRequestId: string }>;
  /** Why this carrier could never place such a call (the dialer refuses it up front, naming the field), or undefined. */
  cannotPlace?(request: Pick<PlaceCallRequest, 'machineDetection'>): string | undefined;
  /** Maps the carrier's report of an unanswered outbound call to Voxgate's reason. */
  outboundReason(failure: OutboundFailure): OutboundReasonCode;
  /** The URLs the carrier's console needs (shown in the startup banner and docs): name -> URL. */
  webhookUrls(publicUrl: string): Record<string, string>;
  /**
   * The carrier ends its own calls when their media or signalling stop (SIP: RTP timeout, session
   * timers): the live-call registry does not reap them.
   */
  readonly endsSilentCalls?: boolean;
  /**
   * What the carrier says about a call Voxgate still thinks is live, asked over its API when the call's
   * stream or hangup callback never came. Absent when the carrier has no such API (or no credentials).
   */
  callState?(carrierCallId: string): Promise<CarrierCallState>;
  /** Ends a call at the carrier by its id; resolves false when the carrier says it had already ended. */
  hangupCall?(carrierCallId: string): Promise<boolean>;
}

/** A call as the carrier's API reports it. */
export type CarrierCallState =
  | { live: true; status: string }
  | {
      live: false;
      status: string;
      /** The carrier's cause, as its hangup callback would have said it (e.g. "Normal Hangup", "Completed"). */
      cause: string;
      side: HangupSide;
      durationSec?: number;
    };

export interface CarrierContext {
  /** The URL the carrier reaches Voxgate at; read per request (it is known only once the server listens). */
  publicUrl: () => string;
  logger: Logger;
  clock: Clock;
  /** REDIS_URL, when configured: state shared by every Voxgate process (e.g. signature nonces already seen). */
  redisUrl?: string;
  /** Other public base URLs the carrier may use (server.publicUrls): signatures made for any of them hold. */
  publicUrls?: () => readonly string[];
  /**
   * With `cluster.enabled`: the routing token every URL given to the carrier carries (`token`), and the
   * forwarding of webhooks and streams that belong to another instance's calls.
   */
  cluster?: ClusterRouting;
}

export interface CarrierModule<Config = unknown> {
  readonly name: string;
  /** The carrier's section under `carriers:` in the configuration (every field defaulted or required). */
  readonly configSchema: z.ZodType<Config, z.ZodTypeDef, unknown>;
  /** Environment variables that set keys of this section, e.g. PLIVO_AUTH_TOKEN -> authToken. */
  readonly env: readonly (readonly [variable: string, key: string])[];
  create(config: Config, context: CarrierContext): Carrier;
}
